//! A live socket: one authenticated connection's registration with the hub
//! and its subscriptions, each with the member's current consent and the
//! last seq delivered. The http layer only drives it: it hands over what the
//! client sent and what the hub queued, and sends the frames it gets back.
//!
//! Subscribing registers with the hub *before* reading the backlog; live
//! entries that arrive meanwhile wait in the socket's queue and are dropped
//! by seq if the backlog already had them. So there is no gap and no
//! duplicate across the backlog/live boundary.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;

use super::frames::{entry_json, Grant, ServerFrame};
use super::live_reads::LiveReads;
use super::{Core, Principal};
use crate::consent::{self, category_names};
use crate::error::{Error, Result};
pub use crate::hub::{close, CloseSignal, Event};
use crate::hub::{ConnGuard, LiveEntry, MemberState};
use crate::ids::{ChildId, Seq, Timestamp};
use crate::store::WriteOp;
use crate::vocab::Status;

const BACKLOG_PAGE: i64 = 200;
/// See [`LiveSocket::flush_reads`].
const FLUSH_SLACK_MS: i64 = 1000;

/// Where a socket's frames go, in order (the http layer's outbound queue).
pub trait FrameSink {
    /// Queues a frame, waiting for room.
    fn send(&self, frame: String) -> impl Future<Output = ()> + Send;
    /// Whether the socket is closing (a long backlog stops early).
    fn is_closed(&self) -> bool;
}

struct Sub {
    member: consent::Member,
    delivered: Seq,
}

/// What the hub sends a socket, and how it is told to close.
pub struct SocketEvents {
    pub events: mpsc::Receiver<Event>,
    pub close: Arc<CloseSignal>,
}

pub struct LiveSocket {
    core: Arc<Core>,
    who: Principal,
    /// Leaves the hub when the socket is dropped.
    guard: ConnGuard,
    close: Arc<CloseSignal>,
    subs: HashMap<ChildId, Sub>,
    /// What was delivered live, for the `read_live` records.
    reads: LiveReads,
}

impl Core {
    /// Registers an authenticated socket with the hub. A session ended
    /// between the token check and the registration closes it at once (4401).
    pub async fn open_socket(self: &Arc<Self>, who: Principal) -> (LiveSocket, SocketEvents) {
        let (guard, events, close) =
            self.hub
                .register(who.account, who.session, self.settings.ws_queue);
        if !self.session_live(who.session).await.unwrap_or(false) {
            close.close(close::UNAUTHORIZED);
        }
        let cap = self.settings.max_sockets_per_account;
        if cap > 0 && self.hub.sockets_of(who.account) > cap {
            close.close(close::TOO_MANY);
        }
        let reads = LiveReads::new(who.account, self.settings.live_audit_window_ms);
        let live = LiveSocket {
            core: self.clone(),
            who,
            guard,
            close: close.clone(),
            subs: HashMap::new(),
            reads,
        };
        (live, SocketEvents { events, close })
    }

    /// The outbound queue bound of every socket (bytes, backlog included).
    pub fn socket_queue_bytes(&self) -> usize {
        self.settings.ws_queue_bytes.max(1)
    }
}

impl LiveSocket {
    pub fn who(&self) -> &Principal {
        &self.who
    }

    /// The `ready` frame, then the open alerts that reached this account (a
    /// contact who connects late still gets them).
    /// A second `auth` frame: a fresh access token of the same session
    /// renews the socket (answered by `ready`); any other is refused and
    /// the socket keeps its old token, and its expiry.
    pub async fn renew(&mut self, access_token: &str, reference: Option<&str>) -> Result<String> {
        let who = self.core.authenticate(access_token).await?;
        if who.session != self.who.session {
            return Err(Error::Unauthorized);
        }
        self.who = who;
        let ready = ServerFrame::Ready {
            account_id: self.who.account,
            reference,
        };
        Ok(ready.to_text())
    }

    /// When the socket's access token expires (epoch ms): it closes then
    /// (4401), with no leeway, unless renewed.
    pub fn token_expiry(&self) -> i64 {
        self.who.token_exp.saturating_mul(1000)
    }

