//! Login, invitations accepted, refresh and logout (one session or all).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Auth, ClientInfo, JsonBody};
use super::AppState;
use crate::domain::{AcceptInput, LoginInput, TokenPair};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/accept-invitation", post(accept_invitation))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
}

/// `POST /api/v1/auth/login`
async fn login(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: JsonBody<LoginInput>,
) -> Result<Json<TokenPair>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.login(input, &client).await?))
}

/// `POST /api/v1/auth/accept-invitation`
async fn accept_invitation(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: JsonBody<AcceptInput>,
) -> Result<Json<TokenPair>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.accept_invitation(input, &client).await?))
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

/// `POST /api/v1/auth/logout-all`
async fn logout_all(State(s): State<AppState>, Auth(who): Auth) -> Result<StatusCode, ApiError> {
    s.core.logout_all(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}
