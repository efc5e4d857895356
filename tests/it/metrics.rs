//! Issue 22 point 2: `--metrics-listen` serves Prometheus text exposition at
//! `/metrics` on a plain HTTP listener of its own. The counters move by what
//! the scenario did, the text parses, its labels come from fixed sets and
//! hold no child data; without the flag nothing more listens.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

/// Samples by series, as printed: `name{k="v",…}` (or `name`) → value.
type Samples = BTreeMap<String, f64>;

/// Every metric the README documents (histograms by their base name).
const DOCUMENTED: &[&str] = &[
    "renraku_posts_committed_total",
    "renraku_commit_batch_size",
    "renraku_commit_duration_seconds",
    "renraku_db_acquire_seconds",
    "renraku_ws_frames_sent_total",
    "renraku_ws_queued_events",
    "renraku_ws_open",
    "renraku_ws_closed_total",
    "renraku_logins_total",
    "renraku_alerts_open",
    "renraku_alerts_raised_total",
    "renraku_escalation_steps_total",
    "renraku_push_total",
    "renraku_process_resident_memory_bytes",
];

/// The labels there may be, each with its fixed set of values (`le`: a bound).
fn label_allowed(key: &str, value: &str) -> bool {
    match key {
        "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
        "conn" => ["read", "write"].contains(&value),
        "outcome" => [
            "ok",
            "bad_credentials",
            "totp_required",
            "enrolment_required",
            "rate_limited",
            "busy",
            "error",
            "sent",
            "retrying",
            "failed",
            "subscription_removed",
        ]
        .contains(&value),
        "reason" => [
            "normal",
            "idle",
            "shutdown",
            "backpressure",
            "token_expired",
            "session_ended",
            "limit",
            "protocol",
            "error",
        ]
        .contains(&value),
        _ => false,
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses the exposition strictly: `# HELP`/`# TYPE` comments, and sample
/// lines `name{labels} value` whose names start with `renraku_` and whose
/// labels are all from the fixed sets.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split(' ');
            let kind = words.next().unwrap_or("");
            assert!(kind == "HELP" || kind == "TYPE", "comment {line:?}");
            assert!(is_name(words.next().unwrap_or("")), "comment {line:?}");
            if kind == "TYPE" {
                let t = words.next().unwrap_or("");
                assert!(["counter", "gauge", "histogram"].contains(&t), "{line:?}");
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample without a value: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value of {line:?} is not a number"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let labels = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("labels not closed: {line:?}"));
                (name, Some(labels))
            }
            None => (series, None),
        };
        assert!(is_name(name), "metric name {name:?} in {line:?}");
        assert!(name.starts_with("renraku_"), "unprefixed metric: {line:?}");
        for pair in labels.into_iter().flat_map(|l| l.split(',')) {
            let (key, quoted) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("label {pair:?} in {line:?}"));
            let v = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or_else(|| panic!("label value not quoted: {line:?}"));
            assert!(is_name(key), "label name {key:?} in {line:?}");
            assert!(
                label_allowed(key, v),
                "label {key}={v:?} not from its fixed set: {line:?}"
            );
        }
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "series twice: {line:?}"
        );
    }
    samples
}

fn metrics_url(server: &Server) -> String {
    server
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("metrics listening on "))
        .map(|u| u.trim().to_owned())
        .unwrap_or_else(|| panic!("no metrics line in stdout:\n{}", server.stdout()))
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn scrape(url: &str) -> (String, Samples) {
    let (st, text) = get(url).await;
    assert_eq!(st, 200, "{text}");
    let samples = parse(&text);
    (text, samples)
}

fn at(s: &Samples, series: &str) -> f64 {
    s.get(series).copied().unwrap_or(0.0)
}

