//! The connections workload: many authenticated sockets, each subscribed to
//! one child, idle (time to open them all, server RSS once idle); then a
//! steady posting rate across the children, every delivery at every socket
//! timed.
//!
//! Accounts are expensive (two password hashes each), so members come from
//! a pool of professional accounts: child c gets members
//! pool[(c·M + j) % P], j < M, and its sockets are spread over them (an
//! access token may open many sockets). Guardians come from a small pool
//! too; each poster is one guardian socket posting round robin to children
//! of that guardian.

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::Client;
use super::entries::{post_and_settle, progress, receive, Pace, Poster, Settled, Shared};
use super::report::{
    histogram, merge, peak_rss_mib, record, round, rss_mib, summary_of, RssSampler,
};
use super::setup::{bounded, check_fd_limit, Account, Grant, Setup};
use super::BenchArgs;

/// Sockets being opened at once.
const OPENING: usize = 100;
/// Files the bench needs besides its sockets (HTTP pool, stdio, runtime).
const FD_MARGIN: u64 = 256;
/// How long the sockets sit idle before the server's RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

/// Who is where: derived from the flags alone.
struct Shape {
    children: usize,
    per_child: usize,
    members: usize,
    accounts: usize,
    guardians: usize,
    posters: usize,
}

impl Shape {
    fn new(args: &BenchArgs) -> Self {
        let connections = args.connections.unwrap_or(10_000).max(1);
        let children = args.children.unwrap_or(1000).clamp(1, connections);
        let per_child = connections / children;
        let members = args.members.unwrap_or(5).clamp(1, per_child);
        let posters = args.posters_or(50).min(children);
        Self {
            children,
            per_child,
            members,
            // Members of one child must be distinct accounts.
            accounts: args.accounts.unwrap_or(100).max(members),
            // Every guardian needs a poster of its own.
            guardians: args.guardians.clamp(1, posters),
            posters,
        }
    }

    fn sockets(&self) -> usize {
        self.children * self.per_child
    }

    /// Pool index of member j of child c.
    fn member(&self, c: usize, j: usize) -> usize {
        (c * self.members + j) % self.accounts
    }

    /// The children poster p posts to: poster p speaks for guardian
    /// p % G, and that guardian's children are dealt out among its posters.
    fn poster_children(&self, p: usize) -> Vec<usize> {
        let g = self.guardians;
        let mine = p % g;
        let of_guardian = (self.posters - mine).div_ceil(g);
        (mine..self.children)
            .step_by(g)
            .filter(|c| (c / g) % of_guardian == p / g)
            .collect()
    }
}

/// Checks what can be checked before touching the server: the open-files limit.
pub fn preflight(args: &BenchArgs) -> anyhow::Result<()> {
    let shape = Shape::new(args);
    check_fd_limit((shape.sockets() + shape.posters) as u64 + FD_MARGIN)
}

