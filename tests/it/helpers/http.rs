//! The HTTP client: TLS trust in the server's own certificate, `Api`
//! (requests, login, refresh, recording every token seen) and the contract's
//! error body.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::{Registry, Session, DEMO_PASSWORD};

pub fn rustls_config(cert_pem: &[u8]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let mut rd = cert_pem;
    for cert in rustls_pemfile::certs(&mut rd) {
        roots.add(cert.unwrap()).unwrap();
    }
    assert!(!roots.is_empty(), "no certificate in tls/cert.pem");
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub(super) cert_pem: Option<Arc<Vec<u8>>>,
    pub(super) ws_url: String,
    pub registry: Registry,
}

/// Status and JSON body (`Null` for an empty body, a string for non-JSON).
pub type Resp = (u16, Value);

impl Api {
    pub(super) fn new(base: &str, cert_pem: Option<&[u8]>, registry: Registry) -> Api {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60));
        if let Some(pem) = cert_pem {
            b = b
                .use_rustls_tls()
                .add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
        }
        let addr = base
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let scheme = if cert_pem.is_some() { "wss" } else { "ws" };
        Api {
            client: b.build().unwrap(),
            base: base.to_string(),
            cert_pem: cert_pem.map(|p| Arc::new(p.to_vec())),
            ws_url: format!("{scheme}://{addr}/api/v1/ws"),
            registry,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            self.registry.add_token("bearer token", t);
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.unwrap();
        read_resp(resp).await
    }

    /// Sends raw bytes as `application/json`.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            self.registry.add_token("bearer token", t);
            rb = rb.bearer_auth(t);
        }
        match rb.send().await {
            Ok(resp) => read_resp(resp).await,
            Err(e) => panic!("request {path} failed: {e}"),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Raw login answer.
    pub async fn login_raw(&self, login: &str, password: &str, totp: Option<&str>) -> Resp {
        let mut body = json!({"login": login, "password": password});
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        let r = self.post("/api/v1/auth/login", None, &body).await;
        self.record_tokens(&r.1);
        r
    }

    pub fn record_tokens(&self, v: &Value) {
        for k in ["access_token", "refresh_token", "enrollment_token"] {
            if let Some(t) = v.get(k).and_then(Value::as_str) {
                self.registry.add_token(k, t);
            }
        }
        if let Some(t) = v
            .get("error")
            .and_then(|e| e.get("enrollment_token"))
            .and_then(Value::as_str)
        {
            self.registry.add_token("enrollment_token", t);
        }
        if let Some(s) = v.get("secret").and_then(Value::as_str) {
            self.registry.add("totp secret", s);
        }
    }

    /// Logs in a demo account, asserting 200.
    pub async fn login(&self, login: &str) -> Session {
        self.login_with(login, DEMO_PASSWORD, None).await
    }

    pub async fn login_with(&self, login: &str, password: &str, totp: Option<&str>) -> Session {
        let (st, v) = self.login_raw(login, password, totp).await;
        assert_eq!(st, 200, "login {login}: {v}");
        Session::from_login(self.clone(), &v)
    }

    pub async fn refresh_raw(&self, refresh_token: &str) -> Resp {
        self.registry.add_token("refresh_token", refresh_token);
        let r = self
            .post(
                "/api/v1/auth/refresh",
                None,
                &json!({"refresh_token": refresh_token}),
            )
            .await;
        self.record_tokens(&r.1);
        r
    }
}

async fn read_resp(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

/// The `error.code` of an HTTP error body (or "" when absent).
pub fn err_code(v: &Value) -> &str {
    v.pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Asserts `(status, body)` is the contract's error `{"error":{"code","message"}}`.
#[track_caller]
pub fn assert_err(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.0, status, "expected {status} {code}, got {} {}", r.0, r.1);
    assert_eq!(err_code(&r.1), code, "wrong error code in {}", r.1);
    assert!(
        r.1.pointer("/error/message")
            .and_then(Value::as_str)
            .is_some(),
        "error without message: {}",
        r.1
    );
}
