//! A WebSocket frame cell: a socket authenticated with the caller's token,
//! one frame with a ref (on the caller's base child, `World::base_for`),
//! and the answer to that ref as a status.

use std::time::Duration;

use serde_json::json;

use super::cells::Answer;
use super::effects;
use super::policy::Rel;
use super::world::World;
use crate::helpers::*;

/// The status an error frame's code stands for.
fn status_of_code(code: &str) -> u16 {
    match code {
        "bad_request" => 400,
        "unauthorized" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "conflict" => 409,
        "rate_limited" => 429,
        "internal" => 500,
        _ => 599,
    }
}

/// A frame cell: a socket authenticated with the caller's token, one frame
/// with a ref, and the answer to that ref.
pub async fn frame_cell(w: &World, name: &str, rel: Rel, want: u16) -> Answer {
    let me = w.actor(rel);
    let mut ws = Ws::connect(&w.api).await;
    w.api.registry.add_token("bearer token", &me.access);
    ws.send(json!({"type": "auth", "access_token": me.access, "ref": "auth"}))
        .await;
    let authed = until_ref(&mut ws, &["auth"]).await;
    if name == "auth" || authed.status != 200 {
        return authed;
    }
    let base = w.base_for(rel);
    let frame = match name {
        "subscribe" => json!({"type": "subscribe", "child_id": base, "after_seq": 0}),
        "unsubscribe" => json!({"type": "unsubscribe", "child_id": base}),
        "post" => json!({"type": "post", "child_id": base, "client_id": new_client_id(),
            "category": "medical", "kind": "note", "body": {"text": "行列の記録"}}),
        "read" => json!({"type": "read", "child_id": base, "seq": 1}),
        "ack_alert" => json!({"type": "ack_alert", "alert_id": w.alert_for(rel)}),
        _ => {
            return Answer {
                status: 0,
                detail: "the matrix does not know how to send this frame (cells.rs)".into(),
            }
        }
    };
    let mut frame = frame;
    frame["ref"] = json!("cell");
    // A refused write leaves the child as it was (`effects.rs`).
    let writes = matches!(name, "post" | "read" | "ack_alert");
    let before = match want >= 400 && writes {
        true => Some(effects::snapshot(w, base, name == "ack_alert").await),
        false => None,
    };
    ws.send(frame).await;
    // `read` answers nothing: a sentinel's answer says no error came first.
    let refs: &[&str] = if name == "read" {
        ws.send(
            json!({"type": "unsubscribe", "child_id": uuid::Uuid::now_v7(), "ref": "sentinel"}),
        )
        .await;
        &["cell", "sentinel"]
    } else {
        &["cell"]
    };
    let a = if name == "subscribe" {
        backlog(&mut ws, rel).await
    } else {
        until_ref(&mut ws, refs).await
    };
    ws.close().await;
    if let (Some(before), true) = (&before, a.status >= 400) {
        if let Some(what) = effects::changed(
            before,
            &effects::snapshot(w, base, name == "ack_alert").await,
        ) {
            return Answer {
                status: 0,
                detail: format!("refused with {}, yet {what}", a.status),
            };
        }
    }
    a
}

/// A subscription's answer: its backlog must show only what the caller's
/// consent covers (see `content.rs`), then `subscribed`.
async fn backlog(ws: &mut Ws, rel: Rel) -> Answer {
    let mut entries = Vec::new();
    loop {
        match ws.next_frame(Duration::from_secs(5)).await {
            Frame::Json(v) if v["type"] == "entry" => entries.push(v["entry"].clone()),
            Frame::Json(v) if v["type"] == "subscribed" && v["ref"] == "cell" => {
                return match super::content::entries_problem(rel, &entries) {
                    Some(why) => Answer {
                        status: 0,
                        detail: format!("subscribed, but the backlog {why}"),
                    },
                    None => Answer {
                        status: 200,
                        detail: v.to_string(),
                    },
                };
            }
            Frame::Json(v) if v["ref"] == "cell" => return answer_of(v),
            Frame::Json(_) => continue,
            other => {
                return Answer {
                    status: 599,
                    detail: format!("{other:?}"),
                }
            }
        }
    }
}

/// Reads until a frame answering one of `refs` (the `ready` of an `auth`
/// carries its ref too), a close, or 5 s of nothing.
async fn until_ref(ws: &mut Ws, refs: &[&str]) -> Answer {
    loop {
        match ws.next_frame(Duration::from_secs(5)).await {
            Frame::Json(v) if refs.iter().any(|r| v["ref"] == *r) || v["type"] == "ready" => {
                return answer_of(v)
            }
            Frame::Json(_) => continue,
            Frame::Close(Some(4401)) => {
                return Answer {
                    status: 401,
                    detail: "closed 4401".into(),
                }
            }
            other => {
                return Answer {
                    status: 599,
                    detail: format!("{other:?}"),
                }
            }
        }
    }
}

/// The answer a frame with the cell's ref stands for.
fn answer_of(v: serde_json::Value) -> Answer {
    let status = match v["type"].as_str() {
        // The contract's error frame: a code and a message.
        Some("error") if v["message"].is_string() => {
            status_of_code(v["code"].as_str().unwrap_or_default())
        }
        Some("error") => 599,
        _ => 200,
    };
    Answer {
        status,
        detail: v.to_string(),
    }
}
