//! Attachments: the raw file as the body of an upload, and its download,
//! both streamed (never held whole here).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_and, child_id, Auth, One, Two};
use super::AppState;
use crate::domain::{AttachmentInfo, UploadBody};
use crate::ids::AttachmentId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
}

/// Upload an attachment (the raw file as the body).
#[utoipa::path(post, path = "/children/{id}/attachments", tag = "entries", params(("id" = uuid::Uuid, Path, description = "Child id")),
    request_body(description = "The file itself (JPEG, PNG, WebP, HEIC or PDF)", content(
        ("image/jpeg"), ("image/png"), ("image/webp"), ("image/heic"), ("application/pdf"))),
    responses((status = 201, description = "Stored, sealed; reference it from an entry", body = AttachmentInfo)))]
async fn upload(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AttachmentInfo>), ApiError> {
    let child = child_id(p)?;
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let upload = UploadBody {
        declared_type: text(header::CONTENT_TYPE).map(str::to_owned),
        declared_len: text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        stream: body.into_data_stream(),
    };
    let info = s.core.upload_attachment(&who, child, upload).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Download an attachment an entry I see references.
#[utoipa::path(get, path = "/children/{id}/attachments/{aid}", tag = "entries",
    params(("id" = uuid::Uuid, Path, description = "Child id"), ("aid" = uuid::Uuid, Path, description = "Attachment id")),
    responses((status = 200, description = "The file", content(
        ("image/jpeg"), ("image/png"), ("image/webp"), ("image/heic"), ("application/pdf")))))]
async fn download(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: Two,
) -> Result<Response, ApiError> {
    let (child, aid): (_, AttachmentId) = child_and(p, "attachment id")?;
    let file = s.core.read_attachment(&who, child, aid).await?;
    let disposition = format!("attachment; filename=\"{}\"", file.file_name);
    let headers = [
        (header::CONTENT_TYPE, file.content_type),
        (header::CONTENT_LENGTH, file.size.to_string()),
        (header::CONTENT_DISPOSITION, disposition),
        // Never a document of this origin, whatever a viewer makes of it.
        (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
    ];
    Ok((headers, Body::from_stream(file.body)).into_response())
}
