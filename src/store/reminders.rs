//! Plan review reminders (due, claimed once) and the dated entries a
//! calendar is made of.

use sqlx::Row;

use super::entries::ENTRY_SELECT;
use super::rows::id;
use super::{EntryRow, Store, StoreResult, Writer};
use crate::ids::{AccountId, ChildId, EntryId};

/// A reminder that is due.
#[derive(Clone, Debug)]
pub struct ReminderRow {
    pub id: String,
    pub child_id: ChildId,
    pub entry_id: EntryId,
    pub days_before: i64,
}

impl Store {
    /// Unsent reminders due by `now`, oldest first.
    pub async fn due_reminders(&self, now: i64) -> StoreResult<Vec<ReminderRow>> {
        let rows = sqlx::query(
            "select id, child_id, entry_id, days_before from reminder \
             where sent_at is null and due_at <= $1 order by due_at limit 100",
        )
        .bind(now)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReminderRow {
                    id: r.try_get("id")?,
                    child_id: id(r, "child_id")?,
                    entry_id: id(r, "entry_id")?,
                    days_before: r.try_get("days_before")?,
                })
            })
            .collect()
    }

    /// When the next unsent reminder is due.
    pub async fn next_reminder(&self) -> StoreResult<Option<i64>> {
        let row = sqlx::query("select min(due_at) as t from reminder where sent_at is null")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(row.try_get("t")?)
    }

    /// The latest revisions of the plans and appointments in the open
    /// notebooks where `account` is an active member.
    pub async fn list_dated_entries(&self, account: AccountId) -> StoreResult<Vec<EntryRow>> {
        let sql = format!(
            "{ENTRY_SELECT} \
             join membership m on m.child_id = e.child_id and m.account_id = $1 \
             join child c on c.id = e.child_id \
             where e.kind in ('plan', 'appointment') and m.status = 'active' \
             and c.erased_at is null \
             and not exists (select 1 from entry s \
                 where s.child_id = e.child_id and s.supersedes = e.id) \
             order by e.child_id, e.seq"
        );
        let rows = sqlx::query(&sql)
            .bind(account.to_string())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(EntryRow::decode).collect()
    }
}

impl Writer {
    /// The unsent reminders of plan `origin` become `due` ((days before,
    /// due at) for revision `entry`).
    pub async fn replace_reminders(
        &mut self,
        child: ChildId,
        origin: EntryId,
        entry: EntryId,
        due: &[(i64, i64)],
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query("delete from reminder where child_id = $1 and origin = $2 and sent_at is null")
            .bind(child.to_string())
            .bind(origin.to_string())
            .execute(&mut *tx)
            .await?;
        for (days, at) in due {
            sqlx::query(
                "insert into reminder (id, child_id, origin, entry_id, days_before, due_at) \
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(child.to_string())
            .bind(origin.to_string())
            .bind(entry.to_string())
            .bind(*days)
            .bind(*at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims a due reminder; false if another run or node already did.
    pub async fn claim_reminder(&mut self, id: &str, now: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("update reminder set sent_at = $2 where id = $1 and sent_at is null")
                .bind(id)
                .bind(now)
                .execute(&mut *self.conn)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
