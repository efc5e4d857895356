//! The audit trail (issue 18, point 7): live deliveries, member lists,
//! alert reads, access-log reads and refused requests in the access log;
//! the keyed chain and `renraku audit verify` (the security log is in
//! `security_log`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::fanout::ensure_can_post;
use crate::helpers::*;

/// The child's whole access log, as the guardian reads it.
async fn log_of(g: &Session, child: &str) -> Vec<Value> {
    let (st, v) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=1000"))
        .await;
    assert_eq!(st, 200, "{v}");
    v.as_array().unwrap().clone() // ok: 200 answers a list
}

/// Reads the log until `found` holds for some record (at most `within`).
async fn wait_for_record(
    g: &Session,
    child: &str,
    within: Duration,
    found: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let log = log_of(g, child).await;
        if log.iter().any(&found) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no such record within {within:?}: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn records<'a>(log: &'a [Value], account: &str, action: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|r| r["account_id"] == account && r["action"] == action)
        .collect()
}

/// Receives `n` live entry frames of `child`; their seqs.
async fn live_seqs(ws: &mut Ws, child: &str, n: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        let f = ws.recv().await;
        if f["type"] == "entry" && f["entry"]["child_id"] == child {
            seqs.push(f["entry"]["seq"].as_i64().unwrap()); // ok: entries carry a seq
        }
    }
    seqs
}

#[tokio::test]
async fn live_deliveries_are_one_read_live_record_per_socket_child_and_window() {
    let server = Server::demo_with(&["--live-audit-window", "4"]).await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&doc]).await;
    let mut ws = g.ws().await;
    ws.subscribe(&child, 0).await;

    // Many frames in one window: one record with their seq range.
    for i in 0..6 {
        doc.note(&child, "medical", &format!("体温 36.{i} 度"))
            .await;
    }
    let seqs = live_seqs(&mut ws, &child, 6).await;
    let range = format!("{}–{}", seqs[0], seqs[5]);
    let log = wait_for_record(&g, &child, Duration::from_secs(15), |r| {
        r["action"] == "read_live"
    })
    .await;
    let live = records(&log, &g.account_id, "read_live");
    assert_eq!(live.len(), 1, "six frames, one record: {live:#?}");
    assert_eq!(live[0]["detail"], range.as_str());
    assert_eq!(live[0]["display_name"], "佐藤 美咲");

    // A later frame: a record of its own, written when the socket closes.
    doc.note(&child, "medical", "体温 37.0 度").await;
    let later = live_seqs(&mut ws, &child, 1).await[0];
    ws.close().await;
    let want = format!("{later}–{later}");
    let log = wait_for_record(&g, &child, Duration::from_secs(10), |r| {
        r["detail"] == want.as_str()
    })
    .await;
    assert_eq!(records(&log, &g.account_id, "read_live").len(), 2);
    // The doctor's posts over HTTP reached no socket of the doctor's.
    assert!(records(&log, &doc.account_id, "read_live").is_empty());
    server.check_logs();
}

/// With the default window, a record still appears when the subscription
/// ends (and, at the latest, a minute after the delivery).
#[tokio::test]
async fn unsubscribing_writes_the_read_live_record_at_once() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    ensure_can_post(&g, &child, &[&doc]).await;
    let mut ws = g.ws().await;
    ws.subscribe(&child, 0).await;
    doc.note(&child, "medical", "食後血糖 140").await;
    doc.note(&child, "medical", "補食なし").await;
    let seqs = live_seqs(&mut ws, &child, 2).await;
    ws.send(json!({"type": "unsubscribe", "child_id": child}))
        .await;
    let want = format!("{}–{}", seqs[0], seqs[1]);
    wait_for_record(&g, &child, Duration::from_secs(10), |r| {
        r["action"] == "read_live" && r["detail"] == want.as_str()
    })
    .await;
    server.check_logs();
}

