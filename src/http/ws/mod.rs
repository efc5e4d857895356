//! `GET /api/v1/ws`: the handshake (Origin allowlist, frame limit) and the
//! first `auth` frame; `conn` serves the socket from then on, `protocol`
//! holds the client frames and close frames.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::AppState;
use crate::config::MAX_WS_FRAME_BYTES;
use crate::domain::live::close;
use crate::domain::Principal;
use crate::error::Error;
use protocol::{close_message, error_frame, parse_frame, ClientFrame, Sink, Stream};

mod conn;
mod protocol;

const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
const WS_READ_BUFFER: usize = 8 * 1024;
/// Frames are written out once this much is buffered, or at a flush.
const WS_WRITE_BUFFER: usize = 16 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upgrade))
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

/// The WebSocket of live delivery (frames described at the top).
#[utoipa::path(get, path = "/ws", tag = "live",
    responses((status = 101, description = "Switching to the WebSocket protocol: see the description at the top")))]
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

async fn run(state: AppState, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let Some(who) = authenticate(&state, &mut sink, &mut stream).await else {
        return;
    };
    conn::serve(state, who, sink, stream).await;
}

/// Waits for the `auth` frame; on failure closes with 4401.
async fn authenticate(state: &AppState, sink: &mut Sink, stream: &mut Stream) -> Option<Principal> {
    let first = tokio::time::timeout(AUTH_TIMEOUT, stream.next()).await;
    let outcome = match first {
        Ok(Some(Ok(Message::Text(text)))) => match parse_frame(&text) {
            (r, Ok(ClientFrame::Auth { access_token })) => {
                (r, state.core.authenticate(&access_token).await)
            }
            (r, Ok(_)) => (r, Err(Error::Unauthorized)),
            (r, Err(e)) => (r, Err(e)),
        },
        Ok(Some(Ok(Message::Close(_)))) | Ok(None) => return None,
        Ok(Some(Err(e))) => {
            // 1007 for text that is not UTF-8, 1009 for a frame too large.
            let (code, why) = conn::read_error(e);
            if code != close::NORMAL {
                let _ = sink.send(close_message(code, why)).await;
            }
            return None;
        }
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
