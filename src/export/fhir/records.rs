//! What was written and done: one Communication per entry revision (a
//! correction marked by its revision number and a reference to the one it
//! supersedes), and for the latest revision of each structured entry an
//! Observation (vitals, LOINC and UCUM), a MedicationStatement or a
//! CarePlan; one AuditEvent per access-log record.

use serde_json::{json, Value};
use std::collections::HashSet;

use super::{local, new_url, object, put, Refs};
use crate::domain::{AccessRecord, Entry, Notebook};
use crate::export::codes::{category_ja, kind_ja, loinc, measure_ja, ucum, LOCAL};
use crate::export::text::{field, instant, plain};
use crate::ids::EntryId;
use crate::vocab::EntryKind;

pub(super) fn records(nb: &Notebook, refs: &Refs, out: &mut Vec<(String, Value)>) {
    let superseded: HashSet<EntryId> = nb.entries.iter().filter_map(|e| e.supersedes).collect();
    for e in &nb.entries {
        out.push((format!("urn:uuid:{}", e.id), communication(e, nb, refs)));
    }
    for e in nb.entries.iter().filter(|e| !superseded.contains(&e.id)) {
        let r = match e.kind {
            EntryKind::Vital => observation(e, refs),
            EntryKind::Medication => medication(e, refs),
            EntryKind::Plan => care_plan(e, refs),
            _ => continue,
        };
        out.push((new_url().0, r));
    }
    for a in &nb.access_log {
        out.push((new_url().0, audit_event(a, refs)));
    }
}

/// The entry an entry-derived resource stands for.
fn entry_identifier(e: &Entry) -> Value {
    json!([{"system": format!("{LOCAL}:entry"), "value": e.id.to_string()}])
}

fn communication(e: &Entry, nb: &Notebook, refs: &Refs) -> Value {
    let kind = e.kind.as_str();
    let mut ext = vec![json!({"url": format!("{LOCAL}:revision"), "valueInteger": e.revision})];
    if let Some(prev) = e.supersedes {
        ext.push(json!({
            "url": format!("{LOCAL}:supersedes"),
            "valueReference": {"reference": format!("urn:uuid:{prev}")},
        }));
    }
    let mut r = object(json!({
        "resourceType": "Communication",
        "id": e.id.to_string(),
        "extension": ext,
        "identifier": [
            {"system": format!("{LOCAL}:entry"), "value": e.id.to_string()},
            {"system": format!("{LOCAL}:seq"), "value": e.seq.to_string()},
        ],
        "status": "completed",
        "category": e.categories.iter()
            .map(|c| json!({"coding": [local("category", c, category_ja(c))]}))
            .collect::<Vec<_>>(),
        "subject": refs.patient(),
        "topic": {"coding": [local("kind", kind, kind_ja(kind))], "text": kind_ja(kind)},
        "sent": instant(e.created_at),
        "sender": refs.to(e.author_id, &e.author_name),
    }));
    // The text, then each attachment the entry references, as a pointer to
    // its file in the age export (`attachments/…`).
    let mut payload = vec![json!({"contentString": plain(e)})];
    let ids = e.body.get("attachments").and_then(Value::as_array);
    for id in ids.into_iter().flatten().filter_map(Value::as_str) {
        if let Some(a) = nb.attachments.iter().find(|a| a.id.to_string() == id) {
            payload.push(json!({"contentAttachment": {
                "contentType": a.content_type,
                "url": format!("attachments/{}", a.file_name),
                "title": a.file_name,
                "size": a.bytes.len(),
            }}));
        }
    }
    put(&mut r, "payload", Value::Array(payload));
    if let Some(reason) = e.reason.as_deref().filter(|r| !r.is_empty()) {
        put(
            &mut r,
            "note",
            json!([{"text": format!("改訂 {}: {reason}", e.revision)}]),
        );
    }
    r.into()
}

fn status_of(e: &Entry) -> &'static str {
    if e.revision > 1 {
        "amended"
    } else {
        "final"
    }
}

