//! Questions and notifications: marking a question done, the inbox of open
//! questions addressed to me, and which entries push to me.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{Entry, NotifyInput, NotifySettings};
use crate::ids::EntryId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(done))
        .routes(routes!(inbox))
        .routes(routes!(get_notify, put_notify))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Inbox {
    entries: Vec<Entry>,
}

/// Mark a question done (its author or an addressee).
#[utoipa::path(post, path = "/children/{id}/entries/{entry}/done", tag = "liaison", params(("id" = uuid::Uuid, Path, description = "Child id"), ("entry" = uuid::Uuid, Path, description = "Entry id (any revision)")),
    responses((status = 200, description = "The question, now answered", body = Entry)))]
async fn done(State(s): State<AppState>, Auth(who): Auth, p: Two) -> Result<Json<Entry>, ApiError> {
    let (child, entry) = child_and::<EntryId>(p, "entry id")?;
    Ok(Json(s.core.mark_done(&who, child, entry).await?))
}

/// My inbox.
#[utoipa::path(get, path = "/inbox", tag = "liaison",
    responses((status = 200, description = "Open questions addressed to me, oldest first", body = Inbox)))]
async fn inbox(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<Inbox>, ApiError> {
    let entries = s.core.inbox(&who).await?;
    Ok(Json(Inbox { entries }))
}

/// My notification setting.
#[utoipa::path(get, path = "/children/{id}/members/me/notify", tag = "liaison", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "My notification setting for this notebook", body = NotifySettings)))]
async fn get_notify(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<NotifySettings>, ApiError> {
    let child = child_id(p)?;
    Ok(Json(s.core.get_notify(&who, child).await?))
}

/// Set my notifications: all, addressed or none, and quiet hours.
#[utoipa::path(put, path = "/children/{id}/members/me/notify", tag = "liaison", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = NotifyInput,
    responses((status = 200, description = "Saved", body = NotifySettings)))]
async fn put_notify(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<NotifyInput>,
) -> Result<Json<NotifySettings>, ApiError> {
    let child = child_id(p)?;
    let Json(input) = body?;
    Ok(Json(s.core.set_notify(&who, child, input).await?))
}
