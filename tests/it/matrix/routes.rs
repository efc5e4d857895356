//! The server's real routes and WebSocket client frames, read from the
//! source independently of the policy table, and the check that each has a
//! row and each row has one.
//!
//! Routes: every `.route("PATH", get(..).post(..)…)` call and every
//! handler's `#[utoipa::path(METHOD, path = "PATH", …)]` (routed by
//! `.routes(routes!(..))`) in `src/http/**/*.rs` (calls may span lines; one
//! call may name several methods), prefixed as `src/http/mod.rs` mounts the module's `router()`
//! (merged into a router that is `.nest`ed, or merged at the root). Frames:
//! the variants of `ClientFrame` in `src/http/ws/protocol.rs`, named as
//! serde names them (`rename_all = "snake_case"`, or a variant's `rename`).
//! Whatever the reader does not understand (`nest` or `route_service` in a
//! resource module, a method router it does not know, a module with routes
//! that `mod.rs` does not mount) is an error: it fails closed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::policy::{Call, Row};

/// The WebSocket route: covered by the frame rows, not by an HTTP row.
pub const WS_ROUTE: (&str, &str) = ("GET", "/api/v1/ws");

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];
/// Calls that may follow a method router without adding a method.
const ADAPTERS: [&str; 3] = ["layer", "route_layer", "with_state"];

/// The source with comments replaced by spaces (string literals kept).
fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let end = string_end(b, i);
            out.push_str(&src[i..end]);
            i = end;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            out.push(' ');
            i = end;
        } else {
            let c = src[i..].chars().next().unwrap_or(' '); // ok: i < len, on a char boundary
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The index just past the string literal starting at `start` (a `"`).
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The text between the bracket at `open` and its match (exclusive).
fn group(src: &str, open: usize) -> Result<&str, String> {
    let b = src.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(&src[open + 1..i]);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("unbalanced brackets after {:?}", &src[open..]))
}

/// Identifiers followed by `(` at bracket depth 0 of `args`, in order.
fn calls_at_top(args: &str) -> Vec<String> {
    let b = args.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            i = string_end(b, i);
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let next = args[i..].trim_start().as_bytes().first().copied();
            if depth == 0 && next == Some(b'(') {
                out.push(args[start..i].to_string());
            }
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    out
}

/// The first string literal of `s`, unescaped enough for paths.
fn first_literal(s: &str) -> Option<(String, usize)> {
    let start = s.find('"')?;
    let end = string_end(s.as_bytes(), start);
    Some((s[start + 1..end - 1].to_string(), end))
}

