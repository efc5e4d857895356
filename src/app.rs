//! Composition root: build (data dir keys, store, core, bound listener, TLS)
//! and run until a shutdown signal; the server is a function of (listener,
//! shutdown) so tests and the CLI start the same thing.

use anyhow::Context;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::RustlsConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::throttle::Throttle;
use crate::config::{ServeArgs, TotpPolicy};
use crate::datadir::DataDir;
use crate::domain::live::close;
use crate::domain::{Core, Settings};
use crate::http::{self, AppState};
use crate::store::Store;

pub struct App {
    pub core: Arc<Core>,
    pub local_addr: SocketAddr,
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    allowed_origins: Vec<String>,
    trusted_proxies: Vec<ipnet::IpNet>,
}

/// Opens the store and keys of an initialised data dir and the core on top.
pub async fn open_core(args: &ServeArgs) -> anyhow::Result<Core> {
    let dir = DataDir::new(&args.data.data_dir);
    if !dir.is_initialised() {
        anyhow::bail!(
            "{} is not an initialised data dir: run `renraku init --data-dir {}` first",
            args.data.data_dir.display(),
            args.data.data_dir.display()
        );
    }
    let keys = dir.load_keys()?;
    let store = Store::open(&dir.root, args.data.database_url().as_deref())
        .await
        .context("opening the database")?;
    let secs = |s: u64| i64::try_from(s.max(1)).unwrap_or(i64::MAX / 1000);
    let settings = Settings {
        totp_policy: args.totp_policy.unwrap_or(TotpPolicy::Professionals),
        access_token_ttl: args.access_token_ttl.clamp(1, 24 * 3600),
        session_idle_ms: secs(args.session_idle_timeout).saturating_mul(1000),
        session_max_age_ms: secs(args.session_max_age).saturating_mul(1000),
        invitation_ttl_ms: secs(args.invitation_ttl).saturating_mul(1000),
        ws_queue: args.ws_queue.clamp(1, 1 << 20),
        max_posts_per_minute: args.max_posts_per_minute,
        max_alerts_per_hour: args.max_alerts_per_hour,
        max_sockets_per_account: args.max_sockets_per_account,
    };
    let throttle = Throttle::new(
        args.login_max_failures_per_account,
        args.login_max_failures_per_address,
    );
    let pusher = crate::push::Pusher::new(
        &keys.vapid_key,
        args.vapid_subject.clone(),
        args.push_insecure_origins.clone(),
    )?;
    let delay_ms =
        i64::try_from(args.escalation_delay.max(1).saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(Core::new(
        store,
        keys.ring,
        &keys.token_key,
        throttle,
        settings,
        pusher,
        delay_ms,
    )
    .await?)
}

impl App {
    /// Everything that can fail happens here, before serving: keys, database, bind, TLS.
    pub async fn build(args: &ServeArgs, core: Core) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = DataDir::new(&args.data.data_dir);
        let tls = if args.insecure_http {
            None
        } else {
            let (cert, key) = match (&args.tls_cert, &args.tls_key) {
                (Some(c), Some(k)) => (c.clone(), k.clone()),
                _ => (dir.cert_path(), dir.tls_key_path()),
            };
            Some(
                RustlsConfig::from_pem_file(&cert, &key)
                    .await
                    .with_context(|| format!("loading TLS pair {}", cert.display()))?,
            )
        };
        let listener = std::net::TcpListener::bind(args.listen)
            .with_context(|| format!("binding {}", args.listen))?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            core: Arc::new(core),
            local_addr,
            listener,
            tls,
            allowed_origins: args.allowed_origins.clone(),
            trusted_proxies: args.trusted_proxies.clone(),
        })
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Serves until `shutdown` resolves: then closes WebSockets with 1001,
    /// lets in-flight requests (and their commits) finish, stops or waits
    /// for the background push sends, closes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = AppState {
            core: self.core.clone(),
            allowed_origins: Arc::new(self.allowed_origins),
            trusted_proxies: Arc::new(self.trusted_proxies),
            scheme: if self.tls.is_some() { "https" } else { "http" },
        };
        let service = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let handle = axum_server::Handle::new();
        let (h, core) = (handle.clone(), self.core.clone());
        let stop = tokio_util::sync::CancellationToken::new();
        let escalation = tokio::spawn(crate::domain::emergency::escalation_loop(
            self.core.clone(),
            stop.clone(),
        ));
        let cluster = tokio::spawn(crate::domain::cluster::cluster_loop(
            self.core.clone(),
            stop.clone(),
        ));
        let sessions = tokio::spawn(crate::domain::session_sweep_loop(
            self.core.clone(),
            stop.clone(),
        ));
        tokio::spawn(async move {
            shutdown.await;
            stop.cancel();
            tracing::info!("shutting down");
            core.close_all_sockets(close::GOING_AWAY);
            // Give sockets a moment to send their 1001 close frames.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while core.open_sockets() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            h.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        match self.tls {
            Some(tls) => {
                // Small frames (acks, entries) must not wait for Nagle's
                // algorithm behind an unacknowledged segment.
                axum_server::from_tcp_rustls(self.listener, tls)
                    .map(|a| a.acceptor(NoDelayAcceptor))
                    .handle(handle)
                    .serve(service)
                    .await?
            }
            None => {
                axum_server::from_tcp(self.listener)
                    .acceptor(NoDelayAcceptor)
                    .handle(handle)
                    .serve(service)
                    .await?
            }
        }
        let _ = escalation.await;
        let _ = cluster.await;
        let _ = sessions.await;
        self.core.close().await;
        Ok(())
    }
}
