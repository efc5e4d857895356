//! Group commit (issue 6): many posters on several children at once, with
//! reads (access-log records) in the same batches. Every acknowledged post
//! is stored once, each child's seqs stay gap-free, and every child's
//! access-log hash chain still verifies, read straight from the database.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::helpers::*;

/// Recomputes each child's chain: hash = sha256(previous | child | at | account | action | detail).
async fn verify_chains(server: &Server) -> BTreeMap<String, usize> {
    sqlx::any::install_default_drivers();
    let url = match &server.database_url {
        Some(u) => u.clone(),
        None => format!(
            "sqlite://{}?mode=ro",
            server.dir.join("renraku.db").display()
        ),
    };
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
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
        let mut h = Sha256::new();
        h.update(last.get(&child).cloned().unwrap_or_default());
        for part in [
            child.clone(),
            at.to_string(),
            r.get::<String, _>("account_id"),
            r.get::<String, _>("action"),
            r.get::<String, _>("detail"),
        ] {
            h.update([0x1f]);
            h.update(part.as_bytes());
        }
        let want: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let got: String = r.get("hash");
        assert_eq!(got, want, "access-log chain of a child broken");
        last.insert(child.clone(), got);
        *counts.entry(child).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_on_several_children_keep_seqs_and_chains() {
    let server = Server::demo().await;
    let pairs = [
        ("guardian.sato", HINATA),
        ("guardian.takahashi", SOTA),
        ("guardian.nakamura", YUI),
    ];
    let mut kids = Vec::new();
    for (login, name) in pairs {
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
                let mut ws = Ws::connect_auth(&api, &token).await;
                let mut seqs = Vec::new();
                for i in 0..POSTS {
                    let cid = format!("gc-{s}-{i}-{}", uuid::Uuid::new_v4().simple());
                    let f = ws
                        .post(
                            &child,
                            &cid,
                            "family",
                            "note",
                            json!({"text": format!("{s}/{i}")}),
                        )
                        .await;
                    assert_eq!(f["type"], "posted", "{f}");
                    seqs.push((child.clone(), seq_of(&f["entry"])));
                }
                seqs
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
