//! The `search` workload: one notebook of `--posts` entries (default 5,000
//! here) posted by its guardian over HTTP, a tenth of them corrected once;
//! then `--duration`-bounded rounds of searches by the guardian (who sees
//! every entry, so every one is opened: the worst case), timed per query
//! kind: a word in most entries, a word in a few, a word in none, and a
//! full-width form of a half-width word.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use super::client::Client;
use super::report::{histogram, merge, peak_rss_mib, round, RssSampler};
use super::setup::{bounded, Setup};
use super::BenchArgs;

const POSTING: usize = 8;
const CATEGORIES: [&str; 4] = ["medical", "education", "family", "health"];
const PHRASES: [&str; 6] = [
    "朝の血糖は {n} mg/dL、インスリン {k} 単位を注射しました。",
    "給食は完食。体育は見学しました（{n} 分）。",
    "夜間の吸引は {k} 回、SpO2 は {n}% 前後でした。",
    "来週の受診で、補食の量を相談する予定です。記録番号 {n}。",
    "学習の遅れを取り戻すため、放課後に {k} 時間の補習をしました。",
    "School nurse note {n}: snack given at {k} pm, glucose rechecked.",
];

/// (label, query): what each round searches for.
const QUERIES: [(&str, &str); 4] = [
    ("common", "インスリン"),
    ("rare", "記録番号 42"),
    ("none", "存在しない言葉"),
    ("fullwidth", "ＳＣＨＯＯＬ ＮＵＲＳＥ"),
];

fn text(i: usize) -> String {
    PHRASES[i % PHRASES.len()]
        .replace("{n}", &(i % 997).to_string())
        .replace("{k}", &(i % 7 + 1).to_string())
}

pub async fn run(args: &BenchArgs, client: &Client, admin: &str) -> anyhow::Result<Value> {
    let entries = args.posts.max(1);
    let rounds = args.posters_or(50);
    let setup = Setup::new(client, admin);
    let guardian = setup
        .accounts("guardian", 1)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no guardian account"))?;
    let child = setup
        .children(vec![guardian.id.clone()])
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no child"))?;
    eprintln!("setup: {entries} entries in one notebook …");
    let (c, token, kid) = (
        client.clone(),
        Arc::new(guardian.token.clone()),
        Arc::new(child.clone()),
    );
    let ids = bounded("entries", entries, POSTING, move |i| {
        let (client, token, kid) = (c.clone(), token.clone(), kid.clone());
        async move {
            let body = json!({"client_id": format!("search-bench-{i}"),
                "category": CATEGORIES[i % CATEGORIES.len()], "kind": "note", "body": {"text": text(i)}});
            let v = client
                .call(
                    Method::POST,
                    &format!("/api/v1/children/{kid}/entries"),
                    Some(&token),
                    Some(body),
                )
                .await?;
            Ok(v["id"].as_str().unwrap_or_default().to_owned())
        }
    })
    .await?;
    let (c, token, kid) = (
        client.clone(),
        Arc::new(guardian.token.clone()),
        Arc::new(child.clone()),
    );
    let ids = Arc::new(ids);
    bounded("corrections", entries / 10, POSTING, move |i| {
        let (client, token, kid, ids) = (c.clone(), token.clone(), kid.clone(), ids.clone());
        async move {
            let id = &ids[i * 10];
            client
                .call(
                    Method::POST,
                    &format!("/api/v1/children/{kid}/entries/{id}/revisions"),
                    Some(&token),
                    Some(json!({"body": {"text": format!("訂正 {}", text(i * 10 + 1))}, "reason": "bench"})),
                )
                .await?;
            Ok(())
        }
    })
    .await?;

    eprintln!("running: {rounds} rounds of {} searches …", QUERIES.len());
    let rss = RssSampler::start(args.server_pid);
    let mut all = histogram()?;
    let mut per: Vec<_> = QUERIES
        .iter()
        .map(|_| histogram())
        .collect::<anyhow::Result<_>>()?;
    let mut hits = vec![0usize; QUERIES.len()];
    for _ in 0..rounds {
        for (k, (_, q)) in QUERIES.iter().enumerate() {
            let path = format!("/api/v1/children/{child}/search?q={}", url_encode(q));
            let t0 = Instant::now();
            let v = client
                .call(Method::GET, &path, Some(&guardian.token), None)
                .await?;
            let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
            all.record(us.max(1))?;
            per[k].record(us.max(1))?;
            hits[k] = v["entries"].as_array().map_or(0, Vec::len);
        }
    }
    let peak = rss.finish().await;
    let mut report = json!({
        "workload": args.workload,
        "entries": entries,
        "corrections": entries / 10,
        "searches": rounds * QUERIES.len(),
        "search_ms": quantiles(&all),
        "server_rss_peak_mib": peak,
        "server_rss_hwm_mib": args.server_pid.and_then(peak_rss_mib),
    });
    for (k, (label, _)) in QUERIES.iter().enumerate() {
        merge(
            &mut report,
            json!({ format!("search_{label}_ms"): quantiles(&per[k]), format!("search_{label}_hits"): hits[k] }),
        );
    }
    Ok(report)
}

/// `{p50, p90, p95, p99, max}` in ms (the target is the p95).
fn quantiles(h: &hdrhistogram::Histogram<u64>) -> Value {
    let ms = |us: u64| round(us as f64 / 1000.0, 2);
    json!({
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p95": ms(h.value_at_quantile(0.95)),
        "p99": ms(h.value_at_quantile(0.99)),
        "max": ms(h.max()),
    })
}

fn url_encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
