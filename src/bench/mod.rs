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
//! sockets, then a steady posting rate, [`connections`]) and `alerts`
//! (emergency alerts to online contacts, [`alerts`]).

mod alert_contact;
mod alerts;
mod client;
mod connections;
mod entries;
mod fanout;
mod report;
mod setup;

use anyhow::{bail, Context};
use clap::Args;
use std::path::PathBuf;

use client::Client;

/// Every workload `--workload` accepts (the error for an unknown name lists them).
const WORKLOADS: &[&str] = &["fanout-small", "fanout-wide", "connections", "alerts"];

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Server base URL, e.g. https://127.0.0.1:8443. Repeat it for the nodes
    /// of one PostgreSQL-backed server: set-up and alert raises go to the
    /// first, sockets are spread over all of them (round robin).
    #[arg(long, required = true)]
    pub url: Vec<String>,
    #[arg(long)]
    pub admin_login: String,
    #[arg(long, env = "RENRAKU_BENCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: String,
    /// fanout-small (20 children × 5 members), fanout-wide (5 × 20),
    /// connections (10,000 idle subscribed sockets, then --rate posts/s for
    /// --duration s) or alerts (one alert per child to its online contact).
    #[arg(long, default_value = "fanout-small")]
    pub workload: String,
    /// Write the JSON report here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Accept the server's self-signed certificate.
    #[arg(long)]
    pub insecure_tls: bool,
    /// Server pid, to report its RSS (idle and peak); with several --url,
    /// the first node's.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Number of children (default by workload: 20, 5, 1000; alerts: 1000,
    /// one contact and one alert each).
    #[arg(long)]
    pub children: Option<usize>,
    /// Members per child (fan-out: 5 or 20, each its own account;
    /// connections: 5 from the account pool, sharing the child's sockets).
    #[arg(long)]
    pub members: Option<usize>,
    /// Posts in all (fan-out workloads).
    #[arg(long, default_value_t = 2000)]
    pub posts: usize,
    /// Concurrent posters, each waiting for its acknowledgement (default 10
    /// for fan-out, 50 for connections); alerts: raises in flight (default 50).
    #[arg(long)]
    pub posters: Option<usize>,
    /// Total posts per second (fan-out default: as fast as acknowledgements
    /// allow; connections default: 1000).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Authenticated subscribed sockets in all (connections; default 10000),
    /// spread evenly over the children.
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seconds of posting at --rate (connections).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Professional accounts in the pool the members or contacts are drawn
    /// from (connections, alerts; default 100): creating an account costs
    /// the server two password hashes, so they are shared between children.
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Guardian accounts in the pool (connections, alerts); child c's
    /// guardian is guardians[c % G].
    #[arg(long, default_value_t = 20)]
    pub guardians: usize,
}

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
