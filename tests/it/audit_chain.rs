//! The access log's hash chain on several nodes (issue 16): two nodes over
//! one PostgreSQL post (WebSocket and HTTP), read (HTTP pages, WebSocket
//! backlogs), change a membership and write the emergency card on the same
//! children, all at once. A node's own writes take turns on its one write
//! connection; the two nodes' do not, so this is where two commits could
//! chain onto the same previous record. Afterwards each child's records,
//! read straight from the database in id order, must form one unbroken
//! chain. The two-node test needs the PostgreSQL run; the one-node test
//! runs in both, and on SQLite mixes the committer's remembered heads with
//! writes outside it.

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::Row;
use tokio::task::JoinHandle;

use crate::helpers::*;

/// Each child, its guardian, and a member whose membership the guardian
/// keeps changing (no one else in this test acts as that member).
const FAMILIES: [(&str, &str, &str); 2] = [
    (HINATA, "guardian.sato", "teacher.tanaka"),
    (SOTA, "guardian.takahashi", "welfare.hayashi"),
];

/// Operations of each kind per node and child.
const ROUNDS: usize = 15;

/// What the tasks of one node did to one child: the `entry {id}` detail of
/// each post it acknowledged, and how many logged writes outside the group
/// commit (membership changes, emergency cards) it answered.
#[derive(Default)]
struct Done {
    posts: BTreeSet<String>,
    others: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_on_two_nodes_keep_every_chain_unbroken() {
    if test_postgres().is_none() {
        return;
    }
    let a = Server::demo().await;
    let b = a.second_node(&[]).await;
    write_at_once_and_verify(&[&a, &b]).await;
}

/// One node, and in the SQLite run: the committer chains its batches onto
/// the heads it remembers, and the writes outside it move those heads in
/// between; each such batch must find its heads stale and read them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_on_one_node_keep_every_chain_unbroken() {
    let a = Server::demo().await;
    write_at_once_and_verify(&[&a]).await;
}

/// Every node posts, reads and makes other logged writes on every family's
/// child at once; then each child's chain is verified and must hold the
/// records of what every node was answered.
async fn write_at_once_and_verify(nodes: &[&Server]) {
    let mut tasks: Vec<(usize, String, JoinHandle<Done>)> = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for (name, guardian, member) in FAMILIES {
            let g = node.login(guardian).await;
            let doctor = node.login("doctor.ito").await;
            let member = node.login(member).await.account_id;
            let child = g.child_id(name).await;
            let api = node.api();
            let work = [
                tokio::spawn(ws_posts(api.clone(), g.clone(), child.clone())),
                tokio::spawn(http_posts(doctor.clone(), child.clone())),
                tokio::spawn(reads(api, g.clone(), doctor.clone(), child.clone())),
                tokio::spawn(member_changes(g, member, child.clone())),
                tokio::spawn(cards(doctor, child.clone())),
            ];
            tasks.extend(work.map(|t| (n, child.clone(), t)));
        }
    }
    let mut done: Vec<Vec<(String, Done)>> = nodes.iter().map(|_| Vec::new()).collect();
    for (n, child, t) in tasks {
        done[n].push((child, t.await.unwrap()));
    }

    let a = nodes[0];
    let key = audit_key(a);
    let mut db = database(a, false).await;
    for (name, guardian, _) in FAMILIES {
        let child = a.login(guardian).await.child_id(name).await;
        let records = chain_of(&mut db, &key, &child).await;
        for (n, node) in done.iter().enumerate() {
            let posts: BTreeSet<&String> = node
                .iter()
                .filter(|(c, _)| *c == child)
                .flat_map(|(_, d)| &d.posts)
                .collect();
            let others: usize = node
                .iter()
                .filter(|(c, _)| *c == child)
                .map(|(_, d)| d.others)
                .sum();
            assert_eq!(posts.len(), 2 * ROUNDS, "node {n}'s posts on {name}");
            assert_eq!(others, 2 * ROUNDS, "node {n}'s other writes on {name}");
            for p in posts {
                assert!(
                    records.iter().any(|(_, detail)| detail == p),
                    "node {n}'s post {p} has no record in {name}'s access log"
                );
            }
        }
        let k = nodes.len();
        let changes = records.iter().filter(|(a, _)| a == "member_change").count();
        assert!(
            changes >= k * 2 * ROUNDS,
            "{name}: {changes} member changes"
        );
        // Posts, reads and other writes of every node, besides the demo's.
        assert!(records.len() >= k * 5 * ROUNDS, "{name}: {}", records.len());
    }
    for node in nodes {
        node.check_logs();
    }
}

