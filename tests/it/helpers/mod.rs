//! Test harness: spawns the real `renraku` binary, HTTP and WebSocket client
//! wrappers, and the log-hygiene registry (every token, secret, marker and
//! child name a test touches must never show up in the server's stderr).
//!
//! One file per area; everything is re-exported here, so test modules keep
//! writing `use crate::helpers::*` or `crate::helpers::{Server, ...}`.

#![allow(dead_code)] // helpers are shared by modules that each use a part

mod alerts;
mod attachments;
mod chain;
mod demo;
mod files;
mod http;
mod invitations;
mod postgres;
mod process;
mod push_counter;
mod refusal;
mod registry;
mod server;
mod session;
mod tap;
mod totp_device;
mod values;
mod watched;
mod ws;

pub use alerts::*;
pub use attachments::*;
pub use chain::*;
pub use demo::*;
pub use files::*;
pub use http::*;
pub use invitations::*;
pub use postgres::*;
pub use process::*;
pub use push_counter::*;
pub use refusal::*;
pub use registry::*;
pub use server::*;
pub use session::*;
pub use tap::*;
pub use totp_device::*;
pub use values::*;
pub use watched::*;
pub use ws::*;
