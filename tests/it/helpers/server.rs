//! One test server: its options, its data dir (and PostgreSQL database),
//! starting it as `renraku demo` or as a second node, what it printed, its
//! HTTP client, and the leak check when it is dropped.

use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{
    check_log_text, database_dir, fresh_database, new_marker, test_postgres, Api, Registry,
    Session, DEMO_CHILD_SECRETS,
};

/// Flags of a server for load tests: posts and alerts without per-account limits.
pub const NO_WRITE_LIMITS: [&str; 4] =
    ["--max-posts-per-minute", "0", "--max-alerts-per-hour", "0"];

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

/// One `renraku` process on a temporary data dir.
pub struct Server {
    /// The first node owns the temporary data dir; a second node shares it.
    pub(super) _tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    /// `Some` when the suite runs against PostgreSQL: this server's own database.
    pub database_url: Option<String>,
    /// That database's directory in the cluster (`base/<oid>`).
    pub(super) pg_dir: Option<PathBuf>,
    pub(super) opts: ServerOpts,
    pub(super) child: Option<Child>,
    pub(super) stderr_thread: Option<JoinHandle<()>>,
    pub(super) stderr: Arc<Mutex<Vec<u8>>>,
    pub(super) stdout: Arc<Mutex<Vec<u8>>>,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// `https://127.0.0.1:PORT` (or `http://` with `--insecure-http`)
    pub base: String,
    pub registry: Registry,
    pub(super) cert_pem: Option<Vec<u8>>,
    pub(super) api: Option<Api>,
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartError {
    pub status: Option<ExitStatus>,
    pub stderr: String,
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
        let unstarted = Server::unstarted(Some(tmp), dir, database_url, pg_dir, opts, registry);
        unstarted.started("demo", "renraku demo").await
    }

    /// Another node of the same deployment (PostgreSQL only): the same key
    /// files and database, `renraku serve`, its own port and log.
    pub async fn second_node(&self, flags: &[&str]) -> Server {
        assert!(self.database_url.is_some(), "several nodes need PostgreSQL");
        let opts = ServerOpts {
            flags: flags.iter().map(|s| s.to_string()).collect(),
            ..ServerOpts::default()
        };
        let unstarted = Server::unstarted(
            None,
            self.dir.clone(),
            self.database_url.clone(),
            self.pg_dir.clone(),
            opts,
            self.registry.clone(),
        );
        unstarted.started("serve", "second node").await
    }

    /// `renraku serve` on a data dir the test made (a restored backup),
    /// with its database (PostgreSQL) if any; the test owns the folder.
    pub async fn serve_dir(
        dir: PathBuf,
        database_url: Option<String>,
        registry: Registry,
    ) -> Server {
        let pg_dir = match &database_url {
            Some(url) => Some(database_dir(url).await),
            None => None,
        };
        let opts = ServerOpts {
            flags: NO_WRITE_LIMITS.iter().map(|s| s.to_string()).collect(),
            ..ServerOpts::default()
        };
        let unstarted = Server::unstarted(None, dir, database_url, pg_dir, opts, registry);
        unstarted.started("serve", "restored server").await
    }

    /// A server with nothing running yet.
    fn unstarted(
        tmp: Option<tempfile::TempDir>,
        dir: PathBuf,
        database_url: Option<String>,
        pg_dir: Option<PathBuf>,
        opts: ServerOpts,
        registry: Registry,
    ) -> Server {
        Server {
            _tmp: tmp,
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
        }
    }

    /// Runs `renraku <cmd>` and waits for it to listen; panics (naming it
    /// `what`) when it does not come up.
    async fn started(mut self, cmd: &str, what: &str) -> Server {
        if let Err(e) = self.spawn(cmd).await {
            panic!("{what} did not start: {e:?}");
        }
        self.after_start();
        self
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

    pub(super) fn after_start(&mut self) {
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

    /// The demo's plain-HTTP listener (`--demo-http`), from its printed
    /// line: its URL and a client (no TLS) for it.
    pub fn demo_http(&self) -> Option<(String, Api)> {
        let out = self.stdout();
        let url = out
            .lines()
            .find_map(|l| l.strip_prefix("renraku demo for browsers: "))?
            .trim()
            .to_owned();
        let base = url.replace("//localhost:", "//127.0.0.1:");
        Some((url, Api::new(&base, None, self.registry.clone())))
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

    /// Asserts the stderr captured so far contains no registered secret.
    pub fn check_logs(&self) {
        // Give the reader thread a moment to copy what is in the pipe.
        std::thread::sleep(Duration::from_millis(200));
        check_log_text(&self.log(), &self.registry);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            self.keep_log();
        } else {
            check_log_text(&self.log(), &self.registry);
        }
    }
}

/// Lines of a failed test's server log printed with its failure.
const LOG_TAIL_LINES: usize = 40;

impl Server {
    /// A failed test's server log, kept in `test-artifacts/server-logs/`
    /// (named after the test) with its last lines printed, so that a
    /// failure seen once, on CI or under load, can be read afterwards.
    fn keep_log(&self) {
        let log = self.log();
        let test = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "-");
        let port = self.addr.rsplit(':').next().unwrap_or("0");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts/server-logs");
        let path = dir.join(format!("{test}-{port}.log"));
        let kept = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &log));
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        match kept {
            Ok(()) => eprintln!("server log of the failed test: {}", path.display()),
            Err(e) => eprintln!("server log not kept ({}): {e}", path.display()),
        }
        eprintln!("its last {LOG_TAIL_LINES} lines:\n{tail}");
    }
}
