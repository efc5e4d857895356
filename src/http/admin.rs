//! The administrators' security log.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::Auth;
use super::AppState;
use crate::domain::SecurityRecord;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(security_log))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// The security log (admin): logins, failures, lockouts, account changes.
#[utoipa::path(get, path = "/admin/security-log", tag = "admin", params(LogQuery),
    responses((status = 200, description = "Oldest first, after the row id `after`", body = Vec<SecurityRecord>)))]
async fn security_log(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Json<Vec<SecurityRecord>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.security_log(&who, q.after, q.limit).await?))
}
