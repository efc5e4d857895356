//! One authenticated WebSocket: reads client frames and hands them to the
//! domain's [`LiveSocket`], hands it what the hub queued, and writes the
//! frames it answers through a writer task behind a bounded queue.

use axum::extract::ws::Message;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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

/// The socket's outbound queue, as the domain sees it.
struct Out {
    tx: mpsc::Sender<Message>,
    close: Arc<CloseSignal>,
}

impl Out {
    /// Queues a message, waiting for room (backlog and answers).
    async fn push(&self, msg: Message) {
        tokio::select! {
            r = self.tx.send(msg) => if r.is_err() { self.close.close(close::NORMAL) },
            _ = self.close.closed() => {}
        }
    }

    /// Queues a frame without waiting: a client this far behind is closed (1013).
    fn try_push(&self, msg: Message) {
        if self.tx.try_send(msg).is_err() {
            self.close.close(close::TRY_AGAIN_LATER);
        }
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
    let (tx, out_rx) = mpsc::channel(state.core.socket_queue());
    let writer = tokio::spawn(write_loop(sink, out_rx, close.clone()));
    let out = Out {
        tx,
        close: close.clone(),
    };
    live.greet(&out).await;
    loop {
        let expiry = live.next_expiry();
        let token_expiry = live.token_expiry();
        tokio::select! {
            biased;
            _ = close.closed() => break,
            _ = sleep_until(Some(token_expiry)) => {
                close.close_because(close::UNAUTHORIZED, "token expired");
                break;
            }
            ev = events.recv() => match ev {
                Some(ev) => {
                    if let Some(frame) = live.on_event(ev) {
                        out.try_push(Message::Text(frame.into()));
                    }
                }
                None => break,
            },
            msg = stream.next() => match msg {
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
                    close.close(read_error_code(e));
                    break;
                }
            },
            _ = sleep_until(expiry) => {
                for frame in live.expire() {
                    out.try_push(Message::Text(frame.into()));
                }
            }
        }
    }
    drop(out);
    let _ = writer.await;
    // Leaves the hub last, so that shutdown can wait for close frames to go out.
    drop(live);
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
            kind,
            body,
        }) => {
            let input = NewEntryInput {
                client_id,
                category,
                kind,
                body,
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
