//! Group 4: consent. Categories filter sockets and HTTP; request → approve;
//! revoke and narrow reach open sockets within 100 ms; expiry without a job;
//! non-members get 404 for real and random ids; posting outside one's
//! categories gets 403.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fanout::ensure_can_post;
use crate::helpers::*;

fn member_of<'a>(members: &'a Value, account_id: &str) -> &'a Value {
    members
        .as_array()
        .unwrap_or_else(|| panic!("members is not an array: {members}"))
        .iter()
        .find(|m| m["account_id"] == account_id)
        .unwrap_or_else(|| panic!("{account_id} not in {members}"))
}

async fn members(s: &Session, child: &str) -> Value {
    let (st, v) = s.get(&format!("/api/v1/children/{child}/members")).await;
    assert_eq!(st, 200, "GET members as {}: {v}", s.login);
    v
}

/// Receives the next frame and checks it is the expected membership frame,
/// within 100 ms of `answered` (the instant the HTTP answer arrived).
async fn expect_membership_within_100ms(ws: &mut Ws, answered: Instant) -> Value {
    let f = ws.recv().await;
    let latency = answered.elapsed();
    assert_eq!(
        f["type"], "membership",
        "expected a membership frame, got {f}"
    );
    assert!(
        latency < Duration::from_millis(100),
        "membership frame {latency:?} after the HTTP answer"
    );
    f
}

#[tokio::test]
async fn member_without_medical_never_sees_medical() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let teacher = server.login("teacher.tanaka").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&teacher]).await;

    let m = members(&g, &child).await;
    let tm = member_of(&m, &teacher.account_id);
    assert_eq!(tm["categories"], json!(["education"]), "{tm}");
    assert_eq!(tm["status"], "active");
    assert_eq!(tm["role"], "member");

    let mut ws_t = teacher.ws().await;
    let (backlog, _) = ws_t.subscribe(&child, 0).await;
    assert!(!backlog.is_empty(), "teacher sees no demo entry at all");
    for e in &backlog {
        assert_eq!(e["category"], "education", "teacher got {e}");
    }
    let mut ws_d = doc.ws().await;
    let (backlog_d, _) = ws_d.subscribe(&child, 0).await;
    for e in &backlog_d {
        assert!(
            e["category"] == "medical" || e["category"] == "health",
            "doctor got {e}"
        );
    }

    let marker = server.marker();
    let mut posted_medical = Vec::new();
    let mut posted_edu = Vec::new();
    for i in 0..5 {
        let e = g
            .note(&child, "medical", &format!("インスリン {i} {marker}"))
            .await;
        posted_medical.push(e["id"].clone());
        let (st, e) = g
            .post_entry(
                &child,
                "medical",
                "medication",
                json!({"text": format!("薬 {marker}"), "drug": "インスリン", "dose": "2単位"}),
            )
            .await;
        assert_eq!(st, 201, "{e}");
        posted_medical.push(e["id"].clone());
        let e = g.note(&child, "education", &format!("授業 {i}")).await;
        posted_edu.push(e["id"].clone());
    }
    let sentinel = g.note(&child, "education", "sentinel").await;
    posted_edu.push(sentinel["id"].clone());
    // Everything up to the sentinel, and only education, in order.
    let mut got = Vec::new();
    loop {
        let f = ws_t.recv().await;
        assert_eq!(f["type"], "entry", "{f}");
        assert_eq!(f["entry"]["category"], "education", "teacher got {f}");
        got.push(f["entry"]["id"].clone());
        if f["entry"]["id"] == sentinel["id"] {
            break;
        }
    }
    assert_eq!(got, posted_edu);
    // The doctor got the medical ones and no education entry.
    let mut got = Vec::new();
    while got.len() < posted_medical.len() {
        let f = ws_d.recv().await;
        assert_eq!(f["type"], "entry", "{f}");
        assert_eq!(f["entry"]["category"], "medical", "doctor got {f}");
        got.push(f["entry"]["id"].clone());
    }
    assert_eq!(got, posted_medical);

    // Over HTTP, the same filter.
    let all_t = teacher.all_entries(&child).await;
    assert!(all_t.iter().all(|e| e["category"] == "education"));
    let all_g = g.all_entries(&child).await;
    let edu_count = all_g
        .iter()
        .filter(|e| e["category"] == "education")
        .count();
    assert_eq!(all_t.len(), edu_count);
    for id in &posted_medical {
        assert!(all_t.iter().all(|e| &e["id"] != id));
    }
    // Posting medical as the teacher: 403 over HTTP and on the socket.
    let forbidden_stores_nothing = Refused {
        witness: Some(&g),
        ..Refused::FORBIDDEN
    };
    let text = json!({"text": "x"});
    post_refused_everywhere(
        &teacher,
        &mut ws_t,
        &child,
        "medical",
        text,
        forbidden_stores_nothing,
    )
    .await;
    // But education is fine.
    let f = ws_t
        .post(
            &child,
            &new_client_id(),
            "education",
            "note",
            json!({"text": "ok"}),
        )
        .await;
    assert_eq!(f["type"], "posted", "{f}");
    server.check_logs();
}

