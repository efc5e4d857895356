//! Dates across my children: appointments and plan reviews.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::Auth;
use super::AppState;
use crate::domain::{CalendarItem, CalendarQuery};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar", get(calendar))
}

/// `GET /api/v1/calendar?from=YYYY-MM-DD&to=YYYY-MM-DD`
async fn calendar(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<CalendarQuery>, QueryRejection>,
) -> Result<Json<Vec<CalendarItem>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.calendar(&who, q).await?))
}
