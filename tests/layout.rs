//! Keeps the dependency direction of `src/lib.rs` honest: SQL only in
//! `store/`, axum only in `http/` and the composition root, no `unsafe`.

#![allow(clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code that use `name` as a path (`name::` or `use name`), comments excluded.
fn uses(path: &Path, name: &str) -> bool {
    let text = fs::read_to_string(path).expect("read file");
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with("//"))
        .any(|l| l.contains(&format!("{name}::")) || l.starts_with(&format!("use {name}")))
}

#[test]
fn dependency_direction_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        if uses(f, "sqlx") && !rel.starts_with("store/") {
            wrong.push(format!("{rel} uses sqlx outside store/"));
        }
        let axum_ok = rel.starts_with("http/") || rel == "app.rs";
        if (uses(f, "axum") || uses(f, "axum_server")) && !axum_ok {
            wrong.push(format!("{rel} uses axum outside http/ and app.rs"));
        }
        if rel.starts_with("store/") && (uses(f, "crate::domain") || uses(f, "crate::http")) {
            wrong.push(format!("{rel}: store must not import domain or http"));
        }
        let text = fs::read_to_string(f).expect("read file");
        if text.contains("unsafe {") || text.contains("unsafe fn") {
            wrong.push(format!("{rel} has unsafe code"));
        }
    }
    assert!(wrong.is_empty(), "layout violations:\n{}", wrong.join("\n"));
}
