//! The fan-out workloads: children with their own guardian and member
//! accounts, every member subscribed; posters (guardian sockets, one child
//! each) share a budget of `--posts`, as fast as acknowledgements allow or
//! at `--rate`; every delivery at every member is timed.

use serde_json::{json, Value};
use std::sync::Arc;

use super::client::Client;
use super::entries::{post_and_settle, progress, receive, Pace, Poster, Settled, Shared};
use super::report::{cpu_ticks, merge, peak_rss_mib, round, RssSampler};
use super::setup::{bounded, Grant, Setup};
use super::BenchArgs;

/// Sockets being opened at once.
const OPENING: usize = 100;

pub async fn run(
    args: &BenchArgs,
    client: &Client,
    admin: &str,
    children: usize,
    members: usize,
) -> anyhow::Result<Value> {
    let children = args.children.unwrap_or(children).max(1);
    let members = args.members.unwrap_or(members).max(1);
    let posters = args.posters_or(10);
    eprintln!("setup: {children} children × {members} members …");
    let setup = Setup::new(client, admin);
    let guardians = setup.accounts("guardian", children).await?;
    let people = setup.accounts("professional", children * members).await?;
    let kids = setup
        .children(guardians.iter().map(|g| g.id.clone()).collect())
        .await?;
    let grants = (0..children * members)
        .map(|i| Grant {
            child: kids[i / members].clone(),
            guardian_token: guardians[i / members].token.clone(),
            member: people[i].id.clone(),
        })
        .collect();
    setup.grant(grants).await?;

    eprintln!("setup: opening {} subscriber sockets …", children * members);
    let shared = Shared::new(args.posts)?;
    let (people, kids_arc) = (Arc::new(people), Arc::new(kids.clone()));
    let subscribers = {
        let (client, shared) = (client.clone(), shared.clone());
        bounded("subscribers", children * members, OPENING, move |i| {
            let (client, shared) = (client.clone(), shared.clone());
            let (people, kids) = (people.clone(), kids_arc.clone());
            async move {
                let socket = client
                    .subscribed(&people[i].token, &kids[i / members])
                    .await?;
                Ok(tokio::spawn(async move {
                    let _keep = socket.sink;
                    receive(socket.read, shared).await
                }))
            }
        })
        .await?
    };

    eprintln!("running: {} posts, {posters} posters …", args.posts);
    let rss = RssSampler::start(args.server_pid);
    let _progress = progress(&shared, args.posts);
    let mut list = Vec::new();
    for p in 0..posters {
        let c = p % children;
        let (sink, read) = client.socket(&guardians[c].token).await?;
        list.push(Poster {
            sink,
            read,
            children: vec![kids[c].clone()],
            pace: Pace::Budget { rate: args.rate },
        });
    }
    // Each poster posts to one child, whose every member gets every post.
    let cpu_before = args.server_pid.and_then(cpu_ticks);
    let Settled {
        mut report,
        acked,
        elapsed,
        rss_peak: peak,
    } = post_and_settle(list, &shared, members, rss, &subscribers).await?;
    // The server's CPU for posting and delivering, per post: less moved than
    // the throughput by whatever else the shared host runs.
    let cpu_per_post = match (cpu_before, args.server_pid.and_then(cpu_ticks)) {
        (Some(a), Some(b)) if acked > 0.0 => {
            Some(round(b.saturating_sub(a) as f64 * 10_000.0 / acked, 1))
        }
        _ => None,
    };
    let own = json!({
        "workload": args.workload,
        "children": children,
        "members": members,
        "posters": posters,
        "rate": args.rate,
        "elapsed_s": round(elapsed, 3),
        "posts_per_s": (acked / elapsed).round(),
        "server_rss_peak_mib": peak,
        "server_rss_hwm_mib": args.server_pid.and_then(peak_rss_mib),
        "server_cpu_us_per_post": cpu_per_post,
    });
    merge(&mut report, own);
    Ok(report)
}
