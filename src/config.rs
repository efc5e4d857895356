//! Command line and environment (`RENRAKU_*`) configuration. Nothing secret
//! is taken from flags except the first admin's password, which `Debug`
//! redacts.

use clap::{Args, Parser, Subcommand};

mod file;
pub use file::{load_from, FileError, Loaded};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "renraku",
    version,
    about = "Renraku: secure liaison notebook server (電子連絡帳)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the data dir if needed, load the demo dataset into an empty database, and serve.
    Demo(ServeArgs),
    /// Serve an initialised data dir.
    Serve(ServeArgs),
    /// Initialise a data dir: keys, TLS pair, database.
    Init(DataArgs),
    /// Load generator: measures a running server over the real protocol.
    Bench(BenchArgs),
    /// The access log's audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Administration of a data dir.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The master key of a data dir.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write an online, consistent backup (SQLite database and key store)
    /// as one age file to the operator's recipient, while the server runs.
    Backup(BackupArgs),
    /// Rebuild a data dir from a backup (into a new, empty folder).
    Restore(RestoreArgs),
    /// The configuration (`--config FILE`, environment, flags).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration of `renraku serve` with these
    /// flags (secrets redacted, each value's source named) and check it:
    /// exit non-zero when the server would refuse it.
    Check(ServeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct BackupArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The backup file to write (whole, or not at all).
    #[arg(long)]
    pub out: PathBuf,
    /// The operator's age public key (`age1…`), never a key of the data dir.
    #[arg(long)]
    pub recipient: String,
    /// Keep this many backups in the output folder (recognised by their
    /// content, whatever their names); older ones are removed.
    #[arg(long, default_value_t = 3)]
    pub keep: usize,
    /// A private folder is made here for the database copy while it is
    /// encrypted (default: the data dir, on its protected disk).
    #[arg(long)]
    pub temp_dir: Option<PathBuf>,
    /// Tests only: pause once the database is copied.
    #[arg(long, env = "RENRAKU_TEST_BACKUP_PAUSE", hide = true)]
    pub test_pause: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
    /// The operator's age identity file (`AGE-SECRET-KEY-1…`).
    #[arg(long)]
    pub identity: PathBuf,
    /// The data dir to create (must not exist, or be empty).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The live data dir's `keys/erasures` (a copy): every erasure in it is
    /// re-applied to the restored data, so none comes back from a backup.
    #[arg(long)]
    pub erasures: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Rewrap every data key to a new master identity and retire the old
    /// one (entries are not re-encrypted). Every server on the data dir or
    /// database must be stopped first. Run it again if it was interrupted.
    Rotate(RotateArgs),
}

#[derive(Args, Debug, Clone)]
pub struct RotateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Keep the old identity as `keys/master.age.retired-YYYY-MM-DD` (0600),
    /// e.g. to restore backups taken before the rotation; by default it is deleted.
    #[arg(long)]
    pub keep_retired: bool,
    /// Tests only: pause after this many rewrapped keys.
    #[arg(long, env = "RENRAKU_TEST_ROTATE_PAUSE_AFTER", hide = true)]
    pub test_pause_after: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin account (the first one, or another).
    CreateAdmin(CreateAdminArgs),
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check every child's access-log chain under the data dir's key: exit
    /// 0 when all are whole; otherwise print the id of the first broken
    /// record of each broken chain and exit 1.
    Verify(DataArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Data directory (database, keys, TLS pair).
    #[arg(long, env = "RENRAKU_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (`postgres://...` selects PostgreSQL); default is the
    /// SQLite file in the data dir. Also read from `DATABASE_URL`.
    #[arg(long, env = "RENRAKU_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Args, Clone)]
pub struct CreateAdminArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub login: String,
    #[arg(long, default_value = "管理者")]
    pub display_name: String,
    /// Password (at least 12 characters); prefer the environment variable.
    #[arg(long, env = "RENRAKU_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: String,
}

