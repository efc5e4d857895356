//! Use cases. `Core` holds what they need (store, keys, hub, settings); each
//! file adds the operations of one resource. Access control happens here,
//! through `consent`, never in the HTTP handlers.

mod accounts;
mod admin;
mod attachments;
mod body;
mod calendar;
mod children;
pub mod cluster;
mod committer;
pub mod emergency;
mod entries;
mod erasure;
pub mod frames;
mod handover;
mod limits;
pub mod live;
mod live_reads;
mod measures;
mod member_cache;
mod members;
mod notify;
mod questions;
mod readers;
mod requests;
mod search;
mod security_log;
mod sessions;
mod snapshot;
mod transfer;
mod views;

pub use accounts::{Account, NewAccount, NewOrg, Org, OrgPatch};
pub use admin::{Created, Invitation, ManagedAccount};
pub use attachments::{attachment_gc_loop, AttachmentInfo, Download, UploadBody};
pub use calendar::{CalendarItem, CalendarQuery};
pub use children::{Child, ChildSummary, NewChild};
pub use emergency::{AlertInput, Card, CardInput, CardVersion, Contact, ContactInput};
pub use entries::{AccessRecord, EntryPage, NewEntryInput, Posted, RevisionInput};
pub use erasure::{EraseRequested, Erased, PendingErasure, RetentionDue};
pub use handover::{
    Handover, HandoverApproval, LeaverHandovers, NewHandover, OpenedAll, PendingHandover,
};
pub use members::{Member, MemberPatch, NewMember};
pub use notify::{entry_push_loop, NotifyInput, NotifySettings};
pub use readers::Reader;
pub use requests::PendingRequest;
pub use search::SearchResult;
pub use sessions::{
    session_sweep_loop, AcceptInput, Client, LoginInput, PasswordChange, RecoveryCodes,
    SessionView, TokenPair, TotpEnrollment, TotpStatus, DEVICE_TOKEN_SEPARATOR,
};
pub use snapshot::{ExportedAttachment, Notebook};
pub use views::{Alert, Delivery, Entry};

use std::sync::Arc;
use std::time::Duration;

use crate::auth::throttle::Throttle;
use crate::auth::token::TokenKeys;
use crate::config::TotpPolicy;
use crate::consent;
use crate::crypto::{aad, DataKey, KeyRing};
use crate::error::Result;
use crate::hub::Hub;
use crate::ids::{AccountId, ChildId, OrgId, SessionId, Timestamp};
use crate::store::{AccountRow, Backend, Name, NewAccess, Store, WriteOp};
use crate::vocab::AccountKind;
use security_log::SecurityEvent;

/// Behaviour switches from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub totp_policy: TotpPolicy,
    /// Access token lifetime, seconds.
    pub access_token_ttl: i64,
    pub session_idle_ms: i64,
    pub session_max_age_ms: i64,
    pub invitation_ttl_ms: i64,
    /// From this age the young person may take over consent by asking.
    pub consent_age: u32,
    pub ws_queue: usize,
    /// Bytes queued for one socket (backlog included).
    pub ws_queue_bytes: usize,
    /// Per-account write limits (0: none).
    pub max_posts_per_minute: u32,
    pub max_alerts_per_hour: u32,
    pub max_sockets_per_account: usize,
    /// The `read_live` coalescing window, ms.
    pub live_audit_window_ms: i64,
    /// Where quiet hours are read (`--time-zone`).
    pub time_zone: jiff::tz::TimeZone,
    /// Entry pushes for one child: at most one per this many ms.
    pub entry_push_interval_ms: i64,
    /// One day of a plan review reminder's lead.
    pub reminder_day_ms: i64,
    /// One day of a handover's overlap, ms (tests shorten it).
    pub overlap_day_ms: i64,
    /// The tombstone list of erasures (`keys/erasures`).
    pub erasures_file: std::path::PathBuf,
    /// How long a closed notebook is kept before it is due for erasure, ms.
    pub retention_ms: i64,
    /// The largest attachment, bytes.
    pub max_attachment: u64,
    /// An attachment no entry references is deleted this long after its upload, ms.
    pub attachment_ttl_ms: i64,
}

/// One row of the security log, as administrators read it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SecurityRecord {
    pub id: i64,
    pub at: Timestamp,
    pub event: String,
    pub account_id: Option<String>,
    pub address: Option<String>,
    pub detail: String,
}

