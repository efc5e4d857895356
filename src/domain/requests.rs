//! Pending membership requests reach the people who hold a child's consent
//! (its guardians, or the young person after the transfer): `GET /requests`, a `membership_request` frame on their
//! open sockets on every node, and a Web Push whose text says nothing about
//! the child or the person asking.

use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

use super::frames::ServerFrame;
use super::measures::count_push;
use super::members::Member;
use super::{Core, Principal};
use crate::consent;
use crate::error::Result;
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::push::Outcome;
use crate::store::MemberRow;
use crate::vocab::Status;

/// One pending request, as `GET /requests` lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingRequest {
    pub child_id: ChildId,
    pub child_name: String,
    pub member: Member,
}

/// Whether `m` decides on requests to its child now.
fn holds_consent(m: &MemberRow, now: Timestamp) -> bool {
    consent::is_holder(m.role, m.transferred) && consent::is_active(m, now)
}

impl Core {
    /// `GET /requests`: the `requested` memberships of every child whose
    /// consent the caller holds, oldest first within each child; each
    /// child's listing is a `read_members` record in its access log.
    pub async fn pending_requests(&self, who: &Principal) -> Result<Vec<PendingRequest>> {
        let now = Timestamp::now();
        let mut out = Vec::new();
        for (mine, _) in self.store.list_memberships_of(who.account).await? {
            if !holds_consent(&mine, now) {
                continue;
            }
            let requested: Vec<MemberRow> = self
                .store
                .list_members(mine.child_id)
                .await?
                .into_iter()
                .filter(|m| m.status == Status::Requested)
                .collect();
            if requested.is_empty() {
                continue;
            }
            // Pending members are the child's member data: the read is logged.
            let detail = format!("pending requests ({})", requested.len());
            self.log_access(mine.child_id, who.account, "read_members", detail)
                .await?;
            let child_name = self.child_name(mine.child_id).await?;
            for row in requested {
                out.push(PendingRequest {
                    child_id: mine.child_id,
                    child_name: child_name.clone(),
                    member: Member::from_row(self, row, now),
                });
            }
        }
        Ok(out)
    }

    /// A request was committed (on this node or another): the
    /// `membership_request` frame to the sockets of the child's guardians
    /// on this node. Returns the guardians.
    pub(super) async fn announce_request(&self, row: MemberRow) -> Result<Vec<AccountId>> {
        let now = Timestamp::now();
        let child_id = row.child_id;
        let guardians: Vec<AccountId> = self
            .store
            .list_members(child_id)
            .await?
            .iter()
            .filter(|m| holds_consent(m, now))
            .map(|m| m.account_id)
            .collect();
        let member = Member::from_row(self, row, now);
        let frame: Arc<str> = ServerFrame::MembershipRequest {
            child_id,
            member: &member,
        }
        .to_text()
        .into();
        for g in &guardians {
            self.hub.send_to_account(*g, frame.clone());
        }
        Ok(guardians)
    }

    /// A Web Push to every subscription of `guardians`, in the background,
    /// once (a request is not an emergency: no retries). The text is the
    /// same for every request.
    pub(super) fn push_request(self: &Arc<Self>, guardians: Vec<AccountId>) {
        let payload = json!({
            "type": "membership_request",
            "title": "参加依頼 / Request to join",
            "body": "お子さんの連絡帳への参加依頼があります。アプリを開いて確認してください。",
        });
        self.push_generic(guardians, payload.to_string());
    }

    /// A Web Push of `payload` (generic text, never child data) to every
    /// subscription of `accounts`, in the background, once.
    pub(super) fn push_generic(self: &Arc<Self>, accounts: Vec<AccountId>, payload: String) {
        let core = self.clone();
        self.push_tasks.spawn(async move {
            for account in accounts {
                let subs = match core.store.list_push_subs(account).await {
                    Ok(subs) => subs,
                    Err(e) => {
                        tracing::warn!(error = %e, "listing push subscriptions");
                        continue;
                    }
                };
                for sub in subs {
                    // Sent once, never retried.
                    match core.send_push(&sub, payload.as_bytes()).await {
                        Outcome::Sent => count_push("sent"),
                        Outcome::Gone => count_push("subscription_removed"),
                        Outcome::Failed(why) | Outcome::Retry(why) => {
                            count_push("failed");
                            tracing::info!(reason = %why, "push not sent");
                        }
                    }
                }
            }
        });
    }
}
