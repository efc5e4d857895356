//! The domain error: what went wrong, in terms a client can act on. The HTTP
//! and WebSocket layers map it to the contract's codes in one table
//! (`http::error`). Messages never carry child data or secrets.

use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    #[error("invalid login or password")]
    InvalidCredentials,
    #[error("a valid one-time code is required")]
    TotpRequired,
    /// The account must enrol a second factor first; carries a token good only for enrolment.
    #[error("two-factor enrolment is required")]
    TotpEnrollmentRequired { enrollment_token: String },
    #[error("authentication required")]
    Unauthorized,
    /// The session ended by its idle timeout or maximum age: log in again.
    #[error("the session has expired; log in again")]
    SessionExpired,
    /// A password the rules refuse; the message names the rule.
    #[error("{0}")]
    WeakPassword(Cow<'static, str>),
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    #[error("not found")]
    NotFound,
    /// The path exists, the method does not (the router's answer).
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    #[error("{0}")]
    PayloadTooLarge(Cow<'static, str>),
    /// An upload of a type not accepted, or not the type it claims.
    #[error("{0}")]
    UnsupportedMediaType(Cow<'static, str>),
    /// Past a limit; `retry_after` seconds until it is worth trying again.
    #[error("too many attempts; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The server is too busy for this right now (the password hashing
    /// queue is full); nothing was done. Retry after `retry_after` seconds.
    #[error("the server is busy; try again in {retry_after} s")]
    Busy { retry_after: u64 },
    /// The database cannot be reached right now; nothing was committed. Retry.
    #[error("the database is unavailable; retry (with the same client_id for posts)")]
    Unavailable,
    /// Anything the client cannot fix. The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_request(msg: impl Into<Cow<'static, str>>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn forbidden(msg: impl Into<Cow<'static, str>>) -> Self {
        Self::Forbidden(msg.into())
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TotpRequired => "totp_required",
            Self::TotpEnrollmentRequired { .. } => "totp_enrollment_required",
            Self::Unauthorized => "unauthorized",
            Self::SessionExpired => "session_expired",
            Self::WeakPassword(_) => "weak_password",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Busy { .. } => "busy",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => Self::NotFound,
            crate::store::StoreError::Conflict => Self::Conflict("already exists".into()),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::Internal(e.to_string())
    }
}
