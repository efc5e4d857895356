//! `renraku backup` and `renraku restore`: one age file holding a tar of a
//! manifest, the key store (`keys/`) and, on SQLite, an online consistent
//! copy of the database; and the way back to a data dir `serve` accepts.
//!
//! # Layout
//! - `create`: the backup (copy, tar, encrypt, atomic write, `--keep`);
//! - `restore`: decrypt, check, unpack into a staging folder, rename;
//! - `manifest`: what a backup says it holds, and which members are allowed;
//! - `label`: the clear `renraku-backup` stanza in the age header by which
//!   `--keep` recognises backups whatever their names.
//!
//! Plaintext never outlives the command: the database copy lives in a
//! private (0700) folder, removed on every path (a guard's `Drop`); the tar
//! is encrypted as it is written, so it never exists in clear on disk.

mod create;
mod label;
mod manifest;
mod restore;

pub use create::{create, BackupDone, BackupOptions};
pub use label::{read_kind, Kind, Label};
pub use manifest::Manifest;
pub use restore::{restore, RestoreOptions, Restored};

use anyhow::Context;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// A private (0700) folder, removed with everything in it when dropped,
/// unless [`PrivateDir::commit_to`] moved it into place.
pub(crate) struct PrivateDir {
    path: Option<PathBuf>,
}

impl PrivateDir {
    /// `.renraku-<random>` inside `parent`.
    pub(crate) fn create(parent: &Path) -> anyhow::Result<Self> {
        let path = parent.join(format!(".renraku-{}", uuid::Uuid::new_v4().simple()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("creating the private folder {}", path.display()))?;
        Ok(Self { path: Some(path) })
    }

    pub(crate) fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the folder to `to` (which must not exist); it is then kept.
    pub(crate) fn commit_to(mut self, to: &Path) -> anyhow::Result<()> {
        if let Some(path) = &self.path {
            std::fs::rename(path, to)
                .with_context(|| format!("renaming {} to {}", path.display(), to.display()))?;
        }
        self.path = None;
        Ok(())
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                eprintln!(
                    "could not remove {}: {e}; delete it by hand",
                    path.display()
                );
            }
        }
    }
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now: epoch milliseconds and RFC 3339 (UTC).
fn now() -> anyhow::Result<(i64, String)> {
    let t = time::OffsetDateTime::now_utc();
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).context("the clock")?;
    let text = t
        .format(&time::format_description::well_known::Rfc3339)
        .context("formatting the time")?;
    Ok((ms, text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_dir_is_0700_and_gone_when_dropped_unless_committed() {
        let tmp = tempfile::tempdir().unwrap(); // ok: test
        let dir = PrivateDir::create(tmp.path()).unwrap(); // ok: test
        let path = dir.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode(); // ok: test
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(path.join("renraku.db"), b"plaintext").unwrap(); // ok: test
        drop(dir);
        assert!(!path.exists(), "removed with its contents");

        let dir = PrivateDir::create(tmp.path()).unwrap(); // ok: test
        let to = tmp.path().join("kept");
        dir.commit_to(&to).unwrap(); // ok: test
        assert!(to.is_dir());
    }
}
