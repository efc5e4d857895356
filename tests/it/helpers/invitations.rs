//! Accounts and their secrets (issue 17): strong passwords made per test,
//! logins with a `User-Agent`, invitations (create, check the code's form,
//! accept), the managed account list, and registering every password,
//! invitation code and recovery code (in each form a test sends) so that the
//! server's log is checked for them.

use serde_json::{json, Value};

use super::{Api, Registry, Resp, Session};

/// A new strong password (registered as a secret).
pub fn strong_password(reg: &Registry) -> String {
    let salt = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let pw = format!("Kaeru-no-Uta-{salt}-Hoshizora");
    reg.add("password", &pw);
    pw
}

/// Registers a password the test sends (weak ones included), except the
/// shared demo password (printed at start) and one equal to a login
/// (logins may be logged).
pub fn register_password(reg: &Registry, pw: &str) {
    let like_login = pw.contains('.')
        && pw
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()));
    if pw != super::DEMO_PASSWORD && !like_login {
        reg.add("password", pw);
    }
}

/// Registers a code (invitation or recovery) in every form a test sends:
/// as given, upper and lower case, and without hyphens.
pub fn register_code(reg: &Registry, kind: &str, code: &str) {
    let bare: String = code.chars().filter(|c| *c != '-' && *c != ' ').collect();
    for form in [
        code.to_string(),
        code.to_ascii_uppercase(),
        code.to_ascii_lowercase(),
        bare.to_ascii_uppercase(),
        bare.to_ascii_lowercase(),
    ] {
        reg.add(kind, &form);
    }
}

fn is_base32_groups(code: &str, groups: usize, upper: bool) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.len() == groups
        && parts.iter().all(|p| {
            p.len() == 4
                && p.chars().all(|c| {
                    let letter = if upper {
                        c.is_ascii_uppercase()
                    } else {
                        c.is_ascii_lowercase()
                    };
                    letter || ('2'..='7').contains(&c)
                })
        })
}

/// 32 base32 characters (A–Z, 2–7) in eight groups of four joined by `-`.
pub fn is_invitation_code(code: &str) -> bool {
    is_base32_groups(code, 8, true)
}

/// 16 base32 characters, lower case, in four groups of four joined by `-`.
pub fn is_recovery_code(code: &str) -> bool {
    is_base32_groups(code, 4, false)
}

/// `POST /auth/login` with a `User-Agent` header (or none).
pub async fn login_ua(api: &Api, login: &str, password: &str, ua: Option<&str>) -> Resp {
    let mut rb = api
        .client
        .post(api.url("/api/v1/auth/login"))
        .json(&json!({"login": login, "password": password}));
    if let Some(ua) = ua {
        rb = rb.header("user-agent", ua);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    api.record_tokens(&v);
    (status, v)
}

/// Logs in with a password, asserting 200.
pub async fn login_pw(api: &Api, login: &str, password: &str) -> Session {
    let (st, v) = api.login_raw(login, password, None).await;
    assert_eq!(st, 200, "login {login}: {v}");
    Session::from_login(api.clone(), &v)
}

/// A login with a recovery code in place of a TOTP code.
pub async fn login_recovery(api: &Api, login: &str, password: &str, code: &str) -> Resp {
    let r = api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": login, "password": password, "recovery_code": code}),
        )
        .await;
    api.record_tokens(&r.1);
    r
}

/// An invitation as created: the account, its code and `expires_at`.
pub struct Invited {
    pub account: Value,
    pub id: String,
    pub code: String,
    pub expires_at: String,
}

/// Checks an `{"invitation": {"code","expires_at"}}` object; registers the code.
pub fn invitation_of(reg: &Registry, v: &Value) -> (String, String) {
    let inv = &v["invitation"];
    let code = inv["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no invitation.code in {v}"))
        .to_string();
    register_code(reg, "invitation code", &code);
    assert!(
        is_invitation_code(&code),
        "invitation code format: {code:?}"
    );
    let expires_at = inv["expires_at"]
        .as_str()
        .unwrap_or_else(|| panic!("no invitation.expires_at in {v}"))
        .to_string();
    super::parse_rfc3339(&expires_at);
    (code, expires_at)
}

/// `POST /accounts` without a password, asserting 201 and the answer's shape.
pub async fn create_invited(by: &Session, body: Value) -> Invited {
    let (st, v) = by.post("/api/v1/accounts", &body).await;
    assert_eq!(st, 201, "create {body} as {}: {v}", by.login);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["account", "invitation"], "answer's fields: {v}");
    let (code, expires_at) = invitation_of(&by.api.registry, &v);
    let account = v["account"].clone();
    assert_eq!(account["login"], body["login"], "{v}");
    assert_eq!(account["disabled"], false, "{v}");
    Invited {
        id: account["id"].as_str().unwrap().to_string(),
        account,
        code,
        expires_at,
    }
}

/// `POST /auth/accept-invitation` (no auth); records tokens and the password.
pub async fn accept_raw(api: &Api, code: &str, password: &str) -> Resp {
    register_password(&api.registry, password);
    register_code(&api.registry, "invitation code", code);
    let r = api
        .post(
            "/api/v1/auth/accept-invitation",
            None,
            &json!({"code": code, "password": password}),
        )
        .await;
    api.record_tokens(&r.1);
    r
}

/// Accepts an invitation, asserting 200 and the login answer's shape.
pub async fn accept(api: &Api, code: &str, password: &str) -> Session {
    let (st, v) = accept_raw(api, code, password).await;
    assert_eq!(st, 200, "accept invitation: {v}");
    assert!(v["expires_in"].as_i64().is_some_and(|n| n > 0), "{v}");
    Session::from_login(api.clone(), &v)
}

/// `GET /accounts?managed=true`, asserting 200.
pub async fn managed(s: &Session) -> Vec<Value> {
    let (st, v) = s.get("/api/v1/accounts?managed=true").await;
    assert_eq!(st, 200, "managed accounts as {}: {v}", s.login);
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .clone()
}

/// The row of `login` in a managed list.
pub fn row_of<'a>(rows: &'a [Value], login: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["login"] == login)
        .unwrap_or_else(|| panic!("{login} not in {rows:?}"))
}

/// `POST /me/password`.
pub async fn change_password(s: &Session, current: &str, new: &str) -> Resp {
    register_password(&s.api.registry, current);
    register_password(&s.api.registry, new);
    s.post(
        "/api/v1/me/password",
        &json!({"current_password": current, "new_password": new}),
    )
    .await
}

/// The same session, spoken to through another node's API.
pub fn on_api(s: &Session, api: &Api) -> Session {
    Session {
        api: api.clone(),
        ..s.clone()
    }
}

/// The id of the organization with this name (`GET /orgs`).
pub async fn org_id(s: &Session, name: &str) -> String {
    let (st, v) = s.get("/api/v1/orgs").await;
    assert_eq!(st, 200, "GET /orgs: {v}");
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .find(|o| o["name"] == name)
        .and_then(|o| o["id"].as_str())
        .unwrap_or_else(|| panic!("no org {name} in {v}"))
        .to_string()
}
