//! Organizations, accounts and their credentials (password, TOTP, recovery
//! codes), and the server key. Sessions are in `sessions.rs`.

use super::rows::{OrgRow, ACCOUNT_COLS};
use super::sessions::end_sessions;
use super::{conflict, AccountRow, Store, StoreError, StoreResult, Writer};
use crate::ids::{AccountId, OrgId, SessionId};
use crate::vocab::EndReason;
use sqlx::Row;

/// An account as its administrators list it: with the expiry of its open
/// invitation, if one is waiting.
pub struct ManagedRow {
    pub account: AccountRow,
    pub invitation_expires_at: Option<i64>,
}

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

    /// The accounts an administrator manages: all (`org` None) or one
    /// organization's, by display name.
    pub async fn list_managed_accounts(&self, org: Option<OrgId>) -> StoreResult<Vec<ManagedRow>> {
        let sql = format!(
            "select {ACCOUNT_COLS}, \
             (select max(i.expires_at) from invitation i \
              where i.account_id = account.id and i.used_at is null) as invitation_expires_at \
             from account where ($1 = '' or org_id = $1) order by display_name, login"
        );
        let rows = sqlx::query(&sql)
            .bind(org.map(|o| o.to_string()).unwrap_or_default())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ManagedRow {
                    account: AccountRow::decode(r)?,
                    invitation_expires_at: r.try_get("invitation_expires_at")?,
                })
            })
            .collect()
    }

    /// Unused recovery codes of an account.
    pub async fn count_recovery_codes(&self, account: AccountId) -> StoreResult<i64> {
        let row = sqlx::query(
            "select count(*) as n from recovery_code where account_id = $1 and used_at is null",
        )
        .bind(account.to_string())
        .fetch_one(&mut *self.reader().await?)
        .await?;
        Ok(row.try_get("n")?)
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

    /// Replaces an organization's fields; `NotFound` for an unknown id.
    pub async fn update_org(&mut self, o: &OrgRow) -> StoreResult<()> {
        let done = sqlx::query(
            "update org set name = $2, field = $3, location = $4, summary = $5, \
             strengths = $6, contact = $7 where id = $1",
        )
        .bind(o.id.to_string())
        .bind(&o.name)
        .bind(&o.field)
        .bind(&o.location)
        .bind(&o.summary)
        .bind(&o.strengths)
        .bind(&o.contact)
        .execute(&mut *self.conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn insert_account(&mut self, a: &AccountRow, now: i64) -> StoreResult<()> {
        sqlx::query(
            "insert into account (id, login, password_hash, display_name, display_sealed, kind, \
             profession, org_id, org_admin, totp_last_step, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
        )
        .bind(a.id.to_string())
        .bind(&a.login)
        .bind(a.password_hash.clone().unwrap_or_default())
        .bind(&a.display_name.clear)
        .bind(a.display_name.sealed.clone())
        .bind(a.kind.as_str())
        .bind(a.profession.clone())
        .bind(a.org_id.map(|o| o.to_string()))
        .bind(i64::from(a.org_admin))
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

    /// Makes the pending secret the enrolled one, consuming `step`, with a
    /// new set of recovery codes (hashes); false if nothing was pending.
    pub async fn confirm_totp(
        &mut self,
        a: AccountId,
        step: i64,
        codes: &[String],
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let done = sqlx::query(
            "update account set totp_secret = totp_pending, totp_pending = null, \
             totp_last_step = $2 where id = $1 and totp_pending is not null",
        )
        .bind(a.to_string())
        .bind(step)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        replace_codes(&mut tx, a, codes, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A new set of recovery codes (hashes) in place of the old.
    pub async fn replace_recovery_codes(
        &mut self,
        a: AccountId,
        codes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        replace_codes(&mut tx, a, codes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spends one recovery code; false if it is unknown or was spent.
    pub async fn use_recovery_code(
        &mut self,
        a: AccountId,
        hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "update recovery_code set used_at = $3 \
             where hash = $2 and account_id = $1 and used_at is null",
        )
        .bind(a.to_string())
        .bind(hash)
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes TOTP and its recovery codes.
    pub async fn clear_totp(&mut self, a: AccountId) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        clear_second_factor(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new password; every session but `keep` ends. Returns the ended ones.
    pub async fn change_password(
        &mut self,
        a: AccountId,
        hash: &str,
        keep: SessionId,
        now: i64,
    ) -> StoreResult<Vec<SessionId>> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query("update account set password_hash = $2 where id = $1")
            .bind(a.to_string())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        let (backend, node) = (self.backend, self.node.clone());
        let ended = end_sessions(
            &mut tx,
            backend,
            &node,
            a,
            Some(keep),
            EndReason::Password,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Disables an account (a leaver): every session ends, its push
    /// subscriptions go. False if it was disabled already.
    pub async fn disable_account(
        &mut self,
        a: AccountId,
        now: i64,
    ) -> StoreResult<(bool, Vec<SessionId>)> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let done = sqlx::query(
            "update account set disabled_at = $2 where id = $1 and disabled_at is null",
        )
        .bind(a.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("delete from push_subscription where account_id = $1")
            .bind(a.to_string())
            .execute(&mut *tx)
            .await?;
        let (backend, node) = (self.backend, self.node.clone());
        let ended =
            end_sessions(&mut tx, backend, &node, a, None, EndReason::Disabled, now).await?;
        tx.commit().await?;
        Ok((done.rows_affected() == 1, ended))
    }

    pub async fn enable_account(&mut self, a: AccountId) -> StoreResult<()> {
        sqlx::query("update account set disabled_at = null where id = $1")
            .bind(a.to_string())
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Clears the password, TOTP and recovery codes, voids open
    /// invitations, ends every session, and stores the new invitation.
    pub async fn reset_account(
        &mut self,
        invitation: &super::NewInvitation<'_>,
    ) -> StoreResult<Vec<SessionId>> {
        let a = invitation.account;
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query("update account set password_hash = '' where id = $1")
            .bind(a.to_string())
            .execute(&mut *tx)
            .await?;
        clear_second_factor(&mut tx, a).await?;
        sqlx::query("delete from invitation where account_id = $1 and used_at is null")
            .bind(a.to_string())
            .execute(&mut *tx)
            .await?;
        super::sessions::insert_invitation(&mut tx, invitation).await?;
        let (backend, node) = (self.backend, self.node.clone());
        let now = invitation.created_at;
        let ended = end_sessions(&mut tx, backend, &node, a, None, EndReason::Reset, now).await?;
        tx.commit().await?;
        Ok(ended)
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

async fn replace_codes(
    tx: &mut sqlx::AnyConnection,
    a: AccountId,
    codes: &[String],
    now: i64,
) -> StoreResult<()> {
    sqlx::query("delete from recovery_code where account_id = $1")
        .bind(a.to_string())
        .execute(&mut *tx)
        .await?;
    for hash in codes {
        sqlx::query("insert into recovery_code (hash, account_id, created_at) values ($1, $2, $3)")
            .bind(hash)
            .bind(a.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn clear_second_factor(tx: &mut sqlx::AnyConnection, a: AccountId) -> StoreResult<()> {
    sqlx::query("update account set totp_secret = null, totp_pending = null where id = $1")
        .bind(a.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from recovery_code where account_id = $1")
        .bind(a.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}