#[tokio::test]
async fn request_then_guardian_approval() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let suzuki = server.login("nurse.suzuki").await;
    let child = g.child_id(HINATA).await;

    // Not a member yet: 404.
    assert_err(
        &suzuki.get(&format!("/api/v1/children/{child}")).await,
        404,
        "not_found",
    );
    let (st, m) = coord
        .post(
            &format!("/api/v1/children/{child}/members"),
            &json!({"account_id": suzuki.account_id, "categories": ["health"],
                    "can_post": false, "purpose": "訪問看護の情報共有"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["status"], "requested", "{m}");
    // A request grants nothing.
    let (st, v) = suzuki.get(&format!("/api/v1/children/{child}")).await;
    assert!(
        st == 403 || st == 404,
        "requested member read the child: {st} {v}"
    );
    let (st, v) = suzuki
        .get(&format!("/api/v1/children/{child}/entries"))
        .await;
    assert!(
        st == 403 || st == 404,
        "requested member read entries: {st} {v}"
    );
    assert!(suzuki
        .children()
        .await
        .iter()
        .all(|c| c["id"] != child.as_str()));
    // Only a guardian approves.
    assert_err(
        &coord
            .post_empty(&format!(
                "/api/v1/children/{child}/members/{}/approve",
                suzuki.account_id
            ))
            .await,
        403,
        "forbidden",
    );
    let (st, m) = g
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/approve",
            suzuki.account_id
        ))
        .await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["status"], "active");
    assert_eq!(m["categories"], json!(["health"]));
    let (st, c) = suzuki.get(&format!("/api/v1/children/{child}")).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["name"], HINATA);
    assert_eq!(c["disease_group"], 7);
    let entries = suzuki.all_entries(&child).await;
    assert!(entries.iter().all(|e| e["category"] == "health"));
    let gm = members(&g, &child).await;
    assert_eq!(
        member_of(&gm, &suzuki.account_id)["granted_by"],
        g.account_id.as_str()
    );

    // The demo's pending request for そうた.
    let gt = server.login("guardian.takahashi").await;
    let msw = server.login("msw.shimizu").await;
    let sota = gt.child_id(SOTA).await;
    let m = members(&gt, &sota).await;
    assert_eq!(member_of(&m, &msw.account_id)["status"], "requested");
    let (st, v) = msw.get(&format!("/api/v1/children/{sota}")).await;
    assert!(st == 403 || st == 404, "{st} {v}");
    let (st, v) = gt
        .post_empty(&format!(
            "/api/v1/children/{sota}/members/{}/approve",
            msw.account_id
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(msw.get(&format!("/api/v1/children/{sota}")).await.0, 200);

    // A guardian adding a member directly: active at once.
    let kimura = server.login("teacher.kimura").await;
    let (st, m) = g
        .post(
            &format!("/api/v1/children/{child}/members"),
            &json!({"account_id": kimura.account_id, "categories": ["education"],
                    "can_post": true, "purpose": "院内学級との連携"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["status"], "active");
    assert_eq!(
        kimura.get(&format!("/api/v1/children/{child}")).await.0,
        200
    );
    // Unknown categories are rejected.
    let r = g
        .post(
            &format!("/api/v1/children/{child}/members"),
            &json!({"account_id": msw.account_id, "categories": ["secrets"],
                    "can_post": true, "purpose": "x"}),
        )
        .await;
    assert_err(&r, 400, "bad_request");
    server.check_logs();
}

#[tokio::test]
async fn revoke_reaches_open_sockets_within_100ms() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let gn = server.login("guardian.nakamura").await;
    let child = g.child_id(HINATA).await;
    let yui = gn.child_id(YUI).await;

    let mut ws = doc.ws().await;
    let (_, last) = ws.subscribe(&child, 0).await;
    ws.subscribe(&yui, 0).await;
    let mut ws2 = doc.ws().await; // a second socket of the same member
    ws2.subscribe(&child, last).await;

    let (st, m) = g
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/revoke",
            doc.account_id
        ))
        .await;
    let answered = Instant::now();
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["status"], "revoked");
    for w in [&mut ws, &mut ws2] {
        let f = expect_membership_within_100ms(w, answered).await;
        assert_eq!(f["child_id"], child.as_str());
        assert_eq!(f["status"], "revoked");
    }

    // No further entry of that child, on the socket or over HTTP.
    g.note(&child, "medical", "取り消し後の医療記録").await;
    let sentinel = gn.note(&yui, "medical", "sentinel").await;
    let (f, skipped) = ws.recv_type("entry").await;
    assert_eq!(f["entry"]["id"], sentinel["id"], "got {f}");
    assert!(
        skipped.is_empty(),
        "frames before the sentinel: {skipped:?}"
    );
    ws2.expect_silence(Duration::from_millis(300)).await;
    reads_refused(&doc, &child, 403, "forbidden").await;
    assert_err(
        &doc.post_entry(&child, "medical", "note", json!({"text": "x"}))
            .await,
        403,
        "forbidden",
    );
    // Resubscribing after the revoke: either answer, as long as it is refused.
    ws.subscribe_refused(&child, "again", &["forbidden", "not_found"])
        .await;
    assert!(doc
        .children()
        .await
        .iter()
        .all(|c| c["id"] != child.as_str()));
    let gm = members(&g, &child).await;
    assert_eq!(member_of(&gm, &doc.account_id)["status"], "revoked");

    // A member may leave by itself.
    let teacher = server.login("teacher.tanaka").await;
    let mut wt = teacher.ws().await;
    wt.subscribe(&child, 0).await;
    let (st, m) = teacher
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/revoke",
            teacher.account_id
        ))
        .await;
    let answered = Instant::now();
    assert_eq!(st, 200, "{m}");
    let f = expect_membership_within_100ms(&mut wt, answered).await;
    assert_eq!(f["status"], "revoked");
    // But not revoke someone else.
    let nurse = server.login("schoolnurse.ogawa").await;
    let phn = server.login("phn.kato").await;
    assert_err(
        &nurse
            .post_empty(&format!(
                "/api/v1/children/{child}/members/{}/revoke",
                phn.account_id
            ))
            .await,
        403,
        "forbidden",
    );
    server.check_logs();
}

