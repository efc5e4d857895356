//! The frames of the WebSocket protocol as this layer sees them: what a
//! client may send (parsed strictly), errors and close frames. The server's
//! own frames are `domain::frames::ServerFrame`.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::frames::ServerFrame;
use crate::domain::live::close;
use crate::error::Error;
use crate::http::error::message_of;
use crate::ids::{AccountId, ChildId, EntryId};

pub type Sink = SplitSink<WebSocket, Message>;
pub type Stream = SplitStream<WebSocket>;

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
        #[serde(default)]
        category: Option<String>,
        #[serde(default)]
        categories: Option<Vec<String>>,
        kind: String,
        body: Value,
        #[serde(default)]
        to: Vec<AccountId>,
        #[serde(default)]
        needs_reply: bool,
        #[serde(default)]
        reply_to: Option<EntryId>,
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
    let retry_after = match e {
        Error::RateLimited { retry_after } => Some(*retry_after),
        _ => None,
    };
    let frame = ServerFrame::Error {
        code: e.code(),
        message: &message_of(e),
        reference,
        retry_after,
    };
    Message::Text(frame.to_text().into())
}

pub fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Why a socket is closed, in its close frame.
pub fn reason(code: u16) -> &'static str {
    match code {
        close::UNAUTHORIZED => "session ended",
        close::TOO_MANY => "too many sockets for this account",
        close::TRY_AGAIN_LATER => "too slow: resume with after_seq",
        close::TOO_BIG => "frame too large",
        close::GOING_AWAY => "server shutting down",
        _ => "",
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

#[cfg(test)]
#[path = "protocol_props.rs"]
mod props;
