//! Composition root: build (data dir keys, store, core, bound listener, TLS)
//! and run until a shutdown signal; the server is a function of (listener,
//! shutdown) so tests and the CLI start the same thing.

use anyhow::Context;
use axum_server::accept::{Accept, DefaultAcceptor};
use axum_server::tls_rustls::RustlsConfig;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::auth::throttle::Throttle;
use crate::config::{ServeArgs, TotpPolicy};
use crate::datadir::DataDir;
use crate::domain::live::close;
use crate::domain::{Core, Settings};
use crate::http::{self, AppState};
use crate::store::{ChainKey, Store};
use crate::telemetry::Exporter;

pub struct App {
    pub core: Arc<Core>,
    pub local_addr: SocketAddr,
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    allowed_origins: Vec<String>,
    trusted_proxies: Vec<ipnet::IpNet>,
    limits: Limits,
    ws_ping_every: Duration,
    ws_pong_timeout: Duration,
    /// `renraku demo`'s plain-HTTP listener on loopback, if any.
    demo_http: Option<std::net::TcpListener>,
    /// `--metrics-listen`: its bound listener and the recorder's exporter.
    metrics: Option<(std::net::TcpListener, Exporter)>,
    /// Ends the background loops (and the cluster listener) at shutdown.
    stop: tokio_util::sync::CancellationToken,
    /// Other nodes' commits (PostgreSQL), listened for from `build` on.
    cluster: Option<tokio::sync::mpsc::Receiver<crate::store::ClusterMsg>>,
}

/// What one connection may hold (issue 18, slow and stuck clients).
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_connections: usize,
    /// For the headers of each request, and for the first bytes after TLS.
    header_read: Duration,
    /// Without a byte either way, any connection is closed.
    keep_alive: Duration,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s.clamp(1, 24 * 3600))
}

