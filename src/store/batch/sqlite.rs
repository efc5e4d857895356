//! SQLite's execution of a batch: statement lists, one trip to the
//! connection's worker thread when [`HeadCache`] knows the heads (checked by
//! a guarded update), else two (see the batch module docs).

use std::collections::HashMap;

use super::plan::{counts, entries_of, find_existing, HeadCache, Plan, WriteOp, Written};
use super::sql::{
    alerts_sql, bind_alerts, bind_deliveries, bind_entries, bind_logs, bind_refs, deliveries_sql,
    entries_sql, logs_sql, ref_count, refs_sql, ALERT_COLS, ENTRY_COLS, LOG_COLS, REF_COLS,
};
use crate::ids::ChildId;
use crate::store::chain::{lock_heads, ChainKey, Heads};
use crate::store::{conflict, Backend, StoreError, StoreResult};

/// Whatever failed, no transaction stays open. With none open (begin itself
/// failed), SQLite refuses: ignored.
pub(super) async fn rollback(conn: &mut sqlx::AnyConnection) {
    let _ = sqlx::query("rollback").execute(&mut *conn).await;
}

/// SQLite: a batch in one trip to the worker thread when the cache knows
/// its heads, else two (see the module docs). On any outcome but
/// `Ok(Some)` the caller rolls back.
pub(super) async fn batch(
    conn: &mut sqlx::AnyConnection,
    ops: &[WriteOp],
    lookup: bool,
    cache: &mut HeadCache,
    key: &ChainKey,
) -> StoreResult<Option<Vec<Written>>> {
    if !lookup {
        let counts = counts(ops, &HashMap::new());
        if let Some(heads) = cache.get(&counts) {
            let plan = Plan::new(ops, &HashMap::new(), heads, key)?;
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
    let heads = lock_heads(&mut *conn, Backend::Sqlite, begin, &counts(ops, &existing)).await?;
    let plan = Plan::new(ops, &existing, heads, key)?;
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
        let (seq, hash, _) = start.0.get(child).cloned().unwrap_or_default();
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
    let refs_from = entries_from + ENTRY_COLS * plan.inserts.len();
    let nr = ref_count(&plan.inserts);
    let logs_from = refs_from + REF_COLS * nr;
    let alerts_from = logs_from + LOG_COLS * plan.logs.len();
    let deliveries_from = alerts_from + ALERT_COLS * plan.alerts.len();
    let sql = [
        (!guard_sql.is_empty()).then_some(guard_sql),
        entries_sql(plan.inserts.len(), entries_from, false),
        refs_sql(nr, refs_from),
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
    let q = bind_entries(q, &plan.inserts, &plan.seqs, &plan.consents);
    let q = bind_refs(q, &plan.inserts);
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
