//! The access log's hash chain: each record's hash covers the one before
//! it in its child's chain, so a record removed or altered shows. The hash
//! is an HMAC-SHA256 under [`ChainKey`], a key kept in the data dir and
//! never in the database: write access to the database is not enough to
//! recompute a chain after altering it. (Records written before migration
//! 0005 used plain SHA-256; see `store/verify.rs` for how they are carried
//! over.)
//!
//! Every append, in a batch or alone, first takes the child's row lock
//! ([`lock_heads`]), so that writers on several nodes take turns per child,
//! and only then reads the chain's head. The one exception is SQLite's
//! one-trip batch, whose `begin immediate` already holds the database's only
//! write lock and which checks the heads it remembers instead of reading
//! them; a record appended here moves the head that check reads, so the
//! batch then fails as stale and reads the heads afresh.

use std::collections::HashMap;

use super::rows::id;
use super::{params, Backend, NewAccess, StoreError, StoreResult};
use crate::ids::ChildId;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::Row;
use zeroize::Zeroizing;

/// The key of the access log's chain (32 bytes or more, from the data dir).
pub struct ChainKey(Zeroizing<Vec<u8>>);

impl ChainKey {
    /// `None` for a key shorter than 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        (bytes.len() >= 32).then(|| Self(Zeroizing::new(bytes.to_vec())))
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

/// Each child's head as a write starts: its last seq, the hash of its last
/// access-log record and its consent version (which entries record).
pub(super) struct Heads(pub(super) HashMap<ChildId, (i64, String, i64)>);

impl Heads {
    /// The next seq of `child`, taken.
    pub(super) fn next_seq(&mut self, child: ChildId) -> StoreResult<i64> {
        let head = self
            .0
            .get_mut(&child)
            .ok_or(StoreError::Corrupt("child vanished during a batch"))?;
        head.0 += 1;
        Ok(head.0)
    }

    /// The consent version of `child` as the batch holds its row.
    pub(super) fn consent(&self, child: ChildId) -> StoreResult<i64> {
        self.0
            .get(&child)
            .map(|h| h.2)
            .ok_or(StoreError::Corrupt("child vanished during a batch"))
    }

