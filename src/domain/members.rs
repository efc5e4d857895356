//! Membership and consent: request → guardian approval, direct grant by a
//! guardian, revoke, narrow, expiry. Every change is logged and reaches the
//! member's open sockets before the answer is sent.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Core, Principal};
use crate::consent::{self, category_names, parse_categories};
use crate::error::{Error, Result};
use crate::hub::MemberState;
use crate::ids::{AccountId, ChildId, OrgId, Timestamp};
use crate::store::{MemberRow, MemberWrite, Name, NewAccess, StoreError};
use crate::vocab::{AccountKind, Role, Status};

#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Member {
    pub account_id: AccountId,
    pub display_name: String,
    pub profession: Option<String>,
    pub org_id: Option<OrgId>,
    pub role: Role,
    pub status: Status,
    pub categories: Vec<&'static str>,
    pub can_post: bool,
    pub purpose: String,
    pub history_from: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub granted_by: Option<AccountId>,
    pub last_read_seq: i64,
    /// The member's account is disabled (someone who has left).
    pub disabled: bool,
}

impl Member {
    pub(super) fn from_row(core: &Core, r: MemberRow, now: Timestamp) -> Self {
        Self {
            display_name: core.name(r.account_id, &r.display_name),
            status: consent::effective_status(r.status, r.expires_at, now),
            account_id: r.account_id,
            profession: r.profession,
            org_id: r.org_id,
            role: r.role,
            categories: category_names(r.categories),
            can_post: r.can_post,
            purpose: r.purpose,
            history_from: r.history_from.map(Timestamp),
            expires_at: r.expires_at.map(Timestamp),
            granted_by: r.granted_by,
            last_read_seq: r.last_read_seq,
            disabled: r.disabled,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub account_id: AccountId,
    #[schema(value_type = Vec<crate::consent::CategoryName>)]
    pub categories: Vec<String>,
    pub can_post: bool,
    pub purpose: String,
    #[serde(default)]
    pub history_from: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// Absent field → `None`; `null` → `Some(None)`.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Timestamp>>, D::Error> {
    Option::<Timestamp>::deserialize(d).map(Some)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub can_post: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub history_from: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "nullable")]
    pub expires_at: Option<Option<Timestamp>>,
}

/// Who a log record is about: a staff member's name, or a family member's
/// role and id (family names are sealed and stay out of the log).
pub(super) fn label(account: AccountId, role: impl std::fmt::Display, name: &Name) -> String {
    if name.sealed.is_some() {
        format!("{role} {account}")
    } else {
        name.clear.clone()
    }
}

/// A membership as the hub tells it to the member's sockets.
pub(super) fn state_of(m: &MemberWrite, version: i64) -> MemberState {
    MemberState {
        version,
        child_id: m.child_id,
        account_id: m.account_id,
        status: m.status,
        categories: m.categories,
        can_post: m.can_post,
        history_from: m.history_from,
        expires_at: m.expires_at,
    }
}

/// The state sockets get when the membership ended with its child (an erasure).
pub(super) fn state_of_revoked(r: &MemberRow, version: i64) -> MemberState {
    let mut m = write_of(r);
    m.status = Status::Revoked;
    state_of(&m, version)
}

pub(super) fn write_of(r: &MemberRow) -> MemberWrite {
    MemberWrite {
        child_id: r.child_id,
        account_id: r.account_id,
        role: r.role,
        status: r.status,
        categories: r.categories,
        can_post: r.can_post,
        purpose: r.purpose.clone(),
        history_from: r.history_from,
        expires_at: r.expires_at,
        granted_by: r.granted_by,
    }
}

