//! Planning a batch: the ops it is made of, each child's head (last seq,
//! last access-log hash) as read from the database or remembered in
//! [`HeadCache`], and the [`Plan`] worked out from them: the seqs, chain
//! hashes and rows each backend's execution then writes.

use std::collections::{HashMap, HashSet};

use super::sql::NewAlert;
use crate::ids::{AccountId, ChildId};
use crate::store::chain::{ChainKey, Heads};
use crate::store::entries::ENTRY_SELECT;
use crate::store::{
    AlertRow, EntryRow, Name, NewAccess, NewEntry, Notified, StoreError, StoreResult,
};

/// One write of a batch.
pub enum WriteOp {
    /// A new entry (first revision or correction) and its access-log record.
    Entry {
        entry: Box<NewEntry>,
        author_name: Name,
        log: NewAccess<'static>,
    },
    /// An access-log record alone (reads).
    Access(NewAccess<'static>),
    /// A new alert with its first escalation step already run: it is stored
    /// at step 1, due again at `next_at`, with that step's deliveries
    /// (notified at its `created_at`) and its access-log record.
    Alert {
        alert: Box<AlertRow>,
        next_at: i64,
        notified: Vec<Notified>,
        log: NewAccess<'static>,
    },
}

/// What became of one write, in the order of the batch.
pub enum Written {
    /// Committed now, with its seq.
    Entry(EntryRow),
    /// The same author posted this `client_id` before: nothing was written.
    Replay(EntryRow),
    Logged,
    Alert,
}

/// Idempotency key of an entry.
type Key = (ChildId, AccountId, String);

fn key(e: &NewEntry) -> Key {
    (e.child_id, e.author_id, e.client_id.clone())
}

/// Each child's head (last seq, hash of its last access-log record) as the
/// committer's own last commit on it left it. Only a hint: a batch that
/// relies on it checks it in the database (SQLite only; on PostgreSQL other
/// nodes write too, and every batch reads the heads).
#[derive(Default)]
pub struct HeadCache(HashMap<ChildId, (i64, String, i64)>);

/// Children remembered at most; beyond, the cache starts over.
const HEAD_CACHE_MAX: usize = 100_000;

impl HeadCache {
    /// The heads of all these children, if every one is known.
    pub(super) fn get(&self, counts: &[(ChildId, i64)]) -> Option<Heads> {
        let mut heads = HashMap::with_capacity(counts.len());
        for (child, _) in counts {
            heads.insert(*child, self.0.get(child)?.clone());
        }
        Some(Heads(heads))
    }

    pub(super) fn remember(&mut self, heads: Heads) {
        if self.0.len() + heads.0.len() > HEAD_CACHE_MAX {
            self.0.clear();
        }
        self.0.extend(heads.0);
    }

    pub(super) fn forget(&mut self, ops: &[WriteOp]) {
        for op in ops {
            self.0.remove(&op.child());
        }
    }
}

impl WriteOp {
    fn child(&self) -> ChildId {
        match self {
            Self::Entry { entry, .. } => entry.child_id,
            Self::Access(log) | Self::Alert { log, .. } => log.child_id,
        }
    }
}

pub(super) fn entries_of(ops: &[WriteOp]) -> Vec<&NewEntry> {
    ops.iter()
        .filter_map(|op| match op {
            WriteOp::Entry { entry, .. } => Some(&**entry),
            WriteOp::Access(_) | WriteOp::Alert { .. } => None,
        })
        .collect()
}

/// New entries per child. Earlier posts and in-batch duplicates are replays
/// and get no seq. Every child of the batch is listed: one with only
/// access-log records has count 0 (its row is still locked, which orders its
/// hash chain across nodes).
pub(super) fn counts(ops: &[WriteOp], existing: &HashMap<Key, EntryRow>) -> Vec<(ChildId, i64)> {
    let mut counted: HashSet<Key> = HashSet::new();
    let mut counts: Vec<(ChildId, i64)> = Vec::new();
    for op in ops {
        let (child, new) = match op {
            WriteOp::Access(log) | WriteOp::Alert { log, .. } => (log.child_id, 0),
            WriteOp::Entry { entry, .. } => {
                let k = key(entry);
                let new = !existing.contains_key(&k) && counted.insert(k);
                (entry.child_id, i64::from(new))
            }
        };
        match counts.iter_mut().find(|(c, _)| *c == child) {
            Some((_, n)) => *n += new,
            None => counts.push((child, new)),
        }
    }
    counts
}

/// What a batch writes, worked out from the children's heads.
pub(super) struct Plan<'a> {
    /// One answer per op, in order.
    pub(super) out: Vec<Written>,
    pub(super) inserts: Vec<&'a NewEntry>,
    /// The seq of each insert.
    pub(super) seqs: Vec<i64>,
    /// The consent version each insert is committed under.
    pub(super) consents: Vec<i64>,
    /// Each access-log record with its chain hash.
    pub(super) logs: Vec<(&'a NewAccess<'static>, String)>,
    /// New alerts: row, next step's time, deliveries.
    pub(super) alerts: Vec<NewAlert<'a>>,
    /// The heads the batch starts from and leaves.
    pub(super) start: Heads,
    pub(super) end: Heads,
}

