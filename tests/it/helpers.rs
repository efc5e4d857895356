//! Test harness: spawns the real `renraku` binary, HTTP and WebSocket client
//! wrappers, and the log-hygiene registry (every token, secret, marker and
//! child name a test touches must never show up in the server's stderr).

#![allow(dead_code)] // helpers are shared by modules that each use a part

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Password of every demo account (shared/DEMO.md).
pub const DEMO_PASSWORD: &str = "renraku-demo";

/// Default receive timeout: a missing frame fails the test instead of hanging it.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);

pub const HINATA: &str = "佐藤 ひなた";
pub const SOTA: &str = "高橋 そうた";
pub const REN: &str = "渡辺 蓮";
pub const YUI: &str = "中村 ゆい";

/// Child data that must never appear in logs or on disk: the four demo
/// children's names (with and without the space) and kana.
pub const DEMO_CHILD_SECRETS: &[&str] = &[
    "佐藤 ひなた",
    "佐藤ひなた",
    "高橋 そうた",
    "高橋そうた",
    "渡辺 蓮",
    "渡辺蓮",
    "中村 ゆい",
    "中村ゆい",
    "さとう ひなた",
    "さとうひなた",
    "たかはし そうた",
    "たかはしそうた",
    "わたなべ れん",
    "わたなべれん",
    "なかむら ゆい",
    "なかむらゆい",
];

// ---------------------------------------------------------------------------
// Secret registry
// ---------------------------------------------------------------------------

/// Everything a test has seen that must never be logged: tokens, TOTP
/// secrets, passwords of created accounts, entry markers, child names.
#[derive(Clone, Default)]
pub struct Registry(Arc<Mutex<Vec<(String, String)>>>);

impl Registry {
    pub fn add(&self, kind: &str, value: &str) {
        // Very short strings would give false positives (and are not secrets).
        if value.chars().count() < 6 {
            return;
        }
        let mut v = self.0.lock().unwrap();
        if !v.iter().any(|(_, s)| s == value) {
            v.push((kind.to_string(), value.to_string()));
        }
    }

    /// Records a bearer token, and for a JWT also its signature segment.
    pub fn add_token(&self, kind: &str, token: &str) {
        self.add(kind, token);
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() == 3 && parts[2].len() >= 16 {
            self.add(&format!("{kind} (signature)"), parts[2]);
        }
    }

