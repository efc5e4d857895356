//! Extractors: the authenticated caller (Bearer token checked against its
//! session), ids parsed from the path.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::str::FromStr;

use super::error::ApiError;
use super::AppState;
use crate::auth::token::TokenUse;
use crate::domain::Principal;
use crate::error::Error;

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError(Error::Unauthorized))
}

/// The caller, from an access token.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        Ok(Self(
            state.core.authenticate(token, TokenUse::Access).await?,
        ))
    }
}

/// The caller, from an access token or an enrolment-only token (TOTP enrolment endpoints).
pub struct EnrollAuth(pub Principal);

impl FromRequestParts<AppState> for EnrollAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let core = &state.core;
        match core.authenticate(token, TokenUse::Access).await {
            Ok(p) => Ok(Self(p)),
            Err(Error::Unauthorized) => Ok(Self(core.authenticate(token, TokenUse::Enroll).await?)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Parses an id from a path segment: 400 when it is not a UUID.
pub fn parse_id<T: FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError(Error::bad_request(format!("{what}: not a valid id"))))
}
