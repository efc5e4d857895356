//! Exports of a notebook (FHIR, printable HTML, age file).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{child_id, Auth, JsonBody, One};
use super::AppState;
use crate::error::Error;
use crate::export::{render, slot, ExportInput, Request};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// Export the notebook (guardians, youth).
/// memory (scrypt and sealing off the async workers, at most two at once)
/// and never stored.
#[utoipa::path(post, path = "/children/{id}/export", tag = "records", params(("id" = uuid::Uuid, Path, description = "Child id")), request_body = ExportInput,
    responses((status = 200, description = "The export file (`fhir`, `html`, or `age` to a recipient or passphrase)", content(
        ("application/fhir+json"), ("text/html"), ("application/octet-stream")))))]
async fn export(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<ExportInput>,
) -> Result<Response, ApiError> {
    let child = child_id(p)?;
    let Json(input) = body?;
    let req = Request::parse(input)?;
    let slot = slot()?;
    let notebook = s.core.export_notebook(&who, child, req.format()).await?;
    let name = match &req {
        Request::Fhir => "renraku-export.fhir.json",
        Request::Html => "renraku-export.html",
        Request::Age(_) => "renraku-export.tar.age",
    };
    let out = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        render(&notebook, req)
    })
    .await
    .map_err(Error::internal)??;
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, out.content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out.bytes,
    )
        .into_response())
}