/// Verifies the chain of `child`'s records in id order and returns their
/// (action, detail). Each record's hash is HMAC-SHA256, under the data
/// dir's chain key, of the previous record's hash (empty for the first)
/// and, each after a 0x1f byte, child, time, account, action and detail, in
/// lowercase hex (see [`chain_mac`]).
async fn chain_of(db: &mut sqlx::AnyConnection, key: &[u8], child: &str) -> Vec<(String, String)> {
    let rows = sqlx::query(
        "select id, at, account_id, action, detail, hash from access_log \
         where child_id = $1 order by id",
    )
    .bind(child)
    .fetch_all(&mut *db)
    .await
    .unwrap();
    let mut prev = String::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (action, detail): (String, String) = (r.get("action"), r.get("detail"));
        let at: i64 = r.get("at");
        let account: String = r.get("account_id");
        let want = chain_mac(
            key,
            &prev,
            [child, &at.to_string(), &account, &action, &detail],
        );
        let (id, got): (i64, String) = (r.get("id"), r.get("hash"));
        assert_eq!(
            got, want,
            "record {id} ({action}: {detail}) does not follow the one before it in {child}'s chain"
        );
        prev = got;
        out.push((action, detail));
    }
    out
}

/// Posts over one socket, each waiting for its `posted`.
async fn ws_posts(api: Api, g: Session, child: String) -> Done {
    let mut ws = Ws::connect_auth(&api, &g.access).await;
    let mut done = Done::default();
    for i in 0..ROUNDS {
        let text = json!({"text": format!("連絡 {i}")});
        let f = ws
            .post(&child, &new_client_id(), "family", "note", text)
            .await;
        assert_eq!(f["type"], "posted", "{f}");
        done.posts
            .insert(format!("entry {}", f["entry"]["id"].as_str().unwrap()));
    }
    done
}

async fn http_posts(doctor: Session, child: String) -> Done {
    let mut done = Done::default();
    for i in 0..ROUNDS {
        let text = json!({"text": format!("診察 {i}")});
        let (st, e) = doctor.post_entry(&child, "medical", "note", text).await;
        assert_eq!(st, 201, "{e}");
        done.posts
            .insert(format!("entry {}", e["id"].as_str().unwrap()));
    }
    done
}

/// Pages of entries over HTTP, and backlogs on new sockets.
async fn reads(api: Api, g: Session, doctor: Session, child: String) -> Done {
    for _ in 0..ROUNDS {
        let (st, v) = doctor
            .get(&format!("/api/v1/children/{child}/entries?limit=5"))
            .await;
        assert_eq!(st, 200, "{v}");
        let mut ws = Ws::connect_auth(&api, &g.access).await;
        ws.subscribe(&child, 0).await;
        ws.close().await;
    }
    Done::default()
}

/// The guardian turns the member's right to post off and on.
async fn member_changes(g: Session, member: String, child: String) -> Done {
    let path = format!("/api/v1/children/{child}/members/{member}");
    let mut done = Done::default();
    for i in 0..ROUNDS {
        let (st, v) = g.patch(&path, &json!({"can_post": i % 2 == 1})).await;
        assert_eq!(st, 200, "{v}");
        done.others += 1;
    }
    done
}

/// A member with medical rewrites the emergency card.
async fn cards(doctor: Session, child: String) -> Done {
    let path = format!("/api/v1/children/{child}/emergency-card");
    let mut done = Done::default();
    for i in 0..ROUNDS {
        let card = json!({"summary": format!("1 型糖尿病 第 {i} 版"), "steps": ["ブドウ糖 10 g"],
                          "hospital": "みどり総合病院 小児科", "notes": "補食は保健室"});
        let (st, v) = doctor.put_json(&path, &card).await;
        assert_eq!(st, 200, "{v}");
        done.others += 1;
    }
    done
}
