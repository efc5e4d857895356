//! The load generator itself: `renraku bench` runs as a subprocess against a
//! demo server with tiny parameters, and its JSON report must show a
//! complete, lossless run (every post acknowledged, every delivery counted
//! once, latencies and server memory measured).

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// A bench run taking longer than this is stuck.
const BENCH_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `renraku bench --workload W EXTRA…` against `server`; returns the
/// JSON report, after asserting the exit status.
async fn bench(server: &Server, workload: &str, extra: &[&str]) -> Value {
    bench_nodes(&[server], workload, extra).await
}

/// The same against the nodes of one deployment (one `--url` each; the
/// RSS is the first node's).
async fn bench_nodes(nodes: &[&Server], workload: &str, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let pid = nodes[0].pid().to_string();
    let mut cmd = tokio::process::Command::new(bin());
    cmd.arg("bench");
    for node in nodes {
        cmd.args(["--url", &node.base]);
    }
    cmd.args(["--admin-login", "admin"])
        .args(["--admin-password", DEMO_PASSWORD, "--insecure-tls"])
        .args(["--server-pid", &pid, "--workload", workload])
        .arg("--json")
        .arg(&json)
        .args(extra)
        .env_remove("RENRAKU_BENCH_ADMIN_PASSWORD")
        .kill_on_drop(true);
    let out = tokio::time::timeout(BENCH_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| {
            panic!("bench {workload} {extra:?} did not finish in {BENCH_TIMEOUT:?}")
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench {workload} {extra:?} failed ({}):\n{stderr}",
        out.status
    );
    let text = std::fs::read_to_string(&json).unwrap();
    let report: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("bench report is not JSON ({e}): {text}"));
    assert_eq!(report["workload"], workload, "{report}");
    report
}

fn count(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count: {report}"))
}

fn positive(report: &Value, path: &[&str]) -> f64 {
    let v = path.iter().fold(report, |v, k| &v[*k]);
    let n = v
        .as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number: {report}"));
    assert!(n > 0.0, "{path:?} = {n}, want > 0: {report}");
    n
}

/// What every workload's report must show: all `posts` acknowledged, each
/// expected delivery received exactly once, latencies and memory measured.
fn assert_lossless(report: &Value, posts: u64) {
    assert_eq!(count(report, "posts_acked"), posts, "{report}");
    assert_eq!(count(report, "lost"), 0, "{report}");
    assert_eq!(count(report, "duplicates"), 0, "{report}");
    let expected = count(report, "deliveries_expected");
    assert!(expected > 0, "{report}");
    assert_eq!(count(report, "deliveries_received"), expected, "{report}");
    for key in ["ack_ms", "delivery_ms"] {
        let p99 = positive(report, &[key, "p99"]);
        let max = positive(report, &[key, "max"]);
        assert!(p99 <= max, "{key}: p99 {p99} > max {max}: {report}");
    }
    positive(report, &["posts_per_s"]);
    positive(report, &["server_rss_peak_mib"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_small_tiny() {
    let server = Server::demo().await;
    let r = bench(
        &server,
        "fanout-small",
        &["--children", "2", "--members", "2", "--posts", "40"],
    )
    .await;
    assert_lossless(&r, 40);
    // Each post reaches both members of its child.
    assert_eq!(count(&r, "deliveries_expected"), 80, "{r}");
}

/// Two nodes over one PostgreSQL (its run of the suite only; the SQLite run
/// returns at once): the sockets alternate between the nodes in the order
/// they open, so of one child's three subscribers two share a node and one
/// is on the other, and the poster's socket (the fourth) is on that other
/// node: two of every three deliveries cross nodes. None may be lost or
/// doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_small_across_two_nodes() {
    if test_postgres().is_none() {
        return;
    }
    // 200 posts from one poster: a load test, without per-account limits.
    let a = Server::demo_with(&NO_WRITE_LIMITS).await;
    let b = a.second_node(&NO_WRITE_LIMITS).await;
    let r = bench_nodes(
        &[&a, &b],
        "fanout-small",
        &[
            "--children",
            "1",
            "--members",
            "3",
            "--posters",
            "1",
            "--posts",
            "200",
        ],
    )
    .await;
    assert_lossless(&r, 200);
    assert_eq!(r["sockets_per_node"], serde_json::json!([2, 2]), "{r}");
    assert_eq!(count(&r, "deliveries_expected"), 200 * 3, "{r}");
    a.check_logs();
    b.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_small_at_a_rate() {
    let server = Server::demo().await;
    let r = bench(&server, "fanout-small", &["--rate", "50", "--posts", "20"]).await;
    assert_lossless(&r, 20);
    assert_eq!(count(&r, "deliveries_expected"), 20 * 5, "{r}");
    // 20 posts at 50/s take at least 0.38 s (the last is due at 19/50 s).
    assert!(positive(&r, &["elapsed_s"]) >= 0.38, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_tiny() {
    let server = Server::demo().await;
    let r = bench(
        &server,
        "connections",
        &[
            "--connections",
            "40",
            "--children",
            "4",
            "--duration",
            "2",
            "--rate",
            "20",
            "--posters",
            "2",
            "--accounts",
            "6",
        ],
    )
    .await;
    // 20 posts/s for 2 s, each to one child's 10 sockets.
    assert_lossless(&r, 40);
    assert_eq!(count(&r, "sockets"), 40, "{r}");
    assert_eq!(count(&r, "deliveries_expected"), 400, "{r}");
    positive(&r, &["connect_s"]);
    positive(&r, &["server_rss_idle_mib"]);
    assert_eq!(r["subscriber_closes"], serde_json::json!({}), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_tiny() {
    let server = Server::demo().await;
    let r = bench(&server, "alerts", &["--children", "6"]).await;
    assert_lossless(&r, 6);
    // One alert per child, each at its contact once.
    assert_eq!(count(&r, "deliveries_received"), 6, "{r}");
    assert_eq!(count(&r, "misdelivered"), 0, "{r}");
    assert_eq!(count(&r, "alerts_acked_by_contacts"), 6, "{r}");
    positive(&r, &["reach_all_ms"]);
    positive(&r, &["contact_ack_ms", "p99"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_tiny() {
    let server = Server::demo().await;
    let disk = server.dir.to_string_lossy().into_owned();
    let r = bench(
        &server,
        "attachments",
        &[
            "--attachment-mib",
            "1",
            "--concurrent",
            "2",
            "--disk-dir",
            &disk,
        ],
    )
    .await;
    for key in [
        "disk_write_mib_s",
        "disk_read_mib_s_page_cache",
        "upload_mib_s",
        "download_mib_s",
        "server_rss_peak_png_mib",
        "server_vmhwm_after_jpeg_mib",
    ] {
        positive(&r, &[key]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_workload_lists_them_all() {
    let out = tokio::process::Command::new(bin())
        .args([
            "bench",
            "--url",
            "https://127.0.0.1:9",
            "--admin-login",
            "a",
        ])
        .args(["--admin-password", "b", "--workload", "nope"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for w in [
        "fanout-small",
        "fanout-wide",
        "connections",
        "alerts",
        "attachments",
    ] {
        assert!(stderr.contains(w), "{w} not listed: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_refuse_a_low_open_files_limit() {
    // Checked before the server is contacted: no server is needed.
    let script = format!(
        "ulimit -n 500 && exec {} bench --url https://127.0.0.1:9 --admin-login a \
         --admin-password b --workload connections --connections 1000",
        bin()
    );
    let out = tokio::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ulimit -n") && stderr.contains("500"),
        "{stderr}"
    );
}
