//! A refused write leaves the child as it was: before and after each cell
//! that writes to a child and is expected to be refused, the child's
//! guardian reads what any write could change (entries, members and their
//! consent, the card's versions, the contacts, the handovers; the base child's alerts as
//! the youth lists them), and the two must be equal.

use serde_json::{json, Value};

use super::policy::Rel;
use super::world::World;

/// The child a write cell of `rel` to `url` touches: the one its path
/// names, else `rel`'s base child (alerts by id, and frames).
pub fn child_of(w: &World, url: &str, rel: Rel) -> String {
    url.strip_prefix("/api/v1/children/")
        .and_then(|rest| rest.get(..36))
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .unwrap_or(w.base_for(rel))
        .to_string()
}

/// Whether a cell of `method` on `path` writes to a child.
pub fn writes_to_a_child(method: &str, path: &str) -> bool {
    method != "GET"
        && (path.starts_with("/api/v1/children/{id}") || path.starts_with("/api/v1/alerts/{id}"))
}

/// What a write to `child` could change, as its guardian sees it; the
/// alerts only for `alerts` cells, as the child's youth lists them (the
/// guardian's list would read each of its hundred children here, the
/// youth's a few).
pub async fn snapshot(w: &World, child: &str, alerts: bool) -> Value {
    let g = w.guardian();
    let at = |p: &str| format!("/api/v1/children/{child}{p}");
    let (_, entries) = g.get(&at("/entries?after_seq=0&limit=1")).await;
    let (_, members) = g.get(&at("/members")).await;
    let (_, versions) = g.get(&at("/emergency-card/versions")).await;
    let (_, contacts) = g.get(&at("/emergency-contacts")).await;
    let (_, handovers) = g.get(&at("/handovers")).await;
    let alerts = match alerts {
        true if child == w.base => w.actor(Rel::Youth).get("/api/v1/alerts").await.1,
        true if child == w.held => w.actor(Rel::YouthHolder).get("/api/v1/alerts").await.1,
        true => json!(format!("alerts of {child} not observed")),
        false => Value::Null,
    };
    // An alert's deliveries move by themselves (push attempts): not compared.
    let alerts: Vec<Value> = alerts
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["child_id"] == child)
                .map(|x| json!([x["id"], x["status"], x["acked_by"]]))
                .collect()
        })
        .unwrap_or_default();
    json!({"last_seq": entries["last_seq"], "members": members,
           "card_versions": versions.as_array().map(Vec::len), "contacts": contacts,
           "handovers": handovers,
           "alerts": alerts})
}

/// The first difference between two snapshots, if any.
pub fn changed(before: &Value, after: &Value) -> Option<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return Some("no snapshot".into());
    };
    b.iter()
        .find(|(k, v)| a.get(*k) != Some(*v))
        // What it became first: the report keeps a cell's first 300 characters.
        .map(|(k, v)| format!("{k} changed to {} from {v}", a[k]))
}
