//! Handovers (引継ぎ): open one for a child, or one for every child of a
//! leaver; list them; approve (optionally narrowed) or decline.

use axum::extract::rejection::{JsonRejection, QueryRejection};
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
    Handover, HandoverApproval, LeaverHandovers, NewHandover, OpenedAll, PendingHandover,
};
use crate::ids::{AccountId, HandoverId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_handovers, open_handover))
        .routes(routes!(approve_handover))
        .routes(routes!(decline_handover))
        .routes(routes!(handovers, open_for_leaver))
}

/// Open a handover (引継ぎ) to a successor.
#[utoipa::path(post, path = "/children/{id}/handovers", tag = "handovers", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = NewHandover,
    responses((status = 201, description = "Opened; waits for the consent holder", body = Handover)))]
async fn open_handover(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<NewHandover>,
) -> Result<(StatusCode, Json<Handover>), ApiError> {
    let child = child_id(p)?;
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.open_handover(&who, child, new).await?),
    ))
}

/// A notebook's handovers.
#[utoipa::path(get, path = "/children/{id}/handovers", tag = "handovers", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "The notebook's handovers", body = Vec<Handover>)))]
async fn list_handovers(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<Handover>>, ApiError> {
    Ok(Json(s.core.list_handovers(&who, child_id(p)?).await?))
}

/// Approve a handover, as asked or narrowed (consent holder).
/// body narrowing what the successor gets.
#[utoipa::path(post, path = "/children/{id}/handovers/{handover}/approve", tag = "handovers", params(("id" = uuid::Uuid, Path, description = "Child id"), ("handover" = uuid::Uuid, Path, description = "Handover id")),
    request_body(content = Option<HandoverApproval>, description = "Optional: narrow what the successor gets"),
    responses((status = 200, description = "Approved", body = Handover)))]
async fn approve_handover(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
    body: Result<Option<Json<HandoverApproval>>, JsonRejection>,
) -> Result<Json<Handover>, ApiError> {
    let (child, id) = child_and::<HandoverId>(p, "handover id")?;
    let narrowed = body?.map(|Json(b)| b).unwrap_or_default();
    Ok(Json(
        s.core.approve_handover(&who, child, id, narrowed).await?,
    ))
}

/// Decline a handover (consent holder).
#[utoipa::path(post, path = "/children/{id}/handovers/{handover}/decline", tag = "handovers", params(("id" = uuid::Uuid, Path, description = "Child id"), ("handover" = uuid::Uuid, Path, description = "Handover id")),
    responses((status = 200, description = "Declined", body = Handover)))]
async fn decline_handover(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Handover>, ApiError> {
    let (child, id) = child_and::<HandoverId>(p, "handover id")?;
    Ok(Json(s.core.decline_handover(&who, child, id).await?))
}

/// Every notebook of a leaver.
#[utoipa::path(post, path = "/handovers", tag = "handovers", request_body = NewHandover,
    responses((status = 201, description = "One handover per notebook of the leaver", body = OpenedAll)))]
async fn open_for_leaver(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewHandover>,
) -> Result<(StatusCode, Json<OpenedAll>), ApiError> {
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.open_handovers_for_leaver(&who, new).await?),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HandoversQuery {
    #[serde(default)]
    from_account: Option<AccountId>,
}

/// Either answer of `GET /handovers`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum HandoverList {
    Pending(Vec<PendingHandover>),
    Leaver(LeaverHandovers),
}

/// Handovers awaiting my decision, or a leaver's.
/// `?from_account=` (a leaver's, for administrators).
#[utoipa::path(get, path = "/handovers", tag = "handovers", params(HandoversQuery),
    responses((status = 200, description = "Awaiting my decision, or a leaver's (`from_account`, administrators)", body = HandoverList)))]
async fn handovers(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<HandoversQuery>, QueryRejection>,
) -> Result<Json<HandoverList>, ApiError> {
    let Query(q) = q?;
    Ok(Json(match q.from_account {
        Some(a) => HandoverList::Leaver(s.core.leaver_handovers(&who, a).await?),
        None => HandoverList::Pending(s.core.pending_handovers(&who).await?),
    }))
}
