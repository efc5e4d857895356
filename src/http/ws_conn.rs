//! One authenticated WebSocket: its subscriptions (each with the member's
//! current consent and the last seq delivered), the events the hub sends it,
//! and a writer task behind a bounded queue.
//!
//! Subscribing registers with the hub *before* reading the backlog; live
//! entries that arrive meanwhile wait in the queue and are dropped by seq if
//! the backlog already had them. So there is no gap and no duplicate across
//! the backlog/live boundary.

use axum::extract::ws::Message;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use super::ws::{close_message, error_frame, parse_frame, ClientFrame, Sink, Stream};
use super::AppState;
use crate::consent::{self, category_names};
use crate::domain::{NewEntryInput, Posted, Principal};
use crate::error::Error;
use crate::hub::{close, CloseSignal, Event, LiveEntry, MemberState};
use crate::ids::{ChildId, ConnId, Seq, Timestamp};

/// How long a closing connection may take to flush what it has queued.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
const BACKLOG_PAGE: i64 = 200;
/// Most frames written between two flushes.
const FLUSH_EVERY: usize = 64;

struct Sub {
    member: consent::Member,
    delivered: Seq,
}

struct Conn {
    state: AppState,
    who: Principal,
    id: ConnId,
    subs: HashMap<ChildId, Sub>,
    out: mpsc::Sender<Message>,
    close: Arc<CloseSignal>,
}

