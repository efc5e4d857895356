//! Administering accounts: who may (an admin for everyone, an organization
//! administrator for the accounts of its own organization), invitations
//! instead of passwords chosen for someone else, the list of managed
//! accounts, and the leaver's path: disable (every session, socket and
//! push subscription gone at once), enable, and reset (a new invitation).

use serde::Serialize;

use super::{Account, Core, NewAccount, Principal};
use crate::auth::codes;
use crate::error::{Error, Result};
use crate::ids::{AccountId, Timestamp};
use crate::store::{AccountRow, NewInvitation, StoreError};
use crate::vocab::{AccountKind, EndReason};

/// A one-time invitation code, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub code: String,
    pub expires_at: Timestamp,
}

/// `POST /accounts`: the account, with its invitation when it has no password.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Created {
    WithPassword(Account),
    Invited {
        account: Account,
        invitation: Invitation,
    },
}

/// `GET /accounts?managed=true`: an account with where it stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ManagedAccount {
    #[serde(flatten)]
    pub account: Account,
    /// `invited` (no password yet), `active` or `disabled`.
    pub status: &'static str,
    pub invitation_expires_at: Option<Timestamp>,
}

/// A coordinator (who registers children) invites the family of a child
/// it registers: a guardian or youth account, by invitation only, with no
/// organization. The contract is silent; see README "API notes".
fn invites_family(who: &Principal, new: &NewAccount) -> bool {
    let family = [AccountKind::Guardian.as_str(), AccountKind::Youth.as_str()];
    who.coordinates()
        && family.contains(&new.kind.as_str())
        && new.password.is_none()
        && new.org_id.is_none()
        && !new.org_admin
}

impl Core {
    /// Whether `who` administers `target`: an admin any account, an
    /// organization administrator the non-admin accounts of its organization.
    fn administers(&self, who: &Principal, target: &AccountRow) -> Result<()> {
        let own_org = who.org_admin
            && who.org_id.is_some()
            && target.org_id == who.org_id
            && target.kind != AccountKind::Admin;
        if who.is_admin() || own_org {
            Ok(())
        } else {
            Err(Error::forbidden(
                "only an admin, or an administrator of its organization, manages this account",
            ))
        }
    }

    /// The target of an administrative action: 404 when unknown, 409 for
    /// oneself (an administrator does not lock itself out), 403 when not theirs.
    async fn managed_target(&self, who: &Principal, target: AccountId) -> Result<AccountRow> {
        let row = self.store.get_account(target).await?;
        self.administers(who, &row)?;
        if target == who.account {
            return Err(Error::Conflict(
                "an administrator cannot do this to its own account".into(),
            ));
        }
        Ok(row)
    }

    /// `POST /accounts`. With a password (admins only, as in v1) the
    /// account is ready; without one it waits for its invitation. Besides
    /// administrators, a coordinator invites guardians and youths.
    pub async fn create_account(&self, who: &Principal, mut new: NewAccount) -> Result<Created> {
        if !who.is_admin() && !invites_family(who, &new) {
            if !who.org_admin || new.password.is_some() {
                return Err(Error::forbidden(
                    "only an admin, an organization administrator or a coordinator inviting creates accounts",
                ));
            }
            if new.kind != AccountKind::Professional.as_str() || new.org_admin {
                return Err(Error::forbidden(
                    "an organization administrator invites professionals only",
                ));
            }
            match new.org_id {
                None => new.org_id = who.org_id,
                Some(o) if Some(o) == who.org_id => {}
                Some(_) => {
                    return Err(Error::forbidden(
                        "an organization administrator invites into its own organization only",
                    ))
                }
            }
        }
        if let Some(p) = &new.password {
            crate::auth::password::check_strength("password", p, &new.login, &new.display_name)?;
            let row = self.insert_account(new).await?;
            let by = format!("created with a password by {}", who.account);
            self.security_event("account_created", Some(row.id), None, by);
            return Ok(Created::WithPassword(Account::of(self, &row)));
        }
        let row = self.insert_account(new).await?;
        let invitation = self.invite(who, row.id).await?;
        Ok(Created::Invited {
            account: Account::of(self, &row),
            invitation,
        })
    }

