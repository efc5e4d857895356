//! Children, members and consent, entries, the access log.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_id, Auth};
use super::AppState;
use crate::domain::{
    AccessRecord, Child, ChildSummary, Entry, EntryPage, Member, MemberPatch, NewChild,
    NewEntryInput, NewMember, Posted, RevisionInput,
};
use crate::ids::{AccountId, ChildId, EntryId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children", get(list_children).post(create_child))
        .route("/children/{id}", get(get_child))
        .route("/children/{id}/members", get(list_members).post(add_member))
        .route("/children/{id}/members/{account}", patch(update_member))
        .route(
            "/children/{id}/members/{account}/approve",
            post(approve_member),
        )
        .route(
            "/children/{id}/members/{account}/revoke",
            post(revoke_member),
        )
        .route("/children/{id}/entries", get(list_entries).post(post_entry))
        .route(
            "/children/{id}/entries/{entry}/revisions",
            post(revise_entry),
        )
        .route("/children/{id}/access-log", get(access_log))
}

type JsonBody<T> = Result<Json<T>, JsonRejection>;
type One = Result<Path<String>, PathRejection>;
type Two = Result<Path<(String, String)>, PathRejection>;

fn child_id(p: One) -> Result<ChildId, ApiError> {
    let Path(raw) = p?;
    parse_id(&raw, "child id")
}

fn child_and<T: std::str::FromStr>(p: Two, what: &str) -> Result<(ChildId, T), ApiError> {
    let Path((c, other)) = p?;
    Ok((parse_id(&c, "child id")?, parse_id(&other, what)?))
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

/// `GET /api/v1/children/{id}/members`
async fn list_members(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(s.core.list_members(&who, child_id(p)?).await?))
}

/// `POST /api/v1/children/{id}/members`
async fn add_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<NewMember>,
) -> Result<(StatusCode, Json<Member>), ApiError> {
    let child = child_id(p)?;
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.add_member(&who, child, new).await?),
    ))
}

/// `POST /api/v1/children/{id}/members/{account}/approve`
async fn approve_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Member>, ApiError> {
    let (child, account) = child_and::<AccountId>(p, "account id")?;
    Ok(Json(s.core.approve_member(&who, child, account).await?))
}

/// `POST /api/v1/children/{id}/members/{account}/revoke`
async fn revoke_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Member>, ApiError> {
    let (child, account) = child_and::<AccountId>(p, "account id")?;
    Ok(Json(s.core.revoke_member(&who, child, account).await?))
}

/// `PATCH /api/v1/children/{id}/members/{account}`
async fn update_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
    body: JsonBody<MemberPatch>,
) -> Result<Json<Member>, ApiError> {
    let (child, account) = child_and::<AccountId>(p, "account id")?;
    let Json(patch) = body?;
    Ok(Json(
        s.core.update_member(&who, child, account, patch).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    #[serde(default)]
    after_seq: i64,
    #[serde(default)]
    limit: Option<i64>,
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
