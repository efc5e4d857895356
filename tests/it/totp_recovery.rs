//! Issue 17, TOTP amendments: `POST /me/totp` needs the password with an
//! access token (not with an enrolment token); confirming answers ten
//! recovery codes, each good for one login; regenerating them voids the old
//! ones; `DELETE /me/totp` is throttled like login; `--totp-policy`
//! (`optional` in the demo, `professionals`, `all`) decides who must enrol.

use serde_json::{json, Value};

use crate::helpers::*;

const WRONG: &str = "wrong-password-123";

/// A recovery code of the right form that was never issued.
fn unissued_recovery_code(issued: &[String]) -> String {
    let alphabet: Vec<char> = ('a'..='z').chain('2'..='7').collect();
    loop {
        let chars: Vec<char> = (0..16)
            .map(|_| alphabet[rand::random::<usize>() % alphabet.len()])
            .collect();
        let code = chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        if !issued.contains(&code) {
            return code;
        }
    }
}

#[track_caller]
fn assert_totp_state(v: &Value, enrolled: bool, pending: bool, required: bool, left: i64) {
    assert_eq!(
        v,
        &json!({"enrolled": enrolled, "pending": pending, "required": required,
            "recovery_codes_left": left}),
        "GET /me/totp"
    );
}

/// Login with a recovery code, asserting 200.
async fn recovery_login(api: &Api, login: &str, code: &str) -> Session {
    let (st, v) = login_recovery(api, login, DEMO_PASSWORD, code).await;
    assert_eq!(st, 200, "login {login} with recovery code {code}: {v}");
    Session::from_login(api.clone(), &v)
}

#[tokio::test]
async fn totp_needs_the_password_and_gives_single_use_recovery_codes() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "8"]).await;
    let api = server.api();
    let ito = server.login("doctor.ito").await;
    // Demo default policy: optional for everyone.
    assert_totp_state(&totp_state(&api, &ito.access).await, false, false, false, 0);
    let admin = server.login("admin").await;
    assert_eq!(totp_state(&api, &admin.access).await["required"], false);

    // POST /me/totp needs the password.
    for body in [json!({}), json!({"password": DEMO_PASSWORD, "extra": 1})] {
        assert_err(
            &start_totp(&api, &ito.access, &body).await,
            400,
            "bad_request",
        );
    }
    assert_err(
        &start_totp(&api, &ito.access, &json!({"password": WRONG})).await,
        401,
        "invalid_credentials",
    );
    assert_totp_state(&totp_state(&api, &ito.access).await, false, false, false, 0);
    // No recovery codes without TOTP.
    assert_err(
        &ito.post(
            "/api/v1/me/totp/recovery-codes",
            &json!({"password": DEMO_PASSWORD}),
        )
        .await,
        409,
        "conflict",
    );

    let (st, v) = start_totp(&api, &ito.access, &json!({"password": DEMO_PASSWORD})).await;
    assert!(st == 200 || st == 201, "{st} {v}");
    assert_totp_state(&totp_state(&api, &ito.access).await, false, true, false, 0);
    // Enrolling again starts over (the confirmation below uses the new secret).
    let (_dev, codes) = enrol_totp(&api, &ito.access, &json!({"password": DEMO_PASSWORD})).await;
    assert_totp_state(&totp_state(&api, &ito.access).await, true, false, false, 10);

    // Recovery codes log in, once each; case and hyphens do not matter.
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, None).await,
        401,
        "totp_required",
    );
    recovery_login(&api, "doctor.ito", &codes[0]).await;
    assert_err(
        &login_recovery(&api, "doctor.ito", DEMO_PASSWORD, &codes[0]).await,
        401,
        "totp_required",
    );
    let shouted = codes[1].to_ascii_uppercase().replace('-', "");
    recovery_login(&api, "doctor.ito", &shouted).await;
    let never = unissued_recovery_code(&codes);
    register_code(&server.registry, "recovery code", &never);
    assert_err(
        &login_recovery(&api, "doctor.ito", DEMO_PASSWORD, &never).await,
        401,
        "totp_required",
    );
    // A wrong password with a good code: credentials error, code not spent.
    assert_err(
        &login_recovery(&api, "doctor.ito", WRONG, &codes[2]).await,
        401,
        "invalid_credentials",
    );
    let s = recovery_login(&api, "doctor.ito", &codes[2]).await;
    assert_totp_state(&totp_state(&api, &s.access).await, true, false, false, 7);

    // New codes replace the old ones.
    assert_err(
        &s.post(
            "/api/v1/me/totp/recovery-codes",
            &json!({"password": WRONG}),
        )
        .await,
        401,
        "invalid_credentials",
    );
    assert_eq!(totp_state(&api, &s.access).await["recovery_codes_left"], 7);
    let (st, v) = s
        .post(
            "/api/v1/me/totp/recovery-codes",
            &json!({"password": DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let fresh = recovery_codes_of(&api, &v);
    assert!(
        fresh.iter().all(|c| !codes.contains(c)),
        "old codes reissued"
    );
    assert_err(
        &login_recovery(&api, "doctor.ito", DEMO_PASSWORD, &codes[3]).await,
        401,
        "totp_required",
    );
    let s = recovery_login(&api, "doctor.ito", &fresh[0]).await;
    assert_totp_state(&totp_state(&api, &s.access).await, true, false, false, 9);

    // Turning TOTP off with a recovery code.
    let (st, body) = s
        .delete(
            "/api/v1/me/totp",
            Some(&json!({"password": DEMO_PASSWORD, "code": fresh[1]})),
        )
        .await;
    assert_eq!(st, 204, "DELETE /me/totp: {body}");
    assert_totp_state(&totp_state(&api, &s.access).await, false, false, false, 0);
    server.login("doctor.ito").await;
    server.check_logs();
}

#[tokio::test]
async fn turning_totp_off_is_throttled_like_login() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "4"]).await;
    let api = server.api();
    let s = server.login("msw.shimizu").await;
    let (_dev, codes) = enrol_totp(&api, &s.access, &json!({"password": DEMO_PASSWORD})).await;
    for _ in 0..4 {
        assert_err(
            &s.delete(
                "/api/v1/me/totp",
                Some(&json!({"password": WRONG, "code": codes[0]})),
            )
            .await,
            401,
            "invalid_credentials",
        );
    }
    // Past the limit even the right password and code are refused.
    assert_err(
        &s.delete(
            "/api/v1/me/totp",
            Some(&json!({"password": DEMO_PASSWORD, "code": codes[0]})),
        )
        .await,
        429,
        "rate_limited",
    );
    assert_totp_state(&totp_state(&api, &s.access).await, true, false, false, 10);
    // Another account is not affected.
    let other = server.login("doctor.mori").await;
    let (_d, other_codes) =
        enrol_totp(&api, &other.access, &json!({"password": DEMO_PASSWORD})).await;
    let (st, body) = other
        .delete(
            "/api/v1/me/totp",
            Some(&json!({"password": DEMO_PASSWORD, "code": other_codes[0]})),
        )
        .await;
    assert_eq!(st, 204, "{body}");
    server.check_logs();
}

