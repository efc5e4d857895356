//! Sessions: login (argon2id, throttled, a second factor by policy),
//! invitations accepted, refresh with rotation and reuse detection, the
//! check of every access token against its live session, and every way a
//! session ends (logout, "end this one", "end all", expiry, a password
//! change, a disabled or reset account), each closing its sockets at once.
//!
//! # Layout
//! - `activity`: last use per session, and the sweep that ends expired ones;
//! - `password`: password changes and accepting an invitation;
//! - `totp`: the second factor (enrolment, recovery codes, removal).

use serde::{Deserialize, Serialize};

use super::{Account, Core, Principal};
use crate::auth::pool::Lane;
use crate::auth::token::{self, TokenUse};
use crate::auth::{codes, password};
use crate::config::TotpPolicy;
use crate::error::{Error, Result};
use crate::hub::close;
use crate::ids::{AccountId, SessionId, Timestamp};
use crate::store::{AccountRow, SessionRow, StoreError};
use crate::vocab::{AccountKind, EndReason, SessionPurpose};

mod activity;
mod device;
mod password_change;
mod totp;

pub use activity::{session_sweep_loop, Activity};
pub use device::SEPARATOR as DEVICE_TOKEN_SEPARATOR;
pub use password_change::{AcceptInput, PasswordChange};
pub use totp::{RecoveryCodes, TotpEnrollment, TotpStatus};

const ENROLL_TOKEN_TTL: i64 = 600;
/// The `User-Agent` kept with a session, in characters.
const USER_AGENT_CHARS: usize = 200;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub login: String,
    pub password: String,
    #[serde(default)]
    pub totp: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// Who is logging in, as the transport sees them.
pub struct Client {
    /// The address throttling counts failures against.
    pub addr: String,
    pub user_agent: Option<String>,
    /// The browser's device tokens (the `renraku_device` cookie).
    pub device_tokens: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub account: Account,
    /// The `renraku_device` cookie to set after a login (never in the body).
    #[serde(skip)]
    pub device_cookie: Option<String>,
}

/// `GET /me/sessions`: one live session, never its tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: SessionId,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// The reason a socket's close frame gives when its session ends.
fn close_reason(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Expired => "session expired",
        _ => "session ended",
    }
}

impl Core {
    /// Whether the policy asks this kind of account for a second factor.
    fn totp_required(&self, kind: AccountKind) -> bool {
        match self.settings.totp_policy {
            TotpPolicy::Optional => false,
            TotpPolicy::Professionals => {
                matches!(kind, AccountKind::Professional | AccountKind::Admin)
            }
            TotpPolicy::All => true,
        }
    }

