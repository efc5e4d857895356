//! The tombstone list of erasures, `keys/erasures`: one line per confirmed
//! erasure, `<child id> <unix ms>`, appended and fsynced before the
//! database forgets the child's key. It lives with the keys, so every
//! backup carries it; `restore --erasures FILE` and every server start
//! re-apply it, so an erasure also reaches a database restored from before
//! it. It never holds content: ids and times only.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context};

use crate::ids::ChildId;

const HEADER: &str = "# renraku erasures v1: <child id> <confirmed at, unix ms>\n";

/// One confirmed erasure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub child: ChildId,
    pub at: i64,
}

/// Parses a tombstone list; an error names the first bad line.
pub fn parse(text: &str) -> anyhow::Result<Vec<Tombstone>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(child), Some(at), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!("line {}: expected `<child id> <unix ms>`", n + 1);
        };
        let child = child
            .parse()
            .map_err(|_| anyhow::anyhow!("line {}: not a child id", n + 1))?;
        let at = at
            .parse()
            .map_err(|_| anyhow::anyhow!("line {}: not a time in unix ms", n + 1))?;
        out.push(Tombstone { child, at });
    }
    Ok(out)
}

/// The list at `path`; empty when the file does not exist.
pub fn read(path: &Path) -> anyhow::Result<Vec<Tombstone>> {
    match fs::read_to_string(path) {
        Ok(text) => parse(&text).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Appends one erasure and makes it durable (the file, and the folder when
/// the file is new).
pub fn append(path: &Path, t: Tombstone) -> anyhow::Result<()> {
    let new = !path.exists();
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut line = String::new();
    if new {
        line.push_str(HEADER);
    }
    line.push_str(&format!("{} {}\n", t.child, t.at));
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    if new {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}

/// Appends every tombstone of `more` that `path` does not list yet; returns
/// how many were added.
pub fn merge(path: &Path, more: &[Tombstone]) -> anyhow::Result<usize> {
    let have = read(path)?;
    let mut added = 0;
    for t in more {
        if !have.iter().any(|h| h.child == t.child) {
            append(path, *t)?;
            added += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn appends_reads_and_merges() {
        let dir = tempfile::tempdir().unwrap(); // ok: test
        let path = dir.path().join("erasures");
        assert!(read(&path).unwrap().is_empty()); // ok: test
        let a = Tombstone {
            child: ChildId::new(),
            at: 1,
        };
        let b = Tombstone {
            child: ChildId::new(),
            at: 2,
        };
        append(&path, a).unwrap(); // ok: test
        assert_eq!(merge(&path, &[a, b]).unwrap(), 1); // ok: test
        assert_eq!(read(&path).unwrap(), vec![a, b]); // ok: test
        let text = fs::read_to_string(&path).unwrap(); // ok: test
        assert!(text.starts_with('#'));
    }

    #[test]
    fn names_the_bad_line() {
        let e = parse("# header\nnot-an-id 5\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(parse("x").is_err());
        let id = ChildId::new();
        assert!(parse(&format!("{id} 12 extra")).is_err());
        assert!(parse(&format!("{id} soon")).is_err());
    }
}
