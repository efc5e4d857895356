//! A child's notebook: entries (list, post, revise) and its access log.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{
    AccessRecord, Entry, EntryPage, NewEntryInput, Posted, Reader, RevisionInput, SearchResult,
};
use crate::ids::EntryId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries, post_entry))
        .routes(routes!(revise_entry))
        .routes(routes!(readers))
        .routes(routes!(access_log))
        .routes(routes!(search))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    #[serde(default)]
    after_seq: i64,
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: String,
}

/// Search a notebook.
#[utoipa::path(get, path = "/children/{id}/search", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id"), SearchQuery),
    responses((status = 200, description = "Visible entries containing `q` (NFKC, case-insensitive), newest first", body = SearchResult)))]
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

/// A notebook's entries.
#[utoipa::path(get, path = "/children/{id}/entries", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id"), EntriesQuery),
    responses((status = 200, description = "Visible entries with seq > after_seq, in seq order", body = EntryPage)))]
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

/// Post an entry.
#[utoipa::path(post, path = "/children/{id}/entries", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = NewEntryInput,
    responses((status = 201, description = "Committed durably", body = Entry), (status = 200, description = "A replayed `client_id`: the stored entry", body = Entry)))]
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

/// Read receipts of an entry.
#[utoipa::path(get, path = "/children/{id}/entries/{entry}/readers", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id"), ("entry" = uuid::Uuid, Path, description = "Entry id")),
    responses((status = 200, description = "Who has read it, and when", body = Vec<Reader>)))]
async fn readers(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Vec<Reader>>, ApiError> {
    let (child, entry) = child_and::<EntryId>(p, "entry id")?;
    Ok(Json(s.core.entry_readers(&who, child, entry).await?))
}

/// Correct an entry: a new revision (its author).
#[utoipa::path(post, path = "/children/{id}/entries/{entry}/revisions", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id"), ("entry" = uuid::Uuid, Path, description = "Entry id")), request_body = RevisionInput,
    responses((status = 201, description = "The new revision", body = Entry), (status = 200, description = "A replayed revision", body = Entry)))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AccessQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// A notebook's access log (consent holders).
#[utoipa::path(get, path = "/children/{id}/access-log", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id"), AccessQuery),
    responses((status = 200, description = "Who read or changed what, after the record id `after`", body = Vec<AccessRecord>)))]
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
