//! The one table from errors to HTTP answers:
//! `{"error": {"code", "message"}}`. 5xx bodies say nothing; their detail is
//! logged inside the request span.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::Error;

/// An error on its way to the client.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self(Error::PayloadTooLarge("request body too large".into()));
        }
        let msg = match r {
            JsonRejection::JsonDataError(e) => e.body_text(),
            JsonRejection::JsonSyntaxError(_) => "body is not valid JSON".to_owned(),
            JsonRejection::MissingJsonContentType(_) => {
                "expected Content-Type: application/json".to_owned()
            }
            other => other.body_text(),
        };
        Self(Error::bad_request(msg))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self(Error::bad_request("invalid path parameter"))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self(Error::bad_request(r.body_text()))
    }
}

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::BadRequest(_) | Error::WeakPassword(_) => StatusCode::BAD_REQUEST,
        Error::InvalidCredentials
        | Error::TotpRequired
        | Error::Unauthorized
        | Error::SessionExpired => StatusCode::UNAUTHORIZED,
        Error::TotpEnrollmentRequired { .. } | Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable | Error::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The client-facing message: never internal details.
pub fn message_of(e: &Error) -> String {
    match e {
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            "internal error".to_owned()
        }
        other => other.to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let mut body = json!({"error": {"code": self.0.code(), "message": message_of(&self.0)}});
        if let Error::TotpEnrollmentRequired { enrollment_token } = &self.0 {
            body["enrollment_token"] = json!(enrollment_token);
        }
        let mut response = (status, Json(body)).into_response();
        if let Error::RateLimited { retry_after } | Error::Busy { retry_after } = &self.0 {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after),
            );
        }
        response
    }
}
