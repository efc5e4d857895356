//! The WebSocket client: connect (with TLS and an Origin), authenticate,
//! read frames with timeouts, subscribe and post with a ref.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{rustls_config, Api};

/// Default receive timeout: a missing frame fails the test instead of hanging it.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the next read from a socket gave.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    /// A text frame that is not JSON, or a binary frame.
    Other(String),
    /// Close frame with its code (None: close without a code).
    Close(Option<u16>),
    /// The connection ended without a close frame (or with an error).
    Ended(String),
    Timeout,
}

pub struct Ws {
    pub stream: WsStream,
    pub account_id: Option<String>,
}

impl Ws {
    pub async fn try_connect(
        api: &Api,
        origin: Option<&str>,
    ) -> Result<WsStream, tokio_tungstenite::tungstenite::Error> {
        let mut req = api.ws_url.as_str().into_client_request().unwrap();
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).unwrap());
        }
        let connector = api.cert_pem.as_ref().map(|pem| {
            tokio_tungstenite::Connector::Rustls(Arc::new(rustls_config(pem.as_slice())))
        });
        let fut = tokio_tungstenite::connect_async_tls_with_config(req, None, false, connector);
        match tokio::time::timeout(Duration::from_secs(10), fut).await {
            Ok(r) => r.map(|(s, _)| s),
            Err(_) => panic!("WebSocket handshake timed out"),
        }
    }

    /// Connects and authenticates over a TCP socket whose receive buffer is
    /// small (16 KiB), so that a client that stops reading holds little of
    /// what the server sends in its kernel.
    pub async fn connect_auth_small_buffer(api: &Api, token: &str) -> Ws {
        let req = api.ws_url.as_str().into_client_request().unwrap(); // ok: the test's own URL
        let host = req.uri().authority().unwrap().to_string(); // ok: the test's own URL
        let addr = tokio::net::lookup_host(host).await.unwrap().next().unwrap(); // ok: the test's own address
        let socket = tokio::net::TcpSocket::new_v4().unwrap(); // ok: test set-up
        socket.set_recv_buffer_size(16 * 1024).unwrap(); // ok: test set-up
        let tcp = socket.connect(addr).await.unwrap(); // ok: the server is up
        let connector = api.cert_pem.as_ref().map(|pem| {
            tokio_tungstenite::Connector::Rustls(Arc::new(rustls_config(pem.as_slice())))
        });
        let (stream, _) =
            tokio_tungstenite::client_async_tls_with_config(req, tcp, None, connector)
                .await
                .unwrap_or_else(|e| panic!("ws connect: {e}"));
        let mut ws = Ws {
            stream,
            account_id: None,
        };
        ws.send(json!({"type": "auth", "access_token": token}))
            .await;
        let ready = ws.recv().await;
        assert_eq!(ready["type"], "ready", "expected ready, got {ready}");
        ws
    }

    /// Connects without authenticating.
    pub async fn connect(api: &Api) -> Ws {
        let stream = Self::try_connect(api, None)
            .await
            .unwrap_or_else(|e| panic!("ws connect: {e}"));
        Ws {
            stream,
            account_id: None,
        }
    }

    /// Connects with an `Origin` header (as a browser page does).
    pub async fn connect_with_origin(api: &Api, origin: &str) -> Ws {
        let stream = Self::try_connect(api, Some(origin))
            .await
            .unwrap_or_else(|e| panic!("ws connect from {origin}: {e}"));
        Ws {
            stream,
            account_id: None,
        }
    }

    /// Connects, sends the auth frame and expects `ready`.
    pub async fn connect_auth(api: &Api, token: &str) -> Ws {
        let mut ws = Self::connect(api).await;
        api.registry.add_token("bearer token", token);
        ws.send(json!({"type": "auth", "access_token": token}))
            .await;
        let ready = ws.recv().await;
        assert_eq!(ready["type"], "ready", "expected ready, got {ready}");
        ws.account_id = ready["account_id"].as_str().map(str::to_string);
        assert!(ws.account_id.is_some(), "ready without account_id: {ready}");
        ws
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, s: &str) {
        self.stream
            .send(Message::text(s.to_string()))
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    pub async fn try_send(&mut self, msg: Message) -> Result<(), String> {
        self.stream.send(msg).await.map_err(|e| e.to_string())
    }

    /// The next frame within `d` (pings/pongs skipped).
    pub async fn next_frame(&mut self, d: Duration) -> Frame {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let r = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Frame::Timeout,
                Ok(r) => r,
            };
            match r {
                None => return Frame::Ended("stream ended".into()),
                Some(Err(e)) => return Frame::Ended(e.to_string()),
                Some(Ok(Message::Text(t))) => {
                    return match serde_json::from_str::<Value>(t.as_str()) {
                        Ok(v) => Frame::Json(v),
                        Err(_) => Frame::Other(t.to_string()),
                    }
                }
                Some(Ok(Message::Binary(b))) => {
                    return Frame::Other(format!("binary frame of {} bytes", b.len()))
                }
                Some(Ok(Message::Close(cf))) => return Frame::Close(cf.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next JSON frame, within 5 s; panics on anything else.
    #[track_caller]
    pub fn recv(&mut self) -> impl std::future::Future<Output = Value> + '_ {
        let loc = std::panic::Location::caller();
        async move {
            match self.next_frame(RECV_TIMEOUT).await {
                Frame::Json(v) => v,
                other => panic!("{loc}: expected a JSON frame, got {other:?}"),
            }
        }
    }

    /// The next JSON frame within `d`, or None on timeout; panics on close.
    pub async fn recv_within(&mut self, d: Duration) -> Option<Value> {
        match self.next_frame(d).await {
            Frame::Json(v) => Some(v),
            Frame::Timeout => None,
            other => panic!("expected a JSON frame or silence, got {other:?}"),
        }
    }

    /// Reads frames until one has `"type": ty` (5 s overall); returns it and
    /// the frames skipped on the way.
    pub async fn recv_type(&mut self, ty: &str) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + RECV_TIMEOUT;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["type"] == ty => return (v, skipped),
                Frame::Json(v) => skipped.push(v),
                other => panic!("waiting for {ty:?}: got {other:?} after {skipped:?}"),
            }
        }
    }

    /// Reads (skipping text frames) until the close frame; asserts its code.
    /// Returns the JSON frames read before it.
    pub async fn expect_close(&mut self, code: u16) -> Vec<Value> {
        self.expect_close_within(code, RECV_TIMEOUT).await
    }

    pub async fn expect_close_within(&mut self, code: u16, d: Duration) -> Vec<Value> {
        let deadline = Instant::now() + d;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) => before.push(v),
                Frame::Other(_) => {}
                Frame::Close(c) => {
                    assert_eq!(
                        c,
                        Some(code),
                        "expected close {code}, got close {c:?} (after {} frames)",
                        before.len()
                    );
                    return before;
                }
                Frame::Ended(e) => panic!(
                    "expected close {code}, connection ended without close frame: {e} (after {} frames)",
                    before.len()
                ),
                Frame::Timeout => panic!(
                    "expected close {code}, nothing within {d:?} (after {} frames)",
                    before.len()
                ),
            }
        }
    }

    /// Asserts no JSON frame arrives within `d` (used only after a sentinel
    /// proved delivery caught up, or where the contract is about time).
    pub async fn expect_silence(&mut self, d: Duration) {
        match self.next_frame(d).await {
            Frame::Timeout => {}
            other => panic!("expected silence for {d:?}, got {other:?}"),
        }
    }

    /// Subscribes and collects the backlog: returns (entries, last_seq of `subscribed`).
    pub async fn subscribe(&mut self, child: &str, after_seq: i64) -> (Vec<Value>, i64) {
        self.send(json!({"type": "subscribe", "child_id": child, "after_seq": after_seq}))
            .await;
        let mut entries = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["type"] == "entry" => {
                    assert_eq!(
                        v["entry"]["child_id"], child,
                        "backlog of another child: {v}"
                    );
                    entries.push(v["entry"].clone());
                }
                Frame::Json(v) if v["type"] == "subscribed" => {
                    assert_eq!(v["child_id"], child, "{v}");
                    let last = v["last_seq"]
                        .as_i64()
                        .unwrap_or_else(|| panic!("subscribed without last_seq: {v}"));
                    return (entries, last);
                }
                other => panic!("subscribe {child}: unexpected {other:?}"),
            }
        }
    }

    /// Sends `frame` with a fresh `ref`; returns the answer that carries it.
    pub async fn request(&mut self, mut frame: Value) -> Value {
        let r = format!("r-{}", uuid::Uuid::new_v4().simple());
        frame["ref"] = json!(r);
        self.send(frame).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["ref"] == r.as_str() => return v,
                Frame::Json(_) => continue,
                other => panic!("request {r}: unexpected {other:?}"),
            }
        }
    }

    /// Posts over the socket with a ref; returns the answer frame (`posted` or `error`).
    pub async fn post(
        &mut self,
        child: &str,
        client_id: &str,
        category: &str,
        kind: &str,
        body: Value,
    ) -> Value {
        let r = format!("r-{}", uuid::Uuid::new_v4().simple());
        self.send(
            json!({"type": "post", "ref": r, "child_id": child, "client_id": client_id,
            "category": category, "kind": kind, "body": body}),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["ref"] == r.as_str() => return v,
                Frame::Json(_) => continue,
                other => panic!("post {client_id}: unexpected {other:?}"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
