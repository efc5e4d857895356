//! Questions and notifications: marking a question done, the inbox of open
//! questions addressed to me, and which entries push to me.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{Entry, NotifyInput, NotifySettings};
use crate::ids::EntryId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/entries/{entry}/done", post(done))
        .route("/inbox", get(inbox))
        .route(
            "/children/{id}/members/me/notify",
            get(get_notify).put(put_notify),
        )
}

#[derive(Serialize)]
struct Inbox {
    entries: Vec<Entry>,
}

/// `POST /api/v1/children/{id}/entries/{entry}/done`: the question is answered.
async fn done(State(s): State<AppState>, Auth(who): Auth, p: Two) -> Result<Json<Entry>, ApiError> {
    let (child, entry) = child_and::<EntryId>(p, "entry id")?;
    Ok(Json(s.core.mark_done(&who, child, entry).await?))
}

/// `GET /api/v1/inbox`: open questions addressed to me, oldest first.
async fn inbox(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<Inbox>, ApiError> {
    let entries = s.core.inbox(&who).await?;
    Ok(Json(Inbox { entries }))
}

/// `GET /api/v1/children/{id}/members/me/notify`
async fn get_notify(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<NotifySettings>, ApiError> {
    let child = child_id(p)?;
    Ok(Json(s.core.get_notify(&who, child).await?))
}

/// `PUT /api/v1/children/{id}/members/me/notify`
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
