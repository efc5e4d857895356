//! Group 2: login, refresh (rotation, reuse detection), logout (401 at once,
//! sockets closed 4401), TOTP enrolment and login, rate limiting, and the JWT
//! negative suite.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn login_returns_tokens_and_account() {
    let server = Server::demo().await;
    let api = server.api();
    let (st, v) = api.login_raw("guardian.sato", DEMO_PASSWORD, None).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(!v["refresh_token"].as_str().unwrap().is_empty());
    let exp = v["expires_in"].as_i64().unwrap();
    assert!(exp > 0 && exp <= 900, "expires_in {exp}");
    let acc = &v["account"];
    assert_eq!(acc["login"], "guardian.sato");
    assert_eq!(acc["display_name"], "佐藤 美咲");
    assert_eq!(acc["kind"], "guardian");
    assert_eq!(acc["profession"], Value::Null);
    assert!(uuid::Uuid::parse_str(acc["id"].as_str().unwrap()).is_ok());

    let s = Session::from_login(api.clone(), &v);
    let (st, me) = s.get("/api/v1/me").await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["id"], acc["id"]);
    assert_eq!(me["login"], "guardian.sato");

    // A professional's account carries its profession and organization.
    let doc = server.login("doctor.ito").await;
    assert_eq!(doc.account["kind"], "professional");
    assert_eq!(doc.account["profession"], "doctor");
    assert!(doc.account["org_id"].is_string(), "{}", doc.account);

    // No token, garbage token: 401 unauthorized.
    assert_err(&api.get("/api/v1/me", None).await, 401, "unauthorized");
    assert_err(
        &api.get("/api/v1/me", Some("not-a-token")).await,
        401,
        "unauthorized",
    );
    assert_err(
        &api.get("/api/v1/children", None).await,
        401,
        "unauthorized",
    );
    // Tokens never travel in URLs: a query parameter is not a credential.
    assert_err(
        &api.get(&format!("/api/v1/me?access_token={}", s.access), None)
            .await,
        401,
        "unauthorized",
    );
    // Health needs no auth.
    let (st, h) = api.get("/healthz", None).await;
    assert_eq!((st, h), (200, json!({"status": "ok"})));
    assert_eq!(api.get("/readyz", None).await.0, 200);
    server.check_logs();
}

#[tokio::test]
async fn unknown_login_and_wrong_password_get_the_same_answer() {
    let server = Server::demo().await;
    let api = server.api();
    let wrong = api
        .login_raw("guardian.sato", "wrong-password-123", None)
        .await;
    let unknown = api
        .login_raw("nobody.at.all", "wrong-password-123", None)
        .await;
    assert_err(&wrong, 401, "invalid_credentials");
    assert_err(&unknown, 401, "invalid_credentials");
    assert_eq!(wrong.1, unknown.1, "bodies differ");
    // Empty password is just a wrong password.
    assert_err(
        &api.login_raw("guardian.sato", "", None).await,
        401,
        "invalid_credentials",
    );
    // Malformed requests are bad_request, not credentials errors.
    assert_err(
        &api.post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "guardian.sato"}),
        )
        .await,
        400,
        "bad_request",
    );
    assert_err(
        &api.post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "guardian.sato", "password": DEMO_PASSWORD, "admin": true}),
        )
        .await,
        400,
        "bad_request",
    );
    server.check_logs();
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let server = Server::demo().await;
    let api = server.api();
    let s1 = server.login("guardian.sato").await;
    let child = s1.child_id(HINATA).await;

    let (st, v) = api.refresh_raw(&s1.refresh).await;
    assert_eq!(st, 200, "{v}");
    let s2 = Session::from_login(api.clone(), &v);
    assert_ne!(s2.access, s1.access);
    assert_ne!(s2.refresh, s1.refresh);
    assert!(v["expires_in"].as_i64().unwrap() > 0);
    let (st, me) = s2.get("/api/v1/me").await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["id"].as_str().unwrap(), s1.account_id);

    // A socket of the (rotated) session.
    let mut ws = s2.ws().await;
    ws.subscribe(&child, 0).await;
    // A second, unrelated session of the same account must survive.
    let other = server.login("guardian.sato").await;
    let mut other_ws = other.ws().await;
    other_ws.subscribe(&child, 0).await;

    // Reusing the spent refresh token: 401, and the whole session dies.
    assert_err(&api.refresh_raw(&s1.refresh).await, 401, "unauthorized");
    ws.expect_close(4401).await;
    assert_err(
        &api.get("/api/v1/me", Some(&s2.access)).await,
        401,
        "unauthorized",
    );
    assert_err(
        &api.get("/api/v1/me", Some(&s1.access)).await,
        401,
        "unauthorized",
    );
    assert_err(&api.refresh_raw(&s2.refresh).await, 401, "unauthorized");

    // The other session is untouched.
    assert_eq!(other.get("/api/v1/me").await.0, 200);
    let e = other.note(&child, "family", "別セッションは有効").await;
    let got = other_ws.recv_type("entry").await.0;
    assert_eq!(got["entry"]["id"], e["id"]);
    // Garbage refresh token.
    assert_err(
        &api.refresh_raw("definitely-not-a-refresh-token").await,
        401,
        "unauthorized",
    );
    server.check_logs();
}

