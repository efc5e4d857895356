//! The fan-out workloads: set up through the API, subscribe, post, measure.

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use super::client::{subscribe, Client, WsRead, WsSink};
use super::report::{histogram, peak_rss_mib, print_table, rss_mib, summary};
use super::BenchArgs;

struct Child {
    id: String,
    guardian_token: String,
    member_tokens: Vec<String>,
}

/// Shared between posters and subscribers.
struct Shared {
    start: Instant,
    /// Send time of post n, in µs since `start` (0 = not sent yet).
    sent_us: Vec<AtomicU64>,
    acked: AtomicUsize,
    received: AtomicUsize,
    duplicates: AtomicUsize,
    posting_done: AtomicBool,
    delivery: Mutex<Histogram<u64>>,
    ack: Mutex<Histogram<u64>>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let (children, members) = match args.workload.as_str() {
        "fanout-small" => (20, 5),
        "fanout-wide" => (5, 20),
        other => bail!("unknown workload {other}: fanout-small or fanout-wide"),
    };
    let children = args.children.unwrap_or(children).max(1);
    let members = args.members.unwrap_or(members).max(1);
    let client = Client::new(&args.url, args.insecure_tls)?;
    let (admin, _) = client
        .login(&args.admin_login, &args.admin_password)
        .await
        .context("admin login")?;
    eprintln!("setup: {children} children × {members} members …");
    let kids = setup(&client, &admin, children, members).await?;

    eprintln!("setup: opening {} subscriber sockets …", children * members);
    let shared = Arc::new(Shared {
        start: Instant::now(),
        sent_us: (0..args.posts).map(|_| AtomicU64::new(0)).collect(),
        acked: AtomicUsize::new(0),
        received: AtomicUsize::new(0),
        duplicates: AtomicUsize::new(0),
        posting_done: AtomicBool::new(false),
        delivery: Mutex::new(histogram()?),
        ack: Mutex::new(histogram()?),
    });
    let mut subscribers = Vec::new();
    for kid in &kids {
        for token in &kid.member_tokens {
            let (mut sink, mut read) = client.socket(token).await?;
            subscribe(&mut sink, &mut read, &kid.id, 0).await?;
            let shared = shared.clone();
            subscribers.push(tokio::spawn(async move {
                let _keep = sink;
                receive(read, shared).await
            }));
        }
    }
    let expected_per_child = members;

