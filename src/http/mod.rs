//! HTTP and WebSocket surface: the router, one error table, extractors, one
//! file per resource. Handlers are thin adapters: extract, call the domain,
//! map the result.

mod admin;
mod attachments;
mod auth;
mod calendar;
mod children;
mod denied;
mod directory;
mod emergency;
mod entries;
mod erasure;
pub mod error;
mod export;
mod extract;
mod handovers;
mod me;
mod members;
mod questions;
mod web;
mod ws;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::config::MAX_BODY_BYTES;
use crate::domain::Core;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    /// Extra allowed WebSocket origins (the server's own origin always is).
    pub allowed_origins: Arc<Vec<String>>,
    /// "https" or "http": the scheme of the server's own origin.
    pub scheme: &'static str,
    /// Proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// The server pings each WebSocket this often…
    pub ws_ping_every: std::time::Duration,
    /// …and closes one it has not heard from for this long.
    pub ws_pong_timeout: std::time::Duration,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(admin::router())
        .merge(directory::router())
        .merge(me::router())
        .merge(children::router())
        .merge(members::router())
        .merge(handovers::router())
        .merge(entries::router())
        .merge(questions::router())
        .merge(calendar::router())
        .merge(emergency::router())
        .merge(erasure::router())
        .merge(export::router())
        .merge(attachments::router())
        .merge(ws::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            denied::record_denied,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // The path holds only ids; the query string is never logged.
            tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
        })
        .on_request(())
        .on_response(
            |res: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                tracing::info!(
                    status = res.status().as_u16(),
                    ms = latency.as_secs_f64() * 1e3,
                    "answered"
                );
            },
        )
        .on_failure(DefaultOnFailure::new().level(Level::WARN));
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    Router::new()
        .nest("/api/v1", api)
        .merge(web::router())
        .fallback(web::static_file)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(headers)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}
