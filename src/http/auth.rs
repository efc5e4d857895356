//! Login, invitations accepted, refresh and logout (one session or all).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};

use super::error::ApiError;
use super::extract::{Auth, ClientInfo, JsonBody, DEVICE_COOKIE};
use super::AppState;
use crate::domain::{AcceptInput, LoginInput, TokenPair};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(accept_invitation))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
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

/// Log in: a token pair, or `totp_required` / `totp_enrollment_required`.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, description = "Logged in; sets the device cookie", body = TokenPair)))]
async fn login(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: JsonBody<LoginInput>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    Ok(logged_in(s.core.login(input, &client).await?))
}

/// Accept an invitation: set a password and log in.
#[utoipa::path(post, path = "/auth/accept-invitation", tag = "auth", request_body = AcceptInput,
    responses((status = 200, description = "Logged in", body = TokenPair)))]
async fn accept_invitation(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: JsonBody<AcceptInput>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    Ok(logged_in(s.core.accept_invitation(input, &client).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshInput {
    refresh_token: String,
}

/// A new token pair for a refresh token (each is good once).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshInput,
    responses((status = 200, description = "A new pair", body = TokenPair)))]
async fn refresh(
    State(s): State<AppState>,
    body: JsonBody<RefreshInput>,
) -> Result<Json<TokenPair>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.refresh(&input.refresh_token).await?))
}

/// End this session (its sockets close at once).
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out")))]
async fn logout(State(s): State<AppState>, Auth(who): Auth) -> Result<StatusCode, ApiError> {
    s.core.logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of my account.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth",
    responses((status = 204, description = "Every session ended")))]
async fn logout_all(State(s): State<AppState>, Auth(who): Auth) -> Result<StatusCode, ApiError> {
    s.core.logout_all(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}
