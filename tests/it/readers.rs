//! Who has read an entry, and when (issue 19, point 5): `GET
//! /children/{id}/entries/{entry}/readers` lists the members who see the
//! entry and have read up to it, with the time they did; a member who
//! cannot see the entry (another category) gets 404, as does a non-member;
//! the listing is in the access log.

use serde_json::{json, Value};
use std::time::Duration;

use crate::helpers::*;

fn readers(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn readers_of_an_entry_with_their_times_to_those_who_see_it() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let mori = server.login("doctor.mori").await;
    let child = g.child_id(HINATA).await;
    let e = g.note(&child, "medical", "夕食前の血糖は 98 mg/dL").await;
    let (seq, id) = (
        e["seq"].as_i64().unwrap_or(0),
        e["id"].as_str().unwrap_or_default(),
    );
    let path = format!("/api/v1/children/{child}/entries/{id}/readers");

    // Nobody but its author's own position? The guardian has not marked it read.
    let (st, before) = g.get(&path).await;
    assert_eq!(st, 200, "{before}");
    assert!(
        readers(&before)
            .iter()
            .all(|r| r["account_id"] != ito.account_id.as_str()),
        "{before}"
    );

    // Dr Ito reads it on his socket; the guardian sees it with the time.
    let t0 = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let mut ws_g = g.ws().await;
    ws_g.subscribe(&child, seq).await;
    let mut ws = ito.ws().await;
    ws.subscribe(&child, seq - 1).await;
    ws.send(json!({"type": "read", "child_id": child, "seq": seq}))
        .await;
    tokio::time::timeout(Duration::from_secs(5), ws_g.recv_type("receipt"))
        .await
        .unwrap_or_else(|_| panic!("no receipt")); // ok: the test's own timeout
    let (st, after) = g.get(&path).await;
    assert_eq!(st, 200, "{after}");
    let list = readers(&after);
    let r = list
        .iter()
        .find(|r| r["account_id"] == ito.account_id.as_str())
        .unwrap_or_else(|| panic!("Dr Ito is not listed: {after}")); // ok: asserted here
    assert_eq!(r["display_name"], "伊藤 誠");
    let at = r["read_at"].as_str().unwrap_or_default();
    let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("read_at {at:?}: {e}"));
    assert!(at >= t0 && at <= time::OffsetDateTime::now_utc(), "{at}");
    // The doctor sees the same list.
    let (st, same) = ito.get(&path).await;
    assert_eq!(st, 200, "{same}");

    // The teacher sees no medical entry; a non-member sees no child.
    assert_err(&tanaka.get(&path).await, 404, "not_found");
    assert_err(&mori.get(&path).await, 404, "not_found");
    // An entry of another child through this child's path.
    let nakamura = server.login("guardian.nakamura").await;
    let yui = nakamura.child_id("中村 ゆい").await;
    let other = nakamura.note(&yui, "medical", "別の子の記録").await;
    let other_id = other["id"].as_str().unwrap_or_default();
    assert_err(
        &g.get(&format!(
            "/api/v1/children/{child}/entries/{other_id}/readers"
        ))
        .await,
        404,
        "not_found",
    );

    // In the access log.
    let (st, log) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=500"))
        .await;
    assert_eq!(st, 200, "{log}");
    assert!(
        readers(&log).iter().any(|r| r["action"] == "read_members"
            && r["account_id"] == ito.account_id.as_str()
            && r["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("readers of entry {seq}"))),
        "{log}"
    );
    server.check_logs();
}