#[tokio::test]
async fn member_lists_alert_reads_access_log_reads_and_refusals_are_logged() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let doc = server.login("doctor.ito").await;
    let kimura = server.login("teacher.kimura").await; // not a member of ひなた
    let child = g.child_id(HINATA).await;

    let (st, v) = doc.get(&format!("/api/v1/children/{child}/members")).await;
    assert_eq!(st, 200, "{v}");
    let alert = g.raise_alert(&child, "低血糖の症状").await;
    let alert_id = alert["id"].as_str().unwrap(); // ok: an Alert has an id
    doc.alert(alert_id).await;
    let (st, v) = doc.get("/api/v1/alerts").await;
    assert_eq!(st, 200, "{v}");
    // A member refused: 403, recorded. A stranger: 404, not recorded.
    let path = format!("/api/v1/children/{child}/access-log");
    assert_err(&doc.get(&path).await, 403, "forbidden");
    assert_err(&kimura.get(&path).await, 404, "not_found");
    log_of(&g, &child).await;

    let log = log_of(&g, &child).await;
    let members = records(&log, &doc.account_id, "read_members");
    assert_eq!(members.len(), 1, "{log:#?}");
    let alerts = records(&log, &doc.account_id, "read_alert");
    assert_eq!(
        alerts.len(),
        2,
        "GET /alerts/{{id}} and GET /alerts: {log:#?}"
    );
    assert!(alerts
        .iter()
        .any(|r| r["detail"].as_str().unwrap().contains(alert_id)));
    let denied = records(&log, &doc.account_id, "denied");
    assert_eq!(denied.len(), 1, "{log:#?}");
    let detail = denied[0]["detail"].as_str().unwrap(); // ok: details are text
    assert!(
        detail.starts_with("GET ") && detail.contains("access-log"),
        "{detail}"
    );
    assert!(
        !detail.contains(&child),
        "the route, not the path: {detail}"
    );
    assert_eq!(denied[0]["display_name"], "伊藤 誠");
    assert!(
        !log.iter()
            .any(|r| r["account_id"] == kimura.account_id.as_str()),
        "a stranger's refusal is not in the family's log"
    );
    // The guardian's first read of the log is in the second one.
    assert!(!records(&log, &g.account_id, "read_access_log").is_empty());
    server.check_logs();
}

