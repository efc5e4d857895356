//! Password hashing with argon2id, off the async runtime, on a small fixed
//! pool of threads: each hash needs 19 MiB, and spreading them over the
//! blocking pool's many threads left that much behind in each thread's
//! allocator arena (12 concurrent logins took the server from 19 to 255 MiB).

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

use crate::error::{Error, Result};

pub const MIN_PASSWORD_CHARS: usize = 12;

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run every argon2 computation.
const HASH_THREADS: usize = 2;

fn pool() -> &'static std::sync::mpsc::Sender<Job> {
    static POOL: OnceLock<std::sync::mpsc::Sender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..HASH_THREADS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        tx
    })
}

/// Runs `f` on the hashing pool.
async fn on_pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool()
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| Error::internal("password hashing pool stopped"))?;
    rx.await.map_err(Error::internal)
}

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

pub async fn hash(password: String) -> Result<String> {
    on_pool(move || hash_now(password.as_bytes())).await?
}

/// Verifies a password; with `None` it burns the same time against a dummy
/// hash, so unknown logins answer like wrong passwords.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    on_pool(move || match stored {
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
