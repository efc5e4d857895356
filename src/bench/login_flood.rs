//! The login-flood workload (issue 18): `--connections` (default 2,000)
//! concurrent bad logins for `--duration` seconds, each flooder behind the
//! server's trusted proxy with its own client address, half of them guessing
//! one professional's password and half trying unknown logins. Meanwhile the
//! professional's own browser, which logged in before the flood and holds
//! its device token, logs in every half second. Measured: the answers to the
//! flood (401, 429, 503), the rightful logins' outcome and latency, one
//! login without the device token (it must be locked out), and the server's
//! RSS before, during (peak) and after the flood.
//!
//! The server must trust the load generator as a proxy (`scripts/bench`
//! starts it with `--trusted-proxy 127.0.0.1/32` for this workload).

use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::Client;
use super::report::{every_second, histogram, round, rss_mib, summary, RssSampler};
use super::BenchArgs;

/// The rightful browser's address, outside the flooders' 10.0.0.0/8.
const OWNER_ADDRESS: &str = "192.0.2.10";
/// How often the rightful user logs in during the flood.
const OWNER_EVERY: Duration = Duration::from_millis(500);
/// How often the server's RSS is noted during the flood.
const RSS_EVERY: Duration = Duration::from_secs(5);
/// How long the server is given to settle before the RSS after the flood.
const SETTLE: Duration = Duration::from_secs(3);

/// What the flood got back, by status.
#[derive(Default)]
struct Tally {
    by_status: Mutex<BTreeMap<u16, u64>>,
    failed: AtomicU64,
    sent: AtomicU64,
}

impl Tally {
    fn add(&self, status: u16) {
        if let Ok(mut m) = self.by_status.lock() {
            *m.entry(status).or_default() += 1;
        }
    }
}

fn password() -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

pub async fn run(
    args: &BenchArgs,
    client: &Client,
    admin: &str,
) -> anyhow::Result<serde_json::Value> {
    let flooders = args.connections.unwrap_or(2000).max(1);
    let duration = Duration::from_secs_f64(args.duration.max(1.0));
    super::setup::check_fd_limit(flooders as u64 + 256)?;

    // The professional whose password the flood guesses.
    let login = format!("bench-flood-{}", &password()[..8].to_ascii_lowercase());
    let secret = password();
    client
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(admin),
            Some(
                json!({"login": login, "password": secret, "display_name": login,
                        "kind": "professional", "profession": "doctor"}),
            ),
        )
        .await
        .context("creating the professional")?;
    let (status, device) = client
        .login_as_browser(&login, &secret, None, OWNER_ADDRESS)
        .await?;
    let Some(device) = device.filter(|_| status == 200) else {
        bail!("the professional's first login gave {status} and no device token");
    };

    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = args.server_pid.and_then(rss_mib).map(|m| round(m, 1));
    eprintln!(
        "login-flood: {flooders} concurrent bad logins for {:?}; RSS before {rss_before:?} MiB",
        duration
    );

    let tally = Arc::new(Tally::default());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let sampler = RssSampler::start(args.server_pid);
    let start = Instant::now();
    let deadline = start + duration;
    let _progress = {
        let (tally, in_flight) = (tally.clone(), in_flight.clone());
        every_second(move || {
            let counts = tally
                .by_status
                .lock()
                .map(|m| format!("{m:?}"))
                .unwrap_or_default();
            format!(
                "flood: {} sent, {} in flight, by status {counts}",
                tally.sent.load(Ordering::Relaxed),
                in_flight.load(Ordering::Relaxed)
            )
        })
    };
    // The RSS every few seconds: flat once the flood's connections are open.
    let timeline = args.server_pid.map(|pid| {
        tokio::spawn(async move {
            let mut points = Vec::new();
            while Instant::now() < deadline {
                tokio::time::sleep(RSS_EVERY).await;
                if let Some(m) = rss_mib(pid) {
                    points.push(json!([
                        round(start.elapsed().as_secs_f64(), 0),
                        round(m, 1)
                    ]));
                }
            }
            points
        })
    });
    let mut tasks = Vec::with_capacity(flooders);
    for i in 0..flooders {
        let (client, tally, in_flight, login) = (
            client.clone(),
            tally.clone(),
            in_flight.clone(),
            login.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let address = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let target = if (i as u64 + n).is_multiple_of(2) {
                    login.clone()
                } else {
                    format!("nobody-{i}-{n}")
                };
                in_flight.fetch_add(1, Ordering::Relaxed);
                let r = client
                    .login_as_browser(&target, "not-the-password-123", None, &address)
                    .await;
                in_flight.fetch_sub(1, Ordering::Relaxed);
                tally.sent.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok((status, _)) => tally.add(status),
                    Err(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
    }

    // The rightful user, with the device token, from the first second on.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut owner = histogram()?;
    let (mut owner_ok, mut owner_other) = (0u64, BTreeMap::<u16, u64>::new());
    let mut locked_without_device = None;
    while Instant::now() + OWNER_EVERY < deadline {
        if locked_without_device.is_none() {
            // Without the device token, the flood has locked the account.
            let (status, _) = client
                .login_as_browser(&login, &secret, None, "192.0.2.11")
                .await?;
            locked_without_device = Some(status);
        }
        let t0 = Instant::now();
        let (status, _) = client
            .login_as_browser(&login, &secret, Some(&device), OWNER_ADDRESS)
            .await?;
        let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        if status == 200 {
            owner_ok += 1;
            let _ = owner.record(us.max(1));
        } else {
            *owner_other.entry(status).or_default() += 1;
        }
        tokio::time::sleep(OWNER_EVERY).await;
    }
    for t in tasks {
        let _ = t.await;
    }
    let flood_secs = start.elapsed().as_secs_f64();
    let rss_peak = sampler.finish().await;
    let rss_timeline = match timeline {
        Some(t) => t.await.unwrap_or_default(),
        None => Vec::new(),
    };
    drop(_progress);
    tokio::time::sleep(SETTLE).await;
    let rss_after = args.server_pid.and_then(rss_mib).map(|m| round(m, 1));
    // And once the flood is over, the rightful user still gets in.
    let (after_status, _) = client
        .login_as_browser(&login, &secret, Some(&device), OWNER_ADDRESS)
        .await?;

    let sent = tally.sent.load(Ordering::Relaxed);
    let by_status: BTreeMap<String, u64> = tally
        .by_status
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        .unwrap_or_default();
    let owner_summary = summary(&owner);
    Ok(json!({
        "workload": "login-flood",
        "flooders": flooders,
        "flood_seconds": round(flood_secs, 1),
        "flood_requests": sent,
        "flood_requests_per_s": round(sent as f64 / flood_secs.max(0.001), 0),
        "flood_by_status": by_status,
        "flood_transport_errors": tally.failed.load(Ordering::Relaxed),
        "owner_logins_ok": owner_ok,
        "owner_logins_refused": owner_other.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "owner_login_ms": owner_summary,
        "owner_login_after_flood": after_status,
        "login_without_device_token": locked_without_device,
        "server_rss_before_mib": rss_before,
        "server_rss_peak_mib": rss_peak,
        "server_rss_after_mib": rss_after,
        "server_rss_timeline_mib": rss_timeline,
    }))
}