    pub fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

/// A unique marker string (registered as a secret): `mk` + 32 hex digits.
pub fn new_marker(reg: &Registry) -> String {
    let m = format!("mk{}", uuid::Uuid::new_v4().simple());
    reg.add("marker", &m);
    m
}

// ---------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------

pub struct ServerOpts {
    pub flags: Vec<String>,
    pub rust_log: String,
    /// A database of the test's own (else a fresh one on the suite's PostgreSQL, or SQLite).
    pub database_url: Option<String>,
}

impl Default for ServerOpts {
    fn default() -> Self {
        ServerOpts {
            flags: Vec::new(),
            rust_log: "debug".to_string(),
            database_url: None,
        }
    }
}

/// The PostgreSQL server the suite runs against, when the test command set
/// one up (`RENRAKU_TEST_POSTGRES=postgres://user@host:port`); SQLite otherwise.
pub fn test_postgres() -> Option<String> {
    std::env::var("RENRAKU_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh, empty database on the test PostgreSQL server.
pub async fn fresh_database(base: &str) -> String {
    use sqlx::{Connection, Executor};
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = format!("{}/postgres", base.trim_end_matches('/'));
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    conn.execute(format!("create database {name}").as_str())
        .await
        .expect("create a test database");
    conn.close().await.ok();
    format!("{}/{name}", base.trim_end_matches('/'))
}

/// Runs `renraku demo` against `database_url`, expecting it to refuse to
/// start (within 60 s); returns its stderr.
pub async fn demo_refused(database_url: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let extra = ["--database-url", database_url];
    refused(
        "demo",
        &data,
        &extra,
        "it started on a non-durable database",
    )
    .await
}

/// Runs `renraku CMD --data-dir DIR --listen 127.0.0.1:0 EXTRA` (with no
/// database URL from the environment), expecting it to exit unsuccessfully
/// within 60 s without listening; returns its stderr.
pub async fn refused(cmd: &str, data_dir: &std::path::Path, extra: &[&str], why: &str) -> String {
    let out = tokio::process::Command::new(bin())
        .arg(cmd)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(extra)
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("renraku must exit, not serve")
        .unwrap();
    assert!(!out.status.success(), "{cmd}: {why}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "{cmd}: it must not listen"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One `renraku` process on a temporary data dir.
pub struct Server {
    /// The first node owns the temporary data dir; a second node shares it.
    _tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    /// `Some` when the suite runs against PostgreSQL: this server's own database.
    pub database_url: Option<String>,
    /// That database's directory in the cluster (`base/<oid>`).
    pg_dir: Option<PathBuf>,
    opts: ServerOpts,
    child: Option<Child>,
    stderr_thread: Option<JoinHandle<()>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// `https://127.0.0.1:PORT` (or `http://` with `--insecure-http`)
    pub base: String,
    pub registry: Registry,
    cert_pem: Option<Vec<u8>>,
    api: Option<Api>,
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartError {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_renraku")
}

impl Server {
    /// `renraku demo` on a fresh data dir with default flags.
    pub async fn demo() -> Server {
        Self::demo_with(&[]).await
    }

    /// `renraku demo` on a fresh data dir with extra serve flags.
    pub async fn demo_with(flags: &[&str]) -> Server {
        Self::demo_opts(ServerOpts {
            flags: flags.iter().map(|s| s.to_string()).collect(),
            ..ServerOpts::default()
        })
        .await
    }

    pub async fn demo_opts(opts: ServerOpts) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let registry = Registry::default();
        for s in DEMO_CHILD_SECRETS {
            registry.add("demo child name", s);
        }
        let database_url = match (&opts.database_url, test_postgres()) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(base)) => Some(fresh_database(&base).await),
            (None, None) => None,
        };
        let pg_dir = match &database_url {
            Some(url) => Some(database_dir(url).await),
            None => None,
        };
        let mut server = Server {
            _tmp: Some(tmp),
            dir,
            database_url,
            pg_dir,
            opts,
            child: None,
            stderr_thread: None,
            stderr: Arc::new(Mutex::new(Vec::new())),
            stdout: Arc::new(Mutex::new(Vec::new())),
            addr: String::new(),
            base: String::new(),
            registry,
            cert_pem: None,
            api: None,
        };
        if let Err(e) = server.spawn("demo").await {
            panic!("renraku demo did not start: {e:?}");
        }
        server.after_start();
        server
    }

    /// Another node of the same deployment (PostgreSQL only): the same key
    /// files and database, `renraku serve`, its own port and log.
    pub async fn second_node(&self, flags: &[&str]) -> Server {
        assert!(self.database_url.is_some(), "several nodes need PostgreSQL");
        let mut server = Server {
            _tmp: None,
            dir: self.dir.clone(),
            database_url: self.database_url.clone(),
            pg_dir: self.pg_dir.clone(),
            opts: ServerOpts {
                flags: flags.iter().map(|s| s.to_string()).collect(),
                ..ServerOpts::default()
            },
            child: None,
            stderr_thread: None,
            stderr: Arc::new(Mutex::new(Vec::new())),
            stdout: Arc::new(Mutex::new(Vec::new())),
            addr: String::new(),
            base: String::new(),
            registry: self.registry.clone(),
            cert_pem: None,
            api: None,
        };
        if let Err(e) = server.spawn("serve").await {
            panic!("second node did not start: {e:?}");
        }
        server.after_start();
        server
    }

    /// Everything the server wrote to stderr so far (all runs).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn is_tls(&self) -> bool {
        self.base.starts_with("https://")
    }

    pub fn ws_url(&self) -> String {
        let scheme = if self.is_tls() { "wss" } else { "ws" };
        format!("{scheme}://{}/api/v1/ws", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server not running").id()
    }

    fn after_start(&mut self) {
        if self.is_tls() {
            let pem = std::fs::read(self.dir.join("tls/cert.pem")).unwrap();
            self.cert_pem = Some(pem);
        }
        // The signing key is a secret too: it must never be logged.
        if let Ok(k) = std::fs::read_to_string(self.dir.join("keys/token-signing.key")) {
            self.registry.add("token signing key", k.trim());
        }
        self.api = Some(Api::new(
            &self.base,
            self.cert_pem.as_deref(),
            self.registry.clone(),
        ));
    }

    /// Spawns `renraku <cmd> --data-dir DIR --listen 127.0.0.1:0 FLAGS` and
    /// waits (60 s at most) for its listening line.
    async fn spawn(&mut self, cmd: &str) -> Result<(), StartError> {
        let mut command = Command::new(bin());
        command
            .arg(cmd)
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&self.opts.flags)
            .args(
                self.database_url
                    .iter()
                    .flat_map(|u| ["--database-url".to_owned(), u.clone()]),
            )
            .env("RUST_LOG", &self.opts.rust_log)
            .env_remove("RUST_LOG_STYLE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn renraku");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();

        let err_buf = self.stderr.clone();
        let stderr_thread = std::thread::spawn(move || {
            let mut r = stderr;
            let mut buf = [0u8; 8192];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => err_buf.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let out_buf = self.stdout.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        out_buf.lock().unwrap().extend_from_slice(line.as_bytes());
                        if let Some(rest) = line.trim().strip_prefix("renraku listening on ") {
                            let _ = tx.send(rest.trim().to_string());
                        }
                    }
                }
            }
        });

