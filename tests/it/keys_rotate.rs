//! `renraku keys rotate` (issue 20.5): every data key rewrapped to a new
//! master identity, the old one deleted or retired; refused while a server
//! runs; resumable after a kill -9 halfway. On SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::*;

/// Every family login of the demo: together they see every child.
const FAMILY: &[&str] = &[
    "guardian.sato",
    "guardian.takahashi",
    "guardian.watanabe",
    "guardian.nakamura",
    "youth.watanabe",
];

/// What the API shows of every child: name, entry texts, card status.
async fn read_everything(server: &Server) -> BTreeMap<String, (String, Vec<String>, u16)> {
    let mut seen = BTreeMap::new();
    for login in FAMILY {
        let s = server.login(login).await;
        for c in s.children().await {
            let id = c["id"].as_str().unwrap().to_string();
            if seen.contains_key(&id) {
                continue;
            }
            let entries: Vec<String> = s
                .all_entries(&id)
                .await
                .iter()
                .map(|e| e["body"].to_string())
                .collect();
            let (card, body) = s
                .get(&format!("/api/v1/children/{id}/emergency-card"))
                .await;
            assert!(card == 200 || card == 404, "card of {id}: {card} {body}");
            let name = c["name"].as_str().unwrap().to_string();
            seen.insert(id, (name, entries, card));
        }
    }
    assert_eq!(seen.len(), 4, "the four demo children: {seen:?}");
    assert!(seen.values().any(|(_, _, card)| *card == 200));
    seen
}

fn rotate_cmd(server: &Server, extra: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin());
    cmd.args(["keys", "rotate", "--data-dir"])
        .arg(&server.dir)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL")
        .env_remove("RENRAKU_TEST_ROTATE_PAUSE_AFTER")
        .kill_on_drop(true);
    if let Some(url) = &server.database_url {
        cmd.args(["--database-url", url]);
    }
    cmd
}

/// Runs `renraku keys rotate`: (success, stderr). Its output never holds a key.
async fn rotate(server: &Server, extra: &[&str]) -> (bool, String) {
    run_keyless(&mut rotate_cmd(server, extra)).await
}

fn master(server: &Server) -> Vec<u8> {
    std::fs::read(server.dir.join("keys/master.age")).unwrap()
}

fn retired_files(server: &Server) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(server.dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("master.age.retired-"))
        .collect()
}

/// A demo server with one new entry, stopped: what it showed, and the entry's text.
async fn stopped_demo() -> (Server, BTreeMap<String, (String, Vec<String>, u16)>, String) {
    let mut server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let text = format!("ローテーション前 {}", server.marker());
    g.note(&child, "family", &text).await;
    let before = read_everything(&server).await;
    assert!(before[&child].1.iter().any(|b| b.contains(&text)));
    assert!(server.terminate().await.success());
    (server, before, text)
}

#[tokio::test]
async fn rotation_rewraps_every_key_and_the_server_reads_everything() {
    let (mut server, before, text) = stopped_demo().await;
    let old = master(&server);
    let started = std::time::Instant::now();
    let (ok, out) = rotate(&server, &[]).await;
    eprintln!(
        "keys rotate on the demo took {:?}: {out}",
        started.elapsed()
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("done") && out.contains("old identity deleted"),
        "{out}"
    );
    assert_ne!(master(&server), old, "master.age changed");
    assert!(
        retired_files(&server).is_empty(),
        "no retired file by default"
    );
    assert!(!server.dir.join("keys/master.age.next").exists());
    server.restart().await;
    let after = read_everything(&server).await;
    assert_eq!(after, before);
    assert!(after
        .values()
        .any(|(_, e, _)| e.iter().any(|b| b.contains(&text))));

    // Again, keeping the retired identity.
    assert!(server.terminate().await.success());
    let old = master(&server);
    let (ok, out) = rotate(&server, &["--keep-retired"]).await;
    assert!(ok, "{out}");
    let retired = retired_files(&server);
    assert_eq!(retired.len(), 1, "{retired:?}");
    assert_eq!(
        std::fs::read(&retired[0]).unwrap(),
        old,
        "the old identity, kept"
    );
    let mode = std::fs::metadata(&retired[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    assert_ne!(master(&server), old);
    server.restart().await;
    assert_eq!(read_everything(&server).await, before);
    server.check_logs();
}

#[tokio::test]
async fn rotation_is_refused_while_the_server_runs() {
    let server = Server::demo().await;
    let old = master(&server);
    let (ok, out) = rotate(&server, &[]).await;
    assert!(!ok, "rotated under a running server: {out}");
    match &server.database_url {
        None => assert!(out.contains("serve.lock"), "names the lock file: {out}"),
        Some(_) => assert!(out.contains("stop every node"), "{out}"),
    }
    assert_eq!(master(&server), old, "the master key is unchanged");
    assert!(!server.dir.join("keys/master.age.next").exists());
    read_everything(&server).await;

    // A data dir that is not initialised.
    let tmp = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(bin())
        .args(["keys", "rotate", "--data-dir"])
        .arg(tmp.path().join("nothing"))
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an initialised data dir"), "{err}");
    server.check_logs();
}

#[tokio::test]
async fn a_rotation_killed_halfway_finishes_when_run_again() {
    let (mut server, before, _) = stopped_demo().await;
    let old = master(&server);
    // Paused (test hook) after two rewrapped keys, then kill -9.
    let mut child = rotate_cmd(&server, &[])
        .env("RENRAKU_TEST_ROTATE_PAUSE_AFTER", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let paused = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            assert!(!line.contains("AGE-SECRET-KEY"));
            if line.contains("pausing") {
                return line;
            }
        }
        panic!("keys rotate exited before pausing");
    })
    .await
    .expect("keys rotate pauses after two keys");
    assert!(paused.contains("2/"), "{paused}");
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();

    assert_eq!(master(&server), old, "not replaced yet");
    assert!(server.dir.join("keys/master.age.next").exists());
    // Half-rotated: the server refuses to start and says what to do.
    let err = server
        .try_restart()
        .await
        .expect_err("started half-rotated");
    assert!(err.stderr.contains("keys rotate"), "{}", err.stderr);

    let (ok, out) = rotate(&server, &[]).await;
    assert!(ok && out.contains("resumed"), "{out}");
    assert_ne!(master(&server), old);
    assert!(!server.dir.join("keys/master.age.next").exists());
    server.restart().await;
    assert_eq!(read_everything(&server).await, before);
    server.check_logs();
}