    eprintln!("running: {} posts, {} posters …", args.posts, args.posters);
    let rss_peak = Arc::new(Mutex::new(0f64));
    let sampler = args.server_pid.map(|pid| {
        let (peak, shared) = (rss_peak.clone(), shared.clone());
        tokio::spawn(async move {
            while !shared.posting_done.load(Ordering::SeqCst) {
                if let (Some(now), Ok(mut p)) = (rss_mib(pid), peak.lock()) {
                    *p = p.max(now);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    let progress = {
        let shared = shared.clone();
        let total = args.posts;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprintln!(
                    "  {:>6.1} s  acked {}/{}  delivered {}",
                    shared.start.elapsed().as_secs_f64(),
                    shared.acked.load(Ordering::SeqCst),
                    total,
                    shared.received.load(Ordering::SeqCst)
                );
            }
        })
    };
    let counter = Arc::new(AtomicUsize::new(0));
    let post_start = Instant::now();
    let mut posters = Vec::new();
    for p in 0..args.posters.max(1) {
        let kid = &kids[p % kids.len()];
        let (sink, read) = client.socket(&kid.guardian_token).await?;
        let (shared, counter, child) = (shared.clone(), counter.clone(), kid.id.clone());
        let (posts, rate) = (args.posts, args.rate);
        posters.push(tokio::spawn(async move {
            post_loop(sink, read, shared, counter, child, posts, rate, post_start).await
        }));
    }
    // Each poster posts to one child; count what each child got.
    let mut per_child_posts = vec![0usize; kids.len()];
    for (p, handle) in posters.into_iter().enumerate() {
        let sent = handle.await.map_err(|e| anyhow!("poster: {e}"))??;
        per_child_posts[p % kids.len()] += sent;
    }
    let elapsed = post_start.elapsed().as_secs_f64();
    let expected: usize = per_child_posts.iter().map(|n| n * expected_per_child).sum();
    // Let the last deliveries arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.received.load(Ordering::SeqCst) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.posting_done.store(true, Ordering::SeqCst);
    progress.abort();
    if let Some(s) = sampler {
        let _ = s.await;
    }
    for s in &subscribers {
        s.abort();
    }
    let received = shared.received.load(Ordering::SeqCst);
    let acked = shared.acked.load(Ordering::SeqCst);
    let report = json!({
        "workload": args.workload,
        "children": children,
        "members": members,
        "posters": args.posters,
        "rate": args.rate,
        "posts_acked": acked,
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "posts_per_s": (acked as f64 / elapsed).round(),
        "ack_ms": summary(&*shared.ack.lock().map_err(|_| anyhow!("lock"))?),
        "delivery_ms": summary(&*shared.delivery.lock().map_err(|_| anyhow!("lock"))?),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "lost": expected.saturating_sub(received),
        "duplicates": shared.duplicates.load(Ordering::SeqCst),
        "server_rss_peak_mib": rss_peak.lock().ok().map(|p| (*p * 10.0).round() / 10.0).filter(|p| *p > 0.0),
        "server_rss_hwm_mib": args.server_pid.and_then(peak_rss_mib),
    });
    print_table(&report);
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}

/// Accounts, children and memberships, created through the API.
async fn setup(
    client: &Client,
    admin: &str,
    children: usize,
    members: usize,
) -> anyhow::Result<Vec<Child>> {
    let run: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(8)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect();
    let password: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    // Password hashing is deliberately slow: a little parallelism only.
    let gate = Arc::new(Semaphore::new(2));
    let mut kids = Vec::new();
    for c in 0..children {
        let g_login = format!("bench-{run}-g{c}");
        let create = |login: String, kind: &'static str| {
            let (client, admin, password, gate) = (
                client.clone(),
                admin.to_owned(),
                password.clone(),
                gate.clone(),
            );
            async move {
                let _permit = gate.acquire().await?;
                let mut body = json!({"login": login, "password": password, "display_name": login, "kind": kind});
                if kind == "professional" {
                    body["profession"] = json!("nurse");
                }
                client
                    .call(Method::POST, "/api/v1/accounts", Some(&admin), Some(body))
                    .await?;
                client.login(&login, &password).await
            }
        };
        let (g_token, g_id) = create(g_login, "guardian").await?;
        let child = client
            .call(
                Method::POST,
                "/api/v1/children",
                Some(admin),
                Some(json!({"name": format!("ベンチ {c}"), "name_kana": "べんち", "birth_date": "2018-04-01",
                            "disease_group": 1, "diagnosis": "bench", "guardians": [g_id]})),
            )
            .await?;
        let child_id = child["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no child id"))?
            .to_owned();
        let mut jobs = Vec::new();
        for m in 0..members {
            jobs.push(create(format!("bench-{run}-c{c}-m{m}"), "professional"));
        }
        let mut member_tokens = Vec::new();
        for (token, id) in futures_util::future::try_join_all(jobs).await? {
            client
                .call(
                    Method::POST,
                    &format!("/api/v1/children/{child_id}/members"),
                    Some(&g_token),
                    Some(json!({"account_id": id, "categories": ["health", "medical", "welfare", "childcare", "education", "employment", "family"],
                                "can_post": true, "purpose": "bench"})),
                )
                .await?;
            member_tokens.push(token);
        }
        eprintln!("  child {}/{children} ready", c + 1);
        kids.push(Child {
            id: child_id,
            guardian_token: g_token,
            member_tokens,
        });
    }
    Ok(kids)
}

#[allow(clippy::too_many_arguments)]
async fn post_loop(
    mut sink: WsSink,
    mut read: WsRead,
    shared: Arc<Shared>,
    counter: Arc<AtomicUsize>,
    child: String,
    posts: usize,
    rate: Option<f64>,
    start: Instant,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if n >= posts {
            return Ok(sent);
        }
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let reference = n.to_string();
        let frame = json!({"type": "post", "ref": &reference, "child_id": child, "client_id": format!("b{n}"),
                           "category": "health", "kind": "note", "body": {"text": format!("ベンチマークの記録 {n}")}});
        let t0 = Instant::now();
        if let Some(slot) = shared.sent_us.get(n) {
            slot.store(
                shared.start.elapsed().as_micros().max(1) as u64,
                Ordering::SeqCst,
            );
        }
        sink.send(Message::Text(frame.to_string().into())).await?;
        loop {
            let msg = read
                .next()
                .await
                .ok_or_else(|| anyhow!("poster socket closed"))??;
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t)?;
            match v["type"].as_str() {
                Some("posted") if v["ref"].as_str() == Some(reference.as_str()) => break,
                Some("error") => bail!("post {n}: {}", v["code"]),
                _ => {}
            }
        }
        let us = t0.elapsed().as_micros() as u64;
        if let Ok(mut h) = shared.ack.lock() {
            let _ = h.record(us.max(1));
        }
        shared.acked.fetch_add(1, Ordering::SeqCst);
        sent += 1;
    }
}

/// A subscriber: records the delivery latency of every entry it receives.
async fn receive(mut read: WsRead, shared: Arc<Shared>) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    while let Some(msg) = read.next().await {
        let Message::Text(t) = msg? else { continue };
        let now = shared.start.elapsed().as_micros() as u64;
        // Only the client_id is needed: no full parse on the hot path.
        let Some(n) = t
            .split("\"client_id\":\"b")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        if !seen.insert(n) {
            shared.duplicates.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let sent = shared
            .sent_us
            .get(n)
            .map(|s| s.load(Ordering::SeqCst))
            .unwrap_or(0);
        if sent > 0 {
            if let Ok(mut h) = shared.delivery.lock() {
                let _ = h.record(now.saturating_sub(sent).max(1));
            }
        }
        shared.received.fetch_add(1, Ordering::SeqCst);
    }
    Ok(())
}
