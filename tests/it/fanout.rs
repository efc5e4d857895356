//! Group 3: live fan-out between members; the backlog/live boundary under
//! concurrent posting (no gap, no duplicate); resume with `after_seq`;
//! receipts, idempotent posting and slow consumers.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// Makes sure these members of `child` may post (demo members may not).
pub async fn ensure_can_post(guardian: &Session, child: &str, members: &[&Session]) {
    for m in members {
        let r = guardian
            .patch(
                &format!("/api/v1/children/{child}/members/{}", m.account_id),
                &json!({"can_post": true}),
            )
            .await;
        assert_eq!(r.0, 200, "PATCH can_post for {}: {}", m.login, r.1);
        assert_eq!(r.1["can_post"], true, "{}", r.1);
    }
}

fn assert_entry_shape(e: &Value) {
    for k in [
        "id",
        "child_id",
        "seq",
        "author_id",
        "author_name",
        "category",
        "kind",
        "body",
        "created_at",
        "revision",
        "supersedes",
        "client_id",
    ] {
        assert!(e.get(k).is_some(), "entry without {k}: {e}");
    }
    parse_rfc3339(e["created_at"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_fanout_between_members() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let nurse = server.login("schoolnurse.ogawa").await;
    let doc = server.login("doctor.ito").await;
    let coord = server.login("coordinator.yamada").await;
    let teacher = server.login("teacher.tanaka").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&nurse]).await;

    let mut ws_g = g.ws().await;
    let (backlog, last) = ws_g.subscribe(&child, 0).await;
    assert!(!backlog.is_empty(), "demo notebook is empty");
    for (i, e) in backlog.iter().enumerate() {
        assert_entry_shape(e);
        // The guardian sees every category: backlog seq is 1..=last.
        assert_eq!(seq_of(e), i as i64 + 1, "guardian backlog has a gap");
    }
    assert_eq!(seq_of(backlog.last().unwrap()), last);
    let mut ws_doc = doc.ws().await;
    ws_doc.subscribe(&child, last).await;
    let mut ws_coord = coord.ws().await;
    let (b, l) = ws_coord.subscribe(&child, last).await;
    assert!(b.is_empty() && l == last, "{b:?} {l}");
    let mut ws_teacher = teacher.ws().await;
    ws_teacher.subscribe(&child, last).await;
    let mut ws_nurse = nurse.ws().await;

    let marker = server.marker();
    let cid = new_client_id();
    let body = json!({"text": format!("保健室で血糖 68、補食済み {marker}")});
    let posted = ws_nurse
        .post(&child, &cid, "health", "note", body.clone())
        .await;
    assert_eq!(posted["type"], "posted", "{posted}");
    let e = &posted["entry"];
    assert_entry_shape(e);
    assert_eq!(e["seq"], last + 1);
    assert_eq!(e["child_id"], child.as_str());
    assert_eq!(e["author_id"], nurse.account_id.as_str());
    assert_eq!(e["author_name"], "小川 真理");
    assert_eq!(e["category"], "health");
    assert_eq!(e["kind"], "note");
    assert_eq!(e["body"], body);
    assert_eq!(e["client_id"], cid.as_str());
    assert_eq!(e["revision"], 1);
    assert_eq!(e["supersedes"], Value::Null);

    for ws in [&mut ws_g, &mut ws_doc, &mut ws_coord] {
        let f = ws.recv().await;
        assert_eq!(f["type"], "entry", "{f}");
        assert_eq!(&f["entry"], e, "fan-out differs from the posted entry");
    }

    // An HTTP post fans out the same way.
    let text = format!("本日の様子 {marker}");
    let (st, e2) = g
        .post_entry(
            &child,
            "medical",
            "vital",
            json!({"measure": "blood_glucose", "value": 112, "unit": "mg/dL", "text": text}),
        )
        .await;
    assert_eq!(st, 201, "{e2}");
    assert_eq!(e2["seq"], last + 2);
    assert_eq!(e2["body"]["value"].as_f64(), Some(112.0));
    for ws in [&mut ws_g, &mut ws_doc, &mut ws_coord] {
        let f = ws.recv().await;
        assert_eq!(f["type"], "entry", "{f}");
        assert_eq!(f["entry"], e2);
    }
    // An education sentinel: the teacher (education only) gets it as the
    // first frame, so neither the health nor the medical entry reached him.
    let s = g.note(&child, "education", "明日の体育は見学").await;
    let f = ws_teacher.recv().await;
    assert_eq!(f["type"], "entry", "{f}");
    assert_eq!(
        f["entry"]["id"], s["id"],
        "teacher got something else first"
    );

    // Unsubscribe stops the flow for that socket only.
    ws_coord
        .send(json!({"type": "unsubscribe", "child_id": child}))
        .await;
    let s2 = g.note(&child, "family", "unsubscribe test").await;
    let (f, _) = ws_g.recv_type("entry").await;
    assert_eq!(f["entry"]["id"], s["id"]);
    let f = ws_g.recv().await;
    assert_eq!(f["entry"]["id"], s2["id"]);
    // Unsubscribe may be acknowledged; no entry may follow it.
    while let Some(f) = ws_coord.recv_within(Duration::from_millis(500)).await {
        assert_ne!(f["entry"]["id"], s2["id"], "entry after unsubscribe: {f}");
        assert!(
            f["type"] != "entry" || f["entry"]["id"] == s["id"],
            "unexpected frame after unsubscribe: {f}"
        );
    }
    server.check_logs();
}

