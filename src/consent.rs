//! Consent rules: categories, membership status (with expiry computed, never
//! waiting for a job) and the capabilities a check returns. A function that
//! reads or writes a notebook takes one of these, so it cannot be called
//! without the check having been made.

use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::{MemberRow, Name, Visibility};
use crate::vocab::{Role, Status};

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

/// A category's name on the wire (a schema only: names are parsed with
/// `category_bit`).
pub struct CategoryName;

impl utoipa::PartialSchema for CategoryName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(CATEGORIES))
            .into()
    }
}

impl utoipa::ToSchema for CategoryName {}

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
pub fn effective_status(status: Status, expires_at: Option<i64>, now: Timestamp) -> Status {
    match (status, expires_at) {
        (Status::Active, Some(exp)) if exp <= now.millis() => Status::Expired,
        (s, _) => s,
    }
}

/// Whether a stored membership is active now.
pub fn is_active(row: &MemberRow, now: Timestamp) -> bool {
    effective_status(row.status, row.expires_at, now) == Status::Active
}

/// Whether a stored membership sees, now, an entry of `category` whose
/// first revision was created at `first_created_at` (for lists of members;
/// one member's own checks go through [`Member::sees`]).
pub fn row_sees(row: &MemberRow, category: i64, first_created_at: i64, now: Timestamp) -> bool {
    is_active(row, now)
        && row.categories & category != 0
        && row.history_from.is_none_or(|h| first_created_at >= h)
}

/// Proof that `account` is an active member of `child` right now. Its
/// fields are private: only a check makes one, and only this module's
/// rules read it.
#[derive(Clone, Debug)]
pub struct Member {
    child: ChildId,
    account: AccountId,
    role: Role,
    categories: i64,
    can_post: bool,
    history_from: Option<i64>,
    expires_at: Option<i64>,
    last_read_seq: i64,
    /// The member's display name as stored (authors of posts).
    name: Name,
    /// The child's consent version of this membership's last change.
    version: i64,
    /// The child's consent version this membership is known to be current
    /// at: an entry committed under a later version may follow a change not
    /// seen here yet.
    as_of: i64,
    /// This member decides on the child's consent: a guardian until consent
    /// passes to the youth, the youth after.
    holder: bool,
    /// The notebook is closed: read-only.
    closed: bool,
}

/// Whether a membership row's member holds its child's consent (active or not).
pub fn is_holder(role: Role, transferred: bool) -> bool {
    match role {
        Role::Guardian => !transferred,
        Role::Youth => transferred,
        _ => false,
    }
}

/// What an export may hold (from [`Member::require_export`]).
#[derive(Clone, Copy, Debug)]
pub struct ExportRight {
    pub visibility: Visibility,
    /// The whole notebook (false: only what the youth may see).
    pub full: bool,
}

/// Proof that a member may post in one category of one child now: what
/// appending an entry requires.
#[derive(Debug)]
pub struct PostRight<'a> {
    member: &'a Member,
    category: i64,
}

impl PostRight<'_> {
    pub fn child(&self) -> ChildId {
        self.member.child
    }

    pub fn author(&self) -> AccountId {
        self.member.account
    }

    /// The author's display name as stored.
    pub fn author_name(&self) -> &Name {
        &self.member.name
    }

    pub fn category(&self) -> i64 {
        self.category
    }
}

