//! The only place with SQL. One query layer over sqlx's `Any` driver so that
//! SQLite (the embedded default) and PostgreSQL share every query: `$n`
//! placeholders, ids and times made in Rust (times as epoch milliseconds),
//! `on conflict`, `returning`. Dialect differences are explicit matches on
//! [`Backend`].
//!
//! Writes go through [`Writer`], one connection at a time: a writer holds
//! the database's single write connection from its transaction's start until
//! the caller has published what it committed, so that live fan-out happens
//! in commit order.
//!
//! # Layout
//! - `error`: [`StoreError`];
//! - `conn`: the read and write connections, [`Writer`];
//! - `wal`: SQLite's checkpoint and WAL-restart policy;
//! - `batch`: group commit;
//! - `chain`: the access log's keyed hash chain, and the one way to append to it;
//! - `verify`: checking every chain, and carrying the old SHA-256 chains over;
//! - a file per aggregate: `accounts`, `sessions` (and invitations),
//!   `children`, `entries`, `cards` (the emergency card's versions), `emergency`,
//!   `handovers`, `notify` (push settings per membership), `questions` (answered or not, done marks, inboxes), `reminders` (plan reviews; dated entries), `attachments` (their rows, the entries referencing them,
//!   their sealed chunks: files on SQLite, rows on PostgreSQL), `keys` (the
//!   wrapped data keys, for rotating the master key),
//!   `cluster` (notifications between nodes), `security` (the admins'
//!   security log), `snapshot` (the online copy `renraku backup` takes of a
//!   SQLite database), and `rows` (their types).

mod accounts;
mod attachments;
mod batch;
mod cards;
mod chain;
mod children;
mod cluster;
mod conn;
mod emergency;
mod entries;
mod erasure;
mod error;
mod handovers;
mod keys;
mod notify;
mod questions;
mod reminders;
mod rows;
mod security;
mod sessions;
mod snapshot;
pub mod tombstones;
mod verify;
mod wal;

pub use accounts::ManagedRow;
pub use attachments::{AttachmentRow, ChunkReader, Upload};
pub use batch::{HeadCache, WriteOp, Written};
pub use cards::CardRow;
pub use chain::ChainKey;
pub use cluster::ClusterMsg;
pub use conn::Writer;
pub use emergency::{AlertRow, ContactRow, DeliveryRow, Notified, PushSubRow};
pub use entries::Visibility;
pub use erasure::{ChildState, ClosedRow, ErasureRow};
pub use error::{StoreError, StoreResult};
pub use handovers::{HandoverDecision, HandoverRow};
pub use keys::KeyHolder;
pub use notify::NotifyRow;
pub use reminders::ReminderRow;
pub use rows::*;
pub use security::{NewSecurityEvent, SecurityRow};
pub use sessions::NewInvitation;
pub use snapshot::snapshot_sqlite;

use conn::{Read, Write, ACQUIRE_TIMEOUT, READERS};
use error::conflict;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Executor, Row};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use wal::{checkpoint_loop, WRITER_PRAGMAS};

/// `$a, $b, …` for `n` parameters starting after `from` (multi-row
/// statements of the batch and of the chain's head read).
fn params(from: usize, n: usize) -> String {
    (from + 1..=from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    read: Read,
    write: Write,
    /// For the cluster listener (PostgreSQL).
    url: String,
    /// This process's id in cluster notifications, to skip its own.
    node: String,
    /// The access log's chain key (from the data dir, never stored here).
    chain_key: Arc<ChainKey>,
    /// The data dir: attachment files (SQLite) and uploads in progress.
    data_dir: Arc<std::path::PathBuf>,
    /// PostgreSQL: the connections that store attachments' chunks, apart
    /// from the writer and the readers (an upload's transaction is long).
    blobs: Option<sqlx::AnyPool>,
}

/// `temp_store = memory`: statement journals (a multi-row statement inside
/// a transaction keeps one, to undo itself alone) stay in memory; on disk
/// each commit created, wrote and unlinked a temporary file.
const SQLITE_PRAGMAS: &str = "pragma journal_mode = wal; pragma synchronous = full; \
     pragma foreign_keys = on; pragma busy_timeout = 10000; pragma temp_store = memory;";

/// PostgreSQL connections for storing attachments (uploads past it wait).
const BLOB_CONNECTIONS: u32 = 4;

fn pool_options(backend: Backend, max: u32, writer: bool) -> AnyPoolOptions {
    let opts = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    match backend {
        // synchronous is per connection: every connection gets the pragmas.
        // An embedded file does not go stale: no ping before each use (it
        // would be one more trip to the connection's worker thread).
        Backend::Sqlite => opts
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    if writer {
                        conn.execute(WRITER_PRAGMAS).await?;
                    }
                    Ok(())
                })
            }),
        Backend::Postgres => opts,
    }
}

