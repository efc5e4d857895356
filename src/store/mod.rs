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
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// `taken` counts its uses, so that an idle store is not checkpointed.
    Owned { slot: Slot, taken: Arc<AtomicU64> },
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
    Owned {
        slots: Arc<[Slot]>,
        /// One permit per slot, so a permit always finds a free slot;
        /// closed when the store closes.
        permits: Arc<tokio::sync::Semaphore>,
    },
    /// PostgreSQL: a pool, which reconnects after a restart or failover.
    Pool(AnyPool),
}

/// A connection held outside any pool; `None` once the store is closed.
type Slot = Arc<tokio::sync::Mutex<Option<AnyConnection>>>;

/// One read connection, free again when dropped (without a trip to its
/// worker thread).
pub(crate) struct ReadConn {
    // Declared first, so it is unlocked before the permit is released.
    conn: HeldConn,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::ops::Deref for ReadConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Read {
    async fn get(&self) -> StoreResult<ReadConn> {
        match self {
            Self::Owned { slots, permits } => {
                let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, permits.clone().acquire_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                let guard = slots
                    .iter()
                    .find_map(|slot| slot.clone().try_lock_owned().ok())
                    .ok_or(sqlx::Error::PoolClosed)?;
                Ok(ReadConn {
                    conn: held(guard)?,
                    _permit: Some(permit),
                })
            }
            Self::Pool(pool) => Ok(ReadConn {
                conn: HeldConn::Pooled(pool.acquire().await?),
                _permit: None,
            }),
        }
    }

    async fn close(&self) {
        match self {
            Self::Owned { slots, permits } => {
                permits.close();
                for slot in slots.iter() {
                    close_slot(slot, "a read connection").await;
                }
            }
            Self::Pool(pool) => pool.close().await,
        }
    }
}

/// The connection of a locked slot; `PoolClosed` once the store is closed.
fn held(guard: tokio::sync::OwnedMutexGuard<Option<AnyConnection>>) -> StoreResult<HeldConn> {
    let conn = tokio::sync::OwnedMutexGuard::try_map(guard, Option::as_mut)
        .map_err(|_| sqlx::Error::PoolClosed)?;
    Ok(HeldConn::Owned(conn))
}

/// Closes a slot's connection, after its current user, if any, is done.
async fn close_slot(slot: &Slot, what: &str) {
    if let Some(conn) = slot.lock().await.take() {
        if let Err(e) = sqlx::Connection::close(conn).await {
            tracing::warn!(error = %e, "closing {what}");
        }
    }
}

/// Exclusive use of the write connection; see the module docs.
pub struct Writer {
    conn: HeldConn,
    backend: Backend,
    node: String,
}

/// A connection in use: an owned one (SQLite) or one from a pool.
enum HeldConn {
    Owned(OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>),
    Pooled(PoolConnection<Any>),
}

impl std::ops::Deref for HeldConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Owned(c) => c,
            Self::Pooled(c) => c,
        }
    }
}

