//! The only place with SQL. One query layer over sqlx's `Any` driver so that
//! SQLite (the embedded default) and PostgreSQL share every query: `$n`
//! placeholders, ids and times made in Rust (times as epoch milliseconds),
//! `on conflict`, `returning`. Dialect differences are explicit matches on
//! [`Backend`].
//!
//! Writes go through [`Writer`], one connection at a time: a writer holds
//! the database's single write connection from its transaction's start until
//! the caller has published what it committed, so that live fan-out happens
//! in commit order.

mod accounts;
mod children;
mod emergency;
mod entries;
mod rows;

pub use emergency::{AlertRow, ContactRow, DeliveryRow, Notified, PushSubRow};
pub use entries::Visibility;
pub use rows::*;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor, Row};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("not found")]
    NotFound,
    #[error("unique constraint")]
    Conflict,
    #[error("corrupt row: {0}")]
    Corrupt(&'static str),
    #[error("unsafe database settings: {0}")]
    Unsafe(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Turns a unique violation into `Conflict`, by error kind (SQLite has no constraint names).
fn conflict(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
            return StoreError::Conflict;
        }
    }
    StoreError::Sqlx(e)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
}

/// Exclusive use of the write connection; see the module docs.
pub struct Writer {
    conn: PoolConnection<Any>,
}

const SQLITE_PRAGMAS: &str = "pragma journal_mode = wal; pragma synchronous = full; \
     pragma foreign_keys = on; pragma busy_timeout = 10000;";

impl Store {
    /// Connects (creating the SQLite file if needed), applies pragmas, migrates
    /// and asserts durability settings.
    pub async fn open(data_dir: &Path, url: Option<&str>) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let url = match url {
            Some(u) => u.to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("renraku.db").display()
            ),
        };
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Postgres {
            return Err(StoreError::Unsafe(
                "PostgreSQL is not supported yet by this version".into(),
            ));
        }
        let opts = AnyConnectOptions::from_str(&url)?;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
        };
        // One write connection: SQLite has one writer anyway, and holding it
        // orders commits and their fan-out.
        let write = pool(1).connect_with(opts.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = pool(8).connect_with(opts).await?;
        let store = Self {
            backend,
            read,
            write,
        };
        store.assert_durable().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Refuses to run unless every commit is durable (WAL + synchronous FULL).
    async fn assert_durable(&self) -> StoreResult<()> {
        for pool in [&self.write, &self.read] {
            let mut conn = pool.acquire().await?;
            let mode: String = sqlx::query("pragma journal_mode")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            let sync: i64 = sqlx::query("pragma synchronous")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if !mode.eq_ignore_ascii_case("wal") || sync != 2 {
                return Err(StoreError::Unsafe(format!(
                    "SQLite must run with journal_mode=wal and synchronous=full (got {mode}, {sync})"
                )));
            }
        }
        Ok(())
    }

    pub async fn writer(&self) -> StoreResult<Writer> {
        Ok(Writer {
            conn: self.write.acquire().await?,
        })
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").fetch_one(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}
