//! Consent rules: categories, membership status (with expiry computed, never
//! waiting for a job) and the capabilities a check returns. A function that
//! reads or writes a notebook takes one of these, so it cannot be called
//! without the check having been made.

use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::{MemberRow, Name, Visibility};

/// The consent categories, in bit order.
pub const CATEGORIES: [&str; 7] = [
    "health",
    "medical",
    "welfare",
    "childcare",
    "education",
    "employment",
    "family",
];

pub const ALL_CATEGORIES: i64 = (1 << CATEGORIES.len()) - 1;

pub fn category_bit(name: &str) -> Option<i64> {
    CATEGORIES.iter().position(|c| *c == name).map(|i| 1 << i)
}

pub fn category_name(bit: i64) -> &'static str {
    CATEGORIES
        .iter()
        .enumerate()
        .find(|(i, _)| bit == 1 << i)
        .map_or("unknown", |(_, n)| n)
}

/// Parses a category list into a mask; unknown names are a bad request.
pub fn parse_categories(names: &[String]) -> Result<i64> {
    names.iter().try_fold(0, |mask, n| {
        category_bit(n)
            .map(|b| mask | b)
            .ok_or_else(|| Error::bad_request(format!("categories: unknown category `{n}`")))
    })
}

pub fn category_names(mask: i64) -> Vec<&'static str> {
    CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// A membership's status as of now: `active` past `expires_at` is `expired`.
pub fn effective_status(status: &str, expires_at: Option<i64>, now: Timestamp) -> &str {
    match (status, expires_at) {
        ("active", Some(exp)) if exp <= now.millis() => "expired",
        (s, _) => s,
    }
}

/// Proof that `account` is an active member of `child` right now.
#[derive(Clone, Debug)]
pub struct Member {
    pub child: ChildId,
    pub account: AccountId,
    pub role: String,
    pub categories: i64,
    pub can_post: bool,
    pub history_from: Option<i64>,
    pub expires_at: Option<i64>,
    pub last_read_seq: i64,
    /// The member's display name as stored (authors of posts).
    pub name: Name,
}

impl Member {
    /// 404 for no membership at all (existence is not revealed), 403 for one
    /// that is not active (requested, revoked, expired).
    pub fn check(row: Option<MemberRow>, now: Timestamp) -> Result<Self> {
        let row = row.ok_or(Error::NotFound)?;
        if effective_status(&row.status, row.expires_at, now) != "active" {
            return Err(Error::forbidden("your access to this notebook has ended"));
        }
        Ok(Self {
            child: row.child_id,
            account: row.account_id,
            role: row.role,
            categories: row.categories,
            can_post: row.can_post,
            history_from: row.history_from,
            expires_at: row.expires_at,
            last_read_seq: row.last_read_seq,
            name: row.display_name,
        })
    }

    pub fn visibility(&self) -> Visibility {
        Visibility {
            categories: self.categories,
            history_from: self.history_from.unwrap_or(i64::MIN),
        }
    }

    pub fn is_guardian(&self) -> bool {
        self.role == "guardian"
    }

    /// Guardians manage consent. (Consent passes to the youth later: not yet modelled.)
    pub fn require_guardian(&self) -> Result<()> {
        if self.is_guardian() {
            Ok(())
        } else {
            Err(Error::forbidden("only a guardian may do this"))
        }
    }

    /// Guardians and the youth see the access log.
    pub fn require_family(&self) -> Result<()> {
        if self.role == "guardian" || self.role == "youth" {
            Ok(())
        } else {
            Err(Error::forbidden("only the family may see the access log"))
        }
    }

    /// The capability to post in `category`.
    pub fn require_post(&self, category: i64) -> Result<()> {
        if !self.can_post {
            return Err(Error::forbidden(
                "you may read but not post in this notebook",
            ));
        }
        if self.categories & category == 0 {
            return Err(Error::forbidden(
                "your consent does not cover this category",
            ));
        }
        Ok(())
    }

    /// Whether an entry of `category` created at `created_at` is visible now.
    pub fn sees(&self, category: i64, created_at: i64, now: Timestamp) -> bool {
        self.categories & category != 0
            && self.history_from.is_none_or(|h| created_at >= h)
            && self.expires_at.is_none_or(|e| e > now.millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip() {
        let mask = parse_categories(&["medical".into(), "family".into()]).unwrap_or(0);
        assert_eq!(category_names(mask), vec!["medical", "family"]);
        assert!(parse_categories(&["gossip".into()]).is_err());
        assert_eq!(category_name(2), "medical");
    }

    #[test]
    fn expiry_without_a_job() {
        let now = Timestamp(10_000);
        assert_eq!(effective_status("active", Some(9_999), now), "expired");
        assert_eq!(effective_status("active", Some(10_001), now), "active");
        assert_eq!(effective_status("revoked", Some(1), now), "revoked");
    }
}
