//! The server's WebSocket frames: one typed enum, serialized here and
//! nowhere else (the wire contract's "Server → client" frames). Entries are
//! carried as JSON serialized once ([`RawValue`]): a live entry's frame is
//! built once for all its subscribers, and the author's `posted` reuses the
//! same entry JSON.

use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

use super::members::Member;
use super::views::{Alert, Entry, Handover};
use crate::error::{Error, Result};
use crate::hub::LiveEntry;
use crate::ids::{AccountId, ChildId, EntryId, Seq, Timestamp};
use crate::vocab::Status;

/// A frame the server sends. `reference` is the client's `ref`, echoed
/// (null when the client sent none).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Ready {
        account_id: AccountId,
        /// Echoed on a renewal (a second `auth`); absent on the first `ready`.
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    Entry {
        entry: &'a RawValue,
    },
    Subscribed {
        child_id: ChildId,
        last_seq: Seq,
        #[serde(rename = "ref")]
        reference: Option<&'a str>,
    },
    Unsubscribed {
        child_id: ChildId,
        #[serde(rename = "ref")]
        reference: Option<&'a str>,
    },
    Posted {
        #[serde(rename = "ref")]
        reference: Option<&'a str>,
        entry: &'a RawValue,
    },
    Receipt {
        child_id: ChildId,
        account_id: AccountId,
        seq: Seq,
    },
    /// A question addressed to this account was posted (ids only: the
    /// client reads its inbox again).
    Inbox {
        child_id: ChildId,
        entry_id: EntryId,
    },
    /// A question was answered (or, after a correction, is as it was):
    /// `entry_id` is its latest revision.
    EntryState {
        child_id: ChildId,
        entry_id: EntryId,
        state: &'static str,
    },
    /// A professional asked to join: sent to the child's guardians.
    MembershipRequest {
        child_id: ChildId,
        member: &'a Member,
    },
    /// A handover was opened or decided: sent to the child's consent
    /// holders, the leaving member and whoever opened it.
    Handover {
        child_id: ChildId,
        handover: &'a Handover,
    },
    Membership {
        child_id: ChildId,
        status: Status,
        /// Present only while the membership is active.
        #[serde(flatten)]
        grant: Option<Grant>,
    },
    Alert {
        alert: &'a Alert,
    },
    AlertUpdate {
        alert: &'a Alert,
    },
    Acked {
        #[serde(rename = "ref")]
        reference: Option<&'a str>,
        alert: &'a Alert,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(rename = "ref")]
        reference: Option<&'a str>,
        /// Seconds to wait, on `rate_limited`.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

/// What an active membership now grants (sent on every change).
#[derive(Serialize)]
pub struct Grant {
    pub categories: Vec<&'static str>,
    pub can_post: bool,
    pub history_from: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// Sent when a frame cannot be serialized (it cannot happen with these types).
const UNSERIALIZABLE: &str =
    r#"{"type":"error","code":"internal","message":"internal error","ref":null}"#;

impl ServerFrame<'_> {
    /// The frame's JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            tracing::error!(error = %e, "serializing a server frame");
            UNSERIALIZABLE.to_owned()
        })
    }
}

/// An entry's JSON, serialized once.
pub fn entry_json(entry: &Entry) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(entry).map_err(Error::internal)
}

/// An entry as it goes live: its `entry` frame, built once for every
/// subscriber, and the facts each subscriber's consent is checked on.
/// `first_created_at` is the first revision's time (see `EntryRow`).
pub(super) fn live_entry(
    entry: &Entry,
    category: i64,
    first_created_at: i64,
    consent_version: i64,
) -> Result<Arc<LiveEntry>> {
    let json = entry_json(entry)?;
    let frame = ServerFrame::Entry { entry: &json }.to_text();
    Ok(Arc::new(LiveEntry {
        child_id: entry.child_id,
        seq: entry.seq,
        category,
        first_created_at,
        consent_version,
        frame,
        entry: json,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_type_and_ref() {
        let child = ChildId::new();
        let v: serde_json::Value = serde_json::from_str(
            &ServerFrame::Subscribed {
                child_id: child,
                last_seq: 3,
                reference: Some("r1"),
            }
            .to_text(),
        )
        .unwrap_or_default();
        assert_eq!(v["type"], "subscribed");
        assert_eq!(v["ref"], "r1");
        assert_eq!(v["last_seq"], 3);
        let revoked = ServerFrame::Membership {
            child_id: child,
            status: Status::Revoked,
            grant: None,
        }
        .to_text();
        let v: serde_json::Value = serde_json::from_str(&revoked).unwrap_or_default();
        assert_eq!(v.as_object().map(|o| o.len()), Some(3), "{revoked}");
        let active = ServerFrame::Membership {
            child_id: child,
            status: Status::Active,
            grant: Some(Grant {
                categories: vec!["medical"],
                can_post: true,
                history_from: None,
                expires_at: None,
            }),
        }
        .to_text();
        let v: serde_json::Value = serde_json::from_str(&active).unwrap_or_default();
        assert_eq!(v["categories"][0], "medical");
        assert!(v["history_from"].is_null() && v.get("history_from").is_some());
    }
}
