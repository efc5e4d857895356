//! Group 5: durability. Concurrent posts from several sockets, `kill -9` in
//! the middle, restart on the same data dir: every acknowledged post is there
//! exactly once, seq stays gap-free, and a retry with the same `client_id`
//! returns the same entry. Also: SIGTERM closes sockets with 1001 and exits 0.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::fanout::ensure_can_post;
use crate::helpers::*;

#[derive(Clone, Debug)]
struct Sent {
    login: String,
    client_id: String,
    category: &'static str,
    text: String,
}

/// Posts until `n` are acknowledged or the connection dies; never panics on a
/// dead server. Returns (acknowledged with their entries, sent but unanswered).
async fn post_until_dead(
    mut ws: Ws,
    login: String,
    child: String,
    category: &'static str,
    n: usize,
    acked_count: Arc<AtomicUsize>,
) -> (Vec<(Sent, Value)>, Vec<Sent>) {
    let mut acked = Vec::new();
    let mut unanswered = Vec::new();
    for i in 0..n {
        let cid = new_client_id();
        let sent = Sent {
            login: login.clone(),
            client_id: cid.clone(),
            category,
            text: format!("{login} {i} 耐久テスト"),
        };
        let r = format!("p{i}");
        let frame = json!({"type": "post", "ref": r, "child_id": child, "client_id": cid,
            "category": category, "kind": "note", "body": {"text": sent.text}});
        if ws.try_send(Message::text(frame.to_string())).await.is_err() {
            unanswered.push(sent);
            break;
        }
        let answer = loop {
            match ws.next_frame(Duration::from_secs(20)).await {
                Frame::Json(v) if v["ref"] == r.as_str() => break Some(v),
                Frame::Json(_) => continue,
                _ => break None,
            }
        };
        match answer {
            Some(v) => {
                assert_eq!(v["type"], "posted", "{v}");
                acked.push((sent, v["entry"].clone()));
                acked_count.fetch_add(1, Ordering::SeqCst);
            }
            None => {
                unanswered.push(sent);
                break;
            }
        }
    }
    (acked, unanswered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_loses_no_acknowledged_post() {
    let mut server = Server::demo().await;
    let logins = [
        ("guardian.sato", "family"),
        ("coordinator.yamada", "welfare"),
        ("phn.kato", "health"),
        ("schoolnurse.ogawa", "education"),
    ];
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let mut sessions = Vec::new();
    for (l, _) in &logins {
        sessions.push(server.login(l).await);
    }
    let refs: Vec<&Session> = sessions[1..].iter().collect();
    ensure_can_post(&g, &child, &refs).await;
    let start_last = g.last_seq(&child).await;

    let acked_count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (s, (l, cat)) in sessions.iter().zip(logins) {
        let ws = s.ws().await;
        tasks.push(tokio::spawn(post_until_dead(
            ws,
            l.to_string(),
            child.clone(),
            cat,
            50,
            acked_count.clone(),
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked_count.load(Ordering::SeqCst) < 60 {
        assert!(Instant::now() < deadline, "posting too slow");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let mut acked = Vec::new();
    let mut unanswered = Vec::new();
    for t in tasks {
        let (a, u) = t.await.unwrap();
        acked.extend(a);
        unanswered.extend(u);
    }
    assert!(acked.len() >= 60 && acked.len() < 200, "{}", acked.len());

    server.restart().await;
    let g = server.login("guardian.sato").await;
    let all = g.all_entries(&child).await;
    let seqs: Vec<i64> = all.iter().map(seq_of).collect();
    let last = *seqs.last().unwrap();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "seq has gaps after restart"
    );
    assert!(last >= start_last + acked.len() as i64);
    assert!(last <= start_last + (acked.len() + unanswered.len()) as i64);

    let mut by_cid: HashMap<String, Vec<&Value>> = HashMap::new();
    for e in &all {
        by_cid
            .entry(e["client_id"].as_str().unwrap().to_string())
            .or_default()
            .push(e);
    }
    for (sent, entry) in &acked {
        let found = by_cid
            .get(&sent.client_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        assert_eq!(
            found.len(),
            1,
            "acknowledged post {} present {} times",
            sent.client_id,
            found.len()
        );
        let e = found[0];
        assert_eq!(e["id"], entry["id"]);
        assert_eq!(e["seq"], entry["seq"]);
        assert_eq!(e["body"]["text"], sent.text.as_str());
        assert_eq!(e["category"], sent.category);
    }
    for sent in &unanswered {
        let n = by_cid.get(&sent.client_id).map(Vec::len).unwrap_or(0);
        assert!(
            n <= 1,
            "unanswered post {} present {n} times",
            sent.client_id
        );
    }

    // Retrying with the same client_id after the restart: the same entry.
    let mut fresh = HashMap::new();
    for (l, _) in &logins {
        fresh.insert(l.to_string(), server.login(l).await);
    }
    for (sent, entry) in acked.iter().step_by(7) {
        let s = &fresh[&sent.login];
        let (st, e) = s
            .post_entry_cid(
                &child,
                &sent.client_id,
                sent.category,
                "note",
                json!({"text": sent.text}),
            )
            .await;
        assert_eq!(st, 200, "retry of {}: {e}", sent.client_id);
        assert_eq!(e["id"], entry["id"]);
        assert_eq!(e["seq"], entry["seq"]);
    }
    // Over the socket too.
    let (sent, entry) = &acked[0];
    let mut ws = fresh[&sent.login].ws().await;
    let f = ws
        .post(
            &child,
            &sent.client_id,
            sent.category,
            "note",
            json!({"text": sent.text}),
        )
        .await;
    assert_eq!(f["type"], "posted", "{f}");
    assert_eq!(f["entry"]["id"], entry["id"]);
    // Retrying the unanswered ones: each ends up exactly once.
    for sent in &unanswered {
        let s = &fresh[&sent.login];
        let (st, e) = s
            .post_entry_cid(
                &child,
                &sent.client_id,
                sent.category,
                "note",
                json!({"text": sent.text}),
            )
            .await;
        let existed = by_cid.contains_key(&sent.client_id);
        assert_eq!(st, if existed { 200 } else { 201 }, "{e}");
    }
    let all2 = g.all_entries(&child).await;
    let seqs: Vec<i64> = all2.iter().map(seq_of).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    for sent in acked.iter().map(|(s, _)| s).chain(unanswered.iter()) {
        let n = all2
            .iter()
            .filter(|e| e["client_id"] == sent.client_id.as_str())
            .count();
        assert_eq!(n, 1, "{} present {n} times", sent.client_id);
    }
    server.check_logs();
}

#[tokio::test]
async fn sigterm_closes_sockets_1001_and_exits_0() {
    let mut server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let e = g.note(&child, "family", "停止前の記録").await;
    let mut ws = g.ws().await;
    ws.subscribe(&child, 0).await;
    let closed = Arc::new(Mutex::new(None));
    let c2 = closed.clone();
    let reader = tokio::spawn(async move {
        let frames = ws.expect_close_within(1001, Duration::from_secs(30)).await;
        *c2.lock().unwrap() = Some(frames.len());
    });
    let status = server.terminate().await;
    reader.await.unwrap();
    assert!(closed.lock().unwrap().is_some());
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    server.restart().await;
    let g = server.login("guardian.sato").await;
    let all = g.all_entries(&child).await;
    assert_eq!(all.iter().filter(|x| x["id"] == e["id"]).count(), 1);
    server.check_logs();
}

#[test]
fn sigterm_right_after_the_listening_line_exits_0() {
    // Once the server says it is listening, SIGTERM must be a graceful stop:
    // the handler has to be installed before the announcement. The signal is
    // sent the moment the line is read.
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    for (round, cmd) in ["demo", "serve", "serve"].iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_renraku"))
            .arg(cmd)
            .arg("--data-dir")
            .arg(&dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A shell waiting on its stdin sends the signal without the delay of
        // spawning `kill` after the line has been read.
        let mut killer = Command::new("sh")
            .arg("-c")
            .arg(format!("read _ && kill -TERM {}", child.id()))
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut trigger = killer.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut announced = false;
        for line in out.lines() {
            if line.unwrap().starts_with("renraku listening on ") {
                announced = true;
                trigger.write_all(b"go\n").unwrap();
                trigger.flush().unwrap();
                break;
            }
        }
        drop(trigger);
        assert!(killer.wait().unwrap().success());
        assert!(announced, "round {round}: no listening line");
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "round {round} ({cmd}): SIGTERM right after `renraku listening on` gave {status:?}"
        );
    }
}

/// PostgreSQL mode only (the README's test command runs the suite on both
/// backends, so this runs in every full run): a database where commits are
/// not durable is refused at start, with a message that says why.
#[tokio::test]
async fn postgres_without_synchronous_commit_is_refused() {
    use sqlx::{Connection, Executor};
    let Some(base) = crate::helpers::test_postgres() else {
        return; // SQLite run: WAL + synchronous=FULL is asserted at every start instead
    };
    let url = crate::helpers::fresh_database(&base).await;
    let db = url.rsplit('/').next().unwrap().to_owned();
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", base.trim_end_matches('/')))
        .await
        .unwrap();
    conn.execute(format!("alter database {db} set synchronous_commit = off").as_str())
        .await
        .unwrap();
    conn.close().await.ok();
    let stderr = crate::helpers::demo_refused(&url).await;
    assert!(
        stderr.contains("synchronous_commit"),
        "the refusal must say why: {stderr}"
    );
}

/// SQLite only: one process owns the database (the posting path keeps
/// consent rows in memory and drops them on its own commits; live delivery
/// reaches only its own sockets). A second `serve` or `demo` on the same
/// data dir is refused, naming the first one's pid; the first keeps
/// serving; `admin create-admin` still works beside it; and once the first
/// has stopped, the dir serves again. (On PostgreSQL several nodes share a
/// database: `cluster.rs`.)
#[tokio::test]
async fn a_second_server_on_the_same_sqlite_data_dir_is_refused() {
    let mut server = Server::demo().await;
    if server.database_url.is_some() {
        return; // PostgreSQL run: several nodes per database are the design
    }
    let first = server.login("guardian.sato").await;
    for cmd in ["serve", "demo"] {
        let stderr = refused(cmd, &server.dir, &[], "a second server started").await;
        let expected = format!("another renraku server (pid {}) is serving", server.pid());
        assert!(
            stderr.contains(&expected),
            "{cmd}: the refusal must say who holds the dir: {stderr}"
        );
    }

    // The admin CLI is not a server: it may add an account meanwhile.
    server
        .registry
        .add("password", "second-admin-Hoshizora-2026");
    let out = tokio::process::Command::new(crate::helpers::bin())
        .args([
            "admin",
            "create-admin",
            "--login",
            "second.admin",
            "--data-dir",
        ])
        .arg(&server.dir)
        .env("RENRAKU_ADMIN_PASSWORD", "second-admin-Hoshizora-2026")
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "create-admin beside a server: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The first server was not disturbed, and sees the new account.
    let (st, me) = first.get("/api/v1/me").await;
    assert_eq!(st, 200, "{me}");
    let admin = server
        .api()
        .login_with("second.admin", "second-admin-Hoshizora-2026", None)
        .await;
    assert_eq!(admin.account["kind"], "admin", "{}", admin.account);

    // Stopped, it leaves the dir free for the next server.
    assert!(server.terminate().await.success());
    server.restart().await;
    server.login("guardian.sato").await;
    server.check_logs();
}
