//! `renraku restore`: a backup decrypted, checked and unpacked into a
//! staging folder beside the new data dir, which becomes the data dir in one
//! rename only once every member matched the manifest and the age stream
//! was read to its authenticated end. Any failure removes the staging
//! folder: nothing is left, nothing else is changed.

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::label::{read_kind, Kind, Label};
use super::manifest::{check_member_path, Manifest, NAME};
use super::{hex, PrivateDir};
use crate::datadir::{sync_dir, DataDir};

#[derive(Clone, Debug)]
pub struct RestoreOptions {
    pub from: PathBuf,
    /// A file of age X25519 identities (`AGE-SECRET-KEY-1…`, `#` comments).
    pub identity: PathBuf,
    pub data_dir: PathBuf,
    /// A tombstone list (a live data dir's `keys/erasures`) whose erasures
    /// are added to the restored one, to be re-applied.
    pub erasures: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub files: usize,
    /// Erasures added from `--erasures`, and of those how many were
    /// recorded after the backup was taken.
    pub erasures_added: usize,
    pub erasures_after: usize,
}

/// Manifests are small; a larger first member is not one.
const MAX_MANIFEST: u64 = 1024 * 1024;

pub fn restore(opts: &RestoreOptions) -> anyhow::Result<Restored> {
    let target = &opts.data_dir;
    if target.exists() {
        let mut entries = fs::read_dir(target)
            .with_context(|| format!("{} exists and is not a readable folder", target.display()))?;
        if entries.next().is_some() {
            bail!(
                "refusing to restore into {}: it exists and is not empty (nothing was changed)",
                target.display()
            );
        }
    }
    // Read before anything is written: a bad list changes nothing.
    let tombstones = match &opts.erasures {
        Some(path) => {
            if !path.is_file() {
                bail!("--erasures {}: no such file", path.display());
            }
            crate::store::tombstones::read(path)?
        }
        None => Vec::new(),
    };
    let identities = identities(&opts.identity)?;
    let label = match read_kind(&opts.from).with_context(|| format!("reading {}", opts.from.display()))? {
        Kind::NotAge => bail!("{} is not an age file, so not a renraku backup", opts.from.display()),
        Kind::OtherAge => bail!(
            "{} is not a renraku backup (an age file without the renraku-backup label, or one cut short)",
            opts.from.display()
        ),
        Kind::Backup(label) => label,
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = PrivateDir::create(&parent)?;
    eprintln!(
        "restore: decrypting and checking {} into {}",
        opts.from.display(),
        target.display()
    );
    let (manifest, files) = unpack(&opts.from, &identities, &label, staging.path())?;
    // The development TLS pair (never in a backup) and the folders' modes.
    let staged = DataDir::new(staging.path());
    staged.init().context("completing the data dir")?;
    let erasures_added = crate::store::tombstones::merge(&staged.erasures_path(), &tombstones)?;
    let erasures_after = tombstones
        .iter()
        .filter(|t| t.at >= manifest.created_ms)
        .count();
    if target.exists() {
        fs::remove_dir(target)
            .with_context(|| format!("replacing the empty {}", target.display()))?;
    }
    staging.commit_to(target)?;
    sync_dir(&parent)?;
    Ok(Restored {
        manifest,
        files,
        erasures_added,
        erasures_after,
    })
}

/// Every identity in the file; its text is never printed.
fn identities(path: &Path) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path)
            .with_context(|| format!("reading the identity file {}", path.display()))?,
    );
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match age::x25519::Identity::from_str(line) {
            Ok(id) => out.push(id),
            Err(_) => bail!(
                "{} holds a line that is not an age X25519 identity",
                path.display()
            ),
        }
    }
    if out.is_empty() {
        bail!(
            "{} holds no age identity (AGE-SECRET-KEY-1…)",
            path.display()
        );
    }
    Ok(out)
}

/// Decrypts and unpacks into `dir`; returns the manifest and the member count.
fn unpack(
    from: &Path,
    identities: &[age::x25519::Identity],
    label: &Label,
    dir: &Path,
) -> anyhow::Result<(Manifest, usize)> {
    let file = fs::File::open(from)?;
    let decryptor =
        age::Decryptor::new_buffered(BufReader::new(file)).map_err(|e| damaged(from, e))?;
    let ids = identities.iter().map(|i| i as &dyn age::Identity);
    let plain = match decryptor.decrypt(ids) {
        Ok(r) => r,
        Err(age::DecryptError::NoMatchingKeys) => {
            bail!(
                "this backup is not for that identity: {} opens under none of its keys",
                from.display()
            )
        }
        Err(e) => return Err(damaged(from, e)),
    };
    let mut tar = tar::Archive::new(plain);
    let mut manifest: Option<Manifest> = None;
    let mut expected = BTreeMap::new();
    let mut seen = 0usize;
    for entry in tar.entries().map_err(|e| damaged(from, e))? {
        let mut entry = entry.map_err(|e| damaged(from, e))?;
        let path = entry
            .path()
            .map_err(|e| damaged(from, e))?
            .to_string_lossy()
            .into_owned();
        let Some(m) = &manifest else {
            manifest = Some(read_manifest(from, &path, &mut entry, label)?);
            if let Some(m) = &manifest {
                expected = m
                    .files
                    .iter()
                    .map(|f| (f.path.clone(), f.clone()))
                    .collect();
            }
            continue;
        };
        check_member_path(&path)?;
        let Some(want) = expected.remove(&path) else {
            bail!(
                "{path} is in the backup but not in its manifest (backup {})",
                m.backup_id
            );
        };
        let (size, sha) =
            write_member(&mut entry, &dir.join(&path)).map_err(|e| damaged(from, e))?;
        if size != want.size || sha != want.sha256 {
            bail!("{path} does not match the manifest: the backup is damaged");
        }
        seen += 1;
    }
    let Some(manifest) = manifest else {
        bail!(
            "{} holds no manifest: not a renraku backup, or damaged",
            from.display()
        );
    };
    if let Some(missing) = expected.keys().next() {
        bail!("{missing} is in the manifest but not in the backup: the backup is truncated or damaged");
    }
    // Read to the end: the last chunk's tag is what proves nothing was cut.
    let mut rest = tar.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| damaged(from, e))?;
    sync_dir(&dir.join("keys")).ok();
    sync_dir(dir)?;
    Ok((manifest, seen))
}

fn damaged(from: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is damaged or truncated ({e}); nothing was restored",
        from.display()
    )
}

fn read_manifest(
    from: &Path,
    path: &str,
    entry: &mut impl Read,
    label: &Label,
) -> anyhow::Result<Manifest> {
    if path != NAME {
        bail!(
            "{} does not start with a renraku manifest: not a renraku backup",
            from.display()
        );
    }
    let mut text = Vec::new();
    entry
        .take(MAX_MANIFEST)
        .read_to_end(&mut text)
        .map_err(|e| damaged(from, e))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("the backup's manifest is not readable: {e}"))?;
    manifest.check()?;
    // The label was authenticated with the header: the two must agree.
    if manifest.backup_id != label.backup_id || manifest.created_ms != label.created_ms {
        bail!("the backup's label and manifest disagree: not a file written by renraku backup");
    }
    Ok(manifest)
}

/// Writes one member (0600, synced); returns its size and SHA-256.
fn write_member(entry: &mut impl Read, path: &Path) -> std::io::Result<(u64, String)> {
    if let Some(p) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(p)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        f.write_all(&buf[..n])?;
        size += n as u64;
    }
    f.sync_all()?;
    Ok((size, hex(&h.finalize())))
}
