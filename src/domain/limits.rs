//! Per-account limits on writes: posts (a bucket that refills
//! continuously) and alerts (per child), in memory, per node. A limit of 0
//! turns it off (load tests). Past a limit the caller is told when to try
//! again.
//!
//! Why 10 alerts an hour per child and account cannot stop a real
//! emergency: one alert already reaches every tier-1 contact at once and
//! escalates by itself until someone answers; a second person's alert is
//! counted on their own account; and ten is more than any emergency in the
//! demo's practice guide needs from one person. What it stops is one
//! account paging a family every few seconds.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId};

/// Buckets kept before full ones are dropped (a full bucket is the same as none).
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets of `capacity`, refilled at `capacity` per `period_secs`.
struct Buckets<K> {
    capacity: f64,
    per_sec: f64,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(capacity: u32, period_secs: f64) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_sec: f64::from(capacity) / period_secs,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says in how many seconds one is back.
    fn take(&self, key: K) -> Result<()> {
        if self.capacity == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_BUCKETS {
            let (capacity, per_sec) = (self.capacity, self.per_sec);
            map.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < capacity
            });
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_sec).min(self.capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - b.tokens) / self.per_sec).ceil();
        Err(Error::RateLimited {
            retry_after: wait.clamp(1.0, 86_400.0) as u64,
        })
    }
}

pub struct Limits {
    posts: Buckets<AccountId>,
    alerts: Buckets<(AccountId, ChildId)>,
}

impl Limits {
    pub fn new(posts_per_minute: u32, alerts_per_hour: u32) -> Self {
        Self {
            posts: Buckets::new(posts_per_minute, 60.0),
            alerts: Buckets::new(alerts_per_hour, 3600.0),
        }
    }

    /// One post or revision by `account`.
    pub fn post(&self, account: AccountId) -> Result<()> {
        self.posts.take(account)
    }

    /// One alert by `account` about `child`.
    pub fn alert(&self, account: AccountId, child: ChildId) -> Result<()> {
        self.alerts.take((account, child))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn a_bucket_empties_then_says_when_to_retry() {
        let b = Buckets::new(3, 60.0);
        let a = AccountId::new();
        for _ in 0..3 {
            assert!(b.take(a).is_ok());
        }
        match b.take(a) {
            Err(Error::RateLimited { retry_after }) => assert!((1..=20).contains(&retry_after)),
            other => panic!("expected rate_limited, got {other:?}"),
        }
        // Another account has its own bucket; 0 turns the limit off.
        assert!(b.take(AccountId::new()).is_ok());
        let off = Buckets::new(0, 60.0);
        for _ in 0..1000 {
            assert!(off.take(a).is_ok());
        }
    }
}
