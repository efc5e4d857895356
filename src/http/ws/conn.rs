//! One authenticated WebSocket: reads client frames and hands them to the
//! domain's [`LiveSocket`], hands it what the hub queued, and writes the
//! frames it answers through a writer task behind a bounded queue.

use axum::extract::ws::Message;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

use super::protocol::{close_message, error_frame, parse_frame, reason, ClientFrame, Sink, Stream};
use crate::domain::frames::ServerFrame;
use crate::domain::live::{close, CloseSignal, FrameSink, LiveSocket, SocketEvents};
use crate::domain::{NewEntryInput, Principal};
use crate::error::Error;
use crate::http::AppState;
use crate::ids::Timestamp;

/// How long a closing connection may take to flush what it has queued.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// Most frames written between two flushes.
const FLUSH_EVERY: usize = 64;
/// RFC 6455: a text frame whose payload is not UTF-8.
const INVALID_DATA: u16 = 1007;
/// How long a socket closed for not answering pings may take to send its close frame.
const DEAD_DRAIN: Duration = Duration::from_secs(1);
/// How long a backlog page or an answer may wait for room in the outbound
/// queue before the client is judged to have stopped reading (with
/// `DEAD_DRAIN`, the socket is gone well within the contract's 10 s).
const STALL_LIMIT: Duration = Duration::from_secs(5);
/// What a queued message counts for beyond its payload.
const MESSAGE_OVERHEAD: usize = 64;
/// Close reasons that the metrics tell apart from others of the same code.
const TOKEN_EXPIRED: &str = "token expired";
const PINGS_UNANSWERED: &str = "no answer to pings";

/// The server's pings: a socket silent (no pong, no frame) for `timeout`
/// is closed, so a vanished client does not hold its socket and
/// subscriptions for ever. One timer per socket, moved only when it fires.
struct Heartbeat {
    every: Duration,
    timeout: Duration,
    last_heard: Instant,
    next_ping: Instant,
}

enum Beat {
    Ping,
    Dead,
    Wait,
}

impl Heartbeat {
    fn new(every: Duration, timeout: Duration) -> Self {
        let now = Instant::now();
        Self {
            every,
            timeout,
            last_heard: now,
            next_ping: now + every,
        }
    }

    fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    fn due(&self) -> Instant {
        self.next_ping.min(self.last_heard + self.timeout)
    }

    fn on_timer(&mut self) -> Beat {
        let now = Instant::now();
        if now >= self.last_heard + self.timeout {
            Beat::Dead
        } else if now >= self.next_ping {
            self.next_ping = now + self.every;
            Beat::Ping
        } else {
            Beat::Wait
        }
    }
}

/// The socket's outbound queue, as the domain sees it. Its bound counts
/// bytes, backlog included: every queued message holds `room` for its size
/// until the writer has flushed it, so a client that stops reading pins at
/// most the bound, however long the backlog it asked for.
struct Out {
    tx: mpsc::UnboundedSender<(Message, u32)>,
    room: Arc<Semaphore>,
    bound: usize,
    close: Arc<CloseSignal>,
    /// Closed for not reading: the writer gets no time to drain.
    stuck: AtomicBool,
}

impl Out {
    fn new(
        bound: usize,
        close: Arc<CloseSignal>,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<(Message, u32)>,
        Arc<Semaphore>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let bound = bound.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let room = Arc::new(Semaphore::new(bound));
        let out = Self {
            tx,
            room: room.clone(),
            bound,
            close,
            stuck: AtomicBool::new(false),
        };
        (out, rx, room)
    }

    /// What a message counts for: its payload and a fixed overhead, at most
    /// the whole bound (so that one large frame still passes, alone).
    fn cost(&self, msg: &Message) -> u32 {
        let len = match msg {
            Message::Text(t) => t.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(_) => 0,
        };
        let size = len.saturating_add(MESSAGE_OVERHEAD).min(self.bound);
        u32::try_from(size).unwrap_or(u32::MAX)
    }