/// Opens the store and keys of an initialised data dir and the core on top.
pub async fn open_core(args: &ServeArgs) -> anyhow::Result<Core> {
    if args.metrics_listen.is_some() {
        // Before the core starts its tasks, so that they are counted from the start.
        crate::telemetry::install()?;
    }
    let dir = DataDir::new(&args.data.data_dir);
    if !dir.is_initialised() {
        anyhow::bail!(
            "{} is not an initialised data dir: run `renraku init --data-dir {}` first",
            args.data.data_dir.display(),
            args.data.data_dir.display()
        );
    }
    let keys = dir.load_keys()?;
    let chain_key = ChainKey::from_bytes(&keys.audit_key).context("the audit chain key")?;
    let store = Store::open(&dir.root, args.data.database_url().as_deref(), chain_key)
        .await
        .context("opening the database")?;
    if keys.audit_key_fresh {
        carry_chains_over(&store).await?;
        dir.commit_audit_key()?;
    }
    let secs = |s: u64| i64::try_from(s.max(1)).unwrap_or(i64::MAX / 1000);
    let settings = Settings {
        totp_policy: args.totp_policy.unwrap_or(TotpPolicy::Professionals),
        access_token_ttl: args.access_token_ttl.clamp(1, 24 * 3600),
        session_idle_ms: secs(args.session_idle_timeout).saturating_mul(1000),
        session_max_age_ms: secs(args.session_max_age).saturating_mul(1000),
        invitation_ttl_ms: secs(args.invitation_ttl).saturating_mul(1000),
        consent_age: args.consent_age,
        overlap_day_ms: secs(args.overlap_day_secs).saturating_mul(1000),
        erasures_file: dir.erasures_path(),
        // Years of 365.25 days.
        retention_ms: i64::from(args.retention_years).saturating_mul(31_557_600_000),
        max_attachment: args.max_attachment.max(1),
        attachment_ttl_ms: secs(args.attachment_ttl_secs).saturating_mul(1000),
        ws_queue: args.ws_queue.clamp(1, 1 << 20),
        ws_queue_bytes: args.ws_queue_bytes.clamp(64 << 10, 1 << 30),
        max_posts_per_minute: args.max_posts_per_minute,
        max_alerts_per_hour: args.max_alerts_per_hour,
        max_sockets_per_account: args.max_sockets_per_account,
        // At most 60 s: a `read_live` record appears within 65 s of its delivery.
        live_audit_window_ms: secs(args.live_audit_window.min(60)).saturating_mul(1000),
        time_zone: jiff::tz::TimeZone::get(&args.time_zone)
            .map_err(|_| anyhow::anyhow!("--time-zone: no time zone `{}`", args.time_zone))?,
        entry_push_interval_ms: secs(args.entry_push_interval_secs.max(1)).saturating_mul(1000),
        reminder_day_ms: secs(args.reminder_day_secs.max(1)).saturating_mul(1000),
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
    let core = Core::new(
        store,
        keys.ring,
        &keys.token_key,
        throttle,
        settings,
        pusher,
        delay_ms,
    )
    .await?;
    // A database restored from before an erasure still holds the key:
    // the tombstone list (backed up with the keys) erases it again.
    let applied = core
        .apply_tombstones()
        .await
        .context("re-applying the erasures in keys/erasures")?;
    if applied > 0 {
        tracing::warn!(applied, "erasures re-applied from keys/erasures");
    }
    Ok(core)
}

/// The first start with a chain key re-chains the records written with
/// plain SHA-256 under it (see `store/verify.rs`).
async fn carry_chains_over(store: &Store) -> anyhow::Result<()> {
    let (done, broken) = store
        .rechain_legacy()
        .await
        .context("re-chaining the access log under the new key")?;
    if done > 0 {
        tracing::info!(children = done, "access log re-chained under the audit key");
    }
    for child in broken {
        tracing::warn!(child = %child, "access log chain already broken before the upgrade: left as it was");
    }
    Ok(())
}

impl App {
    /// Everything that can fail happens here, before serving: keys, database, bind, TLS.
    pub async fn build(args: &ServeArgs, core: Arc<Core>) -> anyhow::Result<Self> {
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
        let metrics = match args.metrics_listen {
            Some(addr) => {
                let l = std::net::TcpListener::bind(addr)
                    .with_context(|| format!("binding --metrics-listen {addr}"))?;
                l.set_nonblocking(true)?;
                Some((l, crate::telemetry::install()?))
            }
            None => None,
        };
        // Last, so that a failure above leaves no task behind: the node
        // listens for other nodes' commits before it announces itself.
        let stop = tokio_util::sync::CancellationToken::new();
        let cluster = core
            .listen_to_other_nodes(stop.clone())
            .await
            .context("the cluster listener (LISTEN on PostgreSQL)")?;
        Ok(Self {
            stop,
            cluster,
            core,
            local_addr,
            listener,
            tls,
            allowed_origins: args.allowed_origins.clone(),
            trusted_proxies: args.trusted_proxies.clone(),
            limits: Limits {
                max_connections: args.max_connections.clamp(1, Semaphore::MAX_PERMITS),
                header_read: secs(args.header_read_timeout),
                keep_alive: secs(args.keep_alive_timeout),
            },
            ws_ping_every: secs(args.ws_ping_interval),
            ws_pong_timeout: secs(args.ws_pong_timeout),
            demo_http: None,
            metrics,
        })
    }

    /// Also serves plain HTTP on `listener` (the demo's, on loopback).
    pub fn with_demo_http(mut self, listener: std::net::TcpListener) -> anyhow::Result<Self> {
        listener.set_nonblocking(true)?;
        self.demo_http = Some(listener);
        Ok(self)
    }

    /// Where `/metrics` is served, with `--metrics-listen`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
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
            ws_ping_every: self.ws_ping_every,
            ws_pong_timeout: self.ws_pong_timeout,
        };
        // The demo's plain-HTTP twin: the same router, its own origin
        // ("http://…") allowed for WebSockets.
        let demo_http = self.demo_http.map(|listener| {
            let state = AppState {
                scheme: "http",
                ..state.clone()
            };
            let service = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
            (listener, service, axum_server::Handle::new())
        });
        let service = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
        // Converted before any task starts, so that a failure leaves none behind.
        let metrics = match self.metrics {
            Some((l, exporter)) => match tokio::net::TcpListener::from_std(l) {
                Ok(l) => Some((l, exporter)),
                Err(e) => {
                    self.stop.cancel();
                    return Err(e.into());
                }
            },
            None => None,
        };
        let handle = axum_server::Handle::new();
        let (h, core) = (handle.clone(), self.core.clone());
        let stop = self.stop;
        let escalation = tokio::spawn(crate::domain::emergency::escalation_loop(
            self.core.clone(),
            stop.clone(),
        ));
        let cluster = tokio::spawn(crate::domain::cluster::cluster_loop(
            self.core.clone(),
            self.cluster,
            stop.clone(),
        ));
        let sessions = tokio::spawn(crate::domain::session_sweep_loop(
            self.core.clone(),
            stop.clone(),
        ));
        let attachments = tokio::spawn(crate::domain::attachment_gc_loop(
            self.core.clone(),
            stop.clone(),
        ));
        let entry_pushes = tokio::spawn(crate::domain::entry_push_loop(
            self.core.clone(),
            stop.clone(),
        ));
        let demo_handle = demo_http.as_ref().map(|(_, _, h)| h.clone());
        let metrics = metrics.map(|(listener, exporter)| {
            tokio::spawn(serve_metrics(
                listener,
                self.core.clone(),
                exporter,
                stop.clone(),
            ))
        });
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
            if let Some(h) = demo_handle {
                h.graceful_shutdown(Some(Duration::from_secs(10)));
            }
        });
        let (limits, slots) = (
            self.limits,
            Arc::new(Semaphore::new(self.limits.max_connections)),
        );
        let demo_server = demo_http.map(|(listener, service, h)| {
            let mut server = axum_server::from_tcp(listener).acceptor(Guard::new(
                DefaultAcceptor,
                slots.clone(),
                limits,
            ));
            configure(server.http_builder(), limits);
            tokio::spawn(server.handle(h).serve(service))
        });
        match self.tls {
            Some(tls) => {
                let mut server = axum_server::from_tcp_rustls(self.listener, tls)
                    .map(|tls| Guard::new(tls, slots, limits));
                configure(server.http_builder(), limits);
                server.handle(handle).serve(service).await?
            }
            None => {
                let mut server = axum_server::from_tcp(self.listener).acceptor(Guard::new(
                    DefaultAcceptor,
                    slots,
                    limits,
                ));
                configure(server.http_builder(), limits);
                server.handle(handle).serve(service).await?
            }
        }
        if let Some(server) = demo_server {
            if let Ok(Err(e)) = server.await {
                tracing::warn!(error = %e, "the demo's plain-HTTP listener");
            }
        }
        let _ = escalation.await;
        let _ = cluster.await;
        let _ = sessions.await;
        let _ = attachments.await;
        let _ = entry_pushes.await;
        if let Some(m) = metrics {
            let _ = m.await;
        }
        self.core.close().await;
        Ok(())
    }
}

