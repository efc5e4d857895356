//! Failed-login throttling per account and per client address, in memory.
//! Only failures count, so a load test logging in thousands of accounts from
//! one address is not throttled.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Bound on tracked keys, so a flood of distinct logins cannot grow memory without limit.
const MAX_KEYS: usize = 100_000;

pub struct Throttle {
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            per_account: per_account as usize,
            per_address: per_address as usize,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(login: &str, addr: &str) -> [String; 2] {
        [format!("a:{login}"), format!("ip:{addr}")]
    }

    /// When either the account or the address has too many recent
    /// failures: the seconds until one of them leaves the window.
    pub fn blocked_for(&self, login: &str, addr: &str) -> Option<u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Some(WINDOW.as_secs());
        };
        let now = Instant::now();
        let [a, ip] = Self::keys(login, addr);
        let mut wait = |k: &str, limit: usize| {
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
        let account = wait(&a, self.per_account);
        let address = wait(&ip, self.per_address);
        account.max(address)
    }

    pub fn record_failure(&self, login: &str, addr: &str) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() > MAX_KEYS {
            let now = Instant::now();
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        for k in Self::keys(login, addr) {
            let q = map.entry(k).or_default();
            q.push_back(Instant::now());
            while q.len() > 1000 {
                q.pop_front();
            }
        }
    }

    pub fn clear_account(&self, login: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&format!("a:{login}"));
        }
    }
}
