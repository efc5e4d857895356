//! Issue 18, point 4: the authorization bugs of the contract's "Abuse
//! resistance" section. Co-guardians cannot change one another; a revision
//! is visible under `history_from` exactly when its entry is (HTTP, the
//! WebSocket backlog and live fan-out); an idempotent repeat must be the
//! same request and is checked against consent as it is now; the emergency
//! card needs `medical` and `can_post`, and keeps every version, each
//! sealed under associated data that binds its version.

use serde_json::{json, Value};
use sqlx::Connection;
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;

const ALL: [&str; 7] = [
    "health",
    "medical",
    "welfare",
    "childcare",
    "education",
    "employment",
    "family",
];

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

fn member_of(members: &Value, account_id: &str) -> Value {
    members
        .as_array()
        .unwrap_or_else(|| panic!("members is not an array: {members}"))
        .iter()
        .find(|m| m["account_id"] == account_id)
        .cloned()
        .unwrap_or_else(|| panic!("{account_id} not in {members}"))
}

fn ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn co_guardians_cannot_narrow_expire_or_revoke_one_another() {
    let server = Server::demo().await;
    let sato = server.login("guardian.sato").await;
    let taka = server.login("guardian.takahashi").await;
    let ito = server.login("doctor.ito").await;
    let child = sato.child_id(HINATA).await;
    let members_path = format!("/api/v1/children/{child}/members");
    // No demo child has two guardians: guardian.sato grants one.
    let (st, m) = sato
        .post(
            &members_path,
            &json!({"account_id": taka.account_id, "categories": ALL, "can_post": true,
                    "purpose": "父として養育に関わる"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["role"], "guardian", "{m}");
    assert_eq!(m["status"], "active", "{m}");

    let in_an_hour = rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    let now = rfc3339(time::OffsetDateTime::now_utc());
    let patches = [
        json!({"categories": ["family"]}),
        json!({"can_post": false}),
        json!({"expires_at": in_an_hour}),
        json!({"history_from": now}),
    ];
    for (me, other) in [(&taka, &sato), (&sato, &taka)] {
        let path = format!("{members_path}/{}", other.account_id);
        for p in &patches {
            assert_err(&me.patch(&path, p).await, 403, "forbidden");
        }
        assert_err(
            &me.post_empty(&format!("{path}/revoke")).await,
            403,
            "forbidden",
        );
        let (st, list) = me.get(&members_path).await;
        assert_eq!(st, 200, "{list}");
        let row = member_of(&list, &other.account_id);
        assert_eq!(row["status"], "active", "{row}");
        assert_eq!(row["categories"], json!(ALL), "{row}");
        assert_eq!(row["can_post"], true, "{row}");
        assert_eq!(row["expires_at"], Value::Null, "{row}");
        assert_eq!(row["history_from"], Value::Null, "{row}");
    }
    // Each still manages the other members, and its own membership.
    let (st, v) = taka
        .patch(
            &format!("{members_path}/{}", ito.account_id),
            &json!({"can_post": false}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let own = format!("{members_path}/{}", taka.account_id);
    let (st, v) = taka.patch(&own, &json!({"expires_at": in_an_hour})).await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = taka.post_empty(&format!("{own}/revoke")).await;
    assert_eq!(st, 200, "a guardian leaves: {v}");
    assert_eq!(v["status"], "revoked", "{v}");
    server.check_logs();
}

#[tokio::test]
async fn a_revision_is_visible_under_history_from_exactly_when_its_entry_is() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let child = g.child_id(HINATA).await;
    let rev_path = |id: &Value| {
        format!(
            "/api/v1/children/{child}/entries/{}/revisions",
            id.as_str().unwrap()
        )
    };

    let before = ito.note(&child, "medical", "以前の指示").await;
    let from =
        parse_rfc3339(before["created_at"].as_str().unwrap()) + time::Duration::milliseconds(1);
    let (st, m) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", ogawa.account_id),
            &json!({"history_from": rfc3339(from)}),
        )
        .await;
    assert_eq!(st, 200, "{m}");

    let mut live = ogawa.ws().await;
    let (backlog, _) = live.subscribe(&child, seq_of(&before) - 1).await;
    assert!(backlog.is_empty(), "{backlog:?}");
    let after = ito.note(&child, "medical", "以後の指示").await;
    let f = live.recv().await;
    assert_eq!(f["entry"]["id"], after["id"], "{f}");

    // A correction of the earlier entry, made after history_from, then one
    // of the later entry.
    let marker = server.marker();
    let (st, hidden) = ito
        .post(
            &rev_path(&before["id"]),
            &json!({"body": {"text": format!("訂正 {marker}")}, "reason": "誤記"}),
        )
        .await;
    assert_eq!(st, 201, "{hidden}");
    let (st, shown) = ito
        .post(
            &rev_path(&after["id"]),
            &json!({"body": {"text": "以後の指示 (訂正)"}, "reason": "追記"}),
        )
        .await;
    assert_eq!(st, 201, "{shown}");

    // Live: the next frame is the later entry's correction, never the other.
    let f = live.recv().await;
    assert_eq!(f["type"], "entry", "{f}");
    assert_eq!(
        f["entry"]["id"], shown["id"],
        "a hidden correction went live: {f}"
    );
    // HTTP pages and the WebSocket backlog.
    let expected = ids(&[after.clone(), shown.clone()]);
    let page = ogawa.all_entries(&child).await;
    let page: Vec<Value> = page
        .into_iter()
        .filter(|e| seq_of(e) >= seq_of(&before))
        .collect();
    assert_eq!(ids(&page), expected, "HTTP: {page:?}");
    let mut ws = ogawa.ws().await;
    let (backlog, _) = ws.subscribe(&child, seq_of(&before) - 1).await;
    assert_eq!(ids(&backlog), expected, "backlog: {backlog:?}");
    // Nor can the hidden entry be revised through its id.
    assert_err(
        &ogawa
            .post(
                &rev_path(&hidden["id"]),
                &json!({"body": {"text": "x"}, "reason": "x"}),
            )
            .await,
        404,
        "not_found",
    );
    // Whoever sees the whole notebook sees all four.
    let all = ids(&g.all_entries(&child).await);
    for e in [&before, &after, &hidden, &shown] {
        assert!(all.contains(&e["id"].as_str().unwrap().to_string()));
    }
    server.check_logs();
}

#[tokio::test]
async fn an_idempotent_repeat_must_be_the_same_request_under_consent_as_it_is_now() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    let cid = new_client_id();
    let body = json!({"text": format!("インスリン単位変更 {}", server.marker())});

    let (st, first) = ito
        .post_entry_cid(&child, &cid, "medical", "note", body.clone())
        .await;
    assert_eq!(st, 201, "{first}");
    let (st, again) = ito
        .post_entry_cid(&child, &cid, "medical", "note", body.clone())
        .await;
    assert_eq!(st, 200, "the same request is a replay: {again}");
    assert_eq!(again, first);

    for (category, kind, b) in [
        ("medical", "note", json!({"text": "別の本文"})),
        ("health", "note", body.clone()),
        ("medical", "medication", body.clone()),
    ] {
        let r = ito.post_entry_cid(&child, &cid, category, kind, b).await;
        assert_err(&r, 409, "conflict");
    }
    let mut ws = ito.ws().await;
    let f = ws
        .post(&child, &cid, "medical", "note", json!({"text": "別の本文"}))
        .await;
    assert_eq!(f["type"], "error", "{f}");
    assert_eq!(f["code"], "conflict", "{f}");

    // After a narrowing, the entry cannot be read back under another category.
    let (st, m) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", ito.account_id),
            &json!({"categories": ["health"]}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    assert_err(
        &ito.post_entry_cid(&child, &cid, "medical", "note", body.clone())
            .await,
        403,
        "forbidden",
    );
    let r = ito
        .post_entry_cid(&child, &cid, "health", "note", body.clone())
        .await;
    assert_err(&r, 409, "conflict");
    assert!(
        !r.1.to_string().contains("インスリン"),
        "the stored entry leaked: {}",
        r.1
    );
    let f = ws.post(&child, &cid, "health", "note", body.clone()).await;
    assert_eq!(f["code"], "conflict", "{f}");
    assert!(f.get("entry").is_none(), "{f}");
    server.check_logs();
}

#[tokio::test]
async fn the_emergency_card_needs_medical_and_posting_rights_and_keeps_every_version() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let nakamura = server.login("guardian.nakamura").await;
    let child = g.child_id(HINATA).await;
    let card_path = format!("/api/v1/children/{child}/emergency-card");
    let versions_path = format!("{card_path}/versions");
    let card = |m: &str| {
        json!({"summary": format!("1 型糖尿病 {m}"), "steps": ["ブドウ糖 10 g", "15 分後に再測定"],
               "hospital": "みどり総合病院 小児科", "notes": format!("補食は保健室 {m}")})
    };
    let (st, demo) = g.get(&card_path).await;
    assert_eq!(st, 200, "{demo}");
    assert_eq!(demo["version"], 1, "{demo}");

    let m1 = server.marker();
    let (st, v) = ito.put_json(&card_path, &card(&m1)).await;
    assert_eq!(st, 200, "a medical member who posts writes the card: {v}");
    assert_eq!(v["version"], 2, "{v}");
    // Read-only, or without medical: 403.
    let (st, m) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", ito.account_id),
            &json!({"can_post": false}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    for s in [&ito, &tanaka] {
        assert_err(
            &s.put_json(&card_path, &card("上書き")).await,
            403,
            "forbidden",
        );
    }
    let m2 = server.marker();
    let (st, v) = g.put_json(&card_path, &card(&m2)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["version"], 3, "{v}");

    // Every version, newest first, to every active member.
    let (st, list) = tanaka.get(&versions_path).await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    let versions: Vec<i64> = list
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1], "{list:?}");
    assert_eq!(list[0]["card"], card(&m2));
    assert_eq!(list[0]["updated_by"], g.account_id.as_str());
    assert_eq!(list[1]["card"], card(&m1));
    assert_eq!(list[1]["updated_by"], ito.account_id.as_str());
    assert_eq!(list[2]["card"]["summary"], demo["summary"]);
    assert_eq!(list[2]["updated_at"], demo["updated_at"]);
    for v in &list {
        parse_rfc3339(v["updated_at"].as_str().unwrap());
        assert_eq!(v.as_object().unwrap().len(), 4, "{v}");
    }
    let (st, current) = tanaka.get(&card_path).await;
    assert_eq!(st, 200, "{current}");
    assert_eq!(current["version"], 3);
    assert_eq!(current["summary"], list[0]["card"]["summary"]);

    // Only active members read it; the read is in the access log.
    assert_err(&nakamura.get(&versions_path).await, 404, "not_found");
    let (st, v) = g
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/revoke",
            tanaka.account_id
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_err(&tanaka.get(&versions_path).await, 403, "forbidden");
    let (st, log) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=1000"))
        .await;
    assert_eq!(st, 200, "{log}");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "emergency_card_read"
                && r["account_id"] == tanaka.account_id.as_str()
                && r["detail"].as_str().unwrap().contains("versions")),
        "{log}"
    );

    // A version's ciphertext opens as no other version.
    sqlx::any::install_default_drivers();
    let url = match &server.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", server.dir.join("renraku.db").display()),
    };
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query(
        "update emergency_card_version set card = (select card from emergency_card_version \
         where child_id = $1 and version = 2) where child_id = $1 and version = 3",
    )
    .bind(&child)
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    assert_err(&g.get(&card_path).await, 500, "internal");
    server.check_logs();
}
