//! An entry's body as text (the FHIR payload, the printed page) and times
//! as people read them (JST).

use serde_json::Value;

use super::codes::{attendance_ja, measure_ja};
use crate::domain::Entry;
use crate::ids::Timestamp;
use crate::vocab::EntryKind;

/// A string field of a body ("" when absent).
pub fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body.get(name).and_then(Value::as_str).unwrap_or("")
}

/// A vital's value as written (`37.8`, `97`).
pub fn number(body: &Value) -> String {
    body.get("value").map_or_else(String::new, Value::to_string)
}

/// The lines of an entry's body as a reader needs them, kind by kind.
pub fn lines(e: &Entry) -> Vec<String> {
    let b = &e.body;
    let mut out = Vec::new();
    let mut push = |label: &str, v: &str| {
        if !v.is_empty() {
            out.push(if label.is_empty() {
                v.to_owned()
            } else {
                format!("{label}: {v}")
            });
        }
    };
    match e.kind {
        EntryKind::Vital => {
            let m = field(b, "measure");
            push(
                "",
                &format!("{} {} {}", measure_ja(m), number(b), field(b, "unit")),
            );
        }
        EntryKind::Attendance => {
            push("日付", field(b, "date"));
            push("出欠", attendance_ja(field(b, "status")));
            push("理由", field(b, "reason"));
        }
        EntryKind::Medication => {
            push("薬", field(b, "drug"));
            push("用量", field(b, "dose"));
        }
        EntryKind::Plan => {
            push("", field(b, "title"));
            for g in b
                .get("goals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push("目標", g.as_str().unwrap_or(""));
            }
            push("見直し日", field(b, "review_date"));
        }
        EntryKind::Handover => {
            push("引継ぎ元", field(b, "from"));
            push("引継ぎ先", field(b, "to"));
        }
        EntryKind::Appointment => {
            push("日付", field(b, "date"));
            push("時刻", field(b, "time"));
            push("場所", field(b, "place"));
            push("相手", field(b, "with"));
        }
        EntryKind::Note => {}
    }
    push("", field(b, "text"));
    out
}

/// The body as one text (lines joined).
pub fn plain(e: &Entry) -> String {
    lines(e).join("\n")
}

/// `2026-12-04 15:41` in Japan time, for printed pages.
pub fn jst(t: Timestamp) -> String {
    let offset = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000)
        .ok()
        .and_then(|d| d.to_offset(offset).format(&fmt).ok())
        .unwrap_or_default()
}

/// A FHIR `instant` / `dateTime` (RFC 3339, UTC).
pub fn instant(t: Timestamp) -> String {
    t.to_rfc3339()
}