impl std::fmt::Debug for CreateAdminArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateAdminArgs")
            .field("data", &self.data)
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// A TOML file of these settings, each key a long flag's name
    /// (`listen = "0.0.0.0:8443"`); flags and environment variables win over it.
    #[arg(long, env = "RENRAKU_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "RENRAKU_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// PEM certificate chain (production); default is the self-signed pair in the data dir.
    #[arg(long, env = "RENRAKU_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching --tls-cert.
    #[arg(long, env = "RENRAKU_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (only behind a TLS-terminating proxy).
    #[arg(long, env = "RENRAKU_INSECURE_HTTP", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_http: bool,
    /// Extra allowed WebSocket Origin (repeatable); the server's own origin is always allowed.
    #[arg(
        long = "allowed-origin",
        env = "RENRAKU_ALLOWED_ORIGIN",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// A proxy (CIDR, repeatable) whose `X-Forwarded-For` is believed for
    /// the client's address; without one the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "RENRAKU_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Who must enrol TOTP before using the service: `optional`,
    /// `professionals` (professionals and admins) or `all`. Default:
    /// `professionals` for `serve`, `optional` for `demo`.
    #[arg(long, env = "RENRAKU_TOTP_POLICY", value_enum)]
    pub totp_policy: Option<TotpPolicy>,
    /// A session ends after this many seconds without a request, refresh or socket frame.
    #[arg(long, env = "RENRAKU_SESSION_IDLE_TIMEOUT", default_value_t = 1800)]
    pub session_idle_timeout: u64,
    /// A session ends this many seconds after login, used or not.
    #[arg(long, env = "RENRAKU_SESSION_MAX_AGE", default_value_t = 43_200)]
    pub session_max_age: u64,
    /// How long an invitation code stays good, in seconds (default 7 days).
    #[arg(long, env = "RENRAKU_INVITATION_TTL", default_value_t = 604_800)]
    pub invitation_ttl: u64,
    /// From this age (in full years, Japan's calendar) a young person may
    /// take over their notebook's consent by asking.
    #[arg(long, env = "RENRAKU_CONSENT_AGE", default_value_t = 18)]
    pub consent_age: u32,
    /// The length of one day of a handover's overlap, in seconds (default
    /// one day; tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_OVERLAP_DAY_SECS",
        default_value_t = 86_400,
        hide = true
    )]
    pub overlap_day_secs: u64,
    /// Years a closed notebook is kept before an administrator's list shows
    /// it as due for erasure (0: at once).
    #[arg(long, env = "RENRAKU_RETENTION_YEARS", default_value_t = 5)]
    pub retention_years: u32,
    /// The largest attachment accepted, in bytes (larger: 413).
    #[arg(long, env = "RENRAKU_MAX_ATTACHMENT", default_value_t = 20 << 20)]
    pub max_attachment: u64,
    /// An attachment no entry references is deleted this many seconds
    /// after its upload (default one day; tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_ATTACHMENT_TTL_SECS",
        default_value_t = 86_400,
        hide = true
    )]
    pub attachment_ttl_secs: u64,
    /// The time zone of quiet hours (an IANA name).
    #[arg(long, env = "RENRAKU_TIME_ZONE", default_value = "Asia/Tokyo")]
    pub time_zone: String,
    /// After an entry's push, more entries of the same child wait this
    /// many seconds and go as one push (default five minutes; tests
    /// shorten it).
    #[arg(
        long,
        env = "RENRAKU_ENTRY_PUSH_INTERVAL_SECS",
        default_value_t = 300,
        hide = true
    )]
    pub entry_push_interval_secs: u64,
    /// The length of one day of a plan review's reminder lead (7 days and
    /// 1 day before 09:00 on the review date), in seconds (tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_REMINDER_DAY_SECS",
        default_value_t = 86_400,
        hide = true
    )]
    pub reminder_day_secs: u64,
    /// Failed logins per account within 15 minutes before 429.
    #[arg(
        long,
        env = "RENRAKU_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub login_max_failures_per_account: u32,
    /// Failed logins per client address within 15 minutes before 429.
    #[arg(
        long,
        env = "RENRAKU_LOGIN_MAX_FAILURES_PER_ADDRESS",
        default_value_t = 100
    )]
    pub login_max_failures_per_address: u32,
    /// Access token lifetime in seconds.
    #[arg(long, env = "RENRAKU_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: i64,
    /// Live events (frames) the hub queues for one WebSocket while its task is busy; past it the socket is closed (1013).
    #[arg(long, env = "RENRAKU_WS_QUEUE", default_value_t = 1024)]
    pub ws_queue: usize,
    /// Bytes queued for one WebSocket, backlog included; a socket that stops reading is closed (1013).
    #[arg(long, env = "RENRAKU_WS_QUEUE_BYTES", default_value_t = 4 << 20)]
    pub ws_queue_bytes: usize,
    /// Posts (and revisions) per account per minute, as a bucket that refills continuously; 0: no limit.
    #[arg(long, env = "RENRAKU_MAX_POSTS_PER_MINUTE", default_value_t = 120)]
    pub max_posts_per_minute: u32,
    /// Alerts per account per child per hour; 0: no limit.
    #[arg(long, env = "RENRAKU_MAX_ALERTS_PER_HOUR", default_value_t = 10)]
    pub max_alerts_per_hour: u32,
    /// Open WebSockets per account (the next one is closed with 4429); 0: no limit.
    #[arg(long, env = "RENRAKU_MAX_SOCKETS_PER_ACCOUNT", default_value_t = 20)]
    pub max_sockets_per_account: usize,
    /// Escalation delay of emergency alerts, in seconds (also the re-notification interval).
    #[arg(long, env = "RENRAKU_ESCALATION_DELAY", default_value_t = 300)]
    pub escalation_delay: u64,
    /// Push endpoint origin allowed over http or on a private address (repeatable; tests, local relays).
    #[arg(
        long = "push-insecure-origin",
        env = "RENRAKU_PUSH_INSECURE_ORIGIN",
        value_delimiter = ','
    )]
    pub push_insecure_origins: Vec<String>,
    /// Most connections open at once (HTTP and WebSocket); past it a new
    /// connection waits, before its TLS handshake, for at most the
    /// header-read timeout, then is closed.
    #[arg(long, env = "RENRAKU_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_HEADER_READ_TIMEOUT",
        default_value_t = 10,
        hide = true
    )]
    pub header_read_timeout: u64,
    /// Seconds a connection may stay without traffic before it is closed (tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_KEEP_ALIVE_TIMEOUT",
        default_value_t = 60,
        hide = true
    )]
    pub keep_alive_timeout: u64,
    /// Seconds between the server's WebSocket pings (tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_WS_PING_INTERVAL",
        default_value_t = 30,
        hide = true
    )]
    pub ws_ping_interval: u64,
    /// Seconds a WebSocket may stay silent (no pong, no frame) before it is closed.
    #[arg(
        long,
        env = "RENRAKU_WS_PONG_TIMEOUT",
        default_value_t = 60,
        hide = true
    )]
    pub ws_pong_timeout: u64,
    /// Seconds over which one socket's live deliveries of one child are
    /// coalesced into one `read_live` access-log record (tests shorten it).
    #[arg(
        long,
        env = "RENRAKU_LIVE_AUDIT_WINDOW",
        default_value_t = 60,
        hide = true
    )]
    pub live_audit_window: u64,
    /// `demo` only: also serve the web client and the API over plain HTTP
    /// on this loopback address (`off`: not at all), so that a browser
    /// opens the demo without a certificate warning. Default
    /// `127.0.0.1:8080`, skipped with a message when the port is taken.
    #[arg(long, env = "RENRAKU_DEMO_HTTP", value_name = "ADDR|off")]
    pub demo_http: Option<String>,
    /// VAPID subject: how push services can reach the operator.
    #[arg(
        long,
        env = "RENRAKU_VAPID_SUBJECT",
        default_value = "mailto:renraku-admin@localhost"
    )]
    pub vapid_subject: String,
    /// Serve Prometheus metrics at `GET /metrics` on this address, a plain
    /// HTTP listener of its own (off by default; keep it on loopback or an
    /// internal network). Port 0 picks one; the server prints
    /// `metrics listening on http://ADDR/metrics`.
    #[arg(long, env = "RENRAKU_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How log lines on stderr are written: `text`, or `json` (one JSON
    /// object a line, with `timestamp`, `level`, `fields.message` and the
    /// request's span).
    #[arg(long, env = "RENRAKU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The format of the server's log lines (`--log-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON formatter).
    Json,
}

