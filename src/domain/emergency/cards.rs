//! The emergency card (sealed with the child's key) and the ordered list of
//! emergency contacts: who an alert reaches, tier by tier.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use zeroize::Zeroizing;

use super::check_text;
use crate::consent::{self, Member as Consent};
use crate::crypto::{aad, DataKey};
use crate::domain::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::{CardRow, MemberRow, NewAccess, StoreError};
use crate::vocab::Role;

#[derive(Serialize, Deserialize, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    pub summary: String,
    pub steps: Vec<String>,
    pub hospital: String,
    pub notes: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Card {
    pub child_id: ChildId,
    /// 1 for the first card; every `PUT` adds the next.
    pub version: i64,
    pub summary: String,
    pub steps: Vec<String>,
    pub hospital: String,
    pub notes: String,
    pub updated_by: AccountId,
    pub updated_at: Timestamp,
}

/// One kept version of the card (`GET .../emergency-card/versions`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CardVersion {
    pub version: i64,
    pub updated_at: Timestamp,
    pub updated_by: AccountId,
    pub card: CardInput,
}

/// Attempts at taking the next version when another node takes it first.
const PUT_ATTEMPTS: usize = 8;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub account_id: AccountId,
    pub tier: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub account_id: AccountId,
    pub display_name: String,
    pub tier: i64,
}

/// Opens one stored version. Cards stored before versions were kept
/// are version 1 under the old associated data (migration 0004); no
/// other version opens under it, so versions cannot be swapped.
fn open_card(key: &DataKey, child: ChildId, row: &CardRow) -> Result<CardInput> {
    let plain = match key.open(&aad::emergency_card(child, row.version), &row.card) {
        Err(_) if row.version == 1 => {
            key.open(&aad::emergency_card_unversioned(child), &row.card)?
        }
        other => other?,
    };
    serde_json::from_slice(&plain).map_err(Error::internal)
}

impl Core {
    /// `PUT /children/{id}/emergency-card` (guardian, or a member with
    /// `medical` and `can_post`): a new version; the earlier ones stay.
    pub async fn put_card(
        &self,
        who: &Principal,
        child: ChildId,
        input: CardInput,
    ) -> Result<Card> {
        let me = self.member(child, who.account).await?;
        me.require_card_editor()?;
        me.require_open()?;
        check_text("summary", &input.summary, 2000)?;
        check_text("hospital", &input.hospital, 500)?;
        check_text("notes", &input.notes, 5000)?;
        if input.steps.len() > 30 || input.steps.iter().any(|s| s.chars().count() > 1000) {
            return Err(Error::bad_request(
                "steps: at most 30 steps of 1000 characters",
            ));
        }
        let key = self.child_key(child).await?;
        let plain = Zeroizing::new(serde_json::to_vec(&input).map_err(Error::internal)?);
        let now = Timestamp::now();
        let mut w = self.store.writer().await?;
        for _ in 0..PUT_ATTEMPTS {
            let version = w.next_card_version(child).await?;
            let sealed = key.seal(&aad::emergency_card(child, version), &plain)?;
            let log = NewAccess {
                child_id: child,
                account_id: who.account,
                action: "member_change",
                detail: format!("updated the emergency card (version {version})"),
                at: now.millis(),
            };
            match w.put_card(child, version, sealed, log).await {
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
                Ok(()) => {
                    return Ok(Card {
                        child_id: child,
                        version,
                        summary: input.summary,
                        steps: input.steps,
                        hospital: input.hospital,
                        notes: input.notes,
                        updated_by: who.account,
                        updated_at: now,
                    })
                }
            }
        }
        Err(Error::Conflict(
            "the card is being changed by someone else; try again".into(),
        ))
    }

    /// `GET /children/{id}/emergency-card`: every active member, whatever the categories; logged.
    pub async fn get_card(&self, who: &Principal, child: ChildId) -> Result<Card> {
        self.member(child, who.account).await?;
        let card = self.current_card(child).await?.ok_or(Error::NotFound)?;
        self.log_access(
            child,
            who.account,
            "emergency_card_read",
            "emergency card".into(),
        )
        .await?;
        Ok(card)
    }

    /// The child's current card, if any, opened (not logged: the caller
    /// checked consent and logs its own read).
    pub(in crate::domain) async fn current_card(&self, child: ChildId) -> Result<Option<Card>> {
        let Some(row) = self.store.get_card(child).await? else {
            return Ok(None);
        };
        let key = self.child_key(child).await?;
        let c = open_card(&key, child, &row)?;
        Ok(Some(Card {
            child_id: child,
            version: row.version,
            summary: c.summary,
            steps: c.steps,
            hospital: c.hospital,
            notes: c.notes,
            updated_by: row.updated_by,
            updated_at: Timestamp(row.updated_at),
        }))
    }

