//! Several nodes over one PostgreSQL (issue 5). These tests need the
//! PostgreSQL run of the README's test command (`RENRAKU_TEST_POSTGRES`);
//! in the SQLite run they return at once, as one SQLite node has no peers.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

const HINATA: &str = "佐藤 ひなた";

fn postgres() -> bool {
    test_postgres().is_some()
}

#[tokio::test]
async fn a_post_on_node_a_reaches_a_subscriber_on_node_b_within_200ms() {
    if !postgres() {
        return;
    }
    let a = Server::demo().await;
    let b = a.second_node(&[]).await;
    let guardian_b = b.login("guardian.sato").await;
    let doctor_a = a.login("doctor.ito").await;
    let child = guardian_b.child_id(HINATA).await;
    let mut ws = guardian_b.ws().await;
    let (_, mut last) = ws.subscribe(&child, 0).await;
    for i in 0..20 {
        let (st, e) = doctor_a
            .post_entry(
                &child,
                "medical",
                "note",
                json!({"text": format!("ノード間 {i}")}),
            )
            .await;
        let answered = Instant::now();
        assert_eq!(st, 201, "{e}");
        let frame = ws
            .recv_within(Duration::from_secs(5))
            .await
            .expect("the entry must reach node B");
        let took = answered.elapsed();
        assert_eq!(frame["type"], "entry", "{frame}");
        assert_eq!(frame["entry"]["id"], e["id"], "{frame}");
        assert_eq!(seq_of(&frame["entry"]), last + 1, "no gap, no duplicate");
        last += 1;
        assert!(
            took < Duration::from_millis(200),
            "post {i} took {took:?} to reach B"
        );
    }
    // And the other way round, over the socket on B, seen on A.
    let guardian_a = a.login("guardian.sato").await;
    let mut ws_a = guardian_a.ws().await;
    ws_a.subscribe(&child, last).await;
    let (st, e) = doctor_a
        .post_entry(&child, "medical", "note", json!({"text": "A から"}))
        .await;
    assert_eq!(st, 201, "{e}");
    let doctor_b = b.login("doctor.ito").await;
    let (st, e) = doctor_b
        .post_entry(&child, "medical", "note", json!({"text": "B から"}))
        .await;
    assert_eq!(st, 201, "{e}");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let f = ws_a
            .recv_within(Duration::from_secs(5))
            .await
            .expect("entries on A");
        if f["type"] == "entry" {
            seen.push(seq_of(&f["entry"]));
        }
    }
    assert_eq!(seen, vec![last + 1, last + 2]);
    a.check_logs();
    b.check_logs();
}

#[tokio::test]
async fn revocation_and_logout_on_node_a_cut_sockets_on_node_b() {
    if !postgres() {
        return;
    }
    let a = Server::demo().await;
    let b = a.second_node(&[]).await;
    let guardian_a = a.login("guardian.sato").await;
    let child = guardian_a.child_id(HINATA).await;
    let doctor_b = b.login("doctor.ito").await;
    let mut ws = doctor_b.ws().await;
    let (_, last) = ws.subscribe(&child, 0).await;

    let (st, m) = guardian_a
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/revoke",
            doctor_b.account_id
        ))
        .await;
    let answered = Instant::now();
    assert_eq!(st, 200, "{m}");
    let frame = ws
        .recv_within(Duration::from_secs(5))
        .await
        .expect("membership frame on B");
    assert!(
        answered.elapsed() < Duration::from_millis(200),
        "{:?}",
        answered.elapsed()
    );
    assert_eq!(frame["type"], "membership", "{frame}");
    assert_eq!(frame["status"], "revoked", "{frame}");
    let (st, _) = guardian_a
        .post_entry(&child, "medical", "note", json!({"text": "後"}))
        .await;
    assert_eq!(st, 201);
    ws.expect_silence(Duration::from_millis(800)).await;
    let (st, _) = doctor_b
        .get(&format!(
            "/api/v1/children/{child}/entries?after_seq={last}"
        ))
        .await;
    assert_eq!(st, 403);

    // Logout on A closes the same session's socket on B with 4401.
    let nurse_b = b.login("schoolnurse.ogawa").await;
    let mut ws2 = nurse_b.ws().await;
    ws2.subscribe(&child, 0).await;
    let nurse_on_a = Session {
        api: a.api(),
        access: nurse_b.access.clone(),
        refresh: nurse_b.refresh.clone(),
        account_id: nurse_b.account_id.clone(),
        login: nurse_b.login.clone(),
        account: nurse_b.account.clone(),
    };
    let (st, _) = nurse_on_a.post_empty("/api/v1/auth/logout").await;
    assert_eq!(st, 204);
    ws2.expect_close_within(4401, Duration::from_secs(2)).await;
    a.check_logs();
    b.check_logs();
}

