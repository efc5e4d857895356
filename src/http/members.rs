//! A child's members and their consent: list, add (grant or request),
//! approve, revoke, narrow.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{Member, MemberPatch, NewMember, PendingRequest};
use crate::ids::AccountId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(pending_requests))
        .routes(routes!(update_member))
        .routes(routes!(approve_member))
        .routes(routes!(revoke_member))
}

/// The pending requests to the caller's children.
#[utoipa::path(get, path = "/requests", tag = "members",
    responses((status = 200, description = "Requests waiting for my decision", body = Vec<PendingRequest>)))]
async fn pending_requests(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<PendingRequest>>, ApiError> {
    Ok(Json(s.core.pending_requests(&who).await?))
}

/// A notebook's members.
#[utoipa::path(get, path = "/children/{id}/members", tag = "members", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "The notebook's members", body = Vec<Member>)))]
async fn list_members(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(s.core.list_members(&who, child_id(p)?).await?))
}

/// Add a member, or ask to join.
#[utoipa::path(post, path = "/children/{id}/members", tag = "members", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = NewMember,
    responses((status = 201, description = "Added (a guardian) or requested (a professional)", body = Member)))]
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

/// Approve a request (consent holder).
#[utoipa::path(post, path = "/children/{id}/members/{account}/approve", tag = "members", params(("id" = uuid::Uuid, Path, description = "Child id"), ("account" = uuid::Uuid, Path, description = "Account id of the member")),
    responses((status = 200, description = "Active", body = Member)))]
async fn approve_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Member>, ApiError> {
    let (child, account) = child_and::<AccountId>(p, "account id")?;
    Ok(Json(s.core.approve_member(&who, child, account).await?))
}

/// Revoke a membership (consent holder, or the member leaving).
#[utoipa::path(post, path = "/children/{id}/members/{account}/revoke", tag = "members", params(("id" = uuid::Uuid, Path, description = "Child id"), ("account" = uuid::Uuid, Path, description = "Account id of the member")),
    responses((status = 200, description = "Revoked, at once on open sockets", body = Member)))]
async fn revoke_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Member>, ApiError> {
    let (child, account) = child_and::<AccountId>(p, "account id")?;
    Ok(Json(s.core.revoke_member(&who, child, account).await?))
}

/// Narrow or widen a grant (consent holder).
#[utoipa::path(patch, path = "/children/{id}/members/{account}", tag = "members", params(("id" = uuid::Uuid, Path, description = "Child id"), ("account" = uuid::Uuid, Path, description = "Account id of the member")), request_body = MemberPatch,
    responses((status = 200, description = "The new grant, at once on open sockets", body = Member)))]
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