#[tokio::test]
async fn narrowing_reaches_open_sockets_within_100ms() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let nurse = server.login("schoolnurse.ogawa").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&nurse]).await;
    let m = members(&g, &child).await;
    let mut cats: Vec<String> = member_of(&m, &nurse.account_id)["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    cats.sort();
    assert_eq!(cats, ["education", "health", "medical"]);

    let mut ws = nurse.ws().await;
    let (_, last) = ws.subscribe(&child, 0).await;
    let (st, m) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", nurse.account_id),
            &json!({"categories": ["education"], "can_post": true}),
        )
        .await;
    let answered = Instant::now();
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["categories"], json!(["education"]));
    let f = expect_membership_within_100ms(&mut ws, answered).await;
    assert_eq!(f["child_id"], child.as_str(), "{f}");
    assert_eq!(f["status"], "active", "{f}");
    assert_eq!(f["categories"], json!(["education"]), "{f}");
    assert_eq!(f["can_post"], true, "{f}");

    g.note(&child, "medical", "狭めた後の医療記録").await;
    g.note(&child, "health", "狭めた後の保健記録").await;
    let edu = g.note(&child, "education", "狭めた後の教育記録").await;
    let f = ws.recv().await;
    assert_eq!(f["type"], "entry");
    assert_eq!(
        f["entry"]["id"], edu["id"],
        "first entry after narrowing: {f}"
    );
    assert_eq!(f["entry"]["seq"], last + 3);
    let all = nurse.all_entries(&child).await;
    assert!(!all.is_empty());
    assert!(all.iter().all(|e| e["category"] == "education"));
    assert_err(
        &nurse
            .post_entry(&child, "medical", "note", json!({"text": "x"}))
            .await,
        403,
        "forbidden",
    );
    // A re-subscription from 0 now gives education only.
    let mut ws2 = nurse.ws().await;
    let (b, _) = ws2.subscribe(&child, 0).await;
    assert!(b.iter().all(|e| e["category"] == "education"));

    // can_post false: reads stay, posting is refused.
    let (st, _) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", nurse.account_id),
            &json!({"can_post": false}),
        )
        .await;
    let answered = Instant::now();
    assert_eq!(st, 200);
    let f = expect_membership_within_100ms(&mut ws, answered).await;
    assert_eq!(f["can_post"], false, "{f}");
    let text = json!({"text": "x"});
    post_refused_everywhere(
        &nurse,
        &mut ws,
        &child,
        "education",
        text,
        Refused::FORBIDDEN,
    )
    .await;
    assert_eq!(nurse.get(&format!("/api/v1/children/{child}")).await.0, 200);
    // Only a guardian narrows.
    let coord = server.login("coordinator.yamada").await;
    assert_err(
        &coord
            .patch(
                &format!("/api/v1/children/{child}/members/{}", nurse.account_id),
                &json!({"categories": ["health"]}),
            )
            .await,
        403,
        "forbidden",
    );
    server.check_logs();
}

