//! Login, invitations accepted, refresh and logout (one session or all).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};

use super::error::ApiError;
use super::extract::{Auth, ClientInfo, JsonBody, DEVICE_COOKIE};
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

/// The login answer, with the device cookie (HttpOnly, for the login
/// endpoints only) when the login succeeded.
fn logged_in(pair: TokenPair) -> Response {
    let cookie = pair.device_cookie.clone().map(|value| {
        Cookie::build((DEVICE_COOKIE, value))
            .path("/api/v1/auth")
            .http_only(true)
            .secure(true)
            .same_site(SameSite::Strict)
            .max_age(cookie::time::Duration::days(365))
            .build()
            .to_string()
    });
    let mut response = Json(pair).into_response();
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `POST /api/v1/auth/login`
async fn login(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: JsonBody<LoginInput>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    Ok(logged_in(s.core.login(input, &client).await?))
}

/// `POST /api/v1/auth/accept-invitation`
async fn accept_invitation(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: JsonBody<AcceptInput>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    Ok(logged_in(s.core.accept_invitation(input, &client).await?))
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