/// How often the histograms' samples are folded into buckets between scrapes.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// `--metrics-listen`: `GET /metrics` (Prometheus text) on a plain HTTP
/// listener of its own, outside the API's router (any other path is 404),
/// until `stop`; and the recorder's upkeep. The gauges cheaper to read than
/// to keep are read at each scrape.
async fn serve_metrics(
    listener: tokio::net::TcpListener,
    core: Arc<Core>,
    exporter: Exporter,
    stop: tokio_util::sync::CancellationToken,
) {
    let upkeep = {
        let (exporter, stop) = (exporter.clone(), stop.clone());
        async move {
            let mut every = tokio::time::interval(METRICS_UPKEEP);
            while stop.run_until_cancelled(every.tick()).await.is_some() {
                exporter.run_upkeep();
            }
        }
    };
    let scrape = axum::routing::get(|| async move {
        core.sample_gauges().await;
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            exporter.render(),
        )
    });
    let app = axum::Router::new().route("/metrics", scrape);
    let server = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    };
    if let (Err(e), ()) = tokio::join!(server, upkeep) {
        tracing::error!(error = %e, "metrics listener");
    }
}

/// hyper's header-read timeout only works with a timer, which axum-server
/// does not give it: without one, a client that trickles its headers holds
/// the connection forever. hyper starts that timer whenever an HTTP/1.1
/// connection waits for a request, so it also closes an idle kept-alive
/// HTTP/1.1 connection after `header_read`; `Watched` closes every other
/// silent connection (HTTP/2 included) after `keep_alive`.
fn configure(
    http: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: Limits,
) {
    http.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    http.http2().timer(hyper_util::rt::TokioTimer::new());
}

/// The acceptor: a slot per connection (past `max_connections`, a new
/// connection waits for one, before its TLS handshake, for at most
/// `header_read`, then is closed: the kernel's backlog and our waiting are
/// both bounded), `TCP_NODELAY` (small frames must not wait for Nagle's
/// algorithm behind an unacknowledged segment), then `inner` (TLS or not).
#[derive(Clone)]
struct Guard<A> {
    inner: A,
    slots: Arc<Semaphore>,
    limits: Limits,
}

impl<A> Guard<A> {
    fn new(inner: A, slots: Arc<Semaphore>, limits: Limits) -> Self {
        Self {
            inner,
            slots,
            limits,
        }
    }
}

type Accepted<T, S> = Pin<Box<dyn Future<Output = io::Result<(T, S)>> + Send>>;

impl<A, S> Accept<TcpStream, S> for Guard<A>
where
    A: Accept<TcpStream, S> + Clone + Send + 'static,
    A::Future: Send,
    A::Stream: Unpin,
    S: Send + 'static,
{
    type Stream = Watched<A::Stream>;
    type Service = A::Service;
    type Future = Accepted<Self::Stream, Self::Service>;

    fn accept(&self, tcp: TcpStream, service: S) -> Self::Future {
        let (inner, slots, limits) = (self.inner.clone(), self.slots.clone(), self.limits);
        Box::pin(async move {
            let slot = match tokio::time::timeout(limits.header_read, slots.acquire_owned()).await {
                Ok(Ok(slot)) => slot,
                _ => {
                    tracing::debug!("connection closed: --max-connections reached");
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "connection limit"));
                }
            };
            tcp.set_nodelay(true)?;
            let (stream, service) = inner.accept(tcp, service).await?;
            Ok((Watched::new(stream, slot, limits), service))
        })
    }
}