/// An authenticated caller: the account and the session its token belongs to.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account: AccountId,
    pub session: SessionId,
    pub kind: AccountKind,
    pub profession: Option<String>,
    pub org_id: Option<OrgId>,
    pub org_admin: bool,
    /// The token is good only for TOTP enrolment.
    pub enrolling: bool,
    /// When the token expires (epoch seconds): sockets close then unless renewed.
    pub token_exp: i64,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.kind == AccountKind::Admin
    }

    /// An account acting outside any session (the demo loader, the CLI).
    pub fn offline(account: &AccountRow) -> Self {
        Self {
            account: account.id,
            session: SessionId::new(),
            kind: account.kind,
            profession: account.profession.clone(),
            org_id: account.org_id,
            org_admin: account.org_admin,
            enrolling: false,
            token_exp: i64::MAX,
        }
    }
}

/// What the use cases share. Its fields are private: outside `domain`, it is
/// driven through methods only.
pub struct Core {
    store: Store,
    keys: KeyRing,
    hub: Arc<Hub>,
    tokens: TokenKeys,
    throttle: Throttle,
    settings: Settings,
    pusher: crate::push::Pusher,
    /// Escalation delay (and re-notification interval) of alerts.
    escalation_delay_ms: i64,
    /// Wakes the escalation scheduler when an alert is raised.
    wake: tokio::sync::Notify,
    /// Background Web Push sends of alerts; drained at shutdown.
    push_tasks: emergency::PushTasks,
    /// Seals server-wide secrets (TOTP seeds); stored age-wrapped like child keys.
    server_key: Arc<DataKey>,
    /// Group commit of posts and access-log records.
    committer: committer::Committer,
    /// Memberships for the posting path's consent check (SQLite only).
    members: member_cache::MemberCache,
    /// Sessions' last activity, written to the database at a coarse step.
    activity: sessions::Activity,
    /// Per-account limits on posts and alerts.
    limits: limits::Limits,
    /// The administrators' security log (batched writes).
    security: security_log::SecurityLog,
    /// JPEGs held whole to strip their metadata, at most this many at once.
    jpeg_permits: tokio::sync::Semaphore,
    /// Committed entries on their way to the entry push loop.
    notes: notify::Notes,
}

impl Core {
    pub async fn new(
        store: Store,
        keys: KeyRing,
        token_key: &[u8],
        throttle: Throttle,
        settings: Settings,
        pusher: crate::push::Pusher,
        escalation_delay_ms: i64,
    ) -> Result<Self> {
        let server_key = match store.get_server_key("server").await? {
            Some(wrapped) => keys.unwrap_key(&wrapped)?,
            None => {
                let key = DataKey::generate();
                let mut w = store.writer().await?;
                w.insert_server_key("server", keys.wrap(&key)?).await?;
                key
            }
        };
        let server_key = Arc::new(server_key);
        let hub = Arc::new(Hub::default());
        let committer = committer::Committer::start(store.clone(), hub.clone(), server_key.clone());
        let members = member_cache::MemberCache::new(store.backend() == Backend::Sqlite);
        let activity = sessions::Activity::new(settings.session_idle_ms);
        let limits =
            limits::Limits::new(settings.max_posts_per_minute, settings.max_alerts_per_hour);
        let security = security_log::SecurityLog::start(store.clone());
        Ok(Self {
            security,
            limits,
            activity,
            members,
            store,
            keys,
            hub,
            committer,
            tokens: TokenKeys::new(token_key),
            throttle,
            settings,
            pusher,
            escalation_delay_ms,
            wake: tokio::sync::Notify::new(),
            push_tasks: emergency::PushTasks::default(),
            server_key,
            jpeg_permits: tokio::sync::Semaphore::new(attachments::JPEG_AT_ONCE),
            notes: notify::Notes::default(),
        })
    }

