//! What a 2xx answer may hold: a read shows only the categories the
//! caller's consent covers (and something of them), lists name only the
//! children and alerts the caller reads (and pending requests only to the
//! child's guardians), and the directory lists
//! professionals to everyone but the admin. A cell whose status is right
//! but whose content is not answers status 0, with the reason.

use serde_json::Value;

use super::policy::Rel;
use super::world::{sees_on_base, World};

/// What is wrong with a page of entries of the base child shown to `rel`.
pub fn entries_problem(rel: Rel, entries: &[Value]) -> Option<String> {
    let Some(cats) = sees_on_base(rel) else {
        return Some(format!(
            "shows {} entries to one who reads nothing",
            entries.len()
        ));
    };
    if let Some(e) = entries
        .iter()
        .find(|e| !cats.iter().any(|c| e["category"] == c.as_str()))
    {
        return Some(format!("shows an entry outside {cats:?}: {e}"));
    }
    entries
        .is_empty()
        .then(|| format!("shows nothing, though the child has entries in {cats:?}"))
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default()
}

/// What is wrong with a 2xx answer of `METHOD path` to `rel`, if anything.
pub fn problem(w: &World, method: &str, path: &str, rel: Rel, body: &Value) -> Option<String> {
    let reads_base = sees_on_base(rel).is_some();
    match (method, path) {
        ("GET", "/api/v1/children/{id}/entries") => {
            let list = body["entries"].as_array().cloned().unwrap_or_default();
            entries_problem(rel, &list)
        }
        ("GET", "/api/v1/children") if ids(body).contains(&w.base.as_str()) != reads_base => {
            Some(format!("the base child listed: {}", !reads_base))
        }
        ("GET", "/api/v1/alerts") if ids(body).contains(&w.alert.as_str()) != reads_base => {
            Some(format!("the base child's alert listed: {}", !reads_base))
        }
        ("GET", "/api/v1/requests") => {
            // The base child has a pending request: only its guardians see it.
            let listed = body
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["child_id"] == w.base.as_str()));
            let decides = matches!(rel, Rel::Guardian | Rel::CoGuardian);
            (listed != decides).then(|| format!("the base child's request listed: {listed}"))
        }
        ("GET", "/api/v1/handovers") => {
            // The base child has an open handover: only its guardians are asked to decide.
            let listed = body
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["child_id"] == w.base.as_str()));
            let decides = matches!(rel, Rel::Guardian | Rel::CoGuardian);
            (listed != decides).then(|| format!("the base child's handover listed: {listed}"))
        }
        ("GET", "/api/v1/accounts") => {
            let kinds: Vec<&str> = body
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["kind"].as_str()).collect())
                .unwrap_or_default();
            let families = kinds.iter().any(|k| *k != "professional");
            // The admin's list is everyone's; anyone else's, professionals only.
            (families != (rel == Rel::Admin))
                .then(|| format!("lists kinds {kinds:?} to the {}", rel.name()))
        }
        _ => None,
    }
}
