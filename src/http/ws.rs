//! `GET /api/v1/ws`: the handshake (Origin allowlist, frame limit), the
//! first `auth` frame, and the frames clients send.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

use super::error::{message_of, ApiError};
use super::AppState;
use crate::auth::token::TokenUse;
use crate::config::MAX_WS_FRAME_BYTES;
use crate::domain::Principal;
use crate::error::Error;
use crate::hub::close;
use crate::ids::ChildId;

const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
const WS_READ_BUFFER: usize = 8 * 1024;
/// Frames are written out once this much is buffered, or at a flush.
const WS_WRITE_BUFFER: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// Frames a client may send (besides `ref`, which any frame may carry).
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Auth {
        access_token: String,
    },
    Subscribe {
        child_id: ChildId,
        #[serde(default)]
        after_seq: i64,
    },
    Unsubscribe {
        child_id: ChildId,
    },
    Post {
        child_id: ChildId,
        client_id: String,
        category: String,
        kind: String,
        body: Value,
    },
    Read {
        child_id: ChildId,
        seq: i64,
    },
    AckAlert {
        alert_id: String,
    },
}

/// Parses a text frame into its `ref` and the frame; errors name what is wrong.
pub fn parse_frame(text: &str) -> (Option<String>, Result<ClientFrame, Error>) {
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return (None, Err(Error::bad_request("frame is not valid JSON"))),
    };
    let Some(obj) = value.as_object_mut() else {
        return (None, Err(Error::bad_request("frame must be a JSON object")));
    };
    let reference = match obj.remove("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return (None, Err(Error::bad_request("ref: must be a string"))),
    };
    let frame =
        serde_json::from_value(value).map_err(|e| Error::bad_request(format!("frame: {e}")));
    (reference, frame)
}

pub fn error_frame(e: &Error, reference: Option<&str>) -> Message {
    let v = json!({"type": "error", "code": e.code(), "message": message_of(e), "ref": reference});
    Message::Text(v.to_string().into())
}

pub fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The server's own origin, or one the operator listed.
fn origin_allowed(s: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true; // native clients and tests send none
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let own = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("{}://{host}", s.scheme));
    own.as_deref() == Some(origin) || s.allowed_origins.iter().any(|o| o == origin)
}

/// `GET /api/v1/ws`
async fn upgrade(
    State(s): State<AppState>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return ApiError(Error::bad_request("expected a WebSocket upgrade")).into_response();
    };
    if !origin_allowed(&s, &headers) {
        tracing::warn!("WebSocket handshake from a disallowed origin");
        return ApiError(Error::forbidden("origin not allowed")).into_response();
    }
    // Small buffers (tungstenite's default is 128 KiB each way): idle sockets
    // are most of the sockets; a larger frame grows the buffer as needed.
    ws.max_frame_size(MAX_WS_FRAME_BYTES)
        .max_message_size(MAX_WS_FRAME_BYTES)
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WS_WRITE_BUFFER)
        .on_upgrade(move |socket| run(s, socket))
}

pub type Sink = SplitSink<WebSocket, Message>;
pub type Stream = SplitStream<WebSocket>;

async fn run(state: AppState, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let Some(who) = authenticate(&state, &mut sink, &mut stream).await else {
        return;
    };
    super::ws_conn::serve(state, who, sink, stream).await;
}

/// Waits for the `auth` frame; on failure closes with 4401.
async fn authenticate(state: &AppState, sink: &mut Sink, stream: &mut Stream) -> Option<Principal> {
    let first = tokio::time::timeout(AUTH_TIMEOUT, stream.next()).await;
    let outcome = match first {
        Ok(Some(Ok(Message::Text(text)))) => match parse_frame(&text) {
            (r, Ok(ClientFrame::Auth { access_token })) => (
                r,
                state
                    .core
                    .authenticate(&access_token, TokenUse::Access)
                    .await,
            ),
            (r, Ok(_)) => (r, Err(Error::Unauthorized)),
            (r, Err(e)) => (r, Err(e)),
        },
        Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return None,
        Ok(Some(Ok(_))) | Err(_) => (None, Err(Error::Unauthorized)),
    };
    match outcome {
        (_, Ok(who)) => Some(who),
        (r, Err(e)) => {
            let e = match e {
                Error::Internal(_) => e,
                _ => Error::Unauthorized,
            };
            let _ = sink.send(error_frame(&e, r.as_deref())).await;
            let _ = sink
                .send(close_message(
                    close::UNAUTHORIZED,
                    "authentication required",
                ))
                .await;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_strict() {
        let id = uuid::Uuid::now_v7();
        let ok = format!(r#"{{"type":"subscribe","child_id":"{id}","after_seq":3,"ref":"a"}}"#);
        let (r, f) = parse_frame(&ok);
        assert_eq!(r.as_deref(), Some("a"));
        assert!(matches!(f, Ok(ClientFrame::Subscribe { after_seq: 3, .. })));
        let extra = format!(r#"{{"type":"subscribe","child_id":"{id}","x":1}}"#);
        assert!(parse_frame(&extra).1.is_err());
        assert!(parse_frame(r#"{"type":"subscribe","child_id":"nope"}"#)
            .1
            .is_err());
        assert!(parse_frame(r#"{"type":"dance"}"#).1.is_err());
        assert!(parse_frame("not json").1.is_err());
        assert!(parse_frame(r#"{"type":"read","child_id":"x","seq":"1"}"#)
            .1
            .is_err());
    }
}
