//! The end of a record (issue 20, point 3): closing a notebook when support
//! ends, and erasure by crypto-shredding.
//!
//! An erasure blanks the child's wrapped data key and sealed profile,
//! deletes every other row sealed under that key (entries, cards and their
//! versions, contacts, alerts, handovers, attachments and their chunks;
//! on SQLite the attachment files go after the commit, and a start removes
//! any a crash left) and the read marks, and revokes
//! every membership, in one transaction. The child's row stays with ids and
//! times, and so does its access log (metadata only, by design). On SQLite
//! the transaction runs with `secure_delete`, and the write-ahead log is
//! then checkpointed and truncated, so the wrapped key's bytes leave the
//! data dir's files; on PostgreSQL the table is vacuumed afterwards (its
//! WAL archive and older `pg_dump`s are the operator's, README says so).

use super::chain::append_access;
use super::children::next_consent_version;
use super::rows::{id, opt_id};
use super::{Backend, ClusterMsg, NewAccess, Store, StoreError, StoreResult, Writer};
use crate::ids::{AccountId, ChildId};
use sqlx::Row;

/// A guardian's erasure request, or a confirmed erasure.
#[derive(Clone, Debug)]
pub struct ErasureRow {
    pub child_id: ChildId,
    pub requested_by: Option<AccountId>,
    pub requested_at: i64,
    pub confirmed_by: Option<AccountId>,
    pub confirmed_at: Option<i64>,
}

/// A closed notebook.
#[derive(Clone, Debug)]
pub struct ClosedRow {
    pub child_id: ChildId,
    pub closed_at: i64,
    pub closed_by: Option<AccountId>,
}

/// Where a child's record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildState {
    Open,
    Closed,
    Erased,
}

/// Tables whose rows are sealed under the child's key (or only make sense
/// with them), deleted by an erasure in this order (foreign keys).
const SEALED_DELETES: &[&str] = &[
    "delete from attachment_chunk where attachment_id in \
     (select id from attachment where child_id = $1)",
    "delete from attachment_ref where child_id = $1",
    "delete from attachment where child_id = $1",
    "delete from alert_delivery where alert_id in (select id from alert where child_id = $1)",
    "delete from alert where child_id = $1",
    "delete from emergency_contact where child_id = $1",
    "delete from emergency_card_version where child_id = $1",
    "delete from handover where child_id = $1",
    "delete from read_mark where child_id = $1",
    "delete from entry_done where child_id = $1",
    "delete from notify_pref where child_id = $1",
    "delete from reminder where child_id = $1",
    "delete from entry where child_id = $1",
];

impl Store {
    /// Open, closed or erased; NotFound for an unknown child.
    pub async fn child_state(&self, child: ChildId) -> StoreResult<ChildState> {
        let row = sqlx::query("select closed_at, erased_at from child where id = $1")
            .bind(child.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        let closed: Option<i64> = row.try_get("closed_at")?;
        let erased: Option<i64> = row.try_get("erased_at")?;
        Ok(match (erased, closed) {
            (Some(_), _) => ChildState::Erased,
            (None, Some(_)) => ChildState::Closed,
            (None, None) => ChildState::Open,
        })
    }

    /// Erasure requests not yet confirmed, oldest first.
    pub async fn pending_erasures(&self) -> StoreResult<Vec<ErasureRow>> {
        let rows = sqlx::query(
            "select child_id, requested_by, requested_at, confirmed_by, confirmed_at \
             from erasure where confirmed_at is null order by requested_at, child_id",
        )
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ErasureRow {
                    child_id: id(r, "child_id")?,
                    requested_by: opt_id(r, "requested_by")?,
                    requested_at: r.try_get("requested_at")?,
                    confirmed_by: opt_id(r, "confirmed_by")?,
                    confirmed_at: r.try_get("confirmed_at")?,
                })
            })
            .collect()
    }

    /// Closed notebooks (not erased) closed at or before `before`, oldest first.
    pub async fn closed_before(&self, before: i64) -> StoreResult<Vec<ClosedRow>> {
        let rows = sqlx::query(
            "select id, closed_at, closed_by from child \
             where closed_at is not null and closed_at <= $1 and erased_at is null \
             order by closed_at, id",
        )
        .bind(before)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClosedRow {
                    child_id: id(r, "id")?,
                    closed_at: r.try_get("closed_at")?,
                    closed_by: opt_id(r, "closed_by")?,
                })
            })
            .collect()
    }

    /// Children that still hold a data key, of those in `ids`.
    pub async fn unerased_of(&self, ids: &[ChildId]) -> StoreResult<Vec<ChildId>> {
        let mut out = Vec::new();
        let mut conn = self.reader().await?;
        for child in ids {
            let found: Option<i64> =
                sqlx::query_scalar("select 1 from child where id = $1 and erased_at is null")
                    .bind(child.to_string())
                    .fetch_optional(&mut *conn)
                    .await?;
            if found.is_some() {
                out.push(*child);
            }
        }
        Ok(out)
    }
}

