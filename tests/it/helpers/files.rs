//! What a server left on disk: every file under its data dir (and, on
//! PostgreSQL, its database's files and the cluster's WAL), and byte search.

use std::path::{Path, PathBuf};

use super::Server;

impl Server {
    /// Every file under `dir`.
    pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(dir, &mut out);
        out
    }

    /// Every file under the data dir and, on PostgreSQL, under the test
    /// cluster's own data directory (`RENRAKU_TEST_PGDATA`: heap, WAL, all).
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.dir, &mut out);
        if let Some(db_dir) = &self.pg_dir {
            // This test's own database files, and the cluster's WAL (which
            // every write goes through first).
            let pgdata = std::env::var("RENRAKU_TEST_PGDATA")
                .expect("RENRAKU_TEST_PGDATA must name the test cluster's data directory");
            let pgdata = Path::new(&pgdata);
            walk(&pgdata.join(db_dir), &mut out);
            walk(&pgdata.join("pg_wal"), &mut out);
        }
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(&p, out);
        } else if ft.is_file() {
            // A file may vanish between listing and reading (SHM, journals).
            if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
}

pub fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

pub fn count_bytes(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    memchr::memmem::find_iter(hay, needle).count()
}