    /// `GET /children/{id}/emergency-card/versions`: every version, newest
    /// first, to every active member (as the card); logged as a card read.
    pub async fn list_card_versions(
        &self,
        who: &Principal,
        child: ChildId,
    ) -> Result<Vec<CardVersion>> {
        self.member(child, who.account).await?;
        let rows = self.store.list_card_versions(child).await?;
        let key = self.child_key(child).await?;
        let versions = rows
            .iter()
            .map(|r| {
                Ok(CardVersion {
                    version: r.version,
                    updated_at: Timestamp(r.updated_at),
                    updated_by: r.updated_by,
                    card: open_card(&key, child, r)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.log_access(
            child,
            who.account,
            "emergency_card_read",
            format!("emergency card versions ({})", versions.len()),
        )
        .await?;
        Ok(versions)
    }

    /// `PUT /children/{id}/emergency-contacts` (guardian): the whole ordered list.
    pub async fn set_contacts(
        &self,
        who: &Principal,
        child: ChildId,
        input: Vec<ContactInput>,
    ) -> Result<Vec<Contact>> {
        self.member(child, who.account).await?.require_holder()?;
        if input.len() > 50 {
            return Err(Error::bad_request("at most 50 contacts"));
        }
        let now = Timestamp::now();
        let mut seen = BTreeSet::new();
        for c in &input {
            if !(1..=10).contains(&c.tier) {
                return Err(Error::bad_request("tier: 1..10"));
            }
            if !seen.insert(c.account_id) {
                return Err(Error::bad_request("account_id: listed twice"));
            }
            let row = self.store.get_membership(child, c.account_id).await?;
            if Consent::check(row, now).is_err() {
                return Err(Error::bad_request(
                    "account_id: a contact must be an active member",
                ));
            }
        }
        let list: Vec<(AccountId, i64)> = input.iter().map(|c| (c.account_id, c.tier)).collect();
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "member_change",
            detail: format!("set {} emergency contact(s)", list.len()),
            at: now.millis(),
        };
        self.store
            .writer()
            .await?
            .set_contacts(child, &list, log)
            .await?;
        self.list_contacts(who, child).await
    }

    /// `GET /children/{id}/emergency-contacts` (active members).
    pub async fn list_contacts(&self, who: &Principal, child: ChildId) -> Result<Vec<Contact>> {
        self.member(child, who.account).await?;
        let rows = self.store.list_contacts(child).await?;
        Ok(rows
            .into_iter()
            .map(|c| Contact {
                display_name: self.name(c.account_id, &c.display_name),
                account_id: c.account_id,
                tier: c.tier,
            })
            .collect())
    }

    /// The contacts an alert goes to: listed contacts who are active members
    /// now, or the guardians when none is listed.
    pub(super) async fn reachable_contacts(
        &self,
        child: ChildId,
        members: &[MemberRow],
    ) -> Result<Vec<(AccountId, i64)>> {
        let now = Timestamp::now();
        let active = |a: AccountId| {
            members
                .iter()
                .any(|m| m.account_id == a && consent::is_active(m, now))
        };
        let listed: Vec<(AccountId, i64)> = self
            .store
            .list_contacts(child)
            .await?
            .into_iter()
            .map(|c| (c.account_id, c.tier))
            .collect();
        if listed.is_empty() {
            return Ok(members
                .iter()
                .filter(|m| m.role == Role::Guardian && active(m.account_id))
                .map(|m| (m.account_id, 1))
                .collect());
        }
        Ok(listed.into_iter().filter(|(a, _)| active(*a)).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(key: &DataKey, version: i64, aad: &[u8], summary: &str) -> CardRow {
        let card = CardInput {
            summary: summary.into(),
            steps: vec![],
            hospital: String::new(),
            notes: String::new(),
        };
        CardRow {
            version,
            card: key.seal(aad, &serde_json::to_vec(&card).unwrap()).unwrap(), // ok: test code, a panic is a failed test
            updated_by: AccountId::new(),
            updated_at: 0,
        }
    }

    #[test]
    fn a_version_opens_as_itself_only() {
        let (key, child) = (DataKey::generate(), ChildId::new());
        let v2 = row(&key, 2, &aad::emergency_card(child, 2), "v2");
        assert_eq!(open_card(&key, child, &v2).unwrap().summary, "v2"); // ok: test code, a panic is a failed test
                                                                        // Moved to another version, or another child: it does not open.
        let moved = CardRow {
            version: 3,
            ..v2.clone()
        };
        assert!(open_card(&key, child, &moved).is_err());
        assert!(open_card(&key, ChildId::new(), &v2).is_err());
        // A card from before versions opens as version 1, and as no other.
        let old = row(&key, 1, &aad::emergency_card_unversioned(child), "old");
        assert_eq!(open_card(&key, child, &old).unwrap().summary, "old"); // ok: test code, a panic is a failed test
        let old_moved = CardRow { version: 2, ..old };
        assert!(open_card(&key, child, &old_moved).is_err());
    }
}
