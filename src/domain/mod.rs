//! Use cases. `Core` holds what they need (store, keys, hub, settings); each
//! file adds the operations of one resource. Access control happens here,
//! through `consent`, never in the HTTP handlers.

mod accounts;
mod body;
mod children;
pub mod cluster;
mod committer;
pub mod emergency;
mod entries;
mod member_cache;
mod members;

pub use accounts::{Account, NewAccount, NewOrg, Org};
pub use body::validate_body;
pub use children::{Child, ChildSummary, NewChild};
pub use emergency::{Alert, AlertInput, Card, CardInput, Contact, ContactInput};
pub use entries::{AccessRecord, Entry, EntryPage, NewEntryInput, Posted, RevisionInput};
pub use members::{Member, MemberPatch, NewMember};

use std::sync::Arc;

use crate::auth::throttle::Throttle;
use crate::auth::token::TokenKeys;
use crate::consent;
use crate::crypto::{aad, DataKey, KeyRing};
use crate::error::Result;
use crate::hub::Hub;
use crate::ids::{AccountId, ChildId, SessionId, Timestamp};
use crate::store::{Backend, Name, NewAccess, Store, WriteOp};

/// Behaviour switches from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub require_totp_for_professionals: bool,
    pub access_token_ttl: i64,
    pub ws_queue: usize,
}

/// An authenticated caller: the account and the session its token belongs to.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account: AccountId,
    pub session: SessionId,
    pub kind: String,
    pub profession: Option<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.kind == "admin"
    }
}

pub struct Core {
    pub store: Store,
    pub keys: KeyRing,
    pub hub: Arc<Hub>,
    pub tokens: TokenKeys,
    pub throttle: Throttle,
    pub settings: Settings,
    pub pusher: crate::push::Pusher,
    /// Escalation delay (and re-notification interval) of alerts.
    pub escalation_delay_ms: i64,
    /// Wakes the escalation scheduler when an alert is raised.
    pub wake: tokio::sync::Notify,
    /// Background Web Push sends of alerts; drained at shutdown.
    pub push_tasks: emergency::PushTasks,
    /// Seals server-wide secrets (TOTP seeds); stored age-wrapped like child keys.
    pub(crate) server_key: Arc<DataKey>,
    /// Group commit of posts and access-log records.
    committer: committer::Committer,
    /// Memberships for the posting path's consent check (SQLite only).
    members: member_cache::MemberCache,
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
        Ok(Self {
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
        })
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
    pub fn seal_name(&self, account: AccountId, kind: &str, name: &str) -> Result<Name> {
        if kind == "guardian" || kind == "youth" {
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
        open_name(&self.server_key, account, n)
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
