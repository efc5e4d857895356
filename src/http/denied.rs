//! `denied` access-log records: a request under `/children/{id}/…` answered
//! 403 is reported to the domain with the caller and the route, and the
//! domain records it when the caller is a member of that child (see
//! [`Core::note_denied`](crate::domain::Core::note_denied)).
//!
//! The caller is known to the handler's [`Auth`](super::extract::Auth)
//! extractor only; this layer hands it a [`Caller`] slot through the
//! request's extensions and reads it back once the answer is a 403.

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};

use super::AppState;
use crate::domain::Principal;
use crate::ids::ChildId;

/// Where the extractor leaves the authenticated caller of this request.
#[derive(Clone, Default)]
pub(super) struct Caller(Arc<Mutex<Option<Principal>>>);

impl Caller {
    pub(super) fn set(&self, who: &Principal) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(who.clone());
        }
    }

    fn take(&self) -> Option<Principal> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The child of a `/children/{id}/…` path.
fn child_of(path: &str) -> Option<ChildId> {
    let mut parts = path.split('/');
    parts.find(|p| *p == "children")?;
    parts.next()?.parse().ok()
}

pub(super) async fn record_denied(
    State(s): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(child) = child_of(req.uri().path()) else {
        return next.run(req).await;
    };
    // The route's pattern, never the ids in the path.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("?", |m| m.as_str())
        .to_owned();
    let what = format!("{} {route}", req.method());
    let caller = Caller::default();
    req.extensions_mut().insert(caller.clone());
    let res = next.run(req).await;
    if res.status() == StatusCode::FORBIDDEN {
        if let Some(who) = caller.take() {
            s.core.note_denied(&who, child, what).await;
        }
    }
    res
}
