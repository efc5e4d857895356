//! The log-hygiene registry: every secret a test sees, and the check that
//! none of them (in any printed form) shows up in a server's captured log.

use std::sync::{Arc, Mutex};

/// Everything a test has seen that must never be logged: tokens, TOTP
/// secrets, passwords of created accounts, entry markers, child names.
#[derive(Clone, Default)]
pub struct Registry(Arc<Mutex<Vec<(String, String)>>>);

impl Registry {
    pub fn add(&self, kind: &str, value: &str) {
        // Very short strings would give false positives (and are not secrets).
        if value.chars().count() < 6 {
            return;
        }
        let mut v = self.0.lock().unwrap();
        if !v.iter().any(|(_, s)| s == value) {
            v.push((kind.to_string(), value.to_string()));
        }
    }

    /// Records a bearer token, and for a JWT also its signature segment.
    pub fn add_token(&self, kind: &str, token: &str) {
        self.add(kind, token);
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() == 3 && parts[2].len() >= 16 {
            self.add(&format!("{kind} (signature)"), parts[2]);
        }
    }

    pub fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

/// A unique marker string (registered as a secret): `mk` + 32 hex digits.
pub fn new_marker(reg: &Registry) -> String {
    let m = format!("mk{}", uuid::Uuid::new_v4().simple());
    reg.add("marker", &m);
    m
}

/// The forms a secret can take in a log line: as is, and for non-ASCII text
/// also escaped as bytes (`\xe4\xbd\x90`, Rust's byte Debug) and as JSON
/// (`\u4f50`) or Rust (`\u{4f50}`) unicode escapes.
fn log_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    if !secret.is_ascii() {
        forms.push(secret.as_bytes().escape_ascii().to_string());
        let mut json = String::new();
        let mut rust = String::new();
        for c in secret.chars() {
            if c.is_ascii() {
                json.push(c);
                rust.push(c);
            } else {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    json.push_str(&format!("\\u{u:04x}"));
                }
                rust.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        }
        forms.push(json);
        forms.push(rust);
    }
    forms
}

pub fn check_log_text(log: &str, reg: &Registry) {
    let mut leaks = Vec::new();
    // ASCII-only lowercasing keeps byte offsets identical to `log`.
    let lower = log.to_ascii_lowercase();
    for (kind, secret) in reg.all() {
        let found = log_forms(&secret).into_iter().find_map(|f| {
            if f != secret {
                // Escapes may be printed with upper- or lower-case hex digits.
                lower.find(&f.to_ascii_lowercase())
            } else {
                log.find(&f)
            }
        });
        if let Some(pos) = found {
            let start = log[..pos]
                .char_indices()
                .rev()
                .nth(80)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let line_ctx: String = log[start..].chars().take(240).collect();
            leaks.push(format!("{kind} {secret:?} found in log near: {line_ctx:?}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "server log leaks {} secret(s):\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
