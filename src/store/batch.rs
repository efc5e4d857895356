//! Group commit: many posts and access-log records in one durable
//! transaction. The statements per batch do not grow with its size (one
//! sequence update that also reads each child's hash-chain head, one
//! multi-row insert per table), so a batch of fifty costs little more than a
//! batch of one: the fsync is shared.
//!
//! On SQLite each statement is a trip to the connection's worker thread and
//! back (two thread wake-ups), so a batch is sent as statement lists. sqlx
//! 0.8 runs such a list in one call and stops at the first error; any error
//! then rolls back explicitly, since sqlx does not see a transaction begun
//! in SQL.
//! - The committer remembers each child's head (last seq, last access-log
//!   hash) from its own commits ([`HeadCache`]). When it knows every child
//!   of a batch, the batch is one list: `begin immediate; update … ;
//!   insert …; commit`, where the update checks the remembered heads and
//!   fails the list (a NOT NULL violation) if another writer moved one.
//! - Otherwise, or after such a failure, it is two lists: `begin immediate;
//!   update … returning` the heads, then the inserts and `commit`.

use std::collections::{HashMap, HashSet};

use super::entries::{chain_hash, ENTRY_SELECT};
use super::{
    conflict, AlertRow, Backend, EntryRow, Name, NewAccess, NewEntry, Notified, StoreError,
    StoreResult, Writer,
};
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