    /// Queues a message, waiting for room (backlog and answers). A client
    /// that frees no room for `STALL_LIMIT` has stopped reading: it is
    /// closed (1013) and its connection dropped soon after.
    async fn push(&self, msg: Message) {
        let cost = self.cost(&msg);
        // Nothing is queued once the socket is closing: what follows a
        // truncated backlog must not reach the client.
        let acquired = tokio::select! {
            biased;
            _ = self.close.closed() => return,
            r = tokio::time::timeout(STALL_LIMIT, self.room.acquire_many(cost)) => r,
        };
        match acquired {
            Ok(Ok(permit)) => {
                permit.forget();
                self.queue(msg, cost);
            }
            // The writer has ended: the connection is gone.
            Ok(Err(_)) => self.close.close(close::NORMAL),
            Err(_) => {
                tracing::info!("closing a WebSocket that stopped reading (1013)");
                self.stuck.store(true, Ordering::Relaxed);
                self.close
                    .close_because(close::TRY_AGAIN_LATER, "not reading");
            }
        }
    }

    /// Queues a frame without waiting: a client this far behind is closed (1013).
    /// Once closing, nothing more is queued: a frame dropped for want of
    /// room must not be followed by later ones (the client would resume
    /// after a gap).
    fn try_push(&self, msg: Message) {
        if self.close.is_closed() {
            return;
        }
        let cost = self.cost(&msg);
        match self.room.try_acquire_many(cost) {
            Ok(permit) => {
                permit.forget();
                self.queue(msg, cost);
            }
            Err(_) => self.close.close(close::TRY_AGAIN_LATER),
        }
    }

    fn queue(&self, msg: Message, cost: u32) {
        if self.tx.send((msg, cost)).is_err() {
            self.close.close(close::NORMAL);
        }
    }

    fn stuck(&self) -> bool {
        self.stuck.load(Ordering::Relaxed)
    }
}

impl FrameSink for Out {
    async fn send(&self, frame: String) {
        self.push(Message::Text(frame.into())).await;
    }

    fn is_closed(&self) -> bool {
        self.close.is_closed()
    }
}

