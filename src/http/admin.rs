//! The administrators' security log.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::Auth;
use super::AppState;
use crate::domain::SecurityRecord;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/security-log", get(security_log))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/admin/security-log?after=&limit=` (admin; `after` is a row id)
async fn security_log(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Json<Vec<SecurityRecord>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.security_log(&who, q.after, q.limit).await?))
}
