//! Health checks and the web client: the files of `web/`, embedded into the
//! binary (read from disk in debug builds), served with a strict CSP.

use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::AppState;
use crate::error::Error;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

#[derive(rust_embed::Embed)]
#[folder = "web/"]
struct Assets;

/// `GET /{path}`: a file of the web client; unknown API paths get the JSON 404.
pub async fn static_file(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || (method != Method::GET && method != Method::HEAD) {
        return not_found().await.into_response();
    }
    let name = match path.trim_start_matches('/') {
        "" => "index.html",
        other => other,
    };
    let Some(file) = Assets::get(name) else {
        return not_found().await.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type(file.metadata.mimetype())),
            (header::CONTENT_SECURITY_POLICY, CSP.to_owned()),
            // The shell revalidates; the service worker caches it for offline use.
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        file.data,
    )
        .into_response()
}

/// Text types are UTF-8, said explicitly.
fn content_type(mime: &str) -> String {
    let textual = mime.starts_with("text/") || mime.contains("javascript") || mime.contains("json");
    if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The process answers", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `{"status"}`: `ok`, `ready` or `unavailable`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
}

/// The database answers and the keys are loaded.
#[utoipa::path(get, path = "/readyz", tag = "meta",
    responses((status = 200, description = "Ready", body = Health), (status = 503, description = "Not ready", body = Health)))]
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.core.ready().await {
        true => (StatusCode::OK, Json(Health { status: "ready" })),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
            }),
        ),
    }
}

pub async fn not_found() -> ApiError {
    ApiError(Error::NotFound)
}

/// A known path with a method it does not have: 405 (the router adds
/// `Allow`), in the contract's error shape like every other error.
pub async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}