/// hyper-util reads up to this many bytes (the HTTP/2 preface) to choose
/// the protocol before hyper's own header timer starts.
const PREFACE: usize = 24;

/// A connection's stream (above TLS): holds its slot until it is dropped
/// (an upgraded WebSocket keeps it), and fails its reads once the
/// connection has been silent for `keep_alive`, or has not sent its first
/// `PREFACE` bytes within `header_read`. The deadline is one timer, moved
/// only when it fires (not per read).
pub struct Watched<S> {
    inner: S,
    _slot: OwnedSemaphorePermit,
    timer: Pin<Box<Sleep>>,
    opened: Instant,
    last_seen: Instant,
    read: usize,
    limits: Limits,
}

impl<S> Watched<S> {
    fn new(inner: S, slot: OwnedSemaphorePermit, limits: Limits) -> Self {
        let now = Instant::now();
        Self {
            inner,
            _slot: slot,
            timer: Box::pin(tokio::time::sleep_until(
                now + limits.header_read.min(limits.keep_alive),
            )),
            opened: now,
            last_seen: now,
            read: 0,
            limits,
        }
    }

    fn due(&self) -> Instant {
        let idle = self.last_seen + self.limits.keep_alive;
        if self.read < PREFACE {
            idle.min(self.opened + self.limits.header_read)
        } else {
            idle
        }
    }

    /// An error once the deadline has passed; else registers for it.
    fn check(&mut self, cx: &mut TaskContext<'_>) -> io::Result<()> {
        while self.timer.as_mut().poll(cx).is_ready() {
            let due = self.due();
            if due <= Instant::now() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connection silent"));
            }
            self.timer.as_mut().reset(due);
        }
        Ok(())
    }
}

impl<S> Watched<S> {
    /// A write counts as traffic. Only reads wait on the deadline: the two
    /// halves of an upgraded WebSocket are polled by different tasks, and
    /// one timer keeps one waker.
    fn after_write(&mut self, r: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.last_seen = Instant::now();
        }
        r
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n > 0 {
                    this.read = this.read.saturating_add(n);
                    this.last_seen = Instant::now();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// What `serve` would refuse in these settings, found without starting it
/// (`renraku config check`): the time zone, the TLS pair, the data dir,
/// the database URL's kind. Each problem names its setting; none shows a
/// secret.
pub fn check_settings(args: &ServeArgs) -> Vec<String> {
    let mut problems = Vec::new();
    if jiff::tz::TimeZone::get(&args.time_zone).is_err() {
        problems.push(format!("time-zone: no time zone `{}`", args.time_zone));
    }
    let dir = DataDir::new(&args.data.data_dir);
    if !dir.is_initialised() {
        problems.push(format!(
            "data-dir: {} is not an initialised data dir (run `renraku init --data-dir {}`)",
            args.data.data_dir.display(),
            args.data.data_dir.display()
        ));
    }
    if !args.insecure_http {
        let (cert, key) = match (&args.tls_cert, &args.tls_key) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => (dir.cert_path(), dir.tls_key_path()),
        };
        problems.extend(check_tls(&cert, &key));
    }
    if let Some(url) = args.data.database_url() {
        let known = ["postgres://", "postgresql://", "sqlite:"];
        if !known.iter().any(|k| url.starts_with(k)) {
            problems.push("database-url: expected postgres://… or sqlite:…".into());
        }
    }
    problems
}

fn check_tls(cert: &std::path::Path, key: &std::path::Path) -> Vec<String> {
    let mut problems = Vec::new();
    match std::fs::read(cert) {
        Err(e) => problems.push(format!("tls-cert: cannot read {}: {e}", cert.display())),
        Ok(pem) => {
            let certs = rustls_pemfile::certs(&mut pem.as_slice())
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_default();
            if certs.is_empty() {
                problems.push(format!("tls-cert: no certificate in {}", cert.display()));
            }
        }
    }
    match std::fs::read(key) {
        Err(e) => problems.push(format!("tls-key: cannot read {}: {e}", key.display())),
        Ok(pem) => {
            if !matches!(
                rustls_pemfile::private_key(&mut pem.as_slice()),
                Ok(Some(_))
            ) {
                problems.push(format!("tls-key: no private key in {}", key.display()));
            }
        }
    }
    problems
}
