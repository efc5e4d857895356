//! Posting entries over WebSocket and timing their deliveries: shared by the
//! fan-out and connections workloads. Every post's `client_id` is `b<n>`,
//! where n indexes the post's send time, so a subscriber times a delivery
//! from the client_id alone, without parsing the whole frame.

use anyhow::{anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

use super::client::{WsRead, WsSink};
use super::report::{every_second, histogram, record, summary_of, Progress, RssSampler};

/// A post not acknowledged by then means the server is stuck: the run fails.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared between posters and subscribers.
pub struct Shared {
    pub start: Instant,
    /// Send time of post n, in µs since `start` (0 = not sent yet).
    sent_us: Vec<AtomicU64>,
    /// Next post number (the fan-out workloads' shared budget of posts).
    next: AtomicUsize,
    pub acked: AtomicUsize,
    pub received: AtomicUsize,
    duplicates: AtomicUsize,
    /// Subscriber sockets that ended, by close code (or how they ended).
    closes: Mutex<BTreeMap<String, usize>>,
    /// `error` frames seen by subscribers.
    errors: AtomicUsize,
    delivery: Mutex<Histogram<u64>>,
    ack: Mutex<Histogram<u64>>,
}

impl Shared {
    /// Room for `posts` posts at most.
    pub fn new(posts: usize) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            start: Instant::now(),
            sent_us: (0..posts).map(|_| AtomicU64::new(0)).collect(),
            next: AtomicUsize::new(0),
            acked: AtomicUsize::new(0),
            received: AtomicUsize::new(0),
            duplicates: AtomicUsize::new(0),
            closes: Mutex::new(BTreeMap::new()),
            errors: AtomicUsize::new(0),
            delivery: Mutex::new(histogram()?),
            ack: Mutex::new(histogram()?),
        }))
    }

    /// Waits (at most `limit`) until `expected` deliveries have arrived.
    pub async fn wait_received(&self, expected: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.received.load(Ordering::SeqCst) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The report keys this measures, given the deliveries expected.
    pub fn report(&self, expected: usize) -> Value {
        let received = self.received.load(Ordering::SeqCst);
        let closes = self.closes.lock().map(|c| json!(*c)).unwrap_or(Value::Null);
        json!({
            "posts_acked": self.acked.load(Ordering::SeqCst),
            "ack_ms": summary_of(&self.ack),
            "delivery_ms": summary_of(&self.delivery),
            "deliveries_expected": expected,
            "deliveries_received": received,
            "lost": expected.saturating_sub(received),
            "duplicates": self.duplicates.load(Ordering::SeqCst),
            "subscriber_closes": closes,
            "subscriber_error_frames": self.errors.load(Ordering::SeqCst),
        })
    }

    fn note_close(&self, how: String) {
        if let Ok(mut c) = self.closes.lock() {
            *c.entry(how).or_default() += 1;
        }
    }
}

/// Runs the posters from now on; returns the deliveries expected (every
/// acknowledged post reaches `per_child` sockets) and the posting time in s.
pub async fn run_posters(
    posters: Vec<Poster>,
    shared: &Arc<Shared>,
    per_child: usize,
) -> anyhow::Result<(usize, f64)> {
    let start = Instant::now();
    let tasks: Vec<_> = posters
        .into_iter()
        .map(|p| tokio::spawn(p.run(shared.clone(), start)))
        .collect();
    let mut expected = 0;
    for task in tasks {
        let acked = task.await.map_err(|e| anyhow!("poster: {e}"))??;
        expected += acked.iter().sum::<usize>() * per_child;
    }
    Ok((expected, start.elapsed().as_secs_f64()))
}

/// What a posting phase ends with.
pub struct Settled {
    /// The common report keys (`Shared::report`).
    pub report: Value,
    pub acked: f64,
    /// Posting time in s.
    pub elapsed: f64,
    pub rss_peak: Option<f64>,
}

/// Runs the posters, lets the last deliveries arrive (up to 10 s), then
/// stops the RSS sampler and the subscribers.
pub async fn post_and_settle<T>(
    posters: Vec<Poster>,
    shared: &Arc<Shared>,
    per_child: usize,
    rss: RssSampler,
    subscribers: &[tokio::task::JoinHandle<T>],
) -> anyhow::Result<Settled> {
    let (expected, elapsed) = run_posters(posters, shared, per_child).await?;
    shared
        .wait_received(expected, Duration::from_secs(10))
        .await;
    let rss_peak = rss.finish().await;
    for s in subscribers {
        s.abort();
    }
    let report = shared.report(expected);
    let acked = report["posts_acked"].as_u64().unwrap_or(0) as f64;
    Ok(Settled {
        report,
        acked,
        elapsed,
        rss_peak,
    })
}

