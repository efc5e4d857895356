//! Metrics: the Prometheus recorder behind the `metrics` macros, the names
//! and meanings of what is measured, and the process's own figures; and
//! the JSON log lines of `--log-format json`.
//!
//! The recorder is installed (process-wide) only with `--metrics-listen`:
//! without it every `metrics::counter!`/`gauge!`/`histogram!` in the code is
//! a no-op. Labels come from small fixed sets written in the code (an
//! outcome, a close reason, a connection kind), never from a request: no
//! child data, name, id or token can reach a label.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::fmt;
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The label values of `renraku_logins_total{outcome}`.
pub const LOGIN_OUTCOMES: &[&str] = &[
    "ok",
    "bad_credentials",
    "totp_required",
    "enrolment_required",
    "rate_limited",
    "busy",
    "error",
];
/// The label values of `renraku_push_total{outcome}`.
pub const PUSH_OUTCOMES: &[&str] = &["sent", "retrying", "failed", "subscription_removed"];
/// The label values of `renraku_ws_closed_total{reason}`.
pub const CLOSE_REASONS: &[&str] = &[
    "normal",
    "idle",
    "shutdown",
    "backpressure",
    "token_expired",
    "session_ended",
    "limit",
    "protocol",
    "error",
];

/// Group commit: ops per transaction (`MAX_BATCH` is 128).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
/// Commit latency and connection waits: from a tenth of a millisecond (an
/// uncontended lock) to the 5 s acquire timeout.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Renders the exposition; see [`install`].
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
}

/// Installs the Prometheus recorder (once per process; later calls return
/// the same one) and describes every metric.
pub fn install() -> anyhow::Result<Exporter> {
    if let Some(handle) = HANDLE.get() {
        return Ok(Exporter {
            handle: handle.clone(),
        });
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("renraku_commit_batch_size".into()),
            BATCH_BUCKETS,
        )?
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|_| anyhow::anyhow!("a metrics recorder is already installed"))?;
    let handle = HANDLE.get_or_init(|| handle);
    describe();
    // Every series of a fixed label set exists from the start, at zero, so
    // that a rate over it has a beginning.
    for (name, label, values) in [
        ("renraku_logins_total", "outcome", LOGIN_OUTCOMES),
        ("renraku_push_total", "outcome", PUSH_OUTCOMES),
        ("renraku_ws_closed_total", "reason", CLOSE_REASONS),
    ] {
        for value in values {
            metrics::counter!(name, label => *value).increment(0);
        }
    }
    for name in [
        "renraku_posts_committed_total",
        "renraku_ws_frames_sent_total",
        "renraku_alerts_raised_total",
        "renraku_escalation_steps_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    Ok(Exporter {
        handle: handle.clone(),
    })
}

impl Exporter {
    /// The text exposition, with the process figures read now.
    pub fn render(&self) -> String {
        if let Some(bytes) = resident_bytes() {
            metrics::gauge!("renraku_process_resident_memory_bytes").set(bytes as f64);
        }
        self.handle.render()
    }

    /// Folds the histograms' raw samples into their buckets: between two
    /// scrapes the samples would otherwise pile up (8 bytes each).
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// The process's resident set (`VmRSS` of `/proc/self/status`), on Linux.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// HELP lines. README.md's "Metrics" section is the same list.
fn describe() {
    describe_counter!(
        "renraku_posts_committed_total",
        "Entries committed (new posts and corrections; a replayed client_id is not counted)"
    );
    describe_histogram!(
        "renraku_commit_batch_size",
        "Ops (entries, access-log records, alerts) per group-commit transaction"
    );
    describe_histogram!(
        "renraku_commit_duration_seconds",
        Unit::Seconds,
        "Time of one group-commit transaction, fsync included"
    );
    describe_histogram!(
        "renraku_db_acquire_seconds",
        Unit::Seconds,
        "Wait for a database connection, by conn: write (the single writer) or read"
    );
    describe_counter!(
        "renraku_ws_frames_sent_total",
        "Text frames written and flushed to WebSockets (live entries, answers, backlog, alerts)"
    );
    describe_gauge!(
        "renraku_ws_queued_events",
        "Events waiting in the hub's per-socket queues, summed over sockets, at the scrape"
    );
    describe_gauge!(
        "renraku_ws_open",
        "Authenticated WebSockets open on this node, at the scrape"
    );
    describe_counter!(
        "renraku_ws_closed_total",
        "Authenticated WebSockets closed, by reason"
    );
    describe_counter!(
        "renraku_logins_total",
        "Password logins (POST /auth/login), by outcome"
    );
    describe_gauge!(
        "renraku_alerts_open",
        "Emergency alerts open (not yet acknowledged) in the database, at the scrape"
    );
    describe_counter!("renraku_alerts_raised_total", "Emergency alerts raised");
    describe_counter!(
        "renraku_escalation_steps_total",
        "Escalation steps run after an alert's first (claimed by this node)"
    );
    describe_counter!(
        "renraku_push_total",
        "Web Push sends, by outcome as recorded for the delivery"
    );
    describe_gauge!(
        "renraku_process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory of the server process (Linux), at the scrape"
    );
}

/// `--log-format json`: tracing-subscriber's JSON lines, with a message in
/// every one. An event that has none (sqlx logs its queries with a
/// `summary` field instead) gets its `summary`, or else its name (the
/// source line), as `fields.message`, so that every line has `timestamp`,
/// `level` and `fields.message`.
pub struct JsonLines<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for JsonLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut probe = Probe::default();
        event.record(&mut probe);
        if probe.message {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&line) else {
            return writer.write_str(&line);
        };
        let message = probe
            .summary
            .unwrap_or_else(|| event.metadata().name().to_owned());
        if let Some(fields) = v.get_mut("fields").and_then(|f| f.as_object_mut()) {
            fields.insert("message".into(), message.into());
        }
        writeln!(writer, "{v}")
    }
}

/// Whether an event has a message, and its `summary` if it has one.
#[derive(Default)]
struct Probe {
    message: bool,
    summary: Option<String>,
}

impl Visit for Probe {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = true,
            "summary" => self.summary = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = true,
            "summary" => self.summary = Some(format!("{value:?}")),
            _ => {}
        }
    }
}
