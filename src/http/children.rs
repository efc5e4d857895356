//! Children: register one, list mine, read a profile, pass consent to the
//! young person.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::{child_id, Auth, JsonBody, One};
use super::AppState;
use crate::domain::{Child, ChildSummary, NewChild};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children", get(list_children).post(create_child))
        .route("/children/{id}", get(get_child))
        .route("/children/{id}/transfer", post(transfer))
}

/// `POST /api/v1/children/{id}/transfer`: consent passes to the young person.
async fn transfer(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.transfer_consent(&who, child_id(p)?).await?))
}

/// `GET /api/v1/children`
async fn list_children(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<ChildSummary>>, ApiError> {
    Ok(Json(s.core.list_children(&who).await?))
}

/// `POST /api/v1/children`
async fn create_child(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewChild>,
) -> Result<(StatusCode, Json<Child>), ApiError> {
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.create_child(&who, new).await?),
    ))
}

/// `GET /api/v1/children/{id}`
async fn get_child(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.get_child(&who, child_id(p)?).await?))
}
