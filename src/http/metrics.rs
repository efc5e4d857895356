//! `--metrics-listen`: Prometheus text exposition at `GET /metrics`, on a
//! plain HTTP listener of its own (any other path is 404). The gauges that
//! are cheaper to read than to keep (sockets, queued events, open alerts,
//! memory) are read at each scrape.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::domain::Core;
use crate::telemetry::Exporter;

/// How often the histograms' samples are folded into buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Scrape {
    core: Arc<Core>,
    exporter: Exporter,
}

/// Serves `/metrics` until `stop`, and keeps the recorder's upkeep.
pub async fn serve(
    listener: tokio::net::TcpListener,
    core: Arc<Core>,
    exporter: Exporter,
    stop: CancellationToken,
) {
    let upkeep = {
        let (exporter, stop) = (exporter.clone(), stop.clone());
        async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            while stop.run_until_cancelled(every.tick()).await.is_some() {
                exporter.run_upkeep();
            }
        }
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(Scrape { core, exporter });
    let server = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    };
    let (served, ()) = tokio::join!(server, upkeep);
    if let Err(e) = served {
        tracing::error!(error = %e, "metrics listener");
    }
}

/// `GET /metrics`
async fn metrics(State(s): State<Scrape>) -> impl IntoResponse {
    s.core.sample_gauges().await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.exporter.render(),
    )
}
