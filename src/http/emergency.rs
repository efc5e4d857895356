//! Emergency cards and contacts, alerts, push subscriptions.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{parse_id, Auth, JsonBody, One};
use super::AppState;
use crate::domain::{Alert, AlertInput, Card, CardInput, CardVersion, Contact, ContactInput};
use crate::error::Error;
use crate::ids::{AlertId, ChildId, PushSubId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_card, put_card))
        .routes(routes!(list_card_versions))
        .routes(routes!(list_contacts, set_contacts))
        .routes(routes!(raise_alert))
        .routes(routes!(list_alerts))
        .routes(routes!(get_alert))
        .routes(routes!(ack_alert))
        .routes(routes!(vapid_public_key))
        .routes(routes!(subscribe_push))
        .routes(routes!(unsubscribe_push))
}

fn id<T: std::str::FromStr>(p: One, what: &str) -> Result<T, ApiError> {
    let Path(raw) = p?;
    parse_id(&raw, what)
}

/// The child's emergency card.
#[utoipa::path(get, path = "/children/{id}/emergency-card", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "The current card", body = Card)))]
async fn get_card(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Card>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    Ok(Json(s.core.get_card(&who, child).await?))
}

/// Write a new version of the emergency card.
#[utoipa::path(put, path = "/children/{id}/emergency-card", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = CardInput,
    responses((status = 200, description = "The new version", body = Card)))]
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

/// The card's versions.
#[utoipa::path(get, path = "/children/{id}/emergency-card/versions", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "Every version, newest first", body = Vec<CardVersion>)))]
async fn list_card_versions(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<CardVersion>>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    Ok(Json(s.core.list_card_versions(&who, child).await?))
}

/// Emergency contacts.
#[utoipa::path(get, path = "/children/{id}/emergency-contacts", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Child id")),
    responses((status = 200, description = "By tier", body = Vec<Contact>)))]
async fn list_contacts(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Vec<Contact>>, ApiError> {
    let child: ChildId = id(p, "child id")?;
    Ok(Json(s.core.list_contacts(&who, child).await?))
}

/// Set the emergency contacts (consent holder).
#[utoipa::path(put, path = "/children/{id}/emergency-contacts", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = Vec<ContactInput>,
    responses((status = 200, description = "The new list", body = Vec<Contact>)))]
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

/// Raise an emergency alert.
#[utoipa::path(post, path = "/children/{id}/alerts", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = AlertInput,
    responses((status = 201, description = "Raised; pushed to the first tier, escalated until acknowledged", body = Alert)))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AlertsQuery {
    #[serde(default)]
    open: bool,
}

/// Alerts (`open=true`: only open ones).
#[utoipa::path(get, path = "/alerts", tag = "emergency", params(AlertsQuery),
    responses((status = 200, description = "Alerts of my children", body = Vec<Alert>)))]
async fn list_alerts(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let Query(q) = q?;
    Ok(Json(s.core.list_alerts(&who, q.open).await?))
}

/// One alert.
#[utoipa::path(get, path = "/alerts/{id}", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Alert id")),
    responses((status = 200, description = "The alert and its deliveries", body = Alert)))]
async fn get_alert(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Alert>, ApiError> {
    let alert: AlertId = id(p, "alert id")?;
    Ok(Json(s.core.get_alert(&who, alert).await?))
}

/// Acknowledge an alert (a contact).
#[utoipa::path(post, path = "/alerts/{id}/ack", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Alert id")),
    responses((status = 200, description = "Acknowledged; escalation stops", body = Alert)))]
async fn ack_alert(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<Alert>, ApiError> {
    let alert: AlertId = id(p, "alert id")?;
    Ok(Json(s.core.ack_alert(&who, alert, "http").await?))
}

/// The Web Push key.
#[utoipa::path(get, path = "/push/vapid-public-key", tag = "emergency",
    responses((status = 200, description = "The server's VAPID key", body = VapidKey)))]
async fn vapid_public_key(State(s): State<AppState>) -> Json<VapidKey> {
    Json(VapidKey {
        public_key: s.core.vapid_public_key().to_owned(),
    })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct VapidKey {
    /// The VAPID application server key (base64url, uncompressed P-256).
    public_key: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Subscribed {
    id: PushSubId,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PushKeys {
    p256dh: String,
    auth: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PushSubscription {
    endpoint: String,
    keys: PushKeys,
    /// Browsers' `PushSubscription.toJSON()` includes it.
    #[serde(default, rename = "expirationTime")]
    _expiration_time: Option<Value>,
}

/// Register a Web Push subscription.
#[utoipa::path(post, path = "/push/subscriptions", tag = "emergency", request_body = PushSubscription,
    responses((status = 201, description = "Subscribed", body = Subscribed)))]
async fn subscribe_push(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<PushSubscription>,
) -> Result<(StatusCode, Json<Subscribed>), ApiError> {
    let Json(sub) = body?;
    let id = s
        .core
        .add_push_subscription(&who, sub.endpoint, sub.keys.p256dh, sub.keys.auth)
        .await?;
    Ok((StatusCode::CREATED, Json(Subscribed { id })))
}

/// Remove a Web Push subscription.
#[utoipa::path(delete, path = "/push/subscriptions/{id}", tag = "emergency", params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    responses((status = 204, description = "Removed")))]
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