/// Scrapes until `done` holds (10 s); returns that scrape.
async fn wait_for(url: &str, what: &str, done: impl Fn(&Samples) -> bool) -> (String, Samples) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (text, now) = scrape(url).await;
        if done(&now) {
            return (text, now);
        }
        assert!(Instant::now() < deadline, "waiting for {what}:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Scrapes until `series` has moved by at least `by` since `before`.
async fn wait_moved(url: &str, before: &Samples, series: &str, by: f64) -> Samples {
    let what = format!("{series} to move by {by}");
    wait_for(url, &what, |now| at(now, series) - at(before, series) >= by)
        .await
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_what_happened_and_hold_no_child_data() {
    let relay = PushCounter::start().await;
    let server = Server::demo_with(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--escalation-delay",
        "1",
        "--push-insecure-origin",
        &relay.origin,
    ])
    .await;
    let url = metrics_url(&server);
    let api = server.api();
    let (_, before) = scrape(&url).await;
    for series in [
        "renraku_logins_total{outcome=\"rate_limited\"}",
        "renraku_push_total{outcome=\"subscription_removed\"}",
        "renraku_ws_closed_total{reason=\"backpressure\"}",
        "renraku_escalation_steps_total",
    ] {
        assert!(
            before.contains_key(series),
            "{series} exists from the start"
        );
    }

    // Logins: a wrong password, then four good ones.
    let wrong = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    server.registry.add("password", &wrong);
    let r = api.login_raw("guardian.sato", &wrong, None).await;
    assert_err(&r, 401, "invalid_credentials");
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let tanaka = server.login("teacher.tanaka").await;
    let ito = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;

    // Three posts over the socket, a replay of one, one over HTTP; a
    // subscriber gets all four.
    let m = server.marker();
    let mut sub = coord.ws().await;
    sub.subscribe(&child, g.last_seq(&child).await).await;
    let mut ws = g.ws().await;
    let mut first = String::new();
    for i in 0..3 {
        let cid = new_client_id();
        let f = ws
            .post(
                &child,
                &cid,
                "family",
                "note",
                json!({"text": format!("記録 {m} {i}")}),
            )
            .await;
        assert_eq!(f["type"], "posted", "{f}");
        if i == 0 {
            first = cid;
        }
    }
    let replay = ws
        .post(
            &child,
            &first,
            "family",
            "note",
            json!({"text": format!("記録 {m} 0")}),
        )
        .await;
    assert_eq!(
        replay["type"], "posted",
        "a replay is answered as posted: {replay}"
    );
    g.note(&child, "family", &format!("連絡 {m}")).await;
    for _ in 0..4 {
        sub.recv_type("entry").await;
    }

    // A socket closed by its client, and one whose session ends (4401).
    g.ws().await.close().await;
    let mut ended = ito.ws().await;
    assert_eq!(ito.post_empty("/api/v1/auth/logout").await.0, 204);
    ended.expect_close(4401).await;

    // An alert to a contact with a push subscription, escalated, then acknowledged.
    let endpoint = format!("{}{}", relay.origin, relay.new_path(&server.registry));
    push_subscribe(&g, &endpoint).await;
    let alert = tanaka.raise_alert(&child, &format!("発作 {m}")).await;
    let alert_id = alert["id"].as_str().unwrap().to_owned();
    let raised = wait_moved(&url, &before, "renraku_escalation_steps_total", 1.0).await;
    assert_eq!(
        at(&raised, "renraku_alerts_open") - at(&before, "renraku_alerts_open"),
        1.0,
        "the open alert"
    );
    wait_moved(&url, &before, "renraku_push_total{outcome=\"sent\"}", 1.0).await;
    let (st, v) = g
        .post(&format!("/api/v1/alerts/{alert_id}/ack"), &json!({}))
        .await;
    assert_eq!(st, 200, "{v}");

    // Sockets are counted once their close is done; the two still open at the scrape.
    let closed = "renraku_ws_closed_total{reason=\"normal\"}";
    let (text, after) = wait_for(&url, "the closed socket and two open", |now| {
        at(now, closed) - at(&before, closed) >= 1.0 && at(now, "renraku_ws_open") == 2.0
    })
    .await;
    let moved = |series: &str| at(&after, series) - at(&before, series);

    assert_eq!(
        moved("renraku_posts_committed_total"),
        4.0,
        "replays are not posts"
    );
    assert_eq!(moved("renraku_logins_total{outcome=\"ok\"}"), 4.0);
    assert_eq!(
        moved("renraku_logins_total{outcome=\"bad_credentials\"}"),
        1.0
    );
    assert_eq!(moved(closed), 1.0, "the socket its client closed");
    assert_eq!(
        moved("renraku_ws_closed_total{reason=\"session_ended\"}"),
        1.0,
        "the socket of the session that logged out"
    );
    assert_eq!(
        at(&after, "renraku_ws_open"),
        2.0,
        "the poster's and the subscriber's"
    );
    assert!(
        moved("renraku_ws_frames_sent_total") >= 4.0 + 4.0,
        "four entries to the subscriber and four answers to the poster"
    );
    assert_eq!(moved("renraku_alerts_raised_total"), 1.0);
    assert_eq!(
        at(&after, "renraku_alerts_open"),
        at(&before, "renraku_alerts_open")
    );
    assert!(moved("renraku_escalation_steps_total") >= 1.0);
    assert!(moved("renraku_push_total{outcome=\"sent\"}") >= 1.0);
    assert!(moved("renraku_commit_batch_size_count") >= 1.0);
    assert!(
        moved("renraku_commit_batch_size_sum") >= 4.0,
        "four entries at least"
    );
    assert!(moved("renraku_commit_duration_seconds_count") >= 1.0);
    for conn in ["read", "write"] {
        let series = format!("renraku_db_acquire_seconds_count{{conn=\"{conn}\"}}");
        assert!(moved(&series) >= 1.0, "{series}");
    }
    for h in [
        "renraku_commit_batch_size",
        "renraku_commit_duration_seconds",
    ] {
        assert_eq!(
            at(&after, &format!("{h}_bucket{{le=\"+Inf\"}}")),
            at(&after, &format!("{h}_count")),
            "{h}: the last bucket holds every sample"
        );
    }
    assert!(at(&after, "renraku_process_resident_memory_bytes") > 4e6);
    for name in DOCUMENTED {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing from:\n{text}"
        );
    }

    // No child data, name, id, login or token anywhere in the text.
    check_log_text(&text, &server.registry);
    for s in [&child, &g.account_id, &coord.account_id, &alert_id, &first] {
        assert!(!text.contains(s.as_str()), "{s} in the metrics");
    }
    for login in ["guardian.sato", "coordinator.yamada", "teacher.tanaka"] {
        assert!(!text.contains(login), "{login} in the metrics");
    }

    // Only /metrics is served there.
    let base = url.trim_end_matches("/metrics");
    for path in ["/", "/api/v1/me", "/metrics/x", "/healthz"] {
        assert_eq!(get(&format!("{base}{path}")).await.0, 404, "{path}");
    }
    server.check_logs();
}

/// The ports a process listens on (TCP, IPv4 and IPv6): its socket inodes
/// matched against the kernel's tables.
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // local_address is cols[1] (ADDR:PORT in hex), st is cols[3], inode cols[9].
            if cols.len() > 9 && cols[3] == "0A" && inodes.contains(cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap_or("");
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn without_the_flag_no_metrics_are_served() {
    let plain = Server::demo().await;
    assert!(
        !plain.stdout().contains("metrics listening"),
        "{}",
        plain.stdout()
    );
    let main_port = port_of(&plain.addr);
    let ports = listening_ports(plain.pid());
    assert!(ports.contains(&main_port), "{ports:?}");
    // Whatever else the process listens on serves no metrics.
    for port in ports.into_iter().filter(|p| *p != main_port) {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
            let text = r.text().await.unwrap_or_default();
            assert!(!text.contains("renraku_"), "metrics on port {port}: {text}");
        }
    }
    plain.check_logs();

    // With it, the metrics port is this process's.
    let server = Server::demo_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    let url = metrics_url(&server);
    let port = port_of(
        url.trim_end_matches("/metrics")
            .trim_start_matches("http://"),
    );
    assert!(listening_ports(server.pid()).contains(&port));
    server.check_logs();
}
