//! HTTP and WebSocket clients for the load generator.

use anyhow::{anyhow, bail, Context};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Read buffer per socket (it grows for a larger frame).
const READ_BUFFER: usize = 8 * 1024;

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type WsSink = SplitSink<WsStream, Message>;
pub type WsRead = SplitStream<WsStream>;

/// `--insecure-tls`: the benchmark accepts the server's self-signed
/// certificate (signatures are still checked by the ring provider).
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The server's nodes: HTTP calls go to the first; sockets are spread over
/// all of them, round robin in the order they open.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
    bases: Arc<[String]>,
    next_node: Arc<AtomicUsize>,
    /// Sockets opened on each node.
    opened: Arc<[AtomicUsize]>,
}

impl Client {
    pub fn new(bases: &[String], insecure: bool) -> anyhow::Result<Self> {
        if bases.is_empty() {
            bail!("--url is required");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let tls = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(insecure)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Self {
            http,
            tls: Arc::new(tls),
            bases: bases
                .iter()
                .map(|b| b.trim_end_matches('/').to_owned())
                .collect(),
            next_node: Arc::new(AtomicUsize::new(0)),
            opened: bases.iter().map(|_| AtomicUsize::new(0)).collect(),
        })
    }

    /// How many sockets were opened on each node (`--url` order).
    pub fn sockets_per_node(&self) -> Vec<usize> {
        self.opened
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }

    /// The HTTP client itself (raw bodies: attachments).
    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    /// The first node's base URL (where HTTP calls go).
    pub fn base(&self) -> &str {
        &self.bases[0]
    }

    /// A JSON request; non-2xx answers are errors that carry the server's code.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.bases[0]));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("request {path}"))?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {}", v["error"]["code"]);
        }
        Ok(v)
    }

    pub async fn login(&self, login: &str, password: &str) -> anyhow::Result<(String, String)> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"login": login, "password": password})),
            )
            .await?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token"))?
            .to_owned();
        let id = v["account"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no account id"))?
            .to_owned();
        Ok((token, id))
    }

    /// A login as a browser would send it: with the `renraku_device` cookie
    /// it holds (if any) and, behind a trusted proxy, the client address the
    /// proxy saw. Returns the status and the device cookie set, if any.
    pub async fn login_as_browser(
        &self,
        login: &str,
        password: &str,
        device: Option<&str>,
        forwarded_for: &str,
    ) -> anyhow::Result<(u16, Option<String>)> {
        let mut req = self
            .http
            .post(format!("{}/api/v1/auth/login", self.bases[0]))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"login": login, "password": password}));
        if let Some(d) = device {
            req = req.header("cookie", format!("renraku_device={d}"));
        }
        let res = req.send().await.context("login")?;
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("renraku_device="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned);
        let status = res.status().as_u16();
        // The body is read, so that the connection goes back to the pool.
        let _ = res.bytes().await;
        Ok((status, cookie))
    }

    /// An authenticated socket (after `ready`).
    pub async fn socket(&self, token: &str) -> anyhow::Result<(WsSink, WsRead)> {
        let node = self.next_node.fetch_add(1, Ordering::Relaxed) % self.bases.len();
        self.opened[node].fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/api/v1/ws", self.bases[node].replacen("http", "ws", 1));
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        // tungstenite's default 128 KiB read buffer is zero-filled on first
        // read: 10,000 sockets would cost the bench 1.25 GiB on the cores
        // and memory it shares with the server. Frames here are small.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        // No Nagle: a frame must leave when sent, or latency includes ours.
        let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(config),
            true,
            Some(connector),
        )
        .await?;
        let (mut sink, mut read) = ws.split();
        sink.send(Message::Text(
            json!({"type": "auth", "access_token": token})
                .to_string()
                .into(),
        ))
        .await?;
        loop {
            match read.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t)?;
                    if v["type"] == "ready" {
                        return Ok((sink, read));
                    }
                }
                Some(Ok(_)) => {}
                other => bail!("socket closed before ready: {other:?}"),
            }
        }
    }
}

/// Reads frames until `subscribed` for `child`.
pub async fn subscribe(
    sink: &mut WsSink,
    read: &mut WsRead,
    child: &str,
    after: i64,
) -> anyhow::Result<()> {
    sink.send(Message::Text(
        json!({"type": "subscribe", "child_id": child, "after_seq": after})
            .to_string()
            .into(),
    ))
    .await?;
    loop {
        match read.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "subscribed" {
                    return Ok(());
                }
                if v["type"] == "error" {
                    bail!("subscribe: {}", v["code"]);
                }
            }
            Some(Ok(_)) => {}
            other => bail!("socket closed while subscribing: {other:?}"),
        }
    }
}

/// A subscribed socket, and how long its two steps took.
pub struct Subscribed {
    pub sink: WsSink,
    pub read: WsRead,
    /// TCP, TLS, upgrade, `auth` until `ready`.
    pub ready: std::time::Duration,
    /// `subscribe` until `subscribed`.
    pub subscribed: std::time::Duration,
}

/// A slow server fails the run with a clear message instead of hanging it.
const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl Client {
    /// An authenticated socket subscribed to `child` from seq 0 (the bench's
    /// children are new, so there is no backlog to read).
    pub async fn subscribed(&self, token: &str, child: &str) -> anyhow::Result<Subscribed> {
        let open = async {
            let t0 = std::time::Instant::now();
            let (mut sink, mut read) = self.socket(token).await?;
            let ready = t0.elapsed();
            subscribe(&mut sink, &mut read, child, 0).await?;
            Ok(Subscribed {
                sink,
                read,
                ready,
                subscribed: t0.elapsed() - ready,
            })
        };
        tokio::time::timeout(OPEN_TIMEOUT, open)
            .await
            .map_err(|_| anyhow!("socket for {child}: not subscribed within {OPEN_TIMEOUT:?}"))?
    }
}
