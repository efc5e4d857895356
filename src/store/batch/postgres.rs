//! PostgreSQL's execution of a batch: one transaction of a few statements.
//! Other nodes write too, so the children's rows are always locked and
//! their heads read ([`lock_heads`]) rather than taken from a cache.

use std::collections::HashMap;

use super::plan::{counts, entries_of, find_existing, Plan, WriteOp, Written};
use super::sql::{
    alerts_sql, bind_alerts, bind_deliveries, bind_entries, bind_logs, deliveries_sql, entries_sql,
    logs_sql,
};
use crate::store::chain::lock_heads;
use crate::store::cluster::{notify_all, ClusterMsg};
use crate::store::{conflict, Backend, StoreResult};

/// A batch in one transaction, which also notifies the other nodes of what
/// it committed; `None` (rolled back) if an entry was already stored and
/// `lookup` was off.
pub(super) async fn batch(
    conn: &mut sqlx::AnyConnection,
    node: &str,
    ops: &[WriteOp],
    lookup: bool,
) -> StoreResult<Option<Vec<Written>>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let existing = if lookup {
        find_existing(&mut tx, &entries_of(ops)).await?
    } else {
        HashMap::new()
    };
    let heads = lock_heads(&mut tx, Backend::Postgres, "", &counts(ops, &existing)).await?;
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
    let msgs: Vec<ClusterMsg> = plan
        .inserts
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
        .collect();
    notify_all(&mut tx, Backend::Postgres, node, &msgs).await?;
    tx.commit().await?;
    Ok(Some(plan.out))
}
