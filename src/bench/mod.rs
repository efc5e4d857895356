//! `renraku bench`: a load generator that speaks the real protocol (HTTPS
//! and WSS) to a running server. It creates its own accounts, children and
//! memberships through the API, opens sockets, posts over WebSocket (or
//! raises alerts over HTTP) and measures, for every delivery, the time from
//! the request's send to its arrival at each recipient, plus
//! acknowledgement latency, throughput, lost and duplicate deliveries and
//! the server's RSS. Progress goes to stderr; a table and a JSON report at
//! the end.
//!
//! Workloads: `fanout-small` and `fanout-wide` (posting throughput and
//! fan-out latency, [`fanout`]), `connections` (many idle subscribed
//! sockets, then a steady posting rate, [`connections`]), `alerts`
//! (emergency alerts to online contacts, [`alerts`]) and `login-flood`
//! (thousands of concurrent bad logins while the rightful user logs in,
//! [`login_flood`]) and `attachments` (upload and download throughput
//! against the disk's own speed, memory under concurrent uploads,
//! [`attachments`]).

mod alert_contact;
mod alerts;
mod attachments;
mod client;
mod connections;
mod entries;
mod fanout;
mod login_flood;
mod report;
mod search;
mod setup;

use anyhow::{bail, Context};

pub use crate::config::BenchArgs;
use client::Client;

/// Every workload `--workload` accepts (the error for an unknown name lists them).
const WORKLOADS: &[&str] = &[
    "fanout-small",
    "fanout-wide",
    "connections",
    "alerts",
    "login-flood",
    "search",
    "attachments",
];

impl BenchArgs {
    /// `--posters`, or the workload's default.
    fn posters_or(&self, default: usize) -> usize {
        self.posters.unwrap_or(default).max(1)
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    // Checked before anything is created on the server.
    if !WORKLOADS.contains(&args.workload.as_str()) {
        bail!(
            "unknown workload {:?}: use one of {}",
            args.workload,
            WORKLOADS.join(", ")
        );
    }
    if args.workload == "connections" {
        connections::preflight(&args)?;
    }
    let client = Client::new(&args.url, args.insecure_tls)?;
    let (admin, _) = client
        .login(&args.admin_login, &args.admin_password)
        .await
        .context("admin login")?;
    let mut report = match args.workload.as_str() {
        "fanout-small" => fanout::run(&args, &client, &admin, 20, 5).await?,
        "fanout-wide" => fanout::run(&args, &client, &admin, 5, 20).await?,
        "connections" => connections::run(&args, &client, &admin).await?,
        "alerts" => alerts::run(&args, &client, &admin).await?,
        "login-flood" => login_flood::run(&args, &client, &admin).await?,
        "search" => search::run(&args, &client, &admin).await?,
        "attachments" => attachments::run(&args, &client, &admin).await?,
        other => bail!("unknown workload {other:?}"),
    };
    report::merge(
        &mut report,
        serde_json::json!({
            "nodes": args.url.len(),
            "sockets_per_node": client.sockets_per_node(),
        }),
    );
    report::print_table(&report);
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(path) = &args.json {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
