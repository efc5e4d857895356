//! Handover when staff move (issue 19, point 3): a full handover (the
//! successor reads the oldest entry, the predecessor expires after the
//! overlap), the bad inputs that change nothing, a decline, and the
//! organization-wide handover of a leaver, each child approved by its own
//! guardian, tied to disabling the leaver. On PostgreSQL, a handover opened
//! on one node reaches the guardian's socket on another.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

use crate::helpers::*;

const SOTA: &str = "高橋 そうた";
const REN: &str = "渡辺 蓮";
const YUI: &str = "中村 ゆい";

fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn member<'a>(members: &'a [Value], account: &str) -> Option<&'a Value> {
    members.iter().find(|m| m["account_id"] == account)
}

async fn members(s: &Session, child: &str) -> Vec<Value> {
    let (st, v) = s.get(&format!("/api/v1/children/{child}/members")).await;
    assert_eq!(st, 200, "{v}");
    array(&v)
}

async fn frame_of(ws: &mut Ws, ty: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(5), ws.recv_type(ty))
        .await
        .unwrap_or_else(|_| panic!("no {ty} frame within 5 s")) // ok: the test's own timeout
        .0
}

#[tokio::test]
async fn a_full_handover_gives_the_successor_the_whole_history_and_expires_the_predecessor() {
    // One overlap day lasts 2 s here.
    let server = Server::demo_with(&["--overlap-day-secs", "2"]).await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let mori = server.login("doctor.mori").await;
    let child = g.child_id(HINATA).await;
    let base = format!("/api/v1/children/{child}/handovers");
    let mut g_ws = g.ws().await;
    let mut ito_ws = ito.ws().await;
    ito_ws.subscribe(&child, 0).await;

    // The successor is not a member yet: the child does not exist for him.
    let (st, _) = mori.get(&format!("/api/v1/children/{child}/entries")).await;
    assert_eq!(st, 404);
    let ito_entries = ito.all_entries(&child).await;
    let oldest = ito_entries.first().cloned().unwrap_or_default();
    assert!(oldest["id"].is_string(), "Dr Ito reads entries");

    // The leaving doctor opens it.
    let (st, h) = ito
        .post(
            &base,
            &json!({"from_account": ito.account_id, "to_account": mori.account_id,
                    "overlap_days": 2, "note": "インスリン量の経過は 10 月の記録を参照"}),
        )
        .await;
    assert_eq!(st, 201, "{h}");
    assert_eq!(h["status"], "requested", "{h}");
    assert_eq!(h["overlap_days"], 2, "{h}");
    assert_eq!(h["to_name"], "森 健一", "{h}");
    let hid = h["id"].as_str().unwrap_or_default().to_owned();

    // Live on the guardian's open socket, and in her list.
    let frame = frame_of(&mut g_ws, "handover").await;
    assert_eq!(frame["child_id"], child.as_str(), "{frame}");
    assert_eq!(frame["handover"]["id"], hid.as_str(), "{frame}");
    assert_eq!(frame["handover"]["status"], "requested", "{frame}");
    let (st, pending) = g.get("/api/v1/handovers").await;
    assert_eq!(st, 200, "{pending}");
    let pending = array(&pending);
    // The demo's own: the class teacher's, asked by the coordinator.
    assert!(
        pending
            .iter()
            .any(|p| p["handover"]["from_name"] == "田中 翔"
                && p["handover"]["to_name"] == "木村 優子"
                && p["handover"]["status"] == "requested"),
        "{pending:?}"
    );
    let mine: Vec<&Value> = pending
        .iter()
        .filter(|p| p["handover"]["id"] == hid.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{pending:?}");
    assert_eq!(mine[0]["child_name"], HINATA);
    assert_eq!(
        mine[0]["handover"]["note"],
        "インスリン量の経過は 10 月の記録を参照"
    );
    // Professionals hold no consent: nothing awaits them.
    let (st, none) = ito.get("/api/v1/handovers").await;
    assert_eq!(st, 200, "{none}");
    assert_eq!(array(&none).len(), 0, "{none}");
    // Only the consent holder approves.
    assert_err(
        &ito.post_empty(&format!("{base}/{hid}/approve")).await,
        403,
        "forbidden",
    );

    // One tap.
    let (st, done) = g.post_empty(&format!("{base}/{hid}/approve")).await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["status"], "approved", "{done}");
    assert_eq!(done["decided_by"], g.account_id.as_str(), "{done}");
    assert_err(
        &g.post_empty(&format!("{base}/{hid}/approve")).await,
        409,
        "conflict",
    );

    // The successor: the predecessor's categories and right, the whole history.
    let list = members(&g, &child).await;
    let (from, to) = (
        member(&list, &ito.account_id).cloned().unwrap_or_default(),
        member(&list, &mori.account_id).cloned().unwrap_or_default(),
    );
    assert_eq!(to["status"], "active", "{to}");
    assert_eq!(to["categories"], from["categories"], "{to} vs {from}");
    assert_eq!(to["can_post"], from["can_post"], "{to}");
    assert!(to["history_from"].is_null(), "{to}");
    assert_eq!(to["granted_by"], g.account_id.as_str(), "{to}");
    assert_eq!(from["status"], "active", "in the overlap: {from}");
    assert!(from["expires_at"].is_string(), "{from}");
    let mori_entries = mori.all_entries(&child).await;
    assert_eq!(
        mori_entries.first().map(|e| e["id"].clone()),
        Some(oldest["id"].clone()),
        "the successor reads the oldest entry the predecessor read"
    );
    // The handover entry records it, and both doctors see it.
    let handover_entry = mori_entries
        .iter()
        .find(|e| e["kind"] == "handover" && e["author_id"] == g.account_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no handover entry")); // ok: asserted here
    let text = handover_entry["body"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("伊藤 誠") && text.contains("森 健一"),
        "{text}"
    );
    assert!(text.contains("10 月の記録"), "{text}");
    assert_eq!(handover_entry["body"]["to"], "森 健一");
    // The predecessor's socket learns the expiry at once, and gets the entry.
    let mf = frame_of(&mut ito_ws, "membership").await;
    assert!(mf["expires_at"].is_string(), "{mf}");
    let ef = frame_of(&mut ito_ws, "entry").await;
    assert_eq!(ef["entry"]["kind"], "handover", "{ef}");

    // The access log has the request and the approval.
    let (st, log) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=500"))
        .await;
    assert_eq!(st, 200, "{log}");
    let rows: Vec<Value> = array(&log)
        .into_iter()
        .filter(|r| {
            r["action"] == "handover" && r["detail"].as_str().unwrap_or_default().contains(&hid)
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .any(|r| r["account_id"] == ito.account_id.as_str()
            && r["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with("requested")));
    assert!(rows.iter().any(|r| r["account_id"] == g.account_id.as_str()
        && r["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("approved")));

    // After the overlap (2 days of 2 s) the predecessor is expired.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, _) = ito.get(&format!("/api/v1/children/{child}/entries")).await;
        if st == 403 {
            break;
        }
        assert_eq!(st, 200);
        assert!(Instant::now() < deadline, "the predecessor never expired");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let list = members(&g, &child).await;
    let from = member(&list, &ito.account_id).cloned().unwrap_or_default();
    assert_eq!(from["status"], "expired", "{from}");
    // The successor stays.
    let (st, _) = mori.get(&format!("/api/v1/children/{child}/entries")).await;
    assert_eq!(st, 200);
    server.check_logs();
}

#[tokio::test]
async fn bad_handovers_get_their_error_and_change_nothing() {
    let server = Server::demo().await;
    let admin = server.login("admin").await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let coord = server.login("coordinator.yamada").await;
    let mori = server.login("doctor.mori").await;
    let shimizu = server.login("msw.shimizu").await;
    let child = g.child_id(HINATA).await;
    let base = format!("/api/v1/children/{child}/handovers");
    let before = members(&g, &child).await;
    let (st, listed) = g.get(&base).await;
    assert_eq!(st, 200, "{listed}");
    let handovers_before = array(&listed).len();
    let open = |from: &str, to: &str| json!({"from_account": from, "to_account": to});

    // To someone already a member.
    assert_err(
        &ito.post(&base, &open(&ito.account_id, &tanaka.account_id))
            .await,
        409,
        "conflict",
    );
    // By someone who is neither the leaving member nor a coordinator.
    assert_err(
        &tanaka
            .post(&base, &open(&ito.account_id, &mori.account_id))
            .await,
        403,
        "forbidden",
    );
    // By someone who is not a member at all: the child does not exist.
    assert_err(
        &mori
            .post(&base, &open(&ito.account_id, &shimizu.account_id))
            .await,
        404,
        "not_found",
    );
    // From a non-member, to a family member, to oneself, a bad overlap.
    for (body, what) in [
        (
            open(&mori.account_id, &shimizu.account_id),
            "from a non-member",
        ),
        (open(&ito.account_id, &g.account_id), "to a guardian"),
        (open(&ito.account_id, &ito.account_id), "to oneself"),
        (
            json!({"from_account": ito.account_id, "to_account": mori.account_id, "overlap_days": 400}),
            "overlap too long",
        ),
        (
            json!({"from_account": ito.account_id, "to_account": mori.account_id, "overlap_days": -1}),
            "negative overlap",
        ),
        (
            json!({"from_account": ito.account_id, "to_account": "not-an-id"}),
            "malformed id",
        ),
        (
            json!({"from_account": ito.account_id, "to_account": mori.account_id, "extra": 1}),
            "unknown field",
        ),
    ] {
        let r = coord.post(&base, &body).await;
        assert_eq!(r.0, 400, "{what}: {}", r.1);
        assert_err(&r, 400, "bad_request");
    }
    // To a disabled account.
    let (st, _) = admin
        .post_empty(&format!("/api/v1/accounts/{}/disable", shimizu.account_id))
        .await;
    assert_eq!(st, 204);
    assert_err(
        &coord
            .post(&base, &open(&ito.account_id, &shimizu.account_id))
            .await,
        400,
        "bad_request",
    );
    // Nothing was opened, nobody's membership changed.
    let (st, list) = g.get(&base).await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(array(&list).len(), handovers_before, "{list}");
    assert_eq!(members(&g, &child).await.len(), before.len());
    assert!(member(&members(&g, &child).await, &mori.account_id).is_none());

    // A coordinator may open one for another member; a second one for the
    // same member is refused while the first is open.
    let (st, h) = coord
        .post(&base, &open(&ito.account_id, &mori.account_id))
        .await;
    assert_eq!(st, 201, "{h}");
    assert_eq!(h["requested_by"], coord.account_id.as_str(), "{h}");
    assert_err(
        &ito.post(&base, &open(&ito.account_id, &mori.account_id))
            .await,
        409,
        "conflict",
    );
    let hid = h["id"].as_str().unwrap_or_default();
    // Unknown handover, a handover of another child.
    assert_err(
        &g.post_empty(&format!(
            "{base}/{}/approve",
            "01939e4c-0000-7000-8000-000000000000"
        ))
        .await,
        404,
        "not_found",
    );
    let nakamura = server.login("guardian.nakamura").await;
    let yui = nakamura.child_id(YUI).await;
    assert_err(
        &nakamura
            .post_empty(&format!("/api/v1/children/{yui}/handovers/{hid}/approve"))
            .await,
        404,
        "not_found",
    );
    // A bad narrowing changes nothing.
    assert_err(
        &g.post(
            &format!("{base}/{hid}/approve"),
            &json!({"categories": ["astrology"]}),
        )
        .await,
        400,
        "bad_request",
    );
    // The guardian declines it: nobody's membership changes.
    let (st, d) = g.post_empty(&format!("{base}/{hid}/decline")).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["status"], "declined", "{d}");
    assert_err(
        &g.post_empty(&format!("{base}/{hid}/approve")).await,
        409,
        "conflict",
    );
    assert!(member(&members(&g, &child).await, &mori.account_id).is_none());
    let list = members(&g, &child).await;
    let from = member(&list, &ito.account_id).cloned().unwrap_or_default();
    assert!(from["expires_at"].is_null(), "{from}");

    // Approved narrowed: only medical, no posting, a recent history only.
    let (st, h) = ito
        .post(&base, &open(&ito.account_id, &mori.account_id))
        .await;
    assert_eq!(st, 201, "{h}");
    let hid = h["id"].as_str().unwrap_or_default();
    let (st, done) = g
        .post(
            &format!("{base}/{hid}/approve"),
            &json!({"categories": ["medical"], "can_post": false,
                    "history_from": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    let to = member(&members(&g, &child).await, &mori.account_id)
        .cloned()
        .unwrap_or_default();
    assert_eq!(to["categories"], json!(["medical"]), "{to}");
    assert_eq!(to["can_post"], false, "{to}");
    assert!(to["history_from"].is_string(), "{to}");
    server.check_logs();
}

#[tokio::test]
async fn an_organization_wide_handover_opens_one_per_child_each_approved_by_its_guardian() {
    let server = Server::demo().await;
    let admin = server.login("admin").await;
    let ito = server.login("doctor.ito").await;
    let mori = server.login("doctor.mori").await;
    let kato = server.login("phn.kato").await;

    // Dr Ito is a member of all four notebooks; Dr Mori of Ren's already.
    let (st, before) = admin
        .get(&format!(
            "/api/v1/handovers?from_account={}",
            ito.account_id
        ))
        .await;
    assert_eq!(st, 200, "{before}");
    assert_eq!(before["children"], 4, "{before}");
    assert_eq!(before["without_handover"], 4, "{before}");
    assert_eq!(array(&before["handovers"]).len(), 0, "{before}");

    let body = json!({"from_account": ito.account_id, "to_account": mori.account_id});
    // Neither a professional nor another organization's administrator.
    assert_err(
        &kato.post("/api/v1/handovers", &body).await,
        403,
        "forbidden",
    );
    assert_err(
        &kato
            .get(&format!(
                "/api/v1/handovers?from_account={}",
                ito.account_id
            ))
            .await,
        403,
        "forbidden",
    );
    let (st, opened) = admin.post("/api/v1/handovers", &body).await;
    assert_eq!(st, 201, "{opened}");
    let opened = array(&opened["handovers"]);
    assert_eq!(
        opened.len(),
        3,
        "Ren's notebook has Dr Mori already: {opened:?}"
    );
    assert!(opened.iter().all(|h| h["status"] == "requested"));
    // Again: every notebook has one open, nothing left to open.
    assert_err(
        &admin.post("/api/v1/handovers", &body).await,
        409,
        "conflict",
    );

    // Disabling the leaver: the administrator sees the open handovers.
    let (st, _) = admin
        .post_empty(&format!("/api/v1/accounts/{}/disable", ito.account_id))
        .await;
    assert_eq!(st, 204);
    let (st, after) = admin
        .get(&format!(
            "/api/v1/handovers?from_account={}",
            ito.account_id
        ))
        .await;
    assert_eq!(st, 200, "{after}");
    assert_eq!(array(&after["handovers"]).len(), 3, "{after}");
    assert_eq!(after["without_handover"], 1, "{after}");
    assert!(array(&after["handovers"])
        .iter()
        .all(|h| h["to_name"] == "森 健一"));

    // Each guardian approves their own child's, and only theirs.
    for (guardian, name) in [
        ("guardian.sato", HINATA),
        ("guardian.takahashi", SOTA),
        ("guardian.nakamura", YUI),
    ] {
        let g = server.login(guardian).await;
        let child = g.child_id(name).await;
        let (st, pending) = g.get("/api/v1/handovers").await;
        assert_eq!(st, 200, "{pending}");
        let pending: Vec<Value> = array(&pending)
            .into_iter()
            .filter(|p| p["handover"]["from_name"] == "伊藤 誠")
            .collect();
        assert_eq!(pending.len(), 1, "{guardian}: {pending:?}");
        assert_eq!(pending[0]["child_id"], child.as_str());
        assert_eq!(pending[0]["handover"]["from_name"], "伊藤 誠");
        let hid = pending[0]["handover"]["id"].as_str().unwrap_or_default();
        let (st, done) = g
            .post_empty(&format!("/api/v1/children/{child}/handovers/{hid}/approve"))
            .await;
        assert_eq!(st, 200, "{done}");
        let (st, _) = mori.get(&format!("/api/v1/children/{child}/entries")).await;
        assert_eq!(st, 200, "{guardian}'s child is Dr Mori's now");
    }
    let ren_guardian = server.login("guardian.watanabe").await;
    let (st, none) = ren_guardian.get("/api/v1/handovers").await;
    assert_eq!(st, 200);
    assert_eq!(array(&none).len(), 0, "{none}");
    let _ = REN;
    let (st, after) = admin
        .get(&format!(
            "/api/v1/handovers?from_account={}",
            ito.account_id
        ))
        .await;
    assert_eq!(st, 200, "{after}");
    assert_eq!(array(&after["handovers"]).len(), 0, "{after}");
    server.check_logs();
}

#[tokio::test]
async fn a_handover_opened_on_node_a_reaches_the_guardian_on_node_b() {
    if test_postgres().is_none() {
        return;
    }
    let a = Server::demo().await;
    let b = a.second_node(&[]).await;
    let g_b = b.login("guardian.sato").await;
    let ito_a = a.login("doctor.ito").await;
    let mori = b.login("doctor.mori").await;
    let child = g_b.child_id(HINATA).await;
    let mut ws = g_b.ws().await;
    let (st, h) = ito_a
        .post(
            &format!("/api/v1/children/{child}/handovers"),
            &json!({"from_account": ito_a.account_id, "to_account": mori.account_id}),
        )
        .await;
    assert_eq!(st, 201, "{h}");
    let frame = frame_of(&mut ws, "handover").await;
    assert_eq!(frame["handover"]["id"], h["id"], "{frame}");
    // Approved on B: Dr Ito's socket on A learns the expiry.
    let mut ito_ws = ito_a.ws().await;
    ito_ws.subscribe(&child, 0).await;
    let hid = h["id"].as_str().unwrap_or_default();
    let (st, _) = g_b
        .post_empty(&format!("/api/v1/children/{child}/handovers/{hid}/approve"))
        .await;
    assert_eq!(st, 200);
    let mf = frame_of(&mut ito_ws, "membership").await;
    assert!(mf["expires_at"].is_string(), "{mf}");
}
