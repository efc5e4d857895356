//! The alerts workload: K children, each with one professional member
//! listed as its tier-1 emergency contact and online on a WebSocket; one
//! alert raised per child (HTTP, by its guardian) with bounded concurrency.
//! Measured per alert: raise answer latency, time from the raise's send to
//! the `alert` frame at its contact, and then the contact's acknowledgement
//! over WebSocket (which also stops escalation).
//!
//! Contacts come from a pool (child c's contact is pool[c % P]), so one
//! account may get several alerts; it has one socket, and every alert must
//! arrive there exactly once.

use anyhow::bail;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::client::Client;
use super::report::{
    every_second, histogram, merge, peak_rss_mib, record, round, summary, RssSampler,
};
use super::setup::{bounded, id_of, Account, Grant, Setup, SETUP_IN_FLIGHT};
use super::BenchArgs;

use super::alert_contact::{Arrivals, ContactSocket};

/// Sockets being opened at once.
const OPENING: usize = 100;
/// An alert not at its contact this long after the last raise is lost.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(10);
const ACK_DEADLINE: Duration = Duration::from_secs(60);
/// How long the contact sockets sit idle before the first alert.
const SETTLE: Duration = Duration::from_secs(1);

struct Shape {
    children: usize,
    contacts: usize,
    guardians: usize,
    in_flight: usize,
}

impl Shape {
    fn new(args: &BenchArgs) -> Self {
        let children = args.children.unwrap_or(1000).max(1);
        Self {
            children,
            contacts: args.accounts.unwrap_or(100).clamp(1, children),
            guardians: args.guardians.clamp(1, children),
            in_flight: args.posters_or(50),
        }
    }
}

/// One raised alert: child index, alert id, send time (µs since the start).
struct Raised {
    child: usize,
    id: String,
    sent_us: u64,
}

pub async fn run(args: &BenchArgs, client: &Client, admin: &str) -> anyhow::Result<Value> {
    let shape = Shape::new(args);
    eprintln!(
        "setup: {} children, {} contact accounts, {} guardians …",
        shape.children, shape.contacts, shape.guardians
    );
    let setup = Setup::new(client, admin);
    let guardians = setup.accounts("guardian", shape.guardians).await?;
    let pool = setup.accounts("professional", shape.contacts).await?;
    let guardian_of: Vec<Account> = (0..shape.children)
        .map(|c| guardians[c % shape.guardians].clone())
        .collect();
    let kids = setup
        .children(guardian_of.iter().map(|g| g.id.clone()).collect())
        .await?;
    set_contacts(client, &kids, &guardian_of, &pool).await?;

    let arrivals = Arrivals::new()?;
    let sockets = open_contacts(client, &pool, &arrivals).await?;
    // The server still sets a socket up after `ready` (open alerts for a
    // late contact): raising at once would time that, not the alerts.
    tokio::time::sleep(SETTLE).await;
    let rss = RssSampler::start(args.server_pid);
    eprintln!(
        "running: {} alerts, {} in flight …",
        shape.children, shape.in_flight
    );
    let (raised, raise_s, ack) =
        raise_all(client, &kids, &guardian_of, shape.in_flight, &arrivals).await?;
    let contact_of = |c: usize| c % shape.contacts;
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    while arrivals.arrived.load(Ordering::SeqCst) < raised.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut report = tally(&raised, &contact_of, &arrivals)?;

    eprintln!("acknowledging {} alerts over WebSocket …", raised.len());
    let mut todo: Vec<Vec<String>> = vec![Vec::new(); shape.contacts];
    for r in &raised {
        todo[contact_of(r.child)].push(r.id.clone());
    }
    for ((_, tx), list) in sockets.iter().zip(todo) {
        let _ = tx.send(list).await;
    }
    let deadline = Instant::now() + ACK_DEADLINE;
    while arrivals.settled() < raised.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let peak = rss.finish().await;
    for (task, _) in &sockets {
        task.abort();
    }
    merge(&mut report, arrivals.ack_report());
    merge(
        &mut report,
        json!({
            "workload": args.workload,
            "children": shape.children,
            "members": 1,
            "contacts": shape.contacts,
            "guardians": shape.guardians,
            "posters": shape.in_flight,
            "rate": null,
            "posts_acked": raised.len(),
            "elapsed_s": round(raise_s, 3),
            "posts_per_s": (raised.len() as f64 / raise_s).round(),
            "ack_ms": summary(&ack),
            "server_rss_peak_mib": peak,
            "server_rss_hwm_mib": args.server_pid.and_then(peak_rss_mib),
        }),
    );
    Ok(report)
}

/// Child c: its contact becomes an active member, then its only (tier 1)
/// emergency contact.
async fn set_contacts(
    client: &Client,
    kids: &[String],
    guardian_of: &[Account],
    pool: &[Account],
) -> anyhow::Result<()> {
    let jobs: Arc<Vec<Grant>> = Arc::new(
        kids.iter()
            .enumerate()
            .map(|(c, kid)| Grant {
                child: kid.clone(),
                guardian_token: guardian_of[c].token.clone(),
                member: pool[c % pool.len()].id.clone(),
            })
            .collect(),
    );
    let client = client.clone();
    bounded(
        "emergency contacts",
        jobs.len(),
        SETUP_IN_FLIGHT,
        move |c| {
            let (client, jobs) = (client.clone(), jobs.clone());
            async move {
                let g = &jobs[c];
                g.send(&client).await?;
                let path = format!("/api/v1/children/{}/emergency-contacts", g.child);
                let body = json!([{"account_id": g.member, "tier": 1}]);
                let list = client
                    .call(Method::PUT, &path, Some(&g.guardian_token), Some(body))
                    .await?;
                if list.as_array().map(Vec::len) != Some(1) {
                    bail!("emergency contacts of {}: {list}", g.child);
                }
                Ok(())
            }
        },
    )
    .await?;
    Ok(())
}