/// Who must have a second factor.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpPolicy {
    Optional,
    /// Professionals and admins.
    Professionals,
    All,
}

/// Limits of the wire contract.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const MAX_WS_FRAME_BYTES: usize = 256 * 1024;
pub const MAX_ENTRY_TEXT_CHARS: usize = 20_000;

impl DataArgs {
    /// The database URL from the flag, `RENRAKU_DATABASE_URL` or `DATABASE_URL`.
    pub fn database_url(&self) -> Option<String> {
        self.database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
    }
}

impl ServeArgs {
    /// Defaults for commands that open a data dir without serving.
    pub fn for_data(data: DataArgs) -> Self {
        Self {
            config: None,
            data,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls_cert: None,
            tls_key: None,
            insecure_http: false,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            totp_policy: None,
            session_idle_timeout: 1800,
            session_max_age: 43_200,
            invitation_ttl: 604_800,
            consent_age: 18,
            overlap_day_secs: 86_400,
            retention_years: 5,
            max_attachment: 20 << 20,
            attachment_ttl_secs: 86_400,
            time_zone: "Asia/Tokyo".into(),
            entry_push_interval_secs: 300,
            reminder_day_secs: 86_400,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 100,
            access_token_ttl: 900,
            ws_queue: 1024,
            ws_queue_bytes: 4 << 20,
            max_posts_per_minute: 120,
            max_alerts_per_hour: 10,
            max_sockets_per_account: 20,
            escalation_delay: 300,
            push_insecure_origins: Vec::new(),
            vapid_subject: "mailto:renraku-admin@localhost".into(),
            demo_http: None,
            max_connections: 20_000,
            header_read_timeout: 10,
            keep_alive_timeout: 60,
            ws_ping_interval: 30,
            ws_pong_timeout: 60,
            live_audit_window: 60,
            metrics_listen: None,
            log_format: LogFormat::Text,
        }
    }
}

