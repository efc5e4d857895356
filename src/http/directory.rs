//! Me, accounts and organizations.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Auth, JsonBody};
use super::AppState;
use crate::domain::{Account, NewAccount, NewOrg, Org};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/accounts", get(search_accounts).post(create_account))
        .route("/orgs", get(list_orgs).post(create_org))
}

/// `GET /api/v1/me`
async fn me(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<Account>, ApiError> {
    Ok(Json(s.core.me(&who).await?))
}

/// `POST /api/v1/accounts` (admin)
async fn create_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.create_account(&who, new).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    #[serde(default)]
    query: String,
}

/// `GET /api/v1/accounts?query=`
async fn search_accounts(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Vec<Account>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.search_accounts(&who, &q.query).await?))
}

/// `POST /api/v1/orgs` (admin)
async fn create_org(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewOrg>,
) -> Result<(StatusCode, Json<Org>), ApiError> {
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.create_org(Some(&who), new).await?),
    ))
}

/// `GET /api/v1/orgs`
async fn list_orgs(
    State(s): State<AppState>,
    Auth(_who): Auth,
) -> Result<Json<Vec<Org>>, ApiError> {
    Ok(Json(s.core.list_orgs().await?))
}
