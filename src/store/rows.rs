//! Plain rows as the store reads and writes them, and their decoding from
//! `AnyRow`. Sealed columns stay opaque bytes here.

use super::{StoreError, StoreResult};
use crate::ids::{AccountId, AttachmentId, ChildId, EntryId, OrgId, SessionId};
use crate::vocab::{AccountKind, EndReason, EntryKind, Role, SessionPurpose, Status};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;

pub(super) fn id<T: FromStr>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let s: String = row.try_get(col)?;
    s.parse().map_err(|_| StoreError::Corrupt("id"))
}

/// A display name: clear (staff) or sealed (families: a youth's name is the child's).
#[derive(Clone, Debug, Default)]
pub struct Name {
    pub clear: String,
    pub sealed: Option<Vec<u8>>,
}

pub(super) fn name(row: &AnyRow, clear: &str, sealed: &str) -> StoreResult<Name> {
    Ok(Name {
        clear: row.try_get(clear)?,
        sealed: row.try_get(sealed)?,
    })
}

/// A word of one of the contract's vocabularies, parsed as it is read.
pub(super) fn word<T: FromStr>(row: &AnyRow, col: &'static str) -> StoreResult<T> {
    let s: String = row.try_get(col)?;
    s.parse().map_err(|_| StoreError::Corrupt(col))
}

pub(super) fn opt_id<T: FromStr>(row: &AnyRow, col: &str) -> StoreResult<Option<T>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| s.parse().map_err(|_| StoreError::Corrupt("id")))
        .transpose()
}

#[derive(Clone, Debug)]
pub struct OrgRow {
    pub id: OrgId,
    pub name: String,
    pub field: String,
    pub location: String,
    pub summary: String,
    pub strengths: String,
    pub contact: String,
}

impl OrgRow {
    pub(super) fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: id(r, "id")?,
            name: r.try_get("name")?,
            field: r.try_get("field")?,
            location: r.try_get("location")?,
            summary: r.try_get("summary")?,
            strengths: r.try_get("strengths")?,
            contact: r.try_get("contact")?,
        })
    }
}

/// The columns [`AccountRow::decode`] reads.
pub(super) const ACCOUNT_COLS: &str =
    "id, login, password_hash, display_name, display_sealed, kind, profession, org_id, \
     org_admin, disabled_at, totp_secret, totp_pending, totp_last_step";

#[derive(Clone)]
pub struct AccountRow {
    pub id: AccountId,
    pub login: String,
    /// None until an invitation is accepted (and again after a reset).
    pub password_hash: Option<String>,
    pub display_name: Name,
    pub kind: AccountKind,
    pub profession: Option<String>,
    pub org_id: Option<OrgId>,
    pub org_admin: bool,
    pub disabled_at: Option<i64>,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_pending: Option<Vec<u8>>,
    pub totp_last_step: i64,
}

impl AccountRow {
    pub(super) fn decode(r: &AnyRow) -> StoreResult<Self> {
        let hash: String = r.try_get("password_hash")?;
        let org_admin: i64 = r.try_get("org_admin")?;
        Ok(Self {
            id: id(r, "id")?,
            login: r.try_get("login")?,
            // An account without a password stores the empty string (the
            // column predates invitations and is not null).
            password_hash: Some(hash).filter(|h| !h.is_empty()),
            display_name: name(r, "display_name", "display_sealed")?,
            kind: word(r, "kind")?,
            profession: r.try_get("profession")?,
            org_id: opt_id(r, "org_id")?,
            org_admin: org_admin != 0,
            disabled_at: r.try_get("disabled_at")?,
            totp_secret: r.try_get("totp_secret")?,
            totp_pending: r.try_get("totp_pending")?,
            totp_last_step: r.try_get("totp_last_step")?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: SessionId,
    pub account_id: AccountId,
    pub purpose: SessionPurpose,
    pub created_at: i64,
    /// The last activity written to the database (see domain/sessions/activity.rs).
    pub last_used_at: i64,
    pub user_agent: Option<String>,
    pub revoked_at: Option<i64>,
    pub end_reason: Option<EndReason>,
}

impl SessionRow {
    pub(super) fn decode(r: &AnyRow) -> StoreResult<Self> {
        let reason: Option<String> = r.try_get("end_reason")?;
        Ok(Self {
            id: id(r, "id")?,
            account_id: id(r, "account_id")?,
            purpose: word(r, "purpose")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
            user_agent: r.try_get("user_agent")?,
            revoked_at: r.try_get("revoked_at")?,
            end_reason: reason
                .map(|w| w.parse().map_err(|_| StoreError::Corrupt("end_reason")))
                .transpose()?,
        })
    }
}

#[derive(Clone)]
pub struct ChildRow {
    pub id: ChildId,
    pub wrapped_key: Vec<u8>,
    pub profile: Vec<u8>,
    pub last_seq: i64,
    pub created_at: i64,
    /// When consent passed to the youth (None: the guardians hold it).
    pub consent_transferred_at: Option<i64>,
    /// Closed when support ended: read-only.
    pub closed_at: Option<i64>,
}

impl ChildRow {
    pub(super) fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: id(r, "id")?,
            wrapped_key: r.try_get("wrapped_key")?,
            profile: r.try_get("profile")?,
            last_seq: r.try_get("last_seq")?,
            created_at: r.try_get("created_at")?,
            consent_transferred_at: r.try_get("consent_transferred_at")?,
            closed_at: r.try_get("closed_at")?,
        })
    }
}

