//! Accounts and organizations (the directory).

use serde::{Deserialize, Serialize};

use super::{Core, Principal};
use crate::auth::password;
use crate::error::{Error, Result};
use crate::ids::{AccountId, OrgId, Timestamp};
use crate::store::{AccountRow, OrgRow, StoreError};
use crate::vocab::AccountKind;

pub const PROFESSIONS: [&str; 15] = [
    "doctor",
    "nurse",
    "public_health_nurse",
    "school_teacher",
    "school_nurse",
    "nursery_teacher",
    "occupational_therapist",
    "physical_therapist",
    "speech_therapist",
    "psychologist",
    "social_worker",
    "support_coordinator",
    "welfare_staff",
    "pharmacist",
    "administrator",
];
pub const FIELDS: [&str; 9] = [
    "health",
    "medical",
    "welfare",
    "childcare",
    "education",
    "employment",
    "family_association",
    "npo",
    "government",
];

#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub login: String,
    pub display_name: String,
    pub kind: AccountKind,
    pub profession: Option<String>,
    pub org_id: Option<OrgId>,
    /// Administers the accounts of its own organization.
    pub org_admin: bool,
    /// Disabled by an administrator (a leaver): no login, no session.
    pub disabled: bool,
}

impl Account {
    pub fn of(core: &Core, a: &AccountRow) -> Self {
        Self {
            id: a.id,
            login: a.login.clone(),
            display_name: core.name(a.id, &a.display_name),
            kind: a.kind,
            profession: a.profession.clone(),
            org_id: a.org_id,
            org_admin: a.org_admin,
            disabled: a.disabled_at.is_some(),
        }
    }
}

/// `POST /accounts`: without a password the account starts from an invitation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub login: String,
    #[serde(default)]
    pub password: Option<String>,
    pub display_name: String,
    pub kind: String,
    #[serde(default)]
    pub profession: Option<String>,
    #[serde(default)]
    pub org_id: Option<OrgId>,
    #[serde(default)]
    pub org_admin: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
    pub field: String,
    pub location: String,
    pub summary: String,
    pub strengths: String,
    pub contact: String,
}

/// `PATCH /orgs/{id}`: any of the fields of [`NewOrg`]; absent ones stay.
#[derive(Deserialize, Default, Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub field: Option<String>,
    pub location: Option<String>,
    pub summary: Option<String>,
    pub strengths: Option<String>,
    pub contact: Option<String>,
}

#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub field: String,
    pub location: String,
    pub summary: String,
    pub strengths: String,
    pub contact: String,
}

impl From<OrgRow> for Org {
    fn from(o: OrgRow) -> Self {
        Self {
            id: o.id,
            name: o.name,
            field: o.field,
            location: o.location,
            summary: o.summary,
            strengths: o.strengths,
            contact: o.contact,
        }
    }
}

fn require_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::bad_request(format!("{field}: must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Error::bad_request(format!(
            "{field}: at most {max} characters"
        )));
    }
    Ok(())
}

fn validate_org(name: &str, field: &str) -> Result<()> {
    require_text("name", name, 200)?;
    if !FIELDS.contains(&field) {
        return Err(Error::bad_request("field: unknown field"));
    }
    Ok(())
}

fn validate_login(login: &str) -> Result<()> {
    let ok = !login.is_empty()
        && login.len() <= 64
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "login: 1–64 characters of a–z, 0–9, '.', '_', '-', '@'",
        ))
    }
}

impl Core {
    pub async fn me(&self, who: &Principal) -> Result<Account> {
        Ok(Account::of(
            self,
            &self.store.get_account(who.account).await?,
        ))
    }

