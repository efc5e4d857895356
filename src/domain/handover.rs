//! Handover (引継ぎ) when staff move (issue 19, point 3). The leaving
//! member or a coordinator opens one for a child (`POST
//! /children/{id}/handovers`); an administrator (or the organization
//! administrator of the leaver's organization) opens one for every child of
//! someone who leaves (`POST /handovers`). Whoever holds the child's consent
//! approves it in one tap: the successor becomes an active member with the
//! predecessor's categories, posting right and the whole history (unless
//! narrowed), the predecessor expires after the overlap, and a `handover`
//! entry records it. Each step is in the child's access log and reaches the
//! open sockets of the people deciding, on every node.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::entries::NewEntryInput;
use super::frames::ServerFrame;
use super::members::{state_of, write_of};
pub use super::views::Handover;
use super::{Core, Principal};
use crate::consent::{self, category_name, category_names, parse_categories};
use crate::crypto::aad;
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, HandoverId, Timestamp};
use crate::store::{
    AccountRow, HandoverDecision, HandoverRow, MemberRow, MemberWrite, NewAccess, StoreError,
};
use crate::vocab::{AccountKind, Role, Status};

const DEFAULT_OVERLAP_DAYS: i64 = 14;
const MAX_OVERLAP_DAYS: i64 = 365;
const MAX_NOTE_CHARS: usize = 2000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandover {
    pub from_account: AccountId,
    pub to_account: AccountId,
    #[serde(default)]
    pub overlap_days: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The guardian's approval, optionally narrowing what the successor gets.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverApproval {
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub can_post: Option<bool>,
    #[serde(default)]
    pub history_from: Option<Timestamp>,
}

/// One handover awaiting the caller's decision (`GET /handovers`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingHandover {
    pub child_id: ChildId,
    pub child_name: String,
    pub handover: Handover,
}

/// What `POST /handovers` opened, per child.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Opened {
    pub id: HandoverId,
    pub child_id: ChildId,
    pub status: &'static str,
}

/// `POST /handovers`' answer.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct OpenedAll {
    pub handovers: Vec<Opened>,
}

/// A leaver's open handovers, for an administrator about to disable the
/// account (`GET /handovers?from_account=`): no child data, ids only.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeaverHandovers {
    pub account_id: AccountId,
    /// Notebooks the account is still an active member of.
    pub children: usize,
    /// Of those, notebooks without an open handover.
    pub without_handover: usize,
    pub handovers: Vec<LeaverHandover>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LeaverHandover {
    pub id: HandoverId,
    pub child_id: ChildId,
    pub to_account: AccountId,
    pub to_name: String,
    pub status: String,
    pub created_at: Timestamp,
}

/// The checked parts of a handover request.
struct Checked {
    to: AccountRow,
    overlap_days: i64,
    note: Option<String>,
}

fn check_input(new: &NewHandover) -> Result<(i64, Option<String>)> {
    let overlap_days = new.overlap_days.unwrap_or(DEFAULT_OVERLAP_DAYS);
    if !(0..=MAX_OVERLAP_DAYS).contains(&overlap_days) {
        return Err(Error::bad_request(format!(
            "overlap_days: from 0 to {MAX_OVERLAP_DAYS}"
        )));
    }
    if new.from_account == new.to_account {
        return Err(Error::bad_request(
            "to_account: a handover goes to someone else",
        ));
    }
    let note = match new.note.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            return Err(Error::bad_request(format!(
                "note: at most {MAX_NOTE_CHARS} characters"
            )))
        }
        Some(n) => Some(n.to_owned()),
    };
    Ok((overlap_days, note))
}

/// The predecessor's membership in `child`, when it can be handed over.
fn handed_over(row: Option<MemberRow>, now: Timestamp) -> Result<MemberRow> {
    match row {
        Some(r) if consent::is_active(&r, now) && r.role == Role::Member => Ok(r),
        Some(r) if consent::is_active(&r, now) => Err(Error::bad_request(
            "from_account: a family member's membership is not handed over",
        )),
        _ => Err(Error::bad_request(
            "from_account: not an active member of this notebook",
        )),
    }
}

