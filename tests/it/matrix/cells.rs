//! Calling one cell: the request a row and a relation make (on the base
//! child, or on fixtures of the cell's own when it changes state), and its
//! answer as a status (frames: `frames.rs`).

use serde_json::{json, Value};

use super::policy::{Call, Case, Rel, Row};
use super::world::{card_body, login_of, World};
use crate::helpers::*;

/// A push origin the server accepts for subscriptions (nothing listens there).
pub const PUSH_ORIGIN: &str = "https://127.0.0.1:9";

/// The answer of one cell: its status, and what to show when it is not the expected one.
pub struct Answer {
    pub status: u16,
    pub detail: String,
}

/// The error codes the contract pairs with each error status.
fn codes_for(status: u16) -> &'static [&'static str] {
    match status {
        400 => &["bad_request", "weak_password"],
        401 => &[
            "unauthorized",
            "invalid_credentials",
            "totp_required",
            "session_expired",
        ],
        403 => &["forbidden", "totp_enrollment_required"],
        404 => &["not_found"],
        409 => &["conflict"],
        429 => &["rate_limited"],
        _ => &[],
    }
}

/// An HTTP answer; an error whose body is not the contract's
/// `{"error": {"code", "message"}}` with a code of its status counts as
/// status 0, so that it shows as a mismatch.
fn answer(r: Resp) -> Answer {
    let detail = r.1.to_string();
    if r.0 >= 400 {
        let code = r.1.pointer("/error/code").and_then(Value::as_str);
        let has_message = r.1.pointer("/error/message").is_some_and(Value::is_string);
        if !code.is_some_and(|c| codes_for(r.0).contains(&c)) || !has_message {
            return Answer {
                status: 0,
                detail: format!("{} with an error body off the contract: {detail}", r.0),
            };
        }
    }
    Answer {
        status: r.0,
        detail,
    }
}

/// The path with each `{…}` replaced by the next of `args`, each a UUID
/// (a cell whose ids are missing would get the router's 404, not the
/// policy's: it panics instead).
fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut args = args.iter();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        let arg = args.next().copied().unwrap_or_default();
        assert!(
            uuid::Uuid::parse_str(arg).is_ok(),
            "matrix: {template}: {:?} is not an id",
            arg
        );
        out.push_str(arg);
        rest = &rest[close..];
    }
    assert!(args.next().is_none(), "matrix: {template}: ids left over");
    out.push_str(rest);
    out
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

pub async fn call(w: &World, row: &Row, rel: Rel) -> Answer {
    match row.call {
        Call::Http(method, path) => http_cell(w, method, path, row.case, rel).await,
        Call::Frame(name) => super::frames::frame_cell(w, name, rel).await,
    }
}

/// A session of `rel`'s account besides its main one (the disabled
/// account cannot log in: its dead session stands in).
async fn second_session(w: &World, rel: Rel) -> Session {
    if rel == Rel::Disabled {
        return w.actor(rel).clone();
    }
    w.api.login_with(login_of(rel), w.password(rel), None).await
}

/// The id of the session `s` is.
async fn session_id(s: &Session) -> String {
    let (st, v) = s.get("/api/v1/me/sessions").await;
    assert_eq!(st, 200, "matrix setup: sessions of {}: {v}", s.login);
    v.as_array()
        .and_then(|l| l.iter().find(|x| x["current"] == true))
        .and_then(|x| x["id"].as_str())
        .unwrap_or_else(|| panic!("no current session in {v}"))
        .to_string()
}

/// A new professional account, invited by the admin into `org`: its id and code.
async fn invited(w: &World, org: &str) -> (String, String) {
    let login = unique("matrix.");
    let body = json!({"login": login, "display_name": "行列 検査", "kind": "professional",
        "profession": "doctor", "org_id": org});
    let i = create_invited(w.actor(Rel::Admin), body).await;
    (i.id, i.code)
}

/// A push subscription body the server accepts (keys made here).
fn push_body(w: &World) -> Value {
    use base64::Engine;
    use web_push_native::p256;
    use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sk = loop {
        if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
            break k;
        }
    };
    let point = sk.public_key().to_encoded_point(false);
    let auth = b64.encode(rand::random::<[u8; 16]>());
    let token = unique("ep");
    w.api.registry.add("push auth secret", &auth);
    w.api.registry.add("push endpoint token", &token);
    json!({"endpoint": format!("{PUSH_ORIGIN}/{token}"),
           "keys": {"p256dh": b64.encode(point.as_bytes()), "auth": auth}})
}

