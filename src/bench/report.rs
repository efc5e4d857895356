//! Latency histograms, server memory, progress lines and the final report
//! (table and JSON).

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Microsecond histogram, 1 µs .. 60 s, 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// Records `us` (at least 1 µs, the histogram's lower bound).
pub fn record(h: &Mutex<Histogram<u64>>, us: u64) {
    if let Ok(mut h) = h.lock() {
        let _ = h.record(us.max(1));
    }
}

/// `{p50, p90, p99, max}` in milliseconds.
pub fn summary(h: &Histogram<u64>) -> Value {
    let ms = |v: u64| (v as f64 / 1000.0 * 1000.0).round() / 1000.0;
    if h.is_empty() {
        return json!({"p50": null, "p90": null, "p99": null, "max": null});
    }
    json!({
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p99": ms(h.value_at_quantile(0.99)),
        "max": ms(h.max()),
    })
}

/// [`summary`] of a shared histogram.
pub fn summary_of(h: &Mutex<Histogram<u64>>) -> Value {
    match h.lock() {
        Ok(h) => summary(&h),
        Err(_) => Value::Null,
    }
}

/// Rounded to `digits` decimals, for readable reports.
pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Adds `extra`'s keys to `report` (both JSON objects).
pub fn merge(report: &mut Value, extra: Value) {
    if let (Some(r), Value::Object(e)) = (report.as_object_mut(), extra) {
        r.extend(e);
    }
}

/// Keys every workload reports, printed first and in this order.
const COMMON: &[&str] = &[
    "workload",
    "children",
    "members",
    "posters",
    "rate",
    "posts_acked",
    "elapsed_s",
    "posts_per_s",
    "ack_ms",
    "delivery_ms",
    "deliveries_expected",
    "deliveries_received",
    "lost",
    "duplicates",
    "server_rss_peak_mib",
];

pub fn print_table(r: &Value) {
    println!();
    println!("workload       {}", r["workload"]);
    // The posting workloads' figures (others, such as attachments, have none).
    if !r["posts_acked"].is_null() {
        println!(
            "shape          {} children × {} members, {} posters, rate {}",
            r["children"], r["members"], r["posters"], r["rate"]
        );
        println!(
            "posts acked    {} in {} s = {} posts/s",
            r["posts_acked"], r["elapsed_s"], r["posts_per_s"]
        );
        row("ack", &r["ack_ms"]);
        row("delivery", &r["delivery_ms"]);
        println!(
            "deliveries     expected {}  received {}  lost {}  duplicates {}",
            r["deliveries_expected"], r["deliveries_received"], r["lost"], r["duplicates"]
        );
    }
    if !r["server_rss_peak_mib"].is_null() {
        println!("server RSS     peak {} MiB", r["server_rss_peak_mib"]);
    }
    // The workload's own keys, so that a new figure is never only in the JSON.
    if let Some(map) = r.as_object() {
        for (key, v) in map.iter().filter(|(k, _)| !COMMON.contains(&k.as_str())) {
            if v.get("p50").is_some() {
                row(key, v);
            } else {
                println!("{key:<22} {v}");
            }
        }
    }
}

fn row(name: &str, v: &Value) {
    println!(
        "{name:<14} p50 {:>9} ms  p90 {:>9} ms  p99 {:>9} ms  max {:>9} ms",
        v["p50"], v["p90"], v["p99"], v["max"]
    );
}

/// Peak resident set of a process so far (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmHWM:").map(|m| round(m, 1))
}

/// CPU time a process has used so far (user + system, all its threads), in
/// clock ticks of 10 ms (Linux's `USER_HZ`), from `/proc/PID/stat`.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3,
    // utime 14 and stime 15.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Current resident set of a process (VmRSS), in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Samples the server's RSS every 50 ms until [`RssSampler::finish`]: the
/// peak of the measured phase, whatever the server's history before it.
pub struct RssSampler {
    peak: Arc<Mutex<f64>>,
    stop: Arc<AtomicBool>,
    task: Option<JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: Option<u32>) -> Self {
        let peak = Arc::new(Mutex::new(0f64));
        let stop = Arc::new(AtomicBool::new(false));
        let task = pid.map(|pid| {
            let (peak, stop) = (peak.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if let (Some(now), Ok(mut p)) = (rss_mib(pid), peak.lock()) {
                        *p = p.max(now);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        });
        Self { peak, stop, task }
    }

    /// The peak in MiB (None without a pid or when /proc was unreadable).
    pub async fn finish(mut self) -> Option<f64> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        let peak = self.peak.lock().ok().map(|p| *p)?;
        (peak > 0.0).then_some(round(peak, 1))
    }
}

/// Prints `line()` to stderr every second until the handle is aborted.
pub fn every_second(line: impl Fn() -> String + Send + 'static) -> Progress {
    Progress(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            eprintln!("  {}", line());
        }
    }))
}

/// A progress printer; stops when dropped.
pub struct Progress(JoinHandle<()>);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
    }
}
