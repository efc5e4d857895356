//! The caller's own account: sessions, password, second factor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_id, Auth, ClientInfo, EnrollAuth, JsonBody, One};
use super::AppState;
use crate::domain::{PasswordChange, RecoveryCodes, SessionView, TotpEnrollment, TotpStatus};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/sessions", get(list_sessions))
        .route("/me/sessions/{id}", delete(end_session))
        .route("/me/password", post(change_password))
        .route(
            "/me/totp",
            get(totp_status).post(begin_totp).delete(remove_totp),
        )
        .route("/me/totp/confirm", post(confirm_totp))
        .route("/me/totp/recovery-codes", post(new_recovery_codes))
}

/// `GET /api/v1/me/sessions`
async fn list_sessions(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    Ok(Json(s.core.list_sessions(&who).await?))
}

/// `DELETE /api/v1/me/sessions/{id}`
async fn end_session(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<StatusCode, ApiError> {
    let axum::extract::Path(raw) = p?;
    let session = parse_id(&raw, "session id")?;
    s.core.end_own_session(&who, session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/password`
async fn change_password(
    State(s): State<AppState>,
    Auth(who): Auth,
    ClientInfo(client): ClientInfo,
    body: JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let Json(input) = body?;
    s.core.change_password(&who, input, &client.addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me/totp`
async fn totp_status(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<TotpStatus>, ApiError> {
    Ok(Json(s.core.totp_status(&who).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PasswordInput {
    #[serde(default)]
    password: Option<String>,
}

/// `POST /api/v1/me/totp`: `{"password"}`, or no body at all with an
/// enrolment token (v1 clients send none).
async fn begin_totp(
    State(s): State<AppState>,
    EnrollAuth(who): EnrollAuth,
    ClientInfo(client): ClientInfo,
    body: axum::body::Bytes,
) -> Result<Json<TotpEnrollment>, ApiError> {
    let input: PasswordInput = if body.iter().all(u8::is_ascii_whitespace) {
        PasswordInput::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError(crate::error::Error::bad_request(format!("body: {e}"))))?
    };
    Ok(Json(
        s.core
            .begin_totp(&who, input.password, &client.addr)
            .await?,
    ))
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
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.confirm_totp(&who, &input.code).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredPassword {
    password: String,
}

/// `POST /api/v1/me/totp/recovery-codes`
async fn new_recovery_codes(
    State(s): State<AppState>,
    Auth(who): Auth,
    ClientInfo(client): ClientInfo,
    body: JsonBody<RequiredPassword>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(input) = body?;
    Ok(Json(
        s.core
            .new_recovery_codes(&who, input.password, &client.addr)
            .await?,
    ))
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
    ClientInfo(client): ClientInfo,
    body: JsonBody<RemoveTotpInput>,
) -> Result<StatusCode, ApiError> {
    let Json(input) = body?;
    s.core
        .remove_totp(&who, input.password, &input.code, &client.addr)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
