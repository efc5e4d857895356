//! Live fan-out. Each WebSocket registers once and gets a bounded queue; the
//! hub maps children to subscribed connections and accounts to their
//! connections. Publishing never blocks: a full queue marks the connection
//! for closing (1013) and the client resumes with `after_seq`.
//!
//! Entries are published by the writer in commit order, already serialized
//! once; each connection filters by its own current consent. Membership and
//! session events travel the same queue, so they are ordered with entries.

use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::ids::{AccountId, ChildId, ConnId, Seq, SessionId};
use crate::vocab::Status;

/// An entry as it goes live: the facts consent is checked on, and its
/// frame (built once by the domain, for every subscriber).
pub struct LiveEntry {
    pub child_id: ChildId,
    pub seq: Seq,
    pub category: i64,
    /// The first revision's creation time (what `history_from` is checked against).
    pub first_created_at: i64,
    /// The child's consent version the entry was committed under: a socket
    /// whose consent is older reads it again before delivering.
    pub consent_version: i64,
    /// The `entry` frame's text.
    pub frame: String,
    /// The entry's JSON alone (for the author's `posted`).
    pub entry: Box<RawValue>,
}

/// A member's consent as it now stands (sent to that member's connections).
#[derive(Clone, Debug)]
pub struct MemberState {
    pub child_id: ChildId,
    pub account_id: AccountId,
    pub status: Status,
    pub categories: i64,
    pub can_post: bool,
    pub history_from: Option<i64>,
    pub expires_at: Option<i64>,
    /// The child's consent version of this change: a socket never goes back
    /// to an older state than the one it holds.
    pub version: i64,
}

pub enum Event {
    Entry(Arc<LiveEntry>),
    Membership(Arc<MemberState>),
    Receipt {
        child_id: ChildId,
        account_id: AccountId,
        seq: Seq,
    },
    /// A ready frame for every connection of one account (alerts).
    Frame(Arc<str>),
    /// A question's state: for the child's subscribers who see the question.
    Question(Arc<LiveQuestion>),
}

/// A question's state as it goes live, with the facts consent is checked on.
pub struct LiveQuestion {
    pub child_id: ChildId,
    pub category: i64,
    pub first_created_at: i64,
    /// The `entry_state` frame's text.
    pub frame: String,
}

/// Close codes the hub asks connections to close with.
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const NORMAL: u16 = 1000;
    pub const PROTOCOL: u16 = 1002;
    pub const TOO_BIG: u16 = 1009;
    pub const UNAUTHORIZED: u16 = 4401;
    /// The account has too many open sockets.
    pub const TOO_MANY: u16 = 4429;
}

/// Tells a connection to close, with which code (and, optionally, which
/// reason for its close frame).
#[derive(Default)]
pub struct CloseSignal {
    code: AtomicU16,
    reason: std::sync::OnceLock<&'static str>,
    token: CancellationToken,
}

impl CloseSignal {
    pub fn close(&self, code: u16) {
        // The first reason wins.
        let _ = self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        self.token.cancel();
    }

    /// Closes with `code` and the reason text its close frame carries.
    pub fn close_because(&self, code: u16, reason: &'static str) {
        if self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let _ = self.reason.set(reason);
        }
        self.token.cancel();
    }

    /// The reason given with the close, if one was.
    pub fn reason(&self) -> Option<&'static str> {
        self.reason.get().copied()
    }

    /// The close code asked for, or 1000 (normal) if none was.
    pub fn code(&self) -> u16 {
        match self.code.load(Ordering::SeqCst) {
            0 => 1000,
            c => c,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    pub async fn closed(&self) -> u16 {
        self.token.cancelled().await;
        self.code.load(Ordering::SeqCst)
    }
}

struct Conn {
    account: AccountId,
    session: SessionId,
    tx: mpsc::Sender<Event>,
    close: Arc<CloseSignal>,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<ConnId, Conn>,
    by_child: HashMap<ChildId, HashSet<ConnId>>,
    by_account: HashMap<AccountId, HashSet<ConnId>>,
    /// Last seq published per child with subscribers here: entries go out
    /// in seq order with no gap, whichever node committed them.
    published: HashMap<ChildId, Seq>,
    /// Children whose next entry was not published for a gap before it,
    /// until the cluster task takes them. A set of subscribed children, so
    /// it is bounded by the subscriptions and a child is in it once.
    gaps: HashSet<ChildId>,
}

#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    /// Wakes the cluster task when a gap is reported.
    gap_reported: Notify,
}