/// Posts `n` notes over one socket; returns (seq, client_id) of each ack.
async fn poster(
    api: Api,
    token: String,
    child: String,
    category: &'static str,
    n: usize,
    acked: Arc<AtomicUsize>,
) -> Vec<(i64, String)> {
    let mut ws = Ws::connect_auth(&api, &token).await;
    let mut out = Vec::new();
    for i in 0..n {
        let cid = new_client_id();
        let f = ws
            .post(
                &child,
                &cid,
                category,
                "note",
                json!({"text": format!("{category} {i}")}),
            )
            .await;
        assert_eq!(f["type"], "posted", "{f}");
        assert_eq!(f["entry"]["client_id"], cid.as_str());
        out.push((seq_of(&f["entry"]), cid));
        acked.fetch_add(1, Ordering::SeqCst);
    }
    out
}

/// Reads entry frames until one with seq >= `until`; returns their seqs.
async fn read_until(ws: &mut Ws, child: &str, until: i64) -> Vec<i64> {
    let mut seqs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seqs.last().copied().unwrap_or(i64::MIN) < until {
        assert!(
            Instant::now() < deadline,
            "stuck at {seqs:?} waiting for {until}"
        );
        let f = ws.recv().await;
        assert_eq!(f["type"], "entry", "{f}");
        assert_eq!(f["entry"]["child_id"], child);
        seqs.push(seq_of(&f["entry"]));
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backlog_live_boundary_has_no_gap_and_no_duplicate() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let nurse = server.login("schoolnurse.ogawa").await;
    let phn = server.login("phn.kato").await;
    let coord = server.login("coordinator.yamada").await;
    let teacher = server.login("teacher.tanaka").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&doc, &nurse, &phn]).await;

    // The teacher (education only) listens from the very beginning.
    let mut ws_teacher = teacher.ws().await;
    let (teacher_backlog, _) = ws_teacher.subscribe(&child, 0).await;

    let acked = Arc::new(AtomicUsize::new(0));
    let start_last = g.last_seq(&child).await;
    let mut tasks = Vec::new();
    for (s, cat) in [
        (&g, "family"),
        (&doc, "medical"),
        (&nurse, "education"),
        (&phn, "welfare"),
    ] {
        tasks.push(tokio::spawn(poster(
            server.api(),
            s.access.clone(),
            child.clone(),
            cat,
            40,
            acked.clone(),
        )));
    }
    // Subscribe mid-stream, from a point before the current end.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < 50 {
        assert!(Instant::now() < deadline, "posters too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mid = g.last_seq(&child).await - 10;
    assert!(mid >= start_last, "{mid} {start_last}");
    let mut ws_coord = coord.ws().await;
    let (backlog, boundary) = ws_coord.subscribe(&child, mid).await;
    let mut seen: Vec<i64> = backlog.iter().map(seq_of).collect();
    // A member with some categories (medical, health) subscribes mid-stream too.
    let mut ws_doc = doc.ws().await;
    let (doc_backlog, _) = ws_doc.subscribe(&child, mid).await;
    assert!(
        seen.iter().all(|s| *s > mid && *s <= boundary),
        "backlog outside ({mid}, {boundary}]: {seen:?}"
    );

    let mut acked_seqs = Vec::new();
    for t in tasks {
        acked_seqs.extend(t.await.unwrap());
    }
    assert_eq!(acked_seqs.len(), 160);
    let last = g.last_seq(&child).await;
    assert_eq!(last, start_last + 160, "seq is not gap-free across posters");
    let distinct: HashSet<i64> = acked_seqs.iter().map(|(s, _)| *s).collect();
    assert_eq!(distinct.len(), 160, "two posts acknowledged with one seq");
    assert!(distinct.iter().all(|s| *s > start_last && *s <= last));

    let live = read_until(&mut ws_coord, &child, last).await;
    assert!(
        live.iter().all(|s| *s > boundary),
        "live entry at or before subscribed.last_seq {boundary}: {live:?}"
    );
    seen.extend(live);
    let expected: Vec<i64> = (mid + 1..=last).collect();
    assert_eq!(
        seen, expected,
        "coordinator (all categories) must see every seq once, in order"
    );

    // The teacher saw exactly the education entries, in order.
    let all = g.all_entries(&child).await;
    let edu: Vec<i64> = all
        .iter()
        .filter(|e| e["category"] == "education")
        .map(seq_of)
        .collect();
    let mut teacher_seen: Vec<i64> = teacher_backlog.iter().map(seq_of).collect();
    let last_edu = *edu.last().unwrap();
    teacher_seen.extend(read_until(&mut ws_teacher, &child, last_edu).await);
    assert_eq!(
        teacher_seen, edu,
        "teacher's stream differs from education entries"
    );
    let med: Vec<i64> = all
        .iter()
        .filter(|e| e["category"] == "medical" || e["category"] == "health")
        .map(seq_of)
        .filter(|s| *s > mid)
        .collect();
    let mut doc_seen: Vec<i64> = doc_backlog.iter().map(seq_of).collect();
    doc_seen.extend(read_until(&mut ws_doc, &child, *med.last().unwrap()).await);
    assert_eq!(
        doc_seen, med,
        "doctor's mid-stream subscription differs from medical/health entries"
    );
    server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_after_disconnect_with_after_seq() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&coord]).await;
    let start_last = g.last_seq(&child).await;

    let reader = server.login("guardian.sato").await;
    let mut ws = reader.ws().await;
    let (backlog, _) = ws.subscribe(&child, 0).await;
    let mut seen: Vec<i64> = backlog.iter().map(seq_of).collect();

    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (s, cat) in [(&g, "family"), (&coord, "health")] {
        tasks.push(tokio::spawn(poster(
            server.api(),
            s.access.clone(),
            child.clone(),
            cat,
            40,
            acked.clone(),
        )));
    }
    // Read part of the live stream, then drop the connection mid-stream.
    seen.extend(read_until(&mut ws, &child, start_last + 20).await);
    drop(ws);
    let resume_from = *seen.last().unwrap();
    // Wait until more has been posted while we were away.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < 50 {
        assert!(Instant::now() < deadline, "posters too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut ws = reader.ws().await;
    let (backlog, boundary) = ws.subscribe(&child, resume_from).await;
    assert!(!backlog.is_empty(), "nothing in the backlog after resuming");
    seen.extend(backlog.iter().map(seq_of));
    for t in tasks {
        t.await.unwrap();
    }
    let last = g.last_seq(&child).await;
    assert_eq!(last, start_last + 80);
    if boundary < last {
        seen.extend(read_until(&mut ws, &child, last).await);
    }
    let expected: Vec<i64> = (1..=last).collect();
    assert_eq!(seen, expected, "resume lost or repeated entries");
    server.check_logs();
}

