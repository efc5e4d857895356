//! PostgreSQL for the suite: the server it runs against (if any), a fresh
//! database per server, and where that database lives in the cluster.

use std::path::PathBuf;

/// The PostgreSQL server the suite runs against, when the test command set
/// one up (`RENRAKU_TEST_POSTGRES=postgres://user@host:port`); SQLite otherwise.
pub fn test_postgres() -> Option<String> {
    std::env::var("RENRAKU_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh, empty database on the test PostgreSQL server.
pub async fn fresh_database(base: &str) -> String {
    use sqlx::{Connection, Executor};
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = format!("{}/postgres", base.trim_end_matches('/'));
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    conn.execute(format!("create database {name}").as_str())
        .await
        .expect("create a test database");
    conn.close().await.ok();
    format!("{}/{name}", base.trim_end_matches('/'))
}

/// The directory of one database inside the cluster (`base/<oid>`).
pub(super) async fn database_dir(url: &str) -> PathBuf {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    let row =
        sqlx::query("select oid::int8 as oid from pg_database where datname = current_database()")
            .fetch_one(&mut conn)
            .await
            .expect("database oid");
    let oid: i64 = row.get("oid");
    conn.close().await.ok();
    PathBuf::from("base").join(oid.to_string())
}
