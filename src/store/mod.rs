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

mod accounts;
mod batch;
mod children;
mod cluster;
mod emergency;
mod entries;
mod rows;

pub use batch::{HeadCache, WriteOp, Written};
pub use cluster::ClusterMsg;
pub use emergency::{AlertRow, ContactRow, DeliveryRow, Notified, PushSubRow};
pub use entries::Visibility;
pub use rows::*;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedMappedMutexGuard;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("not found")]
    NotFound,
    #[error("unique constraint")]
    Conflict,
    /// A remembered head no longer holds (another writer moved it).
    #[error("stale head")]
    Stale,
    #[error("corrupt row: {0}")]
    Corrupt(&'static str),
    #[error("unsafe database settings: {0}")]
    Unsafe(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database could not be reached (restart, failover, network): the
    /// operation did not commit and can be retried.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sqlx(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_),
            ) => true,
            // PostgreSQL: admin shutdown, crash shutdown, cannot connect now,
            // connection failures (classes 57P and 08).
            Self::Sqlx(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
            _ => false,
        }
    }
}

/// Turns a unique violation into `Conflict`, by error kind (SQLite has no constraint names).
fn conflict(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
            return StoreError::Conflict;
        }
    }
    StoreError::Sqlx(e)
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
}

/// The single write connection.
#[derive(Clone)]
enum Write {
    /// SQLite: held outside any pool. An embedded file's connection does
    /// not break, and a pool returns a connection by spawning a task that
    /// pings it first: two more trips to SQLite's worker thread, and the
    /// next writer waits for that task to run (about 0.25 ms a batch).
    Owned(Arc<tokio::sync::Mutex<Option<AnyConnection>>>),
    /// PostgreSQL: a pool of one, which reconnects after a restart or
    /// failover.
    Pool(AnyPool),
}

/// The read connections.
#[derive(Clone)]
enum Read {
    /// SQLite: held outside any pool, for the writer's reason: a pool
    /// pings each connection it gets back, on a spawned task, so every read
    /// cost two trips to SQLite's worker thread instead of one.
    Owned(Arc<ReadConns>),
    /// PostgreSQL: a pool, which reconnects after a restart or failover.
    Pool(AnyPool),
}

struct ReadConns {
    idle: std::sync::Mutex<Vec<AnyConnection>>,
    /// One permit per connection; closed when the store closes.
    permits: Arc<tokio::sync::Semaphore>,
}

/// One read connection, returned (without a trip to its worker) when dropped.
pub(crate) struct ReadConn {
    conn: Option<AnyConnection>,
    home: ReadHome,
}

enum ReadHome {
    Owned(Arc<ReadConns>, tokio::sync::OwnedSemaphorePermit),
    Pooled(PoolConnection<Any>),
}

impl std::ops::Deref for ReadConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match (&self.conn, &self.home) {
            (_, ReadHome::Pooled(c)) => c,
            (Some(c), ReadHome::Owned(..)) => c,
            // `conn` is taken only in drop.
            (None, ReadHome::Owned(..)) => unreachable!("read connection used after drop"),
        }
    }
}

impl std::ops::DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match (&mut self.conn, &mut self.home) {
            (_, ReadHome::Pooled(c)) => c,
            (Some(c), ReadHome::Owned(..)) => c,
            (None, ReadHome::Owned(..)) => unreachable!("read connection used after drop"),
        }
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let (Some(conn), ReadHome::Owned(conns, _permit)) = (self.conn.take(), &self.home) {
            // After the store closed, the connection closes as it drops.
            if !conns.permits.is_closed() {
                if let Ok(mut idle) = conns.idle.lock() {
                    idle.push(conn);
                }
            }
        }
    }
}

impl Read {
    async fn get(&self) -> StoreResult<ReadConn> {
        match self {
            Self::Owned(conns) => {
                let permit =
                    tokio::time::timeout(ACQUIRE_TIMEOUT, conns.permits.clone().acquire_owned())
                        .await
                        .map_err(|_| sqlx::Error::PoolTimedOut)?
                        .map_err(|_| sqlx::Error::PoolClosed)?;
                let conn = conns
                    .idle
                    .lock()
                    .map_err(|_| sqlx::Error::PoolClosed)?
                    .pop()
                    .ok_or(sqlx::Error::PoolClosed)?;
                Ok(ReadConn {
                    conn: Some(conn),
                    home: ReadHome::Owned(conns.clone(), permit),
                })
            }
            Self::Pool(pool) => Ok(ReadConn {
                conn: None,
                home: ReadHome::Pooled(pool.acquire().await?),
            }),
        }
    }

