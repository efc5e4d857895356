//! Small values tests make and read: client ids, seqs, RFC 3339 times and
//! long texts.

use serde_json::Value;

pub fn new_client_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Seq of a frame `{"type":"entry"}`.
pub fn seq_of(v: &Value) -> i64 {
    v["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("entry without seq: {v}"))
}

/// RFC 3339 UTC timestamp `d` from now (millisecond precision).
pub fn rfc3339_in(d: time::Duration) -> String {
    let t = time::OffsetDateTime::now_utc() + d;
    let t = t.replace_millisecond(t.millisecond()).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

pub fn parse_rfc3339(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("bad RFC 3339 time {s:?}: {e}"))
}

/// A long Japanese text of `n` characters (3 bytes each in UTF-8).
pub fn long_text(n: usize) -> String {
    "あ".repeat(n)
}
