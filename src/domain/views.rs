//! What clients are shown of stored rows: the entry view (built by the
//! committer for new entries and by `entries` for reads), the alert view,
//! the handover view, and display names (a family member's name is sealed). A leaf: it
//! imports no other use case, so the committer, the frames and every use
//! case can share it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::consent::{category_bit, category_name, category_names};
use crate::crypto::{aad, DataKey};
use crate::ids::{AccountId, AlertId, ChildId, EntryId, HandoverId, Seq, Timestamp};
use crate::store::{EntryRow, Name};
use crate::vocab::{AlertStatus, EntryKind};

#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Entry {
    pub id: EntryId,
    pub child_id: ChildId,
    pub seq: Seq,
    pub author_id: AccountId,
    pub author_name: String,
    /// The first of `categories`.
    #[schema(value_type = crate::consent::CategoryName)]
    pub category: &'static str,
    /// Every category the entry is filed under (one or more), the first first.
    #[schema(value_type = Vec<crate::consent::CategoryName>)]
    pub categories: Vec<&'static str>,
    pub kind: EntryKind,
    pub body: Value,
    pub created_at: Timestamp,
    pub revision: i64,
    pub supersedes: Option<EntryId>,
    pub client_id: String,
    /// Why this revision was made (null for a first revision).
    pub reason: Option<String>,
    /// Addressees (account ids), each of whom could see the entry when it was posted.
    pub to: Vec<AccountId>,
    pub needs_reply: bool,
    pub reply_to: Option<EntryId>,
    /// `open` or `answered` for an entry that needs a reply, else null.
    pub state: Option<&'static str>,
    /// The first revision's id: what replies and done marks are matched on.
    #[serde(skip)]
    pub origin: EntryId,
}

#[derive(Serialize, Clone, utoipa::ToSchema)]
pub struct Delivery {
    pub account_id: AccountId,
    pub display_name: String,
    pub tier: i64,
    pub notified_at: Option<Timestamp>,
    pub channels: Vec<String>,
    pub acked_at: Option<Timestamp>,
    /// Web Push result: null (no subscription), `sent`, `retrying`, `failed`, `subscription_removed`.
    pub push_status: Option<String>,
    pub notify_count: i64,
}

/// An alert as its parties see it (HTTP answers and `alert` frames).
#[derive(Serialize, Clone, utoipa::ToSchema)]
pub struct Alert {
    pub id: AlertId,
    pub child_id: ChildId,
    pub child_name: String,
    pub raised_by: AccountId,
    pub raised_by_name: String,
    pub message: String,
    pub created_at: Timestamp,
    pub status: AlertStatus,
    pub acked_by: Option<AccountId>,
    pub acked_by_name: Option<String>,
    pub acked_at: Option<Timestamp>,
    pub deliveries: Vec<Delivery>,
}

pub(super) const QUESTION_OPEN: &str = "open";
pub(super) const QUESTION_ANSWERED: &str = "answered";

/// What is sealed in `entry.body`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub(super) struct Sealed {
    pub(super) body: Value,
    pub(super) reason: Option<String>,
    /// The categories in the author's order, when there are several (the
    /// clear mask has no order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) categories: Option<Vec<String>>,
}

/// The entry's categories: the sealed order when it names exactly the
/// mask's categories, else the mask's in their usual order.
fn categories_of(mask: i64, order: Option<&[String]>) -> Vec<&'static str> {
    let from_order: Option<Vec<&'static str>> = order.map(|o| {
        o.iter()
            .filter_map(|n| category_bit(n).map(category_name))
            .collect()
    });
    match from_order {
        Some(list)
            if list
                .iter()
                .map(|n| category_bit(n).unwrap_or(0))
                .fold(0, |m, b| m | b)
                == mask =>
        {
            list
        }
        _ => category_names(mask),
    }
}

/// The view of a stored entry whose sealed part is already open.
pub(super) fn entry_of(row: EntryRow, sealed: Sealed, names: &DataKey) -> Entry {
    let categories = categories_of(row.category, sealed.categories.as_deref());
    let thread = row.thread;
    Entry {
        origin: thread.origin.unwrap_or(row.id),
        state: thread.needs_reply.then_some(QUESTION_OPEN),
        to: thread.to,
        needs_reply: thread.needs_reply,
        reply_to: thread.reply_to,
        author_name: open_name(names, row.author_id, &row.author_name),
        id: row.id,
        child_id: row.child_id,
        seq: row.seq,
        author_id: row.author_id,
        category: categories.first().copied().unwrap_or("unknown"),
        categories,
        kind: row.kind,
        body: sealed.body,
        created_at: Timestamp(row.created_at),
        revision: row.revision,
        supersedes: row.supersedes,
        client_id: row.client_id,
        reason: sealed.reason,
    }
}

/// A display name in clear; an unreadable sealed name shows as "?" (and is logged).
pub(crate) fn open_name(key: &DataKey, account: AccountId, n: &Name) -> String {
    match &n.sealed {
        None => n.clear.clone(),
        Some(sealed) => match key.open(&aad::account_name(account), sealed) {
            Ok(plain) => String::from_utf8_lossy(&plain).into_owned(),
            Err(_) => {
                tracing::error!(%account, "sealed account name does not open");
                "?".to_owned()
            }
        },
    }
}

/// A handover as members of its child see it.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Handover {
    pub id: HandoverId,
    pub child_id: ChildId,
    pub from_account: AccountId,
    pub from_name: String,
    pub to_account: AccountId,
    pub to_name: String,
    pub overlap_days: i64,
    pub note: Option<String>,
    /// `requested`, `approved` or `declined`.
    pub status: String,
    pub requested_by: AccountId,
    pub created_at: Timestamp,
    pub decided_by: Option<AccountId>,
    pub decided_at: Option<Timestamp>,
}
