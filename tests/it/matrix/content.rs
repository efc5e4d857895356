//! What a 2xx answer may hold: a read shows only the categories the
//! caller's consent covers (and something of them), lists name only the
//! children and alerts the caller reads (and pending requests and
//! handovers only to the one who holds the child's consent: on the base
//! child its guardians, on the held child the youth holder, not its
//! guardians), and the directory lists professionals to everyone but the
//! admin. A cell whose status is right but whose content is not answers
//! status 0, with the reason.

use serde_json::{json, Value};

use super::policy::Rel;
use super::world::{sees_on_base, World};

/// What is wrong with a page of entries of `rel`'s base child shown to it.
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

/// One of the two base children as `rel` stands to it.
struct Base<'a> {
    name: &'static str,
    child: &'a str,
    alert: &'a str,
    /// `rel` reads it.
    reads: bool,
    /// `rel` holds its consent.
    holds: bool,
}

/// The base child (the youth's before the transfer) and the held child
/// (the youth holder's); every other relation holds on both, but the
/// guardians hold consent on the base child only.
fn bases(w: &World, rel: Rel) -> [Base<'_>; 2] {
    let reads = sees_on_base(rel).is_some();
    [
        Base {
            name: "base child",
            child: &w.base,
            alert: &w.alert,
            reads: reads && rel != Rel::YouthHolder,
            holds: matches!(rel, Rel::Guardian | Rel::CoGuardian),
        },
        Base {
            name: "held child",
            child: &w.held,
            alert: &w.held_alert,
            reads: reads && rel != Rel::Youth,
            holds: rel == Rel::YouthHolder,
        },
    ]
}

/// Whether a list names `child` (as its items' `child_id`).
fn lists_child(list: &Value, child: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|r| r["child_id"] == child))
}

/// What is wrong with a 2xx answer of `METHOD path` to `rel`, if anything.
pub fn problem(w: &World, method: &str, path: &str, rel: Rel, body: &Value) -> Option<String> {
    let bases = bases(w, rel);
    match (method, path) {
        ("GET", "/api/v1/children/{id}/entries") | ("GET", "/api/v1/children/{id}/search") => {
            let list = body["entries"].as_array().cloned().unwrap_or_default();
            entries_problem(rel, &list)
        }
        // Only open questions addressed to the caller (the done cells ask some).
        ("GET", "/api/v1/inbox") => {
            let list = body["entries"].as_array().cloned().unwrap_or_default();
            let me = &w.actor(rel).account_id;
            list.iter()
                .find(|e| {
                    e["state"] != "open"
                        || !e["to"].as_array().is_some_and(|t| t.contains(&json!(me)))
                })
                .map(|e| format!("lists {} to the {}", e["id"], rel.name()))
        }
        ("GET", "/api/v1/children") => bases
            .iter()
            .find(|b| ids(body).contains(&b.child) != b.reads)
            .map(|b| format!("the {} listed: {}", b.name, !b.reads)),
        ("GET", "/api/v1/alerts") => bases
            .iter()
            .find(|b| ids(body).contains(&b.alert) != b.reads)
            .map(|b| format!("the {}'s alert listed: {}", b.name, !b.reads)),
        // Each base child has a pending request and an open handover: only
        // the one holding its consent is asked to decide.
        ("GET", "/api/v1/requests") => bases
            .iter()
            .find(|b| lists_child(body, b.child) != b.holds)
            .map(|b| format!("the {}'s request listed: {}", b.name, !b.holds)),
        ("GET", "/api/v1/handovers") => bases
            .iter()
            .find(|b| lists_child(body, b.child) != b.holds)
            .map(|b| format!("the {}'s handover listed: {}", b.name, !b.holds)),
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
