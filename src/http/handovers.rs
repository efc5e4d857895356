//! Handovers (引継ぎ): open one for a child, or one for every child of a
//! leaver; list them; approve (optionally narrowed) or decline.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, JsonBody, One, Two};
use super::AppState;
use crate::domain::{
    Handover, HandoverApproval, LeaverHandovers, NewHandover, OpenedAll, PendingHandover,
};
use crate::ids::{AccountId, HandoverId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/children/{id}/handovers",
            get(list_handovers).post(open_handover),
        )
        .route(
            "/children/{id}/handovers/{handover}/approve",
            post(approve_handover),
        )
        .route(
            "/children/{id}/handovers/{handover}/decline",
            post(decline_handover),
        )
        .route("/handovers", get(handovers).post(open_for_leaver))
}

/// `POST /api/v1/children/{id}/handovers`
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

/// `GET /api/v1/children/{id}/handovers`
async fn list_handovers(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<Handover>>, ApiError> {
    Ok(Json(s.core.list_handovers(&who, child_id(p)?).await?))
}

/// `POST /api/v1/children/{id}/handovers/{hid}/approve`, with an optional
/// body narrowing what the successor gets.
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

/// `POST /api/v1/children/{id}/handovers/{hid}/decline`
async fn decline_handover(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Json<Handover>, ApiError> {
    let (child, id) = child_and::<HandoverId>(p, "handover id")?;
    Ok(Json(s.core.decline_handover(&who, child, id).await?))
}

/// `POST /api/v1/handovers`: every notebook of a leaver.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoversQuery {
    #[serde(default)]
    from_account: Option<AccountId>,
}

/// Either answer of `GET /handovers`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Listed {
    Pending(Vec<PendingHandover>),
    Leaver(LeaverHandovers),
}

/// `GET /api/v1/handovers` (those awaiting the caller's decision) or
/// `?from_account=` (a leaver's, for administrators).
async fn handovers(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<HandoversQuery>, QueryRejection>,
) -> Result<Json<Listed>, ApiError> {
    let Query(q) = q?;
    Ok(Json(match q.from_account {
        Some(a) => Listed::Leaver(s.core.leaver_handovers(&who, a).await?),
        None => Listed::Pending(s.core.pending_handovers(&who).await?),
    }))
}
