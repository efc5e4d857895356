//! Bootstrap only: parse the command line, set up logging, build, serve
//! until a signal.

use anyhow::Context;
use renraku::app::{open_core, App};
use renraku::config::{
    AdminCommand, AuditCommand, BackupArgs, Command, ConfigCommand, CreateAdminArgs, DataArgs,
    KeysCommand, LogFormat, RestoreArgs, RotateArgs, ServeArgs, TotpPolicy,
};
use renraku::datadir::{DataDir, ServeLock};
use renraku::domain::NewAccount;
use renraku::store::{ChainKey, Store};
use renraku::vocab::AccountKind;
use std::io::{IsTerminal, Write};

/// mimalloc: per-thread free lists; glibc's malloc took about 7% of the
/// server's CPU under load (measured with perf, fanout-small).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The command line and the configuration file first, so that the log
    // format (a flag, or a key of the file) is known; clap writes its own
    // usage errors.
    let loaded = match renraku::config::load_from(std::env::args_os().collect()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("renraku: configuration file {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let format = match &loaded.cli.command {
        Command::Demo(args) | Command::Serve(args) => args.log_format,
        _ => LogFormat::Text,
    };
    init_logging(format);
    // Only `config check` prints the settings and their sources.
    let effective = match &loaded.cli.command {
        Command::Config { .. } => loaded.effective(),
        _ => String::new(),
    };
    let result = match loaded.cli.command {
        Command::Demo(args) => demo(args).await,
        Command::Serve(args) => serve(args).await,
        Command::Init(args) => init(args).await,
        Command::Bench(args) => renraku::bench::run(args).await,
        Command::Admin {
            command: AdminCommand::CreateAdmin(args),
        } => create_admin(args).await,
        Command::Audit {
            command: AuditCommand::Verify(args),
        } => audit_verify(args).await,
        Command::Keys {
            command: KeysCommand::Rotate(args),
        } => keys_rotate(args).await,
        Command::Backup(args) => backup(args).await,
        Command::Restore(args) => restore(args).await,
        Command::Config {
            command: ConfigCommand::Check(args),
        } => config_check(args, &effective),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<ChainsBroken>() => std::process::ExitCode::FAILURE,
        Err(e) if format == LogFormat::Json => {
            tracing::error!("renraku: {e:#}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("renraku: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Log lines on stderr: text, or one JSON object a line (`timestamp`,
/// `level`, `fields` with the message, `target`, and the current span and
/// its parents: a request's id, method and path).
fn init_logging(format: LogFormat) {
    // Colours only on a terminal: under systemd stderr is the journal,
    // which would keep the escape codes as text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => {
            let json = tracing_subscriber::fmt::format()
                .json()
                .with_current_span(true)
                .with_span_list(true);
            builder
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(renraku::telemetry::JsonLines(json))
                .init();
            // A panic's message is a log line too (the default hook prints text).
            std::panic::set_hook(Box::new(|info| {
                tracing::error!(panic = %info, "panic");
            }));
        }
    }
}

/// `RUST_LOG` (default `info`), except that crates which log message
/// payloads at debug or trace level (WebSocket frames, HTTP bodies) are held
/// at `info` whatever is asked: tokens and notebook text must never reach a log.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    for quiet in [
        "tungstenite=info",
        "tokio_tungstenite=info",
        "hyper=info",
        "hyper_util=info",
        "h2=info",
        "rustls=info",
        "tokio_rustls=info",
        "axum_server=info",
        "reqwest=info",
    ] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

async fn init(args: DataArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir);
    dir.init()?;
    let keys = dir.load_keys()?;
    let chain_key = ChainKey::from_bytes(&keys.audit_key).context("the audit chain key")?;
    Store::open(&dir.root, args.database_url().as_deref(), chain_key)
        .await?
        .close()
        .await;
    println!("initialised {}", args.data_dir.display());
    Ok(())
}

/// Some chains are broken (their records were printed).
#[derive(Debug)]
struct ChainsBroken;

impl std::fmt::Display for ChainsBroken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken access-log chains")
    }
}

