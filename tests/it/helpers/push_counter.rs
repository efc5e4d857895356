//! A push service on loopback that answers 201 and counts the requests per
//! path (for `--push-insecure-origin`), and subscription bodies with real
//! P-256 keys, so a test can see whether a subscription still gets pushes.

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, Uri};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use web_push_native::p256;

use super::{Registry, Session};

pub struct PushCounter {
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    paths: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PushCounter {
    pub async fn start() -> PushCounter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let rec = paths.clone();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let rec = rec.clone();
            async move {
                rec.lock().unwrap().push(uri.path().to_string());
                StatusCode::CREATED
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PushCounter {
            origin: format!("http://{addr}"),
            paths,
            task,
        }
    }

    /// Requests received at `path` so far.
    pub fn count(&self, path: &str) -> usize {
        self.paths
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// A fresh endpoint path (`/p/<token>`, registered: endpoints are capabilities).
    pub fn new_path(&self, reg: &Registry) -> String {
        let t = format!("ep{}", uuid::Uuid::new_v4().simple());
        reg.add("push endpoint token", &t);
        format!("/p/{t}")
    }
}

impl Drop for PushCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A subscription body for `endpoint` with a real P-256 key and auth secret.
pub fn push_subscription_body(reg: &Registry, endpoint: &str) -> Value {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let sk = loop {
        if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
            break k;
        }
    };
    let auth = B64.encode(rand::random::<[u8; 16]>());
    reg.add("push auth secret", &auth);
    let p256dh = B64.encode(sk.public_key().to_encoded_point(false).as_bytes());
    json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})
}

/// Subscribes `s` to pushes at `endpoint`, asserting 201; returns the id.
pub async fn push_subscribe(s: &Session, endpoint: &str) -> String {
    let body = push_subscription_body(&s.api.registry, endpoint);
    let (st, v) = s.post("/api/v1/push/subscriptions", &body).await;
    assert_eq!(st, 201, "subscribe {endpoint}: {v}");
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}
