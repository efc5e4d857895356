//! Group commit: many posts and access-log records in one durable
//! transaction. The statements per batch do not grow with its size (one
//! idempotency lookup, one sequence update, one hash lookup, one multi-row
//! insert per table), so a batch of fifty costs little more than a batch of
//! one: the fsync is shared.

use std::collections::{HashMap, HashSet};

use super::entries::{chain_hash, ENTRY_SELECT};
use super::{conflict, EntryRow, Name, NewAccess, NewEntry, StoreError, StoreResult, Writer};
use crate::ids::{AccountId, ChildId};
use sqlx::Row;

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
}

/// What became of one write, in the order of the batch.
pub enum Written {
    /// Committed now, with its seq.
    Entry(EntryRow),
    /// The same author posted this `client_id` before: nothing was written.
    Replay(EntryRow),
    Logged,
}

/// Idempotency key of an entry.
type Key = (ChildId, AccountId, String);

fn key(e: &NewEntry) -> Key {
    (e.child_id, e.author_id, e.client_id.clone())
}

/// `$a, $b, …` for `n` parameters starting after `from`.
fn params(from: usize, n: usize) -> String {
    (from + 1..=from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Writer {
    /// Commits every op of `ops` in one transaction, or none of them (the
    /// caller then retries them one by one, so one bad op fails alone).
    pub async fn commit_batch(&mut self, ops: &[WriteOp]) -> StoreResult<Vec<Written>> {
        // Replays are rare: first try without looking for them (one statement
        // less); an insert that meets an earlier post rolls back and the batch
        // runs again with the lookup.
        if let Some(out) = self.try_batch(ops, false).await? {
            return Ok(out);
        }
        self.try_batch(ops, true).await?.ok_or(StoreError::Conflict)
    }

    /// One attempt; `None` (rolled back) if an entry was already stored and
    /// `lookup` was off.
    async fn try_batch(
        &mut self,
        ops: &[WriteOp],
        lookup: bool,
    ) -> StoreResult<Option<Vec<Written>>> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let entries: Vec<&NewEntry> = ops
            .iter()
            .filter_map(|op| match op {
                WriteOp::Entry { entry, .. } => Some(&**entry),
                WriteOp::Access(_) => None,
            })
            .collect();
        let existing = if lookup {
            find_existing(&mut tx, &entries).await?
        } else {
            HashMap::new()
        };
        // Earlier posts and in-batch duplicates are replays; the rest get seqs.
        let mut counted: HashSet<Key> = HashSet::new();
        let mut counts: Vec<(ChildId, i64)> = Vec::new();
        for e in &entries {
            let k = key(e);
            if existing.contains_key(&k) || !counted.insert(k) {
                continue;
            }
            match counts.iter_mut().find(|(c, _)| *c == e.child_id) {
                Some((_, n)) => *n += 1,
                None => counts.push((e.child_id, 1)),
            }
        }
        let mut next_seq = reserve_seqs(&mut tx, &counts).await?;
        let mut out: Vec<Written> = Vec::with_capacity(ops.len());
        let mut inserts: Vec<&NewEntry> = Vec::new();
        let mut logs: Vec<&NewAccess<'static>> = Vec::new();
        // Where in `out` each key was written in this batch.
        let mut written: HashMap<Key, usize> = HashMap::new();
        for op in ops {
            let (entry, author_name, log) = match op {
                WriteOp::Access(log) => {
                    logs.push(log);
                    out.push(Written::Logged);
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
                out.push(Written::Replay(row.clone()));
                continue;
            }
            if let Some(&first) = written.get(&k) {
                match out.get(first) {
                    Some(Written::Entry(row)) => out.push(Written::Replay(row.clone())),
                    _ => return Err(StoreError::Corrupt("batch bookkeeping")),
                }
                continue;
            }
            let seq = next_seq
                .get_mut(&entry.child_id)
                .ok_or(StoreError::Corrupt("child vanished during a batch"))?;
            *seq += 1;
            written.insert(k, out.len());
            inserts.push(entry);
            logs.push(log);
            out.push(Written::Entry(row_of(entry, *seq, author_name)));
        }
        let seqs: Vec<i64> = out
            .iter()
            .filter_map(|w| match w {
                Written::Entry(r) => Some(r.seq),
                _ => None,
            })
            .collect();
        if insert_entries(&mut tx, &inserts, &seqs).await? < inserts.len() {
            return Ok(None); // dropping tx rolls back
        }
        insert_logs(&mut tx, &logs).await?;
        let msgs: Vec<super::ClusterMsg> = inserts
            .iter()
            .zip(&seqs)
            .map(|(e, &seq)| super::ClusterMsg::Entry {
                child: e.child_id,
                seq,
            })
            .collect();
        super::cluster::notify_all(&mut tx, self.backend, &self.node, &msgs).await?;
        tx.commit().await?;
        Ok(Some(out))
    }
}

fn row_of(e: &NewEntry, seq: i64, author_name: &Name) -> EntryRow {
    EntryRow {
        id: e.id,
        child_id: e.child_id,
        seq,
        author_id: e.author_id,
        author_name: author_name.clone(),
        category: e.category,
        kind: e.kind.clone(),
        body: e.body.clone(),
        revision: e.revision,
        supersedes: e.supersedes,
        client_id: e.client_id.clone(),
        created_at: e.created_at,
    }
}

/// Entries already stored under the batch's idempotency keys.
async fn find_existing(
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

/// Raises each child's `last_seq` by its count; returns the seq before, per child.
async fn reserve_seqs(
    conn: &mut sqlx::AnyConnection,
    counts: &[(ChildId, i64)],
) -> StoreResult<HashMap<ChildId, i64>> {
    if counts.is_empty() {
        return Ok(HashMap::new());
    }
    let n = counts.len();
    let cases: String = (0..n)
        .map(|i| format!(" when ${} then ${}", 2 * i + 1, 2 * i + 2))
        .collect();
    let sql = format!(
        "update child set last_seq = last_seq + case id{cases} else 0 end \
         where id in ({}) returning id, last_seq",
        params(2 * n, n)
    );
    let mut q = sqlx::query(&sql);
    for (child, count) in counts {
        q = q.bind(child.to_string()).bind(*count);
    }
    for (child, _) in counts {
        q = q.bind(child.to_string());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut before = HashMap::new();
    for r in &rows {
        let child: ChildId = super::rows::id(r, "id")?;
        let last: i64 = r.try_get("last_seq")?;
        let count = counts
            .iter()
            .find(|(c, _)| *c == child)
            .map_or(0, |(_, n)| *n);
        before.insert(child, last - count);
    }
    if before.len() != n {
        return Err(StoreError::NotFound);
    }
    Ok(before)
}

/// Inserts the entries, skipping any whose idempotency key is taken;
/// returns how many were inserted.
async fn insert_entries(
    conn: &mut sqlx::AnyConnection,
    entries: &[&NewEntry],
    seqs: &[i64],
) -> StoreResult<usize> {
    if entries.is_empty() {
        return Ok(0);
    }
    let rows: Vec<String> = (0..entries.len())
        .map(|i| format!("({})", params(11 * i, 11)))
        .collect();
    let sql = format!(
        "insert into entry (id, child_id, seq, author_id, category, kind, body, revision, \
         supersedes, client_id, created_at) values {} \
         on conflict (child_id, author_id, client_id) do nothing returning id",
        rows.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for (e, &seq) in entries.iter().zip(seqs) {
        q = q
            .bind(e.id.to_string())
            .bind(e.child_id.to_string())
            .bind(seq)
            .bind(e.author_id.to_string())
            .bind(e.category)
            .bind(e.kind.clone())
            .bind(e.body.clone())
            .bind(e.revision)
            .bind(e.supersedes.map(|s| s.to_string()))
            .bind(e.client_id.clone())
            .bind(e.created_at);
    }
    let inserted = q.fetch_all(&mut *conn).await.map_err(conflict)?;
    Ok(inserted.len())
}

/// Appends the records to their children's hash chains, in batch order.
async fn insert_logs(
    conn: &mut sqlx::AnyConnection,
    logs: &[&NewAccess<'static>],
) -> StoreResult<()> {
    if logs.is_empty() {
        return Ok(());
    }
    let mut children: Vec<ChildId> = Vec::new();
    for l in logs {
        if !children.contains(&l.child_id) {
            children.push(l.child_id);
        }
    }
    // A correlated `order by id desc limit 1` per child walks the
    // (child_id, id) index to its end; `max(id) … group by` would scan every
    // record of the child on SQLite.
    let sql = format!(
        "select c.id as child_id, (select l.hash from access_log l where l.child_id = c.id \
         order by l.id desc limit 1) as hash from child c where c.id in ({})",
        params(0, children.len())
    );
    let mut q = sqlx::query(&sql);
    for c in &children {
        q = q.bind(c.to_string());
    }
    let mut last: HashMap<ChildId, String> = HashMap::new();
    for r in q.fetch_all(&mut *conn).await? {
        if let Some(hash) = r.try_get::<Option<String>, _>("hash")? {
            last.insert(super::rows::id(&r, "child_id")?, hash);
        }
    }
    let rows: Vec<String> = (0..logs.len())
        .map(|i| format!("({})", params(6 * i, 6)))
        .collect();
    let sql = format!(
        "insert into access_log (child_id, at, account_id, action, detail, hash) values {}",
        rows.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for l in logs {
        let prev = last.get(&l.child_id).map_or("", String::as_str);
        let hash = chain_hash(prev, l);
        q = q
            .bind(l.child_id.to_string())
            .bind(l.at)
            .bind(l.account_id.to_string())
            .bind(l.action)
            .bind(l.detail.clone())
            .bind(hash.clone());
        last.insert(l.child_id, hash);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}