fn observation(e: &Entry, refs: &Refs) -> Value {
    let (measure, unit) = (field(&e.body, "measure"), field(&e.body, "unit"));
    let codings: Vec<Value> = loinc(measure, unit)
        .iter()
        .map(|(code, display)| json!({"system": "http://loinc.org", "code": code, "display": display}))
        .collect();
    let mut code = object(json!({"text": measure_ja(measure)}));
    put(&mut code, "coding", Value::Array(codings));
    let mut quantity = object(json!({"unit": unit}));
    if let Some(v) = e.body.get("value").filter(|v| v.is_number()) {
        quantity.insert("value".into(), v.clone());
    }
    if let Some(u) = ucum(unit) {
        quantity.insert("system".into(), json!("http://unitsofmeasure.org"));
        quantity.insert("code".into(), json!(u));
    }
    let (_, id) = new_url();
    let mut r = object(json!({
        "resourceType": "Observation",
        "id": id,
        "identifier": entry_identifier(e),
        "status": status_of(e),
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs", "display": "Vital Signs",
        }]}],
        "code": code,
        "subject": refs.patient(),
        "effectiveDateTime": instant(e.created_at),
        "issued": instant(e.created_at),
        "performer": [refs.to(e.author_id, &e.author_name)],
        "valueQuantity": quantity,
    }));
    put(&mut r, "note", note(field(&e.body, "text")));
    r.into()
}

fn note(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        json!([{"text": text}])
    }
}

fn medication(e: &Entry, refs: &Refs) -> Value {
    let drug = field(&e.body, "drug");
    let what = if drug.is_empty() {
        field(&e.body, "text")
    } else {
        drug
    };
    let (_, id) = new_url();
    let mut r = object(json!({
        "resourceType": "MedicationStatement",
        "id": id,
        "identifier": entry_identifier(e),
        "status": "active",
        "medicationCodeableConcept": {"text": what},
        "subject": refs.patient(),
        "effectiveDateTime": instant(e.created_at),
        "dateAsserted": instant(e.created_at),
        "informationSource": refs.to(e.author_id, &e.author_name),
    }));
    let dose = field(&e.body, "dose");
    if !dose.is_empty() {
        put(&mut r, "dosage", json!([{"text": dose}]));
    }
    put(&mut r, "note", note(field(&e.body, "text")));
    r.into()
}

fn is_date(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).is_ok()
}

fn care_plan(e: &Entry, refs: &Refs) -> Value {
    let (_, id) = new_url();
    let mut r = object(json!({
        "resourceType": "CarePlan",
        "id": id,
        "identifier": entry_identifier(e),
        "status": "active",
        "intent": "plan",
        "subject": refs.patient(),
        "created": instant(e.created_at),
        "author": refs.to(e.author_id, &e.author_name),
    }));
    put(&mut r, "title", json!(field(&e.body, "title")));
    put(&mut r, "description", json!(field(&e.body, "text")));
    let review = field(&e.body, "review_date");
    if is_date(review) {
        put(&mut r, "period", json!({"end": review}));
    }
    let goals: Vec<Value> = e
        .body
        .get("goals")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|g| !g.is_empty())
        .map(|g| json!({"text": format!("目標: {g}")}))
        .collect();
    put(&mut r, "note", Value::Array(goals));
    r.into()
}

/// FHIR's action code of an access-log action (Create, Read, Update, Execute).
fn action_code(action: &str) -> &'static str {
    match action {
        "post" | "alert" => "C",
        "revise" | "member_change" | "transfer" => "U",
        a if a.starts_with("read") || a == "emergency_card_read" => "R",
        _ => "E",
    }
}

fn audit_event(a: &AccessRecord, refs: &Refs) -> Value {
    let (_, id) = new_url();
    // A refused request is a minor failure; every other record, a success.
    let outcome = if a.action == "denied" { "4" } else { "0" };
    let mut entity = object(json!({"what": refs.patient()}));
    put(&mut entity, "description", json!(a.detail));
    json!({
        "resourceType": "AuditEvent",
        "id": id,
        "type": {
            "system": "http://dicom.nema.org/resources/ontology/DCM",
            "code": "110110", "display": "Patient Record",
        },
        "subtype": [local("access-action", &a.action, &a.action)],
        "action": action_code(&a.action),
        "recorded": instant(a.at),
        "outcome": outcome,
        "agent": [{"who": refs.to(a.account_id, &a.display_name), "requestor": true}],
        "source": {"observer": {"display": "Renraku"}},
        "entity": [entity],
    })
}