impl std::error::Error for ChainsBroken {}

/// `renraku audit verify`: every child's chain, with progress on stderr;
/// each broken chain's first broken record on stdout.
async fn audit_verify(args: DataArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir);
    // Read, never made here: a missing key is the server's to create.
    let key = dir.read_audit_key().context(
        "no audit chain key: start the server once on this data dir (it creates the key and \
         re-chains the existing records under it)",
    )?;
    let chain_key = ChainKey::from_bytes(&key).context("the audit chain key")?;
    let store = Store::open(&dir.root, args.database_url().as_deref(), chain_key).await?;
    let children = store.list_child_ids().await?;
    let total = children.len();
    let mut broken = 0usize;
    let mut last_report = std::time::Instant::now();
    for (n, child) in children.into_iter().enumerate() {
        if let Some(record) = store.verify_chain(child).await? {
            broken += 1;
            println!("child {child}: chain broken at record {record}");
        }
        if last_report.elapsed() >= std::time::Duration::from_secs(1) {
            eprintln!("checked {}/{total} children", n + 1);
            last_report = std::time::Instant::now();
        }
    }
    store.close().await;
    eprintln!("checked {total}/{total} children, {broken} broken");
    std::io::stdout().flush()?;
    if broken > 0 {
        return Err(ChainsBroken.into());
    }
    Ok(())
}

/// `renraku keys rotate`: refused while a server holds the SQLite data
/// dir, or (as far as can be seen) while a node listens on PostgreSQL.
async fn keys_rotate(args: RotateArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data.data_dir);
    if !dir.is_initialised() && !dir.master_next_path().exists() {
        anyhow::bail!(
            "{} is not an initialised data dir (no keys/master.age): nothing to rotate",
            args.data.data_dir.display()
        );
    }
    let url = args.data.database_url();
    // Held to the end: no server starts on the dir while keys move.
    let _lock = match url {
        None => Some(dir.lock_for_maintenance("rotate the master key")?),
        Some(_) => None,
    };
    let key = dir
        .read_audit_key_or_pending()
        .context("no audit chain key: start the server once on this data dir before rotating")?;
    let chain_key = ChainKey::from_bytes(&key).context("the audit chain key")?;
    let store = Store::open(&dir.root, url.as_deref(), chain_key)
        .await
        .context("opening the database")?;
    let listeners = store.count_cluster_listeners().await?;
    if listeners > 0 {
        store.close().await;
        anyhow::bail!(
            "refusing to rotate the master key: {listeners} renraku node(s) are connected to this \
             PostgreSQL database; stop every node first (nothing was changed)"
        );
    }
    let opts = renraku::keys::RotateOptions {
        keep_retired: args.keep_retired,
        pause_after: args.test_pause_after,
    };
    let result = renraku::keys::rotate(&dir, &store, &opts).await;
    store.close().await;
    let done = result?;
    let retired = done
        .retired
        .map(|p| format!("; old identity kept as {}", p.display()))
        .unwrap_or_else(|| "; old identity deleted".to_owned());
    eprintln!(
        "keys rotate: done{}: {} data keys ({} children), {} rewrapped by this run, in {} ms{retired}",
        if done.resumed { " (resumed)" } else { "" },
        done.total,
        done.children,
        done.rewrapped,
        done.elapsed.as_millis()
    );
    Ok(())
}

