//! Sessions: login (argon2id, throttled, TOTP second factor), refresh with
//! rotation and reuse detection, logout that closes sockets at once, the
//! check of every access token against its server-side session, and TOTP
//! enrolment.

use serde::{Deserialize, Serialize};

use super::{Account, Core, Principal};
use crate::auth::token::{self, TokenUse};
use crate::auth::{password, totp};
use crate::crypto::aad;
use crate::error::{Error, Result};
use crate::hub::close;
use crate::ids::{AccountId, SessionId, Timestamp};
use crate::store::{AccountRow, SessionRow};
use crate::vocab::AccountKind;

const ENROLL_TOKEN_TTL: i64 = 600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub login: String,
    pub password: String,
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub account: Account,
}

#[derive(Serialize)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
}

impl Core {
    /// `POST /auth/login`. `addr` is the client address for throttling.
    pub async fn login(&self, input: LoginInput, addr: &str) -> Result<TokenPair> {
        if self.throttle.is_blocked(&input.login, addr) {
            return Err(Error::RateLimited);
        }
        let account = self.store.find_account_by_login(&input.login).await?;
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let ok = password::verify(input.password, stored).await?;
        let Some(account) = account.filter(|_| ok) else {
            self.throttle.record_failure(&input.login, addr);
            return Err(Error::InvalidCredentials);
        };
        if let Some(sealed) = &account.totp_secret {
            let Some(code) = input.totp.as_deref() else {
                return Err(Error::TotpRequired);
            };
            if !self.check_totp(&account, sealed, code).await? {
                self.throttle.record_failure(&input.login, addr);
                return Err(Error::TotpRequired);
            }
        } else if self.settings.require_totp_for_professionals
            && account.kind == AccountKind::Professional
        {
            let session = self.new_session(account.id, "enroll").await?;
            let enrollment_token =
                self.tokens
                    .issue(account.id, session, TokenUse::Enroll, ENROLL_TOKEN_TTL)?;
            return Err(Error::TotpEnrollmentRequired { enrollment_token });
        }
        self.throttle.clear_account(&input.login);
        let session = self.new_session(account.id, "access").await?;
        self.issue_pair(&account, session).await
    }

    async fn new_session(&self, account: AccountId, purpose: &str) -> Result<SessionId> {
        let s = SessionRow {
            id: SessionId::new(),
            account_id: account,
            purpose: purpose.into(),
            revoked_at: None,
        };
        let mut w = self.store.writer().await?;
        w.insert_session(&s, Timestamp::now().millis()).await?;
        Ok(s.id)
    }

