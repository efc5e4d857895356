//! Group 8: the guardian's access log shows every read and write by a member;
//! other members get 403.

use serde_json::{json, Value};

use crate::fanout::ensure_can_post;
use crate::helpers::*;

async fn access_log(s: &Session, child: &str) -> Vec<Value> {
    let (st, v) = s.get(&format!("/api/v1/children/{child}/access-log")).await;
    assert_eq!(st, 200, "access log as {}: {v}", s.login);
    let list = v
        .as_array()
        .unwrap_or_else(|| panic!("access log is not an array: {v}"))
        .clone();
    for r in &list {
        for k in ["at", "account_id", "display_name", "action", "detail"] {
            assert!(r.get(k).is_some(), "record without {k}: {r}");
        }
        parse_rfc3339(r["at"].as_str().unwrap());
    }
    let times: Vec<_> = list
        .iter()
        .map(|r| parse_rfc3339(r["at"].as_str().unwrap()))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "not newest last");
    list
}

#[tokio::test]
async fn every_read_and_write_appears_for_the_guardian() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&doc]).await;
    let start = access_log(&g, &child).await.len();

    assert_eq!(doc.get(&format!("/api/v1/children/{child}")).await.0, 200);
    assert_eq!(
        doc.get(&format!("/api/v1/children/{child}/entries"))
            .await
            .0,
        200
    );
    let e = doc.note(&child, "medical", "インスリン量の変更").await;
    let (st, r) = doc
        .post(
            &format!(
                "/api/v1/children/{child}/entries/{}/revisions",
                e["id"].as_str().unwrap()
            ),
            &json!({"body": {"text": "インスリン量の変更 (朝 2 単位)"}, "reason": "追記"}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    let mut ws = doc.ws().await;
    ws.subscribe(&child, 0).await;
    let f = ws
        .post(
            &child,
            &new_client_id(),
            "health",
            "vital",
            json!({"measure": "blood_glucose", "value": 98, "unit": "mg/dL"}),
        )
        .await;
    assert_eq!(f["type"], "posted", "{f}");
    let (st, _) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", doc.account_id),
            &json!({"categories": ["medical"]}),
        )
        .await;
    assert_eq!(st, 200);

    let log = access_log(&g, &child).await;
    let new: Vec<&Value> = log[start.min(log.len())..].iter().collect();
    let doc_actions: Vec<&str> = new
        .iter()
        .filter(|r| r["account_id"] == doc.account_id.as_str())
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        doc_actions,
        [
            "read_profile",
            "read_entries",
            "post",
            "revise",
            "read_entries",
            "post"
        ],
        "doctor's actions in the access log: {new:?}"
    );
    for r in new
        .iter()
        .filter(|r| r["account_id"] == doc.account_id.as_str())
    {
        assert_eq!(r["display_name"], "伊藤 誠");
    }
    let change = new
        .iter()
        .find(|r| r["action"] == "member_change")
        .unwrap_or_else(|| panic!("no member_change in {new:?}"));
    assert_eq!(change["account_id"], g.account_id.as_str());
    assert_eq!(change["display_name"], "佐藤 美咲");
    // The member_change comes after the doctor's subscription.
    let last_doc = new
        .iter()
        .rposition(|r| r["account_id"] == doc.account_id.as_str())
        .unwrap();
    let change_pos = new
        .iter()
        .position(|r| r["action"] == "member_change" && r["account_id"] == g.account_id.as_str())
        .unwrap();
    assert!(change_pos > last_doc, "{new:?}");

    // Paging with limit.
    let (st, v) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=2"))
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(v.as_array().unwrap().len() <= 2);
    server.check_logs();
}

#[tokio::test]
async fn only_guardians_and_youths_read_the_access_log() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    for who in ["doctor.ito", "coordinator.yamada", "teacher.tanaka"] {
        let s = server.login(who).await;
        let r = s.get(&format!("/api/v1/children/{child}/access-log")).await;
        assert_err(&r, 403, "forbidden");
    }
    // Not a member at all: 404.
    let kimura = server.login("teacher.kimura").await;
    assert_err(
        &kimura
            .get(&format!("/api/v1/children/{child}/access-log"))
            .await,
        404,
        "not_found",
    );
    // The youth reads his own notebook's log.
    let youth = server.login("youth.watanabe").await;
    let ren = youth.child_id(REN).await;
    access_log(&youth, &ren).await;
    let gw = server.login("guardian.watanabe").await;
    access_log(&gw, &ren).await;

    // The demo: teacher.tanaka's membership of ゆい was revoked and granted again.
    let gn = server.login("guardian.nakamura").await;
    let yui = gn.child_id(YUI).await;
    let log = access_log(&gn, &yui).await;
    let changes = log
        .iter()
        .filter(|r| r["action"] == "member_change")
        .count();
    assert!(
        changes >= 2,
        "expected the revoke and the re-grant: {log:?}"
    );
    server.check_logs();
}