pub async fn serve(state: AppState, who: Principal, sink: Sink, mut stream: Stream) {
    let (mut live, SocketEvents { mut events, close }) = state.core.open_socket(who).await;
    let (out, out_rx, room) = Out::new(state.core.socket_queue_bytes(), close.clone());
    let writer = tokio::spawn(write_loop(sink, out_rx, room, close.clone()));
    live.greet(&out).await;
    // One timer for the token, reset only when a renewal moves its expiry
    // (a timer made per loop turn would cost a timer-wheel entry per frame).
    let mut token_expiry = live.token_expiry();
    let token_timer = tokio::time::sleep_until(instant_of(token_expiry));
    tokio::pin!(token_timer);
    let mut heartbeat = Heartbeat::new(state.ws_ping_every, state.ws_pong_timeout);
    let beat_timer = tokio::time::sleep_until(heartbeat.due());
    tokio::pin!(beat_timer);
    // The `read_live` records' timer, moved only when their due time does.
    let mut reads_due = live.reads_due();
    let reads_timer = tokio::time::sleep_until(instant_of(reads_due.unwrap_or(i64::MAX)));
    tokio::pin!(reads_timer);
    let mut dead = false;
    loop {
        if live.token_expiry() != token_expiry {
            token_expiry = live.token_expiry();
            token_timer.as_mut().reset(instant_of(token_expiry));
        }
        if live.reads_due() != reads_due {
            reads_due = live.reads_due();
            reads_timer
                .as_mut()
                .reset(instant_of(reads_due.unwrap_or(i64::MAX)));
        }
        let expiry = live.next_expiry();
        tokio::select! {
            biased;
            _ = close.closed() => break,
            _ = &mut token_timer => {
                close.close_because(close::UNAUTHORIZED, TOKEN_EXPIRED);
                break;
            }
            ev = events.recv() => match ev {
                Some(ev) => {
                    if let Some(frame) = live.on_event(ev).await {
                        out.try_push(Message::Text(frame.into()));
                    }
                }
                None => break,
            },
            _ = &mut beat_timer => {
                match heartbeat.on_timer() {
                    Beat::Dead => {
                        close.close_because(close::GOING_AWAY, PINGS_UNANSWERED);
                        dead = true;
                        break;
                    }
                    Beat::Ping => out.try_push(Message::Ping(Default::default())),
                    Beat::Wait => {}
                }
                beat_timer.as_mut().reset(heartbeat.due());
            }
            msg = stream.next() => {
                if matches!(msg, Some(Ok(_))) {
                    heartbeat.heard(); // a pong, or any frame
                }
                match msg {
                    Some(Ok(Message::Text(text))) => on_text(&state, &mut live, &out, &text).await,
                    Some(Ok(Message::Binary(_))) => {
                        out.try_push(error_frame(&Error::bad_request("frames are JSON text"), None));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => {
                        close.close(close::NORMAL);
                        break;
                    }
                    Some(Err(e)) => {
                        let (code, why) = read_error(e);
                        close.close_because(code, why);
                        break;
                    }

                }
            }
            _ = &mut reads_timer, if reads_due.is_some() => {
                live.flush_reads();
                // Rearmed at the top of the loop, even if nothing moved.
                reads_due = Some(i64::MIN);
            }
            _ = sleep_until(expiry) => {
                for frame in live.expire() {
                    out.try_push(Message::Text(frame.into()));
                }
            }
        }
    }
    let dead = dead || out.stuck();
    drop(out);
    finish_writing(writer, dead).await;
    metrics::counter!("renraku_ws_closed_total", "reason" => closed_because(&close)).increment(1);
    // Leaves the hub last, so that shutdown can wait for close frames to go out.
    drop(live);
}

/// Why a socket closed, for the metrics: a small fixed set.
fn closed_because(signal: &CloseSignal) -> &'static str {
    match (signal.code(), signal.reason()) {
        (close::NORMAL, _) => "normal",
        (close::GOING_AWAY, Some(PINGS_UNANSWERED)) => "idle",
        (close::GOING_AWAY, _) => "shutdown",
        (close::TRY_AGAIN_LATER, _) => "backpressure",
        (close::UNAUTHORIZED, Some(TOKEN_EXPIRED)) => "token_expired",
        (close::UNAUTHORIZED, _) => "session_ended",
        (close::TOO_MANY, _) => "limit",
        (close::PROTOCOL | close::TOO_BIG | INVALID_DATA, _) => "protocol",
        _ => "error",
    }
}

/// Waits for the writer to send what is queued and the close frame. A peer
/// that answers nothing may not read either: then it is not given
/// `DRAIN_LIMIT`, only `DEAD_DRAIN`.
async fn finish_writing(mut writer: tokio::task::JoinHandle<()>, dead: bool) {
    if !dead {
        let _ = writer.await;
    } else if tokio::time::timeout(DEAD_DRAIN, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// The close code and reason for a failed read: 1009 for a frame over the
/// limit, 1007 for a text frame that is not UTF-8 (tungstenite's `Utf8`).
pub(super) fn read_error(e: axum::Error) -> (u16, &'static str) {
    let inner = e.into_inner();
    let code = match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Utf8(_)) => return (INVALID_DATA, "text is not UTF-8"),
        Some(tungstenite::Error::Capacity(_)) => close::TOO_BIG,
        Some(tungstenite::Error::Protocol(_)) => close::PROTOCOL,
        _ => close::NORMAL,
    };
    (code, reason(code))
}

/// The runtime's instant for a wall-clock time (epoch ms), at most a year ahead.
fn instant_of(ms: i64) -> tokio::time::Instant {
    const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
    let wait = ms
        .saturating_sub(Timestamp::now().millis())
        .clamp(0, YEAR_MS);
    tokio::time::Instant::now() + Duration::from_millis(u64::try_from(wait).unwrap_or(0))
}

