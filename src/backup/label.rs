//! How a backup is recognised by its content, whatever its name: its age
//! header carries, besides the stanza that wraps the file key to the
//! operator's recipient, one more stanza that wraps nothing:
//!
//! ```text
//! -> renraku-backup 1 <created_at epoch ms> <backup id>
//! ```
//!
//! It is in clear (so `--keep` can sort and prune without the identity), and
//! says only what the file's own date says: that it is a Renraku backup and
//! when it was taken. Identities ignore stanzas of a type they do not know
//! (the stock `age` tool too), and the header's MAC covers it, so on restore
//! it is authenticated along with the rest of the header and must agree
//! with the manifest inside.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use age_core::format::{FileKey, Stanza};

/// The stanza's type.
pub const TAG: &str = "renraku-backup";
/// The label's own format version.
const LABEL_VERSION: &str = "1";
/// The first line of every age file.
pub const AGE_MAGIC: &str = "age-encryption.org/v1";
/// Headers are small (a few stanzas): more than this is not one of ours.
const MAX_HEADER: u64 = 64 * 1024;

/// What the label says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub created_ms: i64,
    pub backup_id: String,
}

/// The label as a "recipient": it adds its stanza, and wraps nothing.
pub struct LabelStanza(pub Label);

impl age::Recipient for LabelStanza {
    fn wrap_file_key(
        &self,
        _file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let stanza = Stanza {
            tag: TAG.to_owned(),
            args: vec![
                LABEL_VERSION.to_owned(),
                self.0.created_ms.to_string(),
                self.0.backup_id.clone(),
            ],
            body: Vec::new(),
        };
        // No labels: it combines with the X25519 recipient (which has none).
        Ok((vec![stanza], HashSet::new()))
    }
}

/// What the start of a file is.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    NotAge,
    /// An age file without our label (or with a header cut short).
    OtherAge,
    Backup(Label),
}

/// Reads a file's age header (never past it, and never more than 64 KiB).
pub fn read_kind(path: &Path) -> std::io::Result<Kind> {
    let file = std::fs::File::open(path)?;
    Ok(kind_of(BufReader::new(file.take(MAX_HEADER))))
}

/// The header's lines: the magic line, stanzas (`-> tag args…` and their
/// base64 body lines), then the `---` MAC line.
pub fn kind_of(mut r: impl BufRead) -> Kind {
    let mut line = Vec::new();
    match r.read_until(b'\n', &mut line) {
        Ok(_) if line == format!("{AGE_MAGIC}\n").as_bytes() => {}
        _ => return Kind::NotAge,
    }
    let mut found = None;
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 && line.ends_with(b"\n") => {}
            // Cut short: the header is incomplete, so is the file.
            _ => return Kind::OtherAge,
        }
        if line.starts_with(b"---") {
            return found.map_or(Kind::OtherAge, Kind::Backup);
        }
        if let Some(rest) = line.strip_prefix(b"-> ") {
            let text = String::from_utf8_lossy(rest);
            let args: Vec<&str> = text.split_ascii_whitespace().collect();
            if let [TAG, LABEL_VERSION, ms, id] = args[..] {
                if let Ok(created_ms) = ms.parse() {
                    found = Some(Label {
                        created_ms,
                        backup_id: id.to_owned(),
                    });
                }
            }
        }
    }
}

/// Removes the oldest backups in `folder` beyond the `keep` newest (by the
/// time in their labels, then by name). Files that are not Renraku backups
/// are left alone, and so are files still being written (`*.tmp`).
pub fn prune(folder: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    let mut ours = Vec::new();
    for entry in
        std::fs::read_dir(folder).with_context(|| format!("listing {}", folder.display()))?
    {
        let entry = entry?;
        let path = entry.path();
        if !entry.file_type()?.is_file() || path.to_string_lossy().ends_with(".tmp") {
            continue;
        }
        // A file we may not read is not one we wrote.
        if let Ok(Kind::Backup(label)) = read_kind(&path) {
            ours.push((label.created_ms, path));
        }
    }
    ours.sort_by(|a, b| b.cmp(a)); // newest first
    let mut removed = Vec::new();
    for (_, path) in ours.into_iter().skip(keep) {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        removed.push(path);
    }
    if !removed.is_empty() {
        crate::datadir::sync_dir(folder)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(lines: &[&str]) -> Vec<u8> {
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn recognises_the_label_and_nothing_else() {
        let ours = header(&[
            AGE_MAGIC,
            "-> X25519 abc",
            "Zm9v",
            "-> renraku-backup 1 1700000000000 0190-abc",
            "",
            "--- mac",
        ]);
        assert_eq!(
            kind_of(&ours[..]),
            Kind::Backup(Label {
                created_ms: 1_700_000_000_000,
                backup_id: "0190-abc".into()
            })
        );
        let other = header(&[AGE_MAGIC, "-> X25519 abc", "Zm9v", "--- mac"]);
        assert_eq!(kind_of(&other[..]), Kind::OtherAge);
        assert_eq!(kind_of(&b"hello\n"[..]), Kind::NotAge);
        assert_eq!(kind_of(&b""[..]), Kind::NotAge);
        // Cut inside the header.
        assert_eq!(kind_of(&ours[..ours.len() - 4]), Kind::OtherAge);
    }
}
