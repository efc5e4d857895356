//! Group 7: revisions keep the original; only the author may revise; entries
//! are never edited in place or deleted through the API.

use serde_json::{json, Value};

use crate::fanout::ensure_can_post;
use crate::helpers::*;

#[tokio::test]
async fn revisions_keep_the_original_and_only_the_author_revises() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let nurse = server.login("schoolnurse.ogawa").await;
    let teacher = server.login("teacher.tanaka").await;
    let coord = server.login("coordinator.yamada").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&nurse, &teacher]).await;

    let original = nurse
        .note(&child, "education", "給食前に血糖測定 120")
        .await;
    assert_eq!(original["reason"], Value::Null);
    assert_eq!(original["supersedes"], Value::Null);
    let oid = original["id"].as_str().unwrap().to_string();
    let rev_path = |id: &str| format!("/api/v1/children/{child}/entries/{id}/revisions");

    // Subscribers see the revision live.
    let mut ws = teacher.ws().await;
    ws.subscribe(&child, seq_of(&original)).await;

    // Anyone but the author: 403, even the guardian and a member who sees it.
    for who in [&g, &teacher, &coord] {
        let r = who
            .post(
                &rev_path(&oid),
                &json!({"body": {"text": "書き換え"}, "reason": "x"}),
            )
            .await;
        assert_err(&r, 403, "forbidden");
    }
    let (st, r1) = nurse
        .post(
            &rev_path(&oid),
            &json!({"body": {"text": "給食前に血糖測定 102"}, "reason": "数値の誤記訂正"}),
        )
        .await;
    assert_eq!(st, 201, "{r1}");
    assert_eq!(r1["revision"], original["revision"].as_i64().unwrap() + 1);
    assert_eq!(r1["supersedes"], oid.as_str());
    assert_eq!(r1["reason"], "数値の誤記訂正");
    assert_ne!(r1["id"], original["id"]);
    assert_eq!(r1["seq"], seq_of(&original) + 1);
    assert_eq!(r1["author_id"], nurse.account_id.as_str());
    assert_eq!(r1["category"], "education");
    assert_eq!(r1["kind"], "note");
    assert_eq!(r1["body"], json!({"text": "給食前に血糖測定 102"}));
    let f = ws.recv().await;
    assert_eq!(f["type"], "entry", "{f}");
    assert_eq!(f["entry"], r1);

    // A revision of the revision.
    let (st, r2) = nurse
        .post(
            &rev_path(r1["id"].as_str().unwrap()),
            &json!({"body": {"text": "給食前に血糖測定 102 (補食なし)"}, "reason": "追記"}),
        )
        .await;
    assert_eq!(st, 201, "{r2}");
    assert_eq!(r2["revision"], r1["revision"].as_i64().unwrap() + 1);
    assert_eq!(r2["supersedes"], r1["id"]);

    // The original and every revision stay readable, unchanged.
    let all = g.all_entries(&child).await;
    let find = |id: &Value| all.iter().find(|e| &e["id"] == id).cloned();
    assert_eq!(find(&original["id"]), Some(original.clone()));
    assert_eq!(find(&r1["id"]), Some(r1.clone()));
    assert_eq!(find(&r2["id"]), Some(r2.clone()));
    let as_teacher = teacher.all_entries(&child).await;
    assert!(as_teacher.iter().any(|e| e["id"] == original["id"]));

    // No edit or delete through the API.
    let entry_path = format!("/api/v1/children/{child}/entries/{oid}");
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let (st, v) = nurse
            .api
            .request(
                method.clone(),
                &entry_path,
                Some(&nurse.access),
                Some(&json!({"body": {"text": "消去"}})),
            )
            .await;
        assert!(
            st == 404 || st == 405,
            "{method} {entry_path} answered {st} {v}"
        );
    }
    let again = g.all_entries(&child).await;
    assert_eq!(
        again.iter().find(|e| e["id"] == original["id"]),
        Some(&original)
    );

    // Revising something that does not exist, or with a bad body.
    let missing = uuid::Uuid::now_v7().to_string();
    assert_err(
        &nurse
            .post(
                &rev_path(&missing),
                &json!({"body": {"text": "x"}, "reason": "x"}),
            )
            .await,
        404,
        "not_found",
    );
    assert_err(
        &nurse
            .post(
                &rev_path(&oid),
                &json!({"body": {"text": "x"}, "reason": "x", "category": "medical"}),
            )
            .await,
        400,
        "bad_request",
    );
    assert_err(
        &nurse
            .post(
                &rev_path(&oid),
                &json!({"body": {"measure": "spo2", "value": 97, "unit": "%"}, "reason": "x"}),
            )
            .await,
        400,
        "bad_request",
    );
    assert_err(
        &nurse
            .post(
                &rev_path(&oid),
                &json!({"body": {"text": long_text(20_001)}, "reason": "x"}),
            )
            .await,
        413,
        "payload_too_large",
    );
    server.check_logs();
}

#[tokio::test]
async fn a_member_who_cannot_see_an_entry_cannot_revise_it() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let teacher = server.login("teacher.tanaka").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&doc]).await;
    let e = doc.note(&child, "medical", "処方変更").await;
    let id = e["id"].as_str().unwrap();
    let r = teacher
        .post(
            &format!("/api/v1/children/{child}/entries/{id}/revisions"),
            &json!({"body": {"text": "x"}, "reason": "x"}),
        )
        .await;
    assert!(r.0 == 403 || r.0 == 404, "{r:?}");
    // After losing medical, the author cannot revise it either.
    let (st, _) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", doc.account_id),
            &json!({"categories": ["health"]}),
        )
        .await;
    assert_eq!(st, 200);
    let r = doc
        .post(
            &format!("/api/v1/children/{child}/entries/{id}/revisions"),
            &json!({"body": {"text": "x"}, "reason": "x"}),
        )
        .await;
    assert!(r.0 == 403 || r.0 == 404, "{r:?}");
    let all = g.all_entries(&child).await;
    assert!(all.iter().all(|x| x["supersedes"] != e["id"]));
    server.check_logs();
}