/// `(METHOD, path)` of every `.route(..)` in one router module's source.
pub fn routes_of(src: &str) -> Result<Vec<(String, String)>, String> {
    let src = strip_comments(src);
    for unsupported in [".nest(", ".nest_service(", ".route_service(", ".merge("] {
        if src.contains(unsupported) {
            return Err(format!(
                "`{unsupported}` in a resource module: the matrix's route reader does not follow it"
            ));
        }
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = src[from..].find(".route(") {
        let open = from + at + ".route".len();
        let args = group(&src, open)?;
        from = open + args.len();
        let (path, after) =
            first_literal(args).ok_or_else(|| format!("route without a path literal: {args}"))?;
        let methods: Vec<String> = calls_at_top(&args[after..])
            .into_iter()
            .filter(|c| !ADAPTERS.contains(&c.as_str()))
            .map(|c| {
                let name = c.rsplit("::").next().unwrap_or(&c).to_string();
                if METHODS.contains(&name.as_str()) {
                    Ok(name.to_ascii_uppercase())
                } else {
                    Err(format!("route {path}: unknown method router `{c}(..)`"))
                }
            })
            .collect::<Result<_, _>>()?;
        if methods.is_empty() {
            return Err(format!("route {path}: no method found"));
        }
        out.extend(methods.into_iter().map(|m| (m, path.clone())));
    }
    // Handlers routed by `.routes(routes!(..))` declare method and path in
    // their `#[utoipa::path(METHOD, path = "..", ..)]`.
    let mut from = 0;
    while let Some(at) = src[from..].find("#[utoipa::path(") {
        let open = from + at + "#[utoipa::path".len();
        let args = group(&src, open)?;
        from = open + args.len();
        let method = args.split(',').next().unwrap_or("").trim();
        if !METHODS.contains(&method) {
            return Err(format!("utoipa::path with an unknown method `{method}`"));
        }
        let at_path = args
            .find("path =")
            .ok_or_else(|| format!("utoipa::path without `path = `: {args}"))?;
        let (path, _) = first_literal(&args[at_path..])
            .ok_or_else(|| format!("utoipa::path without a path literal: {args}"))?;
        out.push((method.to_ascii_uppercase(), path));
    }
    Ok(out)
}

/// Where `mod.rs` mounts each module's `router()`: module name → prefix.
pub fn mounts_of(mod_rs: &str) -> Result<BTreeMap<String, String>, String> {
    let src = strip_comments(mod_rs);
    // `.nest("/prefix", var)`
    let mut nests = BTreeMap::new();
    let mut from = 0;
    while let Some(at) = src[from..].find(".nest(") {
        let open = from + at + ".nest".len();
        let args = group(&src, open)?;
        from = open + args.len();
        let (prefix, after) =
            first_literal(args).ok_or_else(|| format!("nest without a prefix: {args}"))?;
        let var = args[after..].trim_matches(|c: char| c == ',' || c.is_whitespace());
        nests.insert(var.to_string(), prefix);
    }
    let mut mounts = BTreeMap::new();
    // Each statement: `let var = …;` merges under var's prefix; others at the root.
    for stmt in src.split(';') {
        let own_let = stmt
            .match_indices("let ")
            .find(|(i, _)| *i == 0 || !stmt.as_bytes()[i - 1].is_ascii_alphanumeric())
            .map(|(i, _)| &stmt[i + 4..]);
        let prefix = match own_let {
            Some(rest) => {
                let var = rest
                    .trim_start()
                    .trim_start_matches("mut ")
                    .split(['=', ':'])
                    .next()
                    .unwrap_or("")
                    .trim();
                nests.get(var).cloned().unwrap_or_default()
            }
            None => String::new(),
        };
        let mut f = 0;
        while let Some(at) = stmt[f..].find("::router()") {
            let end = f + at;
            let module = stmt[..end]
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
                .to_string();
            f = end + "::router()".len();
            if mounts.insert(module.clone(), prefix.clone()).is_some() {
                return Err(format!("module {module} mounted twice"));
            }
        }
    }
    if src.contains(".route(") {
        return Err("routes declared in src/http/mod.rs itself: not read".into());
    }
    Ok(mounts)
}

/// Every `METHOD /full/path` the server routes.
pub fn server_routes(root: &Path) -> Result<BTreeSet<(String, String)>, String> {
    let http = root.join("src/http");
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let mounts = mounts_of(&read(&http.join("mod.rs"))?)?;
    let mut out = BTreeSet::new();
    let mut files = Vec::new();
    collect_rs(&http, &mut files).map_err(|e| format!("{}: {e}", http.display()))?;
    for file in files {
        let rel = file.strip_prefix(&http).unwrap_or(&file).to_path_buf();
        if rel == Path::new("mod.rs") {
            continue;
        }
        let routes = routes_of(&read(&file)?).map_err(|e| format!("{}: {e}", rel.display()))?;
        if routes.is_empty() {
            continue;
        }
        // `ws/mod.rs` is module `ws`; `auth.rs` is `auth`.
        let module = rel
            .iter()
            .next()
            .and_then(|c| c.to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let prefix = mounts.get(&module).ok_or_else(|| {
            format!(
                "src/http/{} declares routes but mod.rs does not mount {module}::router()",
                rel.display()
            )
        })?;
        out.extend(routes.into_iter().map(|(m, p)| (m, format!("{prefix}{p}"))));
    }
    Ok(out)
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect_rs(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    Ok(())
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The wire names of the variants of `enum ClientFrame` in `src`.
pub fn client_frames_of(src: &str) -> Result<Vec<String>, String> {
    let src = strip_comments(src);
    let at = src
        .find("enum ClientFrame")
        .ok_or("no `enum ClientFrame` found")?;
    let attrs = &src[src[..at].rfind("#[serde").unwrap_or(at)..at];
    if !attrs.contains("rename_all = \"snake_case\"") {
        return Err("ClientFrame is not `rename_all = \"snake_case\"`: teach the reader".into());
    }
    let open = at + src[at..].find('{').ok_or("ClientFrame without a body")?;
    let body = group(&src, open)?;
    let b = body.as_bytes();
    let (mut out, mut depth, mut rename, mut i) = (Vec::new(), 0i32, None, 0);
    while i < b.len() {
        let c = b[i];
        if c == b'#' && depth == 0 {
            let attr_open = i + body[i..].find('[').ok_or("attribute without [")?;
            let attr = group(body, attr_open)?;
            if let Some(r) = attr.split("rename = ").nth(1) {
                rename = first_literal(r).map(|(s, _)| s);
            }
            i = attr_open + attr.len() + 2;
            continue;
        }
        if depth == 0 && (c.is_ascii_alphabetic() || c == b'_') {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let name = &body[start..i];
            out.push(rename.take().unwrap_or_else(|| snake_case(name)));
            continue;
        }
        match c {
            b'"' => {
                i = string_end(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    Ok(out)
}

/// Every route without a row, every frame without a row, and every row
/// without a route or frame, one message each.
pub fn coverage(
    routes: &BTreeSet<(String, String)>,
    frames: &[String],
    policy: &[Row],
) -> Vec<String> {
    let mut problems = Vec::new();
    let rows: BTreeSet<(String, String)> = policy
        .iter()
        .filter_map(|r| match r.call {
            Call::Http(m, p) => Some((m.to_string(), p.to_string())),
            Call::Frame(_) => None,
        })
        .collect();
    let frame_rows: BTreeSet<String> = policy
        .iter()
        .filter_map(|r| match r.call {
            Call::Frame(f) => Some(f.to_string()),
            Call::Http(..) => None,
        })
        .collect();
    let ws = (WS_ROUTE.0.to_string(), WS_ROUTE.1.to_string());
    for (m, p) in routes {
        if (m, p) != (&ws.0, &ws.1) && !rows.contains(&(m.clone(), p.clone())) {
            problems.push(format!("route {m} {p} has no row in the policy table"));
        }
    }
    for (m, p) in &rows {
        if !routes.contains(&(m.clone(), p.clone())) {
            problems.push(format!("row {m} {p} matches no route of the server"));
        }
    }
    if !routes.contains(&ws) && !frame_rows.is_empty() {
        problems.push(format!("frame rows, but no route {} {}", ws.0, ws.1));
    }
    let frame_set: BTreeSet<String> = frames.iter().cloned().collect();
    for f in frames {
        if !frame_rows.contains(f) {
            problems.push(format!("client frame `{f}` has no row in the policy table"));
        }
    }
    for f in &frame_rows {
        if !frame_set.contains(f) {
            problems.push(format!(
                "row for frame `{f}`, which ClientFrame does not have"
            ));
        }
    }
    problems
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