impl Core {
    /// The successor: a professional whose account is enabled.
    async fn successor(&self, account: AccountId) -> Result<AccountRow> {
        let to = self.store.get_account(account).await.map_err(|e| match e {
            StoreError::NotFound => Error::bad_request("to_account: unknown account"),
            other => other.into(),
        })?;
        if to.kind != AccountKind::Professional {
            return Err(Error::bad_request(
                "to_account: a handover goes to a professional",
            ));
        }
        if to.disabled_at.is_some() {
            return Err(Error::bad_request("to_account: this account is disabled"));
        }
        Ok(to)
    }

    /// 409 when `to` is a member of `child` already (or has asked to be).
    async fn not_yet_member(&self, child: ChildId, to: AccountId, now: Timestamp) -> Result<()> {
        match self.store.get_membership(child, to).await? {
            Some(m) if consent::is_active(&m, now) => Err(Error::Conflict(
                "to_account is already a member of this notebook".into(),
            )),
            Some(m) if m.status == Status::Requested => Err(Error::Conflict(
                "to_account has asked to join this notebook; approve that request instead".into(),
            )),
            _ => Ok(()),
        }
    }

    fn handover_view(&self, child: ChildId, r: HandoverRow, names: &Names) -> Result<Handover> {
        let note = match &r.note {
            Some(sealed) => {
                let key = self.keys.cached(child);
                let key = key.ok_or_else(|| Error::internal("the child's key is not loaded"))?;
                let plain = key.open(&aad::handover(child, r.id), sealed)?;
                Some(String::from_utf8(plain.to_vec()).map_err(Error::internal)?)
            }
            None => None,
        };
        Ok(Handover {
            id: r.id,
            child_id: r.child_id,
            from_name: names.get(r.from_account),
            from_account: r.from_account,
            to_name: names.get(r.to_account),
            to_account: r.to_account,
            overlap_days: r.overlap_days,
            note,
            status: r.status,
            requested_by: r.requested_by,
            created_at: Timestamp(r.created_at),
            decided_by: r.decided_by,
            decided_at: r.decided_at.map(Timestamp),
        })
    }

    /// Display names of professionals (clear in the store), by account.
    async fn names(&self, rows: &[HandoverRow]) -> Result<Names> {
        let mut names = Names(Vec::new());
        for r in rows {
            for a in [r.from_account, r.to_account] {
                if names.0.iter().all(|(id, _)| *id != a) {
                    let acc = self.store.get_account(a).await?;
                    names.0.push((a, self.name(a, &acc.display_name)));
                }
            }
        }
        Ok(names)
    }

    async fn one_view(&self, row: HandoverRow) -> Result<Handover> {
        let child = row.child_id;
        self.child_key(child).await?;
        let names = self.names(std::slice::from_ref(&row)).await?;
        self.handover_view(child, row, &names)
    }

