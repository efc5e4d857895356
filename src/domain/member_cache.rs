//! Memberships as last read from the database, for the posting path: a
//! post's consent check would otherwise be a trip to a reader connection's
//! thread and back for every post (about a fifth of the server's CPU per
//! post under `fanout-small`, and two thread wake-ups of latency).
//!
//! Only on SQLite, where this process is the only writer: every membership
//! change goes through [`super::Core`], which drops the cached row after its
//! commit and before it answers. On PostgreSQL other nodes change consent,
//! so every check reads the database.
//!
//! A row is cached as stored and checked against the clock at each use, so
//! an expiry takes effect at once. A read that raced a change cannot put the
//! old row back: each change bumps a generation, and a row read before the
//! bump is not stored.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ids::{AccountId, ChildId};
use crate::store::MemberRow;

/// Rows kept at most; beyond, the cache starts over.
const MAX_ROWS: usize = 50_000;

#[derive(Default)]
struct Inner {
    generation: u64,
    rows: HashMap<(ChildId, AccountId), MemberRow>,
}

pub(super) struct MemberCache {
    enabled: bool,
    inner: Mutex<Inner>,
}

/// Where a cache miss starts: fill with the row read after it.
pub(super) struct Miss(u64);

impl MemberCache {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave it inconsistent
        // (every change is one map operation): recover the guard.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached row, or where to fill it from (None: cache disabled).
    pub(super) fn get(
        &self,
        child: ChildId,
        account: AccountId,
    ) -> Result<MemberRow, Option<Miss>> {
        if !self.enabled {
            return Err(None);
        }
        let inner = self.lock();
        match inner.rows.get(&(child, account)) {
            Some(row) => Ok(row.clone()),
            None => Err(Some(Miss(inner.generation))),
        }
    }

    /// Stores a row read after `miss`, unless a change came in between.
    pub(super) fn fill(&self, miss: Miss, row: &MemberRow) {
        let mut inner = self.lock();
        if inner.generation != miss.0 {
            return;
        }
        if inner.rows.len() >= MAX_ROWS {
            inner.rows.clear();
        }
        inner
            .rows
            .insert((row.child_id, row.account_id), row.clone());
    }

    /// Drops one membership (after a committed change).
    pub(super) fn forget(&self, child: ChildId, account: AccountId) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.rows.remove(&(child, account));
    }

    /// Drops everything (after notifications may have been lost).
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.rows.clear();
    }
}
