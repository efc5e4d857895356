//! SQLite's WAL policy: checkpoints off the commit path, and a WAL that is
//! started over between commits rather than inside one.

use sqlx::{AnyConnection, Executor, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::conn::{Read, Slot};
use super::{StoreError, StoreResult};

/// The writer checkpoints by itself only past this many WAL pages (a
/// backstop); normally [`checkpoint_loop`] does it off the commit path.
pub(super) const WRITER_PRAGMAS: &str = "pragma wal_autocheckpoint = 16000;";
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Uses of the writer in a round (100 ms) that make it a busy one.
const BUSY_WRITES: u64 = 32;
/// How often a store that writes a little is checkpointed.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(500);
/// WAL frames (of 4 KiB) past which [`checkpoint_loop`] restarts the WAL.
const RESTART_AT: i64 = 1024;

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
pub(super) async fn checkpoint_loop(read: Read, write: Slot, taken: Arc<AtomicU64>) {
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
