//! The administrators' security log: authentication events (logins,
//! failures, sessions ended, password and TOTP changes, invitations,
//! disable/enable/reset, rate-limit hits), never a password, token, code,
//! child data, or a login string that matched no account (it may be a
//! mistyped password).
//!
//! A flood of bad logins must not become a flood of writes: events go
//! through a bounded queue (when full, they are counted and the count is
//! written instead), a task writes what waits in one statement per flush,
//! at most every [`FLUSH_EVERY`], and repeated failures and rate-limit hits
//! of one key (event, account, address) within a minute are one row for
//! the first and one summary row with their count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::ids::{AccountId, Timestamp};
use crate::store::{NewSecurityEvent, Store};

const QUEUE: usize = 8192;
/// The shortest time between two writes.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Most events taken per flush.
const MAX_BATCH: usize = 8192;
const COALESCE_MS: i64 = 60_000;
/// Coalescing keys remembered at most; beyond, new ones are written as they come.
const MAX_KEYS: usize = 20_000;
/// The events coalesced per key and minute.
const COALESCED: [&str; 2] = ["login_failed", "rate_limited"];

/// One event, as the domain reports it.
pub struct SecurityEvent {
    pub event: &'static str,
    pub account: Option<AccountId>,
    pub address: Option<String>,
    pub detail: String,
}

pub(super) struct SecurityLog {
    tx: mpsc::Sender<NewSecurityEvent>,
    dropped: Arc<AtomicU64>,
}

impl SecurityLog {
    /// Starts the writer task; it writes what is left and ends when the
    /// log is dropped.
    pub(super) fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(rx, store, dropped.clone()));
        Self { tx, dropped }
    }

    /// Queues an event without waiting; a full queue counts it as dropped.
    pub(super) fn record(&self, e: SecurityEvent) {
        let row = NewSecurityEvent {
            at: Timestamp::now().millis(),
            event: e.event,
            account_id: e.account.map(|a| a.to_string()),
            address: e.address,
            detail: e.detail,
        };
        if self.tx.try_send(row).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

type Key = (&'static str, Option<String>, Option<String>);

/// One key's minute: when it started, and the events since its first.
struct Window {
    started: i64,
    more: u64,
    first: NewSecurityEvent,
}

#[derive(Default)]
struct Coalescer {
    windows: HashMap<Key, Window>,
}

impl Coalescer {
    /// The rows to write for these events.
    fn add(&mut self, events: Vec<NewSecurityEvent>, out: &mut Vec<NewSecurityEvent>) {
        for e in events {
            if !COALESCED.contains(&e.event) {
                out.push(e);
                continue;
            }
            let key = (e.event, e.account_id.clone(), e.address.clone());
            match self.windows.get_mut(&key) {
                Some(w) if e.at < w.started + COALESCE_MS => w.more += 1,
                _ => {
                    if let Some(w) = self.windows.remove(&key) {
                        out.extend(summary(w));
                    }
                    if self.windows.len() < MAX_KEYS {
                        let w = Window {
                            started: e.at,
                            more: 0,
                            first: e.clone(),
                        };
                        self.windows.insert(key, w);
                    }
                    out.push(e);
                }
            }
        }
    }

    /// The summaries of the minutes that ended by `now` (all when `now` is `None`).
    fn close(&mut self, now: Option<i64>, out: &mut Vec<NewSecurityEvent>) {
        let ended: Vec<Key> = self
            .windows
            .iter()
            .filter(|(_, w)| now.is_none_or(|n| n >= w.started + COALESCE_MS))
            .map(|(k, _)| k.clone())
            .collect();
        for k in ended {
            if let Some(w) = self.windows.remove(&k) {
                out.extend(summary(w));
            }
        }
    }
}

/// The row that counts a minute's repeats, if there were any.
fn summary(w: Window) -> Option<NewSecurityEvent> {
    (w.more > 0).then(|| NewSecurityEvent {
        at: w.started + COALESCE_MS,
        detail: format!(
            "count={} more in the minute after the first ({})",
            w.more, w.first.detail
        ),
        ..w.first
    })
}

async fn run(mut rx: mpsc::Receiver<NewSecurityEvent>, store: Store, dropped: Arc<AtomicU64>) {
    let mut coalescer = Coalescer::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open = true;
    while open {
        let mut batch = Vec::new();
        tokio::select! {
            e = rx.recv() => match e {
                Some(e) => batch.push(e),
                None => open = false,
            },
            _ = tick.tick() => {}
        }
        if !batch.is_empty() {
            // What arrives meanwhile shares this write.
            tokio::time::sleep(FLUSH_EVERY).await;
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut rows = Vec::new();
        coalescer.add(batch, &mut rows);
        let now = Timestamp::now().millis();
        coalescer.close(open.then_some(now), &mut rows);
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            rows.push(NewSecurityEvent {
                at: now,
                event: "dropped",
                account_id: None,
                address: None,
                detail: format!("count={lost} events dropped: the queue was full"),
            });
        }
        if let Err(e) = store.insert_security(&rows).await {
            tracing::warn!(error = %e, rows = rows.len(), "writing the security log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &'static str, at: i64, addr: &str) -> NewSecurityEvent {
        NewSecurityEvent {
            at,
            event,
            account_id: Some("a".into()),
            address: Some(addr.into()),
            detail: "wrong password".into(),
        }
    }

    #[test]
    fn repeats_of_one_key_within_a_minute_are_one_row_and_a_count() {
        let mut c = Coalescer::default();
        let mut out = Vec::new();
        let burst = (0..500)
            .map(|i| ev("login_failed", i, "10.0.0.1"))
            .collect();
        c.add(burst, &mut out);
        c.add(vec![ev("login", 5, "10.0.0.1")], &mut out);
        c.add(vec![ev("login_failed", 6, "10.0.0.2")], &mut out);
        assert_eq!(out.len(), 3, "first of each key, and the login");
        c.close(Some(59_999), &mut out);
        assert_eq!(out.len(), 3, "the minute is not over");
        c.close(Some(60_000), &mut out);
        assert_eq!(out.len(), 4, "one summary; the other key had no repeats");
        let summary = &out[3];
        assert_eq!(summary.event, "login_failed");
        assert!(
            summary.detail.starts_with("count=499 "),
            "{}",
            summary.detail
        );
        // A new minute of the same key starts with a row of its own.
        c.add(vec![ev("login_failed", 70_000, "10.0.0.1")], &mut out);
        assert_eq!(out.len(), 5);
    }
}
