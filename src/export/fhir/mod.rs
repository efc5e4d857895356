//! The FHIR R4 Bundle (type `collection`) of a notebook: the people
//! (`people`: Patient, RelatedPerson, Practitioner, Organization, CareTeam,
//! Consent) and the records (`records`: Communication per entry revision,
//! Observation, MedicationStatement, CarePlan, AuditEvent). Resources refer
//! to each other by `urn:uuid:` full URLs; a person who is not in the
//! bundle (an administrator) is named by display only.

mod people;
mod records;

use serde_json::{json, Map, Value};
use std::collections::HashMap;

use super::codes::LOCAL;
use super::text::instant;
use crate::domain::Notebook;
use crate::ids::AccountId;

/// Where each person of the notebook is in the bundle.
pub(super) struct Refs {
    patient: String,
    accounts: HashMap<AccountId, (String, String)>,
}

impl Refs {
    /// A reference to the account's resource, or its display name alone.
    fn to(&self, account: AccountId, name: &str) -> Value {
        match self.accounts.get(&account) {
            Some((url, display)) => json!({"reference": url, "display": display}),
            None => json!({"display": name}),
        }
    }

    fn patient(&self) -> Value {
        json!({"reference": self.patient})
    }
}

/// A fresh `urn:uuid:` full URL and the id it ends with.
fn new_url() -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    (format!("urn:uuid:{id}"), id)
}

/// A coding of the notebook's own vocabulary `what` (`category`, `role`...).
fn local(what: &str, code: &str, display: &str) -> Value {
    json!({"system": format!("{LOCAL}:{what}"), "code": code, "display": display})
}

/// Sets `key` only when `value` is not empty/null (FHIR refuses empty elements).
fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if !empty {
        obj.insert(key.to_owned(), value);
    }
}

/// A resource object from `json!`, for `put`.
fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

pub fn bundle(nb: &Notebook) -> Value {
    let mut entries: Vec<(String, Value)> = Vec::new();
    let refs = people::people(nb, &mut entries);
    records::records(nb, &refs, &mut entries);
    let (_, id) = new_url();
    json!({
        "resourceType": "Bundle",
        "id": id,
        "identifier": {"system": format!("{LOCAL}:export"), "value": id},
        "type": "collection",
        "timestamp": instant(nb.exported_at),
        "entry": entries
            .into_iter()
            .map(|(url, resource)| json!({"fullUrl": url, "resource": resource}))
            .collect::<Vec<_>>(),
    })
}
