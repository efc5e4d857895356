//! Failed-login throttling per account and per client address, in memory.
//! Only failures count, so a load test logging in thousands of accounts from
//! one address is not throttled. Keys are hashes of fixed size (a login of
//! any length costs the same), and the table is bounded: when it is full,
//! the tenth of it whose last failure is oldest goes.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Bound on tracked keys, so a flood of distinct logins cannot grow memory without limit.
const MAX_KEYS: usize = 100_000;

/// A login or an address, hashed with what it is (16 bytes of SHA-256).
type Key = [u8; 16];

fn key(what: u8, text: &str) -> Key {
    let mut h = Sha256::new();
    h.update([what]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

/// Failures kept per key: more than any limit needs.
const MAX_PER_KEY: usize = 1000;

pub struct Throttle {
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            per_account: per_account as usize,
            per_address: per_address as usize,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(login: &str, addr: &str) -> [Key; 2] {
        [key(b'a', login), key(b'i', addr)]
    }

    /// When either the account or the address has too many recent
    /// failures: the seconds until one of them leaves the window.
    pub fn blocked_for(&self, login: &str, addr: &str) -> Option<u64> {
        self.blocked(login, addr, false)
    }

    /// As [`Throttle::blocked_for`], for a caller whose device token proves
    /// it logged in to this account before: only the address counts.
    pub fn blocked_for_device(&self, login: &str, addr: &str) -> Option<u64> {
        self.blocked(login, addr, true)
    }

    fn blocked(&self, login: &str, addr: &str, exempt_account: bool) -> Option<u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Some(WINDOW.as_secs());
        };
        let now = Instant::now();
        let [a, ip] = Self::keys(login, addr);
        let mut wait = |k: &Key, limit: usize| {
            let q = map.get_mut(k)?;
            while q.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
                q.pop_front();
            }
            if q.len() < limit {
                return None;
            }
            // The failure that must leave for the count to drop under the limit.
            let t = q.get(q.len() - limit)?;
            Some(
                WINDOW
                    .saturating_sub(now.duration_since(*t))
                    .as_secs()
                    .max(1),
            )
        };
        let account = if exempt_account {
            None
        } else {
            wait(&a, self.per_account)
        };
        let address = wait(&ip, self.per_address);
        account.max(address)
    }

    pub fn record_failure(&self, login: &str, addr: &str) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        if map.len() >= MAX_KEYS {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        if map.len() >= MAX_KEYS {
            // Still full within the window (a flood of distinct logins):
            // the tenth with the oldest last failure goes.
            let mut last: Vec<(Instant, Key)> = map
                .iter()
                .filter_map(|(k, q)| q.back().map(|t| (*t, *k)))
                .collect();
            let cut = MAX_KEYS / 10;
            last.select_nth_unstable_by_key(cut, |(t, _)| *t);
            for (_, k) in &last[..cut] {
                map.remove(k);
            }
        }
        for k in Self::keys(login, addr) {
            let q = map.entry(k).or_default();
            q.push_back(now);
            while q.len() > MAX_PER_KEY {
                q.pop_front();
            }
        }
    }

    pub fn clear_account(&self, login: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&key(b'a', login));
        }
    }

    /// Keys tracked (for tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.failures.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_size_and_the_table_is_bounded() {
        let t = Throttle::new(3, 1_000_000);
        let huge = "x".repeat(100_000);
        for _ in 0..3 {
            t.record_failure(&huge, "192.0.2.1");
        }
        assert!(t.blocked_for(&huge, "192.0.2.9").is_some());
        assert!(t.blocked_for("someone.else", "192.0.2.9").is_none());
        t.clear_account(&huge);
        assert!(t.blocked_for(&huge, "192.0.2.9").is_none());
        for i in 0..(MAX_KEYS + 10) {
            t.record_failure(&format!("flood-{i}"), "192.0.2.1");
        }
        assert!(t.len() <= MAX_KEYS, "{}", t.len());
        // The flooding address is still tracked and blocked.
        let t2 = Throttle::new(5, 3);
        for i in 0..3 {
            t2.record_failure(&format!("x{i}"), "198.51.100.7");
        }
        assert!(t2.blocked_for("anyone", "198.51.100.7").is_some());
    }
}
