//! A child's notebook: entries (list, post, revise) and its access log.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{
    AccessRecord, Entry, EntryPage, NewEntryInput, Posted, Reader, RevisionInput, SearchResult,
};
use crate::ids::EntryId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/entries", get(list_entries).post(post_entry))
        .route(
            "/children/{id}/entries/{entry}/revisions",
            post(revise_entry),
        )
        .route("/children/{id}/entries/{entry}/readers", get(readers))
        .route("/children/{id}/access-log", get(access_log))
        .route("/children/{id}/search", get(search))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    #[serde(default)]
    after_seq: i64,
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: String,
}

/// `GET /api/v1/children/{id}/search?q=`
async fn search(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<SearchResult>, ApiError> {
    let child = child_id(p)?;
    let Query(q) = q?;
    Ok(Json(s.core.search(&who, child, &q.q).await?))
}

/// `GET /api/v1/children/{id}/entries?after_seq=&limit=`
async fn list_entries(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    q: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<EntryPage>, ApiError> {
    let child = child_id(p)?;
    let Query(q) = q?;
    Ok(Json(
        s.core
            .list_entries(&who, child, q.after_seq, q.limit)
            .await?,
    ))
}

fn created(p: Posted) -> (StatusCode, Json<Entry>) {
    let status = if p.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(p.entry))
}

/// `POST /api/v1/children/{id}/entries`: 201, or 200 for a replayed `client_id`.
async fn post_entry(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<NewEntryInput>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let child = child_id(p)?;
    let Json(input) = body?;
    Ok(created(s.core.post_entry(&who, child, input).await?))
}

/// `GET /api/v1/children/{id}/entries/{entry}/readers`: who has read it, and when.
async fn readers(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Vec<Reader>>, ApiError> {
    let (child, entry) = child_and::<EntryId>(p, "entry id")?;
    Ok(Json(s.core.entry_readers(&who, child, entry).await?))
}

/// `POST /api/v1/children/{id}/entries/{entry}/revisions`
async fn revise_entry(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
    body: JsonBody<RevisionInput>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let (child, entry) = child_and::<EntryId>(p, "entry id")?;
    let Json(input) = body?;
    Ok(created(
        s.core.revise_entry(&who, child, entry, input, None).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/children/{id}/access-log?after=&limit=` (`after` is a record id)
async fn access_log(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    q: Result<Query<AccessQuery>, QueryRejection>,
) -> Result<Json<Vec<AccessRecord>>, ApiError> {
    let child = child_id(p)?;
    let Query(q) = q?;
    Ok(Json(
        s.core.access_log(&who, child, q.after, q.limit).await?,
    ))
}
