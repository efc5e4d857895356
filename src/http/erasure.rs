//! The end of a record: closing a notebook, asking for and confirming its
//! erasure, and the administrator's lists (requests, closed notebooks past
//! the retention period).

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_id, Auth, One};
use super::AppState;
use crate::domain::{Child, EraseRequested, Erased, PendingErasure, RetentionDue};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_erasure))
        .routes(routes!(close))
        .routes(routes!(reopen))
        .routes(routes!(pending_erasures))
        .routes(routes!(confirm_erasure))
        .routes(routes!(retention_due))
}

/// Ask for erasure (the consent holder).
#[utoipa::path(post, path = "/children/{id}/erase", tag = "records", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "Requested; an administrator confirms", body = EraseRequested)))]
async fn request_erasure(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<EraseRequested>, ApiError> {
    Ok(Json(s.core.request_erasure(&who, child_id(p)?).await?))
}

/// Confirm an erasure (admin).
#[utoipa::path(post, path = "/admin/erasures/{id}/confirm", tag = "records", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "Erased by crypto-shredding", body = Erased)))]
async fn confirm_erasure(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Erased>, ApiError> {
    Ok(Json(s.core.confirm_erasure(&who, child_id(p)?).await?))
}

/// Erasures awaiting confirmation (admin).
#[utoipa::path(get, path = "/admin/erasures", tag = "records",
    responses((status = 200, description = "Requests awaiting confirmation", body = Vec<PendingErasure>)))]
async fn pending_erasures(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<PendingErasure>>, ApiError> {
    Ok(Json(s.core.pending_erasures(&who).await?))
}

/// Closed notebooks due for erasure (admin).
#[utoipa::path(get, path = "/admin/retention", tag = "records",
    responses((status = 200, description = "Closed notebooks past the retention period", body = Vec<RetentionDue>)))]
async fn retention_due(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<RetentionDue>>, ApiError> {
    Ok(Json(s.core.retention_due(&who).await?))
}

/// Close a notebook (consent holder, coordinator, admin).
#[utoipa::path(post, path = "/children/{id}/close", tag = "records", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "Closed: read-only from now", body = Child)))]
async fn close(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.close_notebook(&who, child_id(p)?).await?))
}

/// Reopen a closed notebook (admin).
#[utoipa::path(post, path = "/children/{id}/reopen", tag = "records", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "Open again", body = Child)))]
async fn reopen(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.reopen_notebook(&who, child_id(p)?).await?))
}
