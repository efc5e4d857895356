//! Organizations, accounts, sessions, refresh tokens and the server key.

use super::rows::{id, OrgRow};
use super::{conflict, AccountRow, SessionRow, Store, StoreError, StoreResult, Writer};
use crate::ids::{AccountId, OrgId, SessionId};
use sqlx::Row;

const ACCOUNT_COLS: &str =
    "id, login, password_hash, display_name, display_sealed, kind, profession, org_id, \
     totp_secret, totp_pending, totp_last_step";

impl Store {
    pub async fn list_orgs(&self) -> StoreResult<Vec<OrgRow>> {
        let rows = sqlx::query("select * from org order by name")
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(OrgRow::decode).collect()
    }

    pub async fn get_org(&self, org: OrgId) -> StoreResult<OrgRow> {
        let row = sqlx::query("select * from org where id = $1")
            .bind(org.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        OrgRow::decode(&row)
    }

    pub async fn get_account(&self, account: AccountId) -> StoreResult<AccountRow> {
        let sql = format!("select {ACCOUNT_COLS} from account where id = $1");
        let row = sqlx::query(&sql)
            .bind(account.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        AccountRow::decode(&row)
    }

    pub async fn find_account_by_login(&self, login: &str) -> StoreResult<Option<AccountRow>> {
        let sql = format!("select {ACCOUNT_COLS} from account where login = $1");
        let row = sqlx::query(&sql)
            .bind(login)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(AccountRow::decode).transpose()
    }

    /// Accounts of the given kinds whose login or display name contains `query`.
    pub async fn search_accounts(
        &self,
        query: &str,
        professionals_only: bool,
    ) -> StoreResult<Vec<AccountRow>> {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let sql = format!(
            "select {ACCOUNT_COLS} from account \
             where (login like $1 escape '\\' or display_name like $1 escape '\\') \
             and ($2 = 0 or kind = 'professional') order by display_name limit 200"
        );
        let rows = sqlx::query(&sql)
            .bind(pattern)
            .bind(i64::from(professionals_only))
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(AccountRow::decode).collect()
    }

    pub async fn count_accounts(&self) -> StoreResult<i64> {
        let row = sqlx::query("select count(*) as n from account")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn get_session(&self, session: SessionId) -> StoreResult<SessionRow> {
        let row =
            sqlx::query("select id, account_id, purpose, revoked_at from session where id = $1")
                .bind(session.to_string())
                .fetch_optional(&mut *self.reader().await?)
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok(SessionRow {
            id: id(&row, "id")?,
            account_id: id(&row, "account_id")?,
            purpose: row.try_get("purpose")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }

    /// The session a refresh token belongs to, whether or not it was used.
    pub async fn find_refresh(&self, hash: &str) -> StoreResult<Option<(SessionId, bool)>> {
        let row = sqlx::query("select session_id, used_at from refresh_token where hash = $1")
            .bind(hash)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(|r| {
            let used: Option<i64> = r.try_get("used_at")?;
            Ok((id(&r, "session_id")?, used.is_some()))
        })
        .transpose()
    }

    pub async fn get_server_key(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("select wrapped from server_key where id = $1")
            .bind(name)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(row.map(|r| r.try_get("wrapped")).transpose()?)
    }
}

impl Writer {
    pub async fn insert_org(&mut self, o: &OrgRow, now: i64) -> StoreResult<()> {
        sqlx::query(
            "insert into org (id, name, field, location, summary, strengths, contact, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(o.id.to_string())
        .bind(&o.name)
        .bind(&o.field)
        .bind(&o.location)
        .bind(&o.summary)
        .bind(&o.strengths)
        .bind(&o.contact)
        .bind(now)
        .execute(&mut *self.conn)
        .await
        .map_err(conflict)?;
        Ok(())
    }

    pub async fn insert_account(&mut self, a: &AccountRow, now: i64) -> StoreResult<()> {
        sqlx::query(
            "insert into account (id, login, password_hash, display_name, display_sealed, kind, \
             profession, org_id, totp_last_step, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
        )
        .bind(a.id.to_string())
        .bind(&a.login)
        .bind(&a.password_hash)
        .bind(&a.display_name.clear)
        .bind(a.display_name.sealed.clone())
        .bind(a.kind.as_str())
        .bind(a.profession.clone())
        .bind(a.org_id.map(|o| o.to_string()))
        .bind(now)
        .execute(&mut *self.conn)
        .await
        .map_err(conflict)?;
        Ok(())
    }

    pub async fn set_totp_pending(&mut self, a: AccountId, sealed: Vec<u8>) -> StoreResult<()> {
        sqlx::query("update account set totp_pending = $2 where id = $1")
            .bind(a.to_string())
            .bind(sealed)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Makes the pending secret the enrolled one, consuming `step`.
    pub async fn confirm_totp(&mut self, a: AccountId, step: i64) -> StoreResult<()> {
        sqlx::query(
            "update account set totp_secret = totp_pending, totp_pending = null, \
             totp_last_step = $2 where id = $1 and totp_pending is not null",
        )
        .bind(a.to_string())
        .bind(step)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub async fn clear_totp(&mut self, a: AccountId) -> StoreResult<()> {
        sqlx::query("update account set totp_secret = null, totp_pending = null where id = $1")
            .bind(a.to_string())
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Records `step` as used; false if it (or a later one) already was, so a code works once.
    pub async fn use_totp_step(&mut self, a: AccountId, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "update account set totp_last_step = $2 where id = $1 and totp_last_step < $2",
        )
        .bind(a.to_string())
        .bind(step)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_session(&mut self, s: &SessionRow, now: i64) -> StoreResult<()> {
        sqlx::query(
            "insert into session (id, account_id, purpose, created_at) values ($1, $2, $3, $4)",
        )
        .bind(s.id.to_string())
        .bind(s.account_id.to_string())
        .bind(&s.purpose)
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub async fn insert_refresh(&mut self, hash: &str, s: SessionId, now: i64) -> StoreResult<()> {
        sqlx::query("insert into refresh_token (hash, session_id, created_at) values ($1, $2, $3)")
            .bind(hash)
            .bind(s.to_string())
            .bind(now)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Marks a refresh token spent; false if it was already spent (or unknown).
    pub async fn spend_refresh(&mut self, hash: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "update refresh_token set used_at = $2 where hash = $1 and used_at is null",
        )
        .bind(hash)
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_session(&mut self, s: SessionId, now: i64) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query("update session set revoked_at = $2 where id = $1 and revoked_at is null")
            .bind(s.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let msg = super::ClusterMsg::Session(s);
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_server_key(&mut self, name: &str, wrapped: Vec<u8>) -> StoreResult<()> {
        sqlx::query("insert into server_key (id, wrapped) values ($1, $2)")
            .bind(name)
            .bind(wrapped)
            .execute(&mut *self.conn)
            .await
            .map_err(conflict)?;
        Ok(())
    }
}
