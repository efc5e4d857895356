//! Keeps the dependency direction of `src/lib.rs` honest: SQL only in
//! `store/`, axum only in `http/` and the composition root, no `unsafe`;
//! every import between top-level modules follows the table below, the
//! top-level modules import each other without a cycle, and so do the
//! files and subfolders of each folder.
//!
//! Imports are read from the source text: `use` statements (braces
//! expanded) and inline paths (`crate::push::Pusher::new`), resolved from
//! `crate::`, `super::`, `self::` and the file's own `mod` declarations.
//! A folder's `mod.rs` is its root (it declares and re-exports its files,
//! which share what it defines, such as `Core`): a path to an item it
//! re-exports counts as a path to the file that defines the item.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// What each top-level module may import (`http → domain → {consent,
/// store, crypto, hub}`, and the leaves below them). `app` and `main` are
/// the composition root and may import anything.
const ALLOWED: &[(&str, &[&str])] = &[
    ("ids", &[]),
    ("vocab", &[]),
    ("crypto", &["ids"]),
    ("store", &["ids", "vocab"]),
    ("hub", &["ids", "vocab"]),
    ("error", &["crypto", "store"]),
    ("consent", &["error", "ids", "store", "vocab"]),
    ("auth", &["error", "ids"]),
    ("push", &["error", "ids", "store"]),
    ("datadir", &["crypto", "push"]),
    ("keys", &["crypto", "datadir", "store"]),
    ("backup", &["crypto", "datadir", "store"]),
    ("config", &[]),
    ("telemetry", &[]),
    (
        "domain",
        &[
            "auth", "config", "consent", "crypto", "error", "hub", "ids", "push", "store", "vocab",
        ],
    ),
    ("export", &["domain", "error", "ids", "vocab"]),
    ("http", &["config", "domain", "error", "export", "ids"]),
    ("demo", &["domain", "ids", "vocab"]),
    ("bench", &["config", "consent"]),
];

const ROOTS: &[&str] = &["app", "main", "lib"];

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

/// One source file: its module path and the absolute paths it refers to.
struct Source {
    rel: String,
    module: Vec<String>,
    refs: Vec<Vec<String>>,
}

/// The module path of a file: `domain/live.rs` → `[domain, live]`,
/// `domain/mod.rs` → `[domain]`, `lib.rs` → `[]`, `main.rs` → `[main]`.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a file without comments, string literals and its test module.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = String::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Drops the renames of a use tree (`Member as Consent` → `Member`).
fn without_renames(tree: &str) -> String {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" {
            // Keep what closes the list after the new name (`X as Y}` → `}`).
            let tail = words.get(i + 1).map_or("", |w| {
                w.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
            });
            out.push_str(tail);
            i += 2;
        } else {
            out.push_str(words[i]);
            i += 1;
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = without_renames(tree);
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').expect("closing brace")];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |s| format!("{prefix}{s}")))
        .collect()
}

/// Paths written in the code: every `use` tree expanded, and inline
/// `crate::`/`super::`/`self::`/`renraku::` paths.
fn written_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before_ok = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let tail = &rest[at + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        if before_ok {
            paths.extend(expand(&tail[..end]));
        }
        rest = &tail[end.min(tail.len())..];
    }
    for start in ["crate::", "super::", "self::", "renraku::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            let boundary = at == 0
                || !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if boundary {
                paths.push(path.trim_end_matches(':').to_owned());
            }
            from = at + start.len();
        }
    }
    paths
}