    async fn issue_pair(&self, account: &AccountRow, session: SessionId) -> Result<TokenPair> {
        let ttl = self.settings.access_token_ttl;
        let access_token = self
            .tokens
            .issue(account.id, session, TokenUse::Access, ttl)?;
        let (refresh_token, hash) = token::new_refresh_token();
        let mut w = self.store.writer().await?;
        w.insert_refresh(&hash, session, Timestamp::now().millis())
            .await?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            expires_in: ttl,
            account: Account::of(self, account),
        })
    }

    /// `POST /auth/refresh`: single use; a spent token revokes its whole session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let hash = token::hash_refresh(refresh_token);
        let mut w = self.store.writer().await?;
        let spent_now = w.spend_refresh(&hash, Timestamp::now().millis()).await?;
        drop(w);
        let Some((session, _)) = self.store.find_refresh(&hash).await? else {
            return Err(Error::Unauthorized);
        };
        if !spent_now {
            // Reuse: someone holds a copy of a rotated token. End the session.
            tracing::warn!(%session, "refresh token reuse; revoking the session");
            self.revoke_session(session).await?;
            return Err(Error::Unauthorized);
        }
        let s = self.store.get_session(session).await?;
        if s.revoked_at.is_some() || s.purpose != "access" {
            return Err(Error::Unauthorized);
        }
        let account = self.store.get_account(s.account_id).await?;
        self.issue_pair(&account, session).await
    }

    /// `POST /auth/logout`.
    pub async fn logout(&self, who: &Principal) -> Result<()> {
        self.revoke_session(who.session).await
    }

    async fn revoke_session(&self, session: SessionId) -> Result<()> {
        let mut w = self.store.writer().await?;
        w.revoke_session(session, Timestamp::now().millis()).await?;
        drop(w);
        self.hub.close_session(session, close::UNAUTHORIZED);
        Ok(())
    }

    /// Checks an access token: signature and claims, then the live session.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal> {
        self.authenticate_as(bearer, TokenUse::Access).await
    }

    /// An access token, or one good only for TOTP enrolment.
    pub async fn authenticate_for_enrollment(&self, bearer: &str) -> Result<Principal> {
        match self.authenticate_as(bearer, TokenUse::Access).await {
            Err(Error::Unauthorized) => self.authenticate_as(bearer, TokenUse::Enroll).await,
            other => other,
        }
    }

    async fn authenticate_as(&self, bearer: &str, allowed: TokenUse) -> Result<Principal> {
        let claims = self.tokens.verify(bearer)?;
        if claims.typ != allowed {
            return Err(Error::Unauthorized);
        }
        let session = match self.store.get_session(claims.sid).await {
            Ok(s) => s,
            Err(crate::store::StoreError::NotFound) => return Err(Error::Unauthorized),
            Err(e) => return Err(e.into()),
        };
        if session.revoked_at.is_some() || session.account_id != claims.sub {
            return Err(Error::Unauthorized);
        }
        let account = self.store.get_account(claims.sub).await?;
        Ok(Principal {
            account: account.id,
            session: session.id,
            kind: account.kind,
            profession: account.profession,
        })
    }

    /// Whether a session is still live (open sockets re-check on demand).
    pub async fn session_live(&self, session: SessionId) -> Result<bool> {
        Ok(self.store.get_session(session).await?.revoked_at.is_none())
    }

    async fn check_totp(&self, account: &AccountRow, sealed: &[u8], code: &str) -> Result<bool> {
        let secret = self
            .server_key
            .open(&aad::totp_secret(account.id), sealed)?;
        let Some(step) = totp::matching_step(&secret, &account.login, code)? else {
            return Ok(false);
        };
        let mut w = self.store.writer().await?;
        Ok(w.use_totp_step(account.id, step).await?)
    }

    /// `POST /me/totp`: a new pending secret.
    pub async fn begin_totp(&self, who: &Principal) -> Result<TotpEnrollment> {
        let account = self.store.get_account(who.account).await?;
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

    /// `POST /me/totp/confirm`: the first valid code enrols the pending secret.
    pub async fn confirm_totp(&self, who: &Principal, code: &str) -> Result<()> {
        let account = self.store.get_account(who.account).await?;
        let Some(pending) = &account.totp_pending else {
            return Err(Error::Conflict("no TOTP enrolment is pending".into()));
        };
        let secret = self
            .server_key
            .open(&aad::totp_secret(account.id), pending)?;
        match totp::matching_step(&secret, &account.login, code)? {
            Some(step) if step > account.totp_last_step => {
                let mut w = self.store.writer().await?;
                w.confirm_totp(account.id, step).await?;
                Ok(())
            }
            _ => Err(Error::bad_request("code: not a valid current code")),
        }
    }

    /// `DELETE /me/totp` with the password and a current code.
    pub async fn remove_totp(&self, who: &Principal, password: String, code: &str) -> Result<()> {
        let account = self.store.get_account(who.account).await?;
        let Some(sealed) = &account.totp_secret else {
            return Err(Error::Conflict("TOTP is not enrolled".into()));
        };
        if !password::verify(password, Some(account.password_hash.clone())).await? {
            return Err(Error::InvalidCredentials);
        }
        if self.settings.require_totp_for_professionals && account.kind == AccountKind::Professional
        {
            return Err(Error::forbidden("TOTP is mandatory for professionals"));
        }
        if !self.check_totp(&account, sealed, code).await? {
            return Err(Error::TotpRequired);
        }
        let mut w = self.store.writer().await?;
        w.clear_totp(account.id).await?;
        Ok(())
    }
}
