//! The data directory: where the database, the key files and the development
//! TLS pair live, and the checks that keep them private.
//!
//! ```text
//! DIR/renraku.db            SQLite database (+ -wal, -shm)
//! DIR/keys/master.age       master age X25519 identity (0600)
//! DIR/keys/master.age.next  the new identity while `renraku keys rotate` runs (0600)
//! DIR/keys/master.age.retired-YYYY-MM-DD  an identity retired by `keys rotate --keep-retired`
//! DIR/keys/token-signing.key  base64 HS256 key for access tokens (0600)
//! DIR/keys/vapid.key        base64url P-256 private key for Web Push (0600)
//! DIR/keys/audit-chain.key  base64 64-byte HMAC key of the access log's chain (0600)
//! DIR/keys/erasures         the tombstone list of confirmed erasures (ids and times, 0600)
//! DIR/tls/cert.pem, key.pem   self-signed development pair (generated if absent)
//! DIR/serve.lock            locked by the one server serving the SQLite database
//! DIR/.renraku-XXXX/       `renraku backup`'s private folder (0700) for the database copy, only while it runs
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
    /// The access log's chain key.
    pub audit_key: Zeroizing<Vec<u8>>,
    /// The chain key was made by this start (or by one interrupted before
    /// re-chaining): the old SHA-256 chains are to be carried over, then
    /// [`DataDir::commit_audit_key`] called.
    pub audit_key_fresh: bool,
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

    /// The identity a rotation is moving the data keys to; while it exists
    /// the rotation is unfinished and the server refuses to start.
    pub fn master_next_path(&self) -> PathBuf {
        self.keys_dir().join("master.age.next")
    }

    /// Where `keys rotate --keep-retired` keeps the old identity (`date`:
    /// YYYY-MM-DD; `n` > 1 for a second rotation on the same day).
    pub fn master_retired_path(&self, date: &str, n: u32) -> PathBuf {
        let name = match n {
            0 | 1 => format!("{RETIRED_PREFIX}{date}"),
            n => format!("{RETIRED_PREFIX}{date}.{n}"),
        };
        self.keys_dir().join(name)
    }

    /// Every retired identity file (`keys rotate --keep-retired`).
    pub fn list_retired(&self) -> anyhow::Result<Vec<PathBuf>> {
        let dir = self.keys_dir();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(RETIRED_PREFIX) && !name.ends_with(TMP_SUFFIX) {
                out.push(dir.join(&*name));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The tombstone list of erasures (`crate::store::tombstones`).
    pub fn erasures_path(&self) -> PathBuf {
        self.keys_dir().join("erasures")
    }

    pub fn token_key_path(&self) -> PathBuf {
        self.keys_dir().join("token-signing.key")
    }

    pub fn vapid_path(&self) -> PathBuf {
        self.keys_dir().join("vapid.key")
    }

    pub fn audit_key_path(&self) -> PathBuf {
        self.keys_dir().join("audit-chain.key")
    }

    /// Where a new chain key waits until the old chains are carried over.
    fn audit_key_pending_path(&self) -> PathBuf {
        self.keys_dir().join("audit-chain.key.pending")
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
        match self.try_lock()? {
            Ok(lock) => Ok(lock),
            Err(who) => bail!(
                "another renraku server{who} is serving {}: only one process may serve a \
                 SQLite data dir; stop it first, or use PostgreSQL (--database-url) for \
                 several nodes",
                self.root.display()
            ),
        }
    }

    /// Claims the data dir for a command that must run alone (a key
    /// rotation), refusing while a server (or another such command) holds it.
    pub fn lock_for_maintenance(&self, what: &str) -> anyhow::Result<ServeLock> {
        match self.try_lock()? {
            Ok(lock) => Ok(lock),
            Err(who) => bail!(
                "refusing to {what}: {} is locked by a running renraku process{who}; stop \
                 the server first (nothing was changed)",
                self.serve_lock_path().display()
            ),
        }
    }

    /// The lock, or who holds it (` (pid N)`, or empty if unknown).
    fn try_lock(&self) -> anyhow::Result<Result<ServeLock, String>> {
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
                return Ok(Err(who));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Ok(ServeLock { _file: file }))
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
        if self.master_next_path().exists() {
            // Some data keys may be wrapped to the new identity already:
            // serving now would fail on them, and deleting the file would
            // lose them.
            bail!(
                "a master key rotation is unfinished ({} exists): run `renraku keys rotate \
                 --data-dir {}` again to finish it; never delete that file",
                self.master_next_path().display(),
                self.root.display()
            );
        }
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
        let (audit_key, audit_key_fresh) = self.audit_key_or_new()?;
        Ok(Keys {
            ring,
            token_key: Zeroizing::new(token_key),
            vapid_key: Zeroizing::new(vapid_key),
            audit_key,
            audit_key_fresh,
        })
    }

    /// The chain key, made (as pending) if there is none. The key becomes
    /// final only once the server has carried the old chains over: the one
    /// moment SHA-256 records are re-chained is the key's creation, which
    /// nobody with only database access can bring about again.
    fn audit_key_or_new(&self) -> anyhow::Result<(Zeroizing<Vec<u8>>, bool)> {
        if self.audit_key_path().exists() {
            return Ok((self.read_audit_key()?, false));
        }
        let pending = self.audit_key_pending_path();
        if !pending.exists() {
            // 64 bytes: SHA-256's block size, the longest key HMAC-SHA256
            // uses as it is.
            let mut key = Zeroizing::new([0u8; 64]);
            rand::rngs::OsRng.fill_bytes(key.as_mut());
            let text = Zeroizing::new(format!(
                "{}\n",
                base64::engine::general_purpose::STANDARD.encode(key.as_ref())
            ));
            write_private(&pending, text.as_bytes())?;
        }
        Ok((read_key(&pending)?, true))
    }

    /// The chain key as it is (`renraku audit verify` makes none).
    pub fn read_audit_key(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        read_key(&self.audit_key_path())
    }

    /// The chain key, final or pending (a command that never appends to
    /// the access log opens the store with it; it creates none).
    pub fn read_audit_key_or_pending(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        if self.audit_key_path().exists() {
            return self.read_audit_key();
        }
        read_key(&self.audit_key_pending_path())
    }

    /// Makes a pending chain key final, once the old chains are carried over.
    pub fn commit_audit_key(&self) -> anyhow::Result<()> {
        let (from, to) = (self.audit_key_pending_path(), self.audit_key_path());
        fs::rename(&from, &to).with_context(|| format!("renaming {}", from.display()))?;
        sync_dir(&self.keys_dir())
    }
}

const RETIRED_PREFIX: &str = "master.age.retired-";
const TMP_SUFFIX: &str = ".tmp";

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Writes a private file (0600) so that it is either absent or whole after
/// a crash: a temporary file, synced, renamed into place, the folder synced.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp_name);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    // An older leftover keeps its mode: make sure of 0600 before writing.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path).with_context(|| format!("renaming {}", tmp.display()))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
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

/// A base64 key file of at least 32 bytes.
fn read_key(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let text = read_private(path)?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(String::from_utf8_lossy(&text).trim())
        .with_context(|| format!("{} is not base64", path.display()))?;
    if key.len() < 32 {
        bail!("{} must hold at least 32 bytes", path.display());
    }
    Ok(Zeroizing::new(key))
}

/// A key file's bytes, refused if group or others may read it.
pub fn read_private(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
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
