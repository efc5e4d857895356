//! The store's error type, and the one mapping of unique violations.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Attachment files in the data dir.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not found")]
    NotFound,
    #[error("unique constraint")]
    Conflict,
    /// A remembered head no longer holds (another writer moved it).
    #[error("stale head")]
    Stale,
    #[error("corrupt row: {0}")]
    Corrupt(&'static str),
    #[error("unsafe database settings: {0}")]
    Unsafe(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database could not be reached (restart, failover, network): the
    /// operation did not commit and can be retried.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sqlx(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_),
            ) => true,
            // PostgreSQL: admin shutdown, crash shutdown, cannot connect now,
            // connection failures (classes 57P and 08).
            Self::Sqlx(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
            _ => false,
        }
    }
}

/// Turns a unique violation into `Conflict`, by error kind (SQLite has no constraint names).
pub(super) fn conflict(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
            return StoreError::Conflict;
        }
    }
    StoreError::Sqlx(e)
}