pub async fn run(args: &BenchArgs, client: &Client, admin: &str) -> anyhow::Result<Value> {
    let shape = Shape::new(args);
    let rate = args.rate.unwrap_or(1000.0).max(0.001);
    eprintln!(
        "setup: {} children × {} sockets ({} members each, from {} accounts), {} guardians …",
        shape.children, shape.per_child, shape.members, shape.accounts, shape.guardians
    );
    let (guardians, pool, kids) = populate(&shape, &Setup::new(client, admin)).await?;
    let plan: Vec<(Vec<usize>, f64)> = (0..shape.posters)
        .map(|p| {
            let mine = shape.poster_children(p);
            let share = rate * mine.len() as f64 / shape.children as f64;
            (mine, share)
        })
        .collect();
    let planned: usize = plan
        .iter()
        .map(|(_, share)| (share * args.duration).ceil() as usize)
        .sum();
    // Slack for rounding: a poster never posts past its own schedule anyway.
    let shared = Shared::new(planned + shape.posters)?;

    let rss = RssSampler::start(args.server_pid);
    let open_start = Instant::now();
    let timing = Arc::new(OpenTiming {
        ready: Mutex::new(histogram()?),
        subscribed: Mutex::new(histogram()?),
    });
    let subscribers = open_subscribers(client, &shape, &pool, &kids, &shared, &timing).await?;
    let connect_s = open_start.elapsed().as_secs_f64();
    eprintln!(
        "setup: {} sockets open and subscribed in {connect_s:.1} s; idle …",
        shape.sockets()
    );
    tokio::time::sleep(SETTLE).await;
    let idle = args.server_pid.and_then(rss_mib).map(|m| round(m, 1));

    eprintln!(
        "running: {rate} posts/s for {} s ({planned} posts), {} posters …",
        args.duration, shape.posters
    );
    let _progress = progress(&shared, planned);
    let mut posters = Vec::new();
    for (p, (mine, share)) in plan.iter().enumerate() {
        let (sink, read) = client.socket(&guardians[p % shape.guardians].token).await?;
        posters.push(Poster {
            sink,
            read,
            children: mine.iter().map(|c| kids[*c].clone()).collect(),
            pace: Pace::Own {
                rate: *share,
                for_s: args.duration,
            },
        });
    }
    // Every socket of a child gets every post to it.
    let Settled {
        mut report,
        acked,
        elapsed,
        rss_peak: peak,
    } = post_and_settle(posters, &shared, shape.per_child, rss, &subscribers).await?;
    merge(
        &mut report,
        json!({
            "workload": args.workload,
            "children": shape.children,
            "members": shape.members,
            "sockets": shape.sockets(),
            "sockets_per_child": shape.per_child,
            "accounts": shape.accounts,
            "guardians": shape.guardians,
            "posters": shape.posters,
            "rate": rate,
            "duration_s": args.duration,
            "posts_planned": planned,
            "elapsed_s": round(elapsed, 3),
            // Over the planned window at least: the last post is due just
            // before its end, so the elapsed time alone would flatter the rate.
            "posts_per_s": (acked / elapsed.max(args.duration)).round(),
            "connect_s": round(connect_s, 3),
            "socket_ready_ms": summary_of(&timing.ready),
            "subscribe_ms": summary_of(&timing.subscribed),
            "server_rss_idle_mib": idle,
            "server_rss_peak_mib": peak,
            "server_rss_hwm_mib": args.server_pid.and_then(peak_rss_mib),
        }),
    );
    Ok(report)
}

/// Guardians, the professional pool and the children, members granted.
async fn populate(
    shape: &Shape,
    setup: &Setup,
) -> anyhow::Result<(Vec<Account>, Vec<Account>, Vec<String>)> {
    let guardians = setup.accounts("guardian", shape.guardians).await?;
    let pool = setup.accounts("professional", shape.accounts).await?;
    let kids = setup
        .children(
            (0..shape.children)
                .map(|c| guardians[c % shape.guardians].id.clone())
                .collect(),
        )
        .await?;
    let grants = (0..shape.children * shape.members)
        .map(|i| {
            let c = i / shape.members;
            Grant {
                child: kids[c].clone(),
                guardian_token: guardians[c % shape.guardians].token.clone(),
                member: pool[shape.member(c, i % shape.members)].id.clone(),
            }
        })
        .collect();
    setup.grant(grants).await?;
    Ok((guardians, pool, kids))
}

/// How long sockets took to open: until `ready`, then to `subscribed`.
struct OpenTiming {
    ready: Mutex<Histogram<u64>>,
    subscribed: Mutex<Histogram<u64>>,
}

/// Opens every subscriber socket (at most [`OPENING`] at a time) and hands
/// each to a receiving task.
async fn open_subscribers(
    client: &Client,
    shape: &Shape,
    pool: &[Account],
    kids: &[String],
    shared: &Arc<Shared>,
    timing: &Arc<OpenTiming>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    // Socket i: child i / per_child, member (i % per_child) % M of that child.
    let who: Arc<Vec<(String, String)>> = Arc::new(
        (0..shape.sockets())
            .map(|i| {
                let (c, s) = (i / shape.per_child, i % shape.per_child);
                let member = &pool[shape.member(c, s % shape.members)];
                (member.token.clone(), kids[c].clone())
            })
            .collect(),
    );
    let (client, shared, timing) = (client.clone(), shared.clone(), timing.clone());
    bounded("sockets open", who.len(), OPENING, move |i| {
        let (client, shared, who) = (client.clone(), shared.clone(), who.clone());
        let timing = timing.clone();
        async move {
            let (token, child) = &who[i];
            let socket = client.subscribed(token, child).await?;
            record(&timing.ready, socket.ready.as_micros() as u64);
            record(&timing.subscribed, socket.subscribed.as_micros() as u64);
            Ok(tokio::spawn(async move {
                let _keep = socket.sink;
                receive(socket.read, shared).await
            }))
        }
    })
    .await
}
