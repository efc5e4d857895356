//! Group 9: bad input. Unparseable frames, unknown fields, wrong types, bad
//! UUIDs, unknown categories, oversized frames and bodies each get the
//! contract's error or close code, and the server keeps serving everyone.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::helpers::*;

#[tokio::test]
async fn http_bad_input_gets_the_contract_errors() {
    let server = Server::demo().await;
    let api = server.api();
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let entries = format!("/api/v1/children/{child}/entries");
    let before = g.last_seq(&child).await;

    // Not JSON at all.
    let r = api
        .raw(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            b"{not json".to_vec(),
        )
        .await;
    assert_err(&r, 400, "bad_request");
    let r = api
        .raw(
            reqwest::Method::POST,
            &entries,
            Some(&g.access),
            b"[1,2".to_vec(),
        )
        .await;
    assert_err(&r, 400, "bad_request");

    let cid = new_client_id;
    let bad: Vec<(&str, Value)> = vec![
        (
            "unknown top-level field",
            json!({"client_id": cid(), "category": "family", "kind": "note", "body": {"text": "x"}, "extra": 1}),
        ),
        (
            "unknown body field",
            json!({"client_id": cid(), "category": "family", "kind": "note", "body": {"text": "x", "color": "red"}}),
        ),
        (
            "missing category",
            json!({"client_id": cid(), "kind": "note", "body": {"text": "x"}}),
        ),
        (
            "missing client_id",
            json!({"category": "family", "kind": "note", "body": {"text": "x"}}),
        ),
        (
            "unknown category",
            json!({"client_id": cid(), "category": "gossip", "kind": "note", "body": {"text": "x"}}),
        ),
        (
            "category wrong type",
            json!({"client_id": cid(), "category": 3, "kind": "note", "body": {"text": "x"}}),
        ),
        (
            "unknown kind",
            json!({"client_id": cid(), "category": "family", "kind": "poem", "body": {"text": "x"}}),
        ),
        (
            "text wrong type",
            json!({"client_id": cid(), "category": "family", "kind": "note", "body": {"text": 42}}),
        ),
        (
            "body not an object",
            json!({"client_id": cid(), "category": "family", "kind": "note", "body": "x"}),
        ),
        (
            "vital value as string",
            json!({"client_id": cid(), "category": "medical", "kind": "vital", "body": {"measure": "spo2", "value": "97", "unit": "%"}}),
        ),
        (
            "vital without value",
            json!({"client_id": cid(), "category": "medical", "kind": "vital", "body": {"measure": "spo2", "unit": "%"}}),
        ),
        (
            "attendance bad status",
            json!({"client_id": cid(), "category": "education", "kind": "attendance", "body": {"date": "2026-04-08", "status": "asleep"}}),
        ),
        (
            "attendance bad date",
            json!({"client_id": cid(), "category": "education", "kind": "attendance", "body": {"date": "8 April", "status": "present"}}),
        ),
        (
            "plan goals wrong type",
            json!({"client_id": cid(), "category": "welfare", "kind": "plan", "body": {"text": "x", "goals": "one"}}),
        ),
    ];
    for (what, body) in &bad {
        let r = g.post(&entries, body).await;
        assert_eq!(r.0, 400, "{what}: {} {}", r.0, r.1);
        assert_eq!(err_code(&r.1), "bad_request", "{what}: {}", r.1);
    }
    // The message names the missing field.
    let r = g.post(&entries, &bad[2].1).await;
    let msg = r.1["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("category"),
        "message does not name the field: {msg}"
    );

    // Bad UUIDs in paths.
    for p in [
        "/api/v1/children/not-a-uuid".to_string(),
        "/api/v1/children/not-a-uuid/entries".to_string(),
        format!("/api/v1/children/{child}/members/xyz"),
    ] {
        let r = g.get(&p).await;
        if p.ends_with("xyz") {
            // GET on a member is not a route; PATCH is.
            let r = g.patch(&p, &json!({"can_post": true})).await;
            assert_err(&r, 400, "bad_request");
        } else {
            assert_err(&r, 400, "bad_request");
        }
    }
    let r = g
        .post(
            &format!("/api/v1/children/{child}/entries/zzz/revisions"),
            &json!({"body": {"text": "x"}, "reason": "x"}),
        )
        .await;
    assert_err(&r, 400, "bad_request");
    let r = g
        .post_empty(&format!("/api/v1/children/{child}/members/123/approve"))
        .await;
    assert_err(&r, 400, "bad_request");
    // Bad query parameters.
    let r = g.get(&format!("{entries}?after_seq=abc")).await;
    assert_err(&r, 400, "bad_request");

    // Text limit: 20,000 characters (not bytes) is fine, one more is 413.
    let (st, e) = g
        .post_entry(&child, "family", "note", json!({"text": long_text(20_000)}))
        .await;
    assert_eq!(st, 201, "20,000 characters refused: {e}");
    let r = g
        .post_entry(&child, "family", "note", json!({"text": long_text(20_001)}))
        .await;
    assert_err(&r, 413, "payload_too_large");
    // Request body over 1 MiB.
    let big = json!({"client_id": cid(), "category": "family", "kind": "note",
                     "body": {"text": "x"}, "padding": "x".repeat(1_100_000)});
    let r = api
        .raw(
            reqwest::Method::POST,
            &entries,
            Some(&g.access),
            big.to_string().into_bytes(),
        )
        .await;
    assert_err(&r, 413, "payload_too_large");

    // Nothing but the 20,000-character note was stored, and all is well.
    assert_eq!(g.last_seq(&child).await, before + 1);
    let (st, h) = api.get("/healthz", None).await;
    assert_eq!((st, h), (200, json!({"status": "ok"})));
    server.login("doctor.ito").await;
    server.check_logs();
}

