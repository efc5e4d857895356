//! `renraku bench`: a load generator that speaks the real protocol (HTTPS
//! and WSS) to a running server. It creates its own accounts, children and
//! memberships through the API, opens subscriber sockets, posts over
//! WebSocket and measures, for every delivered entry, the time from the
//! post's send to its arrival at each subscriber, plus acknowledgement
//! latency, throughput, lost and duplicate deliveries and the server's peak
//! RSS. Progress goes to stderr; a table and a JSON report at the end.

mod client;
mod report;
mod workload;

use clap::Args;
use std::path::PathBuf;

pub use workload::run;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Server base URL, e.g. https://127.0.0.1:8443
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub admin_login: String,
    #[arg(long, env = "RENRAKU_BENCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: String,
    /// fanout-small (20 children × 5 members) or fanout-wide (5 × 20).
    #[arg(long, default_value = "fanout-small")]
    pub workload: String,
    /// Write the JSON report here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Accept the server's self-signed certificate.
    #[arg(long)]
    pub insecure_tls: bool,
    /// Server pid, to report its peak RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Number of children (default by workload).
    #[arg(long)]
    pub children: Option<usize>,
    /// Members subscribed per child (default by workload).
    #[arg(long)]
    pub members: Option<usize>,
    /// Posts in all.
    #[arg(long, default_value_t = 2000)]
    pub posts: usize,
    /// Concurrent posters (each waits for its acknowledgement).
    #[arg(long, default_value_t = 10)]
    pub posters: usize,
    /// Total posts per second (default: as fast as acknowledgements allow).
    #[arg(long)]
    pub rate: Option<f64>,
}
