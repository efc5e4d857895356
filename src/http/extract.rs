//! Extractors: the authenticated caller (Bearer token checked against its
//! session), the client's address and user agent, ids parsed from the path.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::Json;
use std::str::FromStr;

use super::denied::Caller;
use super::error::ApiError;
use super::AppState;
use crate::domain::{Client, Principal};
use crate::error::Error;
use crate::ids::ChildId;

/// A JSON body, its rejection mapped by the error table.
pub type JsonBody<T> = Result<Json<T>, JsonRejection>;
/// One path parameter (`{id}`), raw.
pub type One = Result<Path<String>, PathRejection>;
/// Two path parameters (`{id}/…/{other}`), raw.
pub type Two = Result<Path<(String, String)>, PathRejection>;

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
        let who = state.core.authenticate(token).await?;
        if let Some(caller) = parts.extensions.get::<Caller>() {
            caller.set(&who);
        }
        Ok(Self(who))
    }
}

/// The caller, from an access token or an enrolment-only token (TOTP enrolment endpoints).
pub struct EnrollAuth(pub Principal);

impl FromRequestParts<AppState> for EnrollAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        Ok(Self(state.core.authenticate_for_enrollment(token).await?))
    }
}

/// Who is calling, as the transport sees them: the address (throttling;
/// `X-Forwarded-For` only from a `--trusted-proxy`), the `User-Agent` (kept
/// with a new session, for its owner's list) and the device tokens of the
/// `renraku_device` cookie.
pub struct ClientInfo(pub Client);

/// The cookie that holds the browser's device tokens.
pub const DEVICE_COOKIE: &str = "renraku_device";
/// Longer cookie values are not ours (eight tokens are about 2.5 KiB).
const MAX_DEVICE_COOKIE: usize = 4096;

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let addr = peer
            .map(|p| client_address(p, &parts.headers, &state.trusted_proxies).to_string())
            .unwrap_or_default();
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self(Client {
            addr,
            user_agent,
            device_tokens: device_tokens(&parts.headers),
        }))
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the last address of `X-Forwarded-For` that is not one (the ones before
/// it could be made up by the client).
fn client_address(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

fn device_tokens(headers: &axum::http::HeaderMap) -> Vec<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(|c| c.ok())
        .find(|c| c.name() == DEVICE_COOKIE && c.value().len() <= MAX_DEVICE_COOKIE)
        .map(|c| {
            c.value()
                .split(crate::domain::DEVICE_TOKEN_SEPARATOR)
                .take(8)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Parses an id from a path segment: 400 when it is not a UUID.
pub fn parse_id<T: FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError(Error::bad_request(format!("{what}: not a valid id"))))
}

/// The child id of a `/children/{id}/…` path.
pub fn child_id(p: One) -> Result<ChildId, ApiError> {
    let Path(raw) = p?;
    parse_id(&raw, "child id")
}

/// The child id and a second id (`what`) of a `/children/{id}/…/{other}` path.
pub fn child_and<T: FromStr>(p: Two, what: &str) -> Result<(ChildId, T), ApiError> {
    let Path((c, other)) = p?;
    Ok((parse_id(&c, "child id")?, parse_id(&other, what)?))
}
