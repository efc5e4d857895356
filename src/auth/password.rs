//! Password hashing with argon2id, off the async runtime on the hashing
//! threads of `pool`, and the strength rules of a new password.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

use super::pool::{self, Lane};
use crate::error::{Error, Result};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable"
/// (about 10^10 guesses), the level its authors recommend for accounts.
const MIN_SCORE: u8 = 3;
/// zxcvbn's matching grows with the square of the length; a prefix this long
/// is judged (its guesses bound the whole password's from below).
const JUDGED_CHARS: usize = 100;

thread_local! {
    /// Each hashing thread's argon2 working memory, allocated once and reused.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2id with the given parameters into `out`, in this thread's reused memory.
fn argon2_raw(params: Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<()> {
    let count = params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() != count {
            blocks.clear();
            blocks.resize(count, argon2::Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..])
            .map_err(|e| Error::internal(format!("argon2: {e}")))
    })
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
fn hash_now(password: &[u8]) -> Result<String> {
    let params = Params::default();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| Error::internal(format!("salt: {e}")))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_raw(params.clone(), password, salt_bytes, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|e| Error::internal(format!("params: {e}")))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| Error::internal(format!("output: {e}")))?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a PHC string (constant-time comparison).
fn verify_now(password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&phc), phc.salt, phc.hash)
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if argon2_raw(params, password, salt_bytes, &mut out).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|o| o == expected)
}

/// The rules every password a person chooses must pass: 12–256 characters,
/// not the login, and not guessable by zxcvbn (its own lists of common
/// passwords, words and names, plus the login and display name). The error
/// names the field and the rule that failed.
pub fn check_strength(field: &str, password: &str, login: &str, display_name: &str) -> Result<()> {
    let weak = |msg: String| Err(Error::WeakPassword(msg.into()));
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return weak(format!("{field}: at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return weak(format!("{field}: at most {MAX_PASSWORD_CHARS} characters"));
    }
    if password.trim().eq_ignore_ascii_case(login.trim()) {
        return weak(format!("{field}: must not be the login"));
    }
    let judged: String = password.chars().take(JUDGED_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&judged, &[login, display_name]);
    if (estimate.score() as u8) < MIN_SCORE {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| format!(" ({w})")))
            .unwrap_or_default();
        return weak(format!(
            "{field}: too easy to guess{hint}; use a longer phrase of unrelated words"
        ));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String> {
    pool::run(Lane::Other, move || hash_now(password.as_bytes())).await?
}

/// Verifies a password; with `None` it burns the same time against a dummy
/// hash, so unknown logins answer like wrong passwords.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    verify_in(Lane::Other, password, stored).await
}

/// [`verify`], waiting in the given lane of the hashing queue.
pub async fn verify_in(lane: Lane, password: String, stored: Option<String>) -> Result<bool> {
    pool::run(lane, move || match stored {
        Some(s) => Ok(verify_now(password.as_bytes(), &s)),
        None => {
            let _ = verify_now(password.as_bytes(), dummy_hash());
            Ok(false)
        }
    })
    .await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now(b"renraku-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rules_name_what_failed() {
        let code = |r: Result<()>| match r {
            Err(Error::WeakPassword(m)) => m.into_owned(),
            Err(e) => format!("other error {e}"),
            Ok(()) => "ok".into(),
        };
        assert!(code(check_strength("p", "short-pw", "a", "b")).contains("at least 12"));
        assert!(code(check_strength("p", &"x".repeat(257), "a", "b")).contains("at most 256"));
        let login = "nurse.kobayashi-2026";
        assert!(code(check_strength("p", login, login, "小林")).contains("login"));
        assert!(code(check_strength("p", "password1234", "a", "b")).contains("guess"));
        assert!(code(check_strength(
            "p",
            "nurse.kobayashi1",
            "nurse.kobayashi",
            "小林"
        ))
        .contains("guess"));
        assert_eq!(
            code(check_strength("p", "Kaeru-no-Uta-2026-Hoshizora", "a", "b")),
            "ok"
        );
        assert_eq!(
            code(check_strength("p", "tsukimi-dango-Sapporo-1987!", "a", "b")),
            "ok"
        );
        // Keyboard walks and dates are guessable however long.
        assert!(code(check_strength("p", "qwertyuiop1234", "a", "b")).contains("guess"));
        // The longest allowed password is judged quickly (a prefix of it).
        let long: String = (0..256)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let t = std::time::Instant::now();
        let _ = check_strength("p", &long, "a", "b");
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn phc_round_trip_and_interop() {
        let h = hash_now(b"correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_now(b"correct horse battery", &h));
        assert!(!verify_now(b"wrong horse battery", &h));
        // A hash made by the argon2 crate's own PHC path verifies too.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"interop password", &salt)
            .map(|p| p.to_string())
            .unwrap_or_default();
        assert!(verify_now(b"interop password", &theirs));
        assert!(!verify_now(b"x", "not a phc string"));
    }
}