/// `row(p)` for each of `n` rows of `cols` parameters, the first row's
/// parameters after `from`, joined for a multi-row `values`; None if `n` is 0.
fn rows(n: usize, from: usize, cols: usize, row: impl Fn(usize) -> String) -> Option<String> {
    (n > 0).then(|| {
        (0..n)
            .map(|i| row(from + cols * i))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// `$a, $b, …` for `n` parameters starting after `from`.
fn params(from: usize, n: usize) -> String {
    (from + 1..=from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each child's head (last seq, hash of its last access-log record) as the
/// committer's own last commit on it left it. Only a hint: a batch that
/// relies on it checks it in the database (SQLite only; on PostgreSQL other
/// nodes write too, and every batch reads the heads).
#[derive(Default)]
pub struct HeadCache(HashMap<ChildId, (i64, String)>);

/// Children remembered at most; beyond, the cache starts over.
const HEAD_CACHE_MAX: usize = 100_000;

impl HeadCache {
    /// The heads of all these children, if every one is known.
    fn get(&self, counts: &[(ChildId, i64)]) -> Option<Heads> {
        let mut heads = HashMap::with_capacity(counts.len());
        for (child, _) in counts {
            heads.insert(*child, self.0.get(child)?.clone());
        }
        Some(Heads(heads))
    }

    fn remember(&mut self, heads: Heads) {
        if self.0.len() + heads.0.len() > HEAD_CACHE_MAX {
            self.0.clear();
        }
        self.0.extend(heads.0);
    }

    fn forget(&mut self, ops: &[WriteOp]) {
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

impl Writer {
    /// Commits every op of `ops` in one transaction, or none of them (the
    /// caller then retries them one by one, so one bad op fails alone).
    pub async fn commit_batch(
        &mut self,
        ops: &[WriteOp],
        cache: &mut HeadCache,
    ) -> StoreResult<Vec<Written>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        // Replays are rare: first try without looking for them (one statement
        // less); an insert that meets an earlier post rolls back and the batch
        // runs again with the lookup.
        if let Some(out) = self.try_batch(ops, false, cache).await? {
            return Ok(out);
        }
        self.try_batch(ops, true, cache)
            .await?
            .ok_or(StoreError::Conflict)
    }

    /// One attempt; `None` (rolled back) if an entry was already stored and
    /// `lookup` was off.
    async fn try_batch(
        &mut self,
        ops: &[WriteOp],
        lookup: bool,
        cache: &mut HeadCache,
    ) -> StoreResult<Option<Vec<Written>>> {
        match self.backend {
            Backend::Sqlite => {
                let conn = &mut *self.conn;
                let r = sqlite_batch(conn, ops, lookup, cache).await;
                if !matches!(r, Ok(Some(_))) {
                    rollback(conn).await;
                    cache.forget(ops);
                }
                r
            }
            Backend::Postgres => {
                let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
                let existing = if lookup {
                    find_existing(&mut tx, &entries_of(ops)).await?
                } else {
                    HashMap::new()
                };
                let heads = reserve(&mut tx, "", &counts(ops, &existing)).await?;
                let plan = Plan::new(ops, &existing, heads)?;
                let mut inserted = 0;
                if let Some(sql) = entries_sql(plan.inserts.len(), 0, true) {
                    let q = bind_entries(sqlx::query(&sql), &plan.inserts, &plan.seqs);
                    inserted = q.fetch_all(&mut *tx).await.map_err(conflict)?.len();
                }
                if inserted < plan.inserts.len() {
                    return Ok(None); // dropping tx rolls back
                }
                if let Some(sql) = logs_sql(plan.logs.len(), 0) {
                    bind_logs(sqlx::query(&sql), &plan.logs)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(sql) = alerts_sql(plan.alerts.len(), 0) {
                    bind_alerts(sqlx::query(&sql), &plan.alerts)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(sql) = deliveries_sql(plan.deliveries(), 0) {
                    bind_deliveries(sqlx::query(&sql), &plan.alerts)
                        .execute(&mut *tx)
                        .await?;
                }
                let msgs: Vec<super::ClusterMsg> = plan
                    .inserts
                    .iter()
                    .zip(&plan.seqs)
                    .map(|(e, &seq)| super::ClusterMsg::Entry {
                        child: e.child_id,
                        seq,
                    })
                    .chain(plan.alerts.iter().map(|a| super::ClusterMsg::Alert {
                        alert: a.0.id,
                        ack: false,
                    }))
                    .collect();
                super::cluster::notify_all(&mut tx, self.backend, &self.node, &msgs).await?;
                tx.commit().await?;
                Ok(Some(plan.out))
            }
        }
    }
}

/// Whatever failed, no transaction stays open. With none open (begin itself
/// failed), SQLite refuses: ignored.
async fn rollback(conn: &mut sqlx::AnyConnection) {
    let _ = sqlx::query("rollback").execute(&mut *conn).await;
}

/// SQLite: a batch in one trip to the worker thread when the cache knows
/// its heads, else two (see the module docs). On any outcome but
/// `Ok(Some)` the caller rolls back.
async fn sqlite_batch(
    conn: &mut sqlx::AnyConnection,
    ops: &[WriteOp],
    lookup: bool,
    cache: &mut HeadCache,
) -> StoreResult<Option<Vec<Written>>> {
    if !lookup {
        let counts = counts(ops, &HashMap::new());
        if let Some(heads) = cache.get(&counts) {
            let plan = Plan::new(ops, &HashMap::new(), heads)?;
            let guard = guarded_update(&counts, &plan.start);
            match sqlite_inserts(conn, Some(guard), plan, lookup, cache).await {
                Err(StoreError::Stale) => {
                    // Another writer moved a head: read them instead.
                    rollback(conn).await;
                    cache.forget(ops);
                }
                r => return r,
            }
        }
    }
    let (existing, begin) = if lookup {
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        (find_existing(&mut *conn, &entries_of(ops)).await?, "")
    } else {
        (HashMap::new(), "begin immediate; ")
    };
    let heads = reserve(&mut *conn, begin, &counts(ops, &existing)).await?;
    let plan = Plan::new(ops, &existing, heads)?;
    sqlite_inserts(conn, None, plan, lookup, cache).await
}

/// Per child: id, expected last seq, expected last hash, count.
type GuardArg = (ChildId, i64, String, i64);
const GUARD_COLS: usize = 4;

/// `begin immediate` and the update that moves each child's seq only if its
/// head is still `start` (else `last_seq` becomes null: the statement fails).
fn guarded_update(counts: &[(ChildId, i64)], start: &Heads) -> (String, Vec<GuardArg>) {
    let mut cases = String::new();
    let mut ids = Vec::with_capacity(counts.len());
    let mut args = Vec::with_capacity(counts.len());
    for (i, (child, count)) in counts.iter().enumerate() {
        let p = GUARD_COLS * i;
        cases.push_str(&format!(
            " when ${} then (case when last_seq = ${} and coalesce((select l.hash \
             from access_log l where l.child_id = child.id order by l.id desc limit 1), '') \
             = ${} then last_seq + ${} end)",
            p + 1,
            p + 2,
            p + 3,
            p + 4
        ));
        ids.push(format!("${}", p + 1));
        let (seq, hash) = start.0.get(child).cloned().unwrap_or_default();
        args.push((*child, seq, hash, *count));
    }
    let sql = format!(
        "begin immediate; update child set last_seq = case id{cases} end where id in ({})",
        ids.join(", ")
    );
    (sql, args)
}

/// The inserts and `commit` as one list, after `guard` (the one-trip form)
/// or after the heads were read (the second trip). Remembers the heads the
/// commit leaves.
async fn sqlite_inserts(
    conn: &mut sqlx::AnyConnection,
    guard: Option<(String, Vec<GuardArg>)>,
    plan: Plan<'_>,
    lookup: bool,
    cache: &mut HeadCache,
) -> StoreResult<Option<Vec<Written>>> {
    let (guard_sql, guard_args) = guard.unwrap_or_default();
    // A plain insert: a taken idempotency key fails the statement, and the
    // list stops before its commit.
    let entries_from = GUARD_COLS * guard_args.len();
    let logs_from = entries_from + ENTRY_COLS * plan.inserts.len();
    let alerts_from = logs_from + LOG_COLS * plan.logs.len();
    let deliveries_from = alerts_from + ALERT_COLS * plan.alerts.len();
    let sql = [
        (!guard_sql.is_empty()).then_some(guard_sql),
        entries_sql(plan.inserts.len(), entries_from, false),
        logs_sql(plan.logs.len(), logs_from),
        alerts_sql(plan.alerts.len(), alerts_from),
        deliveries_sql(plan.deliveries(), deliveries_from),
        Some("commit".to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    let mut q = sqlx::query(&sql);
    for (child, seq, hash, count) in guard_args {
        q = q.bind(child.to_string()).bind(seq).bind(hash).bind(count);
    }
    let q = bind_entries(q, &plan.inserts, &plan.seqs);
    let q = bind_deliveries(
        bind_alerts(bind_logs(q, &plan.logs), &plan.alerts),
        &plan.alerts,
    );
    match q.execute(&mut *conn).await {
        Ok(_) => {
            cache.remember(plan.end);
            Ok(Some(plan.out))
        }
        Err(e) if is_not_null_violation(&e) => Err(StoreError::Stale),
        Err(e) => match conflict(e) {
            StoreError::Conflict if !lookup => Ok(None),
            e => Err(e),
        },
    }
}

fn is_not_null_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::NotNullViolation)
}

fn entries_of(ops: &[WriteOp]) -> Vec<&NewEntry> {
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
fn counts(ops: &[WriteOp], existing: &HashMap<Key, EntryRow>) -> Vec<(ChildId, i64)> {
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
struct Plan<'a> {
    /// One answer per op, in order.
    out: Vec<Written>,
    inserts: Vec<&'a NewEntry>,
    /// The seq of each insert.
    seqs: Vec<i64>,
    /// Each access-log record with its chain hash.
    logs: Vec<(&'a NewAccess<'static>, String)>,
    /// New alerts: row, next step's time, deliveries.
    alerts: Vec<NewAlert<'a>>,
    /// The heads the batch starts from and leaves.
    start: Heads,
    end: Heads,
}

type NewAlert<'a> = (&'a AlertRow, i64, &'a [Notified]);

impl Plan<'_> {
    fn deliveries(&self) -> usize {
        self.alerts.iter().map(|a| a.2.len()).sum()
    }
}

impl<'a> Plan<'a> {
    fn new(
        ops: &'a [WriteOp],
        existing: &HashMap<Key, EntryRow>,
        start: Heads,
    ) -> StoreResult<Self> {
        let mut heads = Heads(start.0.clone());
        let mut plan = Plan {
            out: Vec::with_capacity(ops.len()),
            inserts: Vec::new(),
            seqs: Vec::new(),
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
                    plan.logs.push((log, heads.chain(log)?));
                    plan.out.push(Written::Logged);
                    continue;
                }
                WriteOp::Alert {
                    alert,
                    next_at,
                    notified,
                    log,
                } => {
                    plan.logs.push((log, heads.chain(log)?));
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
            written.insert(k, plan.out.len());
            plan.inserts.push(entry);
            plan.seqs.push(seq);
            plan.logs.push((log, heads.chain(log)?));
            plan.out
                .push(Written::Entry(row_of(entry, seq, author_name)));
        }
        plan.start = start;
        plan.end = heads;
        Ok(plan)
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

/// Each child's head as the batch starts: its last seq and the hash of its
/// last access-log record.
struct Heads(HashMap<ChildId, (i64, String)>);

impl Heads {
    /// The next seq of `child`, taken.
    fn next_seq(&mut self, child: ChildId) -> StoreResult<i64> {
        let head = self
            .0
            .get_mut(&child)
            .ok_or(StoreError::Corrupt("child vanished during a batch"))?;
        head.0 += 1;
        Ok(head.0)
    }

    /// The chain hash of `log`, appended to its child's chain.
    fn chain(&mut self, log: &NewAccess<'_>) -> StoreResult<String> {
        let head = self
            .0
            .get_mut(&log.child_id)
            .ok_or(StoreError::Corrupt("child vanished during a batch"))?;
        head.1 = chain_hash(&head.1, log);
        Ok(head.1.clone())
    }
}

/// One statement: raises each child's `last_seq` by its count (locking its
/// row) and returns, per child, the seq before and its last access-log hash.
/// `prefix` runs first in the same call (SQLite's `begin immediate; `).
async fn reserve(
    conn: &mut sqlx::AnyConnection,
    prefix: &str,
    counts: &[(ChildId, i64)],
) -> StoreResult<Heads> {
    if counts.is_empty() {
        return Err(StoreError::Corrupt("a batch without children"));
    }
    let n = counts.len();
    let cases: String = (0..n)
        .map(|i| format!(" when ${} then ${}", 2 * i + 1, 2 * i + 2))
        .collect();
    // A correlated `order by id desc limit 1` walks the (child_id, id) index
    // to its end; `max(id) … group by` would scan every record of the child
    // on SQLite.
    let sql = format!(
        "{prefix}update child set last_seq = last_seq + case id{cases} else 0 end \
         where id in ({}) returning id, last_seq, \
         (select l.hash from access_log l where l.child_id = child.id \
          order by l.id desc limit 1) as hash",
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
    let mut heads = HashMap::new();
    for r in &rows {
        let child: ChildId = super::rows::id(r, "id")?;
        let last: i64 = r.try_get("last_seq")?;
        let hash: Option<String> = r.try_get("hash")?;
        let count = counts
            .iter()
            .find(|(c, _)| *c == child)
            .map_or(0, |(_, n)| *n);
        heads.insert(child, (last - count, hash.unwrap_or_default()));
    }
    if heads.len() != n {
        return Err(StoreError::NotFound);
    }
    Ok(Heads(heads))
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

const ENTRY_COLS: usize = 11;
const LOG_COLS: usize = 6;

/// Multi-row insert of `n` entries, parameters after `from`. With
/// `skip_taken`, an entry whose idempotency key is taken is skipped and the
/// others' ids are returned; without, the statement fails.
fn entries_sql(n: usize, from: usize, skip_taken: bool) -> Option<String> {
    let values = rows(n, from, ENTRY_COLS, |p| {
        format!("({})", params(p, ENTRY_COLS))
    })?;
    let on_conflict = if skip_taken {
        " on conflict (child_id, author_id, client_id) do nothing returning id"
    } else {
        ""
    };
    Some(format!(
        "insert into entry (id, child_id, seq, author_id, category, kind, body, revision, \
         supersedes, client_id, created_at) values {values}{on_conflict}"
    ))
}

fn bind_entries<'q>(mut q: AnyQuery<'q>, entries: &[&NewEntry], seqs: &[i64]) -> AnyQuery<'q> {
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
    q
}

/// Multi-row insert of `n` access-log records, parameters after `from`.
fn logs_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, LOG_COLS, |p| format!("({})", params(p, LOG_COLS)))?;
    Some(format!(
        "insert into access_log (child_id, at, account_id, action, detail, hash) values {values}"
    ))
}

fn bind_logs<'q>(mut q: AnyQuery<'q>, logs: &[(&NewAccess<'static>, String)]) -> AnyQuery<'q> {
    for (l, hash) in logs {
        q = q
            .bind(l.child_id.to_string())
            .bind(l.at)
            .bind(l.account_id.to_string())
            .bind(l.action)
            .bind(l.detail.clone())
            .bind(hash.clone());
    }
    q
}

const ALERT_COLS: usize = 6;
const DELIVERY_COLS: usize = 5;

/// Multi-row insert of `n` new alerts at step 1, parameters after `from`.
fn alerts_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, ALERT_COLS, |p| {
        let [id, child, by, msg, at, next] = [1, 2, 3, 4, 5, 6].map(|i| p + i);
        format!("(${id}, ${child}, ${by}, ${msg}, ${at}, 'open', 1, ${next})")
    })?;
    Some(format!(
        "insert into alert (id, child_id, raised_by, message, created_at, status, step, \
         next_step_at) values {values}"
    ))
}

fn bind_alerts<'q>(mut q: AnyQuery<'q>, alerts: &[NewAlert<'_>]) -> AnyQuery<'q> {
    for (a, next_at, _) in alerts {
        q = q
            .bind(a.id.to_string())
            .bind(a.child_id.to_string())
            .bind(a.raised_by.to_string())
            .bind(a.message.clone())
            .bind(a.created_at)
            .bind(*next_at);
    }
    q
}

/// Multi-row insert of `n` first deliveries, parameters after `from`.
fn deliveries_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, DELIVERY_COLS, |p| {
        let [alert, account, tier, at, channels] = [1, 2, 3, 4, 5].map(|i| p + i);
        format!("(${alert}, ${account}, ${tier}, ${at}, ${at}, 1, ${channels})")
    })?;
    Some(format!(
        "insert into alert_delivery (alert_id, account_id, tier, notified_at, \
         last_notified_at, notify_count, channels) values {values}"
    ))
}

fn bind_deliveries<'q>(mut q: AnyQuery<'q>, alerts: &[NewAlert<'_>]) -> AnyQuery<'q> {
    for (a, _, notified) in alerts {
        for n in *notified {
            q = q
                .bind(a.id.to_string())
                .bind(n.account_id.to_string())
                .bind(n.tier)
                .bind(a.created_at)
                .bind(n.channels.clone());
        }
    }
    q
}