async fn sleep_until(at: Option<i64>) {
    match at {
        Some(ms) => tokio::time::sleep_until(instant_of(ms)).await,
        None => std::future::pending().await,
    }
}

/// Sends what is queued, then the close frame; gives up on a client that
/// stops reading for longer than `DRAIN_LIMIT` after the close was decided.
/// The room a message held is given back once it has been flushed.
async fn write_loop(
    mut sink: Sink,
    mut out: mpsc::UnboundedReceiver<(Message, u32)>,
    room: Arc<Semaphore>,
    close: Arc<CloseSignal>,
) {
    // Registered once per socket; each flush adds its count (one atomic add).
    let frames_sent = metrics::counter!("renraku_ws_frames_sent_total");
    let drain = async {
        while let Some((msg, cost)) = out.recv().await {
            let mut freed = cost;
            let mut texts = u64::from(matches!(msg, Message::Text(_)));
            if sink.feed(msg).await.is_err() {
                return;
            }
            // What else is queued goes out with the same flush: fewer TLS
            // records and syscalls when entries arrive in bursts.
            for _ in 1..FLUSH_EVERY {
                let Ok((more, cost)) = out.try_recv() else {
                    break;
                };
                freed = freed.saturating_add(cost);
                texts += u64::from(matches!(more, Message::Text(_)));
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
            frames_sent.increment(texts);
            room.add_permits(freed as usize);
        }
        let code = close.code();
        let why = close.reason().unwrap_or_else(|| reason(code));
        let _ = sink.send(close_message(code, why)).await;
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
    // Whoever still waits for room learns that the connection is gone.
    room.close();
}

/// One client frame: handed to the domain, answered (or an `error` frame).
async fn on_text(state: &AppState, live: &mut LiveSocket, out: &Out, raw: &str) {
    let (reference, frame) = parse_frame(raw);
    let r = reference.as_deref();
    let core = &state.core;
    // Any frame from the client is use of its session (the idle timeout).
    core.session_used(live.who().session);
    let result = match frame {
        Ok(ClientFrame::Auth { access_token }) => match live.renew(&access_token, r).await {
            Ok(ready) => {
                out.send(ready).await;
                Ok(())
            }
            Err(Error::Internal(e)) => Err(Error::Internal(e)),
            Err(_) => Err(Error::Unauthorized),
        },
        Ok(ClientFrame::Subscribe {
            child_id,
            after_seq,
        }) => live.subscribe(child_id, after_seq, r, out).await,
        Ok(ClientFrame::Unsubscribe { child_id }) => {
            out.send(live.unsubscribe(child_id, r)).await;
            Ok(())
        }
        Ok(ClientFrame::Post {
            child_id,
            client_id,
            category,
            categories,
            kind,
            body,
            to,
            needs_reply,
            reply_to,
        }) => {
            let input = NewEntryInput {
                client_id,
                category,
                categories,
                kind,
                body,
                to,
                needs_reply,
                reply_to,
            };
            match core.post_entry(live.who(), child_id, input).await {
                Ok(posted) => match posted.frame(r) {
                    Ok(frame) => {
                        out.send(frame).await;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }
        }
        Ok(ClientFrame::Read { child_id, seq }) => {
            core.mark_read(live.who(), child_id, seq).await.map(|_| ())
        }
        Ok(ClientFrame::AckAlert { alert_id }) => match alert_id.parse() {
            Ok(id) => match core.ack_alert(live.who(), id, "websocket").await {
                Ok(alert) => {
                    let acked = ServerFrame::Acked {
                        reference: r,
                        alert: &alert,
                    };
                    out.send(acked.to_text()).await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Err(_) => Err(Error::bad_request("alert_id: not a valid id")),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        out.push(error_frame(&e, r)).await;
    }
}
