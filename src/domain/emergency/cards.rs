//! The emergency card (sealed with the child's key) and the ordered list of
//! emergency contacts: who an alert reaches, tier by tier.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use zeroize::Zeroizing;

use super::check_text;
use crate::consent::{self, Member as Consent};
use crate::crypto::aad;
use crate::domain::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::{MemberRow, NewAccess};
use crate::vocab::Role;

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    pub summary: String,
    pub steps: Vec<String>,
    pub hospital: String,
    pub notes: String,
}

#[derive(Serialize)]
pub struct Card {
    pub child_id: ChildId,
    pub summary: String,
    pub steps: Vec<String>,
    pub hospital: String,
    pub notes: String,
    pub updated_by: AccountId,
    pub updated_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub account_id: AccountId,
    pub tier: i64,
}

#[derive(Serialize)]
pub struct Contact {
    pub account_id: AccountId,
    pub display_name: String,
    pub tier: i64,
}

impl Core {
    /// `PUT /children/{id}/emergency-card` (guardian, or a member with `medical`).
    pub async fn put_card(
        &self,
        who: &Principal,
        child: ChildId,
        input: CardInput,
    ) -> Result<Card> {
        self.member(child, who.account)
            .await?
            .require_card_editor()?;
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
        let sealed = key.seal(&aad::emergency_card(child), &plain)?;
        let now = Timestamp::now();
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "member_change",
            detail: "updated the emergency card".into(),
            at: now.millis(),
        };
        self.store
            .writer()
            .await?
            .put_card(child, sealed, log)
            .await?;
        Ok(Card {
            child_id: child,
            summary: input.summary,
            steps: input.steps,
            hospital: input.hospital,
            notes: input.notes,
            updated_by: who.account,
            updated_at: now,
        })
    }

    /// `GET /children/{id}/emergency-card`: every active member, whatever the categories; logged.
    pub async fn get_card(&self, who: &Principal, child: ChildId) -> Result<Card> {
        self.member(child, who.account).await?;
        let (sealed, by, at) = self.store.get_card(child).await?.ok_or(Error::NotFound)?;
        let key = self.child_key(child).await?;
        let plain = key.open(&aad::emergency_card(child), &sealed)?;
        let c: CardInput = serde_json::from_slice(&plain).map_err(Error::internal)?;
        self.log_access(
            child,
            who.account,
            "emergency_card_read",
            "emergency card".into(),
        )
        .await?;
        Ok(Card {
            child_id: child,
            summary: c.summary,
            steps: c.steps,
            hospital: c.hospital,
            notes: c.notes,
            updated_by: by,
            updated_at: Timestamp(at),
        })
    }

    /// `PUT /children/{id}/emergency-contacts` (guardian): the whole ordered list.
    pub async fn set_contacts(
        &self,
        who: &Principal,
        child: ChildId,
        input: Vec<ContactInput>,
    ) -> Result<Vec<Contact>> {
        self.member(child, who.account).await?.require_guardian()?;
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
