//! The identity files of a rotation: `master.age.next` (made once, reused
//! by a resumed run), the retired copy, and the final rename. Each file is
//! written whole or not at all (temporary file, fsync, rename, fsync of the
//! folder), so a crash never leaves a half-written identity behind.

use anyhow::Context;
use std::path::{Path, PathBuf};

use crate::crypto::KeyRing;
use crate::datadir::{read_private, sync_dir, write_private_atomic, DataDir};

/// An identity as read from its file.
fn read_ring(path: &Path) -> anyhow::Result<KeyRing> {
    let bytes = read_private(path)?;
    let text =
        std::str::from_utf8(&bytes).with_context(|| format!("{} is not text", path.display()))?;
    KeyRing::from_identity(text).with_context(|| format!("{} is not an identity", path.display()))
}

/// The new identity: `master.age.next` if a run made it (true: resumed),
/// else a fresh one, made durable before any data key is wrapped to it.
pub fn next_identity(dir: &DataDir) -> anyhow::Result<(KeyRing, bool)> {
    let path = dir.master_next_path();
    if path.exists() {
        return Ok((read_ring(&path)?, true));
    }
    let text = KeyRing::generate_identity();
    write_private_atomic(&path, text.as_bytes())?;
    let ring = KeyRing::from_identity(&text).context("the new identity")?;
    Ok((ring, false))
}

/// The identity in `master.age`, unless it is missing or is `new` already
/// (a run stopped after the final rename is not resumed: it has no
/// `master.age.next`; this covers a copy made by hand).
pub fn current_identity(dir: &DataDir, new: &KeyRing) -> anyhow::Result<Option<KeyRing>> {
    let path = dir.master_path();
    if !path.exists() {
        return Ok(None);
    }
    let ring = read_ring(&path)?;
    Ok((ring.recipient() != new.recipient()).then_some(ring))
}

/// Identities a key might still be wrapped to besides the current one:
/// the retired ones, read only when a key opens under neither.
pub fn retired_identities(dir: &DataDir, new: &KeyRing) -> anyhow::Result<Vec<KeyRing>> {
    let mut out = Vec::new();
    for path in dir.list_retired()? {
        let ring = read_ring(&path)?;
        if ring.recipient() != new.recipient() {
            out.push(ring);
        }
    }
    Ok(out)
}

/// Copies `master.age` to `master.age.retired-DATE` (0600); a copy with
/// the same bytes (a resumed run) is kept, another one (a second rotation
/// that day) gets the next free `.N` suffix.
pub fn retire(dir: &DataDir, date: &str) -> anyhow::Result<PathBuf> {
    let old = read_private(&dir.master_path())?;
    for n in 1..1000 {
        let path = dir.master_retired_path(date, n);
        if !path.exists() {
            write_private_atomic(&path, &old)?;
            return Ok(path);
        }
        if read_private(&path)?[..] == old[..] {
            return Ok(path);
        }
    }
    anyhow::bail!("too many retired identities dated {date}")
}

/// The last step: `master.age.next` becomes `master.age` in one rename.
pub fn commit(dir: &DataDir) -> anyhow::Result<()> {
    let (from, to) = (dir.master_next_path(), dir.master_path());
    std::fs::rename(&from, &to).with_context(|| format!("renaming {}", from.display()))?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn data_dir() -> (tempfile::TempDir, DataDir) {
        let tmp = tempfile::tempdir().unwrap(); // ok: test
        std::fs::create_dir(tmp.path().join("keys")).unwrap(); // ok: test
        let dir = DataDir::new(tmp.path());
        let id = KeyRing::generate_identity();
        write_private_atomic(&dir.master_path(), id.as_bytes()).unwrap(); // ok: test
        (tmp, dir)
    }

    #[test]
    fn next_is_made_once_then_reused() {
        let (_tmp, dir) = data_dir();
        let (a, resumed) = next_identity(&dir).unwrap(); // ok: test
        assert!(!resumed);
        let mode = std::fs::metadata(dir.master_next_path()).unwrap(); // ok: test
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
        let (b, resumed) = next_identity(&dir).unwrap(); // ok: test
        assert!(resumed);
        assert_eq!(a.recipient(), b.recipient());
        assert!(current_identity(&dir, &b).unwrap().is_some()); // ok: test
    }

    #[test]
    fn a_leftover_temporary_file_is_not_an_identity() {
        // Killed while writing master.age.next: only the .tmp exists.
        let (_tmp, dir) = data_dir();
        let tmp = dir.master_next_path().with_extension("next.tmp");
        std::fs::write(&tmp, b"AGE-SECRET-KEY-1TRUNC").unwrap(); // ok: test
        let (_, resumed) = next_identity(&dir).unwrap(); // ok: test
        assert!(!resumed);
        assert!(!tmp.exists(), "the temporary file was renamed into place");
    }

    #[test]
    fn retire_is_idempotent_and_a_second_rotation_gets_a_suffix() {
        let (_tmp, dir) = data_dir();
        let first = retire(&dir, "2026-05-01").unwrap(); // ok: test
        assert!(first.ends_with("master.age.retired-2026-05-01"));
        assert_eq!(retire(&dir, "2026-05-01").unwrap(), first); // ok: test
        let mode = std::fs::metadata(&first).unwrap().permissions().mode(); // ok: test
        assert_eq!(mode & 0o777, 0o600);
        // The next rotation the same day retires another identity.
        next_identity(&dir).unwrap(); // ok: test
        commit(&dir).unwrap(); // ok: test
        let second = retire(&dir, "2026-05-01").unwrap(); // ok: test
        assert!(second.ends_with("master.age.retired-2026-05-01.2"));
        assert_eq!(dir.list_retired().unwrap().len(), 2); // ok: test
    }

    #[test]
    fn after_the_rename_the_current_identity_is_the_new_one() {
        let (_tmp, dir) = data_dir();
        let (new, _) = next_identity(&dir).unwrap(); // ok: test
        commit(&dir).unwrap(); // ok: test
        assert!(!dir.master_next_path().exists());
        assert!(current_identity(&dir, &new).unwrap().is_none()); // ok: test
    }
}