        self.child = Some(child);
        self.stderr_thread = Some(stderr_thread);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                Ok(Some(url)) => {
                    self.base = url.trim_end_matches('/').to_string();
                    self.addr = self
                        .base
                        .trim_start_matches("https://")
                        .trim_start_matches("http://")
                        .to_string();
                    return Ok(());
                }
                Ok(None) | Err(_) => {
                    let exited = self.child.as_mut().unwrap().try_wait().unwrap();
                    if let Some(status) = exited {
                        self.child = None;
                        if let Some(t) = self.stderr_thread.take() {
                            let _ = t.join();
                        }
                        return Err(StartError {
                            status: Some(status),
                            stderr: self.log(),
                        });
                    }
                    if Instant::now() > deadline {
                        self.kill();
                        return Err(StartError {
                            status: None,
                            stderr: self.log(),
                        });
                    }
                }
            }
        }
    }

    /// HTTP client for this server (after a restart, ask again: the port changes).
    pub fn api(&self) -> Api {
        self.api.clone().expect("server not started")
    }

    /// Logs in a demo account (password `renraku-demo`), asserting 200.
    pub async fn login(&self, login: &str) -> Session {
        self.api().login(login).await
    }

    pub fn marker(&self) -> String {
        new_marker(&self.registry)
    }

    /// SIGKILL (std `Child::kill`), then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
    }

    /// SIGTERM via `kill -TERM`, then waits (30 s at most) for the exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.pid();
        let st = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(st.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                if let Some(t) = self.stderr_thread.take() {
                    let _ = t.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit within 30 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts `renraku serve` again on the same data dir (after kill/terminate).
    pub async fn restart(&mut self) {
        if let Err(e) = self.try_restart().await {
            panic!("renraku serve did not restart: {e:?}");
        }
    }

    pub async fn try_restart(&mut self) -> Result<(), StartError> {
        self.kill();
        self.spawn("serve").await?;
        self.after_start();
        Ok(())
    }

    /// Asserts the stderr captured so far contains no registered secret.
    pub fn check_logs(&self) {
        // Give the reader thread a moment to copy what is in the pipe.
        std::thread::sleep(Duration::from_millis(200));
        check_log_text(&self.log(), &self.registry);
    }

    /// Every file under the data dir, recursively, with its bytes.
    /// Every file under the data dir and, on PostgreSQL, under the test
    /// cluster's own data directory (`RENRAKU_TEST_PGDATA`: heap, WAL, all).
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.dir, &mut out);
        if let Some(db_dir) = &self.pg_dir {
            // This test's own database files, and the cluster's WAL (which
            // every write goes through first).
            let pgdata = std::env::var("RENRAKU_TEST_PGDATA")
                .expect("RENRAKU_TEST_PGDATA must name the test cluster's data directory");
            let pgdata = Path::new(&pgdata);
            walk(&pgdata.join(db_dir), &mut out);
            walk(&pgdata.join("pg_wal"), &mut out);
        }
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(&p, out);
        } else if ft.is_file() {
            // A file may vanish between listing and reading (SHM, journals).
            if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
}

