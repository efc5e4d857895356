//! Group commit (issue 6): many posters on several children at once, with
//! reads (access-log records) in the same batches. Every acknowledged post
//! is stored once, each child's seqs stay gap-free, and every child's
//! access-log hash chain still verifies, read straight from the database.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Row;

use crate::helpers::*;

/// Recomputes each child's chain: hash = HMAC-SHA256 under the data
/// dir's chain key of (previous | child | at | account | action | detail).
async fn verify_chains(server: &Server) -> BTreeMap<String, usize> {
    let key = audit_key(server);
    let mut conn = database(server, false).await;
    let rows = sqlx::query(
        "select child_id, at, account_id, action, detail, hash from access_log order by id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        let child: String = r.get("child_id");
        let at: i64 = r.get("at");
        let prev = last.get(&child).cloned().unwrap_or_default();
        let (account, action, detail): (String, String, String) =
            (r.get("account_id"), r.get("action"), r.get("detail"));
        let want = chain_mac(
            &key,
            &prev,
            [&child, &at.to_string(), &account, &action, &detail],
        );
        let got: String = r.get("hash");
        assert_eq!(got, want, "access-log chain of a child broken");
        last.insert(child.clone(), got);
        *counts.entry(child).or_default() += 1;
    }
    counts
}

/// Three demo guardians, each with a child of their own.
const FAMILIES: [(&str, &str); 3] = [
    ("guardian.sato", HINATA),
    ("guardian.takahashi", SOTA),
    ("guardian.nakamura", YUI),
];

/// Posts `n` notes over one new socket, each waiting for its `posted`;
/// the seqs they got.
async fn post_notes(api: Api, token: String, child: String, tag: String, n: usize) -> Vec<i64> {
    let mut ws = Ws::connect_auth(&api, &token).await;
    let mut seqs = Vec::with_capacity(n);
    for i in 0..n {
        let cid = format!("{tag}-{i}-{}", uuid::Uuid::new_v4().simple());
        let f = ws
            .post(
                &child,
                &cid,
                "family",
                "note",
                json!({"text": format!("{tag}/{i}")}),
            )
            .await;
        assert_eq!(f["type"], "posted", "{f}");
        seqs.push(seq_of(&f["entry"]));
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_on_several_children_keep_seqs_and_chains() {
    let server = Server::demo().await;
    let mut kids = Vec::new();
    for (login, name) in FAMILIES {
        let g = server.login(login).await;
        let child = g.child_id(name).await;
        let start = g.last_seq(&child).await;
        kids.push((g, child, start));
    }
    const SOCKETS: usize = 4;
    const POSTS: usize = 25;
    let mut tasks = Vec::new();
    for (g, child, _) in &kids {
        for s in 0..SOCKETS {
            let (api, token, child) = (server.api(), g.access.clone(), child.clone());
            tasks.push(tokio::spawn(async move {
                let seqs = post_notes(api, token, child.clone(), format!("gc-{s}"), POSTS).await;
                seqs.into_iter().map(|seq| (child.clone(), seq)).collect()
            }));
        }
        // Reads in the same batches: each is an access-log record.
        let (api, token, child) = (server.api(), g.access.clone(), child.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let path = format!("/api/v1/children/{child}/entries?limit=5");
                let r = api.get(&path, Some(&token)).await;
                assert_eq!(r.0, 200, "{}", r.1);
            }
            Vec::new()
        }));
    }
    let mut acked: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for t in tasks {
        for (child, seq) in t.await.unwrap() {
            assert!(
                acked.entry(child).or_default().insert(seq),
                "seq {seq} acknowledged twice"
            );
        }
    }
    for (g, child, start) in &kids {
        let seqs = &acked[child];
        let want: BTreeSet<i64> = (start + 1..=start + (SOCKETS * POSTS) as i64).collect();
        assert_eq!(seqs, &want, "acknowledged seqs are not gap-free");
        assert_eq!(g.last_seq(child).await, start + (SOCKETS * POSTS) as i64);
    }
    let counts = verify_chains(&server).await;
    for (_, child, _) in &kids {
        // Demo records, 100 posts and 10 reads at least.
        assert!(counts[child] >= SOCKETS * POSTS + 10, "{counts:?}");
    }
    server.check_logs();
}

