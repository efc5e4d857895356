//! Handovers (引継ぎ): opened by the leaving member, a coordinator or an
//! organization administrator; approved or declined by whoever holds the
//! child's consent. Approval moves both memberships in the same transaction
//! as the handover's own status, so a handover is approved once.

use super::chain::append_access;
use super::children::{next_consent_version, upsert_membership};
use super::rows::{id, opt_id};
use super::{conflict, ClusterMsg, MemberWrite, NewAccess, Store, StoreError, StoreResult, Writer};
use crate::ids::{AccountId, ChildId, HandoverId};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One handover as stored (the note sealed under the child's key).
#[derive(Clone, Debug)]
pub struct HandoverRow {
    pub id: HandoverId,
    pub child_id: ChildId,
    pub from_account: AccountId,
    pub to_account: AccountId,
    pub overlap_days: i64,
    pub note: Option<Vec<u8>>,
    /// `requested`, `approved` or `declined`.
    pub status: String,
    pub requested_by: AccountId,
    pub created_at: i64,
    pub decided_by: Option<AccountId>,
    pub decided_at: Option<i64>,
}

const SELECT: &str = "select id, child_id, from_account, to_account, overlap_days, note, status, \
     requested_by, created_at, decided_by, decided_at from handover";

impl HandoverRow {
    fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: id(r, "id")?,
            child_id: id(r, "child_id")?,
            from_account: id(r, "from_account")?,
            to_account: id(r, "to_account")?,
            overlap_days: r.try_get("overlap_days")?,
            note: r.try_get("note")?,
            status: r.try_get("status")?,
            requested_by: id(r, "requested_by")?,
            created_at: r.try_get("created_at")?,
            decided_by: opt_id(r, "decided_by")?,
            decided_at: r.try_get("decided_at")?,
        })
    }
}

/// A decision on a handover: who, when, and (approval) the two memberships.
pub struct HandoverDecision<'a> {
    pub handover: HandoverId,
    pub by: AccountId,
    pub at: i64,
    /// `approved` or `declined`.
    pub status: &'static str,
    /// The successor's and the predecessor's memberships after an approval.
    pub members: &'a [MemberWrite],
}

impl Store {
    pub async fn get_handover(&self, handover: HandoverId) -> StoreResult<HandoverRow> {
        let row = sqlx::query(&format!("{SELECT} where id = $1"))
            .bind(handover.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        HandoverRow::decode(&row)
    }

    /// The child's handovers, oldest first.
    pub async fn list_handovers(&self, child: ChildId) -> StoreResult<Vec<HandoverRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} where child_id = $1 order by created_at, id"
        ))
        .bind(child.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(HandoverRow::decode).collect()
    }

    /// The open handovers from `account`, in every child, oldest first.
    pub async fn list_open_handovers_from(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<HandoverRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} where from_account = $1 and status = 'requested' order by created_at, id"
        ))
        .bind(account.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(HandoverRow::decode).collect()
    }
}

impl Writer {
    /// Opens handovers (one per child), each logged in its child's access
    /// log, all or none. `Conflict` when one of those members already has
    /// an open handover in that child.
    pub async fn insert_handovers(
        &mut self,
        rows: &[(HandoverRow, NewAccess<'_>)],
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        for (h, log) in rows {
            sqlx::query(
                "insert into handover (id, child_id, from_account, to_account, overlap_days, \
                 note, status, requested_by, created_at) \
                 values ($1, $2, $3, $4, $5, $6, 'requested', $7, $8)",
            )
            .bind(h.id.to_string())
            .bind(h.child_id.to_string())
            .bind(h.from_account.to_string())
            .bind(h.to_account.to_string())
            .bind(h.overlap_days)
            .bind(h.note.clone())
            .bind(h.requested_by.to_string())
            .bind(h.created_at)
            .execute(&mut *tx)
            .await
            .map_err(conflict)?;
            append_access(&mut tx, self.backend, &self.key, log).await?;
            let msg = ClusterMsg::Handover { handover: h.id };
            super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Approves or declines an open handover; on approval writes the
    /// memberships under one new consent version, which it returns.
    /// `Conflict` when the handover is no longer open.
    pub async fn decide_handover(
        &mut self,
        child: ChildId,
        d: &HandoverDecision<'_>,
        log: NewAccess<'_>,
    ) -> StoreResult<i64> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let moved = sqlx::query(
            "update handover set status = $2, decided_by = $3, decided_at = $4 \
             where id = $1 and status = 'requested'",
        )
        .bind(d.handover.to_string())
        .bind(d.status)
        .bind(d.by.to_string())
        .bind(d.at)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        let version = next_consent_version(&mut tx, child).await?;
        for m in d.members {
            upsert_membership(&mut tx, m, d.at, version).await?;
            let msg = ClusterMsg::Member {
                child,
                account: m.account_id,
            };
            super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        }
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        let msg = ClusterMsg::Handover {
            handover: d.handover,
        };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(version)
    }
}