/// `renraku bench`: the load generator's flags (it lives in `bench`).
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Server base URL, e.g. https://127.0.0.1:8443. Repeat it for the nodes
    /// of one PostgreSQL-backed server: set-up and alert raises go to the
    /// first, sockets are spread over all of them (round robin).
    #[arg(long, required = true)]
    pub url: Vec<String>,
    #[arg(long)]
    pub admin_login: String,
    #[arg(long, env = "RENRAKU_BENCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: String,
    /// fanout-small (20 children × 5 members), fanout-wide (5 × 20),
    /// connections (10,000 idle subscribed sockets, then --rate posts/s for
    /// --duration s), alerts (one alert per child to its online contact) or
    /// login-flood (--connections concurrent bad logins for --duration s) or
    /// search (a notebook of --posts entries, then --posters rounds of
    /// searches; try --posts 5000).
    #[arg(long, default_value = "fanout-small")]
    pub workload: String,
    /// Write the JSON report here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Accept the server's self-signed certificate.
    #[arg(long)]
    pub insecure_tls: bool,
    /// Server pid, to report its RSS (idle and peak); with several --url,
    /// the first node's.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Number of children (default by workload: 20, 5, 1000; alerts: 1000,
    /// one contact and one alert each).
    #[arg(long)]
    pub children: Option<usize>,
    /// Members per child (fan-out: 5 or 20, each its own account;
    /// connections: 5 from the account pool, sharing the child's sockets).
    #[arg(long)]
    pub members: Option<usize>,
    /// Posts in all (fan-out workloads).
    #[arg(long, default_value_t = 2000)]
    pub posts: usize,
    /// Concurrent posters, each waiting for its acknowledgement (default 10
    /// for fan-out, 50 for connections); alerts: raises in flight (default 50).
    #[arg(long)]
    pub posters: Option<usize>,
    /// Total posts per second (fan-out default: as fast as acknowledgements
    /// allow; connections default: 1000).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Authenticated subscribed sockets in all (connections; default 10000),
    /// spread evenly over the children; login-flood: concurrent bad logins
    /// (default 2000).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seconds of posting at --rate (connections); of flooding (login-flood).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Professional accounts in the pool the members or contacts are drawn
    /// from (connections, alerts; default 100): creating an account costs
    /// the server two password hashes, so they are shared between children.
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Guardian accounts in the pool (connections, alerts); child c's
    /// guardian is guardians[c % G].
    #[arg(long, default_value_t = 20)]
    pub guardians: usize,
    /// The attachment's size in MiB (attachments).
    #[arg(long, default_value_t = 20)]
    pub attachment_mib: usize,
    /// Uploads at once for the memory figure (attachments).
    #[arg(long, default_value_t = 10)]
    pub concurrent: usize,
    /// A folder on the server's disk for the disk's own speed (attachments;
    /// default the temporary folder).
    #[arg(long)]
    pub disk_dir: Option<PathBuf>,
}
