//! Children and memberships.

use super::chain::append_access;
use super::{
    conflict, ChildRow, MemberRow, MemberWrite, NewAccess, Store, StoreError, StoreResult, Writer,
};
use crate::ids::{AccountId, ChildId};

const MEMBER_SELECT: &str = "select m.child_id, m.account_id, m.role, m.status, m.categories, \
     m.can_post, m.purpose, m.history_from, m.expires_at, m.granted_by, m.last_read_seq, \
     a.display_name, a.display_sealed, a.profession, a.org_id, a.disabled_at, \
     m.version, c.consent_version, c.consent_transferred_at, c.closed_at, c.erased_at \
     from membership m join account a on a.id = m.account_id join child c on c.id = m.child_id";

impl Store {
    pub async fn get_child(&self, child: ChildId) -> StoreResult<ChildRow> {
        let row = sqlx::query(
            "select id, wrapped_key, profile, last_seq, created_at, consent_transferred_at, \
             closed_at from child where id = $1 and erased_at is null",
        )
        .bind(child.to_string())
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .ok_or(StoreError::NotFound)?;
        ChildRow::decode(&row)
    }

    pub async fn get_membership(
        &self,
        child: ChildId,
        account: AccountId,
    ) -> StoreResult<Option<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} where m.child_id = $1 and m.account_id = $2");
        let row = sqlx::query(&sql)
            .bind(child.to_string())
            .bind(account.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(MemberRow::decode).transpose()
    }

    pub async fn list_members(&self, child: ChildId) -> StoreResult<Vec<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} where m.child_id = $1 order by m.created_at");
        let rows = sqlx::query(&sql)
            .bind(child.to_string())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(MemberRow::decode).collect()
    }

    /// Every membership of an account (any status), with its child.
    pub async fn list_memberships_of(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<(MemberRow, ChildRow)>> {
        let sql = format!(
            "{MEMBER_SELECT} where m.account_id = $1 and m.status = 'active' order by m.created_at"
        );
        let rows = sqlx::query(&sql)
            .bind(account.to_string())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let m = MemberRow::decode(r)?;
            let c = self.get_child(m.child_id).await?;
            out.push((m, c));
        }
        Ok(out)
    }
}

impl Store {
    /// When each member first read up to `seq` or past it (members whose
    /// position moved there before read times were kept are absent).
    pub async fn read_times(&self, child: ChildId, seq: i64) -> StoreResult<Vec<(AccountId, i64)>> {
        let rows = sqlx::query(
            "select account_id, min(at) as at from read_mark \
             where child_id = $1 and seq >= $2 group by account_id",
        )
        .bind(child.to_string())
        .bind(seq)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    super::rows::id(r, "account_id")?,
                    sqlx::Row::try_get(r, "at")?,
                ))
            })
            .collect()
    }
}

impl Writer {
    /// Inserts a child with its first members (the guardians), in one transaction.
    pub async fn insert_child(
        &mut self,
        c: &ChildRow,
        created_by: AccountId,
        members: &[MemberWrite],
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query(
            "insert into child (id, wrapped_key, profile, last_seq, created_by, created_at) \
             values ($1, $2, $3, 0, $4, $5)",
        )
        .bind(c.id.to_string())
        .bind(c.wrapped_key.clone())
        .bind(c.profile.clone())
        .bind(created_by.to_string())
        .bind(c.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        for m in members {
            upsert_membership(&mut tx, m, c.created_at, 0).await?;
        }
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts or replaces a membership (keeping its read position) and
    /// logs it; returns the child's new consent version. Raising it takes
    /// the child's row lock, which a post's batch also takes: an entry
    /// committed after this change records this version or a later one.
    pub async fn upsert_membership(
        &mut self,
        m: &MemberWrite,
        log: NewAccess<'_>,
    ) -> StoreResult<i64> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let version = next_consent_version(&mut tx, m.child_id).await?;
        upsert_membership(&mut tx, m, log.at, version).await?;
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        let msg = super::ClusterMsg::Member {
            child: m.child_id,
            account: m.account_id,
        };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Passes the child's consent to its youth member, once: sets the time,
    /// raises the consent version, logs it and tells the other nodes.
    /// `Conflict` when it has passed already.
    pub async fn transfer_consent(
        &mut self,
        child: ChildId,
        youth: AccountId,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let moved = sqlx::query(
            "update child set consent_transferred_at = $2, consent_version = consent_version + 1 \
             where id = $1 and consent_transferred_at is null",
        )
        .bind(child.to_string())
        .bind(log.at)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        let msg = super::ClusterMsg::Member {
            child,
            account: youth,
        };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Raises the member's read position (never lowers it); returns the stored value.
    /// Moves the member's read position forward to `seq`; None (nothing
    /// written, nobody told) when it was there or further already.
    pub async fn set_last_read(
        &mut self,
        child: ChildId,
        account: AccountId,
        seq: i64,
    ) -> StoreResult<Option<i64>> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let moved = sqlx::query(
            "update membership set last_read_seq = $3 \
             where child_id = $1 and account_id = $2 and last_read_seq < $3",
        )
        .bind(child.to_string())
        .bind(account.to_string())
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Ok(None);
        }
        sqlx::query(
            "insert into read_mark (child_id, account_id, seq, at) values ($1, $2, $3, $4) \
             on conflict (child_id, account_id, seq) do nothing",
        )
        .bind(child.to_string())
        .bind(account.to_string())
        .bind(seq)
        .bind(crate::ids::Timestamp::now().millis())
        .execute(&mut *tx)
        .await?;
        let msg = super::ClusterMsg::Receipt {
            child,
            account,
            seq,
        };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(Some(seq))
    }
}

/// Raises the child's consent version (taking its row lock) and returns it.
pub(super) async fn next_consent_version(
    conn: &mut sqlx::AnyConnection,
    child: ChildId,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "update child set consent_version = consent_version + 1 where id = $1 \
         returning consent_version",
    )
    .bind(child.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

pub(super) async fn upsert_membership(
    conn: &mut sqlx::AnyConnection,
    m: &MemberWrite,
    now: i64,
    version: i64,
) -> StoreResult<()> {
    sqlx::query(
        "insert into membership (child_id, account_id, role, status, categories, can_post, \
         purpose, history_from, expires_at, granted_by, last_read_seq, created_at, updated_at, \
         version) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11, $12) \
         on conflict (child_id, account_id) do update set role = excluded.role, \
         status = excluded.status, categories = excluded.categories, \
         can_post = excluded.can_post, purpose = excluded.purpose, \
         history_from = excluded.history_from, expires_at = excluded.expires_at, \
         granted_by = excluded.granted_by, updated_at = excluded.updated_at, \
         version = excluded.version",
    )
    .bind(m.child_id.to_string())
    .bind(m.account_id.to_string())
    .bind(m.role.as_str())
    .bind(m.status.as_str())
    .bind(m.categories)
    .bind(i64::from(m.can_post))
    .bind(&m.purpose)
    .bind(m.history_from)
    .bind(m.expires_at)
    .bind(m.granted_by.map(|g| g.to_string()))
    .bind(now)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