/// `renraku backup`: interrupted by SIGINT/SIGTERM, it stops and removes
/// its temporary files (the plaintext database copy) before exiting.
async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let opts = renraku::backup::BackupOptions {
        data_dir: args.data.data_dir.clone(),
        database_url: args.data.database_url(),
        out: args.out,
        recipient: args.recipient,
        keep: args.keep,
        temp_dir: args.temp_dir,
        pause_after_copy: args.test_pause,
    };
    let shutdown = shutdown_signal();
    let done = tokio::select! {
        r = renraku::backup::create(&opts) => r?,
        () = shutdown => anyhow::bail!("interrupted: no backup written, temporary files removed"),
    };
    let db = match done.database_bytes {
        Some(n) => format!("database {n} bytes"),
        None => "no database (PostgreSQL: use pg_dump)".to_owned(),
    };
    eprintln!(
        "backup: wrote {} ({} bytes; {}, {db}, {} key files; id {}) in {} ms; removed {} older backup(s)",
        done.path.display(),
        done.bytes,
        done.backend,
        done.key_files,
        done.backup_id,
        done.elapsed.as_millis(),
        done.removed.len()
    );
    for path in &done.removed {
        eprintln!("backup: removed {}", path.display());
    }
    Ok(())
}

/// `renraku restore`: a new data dir from a backup.
async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let opts = renraku::backup::RestoreOptions {
        from: args.from,
        identity: args.identity,
        data_dir: args.data_dir,
        erasures: args.erasures,
    };
    let started = std::time::Instant::now();
    let done = tokio::task::spawn_blocking(move || {
        renraku::backup::restore(&opts).map(|r| (r, opts.data_dir))
    })
    .await
    .context("the restore task")??;
    let (r, dir) = done;
    eprintln!(
        "restore: {} rebuilt from backup {} taken {} ({}, {} files) in {} ms",
        dir.display(),
        r.manifest.backup_id,
        r.manifest.created_at,
        r.manifest.backend,
        r.files,
        started.elapsed().as_millis()
    );
    if r.erasures_added > 0 {
        eprintln!(
            "restore: {} erasures added from --erasures ({} recorded after this backup was taken)",
            r.erasures_added, r.erasures_after
        );
    }
    if r.manifest.database_included {
        // Opening the data dir re-applies every erasure in keys/erasures.
        // The restored SQLite file, named: never a DATABASE_URL from the
        // environment.
        let sqlite = format!("sqlite://{}?mode=rw", dir.join("renraku.db").display());
        let serve = ServeArgs::for_data(renraku::config::DataArgs {
            data_dir: dir.clone(),
            database_url: Some(sqlite),
        });
        let core = open_core(&serve)
            .await
            .context("re-applying erasures to the restored database")?;
        drop(core);
        eprintln!("restore: every erasure in keys/erasures is applied");
    } else {
        eprintln!(
            "restore: this backup holds no database ({} backend): restore it with pg_restore, \
             then serve with --database-url (the server re-applies keys/erasures at start)",
            r.manifest.backend
        );
    }
    Ok(())
}

