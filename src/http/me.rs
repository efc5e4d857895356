//! The caller's own account: sessions, password, second factor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{parse_id, Auth, ClientInfo, EnrollAuth, JsonBody, One};
use super::AppState;
use crate::domain::{PasswordChange, RecoveryCodes, SessionView, TotpEnrollment, TotpStatus};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(change_password))
        .routes(routes!(totp_status, begin_totp, remove_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(new_recovery_codes))
}

/// My open sessions.
#[utoipa::path(get, path = "/me/sessions", tag = "me",
    responses((status = 200, description = "My sessions", body = Vec<SessionView>)))]
async fn list_sessions(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    Ok(Json(s.core.list_sessions(&who).await?))
}

/// End one of my sessions.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "me", params(("id" = uuid::Uuid, Path, description = "Session id")),
    responses((status = 204, description = "Ended; its sockets closed")))]
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

/// Change my password.
#[utoipa::path(post, path = "/me/password", tag = "me", request_body = PasswordChange,
    responses((status = 204, description = "Changed; my other sessions ended")))]
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

/// My second factor.
#[utoipa::path(get, path = "/me/totp", tag = "me",
    responses((status = 200, description = "Whether a second factor is enrolled", body = TotpStatus)))]
async fn totp_status(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<TotpStatus>, ApiError> {
    Ok(Json(s.core.totp_status(&who).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordInput {
    #[serde(default)]
    password: Option<String>,
}

/// Start enrolling a second factor (TOTP).
/// enrolment token (v1 clients send none).
#[utoipa::path(post, path = "/me/totp", tag = "me", request_body(content = Option<PasswordInput>, description = "`{\"password\"}`, or no body with an enrolment token"),
    responses((status = 200, description = "A secret to enrol", body = TotpEnrollment)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeInput {
    code: String,
}

/// Confirm enrolment with a first code.
#[utoipa::path(post, path = "/me/totp/confirm", tag = "me", request_body = CodeInput,
    responses((status = 200, description = "Enrolled; the recovery codes, shown once", body = RecoveryCodes)))]
async fn confirm_totp(
    State(s): State<AppState>,
    EnrollAuth(who): EnrollAuth,
    body: JsonBody<CodeInput>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(input) = body?;
    Ok(Json(s.core.confirm_totp(&who, &input.code).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RequiredPassword {
    password: String,
}

/// New recovery codes.
#[utoipa::path(post, path = "/me/totp/recovery-codes", tag = "me", request_body = RequiredPassword,
    responses((status = 200, description = "New codes; the old ones no longer work", body = RecoveryCodes)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RemoveTotpInput {
    password: String,
    code: String,
}

/// Remove my second factor.
#[utoipa::path(delete, path = "/me/totp", tag = "me", request_body = RemoveTotpInput,
    responses((status = 204, description = "Removed")))]
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