impl std::ops::DerefMut for HeldConn {
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
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Uses of the writer in a round (100 ms) that make it a busy one.
const BUSY_WRITES: u64 = 32;
/// How often a store that writes a little is checkpointed.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(500);
/// WAL frames (of 4 KiB) past which [`checkpoint_loop`] restarts the WAL.
const RESTART_AT: i64 = 1024;
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
/// writer.
///
/// Once the WAL holds [`RESTART_AT`] frames, the write connection finishes
/// the job: it copies the few frames committed since (under load, one or
/// two batches), so that its next commit finds the WAL fully copied and
/// starts writing it from the top again. A WAL that is never restarted
/// grows for as long as commits keep coming (every commit appends to the
/// end of a larger file, and the fsync must also record the new size);
/// one that restarts is overwritten in place, in the page cache, and its
/// fsync is cheaper (BENCHMARKS.md, "WAL restarts").
///
/// The commit that restarts the WAL writes a new WAL header and fsyncs it
/// before its own frames: two fsyncs instead of one. So whenever a
/// checkpoint has copied the whole WAL and the writer is free, this loop
/// restarts it at once with a write of its own ([`restart_wal`]), and the
/// next post does not pay for it (at 10 posts/s, one post in five did).
/// Ends when the store is closed.
async fn checkpoint_loop(read: Read, write: Slot, taken: Arc<AtomicU64>) {
    let (mut seen, mut last) = (0, tokio::time::Instant::now());
    // `user_version` as first read; only `restart_wal` writes it.
    let mut version = None;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        // Every round under load; after a few writes, every few rounds;
        // never when nothing was written.
        let now = taken.load(Ordering::Relaxed);
        let busy = now - seen >= BUSY_WRITES;
        if now == seen || !busy && last.elapsed() < CHECKPOINT_IDLE {
            continue;
        }
        (seen, last) = (now, tokio::time::Instant::now());
        let mut conn = match read.get().await {
            Ok(c) => c,
            // Closed (or every connection busy for seconds: try again later).
            Err(StoreError::Sqlx(sqlx::Error::PoolClosed)) => return,
            Err(_) => continue,
        };
        let wal = match checkpoint(&mut conn).await {
            Ok(wal) => wal,
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoints remain");
                continue;
            }
        };
        drop(conn);
        if wal.frames >= RESTART_AT {
            let mut guard = write.lock().await;
            let Some(w) = guard.as_mut() else { return };
            match checkpoint(w).await {
                Ok(wal) if wal.all_copied() => restart_wal(w, &mut version).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint on the write connection failed")
                }
            }
        } else if wal.all_copied() {
            // A batch in flight would restart it itself; a free writer
            // does it now, between posts.
            if let Ok(mut guard) = write.try_lock() {
                let Some(w) = guard.as_mut() else { return };
                restart_wal(w, &mut version).await;
            }
        }
    }
}

/// What a checkpoint left: frames in the WAL, and how many of them are now
/// in the database file.
struct Wal {
    frames: i64,
    copied: i64,
}

impl Wal {
    /// The next write transaction starts the WAL over (unless a reader
    /// still holds a snapshot that needs it).
    fn all_copied(&self) -> bool {
        self.frames > 0 && self.copied == self.frames
    }
}

/// A PASSIVE checkpoint.
async fn checkpoint(conn: &mut AnyConnection) -> StoreResult<Wal> {
    let row = sqlx::query("pragma wal_checkpoint(passive)")
        .fetch_one(conn)
        .await?;
    // busy, frames in the WAL, frames copied
    Ok(Wal {
        frames: row.try_get(1)?,
        copied: row.try_get(2)?,
    })
}

/// The smallest write there is, so that SQLite starts the fully copied WAL
/// over now (new header, fsynced) rather than in the next post's commit:
/// it rewrites the database header's `user_version` with its own value
/// (Renraku does not use it; migrations are in `_sqlx_migrations`), read
/// once into `version`.
async fn restart_wal(conn: &mut AnyConnection, version: &mut Option<i64>) {
    let rewrite = async {
        let v = match *version {
            Some(v) => v,
            None => {
                let v: i64 = sqlx::query("pragma user_version")
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                *version = Some(v);
                v
            }
        };
        conn.execute(format!("pragma user_version = {v}").as_str())
            .await?;
        StoreResult::Ok(())
    };
    match rewrite.await {
        Ok(()) => tracing::debug!("WAL restarted between commits"),
        Err(e) => {
            tracing::warn!(error = %e, "restarting the WAL between commits failed; the next commit does it")
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
                Write::Owned {
                    slot: Arc::new(tokio::sync::Mutex::new(Some(conn))),
                    taken: Arc::default(),
                }
            }
            Backend::Postgres => Write::Pool(write),
        };
        let read = pool_options(backend, READERS, false)
            .connect_with(opts)
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
            Write::Owned { slot, taken } => {
                // As long as the pool's acquire would wait (and then fail
                // as unavailable, never hang).
                let guard = tokio::time::timeout(ACQUIRE_TIMEOUT, slot.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                taken.fetch_add(1, Ordering::Relaxed);
                held(guard)?
            }
            Write::Pool(pool) => HeldConn::Pooled(pool.acquire().await?),
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
            Write::Owned { slot, .. } => close_slot(slot, "the write connection").await,
            Write::Pool(pool) => pool.close().await,
        }
        self.read.close().await;
    }
}
