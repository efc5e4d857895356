//! Children: creation with a fresh data key, the list of my notebooks, and
//! the decrypted profile.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Core, Principal};
use crate::consent::{self, ALL_CATEGORIES};
use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::{ChildRow, MemberWrite, NewAccess, StoreError};
use crate::vocab::{AccountKind, Role, Status};

const CREATOR_PROFESSIONS: [&str; 3] = [
    "support_coordinator",
    "public_health_nurse",
    "administrator",
];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChild {
    pub name: String,
    pub name_kana: String,
    #[schema(format = Date)]
    pub birth_date: String,
    /// 小児慢性特定疾病の疾患群 (1–16).
    #[schema(minimum = 1, maximum = 16)]
    pub disease_group: u8,
    pub diagnosis: String,
    pub guardians: Vec<AccountId>,
}

/// The sealed part of a child.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub(super) struct Profile {
    name: String,
    name_kana: String,
    pub(super) birth_date: String,
    disease_group: u8,
    diagnosis: String,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Child {
    pub id: ChildId,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub disease_group: u8,
    pub diagnosis: String,
    pub created_at: Timestamp,
    /// Who decides on consent: `guardians`, or `youth` once it has passed.
    pub consent_holder: &'static str,
    pub consent_transferred_at: Option<Timestamp>,
    /// When the notebook was closed (read-only since); null while open.
    pub closed_at: Option<Timestamp>,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct ChildSummary {
    pub id: ChildId,
    pub name: String,
    pub role: Role,
    pub unread: i64,
    pub last_seq: i64,
    /// When the notebook was closed (read-only); null while open.
    pub closed_at: Option<Timestamp>,
}

fn validate(new: &NewChild) -> Result<()> {
    if new.name.trim().is_empty() || new.name.chars().count() > 100 {
        return Err(Error::bad_request("name: 1–100 characters"));
    }
    if new.name_kana.chars().count() > 100 || new.diagnosis.chars().count() > 2000 {
        return Err(Error::bad_request("name_kana or diagnosis: too long"));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if time::Date::parse(&new.birth_date, &fmt).is_err() {
        return Err(Error::bad_request("birth_date: expected YYYY-MM-DD"));
    }
    if !(1..=16).contains(&new.disease_group) {
        return Err(Error::bad_request("disease_group: 1..16"));
    }
    if new.guardians.is_empty() {
        return Err(Error::bad_request("guardians: at least one guardian"));
    }
    Ok(())
}

impl Principal {
    /// A professional whose profession registers children (a coordinator).
    pub(super) fn coordinates(&self) -> bool {
        self.kind == AccountKind::Professional
            && self
                .profession
                .as_deref()
                .is_some_and(|p| CREATOR_PROFESSIONS.contains(&p))
    }
}

impl Core {
    /// `POST /children`: admins and coordinating professions.
    pub async fn create_child(&self, who: &Principal, new: NewChild) -> Result<Child> {
        if !who.is_admin() && !who.coordinates() {
            return Err(Error::forbidden("your role may not register children"));
        }
        validate(&new)?;
        for g in &new.guardians {
            let acc = self.store.get_account(*g).await.map_err(|e| match e {
                StoreError::NotFound => Error::bad_request("guardians: unknown account"),
                other => other.into(),
            })?;
            if acc.kind != AccountKind::Guardian {
                return Err(Error::bad_request("guardians: account is not a guardian"));
            }
        }
        let id = ChildId::new();
        let now = Timestamp::now();
        let key = DataKey::generate();
        let profile = Profile {
            name: new.name,
            name_kana: new.name_kana,
            birth_date: new.birth_date,
            disease_group: new.disease_group,
            diagnosis: new.diagnosis,
        };
        let plain = Zeroizing::new(serde_json::to_vec(&profile).map_err(Error::internal)?);
        let row = ChildRow {
            id,
            wrapped_key: self.keys.wrap(&key)?,
            profile: key.seal(&aad::profile(id), &plain)?,
            last_seq: 0,
            created_at: now.millis(),
            consent_transferred_at: None,
            closed_at: None,
        };
        let members: Vec<MemberWrite> = new
            .guardians
            .iter()
            .map(|g| MemberWrite {
                child_id: id,
                account_id: *g,
                role: Role::Guardian,
                status: Status::Active,
                categories: ALL_CATEGORIES,
                can_post: true,
                purpose: "保護者".into(),
                history_from: None,
                expires_at: None,
                granted_by: Some(who.account),
            })
            .collect();
        let log = NewAccess {
            child_id: id,
            account_id: who.account,
            action: "member_change",
            detail: format!("registered the child with {} guardian(s)", members.len()),
            at: now.millis(),
        };
        let mut w = self.store.writer().await?;
        w.insert_child(&row, who.account, &members, log).await?;
        drop(w);
        self.keys.remember(id, std::sync::Arc::new(key));
        Ok(Child {
            id,
            name: profile.name,
            name_kana: profile.name_kana,
            birth_date: profile.birth_date,
            disease_group: profile.disease_group,
            diagnosis: profile.diagnosis,
            created_at: now,
            consent_holder: "guardians",
            consent_transferred_at: None,
            closed_at: None,
        })
    }

    pub(super) fn open_profile(&self, row: &ChildRow) -> Result<Profile> {
        let key = self.keys.child_key(row.id, &row.wrapped_key)?;
        let plain = key.open(&aad::profile(row.id), &row.profile)?;
        serde_json::from_slice(&plain).map_err(Error::internal)
    }

    /// `GET /children`: my active notebooks with unread counts.
    pub async fn list_children(&self, who: &Principal) -> Result<Vec<ChildSummary>> {
        let now = Timestamp::now();
        let mut out = Vec::new();
        for (m, c) in self.store.list_memberships_of(who.account).await? {
            let Ok(member) = consent::Member::check(Some(m), now) else {
                continue;
            };
            let unread = self
                .store
                .count_visible_after(c.id, member.last_read_seq(), member.visibility())
                .await?;
            out.push(ChildSummary {
                id: c.id,
                name: self.open_profile(&c)?.name,
                role: member.role(),
                unread,
                last_seq: c.last_seq,
                closed_at: c.closed_at.map(Timestamp),
            });
        }
        Ok(out)
    }

    /// `GET /children/{id}`: the decrypted profile, logged.
    pub async fn get_child(&self, who: &Principal, child: ChildId) -> Result<Child> {
        self.member(child, who.account).await?;
        let row = self.store.get_child(child).await?;
        let p = self.open_profile(&row)?;
        self.log_access(child, who.account, "read_profile", "profile".into())
            .await?;
        Ok(child_view(&row, p))
    }

    /// The child's display name, for alerts and the demo (never logged).
    pub async fn child_name(&self, child: ChildId) -> Result<String> {
        let row = self.store.get_child(child).await?;
        Ok(self.open_profile(&row)?.name)
    }
}

/// The child as `GET /children/{id}` shows it.
pub(super) fn child_view(row: &ChildRow, p: Profile) -> Child {
    Child {
        id: row.id,
        name: p.name,
        name_kana: p.name_kana,
        birth_date: p.birth_date,
        disease_group: p.disease_group,
        diagnosis: p.diagnosis,
        created_at: Timestamp(row.created_at),
        consent_holder: if row.consent_transferred_at.is_some() {
            "youth"
        } else {
            "guardians"
        },
        consent_transferred_at: row.consent_transferred_at.map(Timestamp),
        closed_at: row.closed_at.map(Timestamp),
    }
}
