//! Calling one cell: the request a row and a relation make
//! (`requests.rs`) and its answer as a status (frames: `frames.rs`),
//! checked for the contract's error shape and for content (`content.rs`).

use serde_json::Value;

use super::effects;
use super::policy::{Call, Case, Rel, Row};
use super::world::World;
use crate::helpers::*;

/// A push origin the server accepts for subscriptions (nothing listens there).
pub const PUSH_ORIGIN: &str = "https://127.0.0.1:9";

/// The answer of one cell: its status, and what to show when it is not the expected one.
pub struct Answer {
    pub status: u16,
    pub detail: String,
}

/// The error codes the contract pairs with each error status.
fn codes_for(status: u16) -> &'static [&'static str] {
    match status {
        400 => &["bad_request", "weak_password"],
        401 => &[
            "unauthorized",
            "invalid_credentials",
            "totp_required",
            "session_expired",
        ],
        403 => &["forbidden", "totp_enrollment_required"],
        404 => &["not_found"],
        409 => &["conflict"],
        429 => &["rate_limited"],
        _ => &[],
    }
}

/// An HTTP answer; an error whose body is not the contract's
/// `{"error": {"code", "message"}}` with a code of its status counts as
/// status 0, so that it shows as a mismatch.
fn answer(r: Resp) -> Answer {
    let detail = r.1.to_string();
    if r.0 >= 400 {
        let code = r.1.pointer("/error/code").and_then(Value::as_str);
        let has_message = r.1.pointer("/error/message").is_some_and(Value::is_string);
        if !code.is_some_and(|c| codes_for(r.0).contains(&c)) || !has_message {
            return Answer {
                status: 0,
                detail: format!("{} with an error body off the contract: {detail}", r.0),
            };
        }
    }
    Answer {
        status: r.0,
        detail,
    }
}

/// Calls the cell of `row` and `rel`, whose expected answer is `want`.
pub async fn call(w: &World, row: &Row, rel: Rel, want: u16) -> Answer {
    match row.call {
        Call::Http(method, path) => http_cell(w, method, path, row.case, rel, want).await,
        Call::Frame(name) => super::frames::frame_cell(w, name, rel, want).await,
    }
}

async fn http_cell(w: &World, method: &str, path: &str, case: Case, rel: Rel, want: u16) -> Answer {
    let Some(req) = super::requests::request(w, method, path, case, rel).await else {
        return Answer {
            status: 0,
            detail: "the matrix does not know how to call this row (requests.rs)".into(),
        };
    };
    let witness = (want >= 400 && effects::writes_to_a_child(method, path))
        .then(|| effects::child_of(w, &req.url, rel));
    let before = match &witness {
        Some(child) => Some(effects::snapshot(w, child, path.contains("alerts")).await),
        None => None,
    };
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let r = match &req.raw {
        Some((content_type, bytes)) => raw_request(w, m, &req, content_type, bytes.clone()).await,
        None => {
            w.api
                .request(m, &req.url, req.token.as_deref(), req.body.as_ref())
                .await
        }
    };
    // Tokens an answer holds are secrets the server's log must not show.
    w.api.record_tokens(&r.1);
    if let (Some(child), Some(before), true) = (&witness, &before, r.0 >= 400) {
        let after = effects::snapshot(w, child, path.contains("alerts")).await;
        if let Some(what) = effects::changed(before, &after) {
            return Answer {
                status: 0,
                detail: format!("refused with {}, yet {what}", r.0),
            };
        }
    }
    if let Some(why) = (r.0 < 300 && case != Case::Managed)
        .then(|| super::content::problem(w, method, path, rel, &r.1))
        .flatten()
    {
        return Answer {
            status: 0,
            detail: format!("{} but {why}", r.0),
        };
    }
    // A membership made by a member is only asked for: 202 in the table.
    if (method, path) == ("POST", "/api/v1/children/{id}/members")
        && r.0 == 201
        && r.1["status"] == "requested"
    {
        return Answer {
            status: 202,
            detail: r.1.to_string(),
        };
    }
    answer(r)
}

/// A request with a raw body (an upload): status and JSON answer.
async fn raw_request(
    w: &World,
    m: reqwest::Method,
    req: &super::requests::Request,
    content_type: &str,
    bytes: Vec<u8>,
) -> Resp {
    let mut rb = w
        .api
        .client
        .request(m, w.api.url(&req.url))
        .header("content-type", content_type)
        .body(bytes);
    if let Some(t) = &req.token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}
