//! Search within a child's notebook (issue 21, point 5): the entries the
//! member may see, latest revisions only, any of whose body's strings
//! contains the query, compared case-insensitively after NFKC normalisation
//! (full- and half-width forms match), newest first.
//!
//! Bodies are opened in memory, one at a time, and dropped (zeroized) at
//! once: no index, no plaintext on disk. The access log records how many
//! entries were found, never the query (it is the member's words about the
//! child).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use super::views::Entry;
use super::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::{ChildId, EntryId};
use crate::store::EntryRow;

/// At most this many entries in an answer (the newest).
pub const MAX_RESULTS: usize = 500;
/// The longest query, in characters.
const MAX_QUERY: usize = 200;
const MAX_CONSENT_RETRIES: usize = 8;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub entries: Vec<Entry>,
}

/// NFKC, then lower case: what both sides are compared as.
pub fn fold(s: &str) -> String {
    s.nfkc().collect::<String>().to_lowercase()
}

/// Whether any string in `v` (keys excluded) contains `needle` (folded).
fn any_string_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => fold(s).contains(needle),
        Value::Array(a) => a.iter().any(|x| any_string_contains(x, needle)),
        Value::Object(o) => o.values().any(|x| any_string_contains(x, needle)),
        _ => false,
    }
}

/// The latest revision of each entry, newest first.
fn latest_first(rows: Vec<EntryRow>) -> Vec<EntryRow> {
    let superseded: HashSet<EntryId> = rows.iter().filter_map(|r| r.supersedes).collect();
    let mut latest: Vec<EntryRow> = rows
        .into_iter()
        .filter(|r| !superseded.contains(&r.id))
        .collect();
    latest.reverse();
    latest
}

impl Core {
    /// `GET /children/{id}/search?q=`.
    pub async fn search(&self, who: &Principal, child: ChildId, q: &str) -> Result<SearchResult> {
        let mut me = self.member(child, who.account).await?;
        let needle = fold(q.trim());
        if needle.is_empty() {
            return Err(Error::bad_request("q: a word to search for"));
        }
        if q.chars().count() > MAX_QUERY {
            return Err(Error::bad_request(format!(
                "q: at most {MAX_QUERY} characters"
            )));
        }
        let mut attempts = 0;
        let rows = loop {
            let rows = self.store.list_all_visible(child, me.visibility()).await?;
            if rows.iter().all(|r| r.consent_version <= me.as_of()) {
                break rows;
            }
            attempts += 1;
            if attempts > MAX_CONSENT_RETRIES {
                return Err(Error::Busy { retry_after: 1 });
            }
            me = self.member(child, who.account).await?;
        };
        let key = self.child_key(child).await?;
        let mut entries = Vec::new();
        for row in latest_first(rows) {
            let entry = self.open_entry(&key, row)?;
            if any_string_contains(&entry.body, &needle) {
                entries.push(entry);
                if entries.len() == MAX_RESULTS {
                    break;
                }
            }
        }
        self.settle(child, &mut entries).await?;
        let detail = match (entries.last(), entries.first()) {
            (Some(a), Some(b)) => format!(
                "seq {}–{} ({} entries, search)",
                a.seq,
                b.seq,
                entries.len()
            ),
            _ => "search: none".to_owned(),
        };
        self.log_access(child, who.account, "read_entries", detail)
            .await?;
        Ok(SearchResult { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_and_half_width_and_case_fold_alike() {
        assert_eq!(fold("ＡＢＣ１２３"), "abc123");
        assert_eq!(fold("ｲﾝｽﾘﾝ"), fold("インスリン"));
        assert!(fold("血糖は１４０ｍｇ／ｄＬ").contains(&fold("140mg/dl")));
    }

    #[test]
    fn matches_values_not_keys() {
        let body = json!({"text": "朝の血糖 ９８", "drug": "Insulin", "n": 5});
        assert!(any_string_contains(&body, &fold("98")));
        assert!(any_string_contains(&body, &fold("INSULIN")));
        assert!(!any_string_contains(&body, &fold("drug")));
        assert!(!any_string_contains(&body, &fold("5")));
    }
}
