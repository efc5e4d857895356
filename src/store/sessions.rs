//! Sessions (with what ends them), refresh tokens and invitations. Every
//! end of a session carries a notification in its own transaction, so the
//! session's sockets close on every node.

use super::rows::{id, ACCOUNT_COLS};
use super::{AccountRow, Backend, ClusterMsg, SessionRow, Store, StoreError, StoreResult, Writer};
use crate::ids::{AccountId, SessionId};
use crate::vocab::EndReason;
use sqlx::Row;

const SESSION_COLS: &str =
    "id, account_id, purpose, created_at, last_used_at, user_agent, revoked_at, end_reason";

/// An invitation to store: the hash of its code, never the code.
pub struct NewInvitation<'a> {
    pub hash: &'a str,
    pub account: AccountId,
    pub created_by: AccountId,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn get_session(&self, session: SessionId) -> StoreResult<SessionRow> {
        let sql = format!("select {SESSION_COLS} from session where id = $1");
        let row = sqlx::query(&sql)
            .bind(session.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        SessionRow::decode(&row)
    }

    /// The live full sessions of an account, most recently used first.
    pub async fn list_live_sessions(&self, account: AccountId) -> StoreResult<Vec<SessionRow>> {
        let sql = format!(
            "select {SESSION_COLS} from session where account_id = $1 and revoked_at is null \
             and purpose = 'access' order by last_used_at desc, created_at desc"
        );
        let rows = sqlx::query(&sql)
            .bind(account.to_string())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(SessionRow::decode).collect()
    }

    /// Live sessions idle since before `idle_before` or created before
    /// `created_before` (both epoch ms): the ones to end as expired.
    pub async fn expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> StoreResult<Vec<SessionId>> {
        // Two selects, so that each uses its partial index.
        let rows = sqlx::query(
            "select id from session where revoked_at is null and last_used_at < $1 \
             union select id from session where revoked_at is null and created_at < $2",
        )
        .bind(idle_before)
        .bind(created_before)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(|r| id(r, "id")).collect()
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

    /// The account an open invitation is for (unused, not expired at `now`).
    pub async fn find_invitation(&self, hash: &str, now: i64) -> StoreResult<Option<AccountRow>> {
        let sql = format!(
            "select {ACCOUNT_COLS} from account where id = \
             (select account_id from invitation where hash = $1 and used_at is null \
              and expires_at > $2)"
        );
        let row = sqlx::query(&sql)
            .bind(hash)
            .bind(now)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(AccountRow::decode).transpose()
    }
}

impl Writer {
    pub async fn insert_session(&mut self, s: &SessionRow) -> StoreResult<()> {
        sqlx::query(
            "insert into session (id, account_id, purpose, created_at, last_used_at, user_agent) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.id.to_string())
        .bind(s.account_id.to_string())
        .bind(s.purpose.as_str())
        .bind(s.created_at)
        .bind(s.last_used_at)
        .bind(s.user_agent.clone())
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Moves `last_used_at` forward for each (session, time), in one transaction.
    pub async fn touch_sessions(&mut self, used: &[(SessionId, i64)]) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        for (s, at) in used {
            sqlx::query(
                "update session set last_used_at = $2 where id = $1 and last_used_at < $2 \
                 and revoked_at is null",
            )
            .bind(s.to_string())
            .bind(*at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
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

    /// Ends one session; false if it had ended already.
    pub async fn end_session(
        &mut self,
        s: SessionId,
        reason: EndReason,
        now: i64,
    ) -> StoreResult<Option<AccountId>> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let account: Option<String> = sqlx::query_scalar(
            "update session set revoked_at = $2, end_reason = $3 \
             where id = $1 and revoked_at is null returning account_id",
        )
        .bind(s.to_string())
        .bind(now)
        .bind(reason.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let account = match account {
            Some(a) => Some(
                a.parse::<AccountId>()
                    .map_err(|_| StoreError::Corrupt("a session's account id"))?,
            ),
            None => None,
        };
        if account.is_some() {
            let msg = ClusterMsg::Session { session: s, reason };
            super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        }
        tx.commit().await?;
        Ok(account)
    }

    /// Ends every live session of an account (but `keep`); returns them.
    pub async fn end_account_sessions(
        &mut self,
        a: AccountId,
        keep: Option<SessionId>,
        reason: EndReason,
        now: i64,
    ) -> StoreResult<Vec<SessionId>> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let (backend, node) = (self.backend, self.node.clone());
        let ended = end_sessions(&mut tx, backend, &node, a, keep, reason, now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    pub async fn insert_invitation(&mut self, i: &NewInvitation<'_>) -> StoreResult<()> {
        insert_invitation(&mut self.conn, i).await
    }

    /// Spends an open invitation and sets the password it was for, in one
    /// transaction; None if the code is unknown, spent or expired.
    pub async fn accept_invitation(
        &mut self,
        hash: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<Option<AccountId>> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        let row = sqlx::query(
            "update invitation set used_at = $2 \
             where hash = $1 and used_at is null and expires_at > $2 returning account_id",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account: AccountId = id(&row, "account_id")?;
        sqlx::query("update account set password_hash = $2 where id = $1")
            .bind(account.to_string())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(account))
    }
}

pub(super) async fn insert_invitation(
    conn: &mut sqlx::AnyConnection,
    i: &NewInvitation<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "insert into invitation (hash, account_id, created_by, created_at, expires_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(i.hash)
    .bind(i.account.to_string())
    .bind(i.created_by.to_string())
    .bind(i.created_at)
    .bind(i.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the live sessions of `a` except `keep`, inside the caller's
/// transaction, with one notification each.
pub(super) async fn end_sessions(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    node: &str,
    a: AccountId,
    keep: Option<SessionId>,
    reason: EndReason,
    now: i64,
) -> StoreResult<Vec<SessionId>> {
    let rows = sqlx::query(
        "update session set revoked_at = $3, end_reason = $4 \
         where account_id = $1 and id <> $2 and revoked_at is null returning id",
    )
    .bind(a.to_string())
    .bind(keep.map(|k| k.to_string()).unwrap_or_default())
    .bind(now)
    .bind(reason.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let ended: Vec<SessionId> = rows
        .iter()
        .map(|r| id(r, "id"))
        .collect::<StoreResult<_>>()?;
    for session in &ended {
        let msg = ClusterMsg::Session {
            session: *session,
            reason,
        };
        super::cluster::notify(tx, backend, node, msg).await?;
    }
    Ok(ended)
}
