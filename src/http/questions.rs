//! Questions: marking one done, and the inbox of open questions addressed to me.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::error::ApiError;
use super::extract::{child_and, Auth, Two};
use super::AppState;
use crate::domain::Entry;
use crate::ids::EntryId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/entries/{entry}/done", post(done))
        .route("/inbox", get(inbox))
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
