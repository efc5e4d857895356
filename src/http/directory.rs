//! Me, accounts (the directory, and administering them) and organizations.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_id, Auth, JsonBody, One};
use super::AppState;
use crate::domain::{
    Account, Created, Invitation, ManagedAccount, NewAccount, NewOrg, Org, OrgPatch,
};
use crate::ids::{AccountId, OrgId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/accounts", get(search_accounts).post(create_account))
        .route("/accounts/{id}/disable", post(disable_account))
        .route("/accounts/{id}/enable", post(enable_account))
        .route("/accounts/{id}/reset", post(reset_account))
        .route("/orgs", get(list_orgs).post(create_org))
        .route("/orgs/{id}", patch(update_org))
}

/// `GET /api/v1/me`
async fn me(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<Account>, ApiError> {
    Ok(Json(s.core.me(&who).await?))
}

/// `POST /api/v1/accounts` (admin, or an organization administrator inviting)
async fn create_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewAccount>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
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
    #[serde(default)]
    managed: bool,
}

/// Either answer of `GET /accounts`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Listed {
    Directory(Vec<Account>),
    Managed(Vec<ManagedAccount>),
}

/// `GET /api/v1/accounts?query=` (the directory) or `?managed=true` (administrators)
async fn search_accounts(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Listed>, ApiError> {
    let Query(q) = q?;
    Ok(Json(if q.managed {
        Listed::Managed(s.core.list_managed_accounts(&who).await?)
    } else {
        Listed::Directory(s.core.search_accounts(&who, &q.query).await?)
    }))
}

fn account_id(p: One) -> Result<AccountId, ApiError> {
    let axum::extract::Path(raw) = p?;
    parse_id(&raw, "account id")
}

/// `POST /api/v1/accounts/{id}/disable`
async fn disable_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<StatusCode, ApiError> {
    s.core.disable_account(&who, account_id(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/accounts/{id}/enable`
async fn enable_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<StatusCode, ApiError> {
    s.core.enable_account(&who, account_id(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize)]
struct ResetAnswer {
    invitation: Invitation,
}

/// `POST /api/v1/accounts/{id}/reset`
async fn reset_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<ResetAnswer>, ApiError> {
    let invitation = s.core.reset_account(&who, account_id(p)?).await?;
    Ok(Json(ResetAnswer { invitation }))
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

/// `PATCH /api/v1/orgs/{id}` (admin)
async fn update_org(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<OrgPatch>,
) -> Result<Json<Org>, ApiError> {
    let axum::extract::Path(raw) = p?;
    let id: OrgId = parse_id(&raw, "organization id")?;
    let Json(patch) = body?;
    Ok(Json(s.core.update_org(&who, id, patch).await?))
}
