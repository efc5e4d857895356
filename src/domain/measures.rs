//! What the domain tells the metrics beyond the counters at their sites:
//! the gauges read at a scrape rather than kept up to date on every change
//! (nothing on the post or delivery path pays for them), and the push
//! outcomes' one vocabulary.

use super::Core;

impl Core {
    /// Sets the sampled gauges: sockets and the events queued for them on
    /// this node, and the open alerts of the whole deployment (one indexed
    /// count; a failed read leaves the last value).
    pub async fn sample_gauges(&self) {
        metrics::gauge!("renraku_ws_open").set(self.hub.connection_count() as f64);
        metrics::gauge!("renraku_ws_queued_events").set(self.hub.queued_events() as f64);
        match self.store.count_open_alerts().await {
            Ok(n) => metrics::gauge!("renraku_alerts_open").set(n as f64),
            Err(e) => tracing::warn!(error = %e, "counting open alerts for the metrics"),
        }
    }
}

/// One push's outcome: `sent`, `retrying` (a transient failure, tried
/// again), `failed` or `subscription_removed` (404/410).
pub(super) fn count_push(outcome: &'static str) {
    metrics::counter!("renraku_push_total", "outcome" => outcome).increment(1);
}
