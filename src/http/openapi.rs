//! The OpenAPI 3.1 document, `GET /api/v1/openapi.json`: built from the
//! handlers' `#[utoipa::path]` attributes and the types they take and
//! return, by the same `OpenApiRouter` calls that register the routes, so a
//! route cannot exist without its entry. What the annotations cannot say
//! (the error shape of every operation, who may call without a token, the
//! WebSocket frames) is added here once.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// Every error answer: `{"error": {"code", "message"}}` (PROTOCOL.md, Errors).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: answers are built by `error::ApiError`
pub struct ErrorBody {
    error: ErrorDetail,
    /// Only on `totp_enrollment_required`: the token that may call the
    /// `/me/totp` enrolment operations.
    #[schema(nullable = false)]
    enrollment_token: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `rate_limited`, …
    code: String,
    /// A human-readable message (never child data).
    message: String,
}

/// Operations a client calls without an access token.
const PUBLIC: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/auth/accept-invitation",
    "/api/v1/auth/refresh",
    "/api/v1/push/vapid-public-key",
    "/api/v1/openapi.json",
    "/healthz",
    "/readyz",
];

/// The prose page of the WebSocket protocol (the frames are not HTTP
/// operations, so OpenAPI cannot describe them).
const WS_DESCRIPTION: &str = include_str!("openapi_ws.md");

/// Completes the document the router collected: title, security, the
/// error answer of every operation.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "Renraku API".to_owned();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.description = Some(WS_DESCRIPTION.to_owned());
    doc.info.license = None;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("The access token of `POST /api/v1/auth/login`."))
                .build(),
        ),
    );
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    let mut nested = Vec::new();
    <ErrorBody as ToSchema>::schemas(&mut nested);
    for (name, schema) in nested {
        components.schemas.insert(name, schema);
    }
    let error = ResponseBuilder::new()
        .description("An error: the status says which (PROTOCOL.md, Errors).")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = PUBLIC.contains(&path.as_str());
        for op in operations(item) {
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| error.clone().into());
            if !public {
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
            }
        }
    }
    doc
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The served document, rendered by the first router built (the same for
/// every router of the process: it depends on the code only).
static DOCUMENT: OnceLock<Bytes> = OnceLock::new();

pub fn set_document(doc: &OpenApi) {
    DOCUMENT.get_or_init(|| Bytes::from(doc.to_pretty_json().unwrap_or_default()));
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<super::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(document))
}

/// The OpenAPI 3.1 document of every route.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)))]
pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get().cloned().unwrap_or_default(),
    )
}
