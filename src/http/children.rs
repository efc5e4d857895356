//! Children: register one, list mine, read a profile, pass consent to the
//! young person.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_id, Auth, JsonBody, One};
use super::AppState;
use crate::domain::{Child, ChildSummary, NewChild};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_children, create_child))
        .routes(routes!(get_child))
        .routes(routes!(transfer))
}

/// Consent passes to the young person.
#[utoipa::path(post, path = "/children/{id}/transfer", tag = "children", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "Consent now held by the young person", body = Child)))]
async fn transfer(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.transfer_consent(&who, child_id(p)?).await?))
}

/// My children.
#[utoipa::path(get, path = "/children", tag = "children",
    responses((status = 200, description = "The children in which I am an active member", body = Vec<ChildSummary>)))]
async fn list_children(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<ChildSummary>>, ApiError> {
    Ok(Json(s.core.list_children(&who).await?))
}

/// Register a child (admin or coordinator).
#[utoipa::path(post, path = "/children", tag = "children", request_body = NewChild,
    responses((status = 201, description = "Registered, with its guardians invited as members", body = Child)))]
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

/// A child's profile.
#[utoipa::path(get, path = "/children/{id}", tag = "children", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "The decrypted profile", body = Child)))]
async fn get_child(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Child>, ApiError> {
    Ok(Json(s.core.get_child(&who, child_id(p)?).await?))
}