    async fn close(&self) {
        match self {
            Self::Owned(conns) => {
                conns.permits.close();
                let idle = match conns.idle.lock() {
                    Ok(mut idle) => std::mem::take(&mut *idle),
                    Err(_) => Vec::new(),
                };
                for conn in idle {
                    if let Err(e) = sqlx::Connection::close(conn).await {
                        tracing::warn!(error = %e, "closing a read connection");
                    }
                }
            }
            Self::Pool(pool) => pool.close().await,
        }
    }
}

/// Exclusive use of the write connection; see the module docs.
pub struct Writer {
    conn: WriteConn,
    backend: Backend,
    node: String,
}

enum WriteConn {
    Owned(OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>),
    Pooled(PoolConnection<Any>),
}

impl std::ops::Deref for WriteConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Owned(c) => c,
            Self::Pooled(c) => c,
        }
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Owned(c) => c,
            Self::Pooled(c) => c,
        }
    }
}

/// `temp_store = memory`: statement journals (a multi-row statement inside
/// a transaction keeps one, to undo itself alone) stay in memory; on disk
/// each commit created, wrote and unlinked a temporary file.
const SQLITE_PRAGMAS: &str = "pragma journal_mode = wal; pragma synchronous = full; \
     pragma foreign_keys = on; pragma busy_timeout = 10000; pragma temp_store = memory;";

/// The writer checkpoints by itself only past this many WAL pages (a
/// backstop); normally [`checkpoint_loop`] does it off the commit path.
const WRITER_PRAGMAS: &str = "pragma wal_autocheckpoint = 16000;";
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections (a pool's maximum on PostgreSQL).
const READERS: u32 = 8;

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

/// SQLite: copies the WAL back into the database from a read connection, so
/// that the commit which crosses the autocheckpoint threshold does not pay
/// for it (a latency spike every thousand pages). PASSIVE never blocks the
/// writer. Ends when the store is closed.
async fn checkpoint_loop(read: Read) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let mut conn = match read.get().await {
            Ok(c) => c,
            // Closed (or every connection busy for seconds: try again later).
            Err(StoreError::Sqlx(sqlx::Error::PoolClosed)) => return,
            Err(_) => continue,
        };
        if let Err(e) = sqlx::query("pragma wal_checkpoint(passive)")
            .execute(&mut *conn)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoints remain");
        }
    }
}

impl Store {
    /// Connects (creating the SQLite file if needed), migrates and asserts
    /// durability settings. `url` selects PostgreSQL (`postgres://...`);
    /// the default is SQLite in the data dir.
    pub async fn open(data_dir: &Path, url: Option<&str>) -> StoreResult<Self> {
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
                Write::Owned(Arc::new(tokio::sync::Mutex::new(Some(conn))))
            }
            Backend::Postgres => Write::Pool(write),
        };
        let read = pool_options(backend, READERS, false)
            .min_connections(if backend == Backend::Sqlite {
                READERS
            } else {
                0
            })
            .connect_with(opts)
            .await?;
        let read = match backend {
            Backend::Sqlite => {
                let mut conns = Vec::with_capacity(READERS as usize);
                for _ in 0..READERS {
                    conns.push(read.acquire().await?.detach());
                }
                read.close().await;
                let read = Read::Owned(Arc::new(ReadConns {
                    idle: std::sync::Mutex::new(conns),
                    permits: Arc::new(tokio::sync::Semaphore::new(READERS as usize)),
                }));
                tokio::spawn(checkpoint_loop(read.clone()));
                read
            }
            Backend::Postgres => Read::Pool(read),
        };
        let node = uuid::Uuid::new_v4().to_string();
        let store = Self {
            backend,
            read,
            write,
            url,
            node,
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

    pub async fn writer(&self) -> StoreResult<Writer> {
        let conn = match &self.write {
            Write::Owned(slot) => {
                // As long as the pool's acquire would wait (and then fail
                // as unavailable, never hang).
                let guard = tokio::time::timeout(ACQUIRE_TIMEOUT, slot.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                let conn = tokio::sync::OwnedMutexGuard::try_map(guard, Option::as_mut)
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                WriteConn::Owned(conn)
            }
            Write::Pool(pool) => WriteConn::Pooled(pool.acquire().await?),
        };
        Ok(Writer {
            conn,
            backend: self.backend,
            node: self.node.clone(),
        })
    }

    /// A read connection.
    pub(crate) async fn reader(&self) -> StoreResult<ReadConn> {
        self.read.get().await
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.write {
            // After the writer in progress, if any, has finished.
            Write::Owned(slot) => {
                if let Some(conn) = slot.lock().await.take() {
                    if let Err(e) = sqlx::Connection::close(conn).await {
                        tracing::warn!(error = %e, "closing the write connection");
                    }
                }
            }
            Write::Pool(pool) => pool.close().await,
        }
        self.read.close().await;
    }
}
