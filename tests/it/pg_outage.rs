//! Restarting PostgreSQL under load (issue 5): posts during the outage get a
//! clear error, never an acknowledgement without a commit, and the node
//! recovers by itself. The test runs its own throwaway cluster (it restarts
//! it), so it needs PostgreSQL's server binaries: the README's test command
//! installs them and runs this in its PostgreSQL run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Extra server settings (`-c name=value ...`).
    settings: String,
}

fn as_pg(bin: &std::path::Path, tool: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

impl PrivatePg {
    fn start() -> PrivatePg {
        Self::start_with("")
    }

    fn start_with(settings: &str) -> PrivatePg {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries (run ./scripts/test, which installs them)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .collect();
        bins.sort();
        let bin = bins.pop().expect("initdb");
        let dir = tempfile::tempdir().unwrap();
        let _ = Command::new("chown")
            .arg("postgres")
            .arg(dir.path())
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ok = as_pg(&bin, "initdb")
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "renraku", "--auth=trust", "-E", "UTF8"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "initdb");
        let pg = PrivatePg {
            dir,
            bin,
            port,
            settings: settings.to_owned(),
        };
        pg.ctl("start");
        pg
    }

    fn ctl(&self, action: &str) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 {}",
            self.port,
            self.dir.path().display(),
            self.settings
        );
        let ok = as_pg(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-m", "fast", "-o", &opts, action])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "pg_ctl {action}");
    }

    fn base(&self) -> String {
        format!("postgres://renraku@127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = as_pg(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_under_load_loses_no_acknowledged_post() {
    if test_postgres().is_none() {
        return; // the PostgreSQL run of the test command covers it
    }
    let pg = PrivatePg::start();
    let url = fresh_database(&pg.base()).await;
    // Posts as fast as the outage allows: a load test, without per-account limits.
    let server = Server::demo_opts(ServerOpts {
        database_url: Some(url),
        flags: NO_WRITE_LIMITS.iter().map(|f| f.to_string()).collect(),
        ..ServerOpts::default()
    })
    .await;
    let g = Arc::new(server.login("guardian.sato").await);
    let child = g.child_id("佐藤 ひなた").await;
    let start_last = g.last_seq(&child).await;
    // A second node whose subscriber sees everything through the outage: its
    // listener must reconnect and catch up from the database.
    let b = server.second_node(&NO_WRITE_LIMITS).await;
    let watcher = b.login("coordinator.yamada").await;
    let mut ws_b = watcher.ws().await;
    let (_, watched_from) = ws_b.subscribe(&child, start_last).await;
    let tap = Tap::new("subscriber on node B", ws_b);

    // Four posters for the whole run; each records what it was told.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for p in 0..4 {
        let (g, child, stop) = (g.clone(), child.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut errors = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let cid = format!("p{p}-{i}");
                i += 1;
                let (st, v) = g
                    .post_entry_cid(
                        &child,
                        &cid,
                        "family",
                        "note",
                        json!({"text": format!("負荷 {cid}")}),
                    )
                    .await;
                match st {
                    201 => acked.push((cid, v["id"].as_str().unwrap().to_owned())),
                    _ => errors.push((st, v)),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acked, errors)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.ctl("stop");
    // Longer than the server's 5 s wait for a connection: posts must fail
    // clearly rather than hang.
    tokio::time::sleep(Duration::from_millis(7000)).await;
    pg.ctl("start");
    let restarted = Instant::now();
    // Recovery by itself: a post succeeds again within a few seconds.
    loop {
        let (st, _) = g
            .post_entry(&child, "family", "note", json!({"text": "復旧確認"}))
            .await;
        if st == 201 {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "no recovery: last status {st}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut acked = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (a, e) = t.await.unwrap();
        acked.extend(a);
        errors.extend(e);
    }
    assert!(
        !errors.is_empty(),
        "the outage must have been noticed by someone"
    );
    for (st, v) in &errors {
        assert_eq!(*st, 503, "during the outage: {v}");
        assert_eq!(err_code(v), "unavailable", "{v}");
    }
    // Every acknowledged post is there exactly once, and seq has no gap.
    let entries = g.all_entries(&child).await;
    for (cid, id) in &acked {
        let n = entries
            .iter()
            .filter(|e| e["client_id"] == *cid.as_str())
            .count();
        assert_eq!(n, 1, "acknowledged post {cid} ({id}) present {n} times");
    }
    let seqs: Vec<i64> = entries.iter().map(seq_of).collect();
    let want: Vec<i64> = (1..=*seqs.last().unwrap()).collect();
    assert_eq!(seqs, want, "gap-free seq");
    assert!(seqs.last().unwrap() > &start_last);

    // Node B's subscriber got every entry after its start, in order, once.
    let last = *seqs.last().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let live = loop {
        let got: Vec<i64> = tap
            .frames()
            .iter()
            .filter(|(_, f)| f["type"] == "entry")
            .map(|(_, f)| seq_of(&f["entry"]))
            .collect();
        if got.last() == Some(&last) || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let want: Vec<i64> = (watched_from + 1..=last).collect();
    assert_eq!(live, want, "node B's subscriber across the outage");
    server.check_logs();
    b.check_logs();
}

/// A cluster where commits are not durable is refused at start, with the
/// reason: `fsync` and `full_page_writes` are cluster-wide settings, hence a
/// private cluster for each.
#[tokio::test]
async fn postgres_without_fsync_or_full_page_writes_is_refused() {
    if test_postgres().is_none() {
        return; // the PostgreSQL run of the test command covers it
    }
    for setting in ["fsync", "full_page_writes"] {
        let pg = PrivatePg::start_with(&format!("-c {setting}=off"));
        let url = fresh_database(&pg.base()).await;
        let stderr = demo_refused(&url).await;
        assert!(
            stderr.contains(setting),
            "{setting}=off: the refusal must say why: {stderr}"
        );
    }
}
