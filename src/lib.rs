//! Renraku: a secure liaison notebook (電子連絡帳) server.
//!
//! # Layout
//!
//! - `config`: command line and environment.
//! - `ids`: newtype ids and timestamps.
//! - `error`: the domain error every layer returns.
//! - `datadir`: the data directory: key files (permissions checked), TLS pair.
//! - `crypto`: key ring (age-wrapped per-child data keys), sealing of rows; no I/O.
//! - `store`: the only place with SQL (sqlx `Any`: SQLite and PostgreSQL); `batch`
//!   commits many writes in one transaction with a fixed number of statements.
//! - `auth`: passwords (argon2id), tokens (JWT HS256, pinned), sessions, TOTP, login throttling.
//! - `consent`: membership rules turned into capabilities that prove a check was made.
//! - `domain`: use cases (accounts, children, members, entries, access log, emergency,
//!   the cluster task that applies other nodes' commits, the committer that
//!   group-commits posts, new alerts and access-log records); take capabilities.
//! - `push`: Web Push sending (VAPID, aes128gcm) and the SSRF guard on endpoints.
//! - `hub`: live fan-out: per-child subscribers, bounded per-connection queues, control events.
//! - `http`: axum router, error table, extractors, one file per resource, the WebSocket.
//! - `app`: composition root: build (open store, keys, bind) and run until shutdown.
//! - `demo`: the demo dataset and its loader.
//! - `bench`: the load generator (`renraku bench`), a client of the public protocol.
//!
//! Dependency direction: `http → domain → {consent, store, crypto, hub}`.

pub mod app;
pub mod auth;
pub mod bench;
pub mod config;
pub mod consent;
pub mod crypto;
pub mod datadir;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod hub;
pub mod ids;
pub mod push;
pub mod store;