/// Prints posting progress every second (until dropped).
pub fn progress(shared: &Arc<Shared>, total: usize) -> Progress {
    let shared = shared.clone();
    every_second(move || {
        format!(
            "{:>6.1} s  acked {}/{total}  delivered {}",
            shared.start.elapsed().as_secs_f64(),
            shared.acked.load(Ordering::SeqCst),
            shared.received.load(Ordering::SeqCst)
        )
    })
}

/// When a poster posts.
#[derive(Clone, Copy)]
pub enum Pace {
    /// Post numbers come from the shared budget (all posters together make
    /// `Shared::new`'s count); post n is due at n / rate, or at once.
    Budget { rate: Option<f64> },
    /// This poster's own schedule: its k-th post is due at k / rate after
    /// the start, for k / rate < `for_s`. A poster whose acknowledgements
    /// come late falls behind and then posts back to back: the planned count
    /// stays, and the achieved rate shows in the elapsed time.
    Own { rate: f64, for_s: f64 },
}

/// One poster: a guardian socket and the children it posts to, round robin.
pub struct Poster {
    pub sink: WsSink,
    pub read: WsRead,
    pub children: Vec<String>,
    pub pace: Pace,
}

impl Poster {
    /// Posts until the pace says stop; returns the posts acknowledged per
    /// child (in `children` order).
    pub async fn run(mut self, shared: Arc<Shared>, start: Instant) -> anyhow::Result<Vec<usize>> {
        let mut acked = vec![0usize; self.children.len()];
        if self.children.is_empty() {
            return Ok(acked);
        }
        for k in 0usize.. {
            let (n, due) = match self.pace {
                Pace::Budget { rate } => {
                    let n = shared.next.fetch_add(1, Ordering::SeqCst);
                    (n, rate.map(|r| n as f64 / r))
                }
                Pace::Own { rate, for_s } => {
                    let at = k as f64 / rate;
                    if at >= for_s {
                        break;
                    }
                    (shared.next.fetch_add(1, Ordering::SeqCst), Some(at))
                }
            };
            if n >= shared.sent_us.len() {
                break;
            }
            if let Some(s) = due {
                tokio::time::sleep_until((start + Duration::from_secs_f64(s)).into()).await;
            }
            let slot = k % self.children.len();
            self.post(&shared, n, slot).await?;
            acked[slot] += 1;
        }
        Ok(acked)
    }

    async fn post(&mut self, shared: &Shared, n: usize, slot: usize) -> anyhow::Result<()> {
        let reference = n.to_string();
        let frame = json!({"type": "post", "ref": &reference, "child_id": self.children[slot],
                           "client_id": format!("b{n}"), "category": "health", "kind": "note",
                           "body": {"text": format!("ベンチマークの記録 {n}")}});
        let t0 = Instant::now();
        if let Some(slot) = shared.sent_us.get(n) {
            slot.store(
                shared.start.elapsed().as_micros().max(1) as u64,
                Ordering::SeqCst,
            );
        }
        self.sink
            .send(Message::Text(frame.to_string().into()))
            .await?;
        tokio::time::timeout(ACK_TIMEOUT, self.wait_posted(&reference, n))
            .await
            .map_err(|_| anyhow!("post {n}: no answer within {ACK_TIMEOUT:?}"))??;
        record(&shared.ack, t0.elapsed().as_micros() as u64);
        shared.acked.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn wait_posted(&mut self, reference: &str, n: usize) -> anyhow::Result<()> {
        loop {
            let msg = self
                .read
                .next()
                .await
                .ok_or_else(|| anyhow!("poster socket closed"))??;
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t)?;
            match v["type"].as_str() {
                Some("posted") if v["ref"].as_str() == Some(reference) => return Ok(()),
                Some("error") => bail!("post {n}: {} {}", v["code"], v["message"]),
                _ => {}
            }
        }
    }
}

/// A subscriber: records the delivery latency of every entry it receives,
/// and how its socket ended if it does.
pub async fn receive(mut read: WsRead, shared: Arc<Shared>) {
    let mut seen = HashSet::new();
    while let Some(msg) = read.next().await {
        let t = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(frame)) => {
                let code = frame.map(|f| u16::from(f.code).to_string());
                shared.note_close(code.unwrap_or_else(|| "close without code".into()));
                return;
            }
            Ok(_) => continue,
            Err(e) => {
                shared.note_close(format!("error: {e}"));
                return;
            }
        };
        let now = shared.start.elapsed().as_micros() as u64;
        // Only the client_id is needed: no full parse on the hot path.
        let Some(n) = t
            .split("\"client_id\":\"b")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|s| s.parse::<usize>().ok())
        else {
            if t.contains("\"type\":\"error\"") {
                shared.errors.fetch_add(1, Ordering::SeqCst);
            }
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
            record(&shared.delivery, now.saturating_sub(sent));
        }
        shared.received.fetch_add(1, Ordering::SeqCst);
    }
    shared.note_close("ended without close".into());
}