/// `renraku audit verify --data-dir DIR [--database-url URL]`: (exit code, stdout, stderr).
async fn audit_verify(server: &Server) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(bin());
    cmd.args(["audit", "verify", "--data-dir"])
        .arg(&server.dir)
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL");
    if let Some(url) = &server.database_url {
        cmd.args(["--database-url", url]);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap() // ok: verify must finish
        .unwrap(); // ok: the binary runs
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One record as an attacker with database access sees it.
struct Stored {
    id: i64,
    at: i64,
    account: String,
    action: String,
    detail: String,
}

async fn chain_rows(db: &mut sqlx::AnyConnection, child: &str) -> Vec<Stored> {
    let rows = sqlx::query(
        "select id, at, account_id, action, detail from access_log where child_id = $1 order by id",
    )
    .bind(child)
    .fetch_all(&mut *db)
    .await
    .unwrap(); // ok: the test's own database
    rows.iter()
        .map(|r| Stored {
            id: r.get("id"),
            at: r.get("at"),
            account: r.get("account_id"),
            action: r.get("action"),
            detail: r.get("detail"),
        })
        .collect()
}

/// The unkeyed chain of before migration 0005, as anyone can compute it.
fn sha256_link(prev: &str, child: &str, r: &Stored) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    for part in [child, &r.at.to_string(), &r.account, &r.action, &r.detail] {
        h.update([0x1f]);
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

async fn set_hash(db: &mut sqlx::AnyConnection, id: i64, detail: &str, hash: &str, legacy: i64) {
    sqlx::query("update access_log set detail = $1, hash = $2, legacy_chain = $3 where id = $4")
        .bind(detail)
        .bind(hash)
        .bind(legacy)
        .bind(id)
        .execute(&mut *db)
        .await
        .unwrap(); // ok: the test's own database
}

#[tokio::test]
async fn audit_verify_names_the_record_an_attacker_rewrote() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let sota = server
        .login("guardian.takahashi")
        .await
        .child_id(SOTA)
        .await;
    log_of(&g, &child).await;

    let (code, out, err) = audit_verify(&server).await;
    assert_eq!(code, 0, "an untouched database: {out}\n{err}");
    assert!(err.contains("children"), "progress on stderr: {err}");

    // Alter a record in the middle and recompute its hash with SHA-256,
    // the way the old, unkeyed chain was made.
    let mut db = database(&server, true).await;
    let rows = chain_rows(&mut db, &child).await;
    assert!(rows.len() > 4, "the demo's records: {}", rows.len());
    let i = rows.len() / 2;
    let prev: String = sqlx::query("select hash from access_log where id = $1")
        .bind(rows[i - 1].id)
        .fetch_one(&mut db)
        .await
        .unwrap() // ok: that record exists
        .get("hash");
    let mut forged = rows.into_iter().nth(i).unwrap(); // ok: i < len
    forged.detail = "閲覧なし".into();
    let hash = sha256_link(&prev, &child, &forged);
    set_hash(&mut db, forged.id, &forged.detail, &hash, 0).await;

    // Another child's chain: every record marked as chained before the
    // upgrade and the whole chain recomputed with SHA-256.
    let others = chain_rows(&mut db, &sota).await;
    let mut prev = String::new();
    for (n, r) in others.iter().enumerate() {
        let detail = if n == 1 {
            "改ざん".to_string()
        } else {
            r.detail.clone()
        };
        let r = Stored {
            id: r.id,
            at: r.at,
            account: r.account.clone(),
            action: r.action.clone(),
            detail,
        };
        let hash = sha256_link(&prev, &sota, &r);
        set_hash(&mut db, r.id, &r.detail, &hash, 1).await;
        prev = hash;
    }

    let (code, out, err) = audit_verify(&server).await;
    assert_eq!(code, 1, "tampered chains: {out}\n{err}");
    assert!(
        out.contains(&format!(
            "child {child}: chain broken at record {}",
            forged.id
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "child {sota}: chain broken at record {}",
            others[0].id
        )),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2, "only the broken chains: {out}");
    server.check_logs();
}

/// A data dir from before the keyed chain: records chained with SHA-256 and
/// no chain key. The first start re-chains the whole chains under a new key
/// and leaves an already broken one as it is, for verify to name.
#[tokio::test]
async fn the_upgrade_rechains_whole_old_chains_and_keeps_broken_ones_visible() {
    let mut server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let sota = server
        .login("guardian.takahashi")
        .await
        .child_id(SOTA)
        .await;
    server.kill();

    // Back to the old format: every chain SHA-256, no key file.
    let mut db = database(&server, true).await;
    let children: Vec<String> = sqlx::query("select id from child")
        .fetch_all(&mut db)
        .await
        .unwrap() // ok: the test's own database
        .iter()
        .map(|r| r.get("id"))
        .collect();
    assert!(children.contains(&sota));
    let mut broken_id = 0;
    for c in &children {
        let rows = chain_rows(&mut db, c).await;
        let mut prev = String::new();
        for (n, r) in rows.iter().enumerate() {
            let hash = sha256_link(&prev, c, r);
            // In ひなた's chain, a record altered after it was chained.
            let detail = if *c == child && n == 2 {
                broken_id = r.id;
                "改ざん".to_string()
            } else {
                r.detail.clone()
            };
            set_hash(&mut db, r.id, &detail, &hash, 1).await;
            prev = hash;
        }
    }
    drop(db);
    std::fs::remove_file(server.dir.join("keys").join("audit-chain.key")).unwrap(); // ok: it exists after a start

    server.restart().await;
    assert!(server.dir.join("keys").join("audit-chain.key").exists());
    let (code, out, err) = audit_verify(&server).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert_eq!(
        out.trim(),
        format!("child {child}: chain broken at record {broken_id}"),
        "only the chain broken before the upgrade: {err}"
    );
    // The whole chain was carried over: every record now under the key.
    let key = audit_key(&server);
    let mut db = database(&server, false).await;
    let rows = sqlx::query(
        "select at, account_id, action, detail, hash, legacy_chain from access_log \
         where child_id = $1 order by id",
    )
    .bind(&sota)
    .fetch_all(&mut db)
    .await
    .unwrap(); // ok: the test's own database
    let mut prev = String::new();
    for r in &rows {
        let (account, action, detail): (String, String, String) =
            (r.get("account_id"), r.get("action"), r.get("detail"));
        let at: i64 = r.get("at");
        let want = chain_mac(
            &key,
            &prev,
            [&sota, &at.to_string(), &account, &action, &detail],
        );
        assert_eq!(r.get::<String, _>("hash"), want);
        assert_eq!(r.get::<i64, _>("legacy_chain"), 0);
        prev = want;
    }
    // New records chain on, under the key.
    server
        .login("guardian.takahashi")
        .await
        .get(&format!("/api/v1/children/{sota}/members"))
        .await;
    let (code, out, _) = audit_verify(&server).await;
    assert_eq!(code, 1);
    assert!(!out.contains(&sota), "{out}");
    server.check_logs();
}