    /// `POST /auth/login`, counted by outcome for the metrics.
    pub async fn login(&self, input: LoginInput, client: &Client) -> Result<TokenPair> {
        let result = self.try_login(input, client).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(Error::InvalidCredentials) => "bad_credentials",
            Err(Error::TotpRequired) => "totp_required",
            Err(Error::TotpEnrollmentRequired { .. }) => "enrolment_required",
            Err(Error::RateLimited { .. }) => "rate_limited",
            Err(Error::Busy { .. }) => "busy",
            Err(_) => "error",
        };
        metrics::counter!("renraku_logins_total", "outcome" => outcome).increment(1);
        result
    }

    async fn try_login(&self, input: LoginInput, client: &Client) -> Result<TokenPair> {
        let known = self
            .known_device_account(&client.device_tokens, &input.login)
            .await?;
        let known_device = known.is_some();
        let blocked = if known_device {
            self.throttle.blocked_for_device(&input.login, &client.addr)
        } else {
            self.throttle.blocked_for(&input.login, &client.addr)
        };
        if let Some(retry_after) = blocked {
            self.note_login_limited(known.as_ref(), &input.login, &client.addr)
                .await;
            return Err(Error::RateLimited { retry_after });
        }
        // A known browser's account was read already.
        let account = match known {
            Some(a) => Some(a),
            None => self.store.find_account_by_login(&input.login).await?,
        };
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let lane = if known_device {
            Lane::Known
        } else {
            Lane::Other
        };
        let ok = password::verify_in(lane, input.password, stored).await?;
        let addr = Some(client.addr.as_str());
        let matched = account.as_ref().map(|a| a.id);
        let Some(account) = account.filter(|_| ok) else {
            self.throttle.record_failure(&input.login, &client.addr);
            let (who, why) = match matched {
                Some(id) => (Some(id), "wrong password"),
                None => (None, "unknown login"),
            };
            self.security_event("login_failed", who, addr, why);
            return Err(Error::InvalidCredentials);
        };
        if account.disabled_at.is_some() {
            self.security_event("login_failed", Some(account.id), addr, "account disabled");
            return Err(Error::InvalidCredentials);
        }
        let second = (input.totp.as_deref(), input.recovery_code.as_deref());
        if !self.second_factor(&account, second).await? {
            self.throttle.record_failure(&input.login, &client.addr);
            let why = "second factor missing or wrong";
            self.security_event("login_failed", Some(account.id), addr, why);
            return Err(Error::TotpRequired);
        }
        if input.recovery_code.is_some() && account.totp_secret.is_some() {
            self.security_event("recovery_code_used", Some(account.id), addr, "");
        }
        // A known browser's success leaves the count of others' failures
        // alone: they stay locked out however often the owner logs in.
        if !known_device {
            self.throttle.clear_account(&input.login);
        }
        let started = self.start_session(&account, client).await;
        let detail = match &started {
            Ok(_) => "",
            Err(Error::TotpEnrollmentRequired { .. }) => "TOTP enrolment required",
            Err(_) => return started,
        };
        self.security_event("login", Some(account.id), addr, detail);
        started
    }

    /// A login refused by the throttle, for the security log: the account
    /// when the login names one (one indexed read), never the login string
    /// itself (it may be a mistyped password).
    async fn note_login_limited(&self, known: Option<&AccountRow>, login: &str, addr: &str) {
        let account = match known {
            Some(a) => Some(a.id),
            None => self
                .store
                .find_account_by_login(login)
                .await
                .ok()
                .flatten()
                .map(|a| a.id),
        };
        self.security_event("rate_limited", account, Some(addr), "login");
    }

    /// The second factor of a login: true when TOTP is not enrolled, or a
    /// TOTP code or an unused recovery code is right.
    async fn second_factor(
        &self,
        account: &AccountRow,
        (code, recovery): (Option<&str>, Option<&str>),
    ) -> Result<bool> {
        let Some(sealed) = &account.totp_secret else {
            return Ok(true);
        };
        match (code, recovery) {
            (_, Some(recovery)) => {
                let Some(hash) = codes::hash(recovery) else {
                    return Ok(false);
                };
                let mut w = self.store.writer().await?;
                Ok(
                    w.use_recovery_code(account.id, &hash, Timestamp::now().millis())
                        .await?,
                )
            }
            (Some(code), None) => self.check_totp(account, sealed, code).await,
            (None, None) => Ok(false),
        }
    }

    /// A new session after the credentials were checked: the token pair, or
    /// an enrolment-only token when the policy asks for TOTP not enrolled yet.
    async fn start_session(&self, account: &AccountRow, client: &Client) -> Result<TokenPair> {
        if account.totp_secret.is_none() && self.totp_required(account.kind) {
            let session = self
                .new_session(account.id, SessionPurpose::Enroll, client)
                .await?;
            let enrollment_token =
                self.tokens
                    .issue(account.id, session, TokenUse::Enroll, ENROLL_TOKEN_TTL)?;
            return Err(Error::TotpEnrollmentRequired { enrollment_token });
        }
        let session = self
            .new_session(account.id, SessionPurpose::Access, client)
            .await?;
        let mut pair = self.issue_pair(account, session).await?;
        pair.device_cookie = Some(self.device_cookie(&client.device_tokens, account.id)?);
        Ok(pair)
    }

    async fn new_session(
        &self,
        account: AccountId,
        purpose: SessionPurpose,
        client: &Client,
    ) -> Result<SessionId> {
        let now = Timestamp::now().millis();
        let s = SessionRow {
            id: SessionId::new(),
            account_id: account,
            purpose,
            created_at: now,
            last_used_at: now,
            user_agent: client
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(USER_AGENT_CHARS).collect()),
            revoked_at: None,
            end_reason: None,
        };
        let mut w = self.store.writer().await?;
        w.insert_session(&s).await?;
        self.activity.written(s.id, now);
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
            device_cookie: None,
        })
    }

    /// `POST /auth/refresh`: single use; a spent token revokes its whole
    /// session; an expired session answers `session_expired`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let hash = token::hash_refresh(refresh_token);
        let Some((session, _)) = self.store.find_refresh(&hash).await? else {
            return Err(Error::Unauthorized);
        };
        let s = self.live_session(session).await?;
        let mut w = self.store.writer().await?;
        let spent_now = w.spend_refresh(&hash, Timestamp::now().millis()).await?;
        drop(w);
        if !spent_now {
            // Reuse: someone holds a copy of a rotated token. End the session.
            tracing::warn!(%session, "refresh token reuse; revoking the session");
            self.end_session(session, EndReason::Reuse).await?;
            return Err(Error::Unauthorized);
        }
        if s.purpose != SessionPurpose::Access {
            return Err(Error::Unauthorized);
        }
        let account = self.store.get_account(s.account_id).await?;
        if account.disabled_at.is_some() {
            return Err(Error::Unauthorized);
        }
        self.activity.touch(session, Timestamp::now().millis());
        self.issue_pair(&account, session).await
    }

    /// A session that has not ended; one whose time is up is ended now
    /// (`session_expired`), as is any answer about an expired one.
    async fn live_session(&self, session: SessionId) -> Result<SessionRow> {
        let s = match self.store.get_session(session).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Err(Error::Unauthorized),
            Err(e) => return Err(e.into()),
        };
        match s.end_reason {
            Some(EndReason::Expired) => return Err(Error::SessionExpired),
            Some(_) => return Err(Error::Unauthorized),
            None if s.revoked_at.is_some() => return Err(Error::Unauthorized),
            None => {}
        }
        if activity::expired(self, &s, Timestamp::now().millis()) {
            self.end_session(session, EndReason::Expired).await?;
            return Err(Error::SessionExpired);
        }
        Ok(s)
    }

    /// `POST /auth/logout`.
    pub async fn logout(&self, who: &Principal) -> Result<()> {
        self.end_session(who.session, EndReason::Logout).await?;
        self.security_event("session_ended", Some(who.account), None, "logout");
        Ok(())
    }

    /// `POST /auth/logout-all`: every session of the caller, this one too.
    pub async fn logout_all(&self, who: &Principal) -> Result<()> {
        self.end_sessions_of(who.account, None, EndReason::LogoutAll)
            .await
    }

    /// `GET /me/sessions`: the caller's live sessions, most recent use first.
    pub async fn list_sessions(&self, who: &Principal) -> Result<Vec<SessionView>> {
        let now = Timestamp::now().millis();
        let rows = self.store.list_live_sessions(who.account).await?;
        let mut out: Vec<SessionView> = rows
            .into_iter()
            .filter(|s| !activity::expired(self, s, now))
            .map(|s| SessionView {
                id: s.id,
                created_at: Timestamp(s.created_at),
                last_used_at: Timestamp(self.activity.last_used(&s)),
                user_agent: s.user_agent,
                current: s.id == who.session,
            })
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.last_used_at.millis()));
        Ok(out)
    }

    /// `DELETE /me/sessions/{id}`: 404 unless it is a live session of the caller.
    pub async fn end_own_session(&self, who: &Principal, session: SessionId) -> Result<()> {
        let s = match self.store.get_session(session).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(e.into()),
        };
        if s.account_id != who.account || s.revoked_at.is_some() {
            return Err(Error::NotFound);
        }
        self.end_session(session, EndReason::Ended).await?;
        let detail = "ended from the session list";
        self.security_event("session_ended", Some(who.account), None, detail);
        Ok(())
    }

    /// Ends one session and closes its sockets here; other nodes close
    /// theirs on the notification committed with the end.
    pub(super) async fn end_session(&self, session: SessionId, reason: EndReason) -> Result<()> {
        let mut w = self.store.writer().await?;
        let account = w
            .end_session(session, reason, Timestamp::now().millis())
            .await?;
        drop(w);
        self.closed(&[session], reason);
        // Ends nobody asked for (their callers log logouts and ends by hand).
        if let (Some(account), EndReason::Expired | EndReason::Reuse) = (account, reason) {
            self.sessions_ended(account, reason, 1);
        }
        Ok(())
    }

    /// Ends every session of an account (but `keep`).
    pub(super) async fn end_sessions_of(
        &self,
        account: AccountId,
        keep: Option<SessionId>,
        reason: EndReason,
    ) -> Result<()> {
        let mut w = self.store.writer().await?;
        let ended = w
            .end_account_sessions(account, keep, reason, Timestamp::now().millis())
            .await?;
        drop(w);
        self.closed(&ended, reason);
        self.sessions_ended(account, reason, ended.len());
        Ok(())
    }

    /// `count` sessions of `account` ended at once, for the security log.
    pub(super) fn sessions_ended(&self, account: AccountId, reason: EndReason, count: usize) {
        if count > 0 {
            let detail = format!("{}: count={count}", reason.as_str());
            self.security_event("session_ended", Some(account), None, detail);
        }
    }

    /// Sessions that ended: their sockets on this node close (4401).
    pub(super) fn closed(&self, sessions: &[SessionId], reason: EndReason) {
        for s in sessions {
            self.activity.forget(*s);
            self.hub
                .close_session(*s, close::UNAUTHORIZED, close_reason(reason));
        }
    }

    /// Another node ended a session: close its sockets here.
    pub(super) fn session_ended_elsewhere(&self, session: SessionId, reason: EndReason) {
        self.closed(&[session], reason);
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
        let session = match self.live_session(claims.sid).await {
            Ok(s) => s,
            // A bearer of an ended session is simply not authenticated.
            Err(Error::SessionExpired) => return Err(Error::Unauthorized),
            Err(e) => return Err(e),
        };
        if session.account_id != claims.sub {
            return Err(Error::Unauthorized);
        }
        let account = self.store.get_account(claims.sub).await?;
        if account.disabled_at.is_some() {
            return Err(Error::Unauthorized);
        }
        self.activity.touch(session.id, Timestamp::now().millis());
        Ok(Principal {
            account: account.id,
            session: session.id,
            kind: account.kind,
            profession: account.profession,
            org_id: account.org_id,
            org_admin: account.org_admin,
            enrolling: allowed == TokenUse::Enroll,
            token_exp: claims.exp,
        })
    }

    /// A client frame on one of the session's sockets: it counts as use.
    pub fn session_used(&self, session: SessionId) {
        self.activity.touch(session, Timestamp::now().millis());
    }

    /// Whether a session is still live (open sockets re-check on demand).
    pub async fn session_live(&self, session: SessionId) -> Result<bool> {
        match self.live_session(session).await {
            Ok(_) => Ok(true),
            Err(Error::Unauthorized | Error::SessionExpired) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
