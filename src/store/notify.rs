//! Notification settings per membership: which entries push, and quiet hours.

use sqlx::Row;

use super::rows::id;
use super::{Store, StoreResult, Writer};
use crate::ids::{AccountId, ChildId};

/// One member's setting for one child (no row: every entry, no quiet hours).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyRow {
    pub account_id: AccountId,
    /// `all`, `addressed` or `none`.
    pub level: String,
    pub quiet_from: Option<String>,
    pub quiet_to: Option<String>,
}

impl Store {
    /// The settings of every member of `child` who has one.
    pub async fn list_notify(&self, child: ChildId) -> StoreResult<Vec<NotifyRow>> {
        let rows = sqlx::query(
            "select account_id, level, quiet_from, quiet_to from notify_pref where child_id = $1",
        )
        .bind(child.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotifyRow {
                    account_id: id(r, "account_id")?,
                    level: r.try_get("level")?,
                    quiet_from: r.try_get("quiet_from")?,
                    quiet_to: r.try_get("quiet_to")?,
                })
            })
            .collect()
    }
}

impl Writer {
    /// Sets a member's setting for a child (replacing any).
    pub async fn put_notify(
        &mut self,
        child: ChildId,
        row: &NotifyRow,
        at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into notify_pref (child_id, account_id, level, quiet_from, quiet_to, updated_at) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (child_id, account_id) do update set level = $3, quiet_from = $4, \
             quiet_to = $5, updated_at = $6",
        )
        .bind(child.to_string())
        .bind(row.account_id.to_string())
        .bind(row.level.clone())
        .bind(row.quiet_from.clone())
        .bind(row.quiet_to.clone())
        .bind(at)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }
}
