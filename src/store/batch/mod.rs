//! Group commit: many posts and access-log records in one durable
//! transaction. The statements per batch do not grow with its size (one
//! sequence update that locks the children and reads each one's hash-chain
//! head, on PostgreSQL with a second statement, see `store/chain.rs`; one
//! multi-row insert per table), so a batch of fifty costs little more than a
//! batch of one: the fsync is shared.
//!
//! On SQLite each statement is a trip to the connection's worker thread and
//! back (two thread wake-ups), so a batch is sent as statement lists. sqlx
//! 0.8 runs such a list in one call and stops at the first error; any error
//! then rolls back explicitly, since sqlx does not see a transaction begun
//! in SQL.
//! - The committer remembers each child's head (last seq, last access-log
//!   hash) from its own commits ([`HeadCache`]). When it knows every child
//!   of a batch, the batch is one list: `begin immediate; update … ;
//!   insert …; commit`, where the update checks the remembered heads and
//!   fails the list (a NOT NULL violation) if another writer moved one.
//! - Otherwise, or after such a failure, it is two lists: `begin immediate;
//!   update … returning` the heads, then the inserts and `commit`.
//!
//! # Layout
//! - `plan`: the ops, the heads (read or remembered) and the plan made from them;
//! - `sql`: statement text and binders;
//! - `sqlite`, `postgres`: each backend's execution.

mod plan;
mod postgres;
mod sql;
mod sqlite;

pub use plan::{HeadCache, WriteOp, Written};

use super::{Backend, StoreError, StoreResult, Writer};

impl Writer {
    /// Commits every op of `ops` in one transaction, or none of them (the
    /// caller then retries them one by one, so one bad op fails alone).
    pub async fn commit_batch(
        &mut self,
        ops: &[WriteOp],
        cache: &mut HeadCache,
    ) -> StoreResult<Vec<Written>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        // Replays are rare: first try without looking for them (one statement
        // less); an insert that meets an earlier post rolls back and the batch
        // runs again with the lookup.
        if let Some(out) = self.try_batch(ops, false, cache).await? {
            return Ok(out);
        }
        self.try_batch(ops, true, cache)
            .await?
            .ok_or(StoreError::Conflict)
    }

    /// One attempt; `None` (rolled back) if an entry was already stored and
    /// `lookup` was off.
    async fn try_batch(
        &mut self,
        ops: &[WriteOp],
        lookup: bool,
        cache: &mut HeadCache,
    ) -> StoreResult<Option<Vec<Written>>> {
        match self.backend {
            Backend::Sqlite => {
                let conn = &mut *self.conn;
                let r = sqlite::batch(conn, ops, lookup, cache, &self.key).await;
                if !matches!(r, Ok(Some(_))) {
                    sqlite::rollback(conn).await;
                    cache.forget(ops);
                }
                r
            }
            Backend::Postgres => {
                postgres::batch(&mut self.conn, &self.node, ops, lookup, &self.key).await
            }
        }
    }
}
