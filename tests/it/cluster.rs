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