impl Member {
    /// 404 for no membership at all (existence is not revealed), 403 for one
    /// that is not active (requested, revoked, expired).
    pub fn check(row: Option<MemberRow>, now: Timestamp) -> Result<Self> {
        let row = row.ok_or(Error::NotFound)?;
        // An erased child answers as if it never existed, to everyone.
        if row.erased {
            return Err(Error::NotFound);
        }
        if !is_active(&row, now) {
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
            version: row.version,
            as_of: row.as_of.max(row.version),
            holder: is_holder(row.role, row.transferred),
            closed: row.closed,
        })
    }

    pub fn child(&self) -> ChildId {
        self.child
    }

    pub fn account(&self) -> AccountId {
        self.account
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    /// The read position when the membership was checked.
    pub fn last_read_seq(&self) -> i64 {
        self.last_read_seq
    }

    /// The child's consent version this membership is known current at.
    pub fn as_of(&self) -> i64 {
        self.as_of
    }

    /// Whether a change made at `version` is newer than what this holds
    /// (an older one, arriving late from another node, is ignored).
    pub fn is_older_than(&self, version: i64) -> bool {
        version > self.version
    }

    /// A consent change (sent to open sockets) applied to a live
    /// subscription, if it is newer than what the subscription holds.
    pub fn update(
        &mut self,
        version: i64,
        categories: i64,
        can_post: bool,
        history_from: Option<i64>,
        expires_at: Option<i64>,
    ) {
        if version <= self.version {
            return;
        }
        self.version = version;
        self.as_of = self.as_of.max(version);
        self.categories = categories;
        self.can_post = can_post;
        self.history_from = history_from;
        self.expires_at = expires_at;
    }

    pub fn visibility(&self) -> Visibility {
        Visibility {
            categories: self.categories,
            history_from: self.history_from.unwrap_or(i64::MIN),
        }
    }

    pub fn is_guardian(&self) -> bool {
        self.role == Role::Guardian
    }

    /// Whether this member decides on the child's consent now.
    pub fn holds_consent(&self) -> bool {
        self.holder
    }

    /// The consent holder manages consent: the guardians, until consent
    /// passes to the youth.
    /// A closed notebook is read-only: 409 for what would change it.
    pub fn require_open(&self) -> Result<()> {
        if self.closed {
            Err(Error::Conflict(
                "the notebook is closed (support has ended): it is read-only".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// Whether the notebook is closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn require_holder(&self) -> Result<()> {
        if self.holder {
            Ok(())
        } else {
            Err(Error::forbidden(
                "only the one who holds consent (a guardian, or the young person after the transfer) may do this",
            ))
        }
    }

    /// What an export of this notebook may hold: everything for the
    /// consent holder; for the youth before consent passes to them, what
    /// the youth may see (an export is a read, not a consent decision).
    /// Guardians after the transfer, and every other member, may not export.
    pub fn require_export(&self) -> Result<ExportRight> {
        if self.holder {
            return Ok(ExportRight {
                visibility: Visibility {
                    categories: ALL_CATEGORIES,
                    history_from: i64::MIN,
                },
                full: true,
            });
        }
        if self.role == Role::Youth {
            return Ok(ExportRight {
                visibility: self.visibility(),
                full: false,
            });
        }
        Err(Error::forbidden(
            "only the one who holds consent, or the young person, may export the notebook",
        ))
    }

    /// Guardians and the youth see the access log.
    pub fn require_family(&self) -> Result<()> {
        if matches!(self.role, Role::Guardian | Role::Youth) {
            Ok(())
        } else {
            Err(Error::forbidden("only the family may see the access log"))
        }
    }

    /// Guardians, and members who see `medical` and may post, edit the
    /// emergency card (a read-only member never writes child data).
    pub fn require_card_editor(&self) -> Result<()> {
        let medical = category_bit("medical").unwrap_or(0);
        if self.is_guardian() || (self.categories & medical != 0 && self.can_post) {
            Ok(())
        } else {
            Err(Error::forbidden(
                "only a guardian, or a medical member who may post, may edit the card",
            ))
        }
    }

    /// Uploading an attachment: a member who may post (in some category;
    /// the entry that references it is checked against its own category).
    pub fn require_uploader(&self) -> Result<()> {
        if self.can_post && self.categories != 0 {
            Ok(())
        } else {
            Err(Error::forbidden(
                "you may read but not post in this notebook",
            ))
        }
    }

    /// The capability to post in `category`.
    pub fn require_post(&self, category: i64) -> Result<PostRight<'_>> {
        self.require_open()?;
        if !self.can_post {
            return Err(Error::forbidden(
                "you may read but not post in this notebook",
            ));
        }
        // Every category the entry is filed under must be the author's.
        if category == 0 || self.categories & category != category {
            return Err(Error::forbidden(
                "your consent does not cover this category",
            ));
        }
        Ok(PostRight {
            member: self,
            category,
        })
    }

    /// Whether an entry of `category` whose first revision was created at
    /// `first_created_at` is visible now (a correction is visible exactly
    /// when the entry it revises is).
    pub fn sees(&self, category: i64, first_created_at: i64, now: Timestamp) -> bool {
        self.categories & category != 0
            && self.history_from.is_none_or(|h| first_created_at >= h)
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
        assert_eq!(
            effective_status(Status::Active, Some(9_999), now),
            Status::Expired
        );
        assert_eq!(
            effective_status(Status::Active, Some(10_001), now),
            Status::Active
        );
        assert_eq!(
            effective_status(Status::Revoked, Some(1), now),
            Status::Revoked
        );
    }
}
