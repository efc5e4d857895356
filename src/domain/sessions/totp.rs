//! The second factor: TOTP enrolment (with the password, or with the
//! enrolment-only token the policy hands out), confirmation that returns
//! ten recovery codes (shown once, stored hashed), new codes, removal
//! (throttled like login), and the check of a code at login.

use serde::Serialize;

use crate::auth::{codes, password, totp};
use crate::crypto::aad;
use crate::domain::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::Timestamp;
use crate::store::AccountRow;

const RECOVERY_CODES: usize = 10;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// `GET /me/totp`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpStatus {
    pub enrolled: bool,
    pub pending: bool,
    /// Whether the policy asks this account for a second factor.
    pub required: bool,
    pub recovery_codes_left: i64,
}

/// `POST /me/totp/confirm` and `POST /me/totp/recovery-codes`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// New recovery codes: the codes to show and the hashes to store.
fn new_codes() -> (Vec<String>, Vec<String>) {
    codes::recovery_codes(RECOVERY_CODES).into_iter().unzip()
}

impl Core {
    pub(super) async fn check_totp(
        &self,
        account: &AccountRow,
        sealed: &[u8],
        code: &str,
    ) -> Result<bool> {
        let secret = self
            .server_key
            .open(&aad::totp_secret(account.id), sealed)?;
        let Some(step) = totp::matching_step(&secret, &account.login, code)? else {
            return Ok(false);
        };
        let mut w = self.store.writer().await?;
        Ok(w.use_totp_step(account.id, step).await?)
    }

    /// The caller's password, for the changes that need it (throttled like
    /// login: a stolen access token cannot guess it).
    async fn require_password(
        &self,
        account: &AccountRow,
        given: Option<String>,
        addr: &str,
    ) -> Result<()> {
        let Some(given) = given else {
            return Err(Error::bad_request("password: required"));
        };
        if let Some(retry_after) = self.throttle.blocked_for(&account.login, addr) {
            self.security_event("rate_limited", Some(account.id), Some(addr), "TOTP change");
            return Err(Error::RateLimited { retry_after });
        }
        if !password::verify(given, account.password_hash.clone()).await? {
            self.throttle.record_failure(&account.login, addr);
            let why = "TOTP change: wrong password";
            self.security_event("login_failed", Some(account.id), Some(addr), why);
            return Err(Error::InvalidCredentials);
        }
        Ok(())
    }

    /// `GET /me/totp`.
    pub async fn totp_status(&self, who: &Principal) -> Result<TotpStatus> {
        let account = self.store.get_account(who.account).await?;
        Ok(TotpStatus {
            enrolled: account.totp_secret.is_some(),
            pending: account.totp_pending.is_some(),
            required: self.totp_required(account.kind),
            recovery_codes_left: self.store.count_recovery_codes(account.id).await?,
        })
    }

    /// `POST /me/totp`: a new pending secret. The password is needed unless
    /// the caller holds an enrolment token (it just gave it at login).
    pub async fn begin_totp(
        &self,
        who: &Principal,
        password: Option<String>,
        addr: &str,
    ) -> Result<TotpEnrollment> {
        let account = self.store.get_account(who.account).await?;
        if !who.enrolling {
            self.require_password(&account, password, addr).await?;
        }
        if account.totp_secret.is_some() {
            return Err(Error::Conflict(
                "TOTP is already enrolled; remove it first".into(),
            ));
        }
        let (bytes, secret, otpauth_uri) = totp::generate(&account.login)?;
        let sealed = self
            .server_key
            .seal(&aad::totp_secret(account.id), &bytes)?;
        let mut w = self.store.writer().await?;
        w.set_totp_pending(account.id, sealed).await?;
        Ok(TotpEnrollment {
            secret,
            otpauth_uri,
        })
    }

    /// `POST /me/totp/confirm`: the first valid code enrols the pending
    /// secret; the answer carries the recovery codes, once.
    pub async fn confirm_totp(&self, who: &Principal, code: &str) -> Result<RecoveryCodes> {
        let account = self.store.get_account(who.account).await?;
        let Some(pending) = &account.totp_pending else {
            return Err(Error::Conflict("no TOTP enrolment is pending".into()));
        };
        let secret = self
            .server_key
            .open(&aad::totp_secret(account.id), pending)?;
        match totp::matching_step(&secret, &account.login, code)? {
            Some(step) if step > account.totp_last_step => {
                let (shown, hashes) = new_codes();
                let mut w = self.store.writer().await?;
                let now = Timestamp::now().millis();
                if !w.confirm_totp(account.id, step, &hashes, now).await? {
                    return Err(Error::Conflict("no TOTP enrolment is pending".into()));
                }
                drop(w);
                self.security_event("totp_enabled", Some(account.id), None, "");
                Ok(RecoveryCodes {
                    recovery_codes: shown,
                })
            }
            _ => Err(Error::bad_request("code: not a valid current code")),
        }
    }

    /// `POST /me/totp/recovery-codes`: ten new codes in place of the old.
    pub async fn new_recovery_codes(
        &self,
        who: &Principal,
        password: String,
        addr: &str,
    ) -> Result<RecoveryCodes> {
        let account = self.store.get_account(who.account).await?;
        self.require_password(&account, Some(password), addr)
            .await?;
        if account.totp_secret.is_none() {
            return Err(Error::Conflict("TOTP is not enrolled".into()));
        }
        let (shown, hashes) = new_codes();
        let mut w = self.store.writer().await?;
        w.replace_recovery_codes(account.id, &hashes, Timestamp::now().millis())
            .await?;
        drop(w);
        let what = "new recovery codes";
        self.security_event("totp_changed", Some(account.id), Some(addr), what);
        Ok(RecoveryCodes {
            recovery_codes: shown,
        })
    }

    /// `DELETE /me/totp` with the password and a current code (or a
    /// recovery code); throttled like login.
    pub async fn remove_totp(
        &self,
        who: &Principal,
        password: String,
        code: &str,
        addr: &str,
    ) -> Result<()> {
        let account = self.store.get_account(who.account).await?;
        self.require_password(&account, Some(password), addr)
            .await?;
        if account.totp_secret.is_none() {
            return Err(Error::Conflict("TOTP is not enrolled".into()));
        }
        if self.totp_required(account.kind) {
            return Err(Error::forbidden(
                "the TOTP policy requires a second factor for this account",
            ));
        }
        let is_totp = code.trim().len() == 6 && code.trim().bytes().all(|b| b.is_ascii_digit());
        let second = if is_totp {
            (Some(code), None)
        } else {
            (None, Some(code))
        };
        if !self.second_factor(&account, second).await? {
            self.throttle.record_failure(&account.login, addr);
            let why = "TOTP removal: code missing or wrong";
            self.security_event("login_failed", Some(account.id), Some(addr), why);
            return Err(Error::TotpRequired);
        }
        let mut w = self.store.writer().await?;
        w.clear_totp(account.id).await?;
        drop(w);
        self.security_event("totp_disabled", Some(account.id), Some(addr), "");
        Ok(())
    }
}