    /// `POST /children/{id}/handovers`: by the leaving member itself, or an
    /// active member who is a coordinator.
    pub async fn open_handover(
        self: &Arc<Self>,
        who: &Principal,
        child: ChildId,
        new: NewHandover,
    ) -> Result<Handover> {
        let me = self.member(child, who.account).await?;
        me.require_open()?;
        if new.from_account != who.account && !(who.coordinates() && me.role() == Role::Member) {
            return Err(Error::forbidden(
                "a handover is opened by the leaving member or a coordinator of this notebook",
            ));
        }
        let checked = self.check_handover(child, &new).await?;
        let row = self.seal_handover(who, child, &new, &checked).await?;
        let mut w = self.store.writer().await?;
        let log = self
            .handover_log(who, &row, &checked.to, "requested")
            .await?;
        match w.insert_handovers(&[(row.clone(), log)]).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(open_already()),
            Err(e) => return Err(e.into()),
        }
        drop(w);
        let view = self.one_view(row).await?;
        let holders = self.announce_handover(&view).await;
        self.push_handover(holders);
        Ok(view)
    }

    async fn check_handover(&self, child: ChildId, new: &NewHandover) -> Result<Checked> {
        let (overlap_days, note) = check_input(new)?;
        let now = Timestamp::now();
        handed_over(
            self.store.get_membership(child, new.from_account).await?,
            now,
        )?;
        let to = self.successor(new.to_account).await?;
        self.not_yet_member(child, new.to_account, now).await?;
        Ok(Checked {
            to,
            overlap_days,
            note,
        })
    }

    async fn seal_handover(
        &self,
        who: &Principal,
        child: ChildId,
        new: &NewHandover,
        checked: &Checked,
    ) -> Result<HandoverRow> {
        let id = HandoverId::new();
        let note = match &checked.note {
            Some(n) => {
                let key = self.child_key(child).await?;
                Some(key.seal(&aad::handover(child, id), n.as_bytes())?)
            }
            None => None,
        };
        Ok(HandoverRow {
            id,
            child_id: child,
            from_account: new.from_account,
            to_account: new.to_account,
            overlap_days: checked.overlap_days,
            note,
            status: "requested".into(),
            requested_by: who.account,
            created_at: Timestamp::now().millis(),
            decided_by: None,
            decided_at: None,
        })
    }

    /// The access-log record of a handover step (professionals' names are
    /// not sealed: they are staff, not the family).
    async fn handover_log(
        &self,
        who: &Principal,
        row: &HandoverRow,
        to: &AccountRow,
        what: &str,
    ) -> Result<NewAccess<'static>> {
        let from = self.store.get_account(row.from_account).await?;
        Ok(NewAccess {
            child_id: row.child_id,
            account_id: who.account,
            action: "handover",
            detail: format!(
                "{what}: {} → {} (handover {})",
                self.name(from.id, &from.display_name),
                self.name(to.id, &to.display_name),
                row.id
            ),
            at: Timestamp::now().millis(),
        })
    }

    /// `POST /handovers`: one handover for every notebook `from_account` is
    /// an active member of, by an admin or the organization administrator
    /// of its organization. Notebooks where `to_account` is a member
    /// already, or where one is open already, are left out.
    pub async fn open_handovers_for_leaver(
        self: &Arc<Self>,
        who: &Principal,
        new: NewHandover,
    ) -> Result<OpenedAll> {
        let from = match self.store.get_account(new.from_account).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => {
                return Err(Error::bad_request("from_account: unknown account"))
            }
            Err(e) => return Err(e.into()),
        };
        self.administers_leaver(who, &from)?;
        let (overlap_days, note) = check_input(&new)?;
        let to = self.successor(new.to_account).await?;
        let now = Timestamp::now();
        let open: Vec<ChildId> = self
            .store
            .list_open_handovers_from(from.id)
            .await?
            .into_iter()
            .map(|h| h.child_id)
            .collect();
        let mut rows = Vec::new();
        for (m, _) in self.store.list_memberships_of(from.id).await? {
            if m.role != Role::Member || !consent::is_active(&m, now) {
                continue;
            }
            if open.contains(&m.child_id)
                || self.not_yet_member(m.child_id, to.id, now).await.is_err()
            {
                continue;
            }
            let checked = Checked {
                to: to.clone(),
                overlap_days,
                note: note.clone(),
            };
            let row = self.seal_handover(who, m.child_id, &new, &checked).await?;
            let log = self
                .handover_log(who, &row, &to, "requested for a leaver")
                .await?;
            rows.push((row, log));
        }
        if rows.is_empty() {
            return Err(Error::Conflict(
                "from_account has no notebook left to hand over".into(),
            ));
        }
        let mut w = self.store.writer().await?;
        match w.insert_handovers(&rows).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(open_already()),
            Err(e) => return Err(e.into()),
        }
        drop(w);
        let mut handovers = Vec::with_capacity(rows.len());
        for (row, _) in rows {
            handovers.push(Opened {
                id: row.id,
                child_id: row.child_id,
                status: "requested",
            });
            match self.one_view(row).await {
                Ok(view) => {
                    let holders = self.announce_handover(&view).await;
                    self.push_handover(holders);
                }
                Err(e) => tracing::error!(error = %e, "announcing a handover"),
            }
        }
        Ok(OpenedAll { handovers })
    }

    /// An admin, or the organization administrator of the leaver's organization.
    fn administers_leaver(&self, who: &Principal, from: &AccountRow) -> Result<()> {
        let own_org = who.org_admin && who.org_id.is_some() && from.org_id == who.org_id;
        if who.is_admin() || own_org {
            Ok(())
        } else {
            Err(Error::forbidden(
                "only an admin, or an administrator of the leaver's organization, hands over all of its notebooks",
            ))
        }
    }

    /// `GET /handovers?from_account=`: what stands between an
    /// administrator and disabling a leaver.
    pub async fn leaver_handovers(
        &self,
        who: &Principal,
        account: AccountId,
    ) -> Result<LeaverHandovers> {
        let from = match self.store.get_account(account).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(e.into()),
        };
        self.administers_leaver(who, &from)?;
        let now = Timestamp::now();
        let held: Vec<ChildId> = self
            .store
            .list_memberships_of(account)
            .await?
            .into_iter()
            .filter(|(m, _)| m.role == Role::Member && consent::is_active(m, now))
            .map(|(m, _)| m.child_id)
            .collect();
        let rows = self.store.list_open_handovers_from(account).await?;
        let names = self.names(&rows).await?;
        let without_handover = held
            .iter()
            .filter(|c| rows.iter().all(|h| h.child_id != **c))
            .count();
        Ok(LeaverHandovers {
            account_id: account,
            children: held.len(),
            without_handover,
            handovers: rows
                .into_iter()
                .map(|r| LeaverHandover {
                    id: r.id,
                    child_id: r.child_id,
                    to_name: names.get(r.to_account),
                    to_account: r.to_account,
                    status: r.status,
                    created_at: Timestamp(r.created_at),
                })
                .collect(),
        })
    }

    /// `GET /children/{id}/handovers` (active member): oldest first.
    pub async fn list_handovers(&self, who: &Principal, child: ChildId) -> Result<Vec<Handover>> {
        self.member(child, who.account).await?;
        let rows = self.store.list_handovers(child).await?;
        let detail = format!("handovers ({})", rows.len());
        self.log_access(child, who.account, "read_members", detail)
            .await?;
        self.child_key(child).await?;
        let names = self.names(&rows).await?;
        rows.into_iter()
            .map(|r| self.handover_view(child, r, &names))
            .collect()
    }

    /// `GET /handovers`: the open handovers of every child whose consent
    /// the caller holds, oldest first within each child.
    pub async fn pending_handovers(&self, who: &Principal) -> Result<Vec<PendingHandover>> {
        let now = Timestamp::now();
        let mut out = Vec::new();
        for (mine, _) in self.store.list_memberships_of(who.account).await? {
            if !(consent::is_holder(mine.role, mine.transferred) && consent::is_active(&mine, now))
            {
                continue;
            }
            let child = mine.child_id;
            let rows: Vec<HandoverRow> = self
                .store
                .list_handovers(child)
                .await?
                .into_iter()
                .filter(|h| h.status == "requested")
                .collect();
            if rows.is_empty() {
                continue;
            }
            let detail = format!("pending handovers ({})", rows.len());
            self.log_access(child, who.account, "read_members", detail)
                .await?;
            let child_name = self.child_name(child).await?;
            self.child_key(child).await?;
            let names = self.names(&rows).await?;
            for r in rows {
                out.push(PendingHandover {
                    child_id: child,
                    child_name: child_name.clone(),
                    handover: self.handover_view(child, r, &names)?,
                });
            }
        }
        Ok(out)
    }

    async fn open_row(&self, child: ChildId, id: HandoverId) -> Result<HandoverRow> {
        let row = match self.store.get_handover(id).await {
            Ok(r) if r.child_id == child => r,
            Ok(_) | Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(e.into()),
        };
        if row.status != "requested" {
            return Err(Error::Conflict(
                format!("this handover is {} already", row.status).into(),
            ));
        }
        Ok(row)
    }

    /// `POST /children/{id}/handovers/{hid}/approve` (consent holder).
    pub async fn approve_handover(
        &self,
        who: &Principal,
        child: ChildId,
        id: HandoverId,
        narrowed: HandoverApproval,
    ) -> Result<Handover> {
        let me = self.member(child, who.account).await?;
        me.require_holder()?;
        me.require_open()?;
        let row = self.open_row(child, id).await?;
        let now = Timestamp::now();
        let from = handed_over(
            self.store.get_membership(child, row.from_account).await?,
            now,
        )
        .map_err(|_| {
            Error::Conflict("the leaving member is no longer an active member; decline it".into())
        })?;
        let to = self.store.get_account(row.to_account).await?;
        if to.disabled_at.is_some() {
            return Err(Error::Conflict(
                "the successor's account is disabled; decline it".into(),
            ));
        }
        self.not_yet_member(child, row.to_account, now).await?;
        let mut successor = MemberWrite {
            child_id: child,
            account_id: row.to_account,
            role: Role::Member,
            status: Status::Active,
            categories: from.categories,
            can_post: from.can_post,
            purpose: from.purpose.clone(),
            history_from: None,
            expires_at: None,
            granted_by: Some(who.account),
        };
        if let Some(c) = &narrowed.categories {
            successor.categories = parse_categories(c)?;
            if successor.categories == 0 {
                return Err(Error::bad_request("categories: at least one category"));
            }
        }
        if let Some(p) = narrowed.can_post {
            successor.can_post = p;
        }
        successor.history_from = narrowed.history_from.map(|t| t.millis());
        let mut predecessor = write_of(&from);
        let overlap_ms = row
            .overlap_days
            .saturating_mul(self.settings.overlap_day_ms);
        let ends = now.millis().saturating_add(overlap_ms);
        predecessor.expires_at = Some(predecessor.expires_at.map_or(ends, |e| e.min(ends)));
        let members = [successor, predecessor];
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "handover",
            detail: format!(
                "approved: {} → {} [{}], overlap {} days (handover {})",
                self.name(from.account_id, &from.display_name),
                self.name(to.id, &to.display_name),
                category_names(members[0].categories).join(", "),
                row.overlap_days,
                row.id
            ),
            at: now.millis(),
        };
        let decision = HandoverDecision {
            handover: row.id,
            by: who.account,
            at: now.millis(),
            status: "approved",
            members: &members,
        };
        let mut w = self.store.writer().await?;
        let decided = w.decide_handover(child, &decision, log).await;
        for m in &members {
            self.members.forget(child, m.account_id);
        }
        let version = match decided {
            Ok(v) => v,
            Err(StoreError::Conflict) => {
                return Err(Error::Conflict("this handover is decided already".into()))
            }
            Err(e) => return Err(e.into()),
        };
        for m in &members {
            self.hub.publish_membership(state_of(m, version));
        }
        drop(w);
        let view = self.one_view(self.store.get_handover(id).await?).await?;
        if let Err(e) = self.post_handover_entry(who, &view, &members[0]).await {
            tracing::error!(error = %e, "posting a handover entry");
        }
        self.announce_handover(&view).await;
        Ok(view)
    }

    /// A Web Push to the holders of a new handover's child, generic text.
    fn push_handover(self: &Arc<Self>, holders: Vec<AccountId>) {
        let payload = json!({
            "type": "handover",
            "title": "引継ぎの承認依頼 / Handover to approve",
            "body": "担当者の引継ぎの承認依頼があります。アプリを開いて確認してください。",
        });
        self.push_generic(holders, payload.to_string());
    }

    /// The `handover` entry, by the approver, in the first category the
    /// successor sees that the approver may post in.
    async fn post_handover_entry(
        &self,
        who: &Principal,
        view: &Handover,
        successor: &MemberWrite,
    ) -> Result<()> {
        let me = self.member(view.child_id, who.account).await?;
        let category = (0..63)
            .map(|b| 1i64 << b)
            .filter(|bit| successor.categories & bit != 0)
            .find(|bit| me.require_post(*bit).is_ok())
            .ok_or_else(|| {
                Error::forbidden("the approver cannot post in the successor's categories")
            })?;
        let mut text = format!(
            "引継ぎ: {} さんから {} さんへ（重なり期間 {} 日）",
            view.from_name, view.to_name, view.overlap_days
        );
        if let Some(n) = &view.note {
            text.push('\n');
            text.push_str(n);
        }
        let input = NewEntryInput {
            client_id: format!("handover-{}", view.id),
            category: Some(category_name(category).to_owned()),
            categories: None,
            kind: "handover".into(),
            body: json!({"text": text, "from": view.from_name, "to": view.to_name}),
            to: Vec::new(),
            needs_reply: false,
            reply_to: None,
        };
        self.post_at(who, view.child_id, input, None).await?;
        Ok(())
    }

    /// `POST /children/{id}/handovers/{hid}/decline` (consent holder).
    pub async fn decline_handover(
        &self,
        who: &Principal,
        child: ChildId,
        id: HandoverId,
    ) -> Result<Handover> {
        self.member(child, who.account).await?.require_holder()?;
        let row = self.open_row(child, id).await?;
        let to = self.store.get_account(row.to_account).await?;
        let log = self.handover_log(who, &row, &to, "declined").await?;
        let decision = HandoverDecision {
            handover: row.id,
            by: who.account,
            at: Timestamp::now().millis(),
            status: "declined",
            members: &[],
        };
        let mut w = self.store.writer().await?;
        match w.decide_handover(child, &decision, log).await {
            Ok(_) => {}
            Err(StoreError::Conflict) => {
                return Err(Error::Conflict("this handover is decided already".into()))
            }
            Err(e) => return Err(e.into()),
        }
        drop(w);
        let view = self.one_view(self.store.get_handover(id).await?).await?;
        self.announce_handover(&view).await;
        Ok(view)
    }

    /// A handover opened or decided (here or on another node): the
    /// `handover` frame to this node's sockets of the child's consent
    /// holders, the leaving member and whoever opened it; a Web Push to the
    /// holders when it is new. Returns the holders.
    pub(super) async fn announce_handover(&self, view: &Handover) -> Vec<AccountId> {
        let now = Timestamp::now();
        let members = match self.store.list_members(view.child_id).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "listing members for a handover");
                return Vec::new();
            }
        };
        let holders: Vec<AccountId> = members
            .iter()
            .filter(|m| consent::is_holder(m.role, m.transferred) && consent::is_active(m, now))
            .map(|m| m.account_id)
            .collect();
        let told: Vec<AccountId> = members
            .iter()
            .filter(|m| consent::is_active(m, now))
            .map(|m| m.account_id)
            .filter(|a| holders.contains(a) || *a == view.from_account || *a == view.requested_by)
            .collect();
        let frame: Arc<str> = ServerFrame::Handover {
            child_id: view.child_id,
            handover: view,
        }
        .to_text()
        .into();
        for a in &told {
            self.hub.send_to_account(*a, frame.clone());
        }
        holders
    }

    /// Another node committed a handover change.
    pub(super) async fn on_cluster_handover(&self, id: HandoverId) -> Result<()> {
        let row = self.store.get_handover(id).await?;
        let view = self.one_view(row).await?;
        self.announce_handover(&view).await;
        Ok(())
    }
}

fn open_already() -> Error {
    Error::Conflict("a handover from this member is open already".into())
}

/// Professionals' display names, looked up once per handover listing.
struct Names(Vec<(AccountId, String)>);

impl Names {
    fn get(&self, a: AccountId) -> String {
        self.0
            .iter()
            .find(|(id, _)| *id == a)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    }
}
