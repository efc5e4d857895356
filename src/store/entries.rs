//! Entries (append-only, per-child gap-free seq) and the hash-chained access log.

use super::rows::id;
use super::{AccessRow, EntryRow, Store, StoreResult};
use crate::ids::{ChildId, EntryId};
use sqlx::Row;

pub(super) const ENTRY_SELECT: &str =
    "select e.id, e.child_id, e.seq, e.author_id, a.display_name as author_name, \
     a.display_sealed as author_sealed, \
     e.category, e.kind, e.body, e.revision, e.supersedes, e.client_id, e.created_at, \
     e.first_created_at, e.consent_version, \
     e.addressees, e.needs_reply, e.reply_to, e.origin, e.answers \
     from entry e join account a on a.id = e.author_id";

/// Which entries a reader may see: categories (bit mask) and the earliest
/// time, compared with each entry's first revision's time.
#[derive(Clone, Copy, Debug)]
pub struct Visibility {
    pub categories: i64,
    pub history_from: i64,
}

impl Store {
    /// Visible entries with seq > `after`, ascending, at most `limit`.
    pub async fn list_entries(
        &self,
        child: ChildId,
        after: i64,
        limit: i64,
        vis: Visibility,
    ) -> StoreResult<Vec<EntryRow>> {
        let sql = format!(
            "{ENTRY_SELECT} where e.child_id = $1 and e.seq > $2 and (e.category & $3) != 0 \
             and e.first_created_at >= $4 order by e.seq limit $5"
        );
        let rows = sqlx::query(&sql)
            .bind(child.to_string())
            .bind(after)
            .bind(vis.categories)
            .bind(vis.history_from)
            .bind(limit)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(EntryRow::decode).collect()
    }

    /// Every visible entry (all revisions), ascending: what a search reads.
    pub async fn list_all_visible(
        &self,
        child: ChildId,
        vis: Visibility,
    ) -> StoreResult<Vec<EntryRow>> {
        let sql = format!(
            "{ENTRY_SELECT} where e.child_id = $1 and (e.category & $2) != 0 \
             and e.first_created_at >= $3 order by e.seq"
        );
        let rows = sqlx::query(&sql)
            .bind(child.to_string())
            .bind(vis.categories)
            .bind(vis.history_from)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(EntryRow::decode).collect()
    }

    pub async fn count_visible_after(
        &self,
        child: ChildId,
        after: i64,
        vis: Visibility,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "select count(*) as n from entry where child_id = $1 and seq > $2 \
             and (category & $3) != 0 and first_created_at >= $4",
        )
        .bind(child.to_string())
        .bind(after)
        .bind(vis.categories)
        .bind(vis.history_from)
        .fetch_one(&mut *self.reader().await?)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn get_entry(&self, child: ChildId, entry: EntryId) -> StoreResult<Option<EntryRow>> {
        let sql = format!("{ENTRY_SELECT} where e.child_id = $1 and e.id = $2");
        let row = sqlx::query(&sql)
            .bind(child.to_string())
            .bind(entry.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(EntryRow::decode).transpose()
    }

    /// Whether a later revision of `entry` exists.
    pub async fn is_superseded(&self, child: ChildId, entry: EntryId) -> StoreResult<bool> {
        let row =
            sqlx::query("select count(*) as n from entry where child_id = $1 and supersedes = $2")
                .bind(child.to_string())
                .bind(entry.to_string())
                .fetch_one(&mut *self.reader().await?)
                .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Access log of a child, oldest first, records with id > `after`.
    pub async fn list_access(
        &self,
        child: ChildId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, AccessRow)>> {
        let rows = sqlx::query(
            "select l.id, l.at, l.account_id, a.display_name, a.display_sealed, l.action, l.detail \
             from access_log l join account a on a.id = l.account_id \
             where l.child_id = $1 and l.id > $2 order by l.id limit $3",
        )
        .bind(child.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    AccessRow {
                        at: r.try_get("at")?,
                        account_id: id(r, "account_id")?,
                        display_name: super::rows::name(r, "display_name", "display_sealed")?,
                        action: r.try_get("action")?,
                        detail: r.try_get("detail")?,
                    },
                ))
            })
            .collect()
    }
}
