//! Login, refresh, logout and TOTP enrolment.

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;

use super::error::ApiError;
use super::extract::{Auth, EnrollAuth, JsonBody};
use super::AppState;
use crate::domain::{LoginInput, TokenPair, TotpEnrollment};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/me/totp", post(begin_totp).delete(remove_totp))
        .route("/me/totp/confirm", post(confirm_totp))
}

/// `POST /api/v1/auth/login`
async fn login(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: JsonBody<LoginInput>,
) -> Result<Json<TokenPair>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.login(input, &addr.ip().to_string()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshInput {
    refresh_token: String,
}

/// `POST /api/v1/auth/refresh`
async fn refresh(
    State(s): State<AppState>,
    body: JsonBody<RefreshInput>,
) -> Result<Json<TokenPair>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.refresh(&input.refresh_token).await?))
}

/// `POST /api/v1/auth/logout`
async fn logout(State(s): State<AppState>, Auth(who): Auth) -> Result<StatusCode, ApiError> {
    s.core.logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/totp`
async fn begin_totp(
    State(s): State<AppState>,
    EnrollAuth(who): EnrollAuth,
) -> Result<Json<TotpEnrollment>, ApiError> {
    Ok(Json(s.core.begin_totp(&who).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeInput {
    code: String,
}

/// `POST /api/v1/me/totp/confirm`
async fn confirm_totp(
    State(s): State<AppState>,
    EnrollAuth(who): EnrollAuth,
    body: JsonBody<CodeInput>,
) -> Result<StatusCode, ApiError> {
    let Json(input) = body?;
    s.core.confirm_totp(&who, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveTotpInput {
    password: String,
    code: String,
}

/// `DELETE /api/v1/me/totp`
async fn remove_totp(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<RemoveTotpInput>,
) -> Result<StatusCode, ApiError> {
    let Json(input) = body?;
    s.core
        .remove_totp(&who, input.password, &input.code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