#[tokio::test]
async fn http_entries_page_in_ascending_seq() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let all = g.all_entries(&child).await;
    assert!(all.len() >= 6, "demo notebook too small: {}", all.len());
    let (st, v) = g
        .get(&format!(
            "/api/v1/children/{child}/entries?after_seq=0&limit=3"
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    let page: Vec<i64> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(seq_of)
        .collect();
    assert_eq!(page, vec![1, 2, 3]);
    assert_eq!(v["last_seq"].as_i64().unwrap(), all.len() as i64);
    let (_, v) = g
        .get(&format!(
            "/api/v1/children/{child}/entries?after_seq=3&limit=2"
        ))
        .await;
    let page: Vec<i64> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(seq_of)
        .collect();
    assert_eq!(page, vec![4, 5]);
    let n = all.len();
    let (_, v) = g
        .get(&format!("/api/v1/children/{child}/entries?after_seq={n}"))
        .await;
    assert_eq!(v["entries"], json!([]));
    // The children list reports the same last_seq.
    let list = g.children().await;
    let me = list.iter().find(|c| c["id"] == child.as_str()).unwrap();
    assert_eq!(me["last_seq"].as_i64().unwrap(), n as i64);
    assert_eq!(me["role"], "guardian");
    assert!(me["unread"].is_number(), "{me}");
    server.check_logs();
}

#[tokio::test]
async fn read_receipts_reach_other_subscribers() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    let mut ws_g = g.ws().await;
    let (_, last) = ws_g.subscribe(&child, 0).await;
    let mut ws_doc = doc.ws().await;
    let (visible, _) = ws_doc.subscribe(&child, 0).await;
    let read_seq = seq_of(visible.last().unwrap());
    ws_doc
        .send(json!({"type": "read", "child_id": child, "seq": read_seq}))
        .await;
    let (f, _) = ws_g.recv_type("receipt").await;
    assert_eq!(
        f,
        json!({"type": "receipt", "child_id": child, "account_id": doc.account_id, "seq": read_seq})
    );
    let (st, members) = g.get(&format!("/api/v1/children/{child}/members")).await;
    assert_eq!(st, 200, "{members}");
    let m = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["account_id"] == doc.account_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(m["last_read_seq"].as_i64().unwrap(), read_seq);
    assert!(read_seq <= last);

    // A read that does not move the position forward sends nothing: the
    // next receipt anyone gets is the one of a later read.
    for seq in [read_seq, read_seq - 1, 0] {
        ws_doc
            .send(json!({"type": "read", "child_id": child, "seq": seq}))
            .await;
    }
    let marker = server.marker();
    let posted = g.note(&child, "medical", &marker).await;
    let new_seq = seq_of(&posted);
    let (_, _) = ws_doc.recv_type("entry").await;
    ws_doc
        .send(json!({"type": "read", "child_id": child, "seq": new_seq}))
        .await;
    let (f, _) = ws_g.recv_type("receipt").await;
    assert_eq!(f["seq"].as_i64(), Some(new_seq), "{f}");
    server.check_logs();
}