impl Store {
    /// Connects (creating the SQLite file if needed), migrates and asserts
    /// durability settings. `url` selects PostgreSQL (`postgres://...`);
    /// the default is SQLite in the data dir.
    pub async fn open(
        data_dir: &Path,
        url: Option<&str>,
        chain_key: ChainKey,
    ) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let url = match url {
            Some(u) => u.to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("renraku.db").display()
            ),
        };
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let opts = AnyConnectOptions::from_str(&url)?;
        // One write connection: it orders commits and their fan-out (SQLite
        // has a single writer anyway).
        let write = pool_options(backend, 1, true)
            .connect_with(opts.clone())
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&write).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&write).await?,
        }
        let write = match backend {
            Backend::Sqlite => {
                let conn = write.acquire().await?.detach();
                write.close().await;
                Write::Owned {
                    slot: Arc::new(tokio::sync::Mutex::new(Some(conn))),
                    taken: Arc::default(),
                }
            }
            Backend::Postgres => Write::Pool(write),
        };
        let read = pool_options(backend, READERS, false)
            .connect_with(opts.clone())
            .await?;
        let read = match backend {
            Backend::Sqlite => {
                let mut slots = Vec::with_capacity(READERS as usize);
                for _ in 0..READERS {
                    let conn = read.acquire().await?.detach();
                    slots.push(Arc::new(tokio::sync::Mutex::new(Some(conn))));
                }
                read.close().await;
                Read::Owned {
                    slots: slots.into(),
                    permits: Arc::new(tokio::sync::Semaphore::new(READERS as usize)),
                }
            }
            Backend::Postgres => Read::Pool(read),
        };
        if let (Read::Owned { .. }, Write::Owned { slot, taken }) = (&read, &write) {
            tokio::spawn(checkpoint_loop(read.clone(), slot.clone(), taken.clone()));
        }
        let blobs = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                Some(pool_options(backend, BLOB_CONNECTIONS, false).connect_lazy_with(opts))
            }
        };
        let node = uuid::Uuid::new_v4().to_string();
        let store = Self {
            data_dir: Arc::new(data_dir.to_path_buf()),
            blobs,
            backend,
            read,
            write,
            url,
            node,
            chain_key: Arc::new(chain_key),
        };
        store.assert_durable().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Refuses to run unless every commit is durable.
    async fn assert_durable(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => self.assert_sqlite_durable().await,
            Backend::Postgres => self.assert_postgres_durable().await,
        }
    }

    /// SQLite: WAL with synchronous FULL, on every connection.
    async fn assert_sqlite_durable(&self) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut reader = self.reader().await?;
        for conn in [&mut *writer.conn, &mut *reader] {
            let mode: String = sqlx::query("pragma journal_mode")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            let sync: i64 = sqlx::query("pragma synchronous")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if !mode.eq_ignore_ascii_case("wal") || sync != 2 {
                return Err(StoreError::Unsafe(format!(
                    "SQLite must run with journal_mode=wal and synchronous=full (got {mode}, {sync})"
                )));
            }
        }
        Ok(())
    }

    /// PostgreSQL: fsync, synchronous_commit and full_page_writes on.
    async fn assert_postgres_durable(&self) -> StoreResult<()> {
        let mut conn = self.writer().await?.conn;
        for (setting, allowed) in [
            ("fsync", &["on"][..]),
            (
                "synchronous_commit",
                &["on", "local", "remote_write", "remote_apply"][..],
            ),
            ("full_page_writes", &["on"][..]),
        ] {
            let value: String = sqlx::query(&format!("show {setting}"))
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if !allowed.contains(&value.as_str()) {
                return Err(StoreError::Unsafe(format!(
                    "PostgreSQL must run with {setting} on (it is {value}): \
                     acknowledged posts could be lost in a crash"
                )));
            }
        }
        Ok(())
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(())
    }
}
