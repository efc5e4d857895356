//! An online, consistent copy of a SQLite data dir's database, for
//! `renraku backup`, taken while a server may be writing to it.

use sqlx::Connection;
use std::path::Path;
use std::str::FromStr;

use super::{StoreError, StoreResult};

/// Writes a consistent copy of the SQLite database `db` to `into` (which
/// must not exist) with `vacuum into`: one read transaction, so the copy is
/// the database as of one commit, whatever commits meanwhile; the server's
/// writers are not blocked (WAL). The connection is read-only and runs no
/// migration, so a backup never changes the database it copies.
pub async fn snapshot_sqlite(db: &Path, into: &Path) -> StoreResult<()> {
    sqlx::any::install_default_drivers();
    if !db.exists() {
        return Err(StoreError::Unsafe(format!(
            "{} does not exist: is this a SQLite data dir?",
            db.display()
        )));
    }
    let url = format!("sqlite://{}?mode=ro", db.display());
    let opts = sqlx::any::AnyConnectOptions::from_str(&url)?;
    let mut conn = sqlx::AnyConnection::connect_with(&opts).await?;
    // As patient as the server's connections with a checkpoint in progress.
    sqlx::query("pragma busy_timeout = 10000")
        .execute(&mut conn)
        .await?;
    let target = into.to_string_lossy().into_owned();
    let done = sqlx::query("vacuum into $1")
        .bind(target)
        .execute(&mut conn)
        .await;
    conn.close().await.ok();
    done?;
    Ok(())
}