/// `mod x;` declarations: paths starting with `x::` are relative to the file.
fn child_mods(code: &str) -> BTreeSet<String> {
    code.lines()
        .map(str::trim)
        .filter_map(|l| {
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// An absolute module path (from the crate root), or None for another crate.
fn resolve(path: &str, module: &[String], mods: &BTreeSet<String>) -> Option<Vec<String>> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let first = *segs.first()?;
    let (mut base, rest): (Vec<String>, &[&str]) = match first {
        "crate" | "renraku" => (Vec::new(), &segs[1..]),
        "self" => (module.to_vec(), &segs[1..]),
        "super" => {
            let mut base = module.to_vec();
            let mut n = 0;
            while segs.get(n) == Some(&"super") {
                n += 1;
            }
            for _ in 0..n {
                base.pop();
            }
            (base, &segs[n..])
        }
        m if mods.contains(m) => (module.to_vec(), &segs[..]),
        _ => return None,
    };
    base.extend(rest.iter().map(|s| (*s).to_owned()));
    (!base.is_empty()).then_some(base)
}

fn sources(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files
        .iter()
        .map(|f| {
            let rel = f
                .strip_prefix(root)
                .expect("under src")
                .to_string_lossy()
                .into_owned();
            let module = if rel == "main.rs" {
                vec!["main".to_owned()]
            } else {
                module_of(&rel)
            };
            let code = code_of(&fs::read_to_string(f).expect("read file"));
            let mods = child_mods(&code);
            let mut refs: Vec<Vec<String>> = written_paths(&code)
                .iter()
                .filter_map(|p| resolve(p, &module, &mods))
                .collect();
            if rel == "main.rs" {
                // `main` is its own crate: `crate::` would be itself, `renraku::` is the library.
                refs.retain(|r| r.first().is_some_and(|m| m != "main"));
            }
            Source { rel, module, refs }
        })
        .collect()
}

/// Items a folder's `mod.rs` re-exports, by the child module that defines them.
fn reexports(root: &Path, folder: &[String]) -> HashMap<String, String> {
    let path = root.join(folder.join("/")).join("mod.rs");
    let Ok(text) = fs::read_to_string(path) else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for p in written_paths(&code_of(&text)) {
        let segs: Vec<&str> = p.split("::").collect();
        if segs.len() >= 2 && !["crate", "super", "self", "std"].contains(&segs[0]) {
            out.insert(segs[segs.len() - 1].to_owned(), segs[0].to_owned());
        }
    }
    out
}

/// A cycle in `edges`, if there is one (as the list of its nodes).
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut HashMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[at..].to_vec();
                cycle.push(n.to_owned());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = HashMap::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut state, &mut Vec::new()))
}

#[test]
fn top_level_imports_follow_the_table_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: HashMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for s in sources(&root) {
        let from = s
            .module
            .first()
            .cloned()
            .unwrap_or_else(|| "lib".to_owned());
        for r in &s.refs {
            let to = &r[0];
            if *to == from {
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to.clone());
            if ROOTS.contains(&from.as_str()) {
                continue;
            }
            match allowed.get(from.as_str()) {
                Some(ok) if ok.contains(&to.as_str()) => {}
                Some(_) => wrong.push(format!("{}: {from} imports {}", s.rel, r.join("::"))),
                None => wrong.push(format!("{}: module {from} is not in the table", s.rel)),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the direction:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        find_cycle(&edges),
        None,
        "top-level modules import each other in a cycle"
    );
}

#[test]
fn files_of_a_folder_import_each_other_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let sources = sources(&root);
    let folders: BTreeSet<Vec<String>> = sources
        .iter()
        .filter(|s| s.rel.ends_with("mod.rs"))
        .map(|s| s.module.clone())
        .collect();
    assert!(folders.len() >= 5, "found only {} folders", folders.len());
    let mut cycles = Vec::new();
    for folder in &folders {
        let n = folder.len();
        let children: BTreeSet<String> = sources
            .iter()
            .filter(|s| s.module.len() > n && s.module[..n] == folder[..])
            .map(|s| s.module[n].clone())
            .collect();
        let reexported = reexports(&root, folder);
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in sources
            .iter()
            .filter(|s| s.module.len() > n && s.module[..n] == folder[..])
        {
            let from = &s.module[n];
            for r in s
                .refs
                .iter()
                .filter(|r| r.len() > n && r[..n] == folder[..])
            {
                let name = &r[n];
                let to = if children.contains(name) {
                    name.clone()
                } else if let Some(m) = reexported.get(name) {
                    m.clone()
                } else {
                    continue; // defined in the folder's mod.rs
                };
                if to != *from {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        if let Some(c) = find_cycle(&edges) {
            cycles.push(format!("src/{}/: {}", folder.join("/"), c.join(" → ")));
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles inside a folder:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_parser_sees_cycles_and_groups() {
    assert_eq!(
        expand("crate::{a::{B, c::D}, e}"),
        vec!["crate::a::B", "crate::a::c::D", "crate::e"]
    );
    assert_eq!(
        expand("crate::consent::{self, Member as Consent, PostRight}"),
        vec![
            "crate::consent::self",
            "crate::consent::Member",
            "crate::consent::PostRight"
        ]
    );
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let module = vec!["domain".to_owned(), "live".to_owned()];
    let none = BTreeSet::new();
    assert_eq!(
        resolve("super::frames::ServerFrame", &module, &none),
        Some(vec!["domain".into(), "frames".into(), "ServerFrame".into()])
    );
    assert_eq!(resolve("serde::Serialize", &module, &none), None);
}
