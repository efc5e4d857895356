//! A child's members and their consent: list, add (grant or request),
//! approve, revoke, narrow.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{Member, MemberPatch, NewMember, PendingRequest};
use crate::ids::AccountId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/members", get(list_members).post(add_member))
        .route("/requests", get(pending_requests))
        .route("/children/{id}/members/{account}", patch(update_member))
        .route(
            "/children/{id}/members/{account}/approve",
            post(approve_member),
        )
        .route(
            "/children/{id}/members/{account}/revoke",
            post(revoke_member),
        )
}

/// `GET /api/v1/requests`: the pending requests to the caller's children.
async fn pending_requests(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<PendingRequest>>, ApiError> {
    Ok(Json(s.core.pending_requests(&who).await?))
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
