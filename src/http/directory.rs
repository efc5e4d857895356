//! Me, accounts (the directory, and administering them) and organizations.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{parse_id, Auth, JsonBody, One};
use super::AppState;
use crate::domain::{
    Account, Created, Invitation, ManagedAccount, NewAccount, NewOrg, Org, OrgPatch,
};
use crate::ids::{AccountId, OrgId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(search_accounts, create_account))
        .routes(routes!(disable_account))
        .routes(routes!(enable_account))
        .routes(routes!(reset_account))
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(update_org))
}

/// My account.
#[utoipa::path(get, path = "/me", tag = "directory",
    responses((status = 200, description = "My account", body = Account)))]
async fn me(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<Account>, ApiError> {
    Ok(Json(s.core.me(&who).await?))
}

/// Create an account (admin, an organization administrator, or a coordinator inviting guardians).
#[utoipa::path(post, path = "/accounts", tag = "directory", request_body = NewAccount,
    responses((status = 201, description = "Created, with its invitation code when one was asked for", body = Created)))]
async fn create_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewAccount>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.create_account(&who, new).await?),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    #[serde(default)]
    query: String,
    #[serde(default)]
    managed: bool,
}

/// Either answer of `GET /accounts`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum AccountList {
    Directory(Vec<Account>),
    Managed(Vec<ManagedAccount>),
}

/// `anyOf`, not the derived `oneOf`: an empty list, or a managed account
/// (which has every field of an account), is both.
impl utoipa::PartialSchema for AccountList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder};
        use utoipa::openapi::Ref;
        AnyOfBuilder::new()
            .item(ArrayBuilder::new().items(Ref::from_schema_name("Account")))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("ManagedAccount")))
            .description(Some(
                "The directory's matches (`query`), or the accounts I administer (`managed=true`).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for AccountList {
    fn schemas(
        out: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        out.push((Account::name().into_owned(), Account::schema()));
        <Account as utoipa::ToSchema>::schemas(out);
        out.push((
            ManagedAccount::name().into_owned(),
            ManagedAccount::schema(),
        ));
        <ManagedAccount as utoipa::ToSchema>::schemas(out);
    }
}

/// Search the directory, or list the accounts I administer.
#[utoipa::path(get, path = "/accounts", tag = "directory", params(SearchQuery),
    responses((status = 200, description = "Directory matches (`query`), or the accounts I administer (`managed=true`)", body = AccountList)))]
async fn search_accounts(
    State(s): State<AppState>,
    Auth(who): Auth,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<AccountList>, ApiError> {
    let Query(q) = q?;
    Ok(Json(if q.managed {
        AccountList::Managed(s.core.list_managed_accounts(&who).await?)
    } else {
        AccountList::Directory(s.core.search_accounts(&who, &q.query).await?)
    }))
}

fn account_id(p: One) -> Result<AccountId, ApiError> {
    let axum::extract::Path(raw) = p?;
    parse_id(&raw, "account id")
}

/// Disable an account (its administrator).
#[utoipa::path(post, path = "/accounts/{id}/disable", tag = "directory", params(("id" = uuid::Uuid, Path, description = "Account id")),
    responses((status = 204, description = "Disabled; every session ended at once")))]
async fn disable_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<StatusCode, ApiError> {
    s.core.disable_account(&who, account_id(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable a disabled account.
#[utoipa::path(post, path = "/accounts/{id}/enable", tag = "directory", params(("id" = uuid::Uuid, Path, description = "Account id")),
    responses((status = 204, description = "Enabled again")))]
async fn enable_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<StatusCode, ApiError> {
    s.core.enable_account(&who, account_id(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ResetAnswer {
    invitation: Invitation,
}

/// Reset an account's password and second factor.
#[utoipa::path(post, path = "/accounts/{id}/reset", tag = "directory", params(("id" = uuid::Uuid, Path, description = "Account id")),
    responses((status = 200, description = "A new one-time invitation code", body = ResetAnswer)))]
async fn reset_account(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
) -> Result<Json<ResetAnswer>, ApiError> {
    let invitation = s.core.reset_account(&who, account_id(p)?).await?;
    Ok(Json(ResetAnswer { invitation }))
}

/// Create an organization (admin).
#[utoipa::path(post, path = "/orgs", tag = "directory", request_body = NewOrg,
    responses((status = 201, description = "Created", body = Org)))]
async fn create_org(
    State(s): State<AppState>,
    Auth(who): Auth,
    body: JsonBody<NewOrg>,
) -> Result<(StatusCode, Json<Org>), ApiError> {
    let Json(new) = body?;
    Ok((
        StatusCode::CREATED,
        Json(s.core.create_org(Some(&who), new).await?),
    ))
}

/// The organizations.
#[utoipa::path(get, path = "/orgs", tag = "directory",
    responses((status = 200, description = "Every organization", body = Vec<Org>)))]
async fn list_orgs(
    State(s): State<AppState>,
    Auth(_who): Auth,
) -> Result<Json<Vec<Org>>, ApiError> {
    Ok(Json(s.core.list_orgs().await?))
}

/// Edit an organization (admin).
#[utoipa::path(patch, path = "/orgs/{id}", tag = "directory", params(("id" = uuid::Uuid, Path, description = "Organization id")), request_body = OrgPatch,
    responses((status = 200, description = "Updated", body = Org)))]
async fn update_org(
    State(s): State<AppState>,
    Auth(who): Auth,
    p: One,
    body: JsonBody<OrgPatch>,
) -> Result<Json<Org>, ApiError> {
    let axum::extract::Path(raw) = p?;
    let id: OrgId = parse_id(&raw, "organization id")?;
    let Json(patch) = body?;
    Ok(Json(s.core.update_org(&who, id, patch).await?))
}
