//! The administrators' security log: authentication events, written in
//! batches (one multi-row insert per flush) and read by id.

use sqlx::Row;

use super::{params, Store, StoreResult};

/// One security-log row to write.
#[derive(Clone, Debug)]
pub struct NewSecurityEvent {
    pub at: i64,
    pub event: &'static str,
    pub account_id: Option<String>,
    pub address: Option<String>,
    pub detail: String,
}

/// One security-log row as stored.
#[derive(Clone, Debug)]
pub struct SecurityRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub account_id: Option<String>,
    pub address: Option<String>,
    pub detail: String,
}

const COLS: usize = 5;

impl Store {
    /// Writes `rows` in one statement (one transaction).
    pub async fn insert_security(&self, rows: &[NewSecurityEvent]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let values: Vec<String> = (0..rows.len())
            .map(|i| format!("({})", params(i * COLS, COLS)))
            .collect();
        let sql = format!(
            "insert into security_log (at, event, account_id, address, detail) values {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in rows {
            q = q
                .bind(r.at)
                .bind(r.event)
                .bind(r.account_id.clone())
                .bind(r.address.clone())
                .bind(r.detail.clone());
        }
        let mut w = self.writer().await?;
        q.execute(&mut *w.conn).await?;
        Ok(())
    }

    /// Rows with id > `after`, oldest first.
    pub async fn list_security(&self, after: i64, limit: i64) -> StoreResult<Vec<SecurityRow>> {
        let rows = sqlx::query(
            "select id, at, event, account_id, address, detail from security_log \
             where id > $1 order by id limit $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SecurityRow {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    event: r.try_get("event")?,
                    account_id: r.try_get("account_id")?,
                    address: r.try_get("address")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