    /// `GET /readyz`: whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Whether the database holds no account yet (the demo loads only then).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.store.count_accounts().await? == 0)
    }

    /// `GET /push/vapid-public-key`: the key browsers subscribe with.
    pub fn vapid_public_key(&self) -> &str {
        self.pusher.public_key()
    }

    /// Shutdown: asks every open socket to close with `code`.
    pub fn close_all_sockets(&self, code: u16) {
        self.hub.close_all(code);
    }

    /// Sockets still registered (shutdown waits for their close frames).
    pub fn open_sockets(&self) -> usize {
        self.hub.connection_count()
    }

    /// The last step of a shutdown: the push sends, then the database. With
    /// requests and escalation steps over, no send starts any more; the
    /// wait is bounded below the sends' own 10 s timeout, so that an
    /// unresponsive push service does not hold the exit for long.
    pub async fn close(&self) {
        self.push_tasks.drain(Duration::from_secs(5)).await;
        self.store.close().await;
    }

    /// The caller's current membership of `child`, checked (404/403).
    pub async fn member(&self, child: ChildId, account: AccountId) -> Result<consent::Member> {
        let row = self.store.get_membership(child, account).await?;
        consent::Member::check(row, Timestamp::now())
    }

    /// [`Core::member`] for posts: the same check, of the cached row when
    /// there is one (see `member_cache`). Its `last_read_seq` may be behind:
    /// posting does not use it.
    pub(super) async fn poster(
        &self,
        child: ChildId,
        account: AccountId,
    ) -> Result<consent::Member> {
        let row = match self.members.get(child, account) {
            Ok(row) => Some(row),
            Err(miss) => {
                let row = self.store.get_membership(child, account).await?;
                if let (Some(miss), Some(row)) = (miss, &row) {
                    self.members.fill(miss, row);
                }
                row
            }
        };
        consent::Member::check(row, Timestamp::now())
    }

    /// Seals the name of a family account (a youth's name is the child's name).
    pub(crate) fn seal_name(
        &self,
        account: AccountId,
        kind: AccountKind,
        name: &str,
    ) -> Result<Name> {
        if kind.is_family() {
            let sealed = self
                .server_key
                .seal(&aad::account_name(account), name.as_bytes())?;
            return Ok(Name {
                clear: String::new(),
                sealed: Some(sealed),
            });
        }
        Ok(Name {
            clear: name.to_owned(),
            sealed: None,
        })
    }

    pub fn name(&self, account: AccountId, n: &Name) -> String {
        views::open_name(&self.server_key, account, n)
    }

    /// Records a read or write in the child's access log (group-committed).
    pub async fn log_access(
        &self,
        child: ChildId,
        account: AccountId,
        action: &'static str,
        detail: String,
    ) -> Result<()> {
        let log = NewAccess {
            child_id: child,
            account_id: account,
            action,
            detail,
            at: Timestamp::now().millis(),
        };
        self.committer.commit(WriteOp::Access(log), None).await?;
        Ok(())
    }

    /// Reports an authentication event to the security log (queued, never
    /// waits; see `security_log`).
    pub(crate) fn security_event(
        &self,
        event: &'static str,
        account: Option<AccountId>,
        address: Option<&str>,
        detail: impl Into<String>,
    ) {
        self.security.record(SecurityEvent {
            event,
            account,
            address: address.map(str::to_owned),
            detail: detail.into(),
        });
    }

    /// A per-account limit's verdict; a refusal goes to the security log.
    pub(crate) fn limited(&self, who: &Principal, verdict: Result<()>, what: &str) -> Result<()> {
        if verdict.is_err() {
            self.security_event("rate_limited", Some(who.account), None, what);
        }
        verdict
    }

    /// `GET /admin/security-log?after&limit` (admins).
    pub async fn security_log(
        &self,
        who: &Principal,
        after: i64,
        limit: Option<i64>,
    ) -> Result<Vec<SecurityRecord>> {
        if !who.is_admin() {
            return Err(crate::error::Error::forbidden(
                "only an administrator may read the security log",
            ));
        }
        let limit = limit.unwrap_or(500).clamp(1, 1000);
        let rows = self.store.list_security(after, limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| SecurityRecord {
                id: r.id,
                at: Timestamp(r.at),
                event: r.event,
                account_id: r.account_id,
                address: r.address,
                detail: r.detail,
            })
            .collect())
    }

    /// Records of one kind by one account on several children, queued
    /// together so that they share a group commit.
    pub(crate) async fn log_accesses(
        &self,
        account: AccountId,
        action: &'static str,
        records: Vec<(ChildId, String)>,
    ) -> Result<()> {
        let at = Timestamp::now().millis();
        let ops = records.into_iter().map(|(child, detail)| {
            WriteOp::Access(NewAccess {
                child_id: child,
                account_id: account,
                action,
                detail,
                at,
            })
        });
        self.committer.commit_all(ops.collect()).await
    }

    /// A request of `who` about `child` was refused (403): recorded as
    /// `denied` when `who` has a membership of that child, in any status
    /// (someone who is, was or asked to be in the notebook's circle). Other
    /// accounts' refusals do not reach the child's log: a stranger could
    /// otherwise fill a family's access log. `what` names the request
    /// (method and route, never ids or bodies). Never fails the request.
    pub async fn note_denied(&self, who: &Principal, child: ChildId, what: String) {
        let known = match self.store.get_membership(child, who.account).await {
            Ok(row) => row.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "checking a refused request's membership");
                return;
            }
        };
        if known {
            if let Err(e) = self.log_access(child, who.account, "denied", what).await {
                tracing::warn!(error = %e, "recording a refused request");
            }
        }
    }
}
