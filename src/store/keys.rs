//! The wrapped data keys, as `renraku keys rotate` reads and replaces them:
//! each child's (`child.wrapped_key`) and the server's own
//! (`server_key.wrapped`). A replacement is a compare-and-set: it writes
//! only over the exact value that was read, so a key that changed meanwhile
//! is never overwritten with a rewrap of its old value.

use sqlx::Row;

use super::rows::id;
use super::{Backend, Store, StoreResult};
use crate::ids::ChildId;

/// A row that holds a wrapped data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyHolder {
    Child(ChildId),
    /// A `server_key` row, by its id.
    Server(String),
}

impl std::fmt::Display for KeyHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Child(c) => write!(f, "child {c}"),
            Self::Server(s) => write!(f, "server key {s}"),
        }
    }
}

impl KeyHolder {
    fn select(&self) -> (&'static str, String) {
        match self {
            Self::Child(c) => (
                "select wrapped_key as wrapped from child where id = $1",
                c.to_string(),
            ),
            Self::Server(s) => ("select wrapped from server_key where id = $1", s.clone()),
        }
    }

    fn update(&self) -> (&'static str, String) {
        match self {
            Self::Child(c) => (
                "update child set wrapped_key = $1 where id = $2 and wrapped_key = $3",
                c.to_string(),
            ),
            Self::Server(s) => (
                "update server_key set wrapped = $1 where id = $2 and wrapped = $3",
                s.clone(),
            ),
        }
    }
}

impl Store {
    /// Every row holding a wrapped key: the server's, then the children in id order.
    pub async fn list_key_holders(&self) -> StoreResult<Vec<KeyHolder>> {
        let mut conn = self.reader().await?;
        let servers = sqlx::query("select id from server_key order by id")
            .fetch_all(&mut *conn)
            .await?;
        // An erased child has no key left to rewrap.
        let children = sqlx::query("select id from child where erased_at is null order by id")
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::with_capacity(servers.len() + children.len());
        for r in &servers {
            out.push(KeyHolder::Server(r.try_get("id")?));
        }
        for r in &children {
            out.push(KeyHolder::Child(id(r, "id")?));
        }
        Ok(out)
    }

    /// The wrapped key a row holds now; `None` if the row is gone.
    pub async fn get_wrapped_key(&self, holder: &KeyHolder) -> StoreResult<Option<Vec<u8>>> {
        let (sql, key) = holder.select();
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(row.map(|r| r.try_get("wrapped")).transpose()?)
    }

    /// Replaces a row's wrapped key, in its own transaction, only if it
    /// still holds `expected`; false if it did not (nothing was written).
    pub async fn swap_wrapped_key(
        &self,
        holder: &KeyHolder,
        expected: &[u8],
        new: &[u8],
    ) -> StoreResult<bool> {
        let (sql, key) = holder.update();
        let mut w = self.writer().await?;
        let done = sqlx::query(sql)
            .bind(new.to_vec())
            .bind(key)
            .bind(expected.to_vec())
            .execute(&mut *w.conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// PostgreSQL: how many other sessions on this database are listening
    /// for cluster notifications, as far as this role may see (a running
    /// node keeps one such session). Always 0 on SQLite.
    pub async fn count_cluster_listeners(&self) -> StoreResult<i64> {
        if self.backend != Backend::Postgres {
            return Ok(0);
        }
        let row = sqlx::query(
            "select count(*) as n from pg_stat_activity \
             where datname = current_database() and pid <> pg_backend_pid() \
             and lower(query) like 'listen%renraku%'",
        )
        .fetch_one(&mut *self.reader().await?)
        .await?;
        Ok(row.try_get("n")?)
    }
}