impl Plan<'_> {
    pub(super) fn deliveries(&self) -> usize {
        self.alerts.iter().map(|a| a.2.len()).sum()
    }
}

impl<'a> Plan<'a> {
    pub(super) fn new(
        ops: &'a [WriteOp],
        existing: &HashMap<Key, EntryRow>,
        start: Heads,
        chain_key: &ChainKey,
    ) -> StoreResult<Self> {
        let mut heads = Heads(start.0.clone());
        let mut plan = Plan {
            out: Vec::with_capacity(ops.len()),
            inserts: Vec::new(),
            seqs: Vec::new(),
            consents: Vec::new(),
            logs: Vec::new(),
            alerts: Vec::new(),
            start: Heads(HashMap::new()),
            end: Heads(HashMap::new()),
        };
        // Where in `out` each key was written in this batch.
        let mut written: HashMap<Key, usize> = HashMap::new();
        for op in ops {
            let (entry, author_name, log) = match op {
                WriteOp::Access(log) => {
                    plan.logs.push((log, heads.chain(chain_key, log)?));
                    plan.out.push(Written::Logged);
                    continue;
                }
                WriteOp::Alert {
                    alert,
                    next_at,
                    notified,
                    log,
                } => {
                    plan.logs.push((log, heads.chain(chain_key, log)?));
                    plan.alerts.push((alert, *next_at, notified));
                    plan.out.push(Written::Alert);
                    continue;
                }
                WriteOp::Entry {
                    entry,
                    author_name,
                    log,
                } => (&**entry, author_name, log),
            };
            let k = key(entry);
            if let Some(row) = existing.get(&k) {
                plan.out.push(Written::Replay(row.clone()));
                continue;
            }
            if let Some(&first) = written.get(&k) {
                match plan.out.get(first) {
                    Some(Written::Entry(row)) => plan.out.push(Written::Replay(row.clone())),
                    _ => return Err(StoreError::Corrupt("batch bookkeeping")),
                }
                continue;
            }
            let seq = heads.next_seq(entry.child_id)?;
            let consent = heads.consent(entry.child_id)?;
            written.insert(k, plan.out.len());
            plan.inserts.push(entry);
            plan.seqs.push(seq);
            plan.consents.push(consent);
            plan.logs.push((log, heads.chain(chain_key, log)?));
            plan.out
                .push(Written::Entry(row_of(entry, seq, consent, author_name)));
        }
        plan.start = start;
        plan.end = heads;
        Ok(plan)
    }
}

fn row_of(e: &NewEntry, seq: i64, consent_version: i64, author_name: &Name) -> EntryRow {
    EntryRow {
        id: e.id,
        child_id: e.child_id,
        seq,
        author_id: e.author_id,
        author_name: author_name.clone(),
        category: e.category,
        kind: e.kind,
        body: e.body.clone(),
        revision: e.revision,
        supersedes: e.supersedes,
        client_id: e.client_id.clone(),
        created_at: e.created_at,
        first_created_at: e.first_created_at,
        consent_version,
        thread: e.thread.clone(),
    }
}

/// Entries already stored under the batch's idempotency keys.
pub(super) async fn find_existing(
    conn: &mut sqlx::AnyConnection,
    entries: &[&NewEntry],
) -> StoreResult<HashMap<Key, EntryRow>> {
    if entries.is_empty() {
        return Ok(HashMap::new());
    }
    // One OR of index lookups on unique (child_id, author_id, client_id).
    let terms: Vec<String> = (0..entries.len())
        .map(|i| {
            let p = 3 * i;
            format!(
                "(e.child_id = ${} and e.author_id = ${} and e.client_id = ${})",
                p + 1,
                p + 2,
                p + 3
            )
        })
        .collect();
    let sql = format!("{ENTRY_SELECT} where {}", terms.join(" or "));
    let mut q = sqlx::query(&sql);
    for e in entries {
        q = q
            .bind(e.child_id.to_string())
            .bind(e.author_id.to_string())
            .bind(e.client_id.clone());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut found = HashMap::new();
    for r in &rows {
        let row = EntryRow::decode(r)?;
        found.insert((row.child_id, row.author_id, row.client_id.clone()), row);
    }
    Ok(found)
}