/// A membership with the member's public account facts.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub child_id: ChildId,
    pub account_id: AccountId,
    pub role: Role,
    pub status: Status,
    pub categories: i64,
    pub can_post: bool,
    pub purpose: String,
    pub history_from: Option<i64>,
    pub expires_at: Option<i64>,
    pub granted_by: Option<AccountId>,
    pub last_read_seq: i64,
    pub display_name: Name,
    pub profession: Option<String>,
    pub org_id: Option<OrgId>,
    /// The member's account is disabled (a leaver).
    pub disabled: bool,
    /// The child's consent version of this membership's last change.
    pub version: i64,
    /// The child's consent version when the row was read: the row is the
    /// membership as of that version.
    pub as_of: i64,
    /// Consent has passed to the child's youth member.
    pub transferred: bool,
    /// The notebook is closed (read-only).
    pub closed: bool,
    /// The child was erased: it answers 404 to everyone.
    pub erased: bool,
}

impl MemberRow {
    pub(super) fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            child_id: id(r, "child_id")?,
            account_id: id(r, "account_id")?,
            role: word(r, "role")?,
            status: word(r, "status")?,
            categories: r.try_get("categories")?,
            can_post: r.try_get::<i64, _>("can_post")? != 0,
            purpose: r.try_get("purpose")?,
            history_from: r.try_get("history_from")?,
            expires_at: r.try_get("expires_at")?,
            granted_by: opt_id(r, "granted_by")?,
            last_read_seq: r.try_get("last_read_seq")?,
            display_name: name(r, "display_name", "display_sealed")?,
            profession: r.try_get("profession")?,
            org_id: opt_id(r, "org_id")?,
            disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
            version: r.try_get("version")?,
            as_of: r.try_get("consent_version")?,
            transferred: r
                .try_get::<Option<i64>, _>("consent_transferred_at")?
                .is_some(),
            closed: r.try_get::<Option<i64>, _>("closed_at")?.is_some(),
            erased: r.try_get::<Option<i64>, _>("erased_at")?.is_some(),
        })
    }
}

/// What a membership write sets (everything but the read position).
#[derive(Clone, Debug)]
pub struct MemberWrite {
    pub child_id: ChildId,
    pub account_id: AccountId,
    pub role: Role,
    pub status: Status,
    pub categories: i64,
    pub can_post: bool,
    pub purpose: String,
    pub history_from: Option<i64>,
    pub expires_at: Option<i64>,
    pub granted_by: Option<AccountId>,
}

#[derive(Clone, Debug)]
pub struct EntryRow {
    pub id: EntryId,
    pub child_id: ChildId,
    pub seq: i64,
    pub author_id: AccountId,
    pub author_name: Name,
    pub category: i64,
    pub kind: EntryKind,
    pub body: Vec<u8>,
    pub revision: i64,
    pub supersedes: Option<EntryId>,
    pub client_id: String,
    pub created_at: i64,
    /// The first revision's `created_at`: what `history_from` is checked
    /// against, so a correction is visible exactly when its entry is.
    pub first_created_at: i64,
    /// The child's consent version when the entry was committed.
    pub consent_version: i64,
    pub thread: Thread,
}

/// Who an entry is addressed to and where it sits in a conversation
/// (clear metadata: ids only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    pub to: Vec<AccountId>,
    pub needs_reply: bool,
    pub reply_to: Option<EntryId>,
    /// The first revision's id (the entry's own for a first revision).
    pub origin: Option<EntryId>,
    /// The question (its origin) this entry answers, if it does.
    pub answers: Option<EntryId>,
}

impl Thread {
    /// The addressees as stored (space-separated ids; None: nobody).
    pub fn addressees(&self) -> Option<String> {
        (!self.to.is_empty()).then(|| {
            self.to
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    fn decode(r: &AnyRow) -> StoreResult<Self> {
        let to: Option<String> = r.try_get("addressees")?;
        let to = to
            .unwrap_or_default()
            .split_whitespace()
            .map(|a| a.parse().map_err(|_| StoreError::Corrupt("id")))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            to,
            needs_reply: r.try_get::<i64, _>("needs_reply")? != 0,
            reply_to: opt_id(r, "reply_to")?,
            origin: opt_id(r, "origin")?,
            answers: opt_id(r, "answers")?,
        })
    }
}

impl EntryRow {
    pub(super) fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: id(r, "id")?,
            child_id: id(r, "child_id")?,
            seq: r.try_get("seq")?,
            author_id: id(r, "author_id")?,
            author_name: name(r, "author_name", "author_sealed")?,
            category: r.try_get("category")?,
            kind: word(r, "kind")?,
            body: r.try_get("body")?,
            revision: r.try_get("revision")?,
            supersedes: opt_id(r, "supersedes")?,
            client_id: r.try_get("client_id")?,
            created_at: r.try_get("created_at")?,
            first_created_at: r.try_get("first_created_at")?,
            consent_version: r.try_get("consent_version")?,
            thread: Thread::decode(r)?,
        })
    }
}

/// An entry to insert; `seq` is assigned by the store.
pub struct NewEntry {
    pub id: EntryId,
    pub child_id: ChildId,
    pub author_id: AccountId,
    pub category: i64,
    pub kind: EntryKind,
    pub body: Vec<u8>,
    pub revision: i64,
    pub supersedes: Option<EntryId>,
    pub client_id: String,
    pub created_at: i64,
    /// See [`EntryRow::first_created_at`].
    pub first_created_at: i64,
    /// The attachments its body references (checked to be the child's).
    pub attachments: Vec<AttachmentId>,
    pub thread: Thread,
}

#[derive(Clone, Debug)]
pub struct AccessRow {
    pub at: i64,
    pub account_id: AccountId,
    pub display_name: Name,
    pub action: String,
    pub detail: String,
}

/// A record for the access log.
pub struct NewAccess<'a> {
    pub child_id: ChildId,
    pub account_id: AccountId,
    pub action: &'a str,
    pub detail: String,
    pub at: i64,
}
