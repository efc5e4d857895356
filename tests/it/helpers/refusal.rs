//! Refusals checked on every path: a post refused over HTTP and the same way
//! on the WebSocket (with nothing stored), a subscription refused on the
//! socket, and a notebook's reads refused over HTTP.

use serde_json::{json, Value};

use super::{assert_err, new_client_id, Session, Ws};

/// How a refused post must be answered.
pub struct Refused<'a> {
    /// The HTTP status; the body's error code is `code`.
    pub status: u16,
    /// The error code, over HTTP and in the socket's error frame.
    pub code: &'a str,
    /// When set, this session's `last_seq` of the child must not move: the
    /// refused posts stored nothing.
    pub witness: Option<&'a Session>,
}

impl Refused<'static> {
    /// 403 `forbidden`, without a stored-nothing check.
    pub const FORBIDDEN: Refused<'static> = Refused {
        status: 403,
        code: "forbidden",
        witness: None,
    };
    /// 404 `not_found`, without a stored-nothing check.
    pub const NOT_FOUND: Refused<'static> = Refused {
        status: 404,
        code: "not_found",
        witness: None,
    };
}

/// Posts a `note` with `body` to `child` as `s` over HTTP, then on `ws` (a
/// socket of the same account), and asserts both are refused as `expect` says.
pub async fn post_refused_everywhere(
    s: &Session,
    ws: &mut Ws,
    child: &str,
    category: &str,
    body: Value,
    expect: Refused<'_>,
) {
    let before = match expect.witness {
        Some(w) => Some(w.last_seq(child).await),
        None => None,
    };
    let r = s.post_entry(child, category, "note", body.clone()).await;
    assert_err(&r, expect.status, expect.code);
    let f = ws
        .post(child, &new_client_id(), category, "note", body)
        .await;
    assert_eq!(f["type"], "error", "{category} over the socket: {f}");
    assert_eq!(f["code"], expect.code, "{category} over the socket: {f}");
    if let (Some(w), Some(before)) = (expect.witness, before) {
        assert_eq!(
            w.last_seq(child).await,
            before,
            "a refused {category} post was stored"
        );
    }
}

/// Asserts `GET /children/{child}` and `GET /children/{child}/entries` are
/// both refused with `status` and `code`.
pub async fn reads_refused(s: &Session, child: &str, status: u16, code: &str) {
    assert_err(
        &s.get(&format!("/api/v1/children/{child}")).await,
        status,
        code,
    );
    assert_err(
        &s.get(&format!("/api/v1/children/{child}/entries")).await,
        status,
        code,
    );
}

impl Ws {
    /// Subscribes to `child` from 0 with ref `r`; asserts the answer is an
    /// error frame with that ref and one of `codes`, and returns it.
    pub async fn subscribe_refused(&mut self, child: &str, r: &str, codes: &[&str]) -> Value {
        self.send(json!({"type": "subscribe", "child_id": child, "after_seq": 0, "ref": r}))
            .await;
        let f = self.recv().await;
        assert_eq!(f["type"], "error", "{f}");
        assert_eq!(f["ref"], r, "{f}");
        assert!(
            codes.iter().any(|c| f["code"] == *c),
            "subscribe {child}: expected one of {codes:?}, got {f}"
        );
        f
    }
}