#[tokio::test]
async fn logout_revokes_token_and_closes_sockets_4401() {
    let server = Server::demo().await;
    let api = server.api();
    let a = server.login("guardian.sato").await;
    let b = server.login("guardian.sato").await;
    let child = a.child_id(HINATA).await;
    let mut ws_a1 = a.ws().await;
    ws_a1.subscribe(&child, 0).await;
    let mut ws_a2 = a.ws().await; // authenticated, not subscribed
    let mut ws_b = b.ws().await;
    ws_b.subscribe(&child, 0).await;

    let (st, body) = a.post_empty("/api/v1/auth/logout").await;
    assert_eq!(st, 204, "logout: {body}");
    ws_a1.expect_close(4401).await;
    ws_a2.expect_close(4401).await;
    assert_err(
        &api.get("/api/v1/me", Some(&a.access)).await,
        401,
        "unauthorized",
    );
    assert_err(
        &api.get(&format!("/api/v1/children/{child}"), Some(&a.access))
            .await,
        401,
        "unauthorized",
    );
    assert_err(&api.refresh_raw(&a.refresh).await, 401, "unauthorized");
    // A new socket with the dead token is refused with 4401.
    let mut ws = Ws::connect(&api).await;
    ws.send(json!({"type": "auth", "access_token": a.access}))
        .await;
    ws.expect_close(4401).await;

    // The other session of the same account keeps working, socket included.
    assert_eq!(b.get("/api/v1/me").await.0, 200);
    let e = b
        .note(&child, "family", "ログアウト後も別セッションは届く")
        .await;
    let (got, _) = ws_b.recv_type("entry").await;
    assert_eq!(got["entry"]["id"], e["id"]);
    server.check_logs();
}

#[tokio::test]
async fn websocket_auth_frame_is_required() {
    let server = Server::demo().await;
    let api = server.api();
    let s = server.login("guardian.sato").await;
    let ws = s.ws().await;
    assert_eq!(ws.account_id.as_deref(), Some(s.account_id.as_str()));

    // A bad token in the auth frame: closed 4401.
    let mut bad = Ws::connect(&api).await;
    bad.send(json!({"type": "auth", "access_token": "x.y.z"}))
        .await;
    bad.expect_close(4401).await;

    // No auth frame within 10 s: closed 4401 (the contract is about time).
    let mut idle = Ws::connect(&api).await;
    idle.expect_close_within(4401, Duration::from_secs(15))
        .await;
    server.check_logs();
}

fn totp_for(secret_b32: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(secret_b32.to_string()).to_bytes().unwrap(),
        None,
        String::new(),
    )
}