#[tokio::test]
async fn expiry_takes_effect_without_a_job() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let gn = server.login("guardian.nakamura").await;
    let child = g.child_id(HINATA).await;
    let yui = gn.child_id(YUI).await;
    let mut ws = doc.ws().await;
    ws.subscribe(&child, 0).await;
    ws.subscribe(&yui, 0).await;

    let expires = rfc3339_in(time::Duration::seconds(2));
    let (st, m) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", doc.account_id),
            &json!({"expires_at": expires}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    let at = parse_rfc3339(m["expires_at"].as_str().unwrap());
    assert!((at - parse_rfc3339(&expires)).abs() < time::Duration::seconds(1));
    // Still active before the deadline: it may get a membership update first.
    let before = g.note(&child, "medical", "期限前の記録").await;
    let (f, skipped) = ws.recv_type("entry").await;
    assert_eq!(f["entry"]["id"], before["id"]);
    for s in &skipped {
        assert_eq!(s["type"], "membership", "{s}");
        assert_eq!(s["status"], "active", "{s}");
    }
    assert_eq!(doc.get(&format!("/api/v1/children/{child}")).await.0, 200);

    // The contract is about time here: wait past expires_at.
    let wait = at - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(300);
    if wait.is_positive() {
        tokio::time::sleep(Duration::from_millis(wait.whole_milliseconds() as u64)).await;
    }
    reads_refused(&doc, &child, 403, "forbidden").await;
    g.note(&child, "medical", "期限後の記録").await;
    let sentinel = gn.note(&yui, "medical", "sentinel").await;
    // Before the sentinel: the expiry notice, and no entry of that child.
    let mut saw_expired = false;
    loop {
        let f = ws.recv().await;
        if f["type"] == "membership" {
            assert_eq!(f["child_id"], child.as_str(), "{f}");
            assert_eq!(f["status"], "expired", "{f}");
            saw_expired = true;
        } else {
            assert_eq!(f["type"], "entry", "{f}");
            assert_eq!(f["entry"]["id"], sentinel["id"], "entry after expiry: {f}");
            break;
        }
    }
    if !saw_expired {
        let f = ws.recv().await;
        assert_eq!(
            (f["type"].as_str(), f["status"].as_str()),
            (Some("membership"), Some("expired")),
            "{f}"
        );
    }
    ws.expect_silence(Duration::from_millis(300)).await;
    let gm = members(&g, &child).await;
    assert_eq!(member_of(&gm, &doc.account_id)["status"], "expired");
    assert!(doc
        .children()
        .await
        .iter()
        .all(|c| c["id"] != child.as_str()));
    server.check_logs();
}

