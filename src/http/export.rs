//! Exports of a notebook (FHIR, printable HTML, age file).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::{child_id, Auth, JsonBody, One};
use super::AppState;
use crate::error::Error;
use crate::export::{render, slot, ExportInput, Request};

pub fn router() -> Router<AppState> {
    Router::new().route("/children/{id}/export", post(export))
}

/// `POST /api/v1/children/{id}/export`: the export is the body, made in
/// memory (scrypt and sealing off the async workers, at most two at once)
/// and never stored.
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
