//! Questions: which are answered (a reply by an addressee, or a done mark),
//! the done marks, and the open questions addressed to an account.

use std::collections::HashSet;

use super::entries::ENTRY_SELECT;
use super::rows::id;
use super::{ClusterMsg, EntryRow, Store, StoreResult, Writer};
use crate::ids::{AccountId, ChildId, EntryId};

/// At most this many open questions are listed in an inbox.
const INBOX_LIMIT: i64 = 500;

impl Store {
    /// The questions (origins) of `child` that are answered.
    pub async fn answered_questions(&self, child: ChildId) -> StoreResult<HashSet<EntryId>> {
        let rows = sqlx::query(
            "select answers as origin from entry where child_id = $1 and answers is not null \
             union select origin from entry_done where child_id = $1",
        )
        .bind(child.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(|r| id(r, "origin")).collect()
    }

    /// The latest revision of the entry whose first revision is `origin`.
    pub async fn latest_revision(
        &self,
        child: ChildId,
        origin: EntryId,
    ) -> StoreResult<Option<EntryRow>> {
        let sql = format!(
            "{ENTRY_SELECT} where e.child_id = $1 and (e.id = $2 or e.origin = $2) \
             order by e.revision desc limit 1"
        );
        let row = sqlx::query(&sql)
            .bind(child.to_string())
            .bind(origin.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(EntryRow::decode).transpose()
    }

    /// The latest revisions of the open questions addressed to `account`
    /// in the open notebooks where it is an active member, oldest first
    /// (whether the member still sees each one is for consent to say).
    pub async fn list_open_questions(&self, account: AccountId) -> StoreResult<Vec<EntryRow>> {
        // `addressees` holds whole ids separated by spaces: a substring
        // match of one id is that id.
        let sql = format!(
            "{ENTRY_SELECT} \
             join membership m on m.child_id = e.child_id and m.account_id = $1 \
             join child c on c.id = e.child_id \
             where e.needs_reply = 1 and m.status = 'active' \
             and c.closed_at is null and c.erased_at is null \
             and e.addressees like $2 \
             and not exists (select 1 from entry s \
                 where s.child_id = e.child_id and s.supersedes = e.id) \
             and not exists (select 1 from entry r \
                 where r.child_id = e.child_id and r.answers = coalesce(e.origin, e.id)) \
             and not exists (select 1 from entry_done d \
                 where d.origin = coalesce(e.origin, e.id)) \
             order by e.first_created_at, e.seq limit $3"
        );
        let rows = sqlx::query(&sql)
            .bind(account.to_string())
            .bind(format!("%{account}%"))
            .bind(INBOX_LIMIT)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(EntryRow::decode).collect()
    }
}

impl Writer {
    /// Marks a question done by `account`; false if it already had
    /// this account's mark. Other nodes are told.
    pub async fn mark_done(
        &mut self,
        child: ChildId,
        origin: EntryId,
        account: AccountId,
        at: i64,
    ) -> StoreResult<bool> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let done = sqlx::query(
            "insert into entry_done (origin, child_id, account_id, at) values ($1, $2, $3, $4) \
             on conflict (origin, account_id) do nothing",
        )
        .bind(origin.to_string())
        .bind(child.to_string())
        .bind(account.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let msg = ClusterMsg::Question { child, origin };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