#[tokio::test]
async fn history_from_hides_earlier_entries() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    let old = g.note(&child, "medical", "以前の記録").await;
    assert!(doc
        .all_entries(&child)
        .await
        .iter()
        .any(|e| e["id"] == old["id"]));
    let from = parse_rfc3339(old["created_at"].as_str().unwrap()) + time::Duration::milliseconds(1);
    let from = from
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (st, m) = g
        .patch(
            &format!("/api/v1/children/{child}/members/{}", doc.account_id),
            &json!({"history_from": from}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    let new = g.note(&child, "medical", "以後の記録").await;
    let seen = doc.all_entries(&child).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["id"], new["id"]);
    let mut ws = doc.ws().await;
    let (b, _) = ws.subscribe(&child, 0).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0]["id"], new["id"]);
    server.check_logs();
}

#[tokio::test]
async fn non_members_get_404_for_real_and_random_ids() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let kimura = server.login("teacher.kimura").await; // not in ひなた's notebook
    let child = g.child_id(HINATA).await;
    let random4 = uuid::Uuid::new_v4().to_string();
    let random7 = uuid::Uuid::now_v7().to_string();
    let entry = g.all_entries(&child).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    for id in [&child, &random4, &random7] {
        let paths = [
            format!("/api/v1/children/{id}"),
            format!("/api/v1/children/{id}/entries"),
            format!("/api/v1/children/{id}/members"),
            format!("/api/v1/children/{id}/access-log"),
        ];
        for p in &paths {
            assert_err(&kimura.get(p).await, 404, "not_found");
        }
        let r = kimura
            .post(
                &format!("/api/v1/children/{id}/entries/{entry}/revisions"),
                &json!({"body": {"text": "x"}, "reason": "x"}),
            )
            .await;
        assert_err(&r, 404, "not_found");
        let r = kimura
            .post(
                &format!("/api/v1/children/{id}/members"),
                &json!({"account_id": kimura.account_id, "categories": ["education"],
                        "can_post": true, "purpose": "x"}),
            )
            .await;
        assert_err(&r, 404, "not_found");
    }
    // The same answer for a real and a random id.
    let real = kimura.get(&format!("/api/v1/children/{child}")).await;
    let fake = kimura.get(&format!("/api/v1/children/{random4}")).await;
    assert_eq!(real, fake);
    // A member asking for a random child: 404 too.
    assert_err(
        &g.get(&format!("/api/v1/children/{random7}")).await,
        404,
        "not_found",
    );
    // Posting over HTTP and on the socket; subscribing on the socket.
    let mut ws = kimura.ws().await;
    for (i, id) in [&child, &random4, &random7].iter().enumerate() {
        let text = json!({"text": "x"});
        post_refused_everywhere(&kimura, &mut ws, id, "education", text, Refused::NOT_FOUND).await;
        ws.subscribe_refused(id, &format!("s{i}"), &["not_found"])
            .await;
    }
    assert!(kimura
        .children()
        .await
        .iter()
        .all(|c| c["id"] != child.as_str()));
    server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoke_during_a_live_stream_stops_entries_at_once() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    let mut ws_doc = doc.ws().await;
    let (_, start) = ws_doc.subscribe(&child, g.last_seq(&child).await).await;

    // The guardian streams medical notes while the revoke happens.
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let poster = {
        let g = g.clone();
        let child = child.clone();
        let acked = acked.clone();
        tokio::spawn(async move {
            let mut ws = g.ws().await;
            for i in 0..80 {
                let f = ws
                    .post(
                        &child,
                        &new_client_id(),
                        "medical",
                        "note",
                        json!({"text": format!("記録 {i}")}),
                    )
                    .await;
                assert_eq!(f["type"], "posted", "{f}");
                acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "poster too slow");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (st, m) = g
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/revoke",
            doc.account_id
        ))
        .await;
    assert_eq!(st, 200, "{m}");
    poster.await.unwrap();

    // Entries in order without gaps, then the revocation, then nothing.
    let mut expect = start + 1;
    loop {
        let f = ws_doc.recv().await;
        if f["type"] == "membership" {
            assert_eq!(f["status"], "revoked", "{f}");
            break;
        }
        assert_eq!(f["type"], "entry", "{f}");
        assert_eq!(
            seq_of(&f["entry"]),
            expect,
            "gap or reorder before the revocation"
        );
        expect += 1;
    }
    assert!(
        expect > start + 1,
        "nothing delivered before the revocation"
    );
    assert!(
        expect <= start + 80,
        "everything delivered: revoke came too late?"
    );
    // All 80 posts are committed; none may follow the membership frame.
    ws_doc.expect_silence(Duration::from_millis(500)).await;
    server.check_logs();
}

