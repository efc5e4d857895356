//! The request of an HTTP cell: the path's ids, the body and the token a
//! row and a relation call for, on the base child or on fixtures of the
//! cell's own when the cell changes state. One function per area.

use serde_json::{json, Value};

use super::cells::PUSH_ORIGIN;
use super::policy::{Case, Rel};
use super::world::{card_body, login_of, setup_ok, World};
use crate::helpers::*;

/// What an HTTP cell sends.
pub struct Request {
    pub url: String,
    pub token: Option<String>,
    pub body: Option<Value>,
    /// A raw body and its `Content-Type` (uploads), sent instead of `body`.
    pub raw: Option<(&'static str, Vec<u8>)>,
}

/// The request of `METHOD path` (a row of the table) by `rel`; `None` for
/// a row this file does not know how to call.
pub async fn request(w: &World, method: &str, path: &str, case: Case, rel: Rel) -> Option<Request> {
    let mut r = Request {
        url: path.to_string(),
        token: Some(w.actor(rel).access.clone()),
        body: None,
        raw: None,
    };
    let known = if path.starts_with("/api/v1/auth/") || path.starts_with("/api/v1/me") {
        session(w, method, path, case, rel, &mut r).await
    } else if path.starts_with("/api/v1/children") || path.starts_with("/api/v1/alerts") {
        notebook(w, method, path, case, rel, &mut r).await
    } else {
        directory(w, method, path, case, rel, &mut r).await
    };
    known.then_some(r)
}

/// `/auth/*` and `/me/*`: the caller's own sessions, password and TOTP.
async fn session(
    w: &World,
    method: &str,
    path: &str,
    case: Case,
    rel: Rel,
    r: &mut Request,
) -> bool {
    let password = w.password(rel).to_string();
    match (method, path) {
        ("POST", "/api/v1/auth/accept-invitation") => {
            let (_, code) = invited(w, &w.own_org).await;
            let pw = strong_password(&w.api.registry);
            r.body = Some(json!({"code": code, "password": pw}));
        }
        ("POST", "/api/v1/auth/login") => {
            r.token = None;
            r.body = Some(json!({"login": login_of(rel), "password": password}));
        }
        ("POST", "/api/v1/auth/refresh") => {
            r.token = None;
            r.body = Some(json!({"refresh_token": w.actor(rel).refresh}));
        }
        // The main session must live on: another one ends.
        ("POST", "/api/v1/auth/logout") => r.token = Some(second_session(w, rel).await.access),
        ("DELETE", "/api/v1/me/sessions/{id}") => {
            let other = match (case, rel) {
                (_, Rel::Disabled) => uuid::Uuid::now_v7().to_string(),
                (Case::Own, _) => session_id(&second_session(w, rel).await).await,
                _ => session_id(&w.helper).await,
            };
            r.url = fill(path, &[&other]);
        }
        ("POST", "/api/v1/me/password") => {
            let new = strong_password(&w.api.registry);
            r.body = Some(json!({"current_password": password, "new_password": new}));
        }
        ("POST", "/api/v1/me/totp") | ("POST", "/api/v1/me/totp/recovery-codes") => {
            r.body = Some(json!({"password": password}));
        }
        // Seven digits: never a valid code, whatever the clock says.
        ("POST", "/api/v1/me/totp/confirm") => r.body = Some(json!({"code": "0000000"})),
        ("DELETE", "/api/v1/me/totp") => {
            r.body = Some(json!({"password": password, "code": "000000"}));
        }
        ("GET", _) | ("POST", "/api/v1/auth/logout-all") => return !path.contains('{'),
        _ => return false,
    }
    true
}

/// Accounts, organizations, push subscriptions and the public routes.
async fn directory(
    w: &World,
    method: &str,
    path: &str,
    case: Case,
    rel: Rel,
    r: &mut Request,
) -> bool {
    match (method, path) {
        ("POST", "/api/v1/accounts") if case == Case::FamilyInvite => {
            r.body = Some(
                json!({"login": unique("matrix.family."), "display_name": "行列 保護者",
                "kind": "guardian"}),
            );
        }
        ("POST", "/api/v1/accounts") => {
            r.body = Some(
                json!({"login": unique("matrix."), "display_name": "行列 新人",
                "kind": "professional", "profession": "nurse"}),
            );
        }
        // A child of the cell's own whose guardian asked for its erasure.
        ("POST", "/api/v1/admin/erasures/{id}/confirm") => {
            let child = w.child_with(&[]).await;
            let asked = w
                .guardian()
                .post_empty(&format!("/api/v1/children/{child}/erase"))
                .await;
            setup_ok(&asked, 200, "ask for an erasure");
            r.url = fill(path, &[&child]);
        }
        ("GET", "/api/v1/accounts") if case == Case::Managed => {
            r.url = format!("{path}?managed=true")
        }
        // Everyone: the directory must still hold families back.
        ("GET", "/api/v1/accounts") => r.url = format!("{path}?query="),
        ("GET", "/api/v1/calendar") => r.url = format!("{path}?from=2026-01-01&to=2026-12-31"),
        ("POST", p) if p.starts_with("/api/v1/accounts/{id}/") => {
            let org = match case {
                Case::OtherOrg => &w.other_org,
                _ => &w.own_org,
            };
            let (id, _) = invited(w, org).await;
            r.url = fill(path, &[&id]);
        }
        ("POST", "/api/v1/orgs") => {
            r.body = Some(
                json!({"name": unique("行列機関 "), "field": "npo", "location": "みどり市",
                "summary": "", "strengths": "", "contact": ""}),
            );
        }
        // A leaver's handovers: a new account of the organization the case names.
        (_, "/api/v1/handovers") if case != Case::Plain => {
            let org = match case {
                Case::OtherOrg => &w.other_org,
                _ => &w.own_org,
            };
            let (id, _) = invited(w, org).await;
            if method == "GET" {
                r.url = format!("{path}?from_account={id}");
            } else {
                r.body = Some(json!({"from_account": id, "to_account": w.candidate_id}));
            }
        }
        // An organization of the cell's own, so no cell sees another's edit.
        ("PATCH", "/api/v1/orgs/{id}") => {
            let body = json!({"name": unique("行列機関 "), "field": "npo", "location": "",
                "summary": "", "strengths": "", "contact": ""});
            let org = w.actor(Rel::Admin).post("/api/v1/orgs", &body).await;
            let id = setup_ok(&org, 201, "an organization to edit")["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            r.url = fill(path, &[&id]);
            r.body = Some(json!({"contact": "行列 窓口 0000", "field": "welfare"}));
        }
        ("POST", "/api/v1/push/subscriptions") => r.body = Some(push_body(w)),
        ("DELETE", "/api/v1/push/subscriptions/{id}") => {
            let id = match (case, rel) {
                (_, Rel::Disabled) => uuid::Uuid::now_v7().to_string(),
                (Case::Own, _) => subscription_of(w, w.actor(rel)).await,
                _ => subscription_of(w, &w.helper).await,
            };
            r.url = fill(path, &[&id]);
        }
        ("GET", _) => return !path.contains('{'),
        _ => return false,
    }
    true
}

/// Children and their notebooks, members, emergency card and alerts.
async fn notebook(
    w: &World,
    method: &str,
    path: &str,
    case: Case,
    rel: Rel,
    r: &mut Request,
) -> bool {
    // The youth holder's base child is the one whose consent it holds.
    let base = w.base_for(rel);
    match (method, path) {
        ("POST", "/api/v1/children") => r.body = Some(child_body(w)),
        ("GET", "/api/v1/children") => {}
        // Membership changes: a child of the cell's own.
        ("POST", "/api/v1/children/{id}/members") => {
            let child = w.child_with(&[rel]).await;
            r.body = Some(
                json!({"account_id": w.candidate_id, "categories": ["health"],
                "can_post": false, "purpose": "行列"}),
            );
            r.url = fill(path, &[&child]);
        }
        ("POST", "/api/v1/children/{id}/members/{account}/approve") => {
            let child = w.child_with(&[rel]).await;
            w.request(&child, &w.candidate_id).await;
            r.url = fill(path, &[&child, &w.candidate_id]);
        }
        (_, "/api/v1/children/{id}/members/{account}/revoke")
        | (_, "/api/v1/children/{id}/members/{account}") => {
            let child = w.child_with(&[rel]).await;
            if method == "PATCH" {
                r.body = Some(json!({"can_post": false}));
            }
            r.url = fill(path, &[&child, &member_target(w, case, rel)]);
        }
        // A transfer: a child of the cell's own, with a youth member (aged
        // 11); the youth holder's has passed consent to it already.
        ("POST", "/api/v1/children/{id}/transfer") => {
            let rels: &[Rel] = match rel {
                Rel::Youth | Rel::YouthHolder => &[rel],
                _ => &[rel, Rel::Youth],
            };
            let child = w.child_with(rels).await;
            r.url = fill(path, &[&child]);
        }
        // The end of a record: a child of the cell's own (closed first, for a reopen).
        ("POST", "/api/v1/children/{id}/erase") | ("POST", "/api/v1/children/{id}/close") => {
            let child = w.child_with(&[rel]).await;
            r.url = fill(path, &[&child]);
        }
        ("POST", "/api/v1/children/{id}/reopen") => {
            let child = w.child_with(&[rel]).await;
            let closed = w
                .actor(Rel::Admin)
                .post_empty(&format!("/api/v1/children/{child}/close"))
                .await;
            setup_ok(&closed, 200, "close a notebook");
            r.url = fill(path, &[&child]);
        }
        // A handover: a child of the cell's own; from the caller itself, or from the helper.
        ("POST", "/api/v1/children/{id}/handovers") => {
            let child = w.child_with(&[rel]).await;
            let from = match case {
                Case::AMember => w.helper.account_id.clone(),
                _ => w.actor(rel).account_id.clone(),
            };
            r.body = Some(json!({"from_account": from, "to_account": w.candidate_id}));
            r.url = fill(path, &[&child]);
        }
        (_, "/api/v1/children/{id}/handovers/{handover}/approve")
        | (_, "/api/v1/children/{id}/handovers/{handover}/decline") => {
            let child = w.child_with(&[rel]).await;
            let handover = w.handover(&child, &w.candidate_id).await;
            r.url = fill(path, &[&child, &handover]);
        }
        ("GET", "/api/v1/children/{id}/search") => {
            r.url = format!("{}?q=%E8%A1%8C%E5%88%97", fill(path, &[base]));
        }
        ("GET", "/api/v1/children/{id}/entries") => {
            r.url = format!("{}?after_seq=0&limit=500", fill(path, &[base]));
        }
        ("POST", "/api/v1/children/{id}/entries") => {
            r.body = Some(json!({"client_id": new_client_id(), "category": "medical",
                "kind": "note", "body": {"text": "行列の記録"}}));
            r.url = fill(path, &[base]);
        }
        ("POST", "/api/v1/children/{id}/entries/{entry}/revisions") => {
            let (child, entry) = match case {
                Case::Own => w.own_entry(rel).await,
                Case::OtherChild => (base.to_string(), w.other_entry.clone()),
                _ => {
                    let e = w.guardian().note(base, "medical", "行列の原本").await;
                    (
                        base.to_string(),
                        e["id"].as_str().unwrap_or_default().to_string(),
                    )
                }
            };
            r.body = Some(json!({"body": {"text": "行列の訂正"}, "reason": "行列"}));
            r.url = fill(path, &[&child, &entry]);
        }
        ("PUT", "/api/v1/children/{id}/members/me/notify") => {
            r.body =
                Some(json!({"level": "addressed", "quiet_from": "22:00", "quiet_to": "07:00"}));
            r.url = fill(path, &[base]);
        }
        // The guardian's medical question to the co-guardian.
        ("POST", "/api/v1/children/{id}/entries/{entry}/done") => {
            let to = w.actor(Rel::CoGuardian).account_id.clone();
            let body = json!({"client_id": new_client_id(), "category": "medical", "kind": "note",
                "body": {"text": "行列の質問"}, "to": [to], "needs_reply": true});
            let r2 = w
                .guardian()
                .post(&format!("/api/v1/children/{base}/entries"), &body)
                .await;
            let e = setup_ok(&r2, 201, "a question");
            let entry = e["id"].as_str().unwrap_or_default().to_string();
            r.url = fill(path, &[base, &entry]);
        }
        ("GET", "/api/v1/children/{id}/entries/{entry}/readers") => {
            let e = w.guardian().note(base, "medical", "行列の既読").await;
            let entry = e["id"].as_str().unwrap_or_default().to_string();
            r.url = fill(path, &[base, &entry]);
        }
        ("POST", "/api/v1/children/{id}/attachments") => {
            r.raw = Some(("image/png", png_with("matrix", 1000)));
            r.url = fill(path, &[base]);
        }
        // An attachment of a medical entry the guardian has just posted.
        ("GET", "/api/v1/children/{id}/attachments/{aid}") => {
            let g = w.guardian();
            let aid = g
                .upload_ok(base, "image/png", png_with("matrix", 1000))
                .await;
            let (_, e) = g
                .post_entry(
                    base,
                    "medical",
                    "note",
                    json!({"text": "行列の添付", "attachments": [aid]}),
                )
                .await;
            assert!(
                e["id"].is_string(),
                "matrix: an entry with an attachment: {e}"
            );
            r.url = fill(path, &[base, &aid]);
        }
        // Writes that disturb no other cell: on the caller's base child.
        ("PUT", "/api/v1/children/{id}/emergency-card") => {
            r.body = Some(card_body());
            r.url = fill(path, &[base]);
        }
        ("PUT", "/api/v1/children/{id}/emergency-contacts") => {
            r.body = Some(w.contacts_body());
            r.url = fill(path, &[base]);
        }
        ("POST", "/api/v1/children/{id}/alerts") => {
            r.body = Some(json!({"message": "行列の警報"}));
            r.url = fill(path, &[base]);
        }
        ("POST", "/api/v1/children/{id}/export") => {
            r.body = Some(json!({"format": "fhir"}));
            r.url = fill(path, &[base]);
        }
        ("GET", "/api/v1/alerts") => {}
        (_, p) if p.starts_with("/api/v1/children/{id}") && p.matches('{').count() == 1 => {
            r.url = fill(path, &[base]);
        }
        (_, p) if p.starts_with("/api/v1/alerts/{id}") => r.url = fill(path, &[w.alert_for(rel)]),
        _ => return false,
    }
    true
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