#[tokio::test]
async fn posting_is_idempotent_by_client_id() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&coord]).await;
    let cid = new_client_id();
    let body = json!({"text": "同じ連絡を二度送信"});
    let (st, first) = g
        .post_entry_cid(&child, &cid, "family", "note", body.clone())
        .await;
    assert_eq!(st, 201, "{first}");
    let (st, again) = g
        .post_entry_cid(&child, &cid, "family", "note", body.clone())
        .await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again, first);
    let mut ws = g.ws().await;
    let f = ws.post(&child, &cid, "family", "note", body.clone()).await;
    assert_eq!(f["type"], "posted", "{f}");
    assert_eq!(f["entry"], first);
    // Another author may use the same client_id: a new entry.
    let (st, other) = coord
        .post_entry_cid(&child, &cid, "family", "note", body.clone())
        .await;
    assert_eq!(st, 201, "{other}");
    assert_ne!(other["id"], first["id"]);
    assert_eq!(other["seq"], first["seq"].as_i64().unwrap() + 1);
    let all = g.all_entries(&child).await;
    assert_eq!(
        all.iter()
            .filter(|e| e["client_id"] == cid.as_str())
            .count(),
        2
    );
    assert_eq!(g.last_seq(&child).await, seq_of(&other));
    server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_consumer_is_closed_1013_and_others_get_everything() {
    // A load test: no per-account write limits (tests/it/limits.rs has those).
    let server =
        Server::demo_with(&["--ws-queue", "8", NO_WRITE_LIMITS[0], NO_WRITE_LIMITS[1]]).await;
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let child = g.child_id(HINATA).await;
    let start = g.last_seq(&child).await;
    const N: i64 = 300;

    let slow_s = server.login("guardian.sato").await;
    let mut slow = slow_s.ws().await;
    slow.subscribe(&child, start).await;

    let mut fast = coord.ws().await;
    fast.subscribe(&child, start).await;
    let fast_task = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while seqs.len() < N as usize {
            match fast.next_frame(Duration::from_secs(30)).await {
                Frame::Json(f) if f["type"] == "entry" => seqs.push(seq_of(&f["entry"])),
                Frame::Json(_) => {}
                other => panic!("fast consumer got {other:?} after {} entries", seqs.len()),
            }
        }
        seqs
    });

    // Large entries (19,000 characters, ~57 KB each) from 4 concurrent posters.
    let text = long_text(19_000);
    let mut posters = Vec::new();
    for _ in 0..4 {
        let g = g.clone();
        let child = child.clone();
        let text = text.clone();
        posters.push(tokio::spawn(async move {
            for _ in 0..N / 4 {
                let (st, v) = g
                    .post_entry(&child, "family", "note", json!({"text": text}))
                    .await;
                assert_eq!(st, 201, "{v}");
            }
        }));
    }
    for p in posters {
        p.await.unwrap();
    }
    let fast_seqs = fast_task.await.unwrap();
    let expected: Vec<i64> = (start + 1..=start + N).collect();
    assert_eq!(fast_seqs, expected, "the fast consumer missed entries");

    // The slow socket: maybe some buffered entries, then close 1013.
    let before = slow
        .expect_close_within(1013, Duration::from_secs(30))
        .await;
    let got: Vec<i64> = before
        .iter()
        .filter(|f| f["type"] == "entry")
        .map(|f| seq_of(&f["entry"]))
        .collect();
    assert!(
        (got.len() as i64) < N,
        "slow consumer got everything: no queue bound"
    );
    for w in got.windows(2) {
        assert!(
            w[1] == w[0] + 1,
            "gap in what the slow consumer got: {got:?}"
        );
    }
    // It resumes with after_seq and gets the rest.
    let resume = got.last().copied().unwrap_or(start);
    let mut again = slow_s.ws().await;
    let (backlog, _) = again.subscribe(&child, resume).await;
    let seqs: BTreeSet<i64> = backlog.iter().map(seq_of).collect();
    assert_eq!(seqs.len(), (start + N - resume) as usize);
    assert_eq!(
        seqs.iter().copied().collect::<Vec<_>>(),
        (resume + 1..=start + N).collect::<Vec<_>>()
    );
    server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_client_id_make_one_entry() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let before = g.last_seq(&child).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(g.ws().await);
    }
    let cids: Vec<String> = (0..10).map(|_| new_client_id()).collect();
    let mut tasks = Vec::new();
    // Three sockets and one HTTP client send the same ten client_ids at once.
    for mut ws in sockets {
        let cids = cids.clone();
        let child = child.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for cid in &cids {
                let f = ws
                    .post(&child, cid, "family", "note", json!({"text": "二重送信"}))
                    .await;
                assert_eq!(f["type"], "posted", "{f}");
                out.push(f["entry"].clone());
            }
            out
        }));
    }
    let http = {
        let g = g.clone();
        let cids = cids.clone();
        let child = child.clone();
        tokio::spawn(async move {
            let mut out = Vec::new();
            for cid in &cids {
                let (st, e) = g
                    .post_entry_cid(&child, cid, "family", "note", json!({"text": "二重送信"}))
                    .await;
                assert!(st == 200 || st == 201, "{st} {e}");
                out.push(e);
            }
            out
        })
    };
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers.push(http.await.unwrap());
    for a in &answers[1..] {
        assert_eq!(a, &answers[0], "different entries for one client_id");
    }
    assert_eq!(g.last_seq(&child).await, before + 10);
    let all = g.all_entries(&child).await;
    for cid in &cids {
        let n = all
            .iter()
            .filter(|e| e["client_id"] == cid.as_str())
            .count();
        assert_eq!(n, 1, "client_id {cid} stored {n} times");
    }
    server.check_logs();
}