/// Waits so that at least 3 s remain in the current 30 s step.
async fn not_at_step_end() {
    let rem = 30 - now() % 30;
    if rem < 4 {
        tokio::time::sleep(Duration::from_secs(rem + 1)).await;
    }
}

/// Waits for the start of the next 30 s step.
async fn next_step() {
    let rem = 30 - now() % 30;
    tokio::time::sleep(Duration::from_millis(rem * 1000 + 300)).await;
}

/// A 6-digit code that is valid in none of the steps around now.
fn wrong_code(t: &TOTP) -> String {
    let n = now();
    let valid: Vec<String> = (0..5).map(|i| t.generate(n - 60 + i * 30)).collect();
    (0..1000)
        .map(|i| format!("{:06}", 123_457 + i * 7919))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// The recovery codes of a confirmation answer, registered as secrets.
fn recovery_codes(server: &Server, v: &serde_json::Value) -> Vec<String> {
    let codes: Vec<String> = v["recovery_codes"]
        .as_array()
        .unwrap_or_else(|| panic!("no recovery_codes: {v}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    for c in &codes {
        server.registry.add("recovery code", c);
    }
    codes
}

#[tokio::test]
async fn totp_enrolment_and_single_use_codes() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "100"]).await;
    let api = server.api();
    let s = server.login("doctor.ito").await;

    // With an access token, enrolling needs the password (v1.1).
    assert_err(
        &s.post("/api/v1/me/totp", &json!({})).await,
        400,
        "bad_request",
    );
    assert_err(
        &s.post(
            "/api/v1/me/totp",
            &json!({"password": "wrong-password-123"}),
        )
        .await,
        401,
        "invalid_credentials",
    );
    let (st, v) = s
        .post("/api/v1/me/totp", &json!({"password": DEMO_PASSWORD}))
        .await;
    api.record_tokens(&v);
    assert!(st == 200 || st == 201, "enrol: {st} {v}");
    let secret = v["secret"].as_str().unwrap().to_string();
    let uri = v["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&secret), "{uri} does not carry the secret");
    let t = totp_for(&secret);

    // Pending: login still works without a code.
    server.login("doctor.ito").await;

    // A wrong code does not confirm.
    let (st, v) = s
        .post("/api/v1/me/totp/confirm", &json!({"code": wrong_code(&t)}))
        .await;
    assert!(
        (400..500).contains(&st),
        "confirm with a wrong code: {st} {v}"
    );
    server.login("doctor.ito").await; // still not enrolled

    not_at_step_end().await;
    let code = t.generate(now());
    let (st, v) = s
        .post("/api/v1/me/totp/confirm", &json!({"code": code}))
        .await;
    assert_eq!(st, 200, "confirm: {v}");
    let codes = recovery_codes(&server, &v);
    assert_eq!(codes.len(), 10, "{v}");

    // From now on a code is required, and the confirm code is spent.
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, None).await,
        401,
        "totp_required",
    );
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, Some(&wrong_code(&t)))
            .await,
        401,
        "totp_required",
    );
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, Some(&code))
            .await,
        401,
        "totp_required",
    );
    // Wrong password with a code: credentials error, no hint about TOTP.
    assert_err(
        &api.login_raw("doctor.ito", "wrong-password-123", Some(&code))
            .await,
        401,
        "invalid_credentials",
    );

    next_step().await;
    let code2 = t.generate(now());
    assert_ne!(code2, code);
    let s2 = api
        .login_with("doctor.ito", DEMO_PASSWORD, Some(&code2))
        .await;
    assert_eq!(s2.account_id, s.account_id);
    // Accepted once only.
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, Some(&code2))
            .await,
        401,
        "totp_required",
    );
    // Another account is not affected.
    server.login("guardian.sato").await;
    server.check_logs();
}