pub fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

pub fn count_bytes(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    memchr::memmem::find_iter(hay, needle).count()
}

/// The directory of one database inside the cluster (`base/<oid>`).
async fn database_dir(url: &str) -> PathBuf {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    let row =
        sqlx::query("select oid::int8 as oid from pg_database where datname = current_database()")
            .fetch_one(&mut conn)
            .await
            .expect("database oid");
    let oid: i64 = row.get("oid");
    conn.close().await.ok();
    PathBuf::from("base").join(oid.to_string())
}

/// The forms a secret can take in a log line: as is, and for non-ASCII text
/// also escaped as bytes (`\xe4\xbd\x90`, Rust's byte Debug) and as JSON
/// (`\u4f50`) or Rust (`\u{4f50}`) unicode escapes.
fn log_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    if !secret.is_ascii() {
        forms.push(secret.as_bytes().escape_ascii().to_string());
        let mut json = String::new();
        let mut rust = String::new();
        for c in secret.chars() {
            if c.is_ascii() {
                json.push(c);
                rust.push(c);
            } else {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    json.push_str(&format!("\\u{u:04x}"));
                }
                rust.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        }
        forms.push(json);
        forms.push(rust);
    }
    forms
}

pub fn check_log_text(log: &str, reg: &Registry) {
    let mut leaks = Vec::new();
    // ASCII-only lowercasing keeps byte offsets identical to `log`.
    let lower = log.to_ascii_lowercase();
    for (kind, secret) in reg.all() {
        let found = log_forms(&secret).into_iter().find_map(|f| {
            if f != secret {
                // Escapes may be printed with upper- or lower-case hex digits.
                lower.find(&f.to_ascii_lowercase())
            } else {
                log.find(&f)
            }
        });
        if let Some(pos) = found {
            let start = log[..pos]
                .char_indices()
                .rev()
                .nth(80)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let line_ctx: String = log[start..].chars().take(240).collect();
            leaks.push(format!("{kind} {secret:?} found in log near: {line_ctx:?}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "server log leaks {} secret(s):\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            check_log_text(&self.log(), &self.registry);
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

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
    cert_pem: Option<Arc<Vec<u8>>>,
    ws_url: String,
    pub registry: Registry,
}

/// Status and JSON body (`Null` for an empty body, a string for non-JSON).
pub type Resp = (u16, Value);

impl Api {
    fn new(base: &str, cert_pem: Option<&[u8]>, registry: Registry) -> Api {
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

/// A logged-in session.
#[derive(Clone)]
pub struct Session {
    pub api: Api,
    pub access: String,
    pub refresh: String,
    pub account_id: String,
    pub login: String,
    pub account: Value,
}

impl Session {
    pub fn from_login(api: Api, v: &Value) -> Session {
        let access = v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {v}"))
            .to_string();
        let refresh = v["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh_token in {v}"))
            .to_string();
        let account = v["account"].clone();
        Session {
            api,
            access,
            refresh,
            account_id: account["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no account.id in {v}"))
                .to_string(),
            login: account["login"].as_str().unwrap_or("").to_string(),
            account,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.api.get(path, Some(&self.access)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.api.post(path, Some(&self.access), body).await
    }

    pub async fn post_empty(&self, path: &str) -> Resp {
        self.api
            .request(reqwest::Method::POST, path, Some(&self.access), None)
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.api
            .request(reqwest::Method::PATCH, path, Some(&self.access), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Resp {
        self.api
            .request(reqwest::Method::DELETE, path, Some(&self.access), body)
            .await
    }

    /// `GET /api/v1/children` → name → id.
    pub async fn children(&self) -> Vec<Value> {
        let (st, v) = self.get("/api/v1/children").await;
        assert_eq!(st, 200, "GET /children: {v}");
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .clone()
    }

    /// Id of the child with this name among my notebooks.
    pub async fn child_id(&self, name: &str) -> String {
        let list = self.children().await;
        list.iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("{} has no child {name} in {list:?}", self.login))
            .to_string()
    }

    /// `POST /children/{id}/entries`.
    pub async fn post_entry(&self, child: &str, category: &str, kind: &str, body: Value) -> Resp {
        self.post_entry_cid(child, &new_client_id(), category, kind, body)
            .await
    }

    pub async fn post_entry_cid(
        &self,
        child: &str,
        client_id: &str,
        category: &str,
        kind: &str,
        body: Value,
    ) -> Resp {
        self.post(
            &format!("/api/v1/children/{child}/entries"),
            &json!({"client_id": client_id, "category": category, "kind": kind, "body": body}),
        )
        .await
    }

    /// Posts a note and asserts 201; returns the Entry.
    pub async fn note(&self, child: &str, category: &str, text: &str) -> Value {
        let r = self
            .post_entry(child, category, "note", json!({"text": text}))
            .await;
        assert_eq!(r.0, 201, "post note by {}: {}", self.login, r.1);
        r.1
    }

    /// Every visible entry (paging with `after_seq`).
    pub async fn all_entries(&self, child: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0i64;
        loop {
            let (st, v) = self
                .get(&format!(
                    "/api/v1/children/{child}/entries?after_seq={after}&limit=100"
                ))
                .await;
            assert_eq!(st, 200, "GET entries as {}: {v}", self.login);
            let list = v["entries"].as_array().unwrap().clone();
            if list.is_empty() {
                return out;
            }
            for e in &list {
                let s = e["seq"].as_i64().unwrap();
                assert!(s > after, "entries not ascending after {after}: {v}");
                after = s;
            }
            out.extend(list);
        }
    }

    pub async fn last_seq(&self, child: &str) -> i64 {
        let (st, v) = self
            .get(&format!(
                "/api/v1/children/{child}/entries?after_seq=0&limit=1"
            ))
            .await;
        assert_eq!(st, 200, "{v}");
        v["last_seq"]
            .as_i64()
            .unwrap_or_else(|| panic!("no last_seq: {v}"))
    }

    pub async fn ws(&self) -> Ws {
        Ws::connect_auth(&self.api, &self.access).await
    }
}

pub fn new_client_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

// ---------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the next read from a socket gave.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    /// A text frame that is not JSON, or a binary frame.
    Other(String),
    /// Close frame with its code (None: close without a code).
    Close(Option<u16>),
    /// The connection ended without a close frame (or with an error).
    Ended(String),
    Timeout,
}

pub struct Ws {
    pub stream: WsStream,
    pub account_id: Option<String>,
}

impl Ws {
    pub async fn try_connect(
        api: &Api,
        origin: Option<&str>,
    ) -> Result<WsStream, tokio_tungstenite::tungstenite::Error> {
        let mut req = api.ws_url.as_str().into_client_request().unwrap();
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).unwrap());
        }
        let connector = api.cert_pem.as_ref().map(|pem| {
            tokio_tungstenite::Connector::Rustls(Arc::new(rustls_config(pem.as_slice())))
        });
        let fut = tokio_tungstenite::connect_async_tls_with_config(req, None, false, connector);
        match tokio::time::timeout(Duration::from_secs(10), fut).await {
            Ok(r) => r.map(|(s, _)| s),
            Err(_) => panic!("WebSocket handshake timed out"),
        }
    }

    /// Connects without authenticating.
    pub async fn connect(api: &Api) -> Ws {
        let stream = Self::try_connect(api, None)
            .await
            .unwrap_or_else(|e| panic!("ws connect: {e}"));
        Ws {
            stream,
            account_id: None,
        }
    }

    /// Connects, sends the auth frame and expects `ready`.
    pub async fn connect_auth(api: &Api, token: &str) -> Ws {
        let mut ws = Self::connect(api).await;
        api.registry.add_token("bearer token", token);
        ws.send(json!({"type": "auth", "access_token": token}))
            .await;
        let ready = ws.recv().await;
        assert_eq!(ready["type"], "ready", "expected ready, got {ready}");
        ws.account_id = ready["account_id"].as_str().map(str::to_string);
        assert!(ws.account_id.is_some(), "ready without account_id: {ready}");
        ws
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, s: &str) {
        self.stream
            .send(Message::text(s.to_string()))
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    pub async fn try_send(&mut self, msg: Message) -> Result<(), String> {
        self.stream.send(msg).await.map_err(|e| e.to_string())
    }

    /// The next frame within `d` (pings/pongs skipped).
    pub async fn next_frame(&mut self, d: Duration) -> Frame {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let r = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Frame::Timeout,
                Ok(r) => r,
            };
            match r {
                None => return Frame::Ended("stream ended".into()),
                Some(Err(e)) => return Frame::Ended(e.to_string()),
                Some(Ok(Message::Text(t))) => {
                    return match serde_json::from_str::<Value>(t.as_str()) {
                        Ok(v) => Frame::Json(v),
                        Err(_) => Frame::Other(t.to_string()),
                    }
                }
                Some(Ok(Message::Binary(b))) => {
                    return Frame::Other(format!("binary frame of {} bytes", b.len()))
                }
                Some(Ok(Message::Close(cf))) => return Frame::Close(cf.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next JSON frame, within 5 s; panics on anything else.
    #[track_caller]
    pub fn recv(&mut self) -> impl std::future::Future<Output = Value> + '_ {
        let loc = std::panic::Location::caller();
        async move {
            match self.next_frame(RECV_TIMEOUT).await {
                Frame::Json(v) => v,
                other => panic!("{loc}: expected a JSON frame, got {other:?}"),
            }
        }
    }

    /// The next JSON frame within `d`, or None on timeout; panics on close.
    pub async fn recv_within(&mut self, d: Duration) -> Option<Value> {
        match self.next_frame(d).await {
            Frame::Json(v) => Some(v),
            Frame::Timeout => None,
            other => panic!("expected a JSON frame or silence, got {other:?}"),
        }
    }

    /// Reads frames until one has `"type": ty` (5 s overall); returns it and
    /// the frames skipped on the way.
    pub async fn recv_type(&mut self, ty: &str) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + RECV_TIMEOUT;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["type"] == ty => return (v, skipped),
                Frame::Json(v) => skipped.push(v),
                other => panic!("waiting for {ty:?}: got {other:?} after {skipped:?}"),
            }
        }
    }

    /// Reads (skipping text frames) until the close frame; asserts its code.
    /// Returns the JSON frames read before it.
    pub async fn expect_close(&mut self, code: u16) -> Vec<Value> {
        self.expect_close_within(code, RECV_TIMEOUT).await
    }

    pub async fn expect_close_within(&mut self, code: u16, d: Duration) -> Vec<Value> {
        let deadline = Instant::now() + d;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) => before.push(v),
                Frame::Other(_) => {}
                Frame::Close(c) => {
                    assert_eq!(
                        c,
                        Some(code),
                        "expected close {code}, got close {c:?} (after {} frames)",
                        before.len()
                    );
                    return before;
                }
                Frame::Ended(e) => panic!(
                    "expected close {code}, connection ended without close frame: {e} (after {} frames)",
                    before.len()
                ),
                Frame::Timeout => panic!(
                    "expected close {code}, nothing within {d:?} (after {} frames)",
                    before.len()
                ),
            }
        }
    }

    /// Asserts no JSON frame arrives within `d` (used only after a sentinel
    /// proved delivery caught up, or where the contract is about time).
    pub async fn expect_silence(&mut self, d: Duration) {
        match self.next_frame(d).await {
            Frame::Timeout => {}
            other => panic!("expected silence for {d:?}, got {other:?}"),
        }
    }

    /// Subscribes and collects the backlog: returns (entries, last_seq of `subscribed`).
    pub async fn subscribe(&mut self, child: &str, after_seq: i64) -> (Vec<Value>, i64) {
        self.send(json!({"type": "subscribe", "child_id": child, "after_seq": after_seq}))
            .await;
        let mut entries = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["type"] == "entry" => {
                    assert_eq!(
                        v["entry"]["child_id"], child,
                        "backlog of another child: {v}"
                    );
                    entries.push(v["entry"].clone());
                }
                Frame::Json(v) if v["type"] == "subscribed" => {
                    assert_eq!(v["child_id"], child, "{v}");
                    let last = v["last_seq"]
                        .as_i64()
                        .unwrap_or_else(|| panic!("subscribed without last_seq: {v}"));
                    return (entries, last);
                }
                other => panic!("subscribe {child}: unexpected {other:?}"),
            }
        }
    }

    /// Posts over the socket with a ref; returns the answer frame (`posted` or `error`).
    pub async fn post(
        &mut self,
        child: &str,
        client_id: &str,
        category: &str,
        kind: &str,
        body: Value,
    ) -> Value {
        let r = format!("r-{}", uuid::Uuid::new_v4().simple());
        self.send(
            json!({"type": "post", "ref": r, "child_id": child, "client_id": client_id,
            "category": category, "kind": kind, "body": body}),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await {
                Frame::Json(v) if v["ref"] == r.as_str() => return v,
                Frame::Json(_) => continue,
                other => panic!("post {client_id}: unexpected {other:?}"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// Seq of a frame `{"type":"entry"}`.
pub fn seq_of(v: &Value) -> i64 {
    v["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("entry without seq: {v}"))
}

/// RFC 3339 UTC timestamp `d` from now (millisecond precision).
pub fn rfc3339_in(d: time::Duration) -> String {
    let t = time::OffsetDateTime::now_utc() + d;
    let t = t.replace_millisecond(t.millisecond()).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

pub fn parse_rfc3339(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("bad RFC 3339 time {s:?}: {e}"))
}

/// A long Japanese text of `n` characters (3 bytes each in UTF-8).
pub fn long_text(n: usize) -> String {
    "あ".repeat(n)
}

// ---------------------------------------------------------------------------
// Emergency alerts (issue 3)
// ---------------------------------------------------------------------------

/// A WebSocket read continuously by a background task that timestamps every
/// frame on arrival, so a test can ask afterwards *when* something came (and
/// that something did not come) on several sockets at once.
pub struct Tap {
    pub name: String,
    frames: Arc<Mutex<Vec<(Instant, Value)>>>,
    tx: tokio::sync::mpsc::UnboundedSender<Value>,
    task: tokio::task::JoinHandle<()>,
}

enum TapEvent {
    Send(Option<Value>),
    Frame(Frame),
}

impl Tap {
    /// Takes over an authenticated socket (after `ready`).
    pub fn new(name: &str, mut ws: Ws) -> Tap {
        let frames = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let store = frames.clone();
        let task = tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    c = rx.recv() => TapEvent::Send(c),
                    f = ws.next_frame(Duration::from_secs(3600)) => TapEvent::Frame(f),
                };
                match ev {
                    TapEvent::Send(Some(v)) => {
                        if let Err(e) = ws.try_send(Message::text(v.to_string())).await {
                            let ended = json!({"type": "__ended", "detail": e});
                            store.lock().unwrap().push((Instant::now(), ended));
                            return;
                        }
                    }
                    TapEvent::Send(None) => return,
                    TapEvent::Frame(Frame::Json(v)) => {
                        store.lock().unwrap().push((Instant::now(), v));
                    }
                    TapEvent::Frame(Frame::Timeout) => {}
                    TapEvent::Frame(other) => {
                        let ended = json!({"type": "__ended", "detail": format!("{other:?}")});
                        store.lock().unwrap().push((Instant::now(), ended));
                        return;
                    }
                }
            }
        });
        Tap {
            name: name.to_string(),
            frames,
            tx,
            task,
        }
    }

    /// Every JSON frame so far, with its arrival time.
    pub fn frames(&self) -> Vec<(Instant, Value)> {
        self.frames.lock().unwrap().clone()
    }

    pub fn send(&self, v: Value) {
        self.tx.send(v).expect("tap task ended");
    }

    /// The first frame (in arrival order) matching `pred`, waiting until
    /// `deadline`; panics with everything received when none came.
    pub async fn wait_until(
        &self,
        what: &str,
        deadline: Instant,
        pred: impl Fn(&Value) -> bool,
    ) -> (Instant, Value) {
        loop {
            if let Some(f) = self.frames().into_iter().find(|(_, v)| pred(v)) {
                return f;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: no {what} by the deadline; frames received: {:?}",
                    self.name,
                    self.frames().iter().map(|f| &f.1).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Frame is `{"type": ty, "alert": {"id": alert_id, ...}}`.
pub fn is_alert_frame(v: &Value, ty: &str, alert_id: &str) -> bool {
    v["type"] == ty && v["alert"]["id"] == alert_id
}

/// The delivery record of `account` in an Alert, if any.
pub fn delivery_of<'a>(alert: &'a Value, account: &str) -> Option<&'a Value> {
    alert["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("alert without deliveries: {alert}"))
        .iter()
        .find(|d| d["account_id"] == account)
}

/// `notify_count` of `account` in an Alert (0 when it has no delivery record).
pub fn notify_count(alert: &Value, account: &str) -> i64 {
    delivery_of(alert, account)
        .map(|d| {
            d["notify_count"]
                .as_i64()
                .unwrap_or_else(|| panic!("delivery without notify_count: {d}"))
        })
        .unwrap_or(0)
}

impl Session {
    /// `POST /children/{id}/alerts`, asserting 201; returns the Alert.
    pub async fn raise_alert(&self, child: &str, message: &str) -> Value {
        let (st, v) = self
            .post(
                &format!("/api/v1/children/{child}/alerts"),
                &json!({"message": message}),
            )
            .await;
        assert_eq!(st, 201, "raise alert as {}: {v}", self.login);
        v
    }

    /// `GET /alerts/{id}`, asserting 200.
    pub async fn alert(&self, id: &str) -> Value {
        let (st, v) = self.get(&format!("/api/v1/alerts/{id}")).await;
        assert_eq!(st, 200, "GET alert as {}: {v}", self.login);
        v
    }
}

impl Session {
    pub async fn put_json(&self, path: &str, body: &Value) -> Resp {
        self.api
            .request(reqwest::Method::PUT, path, Some(&self.access), Some(body))
            .await
    }
}