/// Removes a connection and its subscriptions from the hub when dropped.
pub struct ConnGuard {
    hub: Arc<Hub>,
    pub id: ConnId,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

impl Hub {
    /// The hub's maps. A poisoned lock is recovered, not propagated: every
    /// section below is a few map operations with no await and no code that
    /// panics by design, so a panic elsewhere on the thread cannot have left
    /// them half-changed in a way worse than losing live delivery (clients
    /// resume from their seq). One rule, here, for all of them.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn register(
        self: &Arc<Self>,
        account: AccountId,
        session: SessionId,
        queue: usize,
    ) -> (ConnGuard, mpsc::Receiver<Event>, Arc<CloseSignal>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let close = Arc::new(CloseSignal::default());
        let id = ConnId::new();
        let mut inner = self.lock();
        inner.conns.insert(
            id,
            Conn {
                account,
                session,
                tx,
                close: close.clone(),
            },
        );
        inner.by_account.entry(account).or_default().insert(id);
        drop(inner);
        let guard = ConnGuard {
            hub: self.clone(),
            id,
        };
        (guard, rx, close)
    }

    fn remove(&self, id: ConnId) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(&id) {
            if let Some(set) = inner.by_account.get_mut(&conn.account) {
                set.remove(&id);
                if set.is_empty() {
                    inner.by_account.remove(&conn.account);
                }
            }
        }
        let mut emptied = Vec::new();
        inner.by_child.retain(|child, set| {
            set.remove(&id);
            if set.is_empty() {
                emptied.push(*child);
            }
            !set.is_empty()
        });
        for child in emptied {
            inner.published.remove(&child);
            inner.gaps.remove(&child);
        }
    }

    pub fn subscribe(&self, conn: ConnId, child: ChildId) {
        self.lock().by_child.entry(child).or_default().insert(conn);
    }

    pub fn unsubscribe(&self, conn: ConnId, child: ChildId) {
        let mut inner = self.lock();
        if let Some(set) = inner.by_child.get_mut(&child) {
            set.remove(&conn);
            if set.is_empty() {
                inner.by_child.remove(&child);
                inner.published.remove(&child);
                inner.gaps.remove(&child);
            }
        }
    }

    fn send(conn: &Conn, event: Event) {
        if conn.tx.try_send(event).is_err() {
            // Full (or gone): the client cannot keep up; it resumes with after_seq.
            conn.close.close(close::TRY_AGAIN_LATER);
        }
    }

    /// Publishes an entry if it is the next one of its child here. An
    /// earlier seq is a duplicate (dropped); a later one means entries in
    /// between have not been published yet: the child is reported as a gap
    /// (the caller catches up from the database) and false is returned.
    pub fn publish_entry(&self, entry: Arc<LiveEntry>) -> bool {
        let mut inner = self.lock();
        let child = entry.child_id;
        if !inner.by_child.contains_key(&child) {
            return true; // nobody listens here; subscribers read backlogs
        }
        match inner.published.get(&child) {
            Some(&last) if entry.seq <= last => return true,
            Some(&last) if entry.seq > last + 1 => {
                if inner.gaps.insert(child) {
                    self.gap_reported.notify_one();
                }
                return false;
            }
            _ => {}
        }
        inner.published.insert(child, entry.seq);
        for id in inner.by_child.get(&child).into_iter().flatten() {
            if let Some(conn) = inner.conns.get(id) {
                Self::send(conn, Event::Entry(entry.clone()));
            }
        }
        true
    }

    /// The last seq published here for `child`, if it has subscribers and a known position.
    pub fn last_published(&self, child: ChildId) -> Option<Seq> {
        self.lock().published.get(&child).copied()
    }

    /// A subscriber has read the backlog up to `seq`: if nothing was
    /// published for the child yet, live entries continue from there.
    pub fn note_backlog(&self, child: ChildId, seq: Seq) {
        let mut inner = self.lock();
        if inner.by_child.contains_key(&child) {
            inner.published.entry(child).or_insert(seq);
        }
    }

    pub fn has_subscribers(&self, child: ChildId) -> bool {
        self.lock().by_child.contains_key(&child)
    }

    /// Children with subscribers on this node.
    pub fn subscribed_children(&self) -> Vec<ChildId> {
        self.lock().by_child.keys().copied().collect()
    }

    /// Waits until a gap has been reported (a report made before the call counts).
    pub async fn gap_reported(&self) {
        self.gap_reported.notified().await;
    }

    /// The children reported as gaps since the last call (for the cluster task).
    pub fn take_gaps(&self) -> Vec<ChildId> {
        self.lock().gaps.drain().collect()
    }

    pub fn publish_receipt(&self, child_id: ChildId, account_id: AccountId, seq: Seq) {
        let inner = self.lock();
        for id in inner.by_child.get(&child_id).into_iter().flatten() {
            if let Some(conn) = inner.conns.get(id) {
                Self::send(
                    conn,
                    Event::Receipt {
                        child_id,
                        account_id,
                        seq,
                    },
                );
            }
        }
    }

    /// Sends a question's state to the child's subscribers (each filters
    /// by its own consent).
    pub fn publish_question(&self, question: LiveQuestion) {
        let question = Arc::new(question);
        let inner = self.lock();
        for id in inner.by_child.get(&question.child_id).into_iter().flatten() {
            if let Some(conn) = inner.conns.get(id) {
                Self::send(conn, Event::Question(question.clone()));
            }
        }
    }

    /// Tells every connection of the member that its consent changed.
    pub fn publish_membership(&self, state: MemberState) {
        let state = Arc::new(state);
        let inner = self.lock();
        for id in inner
            .by_account
            .get(&state.account_id)
            .into_iter()
            .flatten()
        {
            if let Some(conn) = inner.conns.get(id) {
                Self::send(conn, Event::Membership(state.clone()));
            }
        }
    }

    /// Sends a frame to every connection of `account`; false if it has none.
    pub fn send_to_account(&self, account: AccountId, frame: Arc<str>) -> bool {
        let inner = self.lock();
        let mut any = false;
        for id in inner.by_account.get(&account).into_iter().flatten() {
            if let Some(conn) = inner.conns.get(id) {
                Self::send(conn, Event::Frame(frame.clone()));
                any = true;
            }
        }
        any
    }

    pub fn is_online(&self, account: AccountId) -> bool {
        self.lock().by_account.contains_key(&account)
    }

    /// Open connections of an account on this node.
    pub fn sockets_of(&self, account: AccountId) -> usize {
        self.lock().by_account.get(&account).map_or(0, HashSet::len)
    }

    /// Closes every connection of a session (logout, revoked refresh chain).
    pub fn close_session(&self, session: SessionId, code: u16, reason: &'static str) {
        let inner = self.lock();
        for conn in inner.conns.values().filter(|c| c.session == session) {
            conn.close.close_because(code, reason);
        }
    }

    pub fn close_all(&self, code: u16) {
        let inner = self.lock();
        for conn in inner.conns.values() {
            conn.close.close(code);
        }
    }

    /// Sessions with sockets on this node.
    pub fn sessions(&self) -> Vec<SessionId> {
        let set: HashSet<SessionId> = self.lock().conns.values().map(|c| c.session).collect();
        set.into_iter().collect()
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    /// Events waiting in the connections' queues (for the metrics), summed:
    /// one pass over the connections, at a scrape, never on a publish.
    pub fn queued_events(&self) -> usize {
        self.lock()
            .conns
            .values()
            .map(|c| c.tx.max_capacity().saturating_sub(c.tx.capacity()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(child: ChildId, seq: Seq) -> Arc<LiveEntry> {
        Arc::new(LiveEntry {
            child_id: child,
            seq,
            category: 1,
            first_created_at: 0,
            consent_version: 0,
            frame: String::new(),
            entry: RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable!()),
        })
    }

    #[tokio::test]
    async fn a_gap_is_reported_once_until_taken_and_forgotten_with_its_subscribers() {
        let hub = Arc::new(Hub::default());
        let (guard, _events, _close) = hub.register(AccountId::new(), SessionId::new(), 8);
        let child = ChildId::new();
        hub.subscribe(guard.id, child);
        hub.note_backlog(child, 1);
        assert!(hub.publish_entry(entry(child, 2)));
        for seq in 4..100 {
            assert!(!hub.publish_entry(entry(child, seq)), "seq 3 is missing");
        }
        // Reported before anyone waited: the wake-up is kept.
        tokio::time::timeout(std::time::Duration::from_secs(1), hub.gap_reported())
            .await
            .unwrap_or_else(|_| unreachable!("no gap reported"));
        assert_eq!(hub.take_gaps(), vec![child]);
        assert!(hub.take_gaps().is_empty());
        assert!(!hub.publish_entry(entry(child, 5)));
        drop(guard);
        assert!(
            hub.take_gaps().is_empty(),
            "no subscriber left, nothing to repair"
        );
    }
}