    /// A fresh invitation: the code to show once, and the hash to store.
    fn fresh_invitation(&self) -> (Invitation, String) {
        let (code, hash) = codes::invitation_code();
        let expires_at = Timestamp::now().plus_secs(self.settings.invitation_ttl_ms / 1000);
        (Invitation { code, expires_at }, hash)
    }

    /// A new invitation for an account with no password yet.
    async fn invite(&self, who: &Principal, account: AccountId) -> Result<Invitation> {
        let (invitation, hash) = self.fresh_invitation();
        let mut w = self.store.writer().await?;
        w.insert_invitation(&NewInvitation {
            hash: &hash,
            account,
            created_by: who.account,
            created_at: Timestamp::now().millis(),
            expires_at: invitation.expires_at.millis(),
        })
        .await?;
        drop(w);
        let by = format!("by {}", who.account);
        self.security_event("invitation_created", Some(account), None, by);
        Ok(invitation)
    }

    /// `GET /accounts?managed=true`.
    pub async fn list_managed_accounts(&self, who: &Principal) -> Result<Vec<ManagedAccount>> {
        let scope = if who.is_admin() {
            None
        } else if who.org_admin && who.org_id.is_some() {
            who.org_id
        } else {
            return Err(Error::forbidden(
                "only an admin or an organization administrator lists accounts",
            ));
        };
        let rows = self.store.list_managed_accounts(scope).await?;
        let now = Timestamp::now().millis();
        Ok(rows
            .into_iter()
            .filter(|r| who.is_admin() || r.account.kind != AccountKind::Admin)
            .map(|r| {
                let a = &r.account;
                let status = match (a.disabled_at, &a.password_hash) {
                    (Some(_), _) => "disabled",
                    (None, None) => "invited",
                    (None, Some(_)) => "active",
                };
                ManagedAccount {
                    account: Account::of(self, a),
                    status,
                    invitation_expires_at: r
                        .invitation_expires_at
                        .filter(|at| *at > now && a.password_hash.is_none())
                        .map(Timestamp),
                }
            })
            .collect())
    }

    /// `POST /accounts/{id}/disable`: a leaver. Memberships stay (guardians
    /// see the member as disabled); everything that lets the person in goes.
    pub async fn disable_account(&self, who: &Principal, target: AccountId) -> Result<()> {
        let row = self.managed_target(who, target).await?;
        let mut w = self.store.writer().await?;
        let (_, ended) = w.disable_account(row.id, Timestamp::now().millis()).await?;
        drop(w);
        self.closed(&ended, EndReason::Disabled);
        tracing::info!(account = %row.id, "account disabled");
        let detail = format!("by {}; sessions ended: count={}", who.account, ended.len());
        self.security_event("account_disabled", Some(row.id), None, detail);
        self.sessions_ended(row.id, EndReason::Disabled, ended.len());
        Ok(())
    }

    /// `POST /accounts/{id}/enable`.
    pub async fn enable_account(&self, who: &Principal, target: AccountId) -> Result<()> {
        let row = self.managed_target(who, target).await?;
        let mut w = self.store.writer().await?;
        w.enable_account(row.id).await?;
        drop(w);
        let by = format!("by {}", who.account);
        self.security_event("account_enabled", Some(row.id), None, by);
        Ok(())
    }

    /// `POST /accounts/{id}/reset`: password and TOTP cleared, every
    /// session ended, a new invitation (the old ones void).
    pub async fn reset_account(&self, who: &Principal, target: AccountId) -> Result<Invitation> {
        let row = self.managed_target(who, target).await?;
        let (invitation, hash) = self.fresh_invitation();
        let mut w = self.store.writer().await?;
        let ended = w
            .reset_account(&NewInvitation {
                hash: &hash,
                account: row.id,
                created_by: who.account,
                created_at: Timestamp::now().millis(),
                expires_at: invitation.expires_at.millis(),
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFound,
                other => other.into(),
            })?;
        drop(w);
        self.closed(&ended, EndReason::Reset);
        let detail = format!("by {}; sessions ended: count={}", who.account, ended.len());
        self.security_event("account_reset", Some(row.id), None, detail);
        self.sessions_ended(row.id, EndReason::Reset, ended.len());
        Ok(invitation)
    }
}
