//! `renraku backup`: the database copied online into a private temporary
//! folder, the key store read, both put in a tar with a manifest, the tar
//! encrypted as it is written (age, to the operator's recipient), and the
//! file put in place whole (temporary file, fsync, rename, fsync).

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

use super::label::{Label, LabelStanza};
use super::manifest::{FileEntry, Manifest, DB_NAME, FORMAT, VERSION};
use super::{hex, now, PrivateDir};
use crate::datadir::{read_private, sync_dir, DataDir};

/// What `renraku backup` is asked to do.
#[derive(Clone, Debug)]
pub struct BackupOptions {
    pub data_dir: PathBuf,
    /// `Some` on PostgreSQL: the database is not copied (pg_dump does it).
    pub database_url: Option<String>,
    pub out: PathBuf,
    /// The operator's age X25519 recipient (`age1…`).
    pub recipient: String,
    /// How many backups to keep in `out`'s folder (at least 1).
    pub keep: usize,
    /// Where the plaintext database copy lives meanwhile (default: the data dir).
    pub temp_dir: Option<PathBuf>,
    /// Tests only: sleep once the database is copied, so that a test can
    /// interrupt the backup while the plaintext copy exists.
    pub pause_after_copy: bool,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupDone {
    pub path: PathBuf,
    pub backup_id: String,
    pub backend: &'static str,
    pub bytes: u64,
    pub database_bytes: Option<u64>,
    pub key_files: usize,
    pub removed: Vec<PathBuf>,
    pub elapsed: std::time::Duration,
}

/// One member of the tar, before it is written.
enum Member {
    Bytes(String, Zeroizing<Vec<u8>>),
    File(String, PathBuf, u64),
}

pub async fn create(opts: &BackupOptions) -> anyhow::Result<BackupDone> {
    let started = Instant::now();
    if opts.keep == 0 {
        bail!("--keep must be at least 1 (the backup just written is one of them)");
    }
    let dir = DataDir::new(&opts.data_dir);
    let recipient = recipient(&dir, &opts.recipient)?;
    let (created_ms, created_at) = now()?;
    let backup_id = uuid::Uuid::now_v7().to_string();
    let backend = match opts.database_url {
        Some(_) => "postgres",
        None => "sqlite",
    };
    // Keys first, then the database, then the master key read again: the
    // key files change only in a rotation (no server runs) or at a server's
    // first start, and the copy never needs keys newer than itself.
    let mut members = key_files(&dir)?;
    let key_files = members.len();
    let mut database_bytes = None;
    let mut temp = None;
    if backend == "sqlite" {
        let private = PrivateDir::create(opts.temp_dir.as_deref().unwrap_or(&opts.data_dir))?;
        let copy = private.path().join(DB_NAME);
        temp = Some(private);
        eprintln!("backup: copying the database (online, one consistent snapshot)");
        crate::store::snapshot_sqlite(&opts.data_dir.join(DB_NAME), &copy)
            .await
            .context("copying the SQLite database")?;
        let size = fs::metadata(&copy)?.len();
        database_bytes = Some(size);
        members.push(Member::File(DB_NAME.to_owned(), copy, size));
        // After the copy: every attachment its rows name is on disk by
        // now (a file is renamed into place before its row commits), and
        // files are never changed, only deleted a day after their upload
        // if unreferenced. A file without a row in the copy is removed at
        // the restored server's first start.
        members.extend(attachment_files(&opts.data_dir)?);
        if opts.pause_after_copy {
            eprintln!("backup: database copied; pausing (test hook)");
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    }
    // A rotation (run beside a backup of a stopped server) would make the
    // copy's keys and the key files disagree: refuse rather than keep that.
    let master_now = read_private(&dir.master_path())?;
    let master_then = members.iter().find_map(|m| match m {
        Member::Bytes(path, bytes) if path == "keys/master.age" => Some(bytes),
        _ => None,
    });
    if dir.master_next_path().exists() || master_then.is_none_or(|b| b[..] != master_now[..]) {
        bail!(
            "the master key changed during the backup (a rotation): run the backup again after it"
        );
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        backup_id: backup_id.clone(),
        created_at,
        created_ms,
        backend: backend.to_owned(),
        renraku_version: env!("CARGO_PKG_VERSION").to_owned(),
        database_included: backend == "sqlite",
        note: (backend == "postgres").then(|| {
            "the database is not in this backup: back it up with pg_dump (README: Backup and restore)"
                .to_owned()
        }),
        files: Vec::new(), // hashed on the writer thread
    };
    let label = Label {
        created_ms,
        backup_id: backup_id.clone(),
    };
    let out = opts.out.clone();
    eprintln!(
        "backup: encrypting to the recipient and writing {}",
        out.display()
    );
    // If this future is dropped (the command interrupted), the writer
    // thread stops at its next read and puts nothing in place.
    let cancel = Cancel::default();
    let stop = cancel.0.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let manifest = Manifest {
            files: entries(&members)?,
            ..manifest
        };
        write_out(&out, recipient, label, &manifest, &members, &stop)
    })
    .await
    .context("the writer task")??;
    drop(cancel);
    drop(temp); // the plaintext copy is gone before anything else
    let folder = parent(&opts.out);
    let removed = super::label::prune(folder, opts.keep)?;
    Ok(BackupDone {
        path: opts.out.clone(),
        backup_id,
        backend,
        bytes,
        database_bytes,
        key_files,
        removed,
        elapsed: started.elapsed(),
    })
}

