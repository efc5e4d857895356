//! Checking the access log's chains (`renraku audit verify`) and carrying
//! the records chained before migration 0005 (plain SHA-256, marked
//! `legacy_chain`) over to the keyed chain.
//!
//! The carry-over runs once, when the server creates the chain key: each
//! child whose old records still form an unbroken SHA-256 chain is
//! re-chained under the key in one transaction; a child whose old chain is
//! already broken keeps its records as they are, so the break stays
//! visible. After that moment no whole legacy chain can exist: verification
//! therefore treats a legacy record that is not preceded by a break of its
//! own as one that was altered (an attacker who marked records legacy to
//! recompute them with SHA-256).

use sqlx::Row;

use super::chain::{chain_hash, legacy_hash, lock_heads, ChainKey, Fields};
use super::rows::id;
use super::{Store, StoreResult};
use crate::ids::ChildId;

/// Records read per query while walking a chain.
const PAGE: i64 = 5000;

/// One record as stored.
struct Stored {
    id: i64,
    at: i64,
    account: String,
    action: String,
    detail: String,
    hash: String,
    legacy: bool,
}

impl Stored {
    fn fields<'a>(&'a self, child: &str) -> Fields<'a> {
        Fields {
            child: child.to_owned(),
            at: self.at,
            account: self.account.clone(),
            action: &self.action,
            detail: &self.detail,
        }
    }
}

/// The walk along one chain, record by record.
#[derive(Default)]
struct Walk {
    prev: String,
    keyed_seen: bool,
    first_legacy: Option<i64>,
    broken: Option<i64>,
}

impl Walk {
    /// Checks the next record; false once the chain is broken.
    fn step(&mut self, key: &ChainKey, child: &str, r: &Stored) -> bool {
        let f = r.fields(child);
        let ok = if r.legacy {
            self.first_legacy.get_or_insert(r.id);
            // Old records only ever come before the keyed ones.
            !self.keyed_seen && legacy_hash(&self.prev, &f) == r.hash
        } else {
            self.keyed_seen = true;
            chain_hash(key, &self.prev, &f) == r.hash
        };
        if !ok {
            self.broken = Some(r.id);
            return false;
        }
        self.prev = r.hash.clone();
        true
    }

    /// The first broken record, once every record was stepped through.
    fn verdict(&self) -> Option<i64> {
        self.broken.or(self.first_legacy)
    }
}

async fn page(conn: &mut sqlx::AnyConnection, child: &str, after: i64) -> StoreResult<Vec<Stored>> {
    let rows = sqlx::query(
        "select id, at, account_id, action, detail, hash, legacy_chain from access_log \
         where child_id = $1 and id > $2 order by id limit $3",
    )
    .bind(child)
    .bind(after)
    .bind(PAGE)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Stored {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                account: r.try_get("account_id")?,
                action: r.try_get("action")?,
                detail: r.try_get("detail")?,
                hash: r.try_get("hash")?,
                legacy: r.try_get::<i64, _>("legacy_chain")? != 0,
            })
        })
        .collect()
}

impl Store {
    /// Every child, in id order (the chains to verify).
    pub async fn list_child_ids(&self) -> StoreResult<Vec<ChildId>> {
        let rows = sqlx::query("select id from child order by id")
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(|r| id(r, "id")).collect()
    }

    /// The id of the first broken record of `child`'s chain, if any.
    pub async fn verify_chain(&self, child: ChildId) -> StoreResult<Option<i64>> {
        let child = child.to_string();
        let mut conn = self.reader().await?;
        let mut walk = Walk::default();
        let mut after = 0;
        loop {
            let rows = page(&mut conn, &child, after).await?;
            for r in &rows {
                if !walk.step(&self.chain_key, &child, r) {
                    return Ok(walk.verdict());
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = last.id,
                _ => return Ok(walk.verdict()),
            }
        }
    }

    /// Re-chains, under the key, every child whose records are still
    /// chained with plain SHA-256 (see the module docs). Returns (children
    /// re-chained, children left as they were because their old chain is
    /// broken).
    pub async fn rechain_legacy(&self) -> StoreResult<(usize, Vec<ChildId>)> {
        let rows = sqlx::query("select distinct child_id from access_log where legacy_chain <> 0")
            .fetch_all(&mut *self.reader().await?)
            .await?;
        let children: Vec<ChildId> = rows
            .iter()
            .map(|r| id(r, "child_id"))
            .collect::<StoreResult<_>>()?;
        let (mut done, mut broken) = (0, Vec::new());
        for child in children {
            if self.rechain_child(child).await? {
                done += 1;
            } else {
                broken.push(child);
            }
        }
        Ok((done, broken))
    }

    /// One child's re-chaining, in one transaction under its row lock;
    /// false (nothing written) if its old chain is broken.
    async fn rechain_child(&self, child: ChildId) -> StoreResult<bool> {
        let mut w = self.writer().await?;
        let backend = w.backend;
        let key = w.key.clone();
        let mut tx = sqlx::Connection::begin(&mut *w.conn).await?;
        lock_heads(&mut tx, backend, "", &[(child, 0)]).await?;
        let name = child.to_string();
        let (mut legacy_prev, mut keyed_prev) = (String::new(), String::new());
        let mut after = 0;
        loop {
            let rows = page(&mut tx, &name, after).await?;
            for r in &rows {
                let f = r.fields(&name);
                // The old chain must hold up to the last old record.
                if r.legacy && legacy_hash(&legacy_prev, &f) != r.hash {
                    return Ok(false); // rolled back when `tx` drops
                }
                legacy_prev = r.hash.clone();
                let hash = chain_hash(&key, &keyed_prev, &f);
                sqlx::query("update access_log set hash = $1, legacy_chain = 0 where id = $2")
                    .bind(&hash)
                    .bind(r.id)
                    .execute(&mut *tx)
                    .await?;
                keyed_prev = hash;
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = last.id,
                _ => break,
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