#[tokio::test]
async fn totp_mandatory_for_professionals() {
    let server = Server::demo_with(&[
        "--totp-policy",
        "professionals",
        "--login-max-failures-per-account",
        "100",
    ])
    .await;
    let api = server.api();

    // Guardians are not professionals.
    server.login("guardian.sato").await;

    let (st, v) = api.login_raw("doctor.ito", DEMO_PASSWORD, None).await;
    assert_err(&(st, v.clone()), 403, "totp_enrollment_required");
    let enrol = v["enrollment_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no top-level enrollment_token: {v}"))
        .to_string();
    assert!(v.get("access_token").is_none(), "{v}");
    // A wrong password still says invalid_credentials, with no token.
    let (st, v) = api
        .login_raw("doctor.ito", "wrong-password-123", None)
        .await;
    assert_err(&(st, v.clone()), 401, "invalid_credentials");
    assert!(v.get("enrollment_token").is_none(), "{v}");

    // The enrolment token is good for nothing else.
    assert_err(
        &api.get("/api/v1/me", Some(&enrol)).await,
        401,
        "unauthorized",
    );
    assert_err(
        &api.get("/api/v1/children", Some(&enrol)).await,
        401,
        "unauthorized",
    );
    let mut ws = Ws::connect(&api).await;
    ws.send(json!({"type": "auth", "access_token": enrol}))
        .await;
    ws.expect_close(4401).await;

    let (st, v) = api
        .request(reqwest::Method::POST, "/api/v1/me/totp", Some(&enrol), None)
        .await;
    api.record_tokens(&v);
    assert!(st == 200 || st == 201, "enrol: {st} {v}");
    let t = totp_for(v["secret"].as_str().unwrap());
    not_at_step_end().await;
    let code = t.generate(now());
    let (st, v) = api
        .post(
            "/api/v1/me/totp/confirm",
            Some(&enrol),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(st, 200, "confirm: {v}");
    assert_eq!(recovery_codes(&server, &v).len(), 10, "{v}");

    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, None).await,
        401,
        "totp_required",
    );
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, Some(&code))
            .await,
        401,
        "totp_required",
    );
    next_step().await;
    let s = api
        .login_with("doctor.ito", DEMO_PASSWORD, Some(&t.generate(now())))
        .await;
    let (st, me) = s.get("/api/v1/me").await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["login"], "doctor.ito");

    // Another professional is still asked to enrol, and so are admins.
    assert_err(
        &api.login_raw("teacher.tanaka", DEMO_PASSWORD, None).await,
        403,
        "totp_enrollment_required",
    );
    assert_err(
        &api.login_raw("admin", DEMO_PASSWORD, None).await,
        403,
        "totp_enrollment_required",
    );
    server.check_logs();
}

#[tokio::test]
async fn login_failures_are_rate_limited_per_account() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "3"]).await;
    let api = server.api();
    for _ in 0..3 {
        assert_err(
            &api.login_raw("teacher.tanaka", "wrong-password-123", None)
                .await,
            401,
            "invalid_credentials",
        );
    }
    // Even the right password is refused now.
    assert_err(
        &api.login_raw("teacher.tanaka", DEMO_PASSWORD, None).await,
        429,
        "rate_limited",
    );
    assert_err(
        &api.login_raw("teacher.tanaka", "wrong-password-123", None)
            .await,
        429,
        "rate_limited",
    );
    // Unknown logins behave like known ones (no account enumeration).
    for _ in 0..3 {
        assert_err(
            &api.login_raw("nobody.unknown", "wrong-password-123", None)
                .await,
            401,
            "invalid_credentials",
        );
    }
    assert_err(
        &api.login_raw("nobody.unknown", "wrong-password-123", None)
            .await,
        429,
        "rate_limited",
    );
    // Other accounts are not locked out.
    server.login("teacher.kimura").await;
    server.check_logs();
}

