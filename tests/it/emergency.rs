//! Issue 3, tests 1, 2 and 4: emergency alerts reach tier 1 at once and the
//! next tier only after the escalation delay; an acknowledgement stops the
//! escalation and every party hears of it; escalation survives `kill -9`
//! on time and without notifying anyone twice for a step; who may read the
//! emergency card, set contacts, raise and acknowledge alerts.
//!
//! Every socket is read by a `Tap` (a task timestamping each frame as it
//! arrives), so that "not before the delay" and "nothing more after the ack"
//! are measured on sockets that were being read the whole time.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::helpers::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Slack for comparing the test's clock with the server's millisecond times.
const CLOCK_SLACK: Duration = Duration::from_millis(50);

fn wall_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The `Instant` at which the wall clock will read `wall` (now, if past).
fn instant_at(wall: OffsetDateTime) -> Instant {
    let left = wall - wall_now();
    Instant::now() + Duration::try_from(left).unwrap_or(Duration::ZERO)
}

fn time_field(v: &Value, field: &str) -> OffsetDateTime {
    parse_rfc3339(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {v}")),
    )
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn alert_frames(tap: &Tap, ty: &str, id: &str) -> Vec<(Instant, Value)> {
    tap.frames()
        .into_iter()
        .filter(|(_, v)| is_alert_frame(v, ty, id))
        .collect()
}

/// Asserts the Alert shape of the contract (and the documented extras).
fn assert_alert_shape(a: &Value) {
    for k in [
        "id",
        "child_id",
        "child_name",
        "raised_by",
        "message",
        "created_at",
        "status",
        "acked_by",
        "acked_at",
        "deliveries",
    ] {
        assert!(a.get(k).is_some(), "alert without {k}: {a}");
    }
    time_field(a, "created_at");
    for d in a["deliveries"].as_array().unwrap() {
        for k in [
            "account_id",
            "tier",
            "notified_at",
            "channels",
            "acked_at",
            "push_status",
            "notify_count",
        ] {
            assert!(d.get(k).is_some(), "delivery without {k}: {d}");
        }
        assert!(d["channels"].is_array(), "channels not an array: {d}");
    }
}

fn channels(d: &Value) -> Vec<String> {
    d["channels"]
        .as_array()
        .unwrap_or_else(|| panic!("no channels in {d}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// The card of 佐藤 ひなた as read by `s`, asserting 200 and its shape.
async fn read_card(s: &Session, child: &str) -> Value {
    let (st, v) = s
        .get(&format!("/api/v1/children/{child}/emergency-card"))
        .await;
    assert_eq!(st, 200, "GET emergency card as {}: {v}", s.login);
    for k in [
        "child_id",
        "summary",
        "steps",
        "hospital",
        "notes",
        "updated_by",
        "updated_at",
    ] {
        assert!(v.get(k).is_some(), "card without {k}: {v}");
    }
    assert_eq!(v["child_id"], child, "{v}");
    assert!(v["steps"].is_array(), "{v}");
    time_field(&v, "updated_at");
    v
}

async fn contacts(s: &Session, child: &str) -> Vec<(String, i64)> {
    let (st, v) = s
        .get(&format!("/api/v1/children/{child}/emergency-contacts"))
        .await;
    assert_eq!(st, 200, "GET contacts as {}: {v}", s.login);
    let mut out: Vec<(String, i64)> = v
        .as_array()
        .unwrap_or_else(|| panic!("contacts not an array: {v}"))
        .iter()
        .map(|c| {
            assert!(
                c["display_name"].as_str().is_some_and(|n| !n.is_empty()),
                "contact without display_name: {c}"
            );
            (
                c["account_id"].as_str().unwrap().to_string(),
                c["tier"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort_by_key(|c| c.1);
    out
}

// ---------------------------------------------------------------------------
// 1. Tiers, delay, acknowledgement
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier1_at_once_tier2_after_delay_and_ack_stops_escalation() {
    let delay = Duration::from_secs(2);
    let server = Server::demo_with(&["--escalation-delay", "2"]).await;
    let g = server.login("guardian.sato").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let kato = server.login("phn.kato").await;
    let child = g.child_id(HINATA).await;

    assert_eq!(
        contacts(&tanaka, &child).await,
        [
            (g.account_id.clone(), 1),
            (ogawa.account_id.clone(), 2),
            (ito.account_id.clone(), 3)
        ],
        "demo contacts of {HINATA}"
    );

    let g1 = Tap::new("guardian.sato socket 1 (tier 1)", g.ws().await);
    let g2 = Tap::new("guardian.sato socket 2 (tier 1)", g.ws().await);
    let t_ogawa = Tap::new("schoolnurse.ogawa (tier 2)", ogawa.ws().await);
    let t_ito = Tap::new("doctor.ito (tier 3)", ito.ws().await);
    let t_tanaka = Tap::new("teacher.tanaka (raiser)", tanaka.ws().await);
    let t_kato = Tap::new("phn.kato (member, not a party)", kato.ws().await);

    let msg = format!("低血糖の疑い。声かけに反応が鈍い {}", server.marker());
    let t0 = Instant::now();
    let a = tanaka.raise_alert(&child, &msg).await;
    assert_alert_shape(&a);
    let id = id_of(&a);
    assert_eq!(a["child_id"], child.as_str(), "{a}");
    assert_eq!(a["child_name"], HINATA, "{a}");
    assert_eq!(a["raised_by"], tanaka.account_id.as_str(), "{a}");
    assert_eq!(a["message"], msg.as_str(), "{a}");
    assert_eq!(a["status"], "open", "{a}");
    assert!(a["acked_by"].is_null(), "{a}");
    let d = delivery_of(&a, &g.account_id)
        .unwrap_or_else(|| panic!("tier 1 (guardian) not notified at once: {a}"));
    assert_eq!(d["tier"], 1, "{d}");
    assert_eq!(d["notify_count"], 1, "{d}");
    time_field(d, "notified_at");
    assert!(
        channels(d).contains(&"websocket".to_string()),
        "guardian online but channels {d}"
    );
    assert_eq!(
        notify_count(&a, &ogawa.account_id),
        0,
        "tier 2 at once: {a}"
    );
    assert_eq!(notify_count(&a, &ito.account_id), 0, "tier 3 at once: {a}");
    // The raise answers with the alert as it was stored (it is built without
    // reading it back).
    let (st, stored) = tanaka.get(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(st, 200, "{stored}");
    assert_eq!(stored, a, "raise answer and stored alert differ");

    let (st, open) = g.get("/api/v1/alerts?open=true").await;
    assert_eq!(st, 200, "{open}");
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()),
        "open alert not in ?open=true: {open}"
    );

    // Tier 1: on every open socket within 1 s.
    for tap in [&g1, &g2] {
        let (at, f) = tap
            .wait_until("alert frame within 1 s", t0 + secs(1.0), |v| {
                is_alert_frame(v, "alert", &id)
            })
            .await;
        assert!(
            at - t0 <= secs(1.0),
            "{}: alert after {:?}",
            tap.name,
            at - t0
        );
        assert_eq!(f["alert"]["message"], msg.as_str(), "{f}");
        assert_eq!(f["alert"]["child_name"], HINATA, "{f}");
        assert_eq!(f["alert"]["status"], "open", "{f}");
    }
    // The raiser hears of it (alert_update, not an alert: it is no contact).
    t_tanaka
        .wait_until("alert_update (open)", t0 + secs(1.0), |v| {
            is_alert_frame(v, "alert_update", &id) && v["alert"]["status"] == "open"
        })
        .await;

    // Tier 2: not before the delay, then at once.
    let (at2, f2) = t_ogawa
        .wait_until(
            "tier-2 alert after the delay",
            t0 + delay + secs(1.5),
            |v| is_alert_frame(v, "alert", &id),
        )
        .await;
    assert!(
        at2 + CLOCK_SLACK >= t0 + delay,
        "tier 2 was notified {:?} after the raise, before the {delay:?} escalation delay",
        at2 - t0
    );
    let early: Vec<Value> = t_ogawa
        .frames()
        .into_iter()
        .filter(|(t, _)| *t < at2)
        .map(|f| f.1)
        .collect();
    assert!(
        early.is_empty(),
        "tier 2 got frames before its step: {early:?}"
    );
    let d2 = delivery_of(&f2["alert"], &ogawa.account_id)
        .unwrap_or_else(|| panic!("tier-2 alert without its delivery: {f2}"));
    assert_eq!(d2["tier"], 2, "{d2}");
    assert_eq!(d2["notify_count"], 1, "{d2}");
    assert!(channels(d2).contains(&"websocket".to_string()), "{d2}");
    // Tier 1 is re-notified at the same step, on every socket.
    for tap in [&g1, &g2] {
        tap.wait_until("re-notification at step 1", at2 + secs(1.0), |v| {
            is_alert_frame(v, "alert", &id) && notify_count(&v["alert"], &g.account_id) == 2
        })
        .await;
    }
    // The raiser gets an alert_update for the step.
    t_tanaka
        .wait_until("alert_update of step 1", at2 + secs(1.0), |v| {
            is_alert_frame(v, "alert_update", &id)
                && notify_count(&v["alert"], &ogawa.account_id) == 1
        })
        .await;

    // Acknowledgement over the WebSocket by the tier-2 contact.
    t_ogawa.send(json!({"type": "ack_alert", "alert_id": id, "ref": "ack-1"}));
    let t_ack = Instant::now();
    assert!(
        t_ack + secs(0.3) < t0 + 2 * delay,
        "machine too slow: the ack would race the next step"
    );
    let (_, acked) = t_ogawa
        .wait_until("acked answer", t_ack + secs(2.0), |v| v["ref"] == "ack-1")
        .await;
    assert_eq!(acked["type"], "acked", "ack_alert answered {acked}");
    let acked = acked["alert"].clone();
    assert_alert_shape(&acked);
    assert_eq!(acked["id"], id.as_str());
    assert_eq!(acked["status"], "acknowledged", "{acked}");
    assert_eq!(acked["acked_by"], ogawa.account_id.as_str(), "{acked}");
    time_field(&acked, "acked_at");
    let d_ack = delivery_of(&acked, &ogawa.account_id).unwrap();
    time_field(d_ack, "acked_at");

    // Every party gets alert_update with the acknowledgement.
    for tap in [&g1, &g2, &t_tanaka, &t_ogawa] {
        tap.wait_until("alert_update (acknowledged)", t_ack + secs(2.0), |v| {
            is_alert_frame(v, "alert_update", &id)
                && v["alert"]["status"] == "acknowledged"
                && v["alert"]["acked_by"] == ogawa.account_id.as_str()
        })
        .await;
    }

    // Escalation stopped: nothing more for longer than two delays.
    tokio::time::sleep(2 * delay + secs(1.0)).await;
    let after = g.alert(&id).await;
    assert_eq!(after["status"], "acknowledged", "{after}");
    assert_eq!(
        notify_count(&after, &g.account_id),
        2,
        "tier 1 notified again after the ack: {after}"
    );
    assert_eq!(
        notify_count(&after, &ogawa.account_id),
        1,
        "tier 2 notified again after the ack: {after}"
    );
    assert_eq!(
        notify_count(&after, &ito.account_id),
        0,
        "tier 3 notified after the ack: {after}"
    );
    for tap in [&g1, &g2, &t_ogawa, &t_tanaka, &t_ito, &t_kato] {
        let late: Vec<Value> = tap
            .frames()
            .into_iter()
            .filter(|(t, v)| {
                *t > t_ack
                    && (is_alert_frame(v, "alert", &id)
                        || (is_alert_frame(v, "alert_update", &id)
                            && v["alert"]["status"] != "acknowledged"))
            })
            .map(|f| f.1)
            .collect();
        assert!(
            late.is_empty(),
            "{}: escalation went on after the ack: {late:?}",
            tap.name
        );
    }
    // Tier 3 was never reached, and a member who is no party hears nothing.
    for tap in [&t_ito, &t_kato] {
        let about: Vec<Value> = tap
            .frames()
            .into_iter()
            .filter(|(_, v)| v["alert"]["id"] == id.as_str())
            .map(|f| f.1)
            .collect();
        assert!(about.is_empty(), "{}: got {about:?}", tap.name);
    }

    // A second acknowledgement (HTTP, another contact) is idempotent.
    let (st, again) = g.post_empty(&format!("/api/v1/alerts/{id}/ack")).await;
    assert_eq!(st, 200, "second ack: {again}");
    assert_eq!(again["status"], "acknowledged", "{again}");
    assert_eq!(again["acked_by"], ogawa.account_id.as_str(), "{again}");
    assert_eq!(again["acked_at"], acked["acked_at"], "{again}");

    let (st, open) = g.get("/api/v1/alerts?open=true").await;
    assert_eq!(st, 200, "{open}");
    assert!(
        !open
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()),
        "acknowledged alert still in ?open=true: {open}"
    );
    let (st, all) = g.get("/api/v1/alerts").await;
    assert_eq!(st, 200, "{all}");
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()),
        "alert missing from GET /alerts: {all}"
    );
    server.check_logs();
}

// ---------------------------------------------------------------------------
// 2. Restart in the middle
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_survives_kill_9_on_time_and_once() {
    let delay = Duration::from_secs(3);
    let mut server = Server::demo_with(&["--escalation-delay", "3"]).await;
    let g = server.login("guardian.sato").await;
    let tanaka = server.login("teacher.tanaka").await;
    let ogawa_id = server.login("schoolnurse.ogawa").await.account_id;
    let ito_id = server.login("doctor.ito").await.account_id;
    let g_id = g.account_id.clone();
    let child = g.child_id(HINATA).await;
    let g_tap = Tap::new("guardian.sato before the kill", g.ws().await);

    let msg = format!("人工呼吸器のアラームが止まらない {}", server.marker());
    let t0 = Instant::now();
    let a = tanaka.raise_alert(&child, &msg).await;
    let id = id_of(&a);
    let created = time_field(&a, "created_at");
    g_tap
        .wait_until("tier-1 alert", t0 + secs(1.0), |v| {
            is_alert_frame(v, "alert", &id)
        })
        .await;

    // kill -9 right after the raise, restart at once.
    server.kill();
    drop(g_tap);
    server.restart().await;
    let restarted = wall_now();
    let g = server.login("guardian.sato").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let g_tap = Tap::new("guardian.sato after restart 1", g.ws().await);
    let o_tap = Tap::new("schoolnurse.ogawa after restart 1", ogawa.ws().await);
    // A contact connecting later gets the open alerts that reached them.
    let (_, first) = g_tap
        .wait_until(
            "open alert right after ready",
            Instant::now() + secs(2.0),
            |_| true,
        )
        .await;
    assert!(
        is_alert_frame(&first, "alert", &id),
        "first frame after ready: {first}"
    );

    // Tier 2 fires on time (created + delay; at once had that passed while down).
    let due = created + delay;
    let (at2, _) = o_tap
        .wait_until(
            "tier-2 alert after the restart",
            instant_at(due.max(restarted)) + secs(2.0),
            |v| is_alert_frame(v, "alert", &id),
        )
        .await;
    let a1 = g.alert(&id).await;
    let d2 = delivery_of(&a1, &ogawa_id).unwrap_or_else(|| panic!("tier 2 missing: {a1}"));
    assert_eq!(d2["notify_count"], 1, "{d2}");
    let n2 = time_field(d2, "notified_at");
    assert!(
        n2 + CLOCK_SLACK >= due,
        "tier 2 notified at {n2}, before the delay was over ({due})"
    );
    assert!(
        n2 <= due.max(restarted) + secs(1.5),
        "tier 2 notified at {n2}: late (due {due}, server back at {restarted})"
    );
    assert_eq!(notify_count(&a1, &g_id), 2, "{a1}");

    // No duplicate of step 1 on the live socket.
    tokio::time::sleep_until((at2 + secs(0.5)).into()).await;
    assert_eq!(
        alert_frames(&o_tap, "alert", &id).len(),
        1,
        "tier 2 notified twice: {:?}",
        o_tap.frames()
    );

    // kill -9 between step 1 and step 2: step 1 must not run again, step 2
    // must run on time.
    server.kill();
    drop((g_tap, o_tap));
    server.restart().await;
    let restarted2 = wall_now();
    let g = server.login("guardian.sato").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let g_tap = Tap::new("guardian.sato after restart 2", g.ws().await);
    let o_tap = Tap::new("schoolnurse.ogawa after restart 2", ogawa.ws().await);
    let i_tap = Tap::new("doctor.ito after restart 2 (tier 3)", ito.ws().await);
    let r_tap = Tap::new("teacher.tanaka after restart 2 (raiser)", tanaka.ws().await);
    let step2_due = n2 + delay;
    if wall_now() + secs(0.3) < step2_due {
        let mid = g.alert(&id).await;
        assert_eq!(
            notify_count(&mid, &ogawa_id),
            1,
            "step 1 ran again after the restart: {mid}"
        );
        assert_eq!(notify_count(&mid, &ito_id), 0, "step 2 ran early: {mid}");
    }

    let (at3, _) = i_tap
        .wait_until(
            "tier-3 alert (step 2)",
            instant_at(step2_due.max(restarted2)) + secs(2.0),
            |v| is_alert_frame(v, "alert", &id),
        )
        .await;
    let a2 = g.alert(&id).await;
    let n3 = time_field(
        delivery_of(&a2, &ito_id).unwrap_or_else(|| panic!("tier 3 missing: {a2}")),
        "notified_at",
    );
    assert!(
        n3 + CLOCK_SLACK >= step2_due,
        "step 2 at {n3}, before its time {step2_due}"
    );
    assert!(
        n3 <= step2_due.max(restarted2) + secs(1.5),
        "step 2 at {n3}: late (due {step2_due}, server back at {restarted2})"
    );
    // Each step ran exactly once: tier 1 three times (steps 0, 1, 2), tier 2
    // twice (steps 1, 2), tier 3 once.
    assert_eq!(notify_count(&a2, &g_id), 3, "{a2}");
    assert_eq!(notify_count(&a2, &ogawa_id), 2, "{a2}");
    assert_eq!(notify_count(&a2, &ito_id), 1, "{a2}");
    tokio::time::sleep_until((at3 + secs(0.3)).into()).await;
    let o_alerts = alert_frames(&o_tap, "alert", &id);
    assert!(
        o_alerts.len() <= 2,
        "tier 2 got {} alert frames after restart 2 (replay + step 2 at most): {o_alerts:?}",
        o_alerts.len()
    );
    assert!(
        o_alerts
            .iter()
            .any(|(_, v)| notify_count(&v["alert"], &ogawa_id) == 2),
        "tier 2 not re-notified at step 2: {o_alerts:?}"
    );
    assert_eq!(
        alert_frames(&i_tap, "alert", &id).len(),
        1,
        "{:?}",
        i_tap.frames()
    );

    // The tier-3 contact acknowledges over HTTP; every party hears of it.
    let (st, acked) = ito.post_empty(&format!("/api/v1/alerts/{id}/ack")).await;
    assert_eq!(st, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged", "{acked}");
    assert_eq!(acked["acked_by"], ito_id.as_str(), "{acked}");
    let t_ack = Instant::now();
    for tap in [&g_tap, &o_tap, &i_tap, &r_tap] {
        tap.wait_until("alert_update (acknowledged)", t_ack + secs(2.0), |v| {
            is_alert_frame(v, "alert_update", &id) && v["alert"]["status"] == "acknowledged"
        })
        .await;
    }
    server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_step_runs_at_once_after_restart_and_once() {
    let mut server = Server::demo_with(&["--escalation-delay", "2"]).await;
    let g = server.login("guardian.sato").await;
    let tanaka = server.login("teacher.tanaka").await;
    let child = g.child_id(HINATA).await;
    let msg = format!("発熱 39 度、化学療法中 {}", server.marker());
    let a = tanaka.raise_alert(&child, &msg).await;
    let id = id_of(&a);
    let created = time_field(&a, "created_at");
    server.kill();
    // Stay down past the step's time.
    tokio::time::sleep_until(instant_at(created + secs(3.0)).into()).await;
    let down_until = wall_now();
    server.restart().await;
    let restarted = wall_now();
    let g = server.login("guardian.sato").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let o_tap = Tap::new("schoolnurse.ogawa (tier 2)", ogawa.ws().await);

    // The overdue step runs at once (live, or replayed on connect if it ran
    // before the socket was up), exactly once.
    o_tap
        .wait_until("overdue tier-2 alert", Instant::now() + secs(2.0), |v| {
            is_alert_frame(v, "alert", &id)
        })
        .await;
    let a1 = g.alert(&id).await;
    let d2 = delivery_of(&a1, &ogawa.account_id).unwrap_or_else(|| panic!("{a1}"));
    let n2 = time_field(d2, "notified_at");
    assert!(
        n2 + CLOCK_SLACK >= down_until,
        "tier 2 notified at {n2}, while the server was down?"
    );
    assert!(
        n2 <= restarted + secs(1.0),
        "overdue step not run at once: at {n2}, server back at {restarted}"
    );
    // Until the next step (n2 + delay), tier 2 is notified once.
    tokio::time::sleep_until(instant_at(n2 + secs(1.5)).into()).await;
    let mid = g.alert(&id).await;
    assert_eq!(notify_count(&mid, &ogawa.account_id), 1, "{mid}");
    assert_eq!(notify_count(&mid, &g.account_id), 2, "{mid}");
    assert_eq!(
        alert_frames(&o_tap, "alert", &id).len(),
        1,
        "{:?}",
        o_tap.frames()
    );
    let (st, acked) = g.post_empty(&format!("/api/v1/alerts/{id}/ack")).await;
    assert_eq!(st, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged", "{acked}");
    server.check_logs();
}

// ---------------------------------------------------------------------------
// 4. Authorization
// ---------------------------------------------------------------------------

#[tokio::test]
async fn card_contacts_and_alert_authorization() {
    let server = Server::demo_with(&["--escalation-delay", "600"]).await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let tanaka = server.login("teacher.tanaka").await;
    let kato = server.login("phn.kato").await;
    let yamada = server.login("coordinator.yamada").await;
    let nakamura = server.login("guardian.nakamura").await; // non-member
    let suzuki = server.login("nurse.suzuki").await; // non-member
    let child = g.child_id(HINATA).await;
    let card_path = format!("/api/v1/children/{child}/emergency-card");
    let contacts_path = format!("/api/v1/children/{child}/emergency-contacts");

    // The card: every active member, whatever its categories (teacher.tanaka
    // has education only), and each read is in the access log.
    let demo_card = read_card(&g, &child).await;
    assert!(
        demo_card["summary"].as_str().is_some_and(|s| !s.is_empty()),
        "demo card has no summary: {demo_card}"
    );
    assert!(
        !demo_card["steps"].as_array().unwrap().is_empty(),
        "demo card has no steps: {demo_card}"
    );
    for s in [&ito, &ogawa, &tanaka, &kato, &yamada] {
        let c = read_card(s, &child).await;
        assert_eq!(c["summary"], demo_card["summary"], "{c}");
    }
    for s in [&nakamura, &suzuki] {
        assert_err(&s.get(&card_path).await, 404, "not_found");
    }
    assert_eq!(server.api().get(&card_path, None).await.0, 401);
    let (st, log) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=1000"))
        .await;
    assert_eq!(st, 200, "{log}");
    let readers: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "emergency_card_read")
        .map(|r| r["account_id"].as_str().unwrap())
        .collect();
    for s in [&g, &ito, &ogawa, &tanaka, &kato, &yamada] {
        assert!(
            readers.contains(&s.account_id.as_str()),
            "{}'s card read not in the access log: {log}",
            s.login
        );
    }
    for s in [&nakamura, &suzuki] {
        assert!(!readers.contains(&s.account_id.as_str()), "{log}");
    }

    // Writing the card: a guardian or a member with medical.
    let new_card = |m: &str| {
        json!({"summary": format!("1 型糖尿病 {m}"), "steps": ["ブドウ糖 10 g", "15 分後に再測定"],
               "hospital": "みどり総合病院 小児科", "notes": format!("補食は保健室 {m}")})
    };
    let m1 = server.marker();
    assert_err(
        &tanaka.put_json(&card_path, &new_card(&m1)).await,
        403,
        "forbidden",
    );
    assert_err(
        &nakamura.put_json(&card_path, &new_card(&m1)).await,
        404,
        "not_found",
    );
    let mut bad = new_card(&m1);
    bad["color"] = json!("red");
    assert_err(&g.put_json(&card_path, &bad).await, 400, "bad_request");
    let (st, v) = ito.put_json(&card_path, &new_card(&m1)).await;
    assert_eq!(st, 200, "medical member writes the card: {v}");
    let m2 = server.marker();
    let (st, v) = g.put_json(&card_path, &new_card(&m2)).await;
    assert_eq!(st, 200, "guardian writes the card: {v}");
    let c = read_card(&tanaka, &child).await;
    assert_eq!(c["summary"], format!("1 型糖尿病 {m2}"), "{c}");
    assert_eq!(c["updated_by"], g.account_id.as_str(), "{c}");

    // Contacts: only a guardian sets them, and only to active members.
    let reordered = json!([
        {"account_id": g.account_id, "tier": 1},
        {"account_id": ito.account_id, "tier": 2},
        {"account_id": ogawa.account_id, "tier": 3},
    ]);
    for s in [&ito, &ogawa, &tanaka] {
        assert_err(
            &s.put_json(&contacts_path, &reordered).await,
            403,
            "forbidden",
        );
    }
    assert_err(
        &nakamura.put_json(&contacts_path, &reordered).await,
        404,
        "not_found",
    );
    assert_err(&nakamura.get(&contacts_path).await, 404, "not_found");
    assert_err(
        &g.put_json(
            &contacts_path,
            &json!([{"account_id": g.account_id, "tier": 1},
                    {"account_id": suzuki.account_id, "tier": 2}]),
        )
        .await,
        400,
        "bad_request",
    );
    let (st, v) = g.put_json(&contacts_path, &reordered).await;
    assert_eq!(st, 200, "guardian sets contacts: {v}");
    assert_eq!(
        contacts(&tanaka, &child).await,
        [
            (g.account_id.clone(), 1),
            (ito.account_id.clone(), 2),
            (ogawa.account_id.clone(), 3)
        ]
    );

    // Alerts: any active member raises; non-members get 404.
    let alerts_path = format!("/api/v1/children/{child}/alerts");
    assert_err(
        &nakamura
            .post(&alerts_path, &json!({"message": "テスト"}))
            .await,
        404,
        "not_found",
    );
    let msg = format!("けいれん発作 {}", server.marker());
    let a = tanaka.raise_alert(&child, &msg).await;
    let id = id_of(&a);
    let ack_path = format!("/api/v1/alerts/{id}/ack");
    assert_err(
        &nakamura.get(&format!("/api/v1/alerts/{id}")).await,
        404,
        "not_found",
    );
    assert_err(&nakamura.post_empty(&ack_path).await, 404, "not_found");
    let (st, open) = nakamura.get("/api/v1/alerts?open=true").await;
    assert_eq!(st, 200, "{open}");
    assert!(
        !open
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()),
        "another family sees the alert: {open}"
    );
    let seen = kato.alert(&id).await;
    assert_eq!(seen["message"], msg.as_str(), "{seen}");
    // Only contacts acknowledge: members who are not contacts get 403.
    for s in [&kato, &tanaka, &yamada] {
        assert_err(&s.post_empty(&ack_path).await, 403, "forbidden");
    }
    assert_eq!(kato.alert(&id).await["status"], "open");
    // A contact of any tier acknowledges, notified or not (tier 3 here).
    let (st, acked) = ogawa.post_empty(&ack_path).await;
    assert_eq!(st, 200, "tier-3 contact acks: {acked}");
    assert_eq!(acked["status"], "acknowledged", "{acked}");
    assert_eq!(acked["acked_by"], ogawa.account_id.as_str(), "{acked}");
    let (st, again) = g.post_empty(&ack_path).await;
    assert_eq!(st, 200, "idempotent ack: {again}");
    assert_eq!(again["acked_by"], ogawa.account_id.as_str(), "{again}");

    // Revoked members: the card is no longer theirs to read, nor an alert
    // theirs to acknowledge.
    for s in [&tanaka, &ito] {
        let (st, v) = g
            .post_empty(&format!(
                "/api/v1/children/{child}/members/{}/revoke",
                s.account_id
            ))
            .await;
        assert_eq!(st, 200, "revoke {}: {v}", s.login);
    }
    assert_err(&tanaka.get(&card_path).await, 403, "forbidden");
    let b = kato
        .raise_alert(&child, &format!("再発作 {}", server.marker()))
        .await;
    let (st, v) = ito
        .post_empty(&format!("/api/v1/alerts/{}/ack", id_of(&b)))
        .await;
    assert_eq!(st, 403, "a revoked contact acknowledged: {v}");
    server.check_logs();
}
