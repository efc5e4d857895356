//! Renraku: a secure liaison notebook (電子連絡帳) server.
//!
//! # Layout
//!
//! - `config`: command line and environment (the load generator's flags too).
//! - `ids`: newtype ids and timestamps.
//! - `vocab`: the contract's closed vocabularies (account kinds, roles,
//!   statuses, entry kinds) as enums, parsed from text at the boundary.
//! - `error`: the domain error every layer returns.
//! - `datadir`: the data directory: key files (permissions checked), TLS pair.
//! - `keys`: `renraku keys rotate`: rewraps every data key to a new master
//!   identity, resumable after a crash at any point (its module doc lists them).
//! - `backup`: `renraku backup` (an online copy of the SQLite database and
//!   the key store and the sealed attachment files, as one age file to the
//!   operator's key; `--keep`) and `renraku restore`.
//! - `crypto`: key ring (age-wrapped per-child data keys), sealing of rows,
//!   and of attachments in STREAM chunks (`chunks`); no I/O.
//! - `store`: the only place with SQL (sqlx `Any`: SQLite and PostgreSQL);
//!   `batch/` commits many writes in one transaction with a fixed number of
//!   statements; `chain` extends a child's access log, chained with an HMAC
//!   under a key from the data dir, always under the child's row lock;
//!   `verify` checks the chains and carries the old SHA-256 ones over;
//!   `security` holds the administrators' security log; `attachments`
//!   their rows, references and sealed chunks (files under the data dir on
//!   SQLite, rows on PostgreSQL); `conn`, `wal` and
//!   `error` hold the connections, SQLite's WAL policy and the store's error.
//! - `auth`: primitives only: passwords (argon2id), tokens (JWT HS256,
//!   pinned), TOTP, login throttling.
//! - `consent`: membership rules turned into capabilities that prove a check
//!   was made (`Member`, and `PostRight`, which appending an entry requires).
//! - `domain`: use cases, as methods of `Core` (whose fields are private):
//!   sessions, accounts, children, members, entries, access log,
//!   `emergency/` (cards and contacts, alerts, escalation, push), the live
//!   socket (`live`: subscriptions and the consent they were granted,
//!   updated on every change; `live_reads` coalesces its deliveries into
//!   `read_live` records), the security log's batching writer
//!   (`security_log`), the server's WebSocket frames (`frames`, one
//!   typed enum), the views clients get (`views`), `attachments/`
//!   (uploads checked, stripped and sealed as they arrive, reads, the
//!   collector of unreferenced uploads), the committer that
//!   group-commits posts, alerts and access-log records, and the cluster task
//!   that applies other nodes' commits; take capabilities.
//! - `push`: Web Push sending (VAPID, aes128gcm) and the SSRF guard on endpoints.
//! - `hub`: live fan-out: per-child subscribers, bounded per-connection
//!   queues, control events; it carries frames, it does not build them.
//! - `export`: exports of a notebook the domain read and logged (a FHIR R4
//!   Bundle, a printable HTML document, an age file holding both and the
//!   attachments), made in memory.
//! - `http`: axum router, error table, extractors, one file per resource,
//!   `denied` (reports refused child requests to the domain);
//!   `ws/`: the WebSocket handshake, client frames and the socket loop,
//!   which drives `domain::live`.
//! - `telemetry`: the Prometheus recorder behind the `metrics` macros
//!   (installed only with `--metrics-listen`), the metrics' descriptions,
//!   the process's memory; `app` serves it on a listener of its own.
//! - `app`: composition root: build (open store, keys, bind) and run until shutdown.
//! - `demo`: the demo dataset and its loader.
//! - `bench`: the load generator (`renraku bench`), a client of the public protocol.
//!
//! Dependency direction: `http → export → domain`, `http → domain → {consent, store, crypto, hub}`,
//! with `auth`, `push`, `vocab`, `ids` and `error` below; `tests/layout.rs`
//! holds the full table and checks it, and that no folder's files import
//! each other in a cycle.

pub mod app;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod config;
pub mod consent;
pub mod crypto;
pub mod datadir;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod http;
pub mod hub;
pub mod ids;
pub mod keys;
pub mod push;
pub mod store;
pub mod telemetry;
pub mod vocab;