#[tokio::test]
async fn an_alert_escalates_once_with_two_nodes_and_survives_losing_one() {
    if !postgres() {
        return;
    }
    let flags = ["--escalation-delay", "2"];
    let mut a = Server::demo_with(&flags).await;
    let b = a.second_node(&flags).await;
    let raiser = a.login("teacher.tanaka").await;
    let child = raiser.child_id(HINATA).await;
    let nurse = b.login("schoolnurse.ogawa").await; // tier 2, on node B
    let guardian = b.login("guardian.sato").await; // tier 1, on node B
    let nurse_tap = Tap::new("tier 2 on B", nurse.ws().await);
    let guardian_tap = Tap::new("tier 1 on B", guardian.ws().await);

    let alert = raiser.raise_alert(&child, "意識がぼんやりしています").await;
    let id = alert["id"].as_str().unwrap().to_owned();
    // Both nodes run the scheduler; each step must still happen once.
    tokio::time::sleep(Duration::from_millis(4_600)).await;
    let now = raiser.alert(&id).await;
    assert_eq!(
        notify_count(&now, &guardian.account_id),
        3,
        "steps 0, 1, 2 once each: {now}"
    );
    assert_eq!(notify_count(&now, &nurse.account_id), 2, "{now}");
    let alerts_to_nurse = nurse_tap
        .frames()
        .iter()
        .filter(|(_, f)| is_alert_frame(f, "alert", &id))
        .count();
    assert_eq!(alerts_to_nurse, 2, "tier 2 got each of its steps once");
    let alerts_to_guardian = guardian_tap
        .frames()
        .iter()
        .filter(|(_, f)| is_alert_frame(f, "alert", &id))
        .count();
    assert_eq!(alerts_to_guardian, 3);

    // Node A dies in the middle; B completes the escalation alone.
    a.kill();
    let before = raiser_count(&b, &id, &guardian.account_id).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let after = raiser_count(&b, &id, &guardian.account_id).await;
    assert_eq!(after, before + 1, "node B ran the next step once");
    let (st, acked) = nurse.post_empty(&format!("/api/v1/alerts/{id}/ack")).await;
    assert_eq!(st, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    b.check_logs();
}

async fn raiser_count(node: &Server, alert: &str, account: &str) -> i64 {
    let s = node.login("guardian.sato").await;
    notify_count(&s.alert(alert).await, account)
}

/// Issue 18, point 6: a revocation made on node A while node B posts in a
/// tight loop. The order of commits is read from the child's access log
/// (its records are appended under the child's row lock, in commit order):
/// no entry whose `post` record follows the revocation's `member_change`
/// may reach the revoked member, on B (where the posts are committed) or
/// on A (where the revocation is).
#[tokio::test]
async fn a_revocation_on_a_is_ordered_against_posts_on_b_many_rounds_zero_leaks() {
    if !postgres() {
        return;
    }
    const ROUNDS: usize = 30;
    let a = Server::demo_with(&NO_WRITE_LIMITS).await;
    let b = a.second_node(&NO_WRITE_LIMITS).await;
    let guardian_a = a.login("guardian.sato").await;
    let guardian_b = b.login("guardian.sato").await;
    let child = guardian_a.child_id(HINATA).await;
    let doctor_a = a.login("doctor.ito").await;
    let doctor_b = Session {
        api: b.api(),
        ..doctor_a.clone()
    };
    let members = format!("/api/v1/children/{child}/members");
    let revoke = format!("{members}/{}/revoke", doctor_a.account_id);
    let log_path = format!("/api/v1/children/{child}/access-log");
    let mut leaks = Vec::new();
    let mut raced = 0;
    let mut log_after = last_log_id(&guardian_a, &log_path).await;
    for round in 0..ROUNDS {
        // Grant (again), and the doctor subscribes on both nodes.
        let (st, m) = guardian_a.get(&members).await;
        assert_eq!(st, 200, "{m}");
        let active =
            m.as_array().unwrap().iter().any(|x| {
                x["account_id"] == doctor_a.account_id.as_str() && x["status"] == "active"
            }); // ok: the member list is an array
        if !active {
            let (st, v) = guardian_a
                .post(
                    &members,
                    &json!({"account_id": doctor_a.account_id, "categories": ["medical"],
                            "can_post": false, "purpose": "順序の試験"}),
                )
                .await;
            assert!(st == 201 || st == 200, "re-grant: {st} {v}");
        }
        let last = guardian_a.last_seq(&child).await;
        let mut on_b = doctor_b.ws().await;
        on_b.subscribe(&child, last).await;
        let mut on_a = doctor_a.ws().await;
        on_a.subscribe(&child, last).await;

        // B posts as fast as it is answered; A revokes a moment in.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let poster = {
            let (stop, guardian_b, child) = (stop.clone(), guardian_b.clone(), child.clone());
            tokio::spawn(async move {
                let mut ws = guardian_b.ws().await;
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let cid = new_client_id();
                    let v = ws
                        .post(
                            &child,
                            &cid,
                            "medical",
                            "note",
                            json!({"text": format!("連投 {n}")}),
                        )
                        .await;
                    assert_eq!(v["type"], "posted", "{v}");
                    n += 1;
                }
                n
            })
        };
        tokio::time::sleep(Duration::from_millis(20 + (round as u64 * 7) % 30)).await;
        let (st, v) = guardian_a.post_empty(&revoke).await;
        assert_eq!(st, 200, "{v}");
        tokio::time::sleep(Duration::from_millis(60)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let posts = poster.await.unwrap(); // ok: the poster task's own assertions
        assert!(posts > 0, "round {round}: nothing was posted");

        // What each socket received until its `membership` frame, and after.
        let mut received = Vec::new();
        for (node, ws) in [("B", &mut on_b), ("A", &mut on_a)] {
            loop {
                match ws.next_frame(Duration::from_secs(5)).await {
                    Frame::Json(v) if v["type"] == "entry" => {
                        received.push((node, v["entry"]["id"].as_str().unwrap_or("").to_owned()))
                    }
                    Frame::Json(v) if v["type"] == "membership" => {
                        assert_eq!(v["status"], "revoked", "{v}");
                        break;
                    }
                    other => panic!("round {round}, node {node}: {other:?}"),
                }
            }
            // Nothing after the membership frame either.
            match ws.next_frame(Duration::from_millis(200)).await {
                Frame::Timeout => {}
                Frame::Json(v) if v["type"] == "entry" => {
                    received.push((node, v["entry"]["id"].as_str().unwrap_or("").to_owned()))
                }
                other => panic!("round {round}, node {node}: after the revocation {other:?}"),
            }
        }

        // The entries committed after the revocation, from the access log.
        let records = log_since(&guardian_a, &log_path, log_after).await;
        log_after = records
            .last()
            .map_or(log_after, |r| r["id"].as_i64().unwrap_or(log_after));
        let revoked_at = records
            .iter()
            .rposition(|r| {
                r["action"] == "member_change"
                    && r["detail"].as_str().is_some_and(|d| d.contains("revoked"))
            })
            .unwrap_or_else(|| panic!("round {round}: no revocation in the access log"));
        let after: std::collections::HashSet<String> = records[revoked_at..]
            .iter()
            .filter(|r| r["action"] == "post")
            .filter_map(|r| {
                r["detail"]
                    .as_str()?
                    .strip_prefix("entry ")
                    .map(str::to_owned)
            })
            .collect();
        if !after.is_empty() {
            raced += 1;
        }
        for (node, id) in &received {
            if after.contains(id) {
                leaks.push(format!(
                    "round {round}: entry {id} reached the revoked member on node {node}"
                ));
            }
        }
        on_a.close().await;
        on_b.close().await;
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    assert!(
        raced >= ROUNDS / 2,
        "only {raced} of {ROUNDS} rounds had posts committed after the revocation"
    );
    a.check_logs();
    b.check_logs();
}

async fn last_log_id(s: &Session, path: &str) -> i64 {
    log_since(s, path, 0)
        .await
        .last()
        .and_then(|r| r["id"].as_i64())
        .unwrap_or(0)
}

/// Every access-log record after `after`, oldest first.
async fn log_since(s: &Session, path: &str, mut after: i64) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    loop {
        let (st, v) = s.get(&format!("{path}?after={after}&limit=500")).await;
        assert_eq!(st, 200, "{v}");
        let page = v.as_array().cloned().unwrap_or_default();
        // A short page is the end (each read adds its own `read_access_log`
        // record, so "until an empty page" would never end).
        let end = page.len() < 500;
        after = page.last().and_then(|r| r["id"].as_i64()).unwrap_or(after);
        all.extend(page);
        if end {
            return all;
        }
    }
}
