//! The manifest: the first member of a backup's tar, saying what the
//! backup holds, so that a restore can check it before trusting the rest.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `format` of every manifest.
pub const FORMAT: &str = "renraku-backup";
/// The manifest's version; a restore refuses any other.
pub const VERSION: u32 = 1;
/// Its name in the tar.
pub const NAME: &str = "manifest.json";
/// The database copy's name in the tar (and in the data dir).
pub const DB_NAME: &str = "renraku.db";

/// `attachments/<uuid>/<uuid>`, nothing else under `attachments/`.
fn is_attachment_path(path: &str) -> bool {
    let mut parts = path.split('/');
    parts.next() == Some("attachments")
        && parts
            .next()
            .is_some_and(|c| uuid::Uuid::parse_str(c).is_ok() && c.len() == 36)
        && parts
            .next()
            .is_some_and(|a| uuid::Uuid::parse_str(a).is_ok() && a.len() == 36)
        && parts.next().is_none()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub backup_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_ms: i64,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub renraku_version: String,
    /// Whether the database is in the backup (not on PostgreSQL: `pg_dump`).
    pub database_included: bool,
    pub note: Option<String>,
    /// Every other member: its path in the tar, size and SHA-256 (hex).
    pub files: Vec<FileEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    /// Refuses a manifest this version cannot restore.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.format != FORMAT {
            bail!("not a renraku backup (manifest format {:?})", self.format);
        }
        if self.version != VERSION {
            bail!(
                "backup format version {} is not supported by this renraku (it reads {VERSION})",
                self.version
            );
        }
        if !matches!(self.backend.as_str(), "sqlite" | "postgres") {
            bail!("unknown backend {:?} in the manifest", self.backend);
        }
        for f in &self.files {
            check_member_path(&f.path)?;
        }
        Ok(())
    }
}

/// The only members a backup may hold: the database copy, plain files
/// directly under `keys/` (no `..`, no absolute path, no subfolder) and
/// sealed attachment files `attachments/<child id>/<attachment id>`.
pub fn check_member_path(path: &str) -> anyhow::Result<()> {
    let ok = path == DB_NAME
        || is_attachment_path(path)
        || path.strip_prefix("keys/").is_some_and(|name| {
            !name.is_empty()
                && name != "."
                && name != ".."
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        });
    if !ok {
        bail!("unexpected member {path:?} in the backup");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            backup_id: "id".into(),
            created_at: "2026-12-04T00:00:00Z".into(),
            created_ms: 0,
            backend: "sqlite".into(),
            renraku_version: "0.1.0".into(),
            database_included: true,
            note: None,
            files: vec![FileEntry {
                path: DB_NAME.into(),
                size: 1,
                sha256: String::new(),
            }],
        }
    }

    #[test]
    fn another_format_version_or_member_is_refused() {
        assert!(manifest().check().is_ok());
        let newer = Manifest {
            version: VERSION + 1,
            ..manifest()
        };
        assert!(newer.check().is_err());
        let other = Manifest {
            format: "something-else".into(),
            ..manifest()
        };
        assert!(other.check().is_err());
        let mut escaping = manifest();
        escaping.files[0].path = "../etc/passwd".into();
        assert!(escaping.check().is_err());
    }

    #[test]
    fn only_the_database_and_key_files_are_members() {
        for ok in [
            "renraku.db",
            "keys/master.age",
            "keys/audit-chain.key.pending",
            "attachments/0190a3b2-7c1e-7000-8000-000000000001/0190a3b2-7c1e-7000-8000-000000000002",
        ] {
            assert!(check_member_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "attachments/0190a3b2-7c1e-7000-8000-000000000001/../../keys",
            "attachments/tmp/0190a3b2-7c1e-7000-8000-000000000002",
            "attachments/0190a3b2-7c1e-7000-8000-000000000001",
            "../x",
            "/etc/passwd",
            "keys/../renraku.db",
            "keys/",
            "keys/..",
            "keys/a/b",
            "tls/key.pem",
            "renraku.db-wal",
        ] {
            assert!(check_member_path(bad).is_err(), "{bad}");
        }
    }
}
