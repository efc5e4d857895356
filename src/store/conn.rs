//! The connections: the single write connection ([`Writer`]) and the read
//! connections, held outside any pool on SQLite and pooled on PostgreSQL,
//! and how a store hands them out and closes them.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedMappedMutexGuard;

use super::{Backend, Store, StoreResult};

pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections (a pool's maximum on PostgreSQL).
pub(super) const READERS: u32 = 8;

/// The single write connection.
#[derive(Clone)]
pub(super) enum Write {
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
pub(super) enum Read {
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
pub(super) type Slot = Arc<tokio::sync::Mutex<Option<AnyConnection>>>;

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
    pub(super) async fn get(&self) -> StoreResult<ReadConn> {
        let started = std::time::Instant::now();
        let conn = self.acquire().await;
        metrics::histogram!("renraku_db_acquire_seconds", "conn" => "read")
            .record(started.elapsed());
        conn
    }

    async fn acquire(&self) -> StoreResult<ReadConn> {
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

    pub(super) async fn close(&self) {
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
    pub(super) conn: HeldConn,
    pub(super) backend: Backend,
    pub(super) node: String,
    pub(super) key: Arc<super::ChainKey>,
}

/// A connection in use: an owned one (SQLite) or one from a pool.
pub(super) enum HeldConn {
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

impl Store {
    pub async fn writer(&self) -> StoreResult<Writer> {
        let started = std::time::Instant::now();
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
        metrics::histogram!("renraku_db_acquire_seconds", "conn" => "write")
            .record(started.elapsed());
        Ok(Writer {
            conn,
            backend: self.backend,
            node: self.node.clone(),
            key: self.chain_key.clone(),
        })
    }

    /// A read connection.
    pub(crate) async fn reader(&self) -> StoreResult<ReadConn> {
        self.read.get().await
    }

    pub async fn close(&self) {
        match &self.write {
            // After the writer in progress, if any, has finished.
            Write::Owned { slot, .. } => close_slot(slot, "the write connection").await,
            Write::Pool(pool) => pool.close().await,
        }
        self.read.close().await;
        if let Some(blobs) = &self.blobs {
            blobs.close().await;
        }
    }
}
