//! PostgreSQL's execution of a batch: one transaction of five statements
//! (`begin`, the children's rows locked, their chain heads read, every
//! insert and notification, `commit`), whatever the batch holds.
//! Other nodes write too, so the children's rows are always locked and
//! their heads read ([`lock_heads`]) rather than taken from a cache.

use std::collections::HashMap;

use super::plan::{counts, entries_of, find_existing, Plan, WriteOp, Written};
use super::sql::{
    alerts_sql, bind_alerts, bind_deliveries, bind_entries, bind_logs, bind_refs, deliveries_sql,
    entries_sql, logs_sql, ref_count, refs_sql, ALERT_COLS, DELIVERY_COLS, ENTRY_COLS, LOG_COLS,
    REF_COLS,
};
use crate::store::chain::{lock_heads, ChainKey};
use crate::store::cluster::{notify_calls, ClusterMsg};
use crate::store::{conflict, Backend, StoreResult};
use sqlx::Row;

/// A batch in one transaction, which also notifies the other nodes of what
/// it committed; `None` (rolled back) if an entry was already stored and
/// `lookup` was off.
pub(super) async fn batch(
    conn: &mut sqlx::AnyConnection,
    node: &str,
    ops: &[WriteOp],
    lookup: bool,
    key: &ChainKey,
) -> StoreResult<Option<Vec<Written>>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let existing = if lookup {
        find_existing(&mut tx, &entries_of(ops)).await?
    } else {
        HashMap::new()
    };
    let heads = lock_heads(&mut tx, Backend::Postgres, "", &counts(ops, &existing)).await?;
    let plan = Plan::new(ops, &existing, heads, key)?;
    let msgs = messages(&plan);
    let (sql, notify_binds) = inserts_sql(&plan, node, &msgs);
    let mut q = sqlx::query(&sql);
    q = bind_entries(q, &plan.inserts, &plan.seqs, &plan.consents);
    q = bind_refs(q, &plan.inserts);
    q = bind_logs(q, &plan.logs);
    q = bind_alerts(q, &plan.alerts);
    q = bind_deliveries(q, &plan.alerts);
    for value in notify_binds {
        q = q.bind(value);
    }
    let row = q.fetch_one(&mut *tx).await.map_err(conflict)?;
    let inserted: i64 = row.try_get("inserted")?;
    if usize::try_from(inserted).ok() != Some(plan.inserts.len()) {
        return Ok(None); // dropping tx rolls back, notifications too
    }
    tx.commit().await?;
    Ok(Some(plan.out))
}

/// What the other nodes are told of this batch (ids only).
fn messages(plan: &Plan<'_>) -> Vec<ClusterMsg> {
    plan.inserts
        .iter()
        .zip(&plan.seqs)
        .map(|(e, &seq)| ClusterMsg::Entry {
            child: e.child_id,
            seq,
        })
        .chain(plan.alerts.iter().map(|a| ClusterMsg::Alert {
            alert: a.0.id,
            ack: false,
        }))
        .collect()
}

/// Every insert of the batch and its notifications as one statement (one
/// round trip): data-modifying `with` clauses, which PostgreSQL runs
/// exactly once whether or not the query reads them, and a `select` that
/// counts the entries inserted (an entry whose idempotency key is taken is
/// skipped) and calls `pg_notify`. Parameters are numbered across the
/// clauses in bind order: entries, attachment references, records, alerts, deliveries, notifications.
fn inserts_sql(plan: &Plan<'_>, node: &str, msgs: &[ClusterMsg]) -> (String, Vec<String>) {
    let (ne, nl, na, nd) = (
        plan.inserts.len(),
        plan.logs.len(),
        plan.alerts.len(),
        plan.deliveries(),
    );
    let mut from = 0;
    let mut clauses = vec![entries_sql(ne, from, true).map(|s| format!("e as ({s})"))];
    from += ne * ENTRY_COLS;
    // The references of an entry whose idempotency key is taken would
    // stay behind: but then the whole batch is rolled back (see `batch`).
    let nr = ref_count(&plan.inserts);
    clauses.push(refs_sql(nr, from).map(|s| format!("r as ({s})")));
    from += nr * REF_COLS;
    clauses.push(logs_sql(nl, from).map(|s| format!("l as ({s})")));
    from += nl * LOG_COLS;
    clauses.push(alerts_sql(na, from).map(|s| format!("a as ({s})")));
    from += na * ALERT_COLS;
    clauses.push(deliveries_sql(nd, from).map(|s| format!("d as ({s})")));
    from += nd * DELIVERY_COLS;
    let clauses: Vec<String> = clauses.into_iter().flatten().collect();
    let inserted = if plan.inserts.is_empty() {
        "0::bigint"
    } else {
        "(select count(*) from e)"
    };
    let (calls, binds) = notify_calls(node, msgs, from);
    let mut select = format!("select {inserted} as inserted");
    if !calls.is_empty() {
        select = format!("{select}, {calls}");
    }
    if clauses.is_empty() {
        return (select, binds);
    }
    (format!("with {} {select}", clauses.join(", ")), binds)
}