pub async fn serve(state: AppState, who: Principal, sink: Sink, mut stream: Stream) {
    let hub = state.core.hub.clone();
    let queue = state.core.settings.ws_queue;
    let (guard, mut events, close) = hub.register(who.account, who.session, queue);
    let (out, out_rx) = mpsc::channel(queue.max(1));
    let writer = tokio::spawn(write_loop(sink, out_rx, close.clone()));
    let mut conn = Conn {
        id: guard.id,
        state,
        who,
        subs: HashMap::new(),
        out,
        close: close.clone(),
    };
    // A logout between the token check and the registration would be missed.
    if !conn
        .state
        .core
        .session_live(conn.who.session)
        .await
        .unwrap_or(false)
    {
        close.close(close::UNAUTHORIZED);
    }
    conn.push(json!({"type": "ready", "account_id": conn.who.account}))
        .await;
    // A contact who connects late still gets the open alerts that reached them.
    match conn.state.core.open_alerts_for(&conn.who).await {
        Ok(alerts) => {
            for alert in alerts {
                conn.push(json!({"type": "alert", "alert": alert})).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "loading open alerts"),
    }
    loop {
        let expiry = conn.next_expiry();
        tokio::select! {
            biased;
            _ = close.closed() => break,
            ev = events.recv() => match ev {
                Some(ev) => conn.on_event(ev),
                None => break,
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => conn.on_text(&text).await,
                Some(Ok(Message::Binary(_))) => {
                    conn.try_push(error_frame(&Error::bad_request("frames are JSON text"), None));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => {
                    close.close(close::NORMAL);
                    break;
                }
                Some(Err(e)) => {
                    close.close(read_error_code(e));
                    break;
                }
            },
            _ = sleep_until(expiry) => conn.expire(),
        }
    }
    drop(conn);
    let _ = writer.await;
    // Leaves the hub last, so that shutdown can wait for close frames to go out.
    drop(guard);
}

/// The close code for a failed read: 1009 for a frame over the limit.
fn read_error_code(e: axum::Error) -> u16 {
    let inner = e.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => close::TOO_BIG,
        Some(tungstenite::Error::Protocol(_)) => close::PROTOCOL,
        _ => close::NORMAL,
    }
}

async fn sleep_until(at: Option<i64>) {
    match at {
        Some(ms) => {
            let wait = ms.saturating_sub(Timestamp::now().millis()).max(0);
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
        }
        None => std::future::pending().await,
    }
}

/// Sends what is queued, then the close frame; gives up on a client that
/// stops reading for longer than `DRAIN_LIMIT` after the close was decided.
async fn write_loop(mut sink: Sink, mut out: mpsc::Receiver<Message>, close: Arc<CloseSignal>) {
    let drain = async {
        while let Some(msg) = out.recv().await {
            if sink.feed(msg).await.is_err() {
                return;
            }
            // What else is queued goes out with the same flush: fewer TLS
            // records and syscalls when entries arrive in bursts.
            for _ in 1..FLUSH_EVERY {
                let Ok(more) = out.try_recv() else { break };
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let code = close.code();
        let _ = sink.send(close_message(code, reason(code))).await;
        let _ = sink.close().await;
    };
    let give_up = async {
        close.closed().await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        _ = drain => {}
        _ = give_up => {}
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        close::UNAUTHORIZED => "session ended",
        close::TRY_AGAIN_LATER => "too slow: resume with after_seq",
        close::TOO_BIG => "frame too large",
        close::GOING_AWAY => "server shutting down",
        _ => "",
    }
}

fn text(v: serde_json::Value) -> Message {
    Message::Text(v.to_string().into())
}

impl Conn {
    /// Queues a frame, waiting for room (backlog and answers).
    async fn push(&self, v: serde_json::Value) {
        self.push_msg(text(v)).await;
    }

    /// `{"type":"posted","ref","entry"}` around the entry's JSON (serialized once).
    async fn push_posted(&self, posted: &Posted, r: Option<&str>) -> Result<(), Error> {
        let reference = serde_json::to_string(&r).map_err(Error::internal)?;
        let entry = posted.entry_json()?;
        let frame = format!(r#"{{"type":"posted","ref":{reference},"entry":{entry}}}"#);
        self.push_msg(Message::Text(frame.into())).await;
        Ok(())
    }

    async fn push_msg(&self, msg: Message) {
        tokio::select! {
            r = self.out.send(msg) => if r.is_err() { self.close.close(close::NORMAL) },
            _ = self.close.closed() => {}
        }
    }

    /// Queues a frame without waiting: a client this far behind is closed (1013).
    fn try_push(&self, msg: Message) {
        if self.out.try_send(msg).is_err() {
            self.close.close(close::TRY_AGAIN_LATER);
        }
    }

    fn next_expiry(&self) -> Option<i64> {
        self.subs.values().filter_map(|s| s.member.expires_at).min()
    }

    async fn on_text(&mut self, raw: &str) {
        let (reference, frame) = parse_frame(raw);
        let r = reference.as_deref();
        let result = match frame {
            Ok(ClientFrame::Auth { .. }) => Err(Error::bad_request("already authenticated")),
            Ok(ClientFrame::Subscribe {
                child_id,
                after_seq,
            }) => self.subscribe(child_id, after_seq, r).await,
            Ok(ClientFrame::Unsubscribe { child_id }) => {
                self.subs.remove(&child_id);
                self.state.core.hub.unsubscribe(self.id, child_id);
                self.push(json!({"type": "unsubscribed", "child_id": child_id, "ref": r}))
                    .await;
                Ok(())
            }
            Ok(ClientFrame::Post {
                child_id,
                client_id,
                category,
                kind,
                body,
            }) => {
                let input = NewEntryInput {
                    client_id,
                    category,
                    kind,
                    body,
                };
                match self.state.core.post_entry(&self.who, child_id, input).await {
                    Ok(posted) => self.push_posted(&posted, r).await,
                    Err(e) => Err(e),
                }
            }
            Ok(ClientFrame::Read { child_id, seq }) => self
                .state
                .core
                .mark_read(&self.who, child_id, seq)
                .await
                .map(|_| ()),
            // Emergency alerts arrive with their own issue; until then no alert exists.
            Ok(ClientFrame::AckAlert { alert_id }) => match alert_id.parse() {
                Ok(id) => match self.state.core.ack_alert(&self.who, id, "websocket").await {
                    Ok(alert) => {
                        self.push(json!({"type": "acked", "ref": r, "alert": alert}))
                            .await;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Err(_) => Err(Error::bad_request("alert_id: not a valid id")),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            self.push_msg(error_frame(&e, r)).await;
        }
    }

    async fn subscribe(
        &mut self,
        child: ChildId,
        after_seq: Seq,
        r: Option<&str>,
    ) -> Result<(), Error> {
        let core = self.state.core.clone();
        core.member(child, self.who.account).await?;
        // Register first: whatever commits from now on is queued for us.
        self.subs.remove(&child);
        core.hub.subscribe(self.id, child);
        let mut delivered = after_seq.max(0);
        let member = loop {
            // Consent is read again for every page, so a long backlog never
            // outlives a revocation or narrowing made while it is sent.
            let page = match core.member(child, self.who.account).await {
                Ok(member) => core
                    .read_entries(&member, delivered, BACKLOG_PAGE)
                    .await
                    .map(|(page, last)| (member, page, last)),
                Err(e) => Err(e),
            };
            let (member, page, last_seq) = match page {
                Ok(p) => p,
                Err(e) => {
                    core.hub.unsubscribe(self.id, child);
                    return Err(e);
                }
            };
            let full = page.len() as i64 == BACKLOG_PAGE;
            for entry in &page {
                self.push(json!({"type": "entry", "entry": entry})).await;
            }
            match page.last() {
                // More may follow: continue after the last entry sent.
                Some(last) if full && !self.close.is_closed() => delivered = last.seq,
                // The end: everything up to the child's last seq (read before
                // this page) has been considered.
                _ => {
                    delivered = delivered.max(last_seq);
                    if let Some(last) = page.last() {
                        delivered = delivered.max(last.seq);
                    }
                    break member;
                }
            }
        };
        self.push(
            json!({"type": "subscribed", "child_id": child, "last_seq": delivered, "ref": r}),
        )
        .await;
        core.hub.note_backlog(child, delivered);
        self.subs.insert(child, Sub { member, delivered });
        Ok(())
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Entry(e) => self.on_entry(&e),
            Event::Membership(m) => self.on_membership(&m),
            Event::Frame(frame) => self.try_push(Message::Text(frame.to_string().into())),
            Event::Receipt {
                child_id,
                account_id,
                seq,
            } => {
                if self.subs.contains_key(&child_id) {
                    self.try_push(text(json!({
                        "type": "receipt", "child_id": child_id, "account_id": account_id, "seq": seq
                    })));
                }
            }
        }
    }

    fn on_entry(&mut self, e: &LiveEntry) {
        let Some(sub) = self.subs.get_mut(&e.child_id) else {
            return;
        };
        if e.seq <= sub.delivered {
            return; // already sent with the backlog
        }
        sub.delivered = e.seq;
        if sub.member.sees(e.category, e.created_at, Timestamp::now()) {
            let msg = Message::Text(e.frame.clone().into());
            self.try_push(msg);
        }
    }

    fn on_membership(&mut self, m: &MemberState) {
        let now = Timestamp::now();
        let status = consent::effective_status(&m.status, m.expires_at, now);
        if status != "active" {
            if self.subs.remove(&m.child_id).is_some() {
                self.state.core.hub.unsubscribe(self.id, m.child_id);
            }
            self.try_push(text(
                json!({"type": "membership", "child_id": m.child_id, "status": status}),
            ));
            return;
        }
        if let Some(sub) = self.subs.get_mut(&m.child_id) {
            sub.member.categories = m.categories;
            sub.member.can_post = m.can_post;
            sub.member.history_from = m.history_from;
            sub.member.expires_at = m.expires_at;
        }
        self.try_push(text(json!({
            "type": "membership",
            "child_id": m.child_id,
            "status": "active",
            "categories": category_names(m.categories),
            "can_post": m.can_post,
            "history_from": m.history_from.map(Timestamp),
            "expires_at": m.expires_at.map(Timestamp),
        })));
    }

    /// Ends subscriptions whose consent has expired (no job needed).
    fn expire(&mut self) {
        let now = Timestamp::now().millis();
        let ended: Vec<ChildId> = self
            .subs
            .iter()
            .filter(|(_, s)| s.member.expires_at.is_some_and(|e| e <= now))
            .map(|(c, _)| *c)
            .collect();
        for child in ended {
            self.subs.remove(&child);
            self.state.core.hub.unsubscribe(self.id, child);
            self.try_push(text(
                json!({"type": "membership", "child_id": child, "status": "expired"}),
            ));
        }
    }
}
