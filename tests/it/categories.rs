//! Entries filed under several categories (issue 21, point 2): a meeting
//! note reaches every member granted any of its categories — over HTTP,
//! live on a socket, in search and in the export — and no one else; its
//! author must hold every one of them; a correction keeps them; bad
//! category lists change nothing.

use serde_json::json;

use crate::helpers::*;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_note_under_several_categories_reaches_whoever_holds_any_of_them() {
    let server = Server::demo().await;
    // Souta: the coordinator holds every category; Dr Ito medical only;
    // the welfare worker welfare and family.
    let yamada = server.login("coordinator.yamada").await;
    let ito = server.login("doctor.ito").await;
    let hayashi = server.login("welfare.hayashi").await;
    let child = yamada.child_id(SOTA).await;
    let word = server.marker();
    let mut ito_ws = ito.ws().await;
    ito_ws.subscribe(&child, 0).await;
    let mut hayashi_ws = hayashi.ws().await;
    hayashi_ws.subscribe(&child, 0).await;

    let entries = format!("/api/v1/children/{child}/entries");
    let (st, e) = yamada
        .post(
            &entries,
            &json!({"client_id": unique("multi"), "categories": ["education", "medical"],
                "kind": "note", "body": {"text": format!("支援会議の記録 {word}")}}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    assert_eq!(e["categories"], json!(["education", "medical"]), "{e}");
    assert_eq!(e["category"], "education", "{e}");

    // Dr Ito (medical) gets it live and reads it; the welfare worker does not.
    let (frame, _) = ito_ws.recv_type("entry").await;
    assert_eq!(frame["entry"]["id"], e["id"], "{frame}");
    assert_eq!(
        frame["entry"]["categories"],
        json!(["education", "medical"])
    );
    let seen = |list: Vec<serde_json::Value>| list.iter().any(|x| x["id"] == e["id"]);
    assert!(seen(ito.all_entries(&child).await));
    assert!(!seen(hayashi.all_entries(&child).await));
    hayashi_ws
        .expect_silence(std::time::Duration::from_millis(800))
        .await;
    let q = format!("/api/v1/children/{child}/search?q={word}");
    assert_eq!(ito.get(&q).await.1["entries"].as_array().unwrap().len(), 1);
    assert_eq!(hayashi.get(&q).await.1["entries"], json!([]));

    // A correction keeps the categories and their order.
    let (st, rev) = yamada
        .post(
            &format!("{entries}/{}/revisions", e["id"].as_str().unwrap()),
            &json!({"body": {"text": format!("支援会議の記録（訂正） {word}")}, "reason": "出席者"}),
        )
        .await;
    assert_eq!(st, 201, "{rev}");
    assert_eq!(rev["categories"], json!(["education", "medical"]), "{rev}");
    assert!(!hayashi
        .all_entries(&child)
        .await
        .iter()
        .any(|x| x["id"] == rev["id"]));

    // `category` and `categories` together: the first must agree.
    let (st, both) = yamada
        .post(
            &entries,
            &json!({"client_id": unique("multi"), "category": "medical",
                "categories": ["medical", "welfare"], "kind": "note", "body": {"text": "両方"}}),
        )
        .await;
    assert_eq!(st, 201, "{both}");
    assert_eq!(both["categories"], json!(["medical", "welfare"]));
    assert!(
        hayashi
            .all_entries(&child)
            .await
            .iter()
            .any(|x| x["id"] == both["id"]),
        "welfare is one of them"
    );

    // Refused, storing nothing: an author without every category, and bad lists.
    let before = yamada.last_seq(&child).await;
    let post = |s: &Session, body: serde_json::Value| {
        let (s, entries) = (s.clone(), entries.clone());
        async move { s.post(&entries, &body).await }
    };
    let note = |cats: serde_json::Value| json!({"client_id": unique("bad"), "categories": cats, "kind": "note", "body": {"text": "x"}});
    assert_err(
        &post(&ito, note(json!(["medical", "education"]))).await,
        403,
        "forbidden",
    );
    for bad in [
        json!([]),
        json!(["medical", "medical"]),
        json!(["medical", "cooking"]),
    ] {
        assert_err(&post(&yamada, note(bad)).await, 400, "bad_request");
    }
    let mismatch = json!({"client_id": unique("bad"), "category": "welfare",
        "categories": ["medical", "welfare"], "kind": "note", "body": {"text": "x"}});
    assert_err(&post(&yamada, mismatch).await, 400, "bad_request");
    let neither = json!({"client_id": unique("bad"), "kind": "note", "body": {"text": "x"}});
    assert_err(&post(&yamada, neither).await, 400, "bad_request");
    // The same over the socket.
    let mut ws = yamada.ws().await;
    let r = ws
        .request(json!({"type": "post", "child_id": child, "client_id": unique("ws"),
            "categories": ["education", "medical"], "kind": "note", "body": {"text": format!("ws {word}")}}))
        .await;
    assert_eq!(r["type"], "posted", "{r}");
    assert_eq!(r["entry"]["categories"], json!(["education", "medical"]));
    let r = ws
        .request(
            json!({"type": "post", "child_id": child, "client_id": unique("ws"),
            "categories": ["medical", "medical"], "kind": "note", "body": {"text": "x"}}),
        )
        .await;
    assert_eq!(r["code"], "bad_request", "{r}");
    assert_eq!(
        yamada.last_seq(&child).await,
        before + 1,
        "only the good socket post"
    );
    server.check_logs();
}
