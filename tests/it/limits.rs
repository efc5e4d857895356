//! Per-account limits on writes and sockets (v1.1 "Abuse resistance"):
//! posts (HTTP and WebSocket), alerts per child, open sockets; 429 with
//! `Retry-After`, the WebSocket's `rate_limited` error with `retry_after`,
//! 4429 for one socket too many, and 0 turning a limit off.

use serde_json::json;

use crate::helpers::*;

/// A post over HTTP, with the `Retry-After` header of the answer.
async fn post_note(s: &Session, child: &str, text: &str) -> (u16, Option<u64>) {
    let resp = s
        .api
        .client
        .post(s.api.url(&format!("/api/v1/children/{child}/entries")))
        .bearer_auth(&s.access)
        .json(
            &json!({"client_id": uuid::Uuid::new_v4().to_string(), "category": "medical",
                      "kind": "note", "body": {"text": text}}),
        )
        .send()
        .await
        .unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (resp.status().as_u16(), retry)
}

#[tokio::test]
async fn posts_alerts_and_sockets_are_limited_per_account() {
    let server = Server::demo_with(&[
        "--max-posts-per-minute",
        "3",
        "--max-alerts-per-hour",
        "2",
        "--max-sockets-per-account",
        "2",
    ])
    .await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    let before = g.last_seq(&child).await;

    // Posts: a bucket of 3, then 429 with Retry-After (a refill of one
    // token at 3 a minute takes about 20 s).
    for i in 0..3 {
        let (st, _) = post_note(&g, &child, &format!("上限テスト {i}")).await;
        assert_eq!(st, 201, "post {i}");
    }
    let (st, retry) = post_note(&g, &child, "上限テスト 3").await;
    assert_eq!(st, 429, "the fourth post within a minute");
    let retry = retry.expect("429 without Retry-After");
    assert!((1..=21).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        g.last_seq(&child).await,
        before + 3,
        "the refused post was not stored"
    );
    // The same account over the WebSocket: an error frame with retry_after.
    let mut ws = g.ws().await;
    ws.send(
        json!({"type": "post", "ref": "p4", "child_id": child, "client_id": "limit-ws-4",
                   "category": "medical", "kind": "note", "body": {"text": "上限テスト ws"}}),
    )
    .await;
    let (err, _) = ws.recv_type("error").await;
    assert_eq!(err["code"], "rate_limited", "{err}");
    assert_eq!(err["ref"], "p4", "{err}");
    assert!(err["retry_after"].as_u64().is_some_and(|s| s >= 1), "{err}");
    // Another account has its own bucket.
    let (st, _) = post_note(&doc, &child, "医師の記録").await;
    assert_eq!(st, 201);

    // Alerts: 2 per account and child an hour.
    let alerts = format!("/api/v1/children/{child}/alerts");
    for i in 0..2 {
        let (st, v) = doc
            .post(&alerts, &json!({"message": format!("テスト警報 {i}")}))
            .await;
        assert_eq!(st, 201, "alert {i}: {v}");
    }
    let r = doc.post(&alerts, &json!({"message": "テスト警報 2"})).await;
    assert_err(&r, 429, "rate_limited");
    // Someone else can still raise one for the same child.
    let (st, v) = g.post(&alerts, &json!({"message": "保護者の警報"})).await;
    assert_eq!(st, 201, "{v}");

    // Sockets: a third socket of one account is closed with 4429; the
    // first two and another account's stay usable.
    let _second = g.ws().await;
    let mut third = Ws::connect(&g.api).await;
    third
        .send(json!({"type": "auth", "access_token": g.access}))
        .await;
    third.expect_close(4429).await;
    // (alert frames may come first: recv_type skips them)
    for sock in [&mut ws, &mut doc.ws().await] {
        sock.send(json!({"type": "unsubscribe", "child_id": child, "ref": "still-open"}))
            .await;
        let (f, _) = sock.recv_type("unsubscribed").await;
        assert_eq!(f["ref"], "still-open", "{f}");
    }
    server.check_logs();
}

#[tokio::test]
async fn zero_turns_the_limits_off() {
    let server = Server::demo_with(&[
        "--max-posts-per-minute",
        "0",
        "--max-sockets-per-account",
        "0",
    ])
    .await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    // Past the default bucket of 120.
    for i in 0..130 {
        let (st, _) = post_note(&g, &child, &format!("無制限 {i}")).await;
        assert_eq!(st, 201, "post {i}");
    }
    let mut sockets = Vec::new();
    for _ in 0..22 {
        sockets.push(g.ws().await);
    }
    let (_, last) = sockets[21].subscribe(&child, 0).await;
    assert!(last >= 130);
}

#[tokio::test]
async fn a_login_flood_is_answered_busy_not_queued() {
    // Throttling out of the way: this is about the hashing queue.
    let server = Server::demo_with(&[
        "--login-max-failures-per-account",
        "1000000",
        "--login-max-failures-per-address",
        "1000000",
    ])
    .await;
    server.login("guardian.sato").await;
    let api = server.api();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                let resp = api
                    .client
                    .post(api.url("/api/v1/auth/login"))
                    .json(&json!({"login": format!("flood-{i}"), "password": "wrong-password-123"}))
                    .send()
                    .await
                    .unwrap();
                let retry = resp.headers().get("retry-after").is_some();
                let st = resp.status().as_u16();
                let v: serde_json::Value = resp.json().await.unwrap();
                (
                    st,
                    retry,
                    v["error"]["code"].as_str().unwrap_or("").to_string(),
                )
            })
        })
        .collect();
    let (mut refused, mut busy) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            (401, _, code) if code == "invalid_credentials" => refused += 1,
            (503, true, code) if code == "busy" => busy += 1,
            other => panic!("a flooded login answered {other:?}"),
        }
    }
    assert!(
        busy > 0,
        "300 concurrent logins never filled the queue ({refused} refused)"
    );
    assert!(refused > 0);
    // The flood is over: the rightful user logs in.
    server.login("guardian.sato").await;
}
