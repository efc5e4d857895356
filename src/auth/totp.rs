//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s) with totp-rs. A code is accepted
//! for the previous, current or next step, and each step only once (the
//! caller records the matched step).

use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::{Error, Result};
use crate::ids::Timestamp;

const STEP_SECS: u64 = 30;

fn totp(secret: &[u8], login: &str) -> Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS,
        secret.to_vec(),
        Some("Renraku".into()),
        login.replace(':', "_"),
    )
    .map_err(|e| Error::internal(format!("totp: {e}")))
}

/// A new secret: raw bytes (to seal), base32 text and the otpauth URI (for the user).
pub fn generate(login: &str) -> Result<(Vec<u8>, String, String)> {
    let secret = Secret::generate_secret();
    let bytes = secret
        .to_bytes()
        .map_err(|e| Error::internal(format!("totp: {e}")))?;
    let t = totp(&bytes, login)?;
    Ok((bytes, t.get_secret_base32(), t.get_url()))
}

/// The step the code belongs to, if it is valid now.
pub fn matching_step(secret: &[u8], login: &str, code: &str) -> Result<Option<i64>> {
    let t = totp(secret, login)?;
    let now = u64::try_from(Timestamp::now().millis() / 1000).unwrap_or(0);
    let step = now / STEP_SECS;
    for candidate in [step.saturating_sub(1), step, step + 1] {
        let expected = t.generate(candidate * STEP_SECS);
        if constant_eq(expected.as_bytes(), code.trim().as_bytes()) {
            return Ok(i64::try_from(candidate).ok());
        }
    }
    Ok(None)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[path = "totp_props.rs"]
mod props;