impl Core {
    /// `GET /children/{id}/members`.
    pub async fn list_members(&self, who: &Principal, child: ChildId) -> Result<Vec<Member>> {
        self.member(child, who.account).await?;
        let now = Timestamp::now();
        let rows = self.store.list_members(child).await?;
        let detail = format!("{} members", rows.len());
        self.log_access(child, who.account, "read_members", detail)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Member::from_row(self, r, now))
            .collect())
    }

    async fn member_row(&self, child: ChildId, account: AccountId) -> Result<MemberRow> {
        self.store
            .get_membership(child, account)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Commits a membership change, tells the member's sockets, answers.
    async fn commit_member(
        &self,
        who: &Principal,
        m: MemberWrite,
        detail: String,
    ) -> Result<Member> {
        let now = Timestamp::now();
        let log = NewAccess {
            child_id: m.child_id,
            account_id: who.account,
            action: "member_change",
            detail,
            at: now.millis(),
        };
        let mut w = self.store.writer().await?;
        let written = w.upsert_membership(&m, log).await;
        // Whatever the outcome, the next post reads the membership again.
        self.members.forget(m.child_id, m.account_id);
        let version = written?;
        // Published while the writer is held, so it is ordered with entries.
        self.hub.publish_membership(state_of(&m, version));
        drop(w);
        Ok(Member::from_row(
            self,
            self.member_row(m.child_id, m.account_id).await?,
            now,
        ))
    }

    /// `POST /children/{id}/members`: a grant by a guardian, a request by
    /// anyone else. A request reaches the guardians at once (frame, push).
    pub async fn add_member(
        self: &Arc<Self>,
        who: &Principal,
        child: ChildId,
        new: NewMember,
    ) -> Result<Member> {
        let me = self.member(child, who.account).await?;
        me.require_open()?;
        let categories = parse_categories(&new.categories)?;
        if categories == 0 {
            return Err(Error::bad_request("categories: at least one category"));
        }
        let target = self
            .store
            .get_account(new.account_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::bad_request("account_id: unknown account"),
                other => other.into(),
            })?;
        if target.kind == AccountKind::Admin {
            return Err(Error::bad_request("account_id: admins are not members"));
        }
        let existing = self.store.get_membership(child, new.account_id).await?;
        let now = Timestamp::now();
        if let Some(e) = &existing {
            if consent::is_active(e, now) {
                return Err(Error::Conflict("already an active member".into()));
            }
        }
        let role = match target.kind {
            AccountKind::Youth => Role::Youth,
            AccountKind::Guardian if me.holds_consent() => Role::Guardian,
            _ => Role::Member,
        };
        let (status, granted_by) = if me.holds_consent() {
            (Status::Active, Some(who.account))
        } else {
            (Status::Requested, None)
        };
        let names = category_names(categories).join(", ");
        let detail = format!(
            "{status}: {} [{names}]",
            label(new.account_id, target.kind, &target.display_name)
        );
        let m = MemberWrite {
            child_id: child,
            account_id: new.account_id,
            role,
            status,
            categories,
            can_post: new.can_post,
            purpose: new.purpose,
            history_from: new.history_from.map(|t| t.millis()),
            expires_at: new.expires_at.map(|t| t.millis()),
            granted_by,
        };
        let (child, account) = (m.child_id, m.account_id);
        let view = self.commit_member(who, m, detail).await?;
        if status == Status::Requested {
            let announced = match self.member_row(child, account).await {
                Ok(row) => self.announce_request(row).await,
                Err(e) => Err(e),
            };
            match announced {
                Ok(guardians) => self.push_request(guardians),
                Err(e) => tracing::error!(error = %e, "announcing a request"),
            }
        }
        Ok(view)
    }

    /// `POST /children/{id}/members/{account}/approve` (guardian).
    pub async fn approve_member(
        &self,
        who: &Principal,
        child: ChildId,
        account: AccountId,
    ) -> Result<Member> {
        let me = self.member(child, who.account).await?;
        me.require_holder()?;
        me.require_open()?;
        let row = self.member_row(child, account).await?;
        if row.status != Status::Requested {
            return Err(Error::Conflict(
                "there is no pending request for this account".into(),
            ));
        }
        let mut m = write_of(&row);
        m.status = Status::Active;
        m.granted_by = Some(who.account);
        let detail = format!(
            "approved: {} [{}]",
            label(account, row.role, &row.display_name),
            category_names(row.categories).join(", ")
        );
        self.commit_member(who, m, detail).await
    }

    /// `POST /children/{id}/members/{account}/revoke` (guardian, or the member leaving).
    pub async fn revoke_member(
        &self,
        who: &Principal,
        child: ChildId,
        account: AccountId,
    ) -> Result<Member> {
        let me = self.member(child, who.account).await?;
        if account != who.account {
            me.require_holder()?;
        }
        let row = self.member_row(child, account).await?;
        // Co-guardians cannot end one another's membership (the young
        // person holding consent can end a guardian's).
        if row.role == Role::Guardian && account != who.account && me.role() == Role::Guardian {
            return Err(Error::forbidden("a guardian's membership is theirs to end"));
        }
        if account == who.account && me.role() == Role::Youth && me.holds_consent() {
            return Err(Error::Conflict(
                "the young person holds this notebook's consent and cannot leave it".into(),
            ));
        }
        if row.status == Status::Revoked {
            return Err(Error::Conflict("already revoked".into()));
        }
        let mut m = write_of(&row);
        m.status = Status::Revoked;
        let detail = format!("revoked: {}", label(account, row.role, &row.display_name));
        self.commit_member(who, m, detail).await
    }

    /// `PATCH /children/{id}/members/{account}` (guardian): narrow, widen, set period.
    pub async fn update_member(
        &self,
        who: &Principal,
        child: ChildId,
        account: AccountId,
        patch: MemberPatch,
    ) -> Result<Member> {
        let me = self.member(child, who.account).await?;
        me.require_holder()?;
        let row = self.member_row(child, account).await?;
        // As with revoke: a co-guardian cannot narrow, expire or silence
        // another guardian; only the guardian itself changes its own.
        if row.role == Role::Guardian && account != who.account && me.role() == Role::Guardian {
            return Err(Error::forbidden(
                "a guardian's membership is theirs to change",
            ));
        }
        let mut m = write_of(&row);
        if let Some(c) = &patch.categories {
            m.categories = parse_categories(c)?;
            if m.categories == 0 {
                return Err(Error::bad_request(
                    "categories: at least one category (or revoke)",
                ));
            }
        }
        if let Some(p) = patch.can_post {
            m.can_post = p;
        }
        if let Some(h) = patch.history_from {
            m.history_from = h.map(|t| t.millis());
        }
        if let Some(e) = patch.expires_at {
            m.expires_at = e.map(|t| t.millis());
        }
        let detail = format!(
            "changed: {} [{}]{}",
            label(account, row.role, &row.display_name),
            category_names(m.categories).join(", "),
            m.expires_at
                .map(|e| format!(" until {}", Timestamp(e).to_rfc3339()))
                .unwrap_or_default()
        );
        self.commit_member(who, m, detail).await
    }
}