/// Sends a frame and expects an error frame with this code and ref.
async fn expect_ws_error(ws: &mut Ws, frame: &str, code: &str, r: Option<&str>) {
    ws.send_text(frame).await;
    let f = ws.recv().await;
    assert_eq!(f["type"], "error", "{frame} -> {f}");
    assert_eq!(f["code"], code, "{frame} -> {f}");
    assert!(f["message"].is_string(), "{f}");
    match r {
        Some(r) => assert_eq!(f["ref"], r, "{frame} -> {f}"),
        None => assert_eq!(f["ref"], Value::Null, "{frame} -> {f}"),
    }
}

#[tokio::test]
async fn websocket_bad_frames_get_errors_and_the_socket_stays_usable() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let mut ws = g.ws().await;

    expect_ws_error(&mut ws, "{this is not json", "bad_request", None).await;
    expect_ws_error(&mut ws, "[]", "bad_request", None).await;
    expect_ws_error(
        &mut ws,
        r#"{"type":"dance","ref":"d1"}"#,
        "bad_request",
        Some("d1"),
    )
    .await;
    expect_ws_error(
        &mut ws,
        &json!({"type": "subscribe", "child_id": child, "after_seq": 0, "extra": true, "ref": "u1"}).to_string(),
        "bad_request",
        Some("u1"),
    )
    .await;
    expect_ws_error(
        &mut ws,
        &json!({"type": "subscribe", "child_id": child, "after_seq": "zero", "ref": "t1"})
            .to_string(),
        "bad_request",
        Some("t1"),
    )
    .await;
    expect_ws_error(
        &mut ws,
        &json!({"type": "subscribe", "child_id": "not-a-uuid", "after_seq": 0, "ref": "b1"})
            .to_string(),
        "bad_request",
        Some("b1"),
    )
    .await;
    expect_ws_error(
        &mut ws,
        &json!({"type": "post", "ref": "c1", "child_id": child, "client_id": new_client_id(),
                "category": "gossip", "kind": "note", "body": {"text": "x"}})
        .to_string(),
        "bad_request",
        Some("c1"),
    )
    .await;
    expect_ws_error(
        &mut ws,
        &json!({"type": "post", "ref": "f1", "child_id": child, "client_id": new_client_id(),
                "category": "family", "kind": "note", "body": {"text": "x", "font": "big"}})
        .to_string(),
        "bad_request",
        Some("f1"),
    )
    .await;
    expect_ws_error(
        &mut ws,
        &json!({"type": "post", "ref": "l1", "child_id": child, "client_id": new_client_id(),
                "category": "family", "kind": "note", "body": {"text": long_text(20_001)}})
        .to_string(),
        "payload_too_large",
        Some("l1"),
    )
    .await;
    // A second auth on an authenticated socket is not a valid frame either.
    ws.send(json!({"type": "auth", "access_token": g.access, "ref": "a2"}))
        .await;
    let f = ws.recv().await;
    assert!(f["type"] == "error" || f["type"] == "ready", "{f}");
    // A binary frame is not a JSON text frame.
    ws.try_send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let f = ws.recv().await;
    assert_eq!(f["type"], "error", "{f}");
    assert_eq!(f["code"], "bad_request", "{f}");

    // Still usable: subscribe and post work.
    let (backlog, last) = ws.subscribe(&child, 0).await;
    assert_eq!(backlog.len() as i64, last);
    let f = ws
        .post(
            &child,
            &new_client_id(),
            "family",
            "note",
            json!({"text": "まだ使える"}),
        )
        .await;
    assert_eq!(f["type"], "posted", "{f}");
    assert_eq!(f["entry"]["seq"], last + 1);
    server.check_logs();
}