/// The operator's recipient; never the data dir's own master key (a backup
/// it could open would be no better than the data dir itself).
fn recipient(dir: &DataDir, text: &str) -> anyhow::Result<age::x25519::Recipient> {
    let r = age::x25519::Recipient::from_str(text.trim())
        .map_err(|e| anyhow::anyhow!("--recipient is not an age X25519 recipient (age1…): {e}"))?;
    if !dir.is_initialised() {
        bail!(
            "{} is not an initialised data dir (no keys/master.age)",
            dir.root.display()
        );
    }
    if dir.master_next_path().exists() {
        bail!("a master key rotation is unfinished: finish it (`renraku keys rotate`) before backing up");
    }
    let master = read_private(&dir.master_path())?;
    let master = std::str::from_utf8(&master).context("master identity is not text")?;
    let own = crate::crypto::KeyRing::from_identity(master).context("master identity")?;
    if own.recipient() == r.to_string() {
        bail!("--recipient is the data dir's own master key: use the operator's offline key");
    }
    Ok(r)
}

/// Every key file (`keys/*`, not a `.tmp` being written).
fn key_files(dir: &DataDir) -> anyhow::Result<Vec<Member>> {
    let keys = dir.root.join("keys");
    let mut out = Vec::new();
    let mut names = Vec::new();
    for entry in fs::read_dir(&keys).with_context(|| format!("listing {}", keys.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && !name.ends_with(".tmp") {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let bytes = read_private(&keys.join(&name))?;
        out.push(Member::Bytes(format!("keys/{name}"), bytes));
    }
    Ok(out)
}

/// The sealed attachment files (SQLite), `attachments/<child>/<id>`.
fn attachment_files(data_dir: &Path) -> anyhow::Result<Vec<Member>> {
    let root = data_dir.join("attachments");
    let mut out = Vec::new();
    let children = match fs::read_dir(&root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        other => other.with_context(|| format!("listing {}", root.display()))?,
    };
    for child in children {
        let child = child?;
        let c = child.file_name().to_string_lossy().into_owned();
        if !child.file_type()?.is_dir() || uuid::Uuid::parse_str(&c).is_err() {
            continue; // tmp/: uploads in progress
        }
        for file in fs::read_dir(child.path())? {
            let file = file?;
            let a = file.file_name().to_string_lossy().into_owned();
            let meta = file.metadata()?;
            if meta.is_file() && uuid::Uuid::parse_str(&a).is_ok() {
                out.push(Member::File(
                    format!("attachments/{c}/{a}"),
                    file.path(),
                    meta.len(),
                ));
            }
        }
    }
    Ok(out)
}

fn entries(members: &[Member]) -> anyhow::Result<Vec<FileEntry>> {
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let (path, size, sha256) = match m {
            Member::Bytes(path, b) => (path, b.len() as u64, hex(&Sha256::digest(b))),
            Member::File(path, file, size) => (path, *size, sha256_file(file)?),
        };
        out.push(FileEntry {
            path: path.clone(),
            size,
            sha256,
        });
    }
    Ok(out)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Set when the backup's future is dropped before the writer is done.
#[derive(Default)]
struct Cancel(Arc<AtomicBool>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A reader that fails once the backup is cancelled.
struct Checked<'a, R> {
    inner: R,
    stop: &'a AtomicBool,
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the backup was interrupted"));
        }
        self.inner.read(buf)
    }
}

/// Writes the age file whole, or nothing: `OUT.<random>.tmp`, then rename.
fn write_out(
    out: &Path,
    recipient: age::x25519::Recipient,
    label: Label,
    manifest: &Manifest,
    members: &[Member],
    stop: &AtomicBool,
) -> anyhow::Result<u64> {
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let tmp = PathBuf::from(tmp);
    let written = write_tmp(&tmp, recipient, label, manifest, members, stop).and_then(|bytes| {
        if stop.load(Ordering::Relaxed) {
            bail!("the backup was interrupted");
        }
        fs::rename(&tmp, out).with_context(|| format!("renaming {}", tmp.display()))?;
        sync_dir(parent(out))?;
        Ok(bytes)
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn write_tmp(
    tmp: &Path,
    recipient: age::x25519::Recipient,
    label: Label,
    manifest: &Manifest,
    members: &[Member],
    stop: &AtomicBool,
) -> anyhow::Result<u64> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let label = LabelStanza(label);
    let recipients: [&dyn age::Recipient; 2] = [&recipient, &label];
    let encryptor = age::Encryptor::with_recipients(recipients.into_iter())
        .map_err(|e| anyhow::anyhow!("preparing the encryption: {e}"))?;
    let sealed = encryptor.wrap_output(BufWriter::new(file))?;
    let mut tar = tar::Builder::new(sealed);
    let text = serde_json::to_vec_pretty(manifest)?;
    append(
        &mut tar,
        super::manifest::NAME,
        manifest.created_ms,
        text.len() as u64,
        &text[..],
    )?;
    for m in members {
        match m {
            Member::Bytes(path, b) => {
                append(&mut tar, path, manifest.created_ms, b.len() as u64, &b[..])?
            }
            Member::File(path, file, size) => {
                let f = fs::File::open(file)?;
                // Exactly the size hashed: the copy does not change meanwhile.
                let inner = f.take(*size);
                append(
                    &mut tar,
                    path,
                    manifest.created_ms,
                    *size,
                    Checked { inner, stop },
                )?
            }
        }
    }
    let sealed = tar.into_inner()?;
    let buffered = sealed.finish()?;
    let file = buffered.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    created_ms: i64,
    size: u64,
    data: impl Read,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(u64::try_from(created_ms / 1000).unwrap_or(0));
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data)
        .with_context(|| format!("adding {path} to the backup"))
}