    /// The chain hash of `log`, appended to its child's chain.
    pub(super) fn chain(&mut self, key: &ChainKey, log: &NewAccess<'_>) -> StoreResult<String> {
        let head = self
            .0
            .get_mut(&log.child_id)
            .ok_or(StoreError::Corrupt("child vanished during a batch"))?;
        head.1 = chain_hash(key, &head.1, &Fields::of(log));
        Ok(head.1.clone())
    }
}

/// Raises each child's `last_seq` by its count, locking its row, and
/// returns, per child, the seq before and its last access-log hash.
/// `prefix` runs first in the same call (SQLite's `begin immediate; `).
pub(super) async fn lock_heads(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    prefix: &str,
    counts: &[(ChildId, i64)],
) -> StoreResult<Heads> {
    if counts.is_empty() {
        return Err(StoreError::Corrupt("a batch without children"));
    }
    let n = counts.len();
    let cases: String = (0..n)
        .map(|i| format!(" when ${} then ${}", 2 * i + 1, 2 * i + 2))
        .collect();
    // Dialect: a PostgreSQL statement reads the snapshot taken when it
    // started. An update that waited for another node's transaction on a
    // child's row goes on from that row as committed, but a subquery in the
    // same statement does not see the records that transaction appended: the
    // head must be read by a later statement, once the lock is held. SQLite's
    // `begin immediate` holds the only write lock before anything is read,
    // so there one statement does both.
    let returning = match backend {
        Backend::Sqlite => format!("id, last_seq, consent_version, {HEAD_HASH}"),
        Backend::Postgres => "id, last_seq, consent_version".to_owned(),
    };
    let sql = format!(
        "{prefix}update child set last_seq = last_seq + case id{cases} else 0 end \
         where id in ({}) returning {returning}",
        params(2 * n, n)
    );
    let mut q = sqlx::query(&sql);
    for (child, count) in counts {
        q = q.bind(child.to_string()).bind(*count);
    }
    for (child, _) in counts {
        q = q.bind(child.to_string());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut heads = HashMap::new();
    for r in &rows {
        let child: ChildId = id(r, "id")?;
        let last: i64 = r.try_get("last_seq")?;
        let hash: Option<String> = match backend {
            Backend::Sqlite => r.try_get("hash")?,
            Backend::Postgres => None,
        };
        let count = counts
            .iter()
            .find(|(c, _)| *c == child)
            .map_or(0, |(_, n)| *n);
        let consent: i64 = r.try_get("consent_version")?;
        heads.insert(child, (last - count, hash.unwrap_or_default(), consent));
    }
    if heads.len() != n {
        return Err(StoreError::NotFound);
    }
    if backend == Backend::Postgres {
        read_hashes(conn, &mut heads).await?;
    }
    Ok(Heads(heads))
}

/// PostgreSQL: fills in the hash of each locked child's head.
async fn read_hashes(
    conn: &mut sqlx::AnyConnection,
    heads: &mut HashMap<ChildId, (i64, String, i64)>,
) -> StoreResult<()> {
    let sql = format!(
        "select id, {HEAD_HASH} from child where id in ({})",
        params(0, heads.len())
    );
    let mut q = sqlx::query(&sql);
    for child in heads.keys() {
        q = q.bind(child.to_string());
    }
    for r in q.fetch_all(&mut *conn).await? {
        let child: ChildId = id(&r, "id")?;
        if let Some(head) = heads.get_mut(&child) {
            head.1 = r.try_get::<Option<String>, _>("hash")?.unwrap_or_default();
        }
    }
    Ok(())
}

/// The hash of `child`'s last access-log record. A correlated `order by id
/// desc limit 1` walks the (child_id, id) index to its end; `max(id) …
/// group by` would scan every record of the child on SQLite.
const HEAD_HASH: &str = "(select l.hash from access_log l where l.child_id = child.id \
     order by l.id desc limit 1) as hash";

/// Appends one record outside the group commit, in the caller's
/// transaction, after the child's row lock (see the module docs).
pub(super) async fn append_access(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    key: &ChainKey,
    log: &NewAccess<'_>,
) -> StoreResult<()> {
    let mut heads = lock_heads(&mut *conn, backend, "", &[(log.child_id, 0)]).await?;
    let hash = heads.chain(key, log)?;
    sqlx::query(
        "insert into access_log (child_id, at, account_id, action, detail, hash) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(log.child_id.to_string())
    .bind(log.at)
    .bind(log.account_id.to_string())
    .bind(log.action)
    .bind(&log.detail)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a record's hash covers, besides the hash before it.
pub(super) struct Fields<'a> {
    pub(super) child: String,
    pub(super) at: i64,
    pub(super) account: String,
    pub(super) action: &'a str,
    pub(super) detail: &'a str,
}

impl<'a> Fields<'a> {
    fn of(log: &'a NewAccess<'_>) -> Fields<'a> {
        Fields {
            child: log.child_id.to_string(),
            at: log.at,
            account: log.account_id.to_string(),
            action: log.action,
            detail: &log.detail,
        }
    }
}

/// The parts of a record in the order they are hashed, each after 0x1f.
fn parts<'f>(f: &'f Fields<'_>, at: &'f str) -> [&'f str; 5] {
    [&f.child, at, &f.account, f.action, f.detail]
}

/// HMAC-SHA256 under `key` of (previous hash | child | at | account |
/// action | detail), hex: the chain since migration 0005.
pub(super) fn chain_hash(key: &ChainKey, prev: &str, f: &Fields<'_>) -> String {
    // A key of any length is accepted by HMAC; `from_bytes` insists on 32.
    let Ok(mut h) = <Hmac<Sha256> as Mac>::new_from_slice(&key.0) else {
        return String::new();
    };
    h.update(prev.as_bytes());
    let at = f.at.to_string();
    for part in parts(f, &at) {
        h.update(&[0x1f]);
        h.update(part.as_bytes());
    }
    hex(&h.finalize().into_bytes())
}

/// sha256(previous hash | child | at | account | action | detail), hex:
/// the unkeyed chain of the records written before migration 0005.
pub(super) fn legacy_hash(prev: &str, f: &Fields<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev);
    let at = f.at.to_string();
    for part in parts(f, &at) {
        h.update([0x1f]);
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
