//! The emergency card's versions: every `PUT` adds one, sealed by the
//! domain under associated data that binds the child and the version.

use super::chain::append_access;
use super::rows::id;
use super::{conflict, NewAccess, Store, StoreResult, Writer};
use crate::ids::{AccountId, ChildId};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One version of an emergency card (sealed).
#[derive(Clone, Debug)]
pub struct CardRow {
    pub version: i64,
    pub card: Vec<u8>,
    pub updated_by: AccountId,
    pub updated_at: i64,
}

impl CardRow {
    fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            version: r.try_get("version")?,
            card: r.try_get("card")?,
            updated_by: id(r, "updated_by")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

impl Store {
    /// The latest version of the child's card.
    pub async fn get_card(&self, child: ChildId) -> StoreResult<Option<CardRow>> {
        let row = sqlx::query(
            "select version, card, updated_by, updated_at from emergency_card_version \
             where child_id = $1 order by version desc limit 1",
        )
        .bind(child.to_string())
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        row.as_ref().map(CardRow::decode).transpose()
    }

    /// Every version of the child's card, newest first.
    pub async fn list_card_versions(&self, child: ChildId) -> StoreResult<Vec<CardRow>> {
        let rows = sqlx::query(
            "select version, card, updated_by, updated_at from emergency_card_version \
             where child_id = $1 order by version desc",
        )
        .bind(child.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(CardRow::decode).collect()
    }
}

impl Writer {
    /// The version the child's next card will have (read on the write
    /// connection: on one node, nothing else writes between this and
    /// [`Writer::put_card`]).
    pub async fn next_card_version(&mut self, child: ChildId) -> StoreResult<i64> {
        let row = sqlx::query(
            "select coalesce(max(version), 0) + 1 as next from emergency_card_version \
             where child_id = $1",
        )
        .bind(child.to_string())
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(row.try_get("next")?)
    }

    /// Adds a version of the card (earlier ones stay). `Conflict` when that
    /// version was taken meanwhile (another node, PostgreSQL).
    pub async fn put_card(
        &mut self,
        child: ChildId,
        version: i64,
        sealed: Vec<u8>,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query(
            "insert into emergency_card_version (child_id, version, card, updated_by, updated_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(child.to_string())
        .bind(version)
        .bind(sealed)
        .bind(log.account_id.to_string())
        .bind(log.at)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        tx.commit().await?;
        Ok(())
    }
}