/// The enrolment token of a 403 `totp_enrollment_required` answer.
#[track_caller]
fn enrollment_token(r: &Resp) -> String {
    assert_err(r, 403, "totp_enrollment_required");
    assert!(r.1.get("access_token").is_none(), "{}", r.1);
    r.1["enrollment_token"]
        .as_str()
        .or_else(|| {
            r.1.pointer("/error/enrollment_token")
                .and_then(Value::as_str)
        })
        .unwrap_or_else(|| panic!("no enrollment_token in {}", r.1))
        .to_string()
}

#[tokio::test]
async fn totp_policy_professionals_covers_professionals_and_admins() {
    let server = Server::demo_with(&["--totp-policy", "professionals"]).await;
    let api = server.api();
    let reg = server.registry.clone();

    let g = server.login("guardian.sato").await;
    assert_totp_state(&totp_state(&api, &g.access).await, false, false, false, 0);

    let doctor_token = enrollment_token(&api.login_raw("doctor.ito", DEMO_PASSWORD, None).await);
    // With an enrolment token no password is asked for.
    let (_dev, codes) = enrol_totp(&api, &doctor_token, &json!({})).await;
    let d = recovery_login(&api, "doctor.ito", &codes[0]).await;
    assert_totp_state(&totp_state(&api, &d.access).await, true, false, true, 9);
    // Required: it cannot be turned off (and the code is not spent).
    assert_err(
        &d.delete(
            "/api/v1/me/totp",
            Some(&json!({"password": DEMO_PASSWORD, "code": codes[1]})),
        )
        .await,
        403,
        "forbidden",
    );
    assert_totp_state(&totp_state(&api, &d.access).await, true, false, true, 9);
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, None).await,
        401,
        "totp_required",
    );

    // Admins too.
    let admin_token = enrollment_token(&api.login_raw("admin", DEMO_PASSWORD, None).await);
    let (_dev, admin_codes) = enrol_totp(&api, &admin_token, &json!({})).await;
    let admin = recovery_login(&api, "admin", &admin_codes[0]).await;

    // An invited professional enrols right after accepting: the password is
    // set and the code spent.
    let inv = create_invited(
        &admin,
        json!({"login": "nurse.policy", "display_name": "方針 看護師",
            "kind": "professional", "profession": "nurse"}),
    )
    .await;
    let pw = strong_password(&reg);
    let r = accept_raw(&api, &inv.code, &pw).await;
    enrollment_token(&r);
    assert_err(
        &accept_raw(&api, &inv.code, &strong_password(&reg)).await,
        401,
        "invalid_credentials",
    );
    enrollment_token(&api.login_raw("nurse.policy", &pw, None).await);
    // An invited guardian is not covered.
    let ginv = create_invited(
        &admin,
        json!({"login": "guardian.policy", "display_name": "方針 保護者", "kind": "guardian"}),
    )
    .await;
    let gs = accept(&api, &ginv.code, &strong_password(&reg)).await;
    assert_eq!(gs.get("/api/v1/me").await.0, 200);
    server.check_logs();
}

#[tokio::test]
async fn totp_policy_all_covers_families_too() {
    let server = Server::demo_with(&["--totp-policy", "all"]).await;
    let api = server.api();
    for login in ["guardian.sato", "youth.watanabe", "teacher.tanaka", "admin"] {
        enrollment_token(&api.login_raw(login, DEMO_PASSWORD, None).await);
    }
    let token = enrollment_token(&api.login_raw("guardian.sato", DEMO_PASSWORD, None).await);
    // The enrolment token is good for nothing else.
    assert_err(
        &api.get("/api/v1/children", Some(&token)).await,
        401,
        "unauthorized",
    );
    let (_dev, codes) = enrol_totp(&api, &token, &json!({})).await;
    let g = recovery_login(&api, "guardian.sato", &codes[0]).await;
    assert_totp_state(&totp_state(&api, &g.access).await, true, false, true, 9);
    assert_eq!(g.child_id(HINATA).await.len(), 36);
    server.check_logs();
}
