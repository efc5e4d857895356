//! One-time codes people type or scan: invitation codes (160 random bits)
//! and TOTP recovery codes (80 bits). Base32 in groups of four, so they
//! survive being read aloud, printed or retyped; only their SHA-256 is
//! stored. Reading one ignores case, spaces and hyphens.

use rand::RngCore;
use sha2::{Digest, Sha256};

const INVITATION_BYTES: usize = 20;
const RECOVERY_BYTES: usize = 10;
/// Longer input is no code of ours; it is not even hashed.
const MAX_INPUT: usize = 100;

fn grouped(bytes: &[u8]) -> String {
    let text = base32::encode(base32::Alphabet::Rfc4648 { padding: false }, bytes);
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A new invitation code (`ABCD-EFGH-…`, 32 characters) and its hash.
pub fn invitation_code() -> (String, String) {
    let code = grouped(&random(INVITATION_BYTES));
    let hash = hash(&code).unwrap_or_default();
    (code, hash)
}

/// `n` new recovery codes (`abcd-efgh-ijkl-mnop`) and their hashes.
pub fn recovery_codes(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|_| {
            let code = grouped(&random(RECOVERY_BYTES)).to_lowercase();
            let hash = hash(&code).unwrap_or_default();
            (code, hash)
        })
        .collect()
}

/// The stored form of a code as typed; None for input that cannot be one.
pub fn hash(typed: &str) -> Option<String> {
    if typed.len() > MAX_INPUT {
        return None;
    }
    let normal: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if normal.is_empty() {
        return None;
    }
    let digest = Sha256::digest(normal.as_bytes());
    Some(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        digest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_however_typed() {
        let (code, stored) = invitation_code();
        assert_eq!(code.len(), 32 + 7, "{code}");
        assert_eq!(hash(&code).as_deref(), Some(stored.as_str()));
        let sloppy = code.replace('-', " ").to_lowercase();
        assert_eq!(hash(&sloppy).as_deref(), Some(stored.as_str()));
        let codes = recovery_codes(10);
        let distinct: std::collections::HashSet<_> = codes.iter().map(|c| &c.0).collect();
        assert_eq!(distinct.len(), 10);
        for (c, h) in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert_eq!(hash(&c.to_uppercase()).as_deref(), Some(h.as_str()));
        }
        assert_eq!(hash(""), None);
        assert_eq!(hash(&"A".repeat(101)), None);
        assert_ne!(hash("AAAA"), hash("AAAB"));
    }
}

#[cfg(test)]
#[path = "codes_props.rs"]
mod props;
