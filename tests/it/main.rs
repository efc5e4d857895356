//! Black-box integration suite for Renraku: every test starts the real
//! `renraku` binary on a fresh data dir (real TLS, real WebSocket) and talks
//! to it only through the wire contract of `shared/PROTOCOL.md`.
//!
//! Groups (issue 2): `auth` (2), `fanout` (3), `consent` (4), `durability`
//! (5), `at_rest` (6), `revisions` (7), `access_log` (8), `bad_input` (9),
//! `logs` (10). `helpers` spawns servers and records every secret a test
//! sees, so that each server's captured log can be checked for leaks.
//! `matrix` (issue 18.5) holds the access policy as one table and calls
//! every cell of it; a route or client frame without a row fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod access_log;
mod accounts;
mod at_rest;
mod attachments;
mod audit;
mod audit_chain;
mod auth;
mod authz_fixes;
mod backup;
mod bad_input;
mod bench;
mod calendar;
mod categories;
mod cluster;
mod config;
mod consent;
mod demo_http;
mod durability;
mod emergency;
mod erasure;
mod export;
mod fanout;
mod group_commit;
mod handover;
mod hardening;
mod keys_rotate;
mod limits;
mod lockout;
mod logs;
mod matrix;
mod metrics;
mod openapi;
mod pg_outage;
mod push;
mod questions;
mod readers;
mod requests;
mod revisions;
mod search;
mod security_log;
mod sessions;
mod totp_recovery;
mod transfer;