async fn subscription_of(w: &World, s: &Session) -> String {
    let (st, v) = s.post("/api/v1/push/subscriptions", &push_body(w)).await;
    assert_eq!(st, 201, "matrix setup: subscribe {}: {v}", s.login);
    v["id"].as_str().unwrap_or_default().to_string()
}

/// The account a member cell names.
fn member_target(w: &World, case: Case, rel: Rel) -> String {
    match case {
        Case::AMember => w.helper.account_id.clone(),
        Case::OtherGuardian if rel == Rel::Guardian => w.actor(Rel::CoGuardian).account_id.clone(),
        Case::OtherGuardian => w.guardian().account_id.clone(),
        _ => w.actor(rel).account_id.clone(),
    }
}

fn child_body(w: &World) -> Value {
    let name = unique("行列 花子 ");
    w.api.registry.add("matrix child name", &name);
    json!({"name": name, "name_kana": "ぎょうれつ はなこ", "birth_date": "2016-05-01",
        "disease_group": 7, "diagnosis": "行列", "guardians": [w.guardian().account_id]})
}

async fn http_cell(w: &World, method: &str, path: &str, case: Case, rel: Rel) -> Answer {
    let me = w.actor(rel);
    let mut token = Some(me.access.clone());
    let mut body = None;
    let base = w.base.as_str();
    let url = match (method, path) {
        ("POST", "/api/v1/auth/accept-invitation") => {
            let (_, code) = invited(w, &w.own_org).await;
            let pw = strong_password(&w.api.registry);
            register_code(&w.api.registry, "invitation code", &code);
            body = Some(json!({"code": code, "password": pw}));
            path.to_string()
        }
        ("POST", "/api/v1/auth/login") => {
            let r = w.api.login_raw(login_of(rel), w.password(rel), None).await;
            return answer(r);
        }
        ("POST", "/api/v1/auth/refresh") => {
            let r = w.api.refresh_raw(&me.refresh).await;
            return answer(r);
        }
        ("POST", "/api/v1/auth/logout") => {
            token = Some(second_session(w, rel).await.access);
            path.to_string()
        }
        ("DELETE", "/api/v1/me/sessions/{id}") => {
            let other = match (case, rel) {
                (_, Rel::Disabled) => uuid::Uuid::now_v7().to_string(),
                (Case::Own, _) => session_id(&second_session(w, rel).await).await,
                _ => session_id(&w.helper).await,
            };
            fill(path, &[&other])
        }
        ("POST", "/api/v1/me/password") => {
            let new = strong_password(&w.api.registry);
            body = Some(json!({"current_password": w.password(rel), "new_password": new}));
            path.to_string()
        }
        ("POST", "/api/v1/me/totp") | ("POST", "/api/v1/me/totp/recovery-codes") => {
            body = Some(json!({"password": w.password(rel)}));
            path.to_string()
        }
        ("POST", "/api/v1/me/totp/confirm") => {
            // Seven digits: never a valid code, whatever the clock says.
            body = Some(json!({"code": "0000000"}));
            path.to_string()
        }
        ("DELETE", "/api/v1/me/totp") => {
            body = Some(json!({"password": w.password(rel), "code": "000000"}));
            path.to_string()
        }
        ("POST", "/api/v1/accounts") => {
            body = Some(
                json!({"login": unique("matrix."), "display_name": "行列 新人",
                "kind": "professional", "profession": "nurse"}),
            );
            path.to_string()
        }
        ("GET", "/api/v1/accounts") if case == Case::Managed => format!("{path}?managed=true"),
        // Everyone: the directory must still hold families back.
        ("GET", "/api/v1/accounts") => format!("{path}?query="),
        ("GET", "/api/v1/children/{id}/entries") => {
            format!("{}?after_seq=0&limit=500", fill(path, &[base]))
        }
        ("POST", p) if p.starts_with("/api/v1/accounts/{id}/") => {
            let org = match case {
                Case::OtherOrg => &w.other_org,
                _ => &w.own_org,
            };
            let (id, code) = invited(w, org).await;
            register_code(&w.api.registry, "invitation code", &code);
            fill(path, &[&id])
        }
        ("POST", "/api/v1/orgs") => {
            body = Some(
                json!({"name": unique("行列機関 "), "field": "npo", "location": "みどり市",
                "summary": "", "strengths": "", "contact": ""}),
            );
            path.to_string()
        }
        ("POST", "/api/v1/children") => {
            body = Some(child_body(w));
            path.to_string()
        }
        ("POST", "/api/v1/children/{id}/members") => {
            let child = w.child_with(&[rel]).await;
            body = Some(
                json!({"account_id": w.candidate_id, "categories": ["health"],
                "can_post": false, "purpose": "行列"}),
            );
            fill(path, &[&child])
        }
        ("POST", "/api/v1/children/{id}/members/{account}/approve") => {
            let child = w.child_with(&[rel]).await;
            w.request(&child, &w.candidate_id).await;
            fill(path, &[&child, &w.candidate_id])
        }
        (_, "/api/v1/children/{id}/members/{account}/revoke")
        | (_, "/api/v1/children/{id}/members/{account}") => {
            let child = w.child_with(&[rel]).await;
            if method == "PATCH" {
                body = Some(json!({"can_post": false}));
            }
            fill(path, &[&child, &member_target(w, case, rel)])
        }
        ("POST", "/api/v1/children/{id}/entries") => {
            body = Some(json!({"client_id": new_client_id(), "category": "medical",
                "kind": "note", "body": {"text": "行列の記録"}}));
            fill(path, &[base])
        }
        ("POST", "/api/v1/children/{id}/entries/{entry}/revisions") => {
            let (child, entry) = match case {
                Case::Own => w.own_entry(rel).await,
                Case::OtherChild => (w.base.clone(), w.other_entry.clone()),
                _ => {
                    let e = w.guardian().note(base, "medical", "行列の原本").await;
                    (
                        w.base.clone(),
                        e["id"].as_str().unwrap_or_default().to_string(),
                    )
                }
            };
            body = Some(json!({"body": {"text": "行列の訂正"}, "reason": "行列"}));
            fill(path, &[&child, &entry])
        }
        ("PUT", "/api/v1/children/{id}/emergency-card") => {
            body = Some(card_body());
            fill(path, &[base])
        }
        ("PUT", "/api/v1/children/{id}/emergency-contacts") => {
            body = Some(w.contacts_body());
            fill(path, &[base])
        }
        ("POST", "/api/v1/children/{id}/alerts") => {
            body = Some(json!({"message": "行列の警報"}));
            fill(path, &[base])
        }
        (_, p) if p.starts_with("/api/v1/children/{id}") => fill(path, &[base]),
        (_, p) if p.starts_with("/api/v1/alerts/{id}") => fill(path, &[&w.alert]),
        ("POST", "/api/v1/push/subscriptions") => {
            body = Some(push_body(w));
            path.to_string()
        }
        ("DELETE", "/api/v1/push/subscriptions/{id}") => {
            let id = match (case, rel) {
                (_, Rel::Disabled) => uuid::Uuid::now_v7().to_string(),
                (Case::Own, _) => subscription_of(w, me).await,
                _ => subscription_of(w, &w.helper).await,
            };
            fill(path, &[&id])
        }
        ("GET", p) | ("POST", p @ "/api/v1/auth/logout-all") if !p.contains('{') => {
            path.to_string()
        }
        _ => {
            return Answer {
                status: 0,
                detail: "the matrix does not know how to call this row (cells.rs)".into(),
            }
        }
    };
    if token.as_deref() == Some("") {
        token = None;
    }
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let r = w
        .api
        .request(m, &url, token.as_deref(), body.as_ref())
        .await;
    let managed = case == Case::Managed;
    if let Some(why) = (r.0 < 300 && !managed)
        .then(|| super::content::problem(w, method, path, rel, &r.1))
        .flatten()
    {
        return Answer {
            status: 0,
            detail: format!("{} but {why}", r.0),
        };
    }
    // A membership made by a member is only asked for: 202 in the table.
    if (method, path) == ("POST", "/api/v1/children/{id}/members")
        && r.0 == 201
        && r.1["status"] == "requested"
    {
        return Answer {
            status: 202,
            detail: r.1.to_string(),
        };
    }
    answer(r)
}
