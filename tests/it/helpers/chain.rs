//! An independent check of the access log's keyed chain, straight from the
//! database: each record's hash is HMAC-SHA256, under the key in the data
//! dir's `keys/audit-chain.key`, of the previous record's hash (empty for
//! the first) and, each after a 0x1f byte, child, time, account, action and
//! detail, in lowercase hex.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Connection;

use super::Server;

/// The chain key of `server`'s data dir.
pub fn audit_key(server: &Server) -> Vec<u8> {
    let text = std::fs::read_to_string(server.dir.join("keys").join("audit-chain.key"))
        .expect("the audit chain key file");
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("the audit chain key is base64")
}

/// The hash a record must carry after `prev`.
pub fn chain_mac(key: &[u8], prev: &str, parts: [&str; 5]) -> String {
    let mut h = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap(); // ok: HMAC takes any key length
    h.update(prev.as_bytes());
    for part in parts {
        h.update(&[0x1f]);
        h.update(part.as_bytes());
    }
    h.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A connection to `server`'s database (read-only on SQLite unless `write`).
pub async fn database(server: &Server, write: bool) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match &server.database_url {
        Some(u) => u.clone(),
        None => format!(
            "sqlite://{}?mode={}",
            server.dir.join("renraku.db").display(),
            if write { "rw" } else { "ro" }
        ),
    };
    sqlx::AnyConnection::connect(&url).await.unwrap() // ok: the test's own database
}
