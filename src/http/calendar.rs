//! Dates across my children: appointments and plan reviews.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::Auth;
use super::AppState;
use crate::domain::{CalendarItem, CalendarQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(calendar))
}

/// Appointments and plan reviews across my children (at most 366 days).
#[utoipa::path(get, path = "/calendar", tag = "liaison", params(CalendarQuery),
    responses((status = 200, description = "Appointments and plan reviews I can see, by date", body = Vec<CalendarItem>)))]
async fn calendar(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<CalendarQuery>, QueryRejection>,
) -> Result<Json<Vec<CalendarItem>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.calendar(&who, q).await?))
}