/// Tells every node that the child's memberships changed.
async fn notify_members(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    node: &str,
    child: ChildId,
) -> StoreResult<()> {
    let accounts: Vec<String> =
        sqlx::query_scalar("select account_id from membership where child_id = $1")
            .bind(child.to_string())
            .fetch_all(&mut *tx)
            .await?;
    for a in accounts {
        let account = a
            .parse()
            .map_err(|_| StoreError::Corrupt("membership.account_id"))?;
        super::cluster::notify(tx, backend, node, ClusterMsg::Member { child, account }).await?;
    }
    Ok(())
}

impl Writer {
    /// Records a guardian's erasure request (once; a repeat keeps the first)
    /// and logs it. `Conflict` when the child is already erased.
    pub async fn request_erasure(
        &mut self,
        child: ChildId,
        log: NewAccess<'_>,
    ) -> StoreResult<bool> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let inserted = sqlx::query(
            "insert into erasure (child_id, requested_by, requested_at) \
             select $1, $2, $3 where not exists (select 1 from erasure where child_id = $1)",
        )
        .bind(child.to_string())
        .bind(log.account_id.to_string())
        .bind(log.at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if inserted {
            append_access(&mut tx, self.backend, &self.key, &log).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Closes (`Some(by)`) or reopens (`None`) a notebook, logs it, and tells
    /// every node (memberships carry the child's state). `Conflict` when it
    /// is already so.
    pub async fn set_closed(
        &mut self,
        child: ChildId,
        closed: bool,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let moved = if closed {
            sqlx::query(
                "update child set closed_at = $2, closed_by = $3 \
                 where id = $1 and closed_at is null and erased_at is null",
            )
            .bind(child.to_string())
            .bind(log.at)
            .bind(log.account_id.to_string())
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "update child set closed_at = null, closed_by = null \
                 where id = $1 and closed_at is not null and erased_at is null",
            )
            .bind(child.to_string())
            .execute(&mut *tx)
            .await?
        };
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        next_consent_version(&mut tx, child).await?;
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        notify_members(&mut tx, self.backend, &self.node, child).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Crypto-shreds the child (see the module's doc). `log` is the `erase`
    /// record. `Conflict` when it was erased already; NotFound when unknown.
    pub async fn erase_child(
        &mut self,
        child: ChildId,
        by: Option<AccountId>,
        log: Option<NewAccess<'_>>,
        at: i64,
    ) -> StoreResult<i64> {
        let sqlite = self.backend == Backend::Sqlite;
        if sqlite {
            sqlx::query("pragma secure_delete = on")
                .execute(&mut *self.conn)
                .await?;
        }
        let done = self.erase_in_tx(child, by, log, at).await;
        if sqlite {
            let off = sqlx::query("pragma secure_delete = off")
                .execute(&mut *self.conn)
                .await;
            let version = done?;
            off?;
            // The old pages may still sit in the write-ahead log.
            sqlx::query("pragma wal_checkpoint(truncate)")
                .execute(&mut *self.conn)
                .await?;
            Ok(version)
        } else {
            let version = done?;
            for table in ["child", "entry", "emergency_card_version", "alert"] {
                sqlx::query(&format!("vacuum {table}"))
                    .execute(&mut *self.conn)
                    .await?;
            }
            Ok(version)
        }
    }

    async fn erase_in_tx(
        &mut self,
        child: ChildId,
        by: Option<AccountId>,
        log: Option<NewAccess<'_>>,
        at: i64,
    ) -> StoreResult<i64> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let state: Option<Option<i64>> =
            sqlx::query_scalar("select erased_at from child where id = $1")
                .bind(child.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        match state {
            None => return Err(StoreError::NotFound),
            Some(Some(_)) => return Err(StoreError::Conflict),
            Some(None) => {}
        }
        for sql in SEALED_DELETES {
            sqlx::query(sql)
                .bind(child.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let version = next_consent_version(&mut tx, child).await?;
        sqlx::query(
            "update membership set status = 'revoked', updated_at = $2, version = $3 \
             where child_id = $1",
        )
        .bind(child.to_string())
        .bind(at)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "update child set wrapped_key = $2, profile = $2, erased_at = $3 where id = $1",
        )
        .bind(child.to_string())
        .bind(Vec::<u8>::new())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into erasure (child_id, requested_by, requested_at, confirmed_by, confirmed_at) \
             values ($1, null, $2, $3, $2) \
             on conflict (child_id) do update set confirmed_by = $3, confirmed_at = $2",
        )
        .bind(child.to_string())
        .bind(at)
        .bind(by.map(|a| a.to_string()))
        .execute(&mut *tx)
        .await?;
        if let Some(log) = log {
            append_access(&mut tx, self.backend, &self.key, &log).await?;
        }
        notify_members(&mut tx, self.backend, &self.node, child).await?;
        super::cluster::notify(
            &mut tx,
            self.backend,
            &self.node,
            ClusterMsg::Erased { child },
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }
}
