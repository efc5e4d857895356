//! The end of a record: closing a notebook, asking for and confirming its
//! erasure, and the administrator's lists (requests, closed notebooks past
//! the retention period).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::{child_id, Auth, One};
use super::AppState;
use crate::domain::{Child, EraseRequested, Erased, PendingErasure, RetentionDue};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/erase", post(request_erasure))
        .route("/children/{id}/close", post(close))
        .route("/children/{id}/reopen", post(reopen))
        .route("/admin/erasures", get(pending_erasures))
        .route("/admin/erasures/{id}/confirm", post(confirm_erasure))
        .route("/admin/retention", get(retention_due))
}

/// `POST /api/v1/children/{id}/erase` (the consent holder)
async fn request_erasure(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<EraseRequested>, ApiError> {
    Ok(Json(s.core.request_erasure(&who, child_id(p)?).await?))
}

/// `POST /api/v1/admin/erasures/{child_id}/confirm` (admin)
async fn confirm_erasure(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Erased>, ApiError> {
    Ok(Json(s.core.confirm_erasure(&who, child_id(p)?).await?))
}

/// `GET /api/v1/admin/erasures` (admin): requests awaiting confirmation
async fn pending_erasures(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<PendingErasure>>, ApiError> {
    Ok(Json(s.core.pending_erasures(&who).await?))
}

/// `GET /api/v1/admin/retention` (admin): closed notebooks past `--retention-years`
async fn retention_due(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<RetentionDue>>, ApiError> {
    Ok(Json(s.core.retention_due(&who).await?))
}

/// `POST /api/v1/children/{id}/close` (consent holder, coordinator member, admin)
async fn close(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.close_notebook(&who, child_id(p)?).await?))
}

/// `POST /api/v1/children/{id}/reopen` (admin)
async fn reopen(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.reopen_notebook(&who, child_id(p)?).await?))
}
