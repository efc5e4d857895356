//! Emergency cards and contacts, alerts, push subscriptions.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{parse_id, Auth, JsonBody, One};
use super::AppState;
use crate::domain::{Alert, AlertInput, Card, CardInput, CardVersion, Contact, ContactInput};
use crate::error::Error;
use crate::ids::{AlertId, ChildId, PushSubId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/emergency-card", get(get_card).put(put_card))
        .route(
            "/children/{id}/emergency-card/versions",
            get(list_card_versions),
        )
        .route(
            "/children/{id}/emergency-contacts",
            get(list_contacts).put(set_contacts),
        )
        .route("/children/{id}/alerts", post(raise_alert))
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}", get(get_alert))
        .route("/alerts/{id}/ack", post(ack_alert))
        .route("/push/vapid-public-key", get(vapid_public_key))
        .route("/push/subscriptions", post(subscribe_push))
        .route("/push/subscriptions/{id}", delete(unsubscribe_push))
}

fn id<T: std::str::FromStr>(p: One, what: &str) -> Result<T, ApiError> {
    let Path(raw) = p?;
    parse_id(&raw, what)
}

/// `GET /api/v1/children/{id}/emergency-card`
async fn get_card(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Card>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    Ok(Json(s.core.get_card(&who, child).await?))
}

/// `PUT /api/v1/children/{id}/emergency-card`
async fn put_card(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<CardInput>,
) -> Result<Json<Card>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    let Json(input) = body?;
    Ok(Json(s.core.put_card(&who, child, input).await?))
}

/// `GET /api/v1/children/{id}/emergency-card/versions`
async fn list_card_versions(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<CardVersion>>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    Ok(Json(s.core.list_card_versions(&who, child).await?))
}

/// `GET /api/v1/children/{id}/emergency-contacts`
async fn list_contacts(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<Contact>>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    Ok(Json(s.core.list_contacts(&who, child).await?))
}

/// `PUT /api/v1/children/{id}/emergency-contacts`
async fn set_contacts(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<Vec<ContactInput>>,
) -> Result<Json<Vec<Contact>>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    let Json(input) = body?;
    Ok(Json(s.core.set_contacts(&who, child, input).await?))
}

/// `POST /api/v1/children/{id}/alerts`
async fn raise_alert(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<AlertInput>,
) -> Result<(StatusCode, Json<Alert>), ApiError> {
    let child: ChildId = id(p, "child id")?;
    let Json(input) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.raise_alert(&who, child, input).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsQuery {
    #[serde(default)]
    open: bool,
}

/// `GET /api/v1/alerts?open=true`
async fn list_alerts(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.list_alerts(&who, q.open).await?))
}

/// `GET /api/v1/alerts/{id}`
async fn get_alert(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Alert>, ApiError> {
    let alert: AlertId = id(p, "alert id")?;
    Ok(Json(s.core.get_alert(&who, alert).await?))
}

/// `POST /api/v1/alerts/{id}/ack`
async fn ack_alert(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Alert>, ApiError> {
    let alert: AlertId = id(p, "alert id")?;
    Ok(Json(s.core.ack_alert(&who, alert, "http").await?))
}

/// `GET /api/v1/push/vapid-public-key`
async fn vapid_public_key(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"public_key": s.core.vapid_public_key()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushKeys {
    p256dh: String,
    auth: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushSubscription {
    endpoint: String,
    keys: PushKeys,
    /// Browsers' `PushSubscription.toJSON()` includes it.
    #[serde(default, rename = "expirationTime")]
    _expiration_time: Option<Value>,
}

/// `POST /api/v1/push/subscriptions`
async fn subscribe_push(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<PushSubscription>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(sub) = body?;
    let id = s
        .core
        .add_push_subscription(&who, sub.endpoint, sub.keys.p256dh, sub.keys.auth)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

/// `DELETE /api/v1/push/subscriptions/{id}`
async fn unsubscribe_push(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<StatusCode, ApiError> {
    let sub: PushSubId = id(p, "subscription id")?;
    if s.core.remove_push_subscription(&who, sub).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(Error::NotFound))
    }
}