    /// Creates an account without the caller check or password rules (CLI,
    /// demo); with no password it waits for an invitation to be accepted.
    pub async fn insert_account(&self, new: NewAccount) -> Result<AccountRow> {
        validate_login(&new.login)?;
        require_text("display_name", &new.display_name, 100)?;
        let kind: AccountKind = new
            .kind
            .parse()
            .map_err(|_| Error::bad_request("kind: unknown account kind"))?;
        match (kind, &new.profession) {
            (AccountKind::Professional, Some(p)) if PROFESSIONS.contains(&p.as_str()) => {}
            (AccountKind::Professional, _) => {
                return Err(Error::bad_request(
                    "profession: required for a professional, one of the listed professions",
                ))
            }
            (_, Some(_)) => {
                return Err(Error::bad_request(
                    "profession: only professionals have a profession",
                ))
            }
            _ => {}
        }
        if let Some(org) = new.org_id {
            self.store.get_org(org).await.map_err(|e| match e {
                StoreError::NotFound => Error::bad_request("org_id: no such organization"),
                other => other.into(),
            })?;
        }
        if new.org_admin && new.org_id.is_none() {
            return Err(Error::bad_request(
                "org_admin: an organization administrator needs an org_id",
            ));
        }
        let id = AccountId::new();
        let password_hash = match new.password {
            Some(p) => Some(password::hash(p).await?),
            None => None,
        };
        let row = AccountRow {
            id,
            login: new.login,
            password_hash,
            display_name: self.seal_name(id, kind, &new.display_name)?,
            kind,
            profession: new.profession,
            org_id: new.org_id,
            org_admin: new.org_admin,
            disabled_at: None,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: 0,
        };
        let mut w = self.store.writer().await?;
        w.insert_account(&row, Timestamp::now().millis())
            .await
            .map_err(|e| match e {
                StoreError::Conflict => Error::Conflict("login: already taken".into()),
                other => other.into(),
            })?;
        Ok(row)
    }

    /// `GET /accounts?query=`: professionals only, except for admins.
    pub async fn search_accounts(&self, who: &Principal, query: &str) -> Result<Vec<Account>> {
        if who.kind == AccountKind::Youth {
            return Err(Error::forbidden(
                "the directory is for professionals and guardians",
            ));
        }
        let rows = self.store.search_accounts(query, !who.is_admin()).await?;
        Ok(rows.iter().map(|a| Account::of(self, a)).collect())
    }

    /// `POST /orgs` (admin).
    pub async fn create_org(&self, who: Option<&Principal>, new: NewOrg) -> Result<Org> {
        if who.is_some_and(|w| !w.is_admin()) {
            return Err(Error::forbidden("only an admin may create organizations"));
        }
        validate_org(&new.name, &new.field)?;
        let row = OrgRow {
            id: OrgId::new(),
            name: new.name,
            field: new.field,
            location: new.location,
            summary: new.summary,
            strengths: new.strengths,
            contact: new.contact,
        };
        let mut w = self.store.writer().await?;
        w.insert_org(&row, Timestamp::now().millis()).await?;
        Ok(Org::from(row))
    }

    /// `PATCH /orgs/{id}` (admin): validated as `POST /orgs` is.
    pub async fn update_org(&self, who: &Principal, id: OrgId, patch: OrgPatch) -> Result<Org> {
        if !who.is_admin() {
            return Err(Error::forbidden("only an admin may edit organizations"));
        }
        let not_found = |e| match e {
            StoreError::NotFound => Error::NotFound,
            other => other.into(),
        };
        // Read, merge, write whole: two admins editing one organization at
        // the same moment is rare enough that the last one simply wins.
        let mut row = self.store.get_org(id).await.map_err(not_found)?;
        let merge = |to: &mut String, from: Option<String>| {
            if let Some(v) = from {
                *to = v;
            }
        };
        merge(&mut row.name, patch.name);
        merge(&mut row.field, patch.field);
        merge(&mut row.location, patch.location);
        merge(&mut row.summary, patch.summary);
        merge(&mut row.strengths, patch.strengths);
        merge(&mut row.contact, patch.contact);
        validate_org(&row.name, &row.field)?;
        let mut w = self.store.writer().await?;
        w.update_org(&row).await.map_err(not_found)?;
        Ok(Org::from(row))
    }

    pub async fn list_orgs(&self) -> Result<Vec<Org>> {
        Ok(self
            .store
            .list_orgs()
            .await?
            .into_iter()
            .map(Org::from)
            .collect())
    }
}
