//! `read_live` access-log records. What a socket delivers live is noted in
//! memory, per child, as a run of seqs (first and last); a run is closed
//! once its window (a minute by default) has passed since its first
//! delivery, or when the subscription or the socket ends, and becomes one
//! record whose detail is the seq range (`12–15`). Noting a delivery costs
//! a map lookup; the records go to the committer without waiting, so they
//! share its group commits with posts.

use std::collections::HashMap;

use crate::ids::{AccountId, ChildId, Seq};
use crate::store::{NewAccess, WriteOp};

/// When records the committer could not take are tried again, ms.
const RETRY_MS: i64 = 1000;

struct Run {
    first: Seq,
    last: Seq,
    /// The last delivery (epoch ms): the record's time.
    last_at: i64,
    /// When the run closes (epoch ms).
    due: i64,
}

pub(super) struct LiveReads {
    account: AccountId,
    window_ms: i64,
    runs: HashMap<ChildId, Run>,
    /// Closed runs not yet taken by the committer.
    unsent: Vec<WriteOp>,
    /// The earliest `due` of the open runs.
    next_due: Option<i64>,
    retry_at: Option<i64>,
}

impl LiveReads {
    pub(super) fn new(account: AccountId, window_ms: i64) -> Self {
        Self {
            account,
            window_ms: window_ms.max(1),
            runs: HashMap::new(),
            unsent: Vec::new(),
            next_due: None,
            retry_at: None,
        }
    }

    /// Notes that `seq` of `child` was delivered at `now`; true when a run
    /// closed (there are records to send).
    pub(super) fn delivered(&mut self, child: ChildId, seq: Seq, now: i64) -> bool {
        if let Some(run) = self.runs.get_mut(&child) {
            if now < run.due {
                run.last = run.last.max(seq);
                run.last_at = now;
                return false;
            }
        }
        let closed = self.close(child);
        let due = now.saturating_add(self.window_ms);
        self.runs.insert(
            child,
            Run {
                first: seq,
                last: seq,
                last_at: now,
                due,
            },
        );
        self.next_due = Some(self.next_due.map_or(due, |d| d.min(due)));
        closed
    }

    /// When [`LiveReads::take_due`] has something to do.
    pub(super) fn due(&self) -> Option<i64> {
        match (self.next_due, self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Closes the runs due by `now`; the records to send.
    pub(super) fn take_due(&mut self, now: i64) -> Vec<WriteOp> {
        let due: Vec<ChildId> = self
            .runs
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(c, _)| *c)
            .collect();
        for child in due {
            self.close(child);
        }
        self.next_due = self.runs.values().map(|r| r.due).min();
        self.retry_at = None;
        std::mem::take(&mut self.unsent)
    }

    /// Closes `child`'s run (its subscription ended); the records to send.
    pub(super) fn take_child(&mut self, child: ChildId) -> Vec<WriteOp> {
        self.close(child);
        std::mem::take(&mut self.unsent)
    }

    /// Closes every run (the socket ends); the records to send.
    pub(super) fn take_all(&mut self) -> Vec<WriteOp> {
        let children: Vec<ChildId> = self.runs.keys().copied().collect();
        for child in children {
            self.close(child);
        }
        self.next_due = None;
        std::mem::take(&mut self.unsent)
    }

    /// Records the committer's queue had no room for: tried again later.
    pub(super) fn give_back(&mut self, ops: Vec<WriteOp>, now: i64) {
        self.unsent.extend(ops);
        self.retry_at = Some(now.saturating_add(RETRY_MS));
    }

    fn close(&mut self, child: ChildId) -> bool {
        let Some(run) = self.runs.remove(&child) else {
            return false;
        };
        self.unsent.push(WriteOp::Access(NewAccess {
            child_id: child,
            account_id: self.account,
            action: "read_live",
            detail: format!("{}–{}", run.first, run.last),
            at: run.last_at,
        }));
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn details(ops: &[WriteOp]) -> Vec<(ChildId, String, i64)> {
        ops.iter()
            .map(|op| match op {
                WriteOp::Access(a) => {
                    assert_eq!(a.action, "read_live");
                    (a.child_id, a.detail.clone(), a.at)
                }
                _ => panic!("not an access record"),
            })
            .collect()
    }

    #[test]
    fn deliveries_within_a_window_are_one_record_with_their_range() {
        let (a, c) = (AccountId::new(), ChildId::new());
        let mut r = LiveReads::new(a, 60_000);
        assert!(!r.delivered(c, 12, 1_000));
        assert!(!r.delivered(c, 13, 2_000));
        assert!(!r.delivered(c, 15, 30_000));
        assert_eq!(r.due(), Some(61_000));
        assert!(r.take_due(60_999).is_empty());
        let ops = r.take_due(61_000);
        assert_eq!(details(&ops), vec![(c, "12–15".to_owned(), 30_000)]);
        assert_eq!(r.due(), None);
    }

    #[test]
    fn a_delivery_after_the_window_closes_the_run_and_starts_another() {
        let (a, c) = (AccountId::new(), ChildId::new());
        let mut r = LiveReads::new(a, 60_000);
        r.delivered(c, 1, 0);
        assert!(r.delivered(c, 2, 60_000));
        assert_eq!(details(&r.take_due(60_000)), vec![(c, "1–1".to_owned(), 0)]);
        assert_eq!(
            details(&r.take_child(c)),
            vec![(c, "2–2".to_owned(), 60_000)]
        );
        assert!(r.take_all().is_empty());
    }

    #[test]
    fn records_the_committer_refused_are_tried_again() {
        let (a, c, d) = (AccountId::new(), ChildId::new(), ChildId::new());
        let mut r = LiveReads::new(a, 60_000);
        r.delivered(c, 5, 0);
        r.delivered(d, 7, 10);
        let ops = r.take_child(c);
        r.give_back(ops, 100);
        assert_eq!(r.due(), Some(1_100));
        let all = details(&r.take_all());
        assert_eq!(all.len(), 2, "{all:?}");
    }
}