/// Alerts raised at once share batches with posts. Each raise answers with
/// the alert exactly as it is stored (three tier-1 contacts, so their order
/// matters), every contact's socket gets each alert once, and the chains
/// still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_raised_at_once_are_stored_as_answered() {
    // A load test: no per-account write limits (tests/it/limits.rs has those).
    let server = Server::demo_with(&NO_WRITE_LIMITS).await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let tanaka = server.login("teacher.tanaka").await;
    let child = g.child_id(HINATA).await;
    let contacts = json!([
        {"account_id": g.account_id, "tier": 1},
        {"account_id": ito.account_id, "tier": 1},
        {"account_id": ogawa.account_id, "tier": 1},
    ]);
    let path = format!("/api/v1/children/{child}/emergency-contacts");
    let (st, v) = g.put_json(&path, &contacts).await;
    assert_eq!(st, 200, "{v}");
    let mut taps = Vec::new();
    for s in [&g, &ito, &ogawa] {
        taps.push(Tap::new(&s.login, s.ws().await));
    }

    const ALERTS: usize = 12;
    let mut tasks = Vec::new();
    for i in 0..ALERTS {
        let (api, token) = (server.api(), tanaka.access.clone());
        let path = format!("/api/v1/children/{child}/alerts");
        tasks.push(tokio::spawn(async move {
            let r = api
                .post(
                    &path,
                    Some(&token),
                    &json!({"message": format!("alert {i}")}),
                )
                .await;
            assert_eq!(r.0, 201, "{}", r.1);
            r.1
        }));
        // A post between raises, in the same batches.
        let (api, token, kid) = (server.api(), g.access.clone(), child.clone());
        tasks.push(tokio::spawn(async move {
            let mut ws = Ws::connect_auth(&api, &token).await;
            let cid = format!("gc-alert-{i}-{}", uuid::Uuid::new_v4().simple());
            let f = ws
                .post(&kid, &cid, "family", "note", json!({"text": "x"}))
                .await;
            assert_eq!(f["type"], "posted", "{f}");
            serde_json::Value::Null
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        if a.is_null() {
            continue;
        }
        let id = a["id"].as_str().unwrap().to_string();
        let stored = tanaka.alert(&id).await;
        assert_eq!(stored, a, "raise answer and stored alert differ");
        let notified: Vec<&str> = a["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["account_id"].as_str().unwrap())
            .collect();
        assert_eq!(notified.len(), 3, "three tier-1 contacts: {a}");
        ids.push(id);
    }
    assert_eq!(ids.len(), ALERTS);
    for tap in &taps {
        for id in &ids {
            let deadline = Instant::now() + Duration::from_secs(5);
            tap.wait_until("the alert", deadline, |v| {
                v["type"] == "alert" && v["alert"]["id"] == id.as_str()
            })
            .await;
        }
        // Time for a duplicate to arrive, if there were one.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let frames = tap.frames();
        for id in &ids {
            let n = frames
                .iter()
                .filter(|(_, v)| v["type"] == "alert" && v["alert"]["id"] == id.as_str())
                .count();
            assert_eq!(n, 1, "{}: alert {id} delivered {n} times", tap.name);
        }
    }
    // A write outside the committer (contacts, with its access-log record)
    // moves the child's head; the next post must notice, not fork the chain.
    let before = g.last_seq(&child).await;
    let (st, v) = g.put_json(&path, &contacts).await;
    assert_eq!(st, 200, "{v}");
    let mut ws = g.ws().await;
    for i in 0..3 {
        let cid = format!("gc-after-{i}-{}", uuid::Uuid::new_v4().simple());
        let f = ws
            .post(&child, &cid, "family", "note", json!({"text": "y"}))
            .await;
        assert_eq!(f["type"], "posted", "{f}");
        assert_eq!(seq_of(&f["entry"]), before + 1 + i, "{f}");
    }
    verify_chains(&server).await;
    server.check_logs();
}

/// Under posts that never pause, the WAL is still started over now and
/// then (SQLite): it stays a few MiB long instead of growing by every
/// commit for as long as the load lasts. 1,600 posts write over 40 MiB of
/// WAL frames; the file may only grow by a fraction of that.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wal_restarts_under_continuous_posts() {
    // A load test: no per-account write limits (tests/it/limits.rs has those).
    let server = Server::demo_with(&NO_WRITE_LIMITS).await;
    let wal = server.dir.join("renraku.db-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let before = wal_len();
    let mut tasks = Vec::new();
    for (login, name) in FAMILIES {
        let g = server.login(login).await;
        let child = g.child_id(name).await;
        for s in 0..3 {
            let (api, token, child) = (server.api(), g.access.clone(), child.clone());
            tasks.push(tokio::spawn(post_notes(
                api,
                token,
                child,
                format!("wal-{s}"),
                180,
            )));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    if server.database_url.is_some() {
        // PostgreSQL keeps its own WAL; the posts above still had to land.
        server.check_logs();
        return;
    }
    let after = wal_len();
    assert!(
        after <= before.max(24 << 20),
        "the WAL grew from {before} to {after} bytes: it is never started over"
    );
    server.check_logs();
}

/// The WAL header's checkpoint sequence number (bytes 12..16, big-endian):
/// SQLite bumps it each time it starts the WAL over.
fn wal_checkpoint_seq(wal: &std::path::Path) -> u32 {
    let bytes = std::fs::read(wal).unwrap();
    u32::from_be_bytes(bytes[12..16].try_into().unwrap())
}

/// SQLite: once a checkpoint has copied the whole WAL, the server starts it
/// over by itself, between commits, so that the next post's commit does not
/// pay for the new WAL header and its extra fsync. Seen from outside: the
/// header changes while nobody posts, and the next post appends to the
/// restarted WAL without changing it again.
#[tokio::test]
async fn a_copied_wal_restarts_between_commits() {
    let server = Server::demo().await;
    if server.database_url.is_some() {
        return; // PostgreSQL run: no WAL file of ours
    }
    let wal = server.dir.join("renraku.db-wal");
    let guardian = server.login("guardian.sato").await;
    let child = guardian.child_id("佐藤 ひなた").await;
    guardian.note(&child, "health", "朝は元気でした").await;
    let after_post = wal_checkpoint_seq(&wal);
    // Checkpoints after a few writes come within seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    let restarted = loop {
        let now = wal_checkpoint_seq(&wal);
        if now != after_post {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the copied WAL was not started over between commits"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    guardian.note(&child, "health", "昼食は完食").await;
    assert_eq!(
        wal_checkpoint_seq(&wal),
        restarted,
        "the post restarted the WAL again"
    );
    server.check_logs();
}
