//! Device tokens (OWASP's "device cookie"): after a login, the browser
//! holds a signed token for that account (the `renraku_device` cookie; up to
//! eight accounts, newest first). A login that presents one for the account
//! it names is exempt from that account's failure limit, so that someone
//! guessing passwords cannot lock the rightful user out. The address limit
//! still applies to everyone.

use crate::auth::token::TokenUse;
use crate::domain::Core;
use crate::error::Result;
use crate::ids::{AccountId, SessionId};
use crate::store::AccountRow;

/// A year: the device is remembered for as long as it keeps logging in.
const DEVICE_TTL_SECS: i64 = 365 * 24 * 3600;
/// Accounts one browser is remembered for (a shared ward tablet).
const MAX_ACCOUNTS: usize = 8;
/// Separates the tokens in the cookie value (allowed in a cookie, absent from a JWT).
pub const SEPARATOR: char = '~';

impl Core {
    /// The account a device token is for, if it is one of ours and current.
    fn device_account(&self, token: &str) -> Option<AccountId> {
        let claims = self.tokens.verify(token).ok()?;
        (claims.typ == TokenUse::Device).then_some(claims.sub)
    }

    /// The account `login` names, when one of the browser's device tokens
    /// is for it (read only when the browser holds a valid token at all).
    pub(super) async fn known_device_account(
        &self,
        tokens: &[String],
        login: &str,
    ) -> Result<Option<AccountRow>> {
        let known: Vec<AccountId> = tokens
            .iter()
            .filter_map(|t| self.device_account(t))
            .collect();
        if known.is_empty() {
            return Ok(None);
        }
        let account = self.store.find_account_by_login(login).await?;
        Ok(account.filter(|a| known.contains(&a.id)))
    }

    /// The cookie value after a login to `account`: a new token for it
    /// first, then the browser's other current ones.
    pub(super) fn device_cookie(&self, tokens: &[String], account: AccountId) -> Result<String> {
        let fresh =
            self.tokens
                .issue(account, SessionId::new(), TokenUse::Device, DEVICE_TTL_SECS)?;
        let others = tokens
            .iter()
            .filter(|t| self.device_account(t).is_some_and(|a| a != account))
            .take(MAX_ACCOUNTS - 1);
        let mut value = fresh;
        for t in others {
            value.push(SEPARATOR);
            value.push_str(t);
        }
        Ok(value)
    }
}