/// Posts one note over HTTP and one over the socket; both must get `expect`
/// ("ok" or an error code, with 403 over HTTP).
async fn post_both_ways(s: &Session, ws: &mut Ws, child: &str, category: &str, expect: &str) {
    if expect != "ok" {
        let text = json!({"text": "同意確認"});
        let refused = Refused {
            code: expect,
            ..Refused::FORBIDDEN
        };
        return post_refused_everywhere(s, ws, child, category, text, refused).await;
    }
    let r = s
        .post_entry(child, category, "note", json!({"text": "同意確認"}))
        .await;
    let f = ws
        .post(
            child,
            &new_client_id(),
            category,
            "note",
            json!({"text": "同意確認"}),
        )
        .await;
    assert_eq!(r.0, 201, "{category} over HTTP: {}", r.1);
    assert_eq!(f["type"], "posted", "{category} over the socket: {f}");
}

/// The posting path keeps memberships it has read (SQLite): each consent
/// change must still apply to the very next post of a member who has just
/// posted, over HTTP and over the socket.
#[tokio::test]
async fn consent_changes_apply_to_the_next_post_of_an_active_poster() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let nurse = server.login("schoolnurse.ogawa").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&nurse]).await;
    let mut ws = nurse.ws().await;
    ws.subscribe(&child, 0).await;
    let member = format!("/api/v1/children/{child}/members/{}", nurse.account_id);
    let change = |body: Value| {
        let (g, member) = (&g, &member);
        async move {
            let (st, m) = g.patch(member, &body).await;
            assert_eq!(st, 200, "{body}: {m}");
        }
    };

    post_both_ways(&nurse, &mut ws, &child, "medical", "ok").await;
    change(json!({"categories": ["education"]})).await;
    post_both_ways(&nurse, &mut ws, &child, "medical", "forbidden").await;
    post_both_ways(&nurse, &mut ws, &child, "education", "ok").await;
    change(json!({"can_post": false})).await;
    post_both_ways(&nurse, &mut ws, &child, "education", "forbidden").await;
    // Widened again: the refusals were not kept either.
    change(json!({"categories": ["education", "medical"], "can_post": true})).await;
    post_both_ways(&nurse, &mut ws, &child, "medical", "ok").await;

    // An expiry needs no change at all: the clock alone ends posting.
    let expires = rfc3339_in(time::Duration::seconds(2));
    change(json!({"expires_at": expires})).await;
    post_both_ways(&nurse, &mut ws, &child, "education", "ok").await;
    let wait = parse_rfc3339(&expires) - time::OffsetDateTime::now_utc()
        + time::Duration::milliseconds(300);
    if wait.is_positive() {
        tokio::time::sleep(Duration::from_millis(wait.whole_milliseconds() as u64)).await;
    }
    post_both_ways(&nurse, &mut ws, &child, "education", "forbidden").await;

    // Granted again without an end, then revoked.
    change(json!({"expires_at": null})).await;
    post_both_ways(&nurse, &mut ws, &child, "education", "ok").await;
    let (st, m) = g.post_empty(&format!("{member}/revoke")).await;
    assert_eq!(st, 200, "{m}");
    post_both_ways(&nurse, &mut ws, &child, "education", "forbidden").await;
    server.check_logs();
}