    pub async fn greet(&self, sink: &impl FrameSink) {
        let ready = ServerFrame::Ready {
            account_id: self.who.account,
            reference: None,
        };
        sink.send(ready.to_text()).await;
        match self.core.open_alerts_for(&self.who).await {
            Ok(alerts) => {
                for alert in &alerts {
                    sink.send(ServerFrame::Alert { alert }.to_text()).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "loading open alerts"),
        }
    }

    /// The earliest moment a subscription's consent expires.
    pub fn next_expiry(&self) -> Option<i64> {
        self.subs
            .values()
            .filter_map(|s| s.member.expires_at())
            .min()
    }

    /// `subscribe`: the visible backlog after `after_seq`, then `subscribed`,
    /// then live entries.
    pub async fn subscribe(
        &mut self,
        child: ChildId,
        after_seq: Seq,
        reference: Option<&str>,
        sink: &impl FrameSink,
    ) -> Result<()> {
        let core = self.core.clone();
        core.member(child, self.who.account).await?;
        // Register first: whatever commits from now on is queued for us.
        self.subs.remove(&child);
        core.hub.subscribe(self.guard.id, child);
        let backlog = self.backlog(child, after_seq.max(0), sink).await;
        let (member, delivered) = match backlog {
            Ok(b) => b,
            Err(e) => {
                core.hub.unsubscribe(self.guard.id, child);
                return Err(e);
            }
        };
        if sink.is_closed() {
            // The backlog stopped part way (the client stopped reading):
            // `subscribed` would claim all of it was sent.
            core.hub.unsubscribe(self.guard.id, child);
            return Ok(());
        }
        let subscribed = ServerFrame::Subscribed {
            child_id: child,
            last_seq: delivered,
            reference,
        };
        sink.send(subscribed.to_text()).await;
        core.hub.note_backlog(child, delivered);
        self.subs.insert(child, Sub { member, delivered });
        Ok(())
    }

    /// Sends the backlog page by page; returns the consent of the last page
    /// and the seq up to which everything has been considered.
    async fn backlog(
        &self,
        child: ChildId,
        mut delivered: Seq,
        sink: &impl FrameSink,
    ) -> Result<(consent::Member, Seq)> {
        let core = &self.core;
        loop {
            // Consent is read again for every page, so a long backlog never
            // outlives a revocation or narrowing made while it is sent.
            let member = core.member(child, self.who.account).await?;
            let (page, last_seq, member) =
                core.read_entries(&member, delivered, BACKLOG_PAGE).await?;
            let full = page.len() as i64 == BACKLOG_PAGE;
            for entry in &page {
                let json = entry_json(entry)?;
                sink.send(ServerFrame::Entry { entry: &json }.to_text())
                    .await;
            }
            match page.last() {
                // More may follow: continue after the last entry sent.
                Some(last) if full && !sink.is_closed() => delivered = last.seq,
                // The end: everything up to the child's last seq (read before
                // this page) has been considered.
                _ => {
                    delivered = delivered.max(last_seq);
                    if let Some(last) = page.last() {
                        delivered = delivered.max(last.seq);
                    }
                    return Ok((member, delivered));
                }
            }
        }
    }

    /// `unsubscribe`: answered with `unsubscribed`.
    pub fn unsubscribe(&mut self, child: ChildId, reference: Option<&str>) -> String {
        self.end(child);
        ServerFrame::Unsubscribed {
            child_id: child,
            reference,
        }
        .to_text()
    }

    fn end(&mut self, child: ChildId) -> bool {
        let was = self.subs.remove(&child).is_some();
        self.core.hub.unsubscribe(self.guard.id, child);
        let ops = self.reads.take_child(child);
        self.send_reads(ops);
        was
    }

    /// When [`LiveSocket::flush_reads`] is next to be called (epoch ms).
    pub fn reads_due(&self) -> Option<i64> {
        self.reads.due()
    }

    /// Sends the `read_live` records whose minute has passed. A timer may
    /// fire a little before the wall clock reaches its due time (the two
    /// clocks differ): runs due within [`FLUSH_SLACK_MS`] go too, so that
    /// the timer is never left due with nothing to do.
    pub fn flush_reads(&mut self) {
        let now = Timestamp::now().millis();
        let ops = self.reads.take_due(now.saturating_add(FLUSH_SLACK_MS));
        self.send_reads(ops);
    }

    /// Hands records to the committer without waiting for their commit;
    /// what its full queue refuses is kept and tried again.
    fn send_reads(&mut self, ops: Vec<WriteOp>) {
        if ops.is_empty() {
            return;
        }
        if let Err(left) = self.core.committer.offer(ops) {
            self.reads.give_back(left, Timestamp::now().millis());
        }
    }

    /// What the hub queued for this socket, as the frame to send (if any).
    pub async fn on_event(&mut self, ev: Event) -> Option<String> {
        match ev {
            Event::Entry(e) => self.on_entry(&e).await,
            Event::Membership(m) => Some(self.on_membership(&m)),
            Event::Frame(frame) => Some(frame.to_string()),
            Event::Question(q) => {
                let sub = self.subs.get(&q.child_id)?;
                sub.member
                    .sees(q.category, q.first_created_at, Timestamp::now())
                    .then(|| q.frame.clone())
            }
            Event::Receipt {
                child_id,
                account_id,
                seq,
            } => self.subs.contains_key(&child_id).then(|| {
                ServerFrame::Receipt {
                    child_id,
                    account_id,
                    seq,
                }
                .to_text()
            }),
        }
    }

    async fn on_entry(&mut self, e: &LiveEntry) -> Option<String> {
        let sub = self.subs.get(&e.child_id)?;
        if e.seq <= sub.delivered {
            return None; // already sent with the backlog
        }
        if e.consent_version > sub.member.as_of() {
            // Committed after a consent change this socket has not been
            // told of yet (made on another node, or its event still on its
            // way): the membership is read again before anything is sent.
            self.refresh(e.child_id).await?;
        }
        let sub = self.subs.get_mut(&e.child_id)?;
        sub.delivered = e.seq;
        let now = Timestamp::now();
        if !sub.member.sees(e.category, e.first_created_at, now) {
            return None;
        }
        if self.reads.delivered(e.child_id, e.seq, now.millis()) {
            let ops = self.reads.take_due(now.millis());
            self.send_reads(ops);
        }
        Some(e.frame.clone())
    }

    /// Reads the subscription's membership again. One that has ended ends
    /// the subscription (its `membership` frame comes with the change's
    /// event); a failed read closes the socket (the client resumes).
    async fn refresh(&mut self, child: ChildId) -> Option<()> {
        match self.core.member(child, self.who.account).await {
            Ok(member) => {
                let sub = self.subs.get_mut(&child)?;
                sub.member = member;
                Some(())
            }
            Err(Error::Internal(e)) => {
                tracing::error!(error = %e, "reading a membership again");
                self.close.close(close::TRY_AGAIN_LATER);
                None
            }
            Err(_) => {
                self.end(child);
                None
            }
        }
    }

    /// A consent change: an ended membership ends the subscription; a
    /// narrowed one applies to the next entry. A change older than the
    /// consent the subscription holds (read again meanwhile) changes
    /// nothing, but its frame is still sent: the client sees every change.
    fn on_membership(&mut self, m: &MemberState) -> String {
        let status = consent::effective_status(m.status, m.expires_at, Timestamp::now());
        let newer = self
            .subs
            .get(&m.child_id)
            .is_some_and(|s| s.member.is_older_than(m.version));
        if status != Status::Active {
            if newer {
                self.end(m.child_id);
            }
            return ServerFrame::Membership {
                child_id: m.child_id,
                status,
                grant: None,
            }
            .to_text();
        }
        if let Some(sub) = self.subs.get_mut(&m.child_id) {
            sub.member.update(
                m.version,
                m.categories,
                m.can_post,
                m.history_from,
                m.expires_at,
            );
        }
        ServerFrame::Membership {
            child_id: m.child_id,
            status: Status::Active,
            grant: Some(Grant {
                categories: category_names(m.categories),
                can_post: m.can_post,
                history_from: m.history_from.map(Timestamp),
                expires_at: m.expires_at.map(Timestamp),
            }),
        }
        .to_text()
    }

    /// Ends the subscriptions whose consent has expired (no job needed):
    /// the `expired` frames to send.
    pub fn expire(&mut self) -> Vec<String> {
        let now = Timestamp::now().millis();
        let ended: Vec<ChildId> = self
            .subs
            .iter()
            .filter(|(_, s)| s.member.expires_at().is_some_and(|e| e <= now))
            .map(|(c, _)| *c)
            .collect();
        ended
            .into_iter()
            .map(|child| {
                self.end(child);
                ServerFrame::Membership {
                    child_id: child,
                    status: Status::Expired,
                    grant: None,
                }
                .to_text()
            })
            .collect()
    }
}

impl Drop for LiveSocket {
    /// The socket's last `read_live` records. A committer queue still full
    /// at this point loses them; that is logged (counts only).
    fn drop(&mut self) {
        let ops = self.reads.take_all();
        if let Err(left) = self.core.committer.offer(ops) {
            tracing::warn!(
                records = left.len(),
                "read_live records lost: committer queue full"
            );
        }
    }
}