#[tokio::test]
async fn login_failures_are_rate_limited_per_address() {
    let server = Server::demo_with(&["--login-max-failures-per-address", "4"]).await;
    let api = server.api();
    for who in ["doctor.ito", "doctor.mori", "nurse.suzuki", "phn.kato"] {
        assert_err(
            &api.login_raw(who, "wrong-password-123", None).await,
            401,
            "invalid_credentials",
        );
    }
    assert_err(
        &api.login_raw("guardian.sato", DEMO_PASSWORD, None).await,
        429,
        "rate_limited",
    );
    server.check_logs();
}

#[tokio::test]
async fn many_logins_from_one_address_are_fine_without_failures() {
    let server = Server::demo_with(&["--login-max-failures-per-address", "2"]).await;
    // Successful logins are not failures: far more than the limit must work.
    for _ in 0..3 {
        for who in ["guardian.sato", "doctor.ito", "teacher.tanaka"] {
            server.login(who).await;
        }
    }
    server.check_logs();
}

// --- JWT negative suite ------------------------------------------------------

fn b64url(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn sign_hs(alg: jsonwebtoken::Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn jwt_negative_suite() {
    let server = Server::demo().await;
    let api = server.api();
    let raw = std::fs::read_to_string(server.dir.join("keys/token-signing.key")).unwrap();
    let key = STANDARD.decode(raw.trim()).unwrap();
    assert_eq!(key.len(), 32, "signing key is not 32 bytes");

    let s = server.login("guardian.sato").await;
    let other = server.login("guardian.takahashi").await;
    let real = claims_of(&s.access);
    assert_eq!(real["iss"], "renraku");
    assert_eq!(real["aud"], "renraku");
    assert_eq!(real["typ"], "access");
    assert_eq!(real["sub"].as_str().unwrap(), s.account_id);
    assert!(real["sid"].is_string() && real["exp"].is_number() && real["jti"].is_string());

    let n = now();
    let good = json!({"iss": "renraku", "aud": "renraku", "sub": s.account_id, "sid": real["sid"],
        "typ": "access", "iat": n, "exp": n + 600, "jti": uuid::Uuid::new_v4().to_string()});
    let hs = jsonwebtoken::Algorithm::HS256;

    // Positive control: a token we sign like the server does is accepted, so
    // every rejection below is about the one thing changed.
    let forged_ok = sign_hs(hs, &key, &good);
    server.registry.add_token("forged token", &forged_ok);
    let (st, me) = api.get("/api/v1/me", Some(&forged_ok)).await;
    assert_eq!(st, 200, "control token refused: {me}");
    assert_eq!(me["id"].as_str().unwrap(), s.account_id);

    let mut cases: Vec<(&str, String)> = Vec::new();
    // alg: none, empty signature (and with the real signature kept).
    let none_hdr = json!({"alg": "none", "typ": "JWT"});
    cases.push((
        "alg none",
        format!("{}.{}.", b64url(&none_hdr), b64url(&good)),
    ));
    cases.push((
        "alg none with signature",
        format!(
            "{}.{}.{}",
            b64url(&none_hdr),
            b64url(&good),
            forged_ok.split('.').nth(2).unwrap()
        ),
    ));
    // Not on the allowlist, even with the right key.
    cases.push((
        "HS512 with the right key",
        sign_hs(jsonwebtoken::Algorithm::HS512, &key, &good),
    ));
    cases.push(("wrong key", sign_hs(hs, &[7u8; 32], &good)));
    // Tampered payload: someone else's account id under the real signature.
    let mut tampered_claims = real.clone();
    tampered_claims["sub"] = json!(other.account_id);
    let parts: Vec<&str> = s.access.split('.').collect();
    cases.push((
        "tampered payload",
        format!("{}.{}.{}", parts[0], b64url(&tampered_claims), parts[2]),
    ));
    let mut c = good.clone();
    c["exp"] = json!(n - 120);
    c["iat"] = json!(n - 1000);
    cases.push(("expired", sign_hs(hs, &key, &c)));
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("exp");
    cases.push(("no exp", sign_hs(hs, &key, &c)));
    let mut c = good.clone();
    c["aud"] = json!("someone-else");
    cases.push(("wrong aud", sign_hs(hs, &key, &c)));
    let mut c = good.clone();
    c["iss"] = json!("evil");
    cases.push(("wrong iss", sign_hs(hs, &key, &c)));
    let mut c = good.clone();
    c["typ"] = json!("refresh");
    cases.push(("typ refresh", sign_hs(hs, &key, &c)));
    let mut c = good.clone();
    c["sid"] = json!(uuid::Uuid::new_v4().to_string());
    cases.push(("unknown session id", sign_hs(hs, &key, &c)));
    cases.push(("refresh token as access token", s.refresh.clone()));

    for (name, token) in &cases {
        server.registry.add_token("forged token", token);
        let r = api.get("/api/v1/me", Some(token)).await;
        assert_eq!(r.0, 401, "{name}: expected 401, got {} {}", r.0, r.1);
        assert_eq!(err_code(&r.1), "unauthorized", "{name}: {}", r.1);
        // The socket refuses it as well.
        let mut ws = Ws::connect(&api).await;
        ws.send(json!({"type": "auth", "access_token": token}))
            .await;
        ws.expect_close(4401).await;
    }

    // Revoked session: the logged-out session's token, and a freshly signed
    // token naming that session.
    let gone = server.login("guardian.sato").await;
    let gone_claims = claims_of(&gone.access);
    assert_eq!(gone.post_empty("/api/v1/auth/logout").await.0, 204);
    assert_err(
        &api.get("/api/v1/me", Some(&gone.access)).await,
        401,
        "unauthorized",
    );
    let mut c = good.clone();
    c["sid"] = gone_claims["sid"].clone();
    let resigned = sign_hs(hs, &key, &c);
    server.registry.add_token("forged token", &resigned);
    assert_err(
        &api.get("/api/v1/me", Some(&resigned)).await,
        401,
        "unauthorized",
    );

    // Within the 30 s leeway an expired token still works; the original works.
    let mut c = good.clone();
    c["exp"] = json!(n - 5);
    let fresh_enough = sign_hs(hs, &key, &c);
    server.registry.add_token("forged token", &fresh_enough);
    assert_eq!(api.get("/api/v1/me", Some(&fresh_enough)).await.0, 200);
    assert_eq!(s.get("/api/v1/me").await.0, 200);
    server.check_logs();
}

#[tokio::test]
async fn unknown_login_takes_about_as_long_as_a_wrong_password() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "100"]).await;
    let api = server.api();
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..7 {
        let t = std::time::Instant::now();
        let r = api
            .login_raw("guardian.sato", "wrong-password-123", None)
            .await;
        assert_err(&r, 401, "invalid_credentials");
        known.push(t.elapsed());
        let t = std::time::Instant::now();
        let r = api
            .login_raw(&format!("nobody.{i}"), "wrong-password-123", None)
            .await;
        assert_err(&r, 401, "invalid_credentials");
        unknown.push(t.elapsed());
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[3], unknown[3]);
    // A password hash is verified either way: an unknown login must not be
    // answered several times faster (account enumeration by timing).
    assert!(
        u * 3 >= k,
        "unknown login answered in {u:?}, wrong password in {k:?}"
    );
    server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_with_one_token_rotate_once() {
    let server = Server::demo().await;
    let api = server.api();
    let s = server.login("guardian.sato").await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let api = api.clone();
        let r = s.refresh.clone();
        tasks.push(tokio::spawn(async move { api.refresh_raw(&r).await }));
    }
    let mut ok = Vec::new();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        if st == 200 {
            ok.push(v);
        } else {
            assert_err(&(st, v), 401, "unauthorized");
        }
    }
    // Single use: never two fresh pairs from one refresh token. (Reuse of a
    // spent token may even have revoked the one that won.)
    assert!(
        ok.len() <= 1,
        "{} refreshes succeeded with one token",
        ok.len()
    );
    server.check_logs();
}