#[tokio::test]
async fn oversized_frame_closes_1009_and_others_are_unaffected() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let child = g.child_id(HINATA).await;
    let mut other = coord.ws().await;
    let (_, last) = other.subscribe(&child, 0).await;

    let mut ws = g.ws().await;
    ws.subscribe(&child, last).await;
    // 300 KiB in one text frame (the limit is 256 KiB).
    let frame = json!({"type": "post", "ref": "big", "child_id": child, "client_id": new_client_id(),
        "category": "family", "kind": "note", "body": {"text": "x".repeat(300 * 1024)}});
    let _ = ws.try_send(Message::text(frame.to_string())).await;
    ws.expect_close(1009).await;

    // Just under the limit is an ordinary frame (here: a too-long text).
    let mut ws2 = g.ws().await;
    let frame = json!({"type": "post", "ref": "under", "child_id": child, "client_id": new_client_id(),
        "category": "family", "kind": "note", "body": {"text": "x".repeat(250 * 1024)}});
    ws2.send_text(&frame.to_string()).await;
    let f = ws2.recv().await;
    assert_eq!(f["type"], "error", "{f}");
    assert_eq!(f["code"], "payload_too_large", "{f}");
    assert_eq!(f["ref"], "under");

    // The other client is served as before.
    let e = g.note(&child, "family", "他の接続は無事").await;
    let f = other.recv().await;
    assert_eq!(f["type"], "entry", "{f}");
    assert_eq!(f["entry"]["id"], e["id"]);
    assert_eq!(f["entry"]["seq"], last + 1);
    server.check_logs();
}

#[tokio::test]
async fn frames_before_auth_are_refused() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let mut ws = Ws::connect(&server.api()).await;
    ws.send(json!({"type": "subscribe", "child_id": child, "after_seq": 0}))
        .await;
    // Either an unauthorized error or a 4401 close; never any entry.
    match ws.next_frame(RECV_TIMEOUT).await {
        Frame::Json(f) => {
            assert_eq!(f["type"], "error", "{f}");
            assert_eq!(f["code"], "unauthorized", "{f}");
        }
        Frame::Close(c) => assert_eq!(c, Some(4401)),
        other => panic!("subscribe before auth: {other:?}"),
    }
    server.check_logs();
}

#[tokio::test]
async fn origin_is_checked_at_the_handshake() {
    let server = Server::demo_with(&["--allowed-origin", "https://app.example"]).await;
    let api = server.api();
    let g = server.login("guardian.sato").await;

    match Ws::try_connect(&api, Some("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403, "{resp:?}")
        }
        Err(e) => panic!("evil origin: unexpected error {e}"),
        Ok(_) => panic!("handshake with Origin https://evil.example accepted"),
    }
    // An allowed origin, the server's own origin and no origin all work.
    let own = server.base.clone();
    for origin in [Some("https://app.example"), Some(own.as_str()), None] {
        let stream = Ws::try_connect(&api, origin)
            .await
            .unwrap_or_else(|e| panic!("origin {origin:?} refused: {e}"));
        let mut ws = Ws {
            stream,
            account_id: None,
        };
        ws.send(json!({"type": "auth", "access_token": g.access}))
            .await;
        assert_eq!(ws.recv().await["type"], "ready");
    }
    server.check_logs();
}
