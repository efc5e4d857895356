//! The data directory: where the database, the key files and the development
//! TLS pair live, and the checks that keep them private.
//!
//! ```text
//! DIR/renraku.db            SQLite database (+ -wal, -shm)
//! DIR/keys/master.age       master age X25519 identity (0600)
//! DIR/keys/token-signing.key  base64 HS256 key for access tokens (0600)
//! DIR/keys/vapid.key        base64url P-256 private key for Web Push (0600)
//! DIR/tls/cert.pem, key.pem   self-signed development pair (generated if absent)
//! DIR/serve.lock            locked by the one server serving the SQLite database
//! ```

use anyhow::{bail, Context};
use base64::Engine;
use rand::RngCore;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use crate::crypto::KeyRing;

pub struct DataDir {
    pub root: PathBuf,
}

/// Held by the one process that serves a data dir's SQLite database; the
/// operating system releases it when that process exits, however it exits.
pub struct ServeLock {
    _file: fs::File,
}

/// Secrets loaded from the data dir.
pub struct Keys {
    pub ring: KeyRing,
    pub token_key: Zeroizing<Vec<u8>>,
    pub vapid_key: Zeroizing<Vec<u8>>,
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    pub fn master_path(&self) -> PathBuf {
        self.keys_dir().join("master.age")
    }

    pub fn token_key_path(&self) -> PathBuf {
        self.keys_dir().join("token-signing.key")
    }

    pub fn vapid_path(&self) -> PathBuf {
        self.keys_dir().join("vapid.key")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.root.join("tls").join("cert.pem")
    }

    pub fn tls_key_path(&self) -> PathBuf {
        self.root.join("tls").join("key.pem")
    }

    pub fn serve_lock_path(&self) -> PathBuf {
        self.root.join("serve.lock")
    }

    /// Claims the data dir for one serving process, without waiting.
    ///
    /// On SQLite one process must own the database: the posting path keeps
    /// consent rows in memory and drops them when this process commits a
    /// change, and live delivery reaches only this process's sockets. A
    /// second `renraku serve` on the same dir is refused here, with the
    /// first one's pid. (Several nodes share a PostgreSQL database instead.)
    pub fn lock_for_serving(&self) -> anyhow::Result<ServeLock> {
        let path = self.serve_lock_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let who = fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                bail!(
                    "another renraku server{who} is serving {}: only one process may serve a \
                     SQLite data dir; stop it first, or use PostgreSQL (--database-url) for \
                     several nodes",
                    self.root.display()
                );
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(ServeLock { _file: file })
    }

    pub fn is_initialised(&self) -> bool {
        self.master_path().exists()
    }

    /// Creates what is missing: directories (0700), master identity, token key, TLS pair.
    pub fn init(&self) -> anyhow::Result<()> {
        for dir in [self.root.clone(), self.keys_dir(), self.root.join("tls")] {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        if !self.master_path().exists() {
            let identity = KeyRing::generate_identity();
            write_private(&self.master_path(), identity.as_bytes())?;
        }
        if !self.token_key_path().exists() {
            let mut key = Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(key.as_mut());
            let text = Zeroizing::new(format!(
                "{}\n",
                base64::engine::general_purpose::STANDARD.encode(key.as_ref())
            ));
            write_private(&self.token_key_path(), text.as_bytes())?;
        }
        self.ensure_vapid()?;
        if !self.cert_path().exists() || !self.tls_key_path().exists() {
            self.generate_tls()?;
        }
        Ok(())
    }

    /// The VAPID key pair identifies this deployment to push services; data
    /// dirs made before Web Push get one on their next start.
    fn ensure_vapid(&self) -> anyhow::Result<()> {
        if !self.vapid_path().exists() {
            let key = Zeroizing::new(crate::push::Pusher::generate_key());
            let text = Zeroizing::new(format!(
                "{}\n",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_slice())
            ));
            write_private(&self.vapid_path(), text.as_bytes())?;
        }
        Ok(())
    }

    /// A self-signed pair for localhost and 127.0.0.1, for development and the demo.
    fn generate_tls(&self) -> anyhow::Result<()> {
        let names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let pair = rcgen::generate_simple_self_signed(names).context("generating TLS pair")?;
        write_private(
            &self.tls_key_path(),
            pair.key_pair.serialize_pem().as_bytes(),
        )?;
        fs::write(self.cert_path(), pair.cert.pem())?;
        Ok(())
    }

    /// Loads the keys, refusing key files that others could read.
    pub fn load_keys(&self) -> anyhow::Result<Keys> {
        let master = read_private(&self.master_path())?;
        let text = std::str::from_utf8(&master).context("master identity is not text")?;
        let ring = KeyRing::from_identity(text).context("master identity")?;
        let token_text = read_private(&self.token_key_path())?;
        let token_key = base64::engine::general_purpose::STANDARD
            .decode(String::from_utf8_lossy(&token_text).trim())
            .context("token signing key is not base64")?;
        if token_key.len() < 32 {
            bail!("token signing key must be at least 32 bytes");
        }
        self.ensure_vapid()?;
        let vapid_text = read_private(&self.vapid_path())?;
        let vapid_key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(String::from_utf8_lossy(&vapid_text).trim())
            .context("VAPID key is not base64url")?;
        Ok(Keys {
            ring,
            token_key: Zeroizing::new(token_key),
            vapid_key: Zeroizing::new(vapid_key),
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn read_private(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let meta = fs::metadata(path).with_context(|| {
        format!(
            "{} is missing: run `renraku init --data-dir {}`",
            path.display(),
            path.parent()
                .and_then(Path::parent)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    })?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "refusing to start: {} is readable by group or others (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(Zeroizing::new(fs::read(path)?))
}
