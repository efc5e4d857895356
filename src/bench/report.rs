//! Latency histograms and the final report (table and JSON).

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Microsecond histogram, 1 µs .. 60 s, 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
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

pub fn print_table(r: &Value) {
    let row = |name: &str, v: &Value| {
        println!(
            "{name:<14} p50 {:>9} ms  p90 {:>9} ms  p99 {:>9} ms  max {:>9} ms",
            v["p50"], v["p90"], v["p99"], v["max"]
        );
    };
    println!();
    println!("workload       {}", r["workload"]);
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
    println!("server RSS     peak {} MiB", r["server_rss_peak_mib"]);
}

/// Peak resident set of a process so far (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// Current resident set of a process (VmRSS), in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