async fn create_admin(args: CreateAdminArgs) -> anyhow::Result<()> {
    let serve = ServeArgs::for_data(args.data.clone());
    let core = open_core(&serve).await?;
    renraku::auth::password::check_strength(
        "password",
        &args.password,
        &args.login,
        &args.display_name,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let account = core
        .insert_account(NewAccount {
            login: args.login,
            password: Some(args.password),
            display_name: args.display_name,
            kind: AccountKind::Admin.as_str().into(),
            profession: None,
            org_id: None,
            org_admin: false,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    core.close().await;
    println!("created admin {} ({})", account.login, account.id);
    Ok(())
}

/// `serve` and `demo` on SQLite hold the data dir's lock until they exit.
fn lock_for_serving(args: &ServeArgs) -> anyhow::Result<Option<ServeLock>> {
    if args.data.database_url().is_some() {
        return Ok(None);
    }
    let dir = DataDir::new(&args.data.data_dir);
    if !dir.is_initialised() {
        return Ok(None); // open_core refuses it with the way out
    }
    dir.lock_for_serving().map(Some)
}

/// `renraku config check`: the effective settings, then what `serve`
/// would refuse (each problem on its own line; exit 1 when there is one).
fn config_check(args: ServeArgs, effective: &str) -> anyhow::Result<()> {
    print!("{effective}");
    let problems = renraku::app::check_settings(&args);
    if problems.is_empty() {
        println!("# configuration OK");
        return Ok(());
    }
    for p in &problems {
        eprintln!("renraku: {p}");
    }
    anyhow::bail!("{} problem(s) in the configuration", problems.len())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.demo_http.is_some() {
        anyhow::bail!("--demo-http is for `renraku demo` only");
    }
    let shutdown = shutdown_signal();
    let _lock = lock_for_serving(&args)?;
    let core = std::sync::Arc::new(open_core(&args).await?);
    core.tidy_attachments().await?;
    start(args, core, None, shutdown).await
}

async fn demo(mut args: ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    // The demo's shared password is for trying things out: no second factor
    // unless asked for.
    args.totp_policy.get_or_insert(TotpPolicy::Optional);
    // Bound first, so that a bad address fails before anything is created.
    let demo_http = demo_http_listener(args.demo_http.as_deref())?;
    DataDir::new(&args.data.data_dir)
        .init()
        .context("preparing the data dir")?;
    let _lock = lock_for_serving(&args)?;
    let core = std::sync::Arc::new(open_core(&args).await?);
    core.tidy_attachments().await?;
    if renraku::demo::load(&core).await? {
        println!("loaded the demo dataset; every demo password is `renraku-demo`");
        println!("logins: {}", renraku::demo::logins().join(", "));
    }
    start(args, core, demo_http, shutdown).await
}

/// The demo's plain-HTTP listener (`--demo-http`, default 127.0.0.1:8080):
/// loopback only; an address given explicitly must bind, the default is
/// skipped with a message when its port is taken.
fn demo_http_listener(flag: Option<&str>) -> anyhow::Result<Option<std::net::TcpListener>> {
    const DEFAULT: &str = "127.0.0.1:8080";
    let (addr, explicit) = match flag {
        Some("off") => return Ok(None),
        Some(a) => (a, true),
        None => (DEFAULT, false),
    };
    let parsed: std::net::SocketAddr = addr
        .parse()
        .with_context(|| format!("--demo-http: `{addr}` is not ADDR:PORT (or `off`)"))?;
    if !parsed.ip().is_loopback() {
        anyhow::bail!(
            "--demo-http: {addr} is not a loopback address; the demo's plain HTTP \
             listens on 127.0.0.1 or ::1 only (or `off`)"
        );
    }
    match std::net::TcpListener::bind(parsed) {
        Ok(l) => Ok(Some(l)),
        Err(e) if explicit => Err(e).with_context(|| format!("--demo-http: binding {addr}")),
        Err(e) => {
            println!(
                "renraku: {addr} is not free ({e}); the demo goes on without plain HTTP \
                 (--demo-http 127.0.0.1:PORT to choose another port)"
            );
            Ok(None)
        }
    }
}

async fn start(
    args: ServeArgs,
    core: std::sync::Arc<renraku::domain::Core>,
    demo_http: Option<std::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if args.insecure_http {
        tracing::warn!("serving plain HTTP (--insecure-http): only behind a TLS-terminating proxy");
    }
    let mut app = App::build(&args, core).await?;
    if let Some(listener) = demo_http {
        let addr = listener.local_addr()?;
        let host = match addr.ip() {
            std::net::IpAddr::V4(ip) if ip == std::net::Ipv4Addr::LOCALHOST => {
                "localhost".to_owned()
            }
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        // First, for people: the URL a browser opens without a warning.
        println!("renraku demo for browsers: http://{host}:{}", addr.port());
        app = app.with_demo_http(listener)?;
    }
    // Before the listening line: whoever waits for that one has this too.
    if let Some(addr) = app.metrics_addr() {
        println!("metrics listening on http://{addr}/metrics");
    }
    println!("renraku listening on {}", app.url());
    std::io::stdout().flush()?;
    tracing::info!(addr = %app.local_addr, "listening");
    app.run(shutdown).await
}

/// Registers SIGTERM/SIGINT handlers now (so a signal that arrives while
/// starting up is not fatal) and returns a future that resolves on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(term) => {}
            _ = wait(int) => {}
        }
    }
}
