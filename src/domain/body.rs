//! Entry bodies per kind, parsed strictly (unknown fields rejected) and
//! returned in canonical form.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::MAX_ENTRY_TEXT_CHARS;
use crate::error::{Error, Result};
use crate::vocab::EntryKind;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Medication {
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    goals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    review_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Handover {
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vital {
    measure: String,
    value: f64,
    unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Attendance {
    date: String,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Appointment {
    date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
}

fn is_time(s: &str) -> bool {
    let fmt = time::macros::format_description!("[hour]:[minute]");
    s.len() == 5 && time::Time::parse(s, &fmt).is_ok()
}

fn strict<T: DeserializeOwned + Serialize>(body: Value) -> Result<Value> {
    let parsed: T =
        serde_json::from_value(body).map_err(|e| Error::bad_request(format!("body: {e}")))?;
    serde_json::to_value(parsed).map_err(Error::internal)
}

fn is_date(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).is_ok()
}

/// Every string in the body counts towards the text limit.
fn text_chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(text_chars).sum(),
        Value::Object(o) => o.values().map(text_chars).sum(),
        _ => 0,
    }
}

/// Parses a client's entry `kind` and checks `body` against it: both in
/// canonical form.
pub fn validate_body(kind: &str, body: Value) -> Result<(EntryKind, Value)> {
    check_size(&body)?;
    let kind: EntryKind = kind
        .parse()
        .map_err(|_| Error::bad_request("kind: unknown entry kind"))?;
    Ok((kind, canonical(kind, body)?))
}

/// Checks the body of a revision against its entry's kind.
pub fn validate_body_of(kind: EntryKind, body: Value) -> Result<Value> {
    check_size(&body)?;
    canonical(kind, body)
}

fn check_size(body: &Value) -> Result<()> {
    if !body.is_object() {
        return Err(Error::bad_request("body: must be an object"));
    }
    if text_chars(body) > MAX_ENTRY_TEXT_CHARS {
        return Err(Error::PayloadTooLarge(
            format!("body: text over {MAX_ENTRY_TEXT_CHARS} characters").into(),
        ));
    }
    Ok(())
}

/// The canonical form of a body of `kind` (unknown fields are refused).
fn canonical(kind: EntryKind, body: Value) -> Result<Value> {
    let canonical = match kind {
        EntryKind::Note => strict::<Note>(body)?,
        EntryKind::Medication => strict::<Medication>(body)?,
        EntryKind::Plan => strict::<Plan>(body)?,
        EntryKind::Handover => strict::<Handover>(body)?,
        EntryKind::Vital => {
            let v: Vital = serde_json::from_value(body)
                .map_err(|e| Error::bad_request(format!("body: {e}")))?;
            if !v.value.is_finite() || v.measure.is_empty() || v.unit.is_empty() {
                return Err(Error::bad_request(
                    "body: vital needs measure, a finite value and unit",
                ));
            }
            serde_json::to_value(v).map_err(Error::internal)?
        }
        EntryKind::Attendance => {
            let a: Attendance = serde_json::from_value(body)
                .map_err(|e| Error::bad_request(format!("body: {e}")))?;
            if !is_date(&a.date) {
                return Err(Error::bad_request("body.date: expected YYYY-MM-DD"));
            }
            if !["present", "absent", "late", "early_leave"].contains(&a.status.as_str()) {
                return Err(Error::bad_request(
                    "body.status: one of present, absent, late, early_leave",
                ));
            }
            serde_json::to_value(a).map_err(Error::internal)?
        }
        EntryKind::Appointment => {
            let a: Appointment = serde_json::from_value(body)
                .map_err(|e| Error::bad_request(format!("body: {e}")))?;
            if !is_date(&a.date) {
                return Err(Error::bad_request("body.date: expected YYYY-MM-DD"));
            }
            if a.time.as_deref().is_some_and(|t| !is_time(t)) {
                return Err(Error::bad_request("body.time: expected HH:MM"));
            }
            serde_json::to_value(a).map_err(Error::internal)?
        }
    };
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_strict() {
        assert!(validate_body("note", json!({"text": "ok"})).is_ok());
        assert!(validate_body("note", json!({"text": "ok", "x": 1})).is_err());
        assert!(validate_body(
            "vital",
            json!({"measure": "spo2", "value": 97, "unit": "%"})
        )
        .is_ok());
        assert!(validate_body(
            "vital",
            json!({"measure": "spo2", "value": "97", "unit": "%"})
        )
        .is_err());
        assert!(validate_body(
            "attendance",
            json!({"date": "2026-11-02", "status": "late"})
        )
        .is_ok());
        assert!(validate_body(
            "attendance",
            json!({"date": "2026-13-02", "status": "late"})
        )
        .is_err());
        assert!(validate_body("gossip", json!({"text": "x"})).is_err());
        let long = "あ".repeat(MAX_ENTRY_TEXT_CHARS + 1);
        assert!(matches!(
            validate_body("note", json!({ "text": long })),
            Err(Error::PayloadTooLarge(_))
        ));
    }
}

#[cfg(test)]
#[path = "body_props.rs"]
mod props;
