//! Passwords people choose themselves: changing one (with the current one;
//! every other session ends) and setting the first one from an invitation.
//! Both pass the same strength rules (`auth::password::check_strength`).

use serde::Deserialize;

use super::{Client, TokenPair};
use crate::auth::{codes, password};
use crate::domain::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::Timestamp;
use crate::store::AccountRow;
use crate::vocab::EndReason;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub code: String,
    pub password: String,
}

impl Core {
    /// The strength rules, with the account's login and name as what a
    /// guesser would try first.
    /// A password as the rules allow it (`field` names it in the error), hashed.
    pub(crate) async fn new_password_hash(
        &self,
        account: &AccountRow,
        field: &str,
        new: String,
    ) -> Result<String> {
        let name = self.name(account.id, &account.display_name);
        password::check_strength(field, &new, &account.login, &name)?;
        password::hash(new).await
    }

    /// `POST /me/password`: the calling session stays, every other ends
    /// (on every node). A wrong current password counts as a failed login.
    pub async fn change_password(
        &self,
        who: &Principal,
        input: PasswordChange,
        addr: &str,
    ) -> Result<()> {
        let account = self.store.get_account(who.account).await?;
        if let Some(retry_after) = self.throttle.blocked_for(&account.login, addr) {
            self.security_event(
                "rate_limited",
                Some(account.id),
                Some(addr),
                "password change",
            );
            return Err(Error::RateLimited { retry_after });
        }
        if !password::verify(input.current_password, account.password_hash.clone()).await? {
            self.throttle.record_failure(&account.login, addr);
            let why = "password change: wrong current password";
            self.security_event("login_failed", Some(account.id), Some(addr), why);
            return Err(Error::InvalidCredentials);
        }
        let hash = self
            .new_password_hash(&account, "new_password", input.new_password)
            .await?;
        let mut w = self.store.writer().await?;
        let ended = w
            .change_password(account.id, &hash, who.session, Timestamp::now().millis())
            .await?;
        drop(w);
        self.closed(&ended, EndReason::Password);
        let detail = format!("other sessions ended: count={}", ended.len());
        self.security_event("password_changed", Some(account.id), Some(addr), detail);
        self.sessions_ended(account.id, EndReason::Password, ended.len());
        Ok(())
    }

    /// `POST /auth/accept-invitation`: the invited person chooses a
    /// password; a weak one leaves the code good. Then as a login.
    pub async fn accept_invitation(
        &self,
        input: AcceptInput,
        client: &Client,
    ) -> Result<TokenPair> {
        let now = Timestamp::now().millis();
        let Some(hash) = codes::hash(&input.code) else {
            return Err(Error::InvalidCredentials);
        };
        let Some(account) = self.store.find_invitation(&hash, now).await? else {
            let why = "unknown, used or expired invitation code";
            self.security_event("invitation_failed", None, Some(&client.addr), why);
            return Err(Error::InvalidCredentials);
        };
        if account.disabled_at.is_some() {
            return Err(Error::InvalidCredentials);
        }
        let password_hash = self
            .new_password_hash(&account, "password", input.password)
            .await?;
        let mut w = self.store.writer().await?;
        let accepted = w.accept_invitation(&hash, &password_hash, now).await?;
        drop(w);
        if accepted != Some(account.id) {
            // Spent or expired between the two reads.
            return Err(Error::InvalidCredentials);
        }
        let account = self.store.get_account(account.id).await?;
        self.security_event(
            "invitation_accepted",
            Some(account.id),
            Some(&client.addr),
            "",
        );
        self.start_session(&account, client).await
    }
}