/// One socket per contact account, read by a [`ContactSocket`] task; the
/// sender hands it the alerts to acknowledge.
async fn open_contacts(
    client: &Client,
    pool: &[Account],
    arrivals: &Arc<Arrivals>,
) -> anyhow::Result<Vec<(tokio::task::JoinHandle<()>, mpsc::Sender<Vec<String>>)>> {
    let tokens: Arc<Vec<String>> = Arc::new(pool.iter().map(|a| a.token.clone()).collect());
    let (client, arrivals) = (client.clone(), arrivals.clone());
    bounded("contact sockets", tokens.len(), OPENING, move |i| {
        let (client, arrivals, tokens) = (client.clone(), arrivals.clone(), tokens.clone());
        async move {
            let (sink, read) = client.socket(&tokens[i]).await?;
            let (tx, rx) = mpsc::channel(1);
            let socket = ContactSocket::new(i, sink, read, arrivals, rx);
            Ok((tokio::spawn(socket.run()), tx))
        }
    })
    .await
}

/// Raises one alert per child, `in_flight` at a time; returns the alerts,
/// the time from the first send to the last answer, and the answers' latency.
async fn raise_all(
    client: &Client,
    kids: &[String],
    guardian_of: &[Account],
    in_flight: usize,
    arrivals: &Arc<Arrivals>,
) -> anyhow::Result<(Vec<Raised>, f64, hdrhistogram::Histogram<u64>)> {
    let ack = Arc::new(std::sync::Mutex::new(histogram()?));
    let jobs: Arc<Vec<(String, String)>> = Arc::new(
        kids.iter()
            .zip(guardian_of)
            .map(|(k, g)| (k.clone(), g.token.clone()))
            .collect(),
    );
    let _progress = {
        let arrivals = arrivals.clone();
        every_second(move || {
            format!(
                "alerts at contacts: {}",
                arrivals.arrived.load(Ordering::SeqCst)
            )
        })
    };
    let start = arrivals.start;
    let first = start.elapsed();
    let raised = {
        let (client, ack) = (client.clone(), ack.clone());
        bounded("alerts raised", jobs.len(), in_flight, move |c| {
            let (client, ack, jobs) = (client.clone(), ack.clone(), jobs.clone());
            async move {
                let (child, token) = &jobs[c];
                let path = format!("/api/v1/children/{child}/alerts");
                let body = json!({"message": format!("ベンチ 緊急 {c}")});
                let t0 = Instant::now();
                let sent_us = start.elapsed().as_micros().max(1) as u64;
                let alert = client
                    .call(Method::POST, &path, Some(token), Some(body))
                    .await?;
                record(&ack, t0.elapsed().as_micros() as u64);
                Ok(Raised {
                    child: c,
                    id: id_of(&alert, "alert")?,
                    sent_us,
                })
            }
        })
        .await?
    };
    let raise_s = (start.elapsed() - first).as_secs_f64();
    let ack = ack
        .lock()
        .map(|h| h.clone())
        .map_err(|_| anyhow::anyhow!("lock"))?;
    Ok((raised, raise_s, ack))
}

/// Delivery figures: each alert must have arrived once, at its contact.
fn tally(
    raised: &[Raised],
    contact_of: &dyn Fn(usize) -> usize,
    arrivals: &Arrivals,
) -> anyhow::Result<Value> {
    let seen = arrivals.snapshot();
    let mut delivery = histogram()?;
    let (mut received, mut duplicates, mut misdelivered) = (0usize, 0usize, 0usize);
    let first_sent = raised.iter().map(|r| r.sent_us).min().unwrap_or(0);
    let mut last_arrival = 0u64;
    for r in raised {
        let at: Vec<u64> = seen
            .get(&r.id)
            .into_iter()
            .flatten()
            .filter_map(|(who, us)| {
                if *who == contact_of(r.child) {
                    Some(*us)
                } else {
                    misdelivered += 1;
                    None
                }
            })
            .collect();
        let Some(first) = at.iter().min().copied() else {
            continue;
        };
        received += 1;
        duplicates += at.len() - 1;
        last_arrival = last_arrival.max(first);
        let _ = delivery.record(first.saturating_sub(r.sent_us).max(1));
    }
    let known: HashMap<&str, ()> = raised.iter().map(|r| (r.id.as_str(), ())).collect();
    let unexpected: usize = seen
        .iter()
        .filter(|(id, _)| !known.contains_key(id.as_str()))
        .map(|(_, v)| v.len())
        .sum();
    let reach_all = (received == raised.len() && received > 0)
        .then(|| round(last_arrival.saturating_sub(first_sent) as f64 / 1000.0, 3));
    Ok(json!({
        "delivery_ms": summary(&delivery),
        "reach_all_ms": reach_all,
        "deliveries_expected": raised.len(),
        "deliveries_received": received,
        "lost": raised.len() - received,
        "duplicates": duplicates,
        "misdelivered": misdelivered,
        "unexpected_alerts": unexpected,
    }))
}
