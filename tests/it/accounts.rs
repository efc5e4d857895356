//! Issue 17, accounts: invitations (shape, code form, weak passwords, single
//! use, expiry), who administers accounts (the admin; an org admin for its
//! own organization only), and disabling, enabling and resetting an account
//! (sessions and sockets end, push subscriptions go, member lists say
//! `disabled`, TOTP is cleared by a reset).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

const HOSPITAL: &str = "みどり総合病院 小児科";
const SCHOOL: &str = "みどり市立第一小学校";

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn unix_of(rfc3339: &str) -> f64 {
    let t = parse_rfc3339(rfc3339);
    t.unix_timestamp_nanos() as f64 / 1e9
}

/// An `Account` has the fields of the amended contract.
#[track_caller]
fn assert_account_shape(a: &Value) {
    for k in [
        "id",
        "login",
        "display_name",
        "kind",
        "profession",
        "org_id",
        "org_admin",
        "disabled",
    ] {
        assert!(a.get(k).is_some(), "Account without {k}: {a}");
    }
    assert!(
        a["org_admin"].is_boolean() && a["disabled"].is_boolean(),
        "{a}"
    );
}

/// A well-formed invitation code nobody was given.
fn unknown_code() -> String {
    let alphabet: Vec<char> = ('A'..='Z').chain('2'..='7').collect();
    let chars: Vec<char> = (0..32)
        .map(|_| alphabet[rand::random::<usize>() % alphabet.len()])
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

async fn post_status(s: &Session, path: &str) -> Resp {
    s.post_empty(path).await
}

#[tokio::test]
async fn invitations_are_single_use_and_expire() {
    let server = Server::demo_with(&["--invitation-ttl", "3"]).await;
    let api = server.api();
    let reg = server.registry.clone();
    let admin = server.login("admin").await;
    let hospital = org_id(&admin, HOSPITAL).await;
    let body = json!({"login": "nurse.aoki.hana", "display_name": "青木 花", "kind": "professional",
        "profession": "nurse", "org_id": hospital});

    // Refused requests create nothing.
    let guardian = server.login("guardian.sato").await;
    assert_err(
        &guardian.post("/api/v1/accounts", &body).await,
        403,
        "forbidden",
    );
    let mut bad = body.clone();
    bad["extra"] = json!(1);
    assert_err(
        &admin.post("/api/v1/accounts", &bad).await,
        400,
        "bad_request",
    );
    let mut bad = body.clone();
    bad.as_object_mut().unwrap().remove("display_name");
    assert_err(
        &admin.post("/api/v1/accounts", &bad).await,
        400,
        "bad_request",
    );
    assert!(
        managed(&admin)
            .await
            .iter()
            .all(|r| r["login"] != "nurse.aoki.hana"),
        "a refused request created the account"
    );

    let asked = unix_now();
    let inv = create_invited(&admin, body.clone()).await;
    assert_account_shape(&inv.account);
    assert_eq!(inv.account["kind"], "professional");
    assert_eq!(inv.account["profession"], "nurse");
    assert_eq!(inv.account["org_id"], hospital.as_str());
    assert_eq!(inv.account["org_admin"], false);
    let exp = unix_of(&inv.expires_at);
    assert!(
        (exp - (asked + 3.0)).abs() < 2.0,
        "expires_at {} is not 3 s from now",
        inv.expires_at
    );
    let row = row_of(&managed(&admin).await, "nurse.aoki.hana").clone();
    assert_eq!(row["status"], "invited", "{row}");
    assert_eq!(row["id"], inv.id.as_str());
    let row_exp = unix_of(
        row["invitation_expires_at"]
            .as_str()
            .unwrap_or_else(|| panic!("{row}")),
    );
    assert!((row_exp - exp).abs() < 1.0, "{row} vs {}", inv.expires_at);
    // Invited, not yet a login.
    assert_err(
        &api.login_raw("nurse.aoki.hana", DEMO_PASSWORD, None).await,
        401,
        "invalid_credentials",
    );

    // Bad requests and a weak password leave the code good.
    let pw = strong_password(&reg);
    for bad in [
        json!({"code": inv.code}),
        json!({"code": inv.code, "password": pw, "extra": true}),
    ] {
        assert_err(
            &api.post("/api/v1/auth/accept-invitation", None, &bad).await,
            400,
            "bad_request",
        );
    }
    for weak in ["password1234", "short-pw", "nurse.aoki.hana"] {
        let r = accept_raw(&api, &inv.code, weak).await;
        assert_eq!(r.0, 400, "weak password {weak:?} on accept: {}", r.1);
        assert_err(&r, 400, "weak_password");
    }
    // Case, spaces and hyphens do not matter.
    let spaced = inv.code.to_ascii_lowercase().replace('-', " ");
    let s = accept(&api, &spaced, &pw).await;
    assert_eq!(s.account["login"], "nurse.aoki.hana", "{}", s.account);
    let (st, me) = s.get("/api/v1/me").await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["id"], inv.id.as_str());

    // Used once only; the password chosen is the account's.
    let other_pw = strong_password(&reg);
    assert_err(
        &accept_raw(&api, &inv.code, &other_pw).await,
        401,
        "invalid_credentials",
    );
    login_pw(&api, "nurse.aoki.hana", &pw).await;
    assert_err(
        &api.login_raw("nurse.aoki.hana", &other_pw, None).await,
        401,
        "invalid_credentials",
    );
    let row = row_of(&managed(&admin).await, "nurse.aoki.hana").clone();
    assert_eq!(row["status"], "active", "{row}");
    assert_eq!(row["invitation_expires_at"], Value::Null, "{row}");

    // Unknown code.
    let unknown = unknown_code();
    register_code(&reg, "invitation code", &unknown);
    assert_err(
        &accept_raw(&api, &unknown, &other_pw).await,
        401,
        "invalid_credentials",
    );

    // Expired (3 s).
    let late = create_invited(
        &admin,
        json!({"login": "guardian.late", "display_name": "遅刻 太郎", "kind": "guardian"}),
    )
    .await;
    let wait = unix_of(&late.expires_at) + 1.5 - unix_now();
    tokio::time::sleep(secs(wait.max(0.0))).await;
    assert_err(
        &accept_raw(&api, &late.code, &other_pw).await,
        401,
        "invalid_credentials",
    );
    assert_err(
        &api.login_raw("guardian.late", &other_pw, None).await,
        401,
        "invalid_credentials",
    );

    // The v1 path with a password (admin only) checks its strength too.
    let mut with_pw = json!({"login": "teacher.sora", "display_name": "空 先生",
        "kind": "professional", "profession": "school_teacher"});
    register_password(&reg, "password1234");
    with_pw["password"] = json!("password1234");
    assert_err(
        &admin.post("/api/v1/accounts", &with_pw).await,
        400,
        "weak_password",
    );
    let good = strong_password(&reg);
    with_pw["password"] = json!(good);
    let (st, acc) = admin.post("/api/v1/accounts", &with_pw).await;
    assert_eq!(st, 201, "{acc}");
    assert_eq!(acc["login"], "teacher.sora", "{acc}");
    assert!(acc.get("invitation").is_none(), "{acc}");
    assert_account_shape(&acc);
    login_pw(&api, "teacher.sora", &good).await;
    server.check_logs();
}

#[tokio::test]
async fn org_admins_manage_their_own_organization_only() {
    let server = Server::demo().await;
    let api = server.api();
    let reg = server.registry.clone();
    let admin = server.login("admin").await;
    let hospital = org_id(&admin, HOSPITAL).await;
    let school = org_id(&admin, SCHOOL).await;

    // A social worker: not a profession that registers children (whose
    // coordinators invite guardians; see the last test of this file).
    let inv = create_invited(
        &admin,
        json!({"login": "hospital.office", "display_name": "病院 事務長", "kind": "professional",
            "profession": "social_worker", "org_id": hospital, "org_admin": true}),
    )
    .await;
    assert_eq!(inv.account["org_admin"], true, "{}", inv.account);
    let oa = accept(&api, &inv.code, &strong_password(&reg)).await;
    assert_eq!(oa.account["org_admin"], true, "{}", oa.account);

    // Creates professionals of its own organization (org_id absent or its own).
    let nurse = create_invited(
        &oa,
        json!({"login": "nurse.hospital", "display_name": "病院 看護師",
            "kind": "professional", "profession": "nurse"}),
    )
    .await;
    assert_eq!(
        nurse.account["org_id"],
        hospital.as_str(),
        "{}",
        nurse.account
    );
    assert_eq!(nurse.account["org_admin"], false);
    let pt = create_invited(
        &oa,
        json!({"login": "pt.hospital", "display_name": "病院 理学療法士", "kind": "professional",
            "profession": "physical_therapist", "org_id": hospital}),
    )
    .await;
    assert_eq!(pt.account["org_id"], hospital.as_str());

    // Anything else: 403, and nothing is created.
    let pw = strong_password(&reg);
    for (login, body) in [
        ("x.other_org", json!({"org_id": school})),
        ("x.org_admin", json!({"org_admin": true})),
        (
            "x.guardian",
            json!({"kind": "guardian", "profession": null}),
        ),
        ("x.admin", json!({"kind": "admin", "profession": null})),
        ("x.password", json!({"password": pw})),
    ] {
        let mut b = json!({"login": login, "display_name": "拒否 される",
            "kind": "professional", "profession": "nurse"});
        for (k, v) in body.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        let r = oa.post("/api/v1/accounts", &b).await;
        assert_eq!(r.0, 403, "org admin created {b}: {}", r.1);
        assert_err(&r, 403, "forbidden");
    }

    // Its managed list: its organization's accounts, by display name.
    let rows = managed(&oa).await;
    let mut logins: Vec<&str> = rows.iter().map(|r| r["login"].as_str().unwrap()).collect();
    logins.sort();
    assert_eq!(
        logins,
        [
            "doctor.ito",
            "hospital.office",
            "msw.shimizu",
            "nurse.hospital",
            "pt.hospital"
        ],
        "{rows:?}"
    );
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    let mut by_name = names.clone();
    by_name.sort();
    assert_eq!(names, by_name, "not sorted by display name");
    for r in &rows {
        assert_account_shape(r);
        assert_eq!(r["org_id"], hospital.as_str(), "{r}");
    }
    let n = row_of(&rows, "nurse.hospital");
    assert_eq!(n["status"], "invited", "{n}");
    assert!(n["invitation_expires_at"].is_string(), "{n}");
    let d = row_of(&rows, "doctor.ito");
    assert_eq!(
        (&d["status"], &d["invitation_expires_at"]),
        (&json!("active"), &Value::Null),
        "{d}"
    );
    // The admin's list has everyone, families included.
    let all = managed(&admin).await;
    assert_eq!(all.len(), 16 + 3, "{all:?}");
    assert_eq!(row_of(&all, "guardian.sato")["kind"], "guardian");
    assert_eq!(row_of(&all, "admin")["status"], "active");

    // Disable / enable within its organization.
    let ito = server.login("doctor.ito").await;
    let ito_path = format!("/api/v1/accounts/{}", ito.account_id);
    assert_eq!(
        post_status(&oa, &format!("{ito_path}/disable")).await.0,
        204
    );
    let d = row_of(&managed(&oa).await, "doctor.ito").clone();
    assert_eq!(
        (&d["status"], &d["disabled"]),
        (&json!("disabled"), &json!(true)),
        "{d}"
    );
    assert_err(
        &api.login_raw("doctor.ito", DEMO_PASSWORD, None).await,
        401,
        "invalid_credentials",
    );
    assert_err(&ito.get("/api/v1/me").await, 401, "unauthorized");
    assert_eq!(post_status(&oa, &format!("{ito_path}/enable")).await.0, 204);
    let again = server.login("doctor.ito").await;
    assert_eq!(again.account["disabled"], false, "{}", again.account);

    // Not outside it, not admins, not itself.
    let tanaka = server.login("teacher.tanaka").await;
    let sysadmin = create_invited(
        &admin,
        json!({"login": "hospital.sysadmin", "display_name": "病院 システム管理者",
            "kind": "admin", "org_id": hospital}),
    )
    .await;
    for target in [&tanaka.account_id, &admin.account_id, &sysadmin.id] {
        for action in ["disable", "enable", "reset"] {
            let r = post_status(&oa, &format!("/api/v1/accounts/{target}/{action}")).await;
            assert_eq!(r.0, 403, "org admin {action} {target}: {}", r.1);
            assert_err(&r, 403, "forbidden");
        }
    }
    // Its own account is in its organization, but no administrator locks itself out.
    let r = post_status(&oa, &format!("/api/v1/accounts/{}/disable", oa.account_id)).await;
    assert_err(&r, 409, "conflict");
    assert_eq!(tanaka.get("/api/v1/me").await.0, 200);
    assert_eq!(oa.get("/api/v1/me").await.0, 200);
    server.login("teacher.tanaka").await;
    server.login("admin").await;

    // Reset of an invited account: the old code is void, the new one works.
    let (st, v) = post_status(&oa, &format!("/api/v1/accounts/{}/reset", nurse.id)).await;
    assert_eq!(st, 200, "reset: {v}");
    let (code, _) = invitation_of(&reg, &v);
    assert_ne!(code, nurse.code);
    let npw = strong_password(&reg);
    assert_err(
        &accept_raw(&api, &nurse.code, &npw).await,
        401,
        "invalid_credentials",
    );
    let ns = accept(&api, &code, &npw).await;
    assert_eq!(ns.account["login"], "nurse.hospital");

    // A plain professional and a guardian administer nothing.
    let mori = server.login("doctor.mori").await;
    let guardian = server.login("guardian.sato").await;
    for s in [&mori, &guardian] {
        assert_err(
            &s.get("/api/v1/accounts?managed=true").await,
            403,
            "forbidden",
        );
        let r = s
            .post(
                "/api/v1/accounts",
                &json!({"login": "x.plain", "display_name": "拒否", "kind": "professional",
                    "profession": "nurse"}),
            )
            .await;
        assert_err(&r, 403, "forbidden");
        for action in ["disable", "enable", "reset"] {
            let r = post_status(s, &format!("{ito_path}/{action}")).await;
            assert_err(&r, 403, "forbidden");
        }
    }
    assert_eq!(
        again.get("/api/v1/me").await.0,
        200,
        "doctor.ito was touched"
    );
    assert!(managed(&admin)
        .await
        .iter()
        .all(|r| r["login"] != "x.plain"));

    // The admin: not itself (409), unknown ids 404.
    assert_err(
        &post_status(
            &admin,
            &format!("/api/v1/accounts/{}/disable", admin.account_id),
        )
        .await,
        409,
        "conflict",
    );
    let unknown = uuid::Uuid::now_v7();
    for action in ["disable", "enable", "reset"] {
        assert_err(
            &post_status(&admin, &format!("/api/v1/accounts/{unknown}/{action}")).await,
            404,
            "not_found",
        );
    }
    assert_eq!(admin.get("/api/v1/me").await.0, 200);
    server.check_logs();
}

/// Disable: sessions and sockets end at once, push subscriptions are
/// removed, login fails, guardians see `disabled`; enable restores login.
/// Reset: password and TOTP cleared, sessions end, a new invitation works.
#[tokio::test]
async fn disable_enable_and_reset_an_account() {
    let sink = PushCounter::start().await;
    let server = Server::demo_with(&[
        "--escalation-delay",
        "1",
        "--login-max-failures-per-account",
        "100",
        "--push-insecure-origin",
        &sink.origin,
    ])
    .await;
    let api = server.api();
    let reg = server.registry.clone();
    let admin = server.login("admin").await;
    let guardian = server.login("guardian.sato").await;
    let child = guardian.child_id(HINATA).await;

    // schoolnurse.ogawa: tier 2 of HINATA, two sessions with sockets, a push subscription.
    let n1 = server.login("schoolnurse.ogawa").await;
    let n2 = server.login("schoolnurse.ogawa").await;
    let nurse_path = sink.new_path(&reg);
    let nurse_sub = push_subscribe(&n1, &format!("{}{nurse_path}", sink.origin)).await;
    let guardian_path = sink.new_path(&reg);
    let guardian_sub = push_subscribe(&guardian, &format!("{}{guardian_path}", sink.origin)).await;
    let mut w = n1.ws().await;
    w.subscribe(&child, 0).await;
    let sock1 = Watched::new("nurse socket 1", w);
    let sock2 = Watched::new("nurse socket 2", n2.ws().await);

    let path = format!("/api/v1/accounts/{}", n1.account_id);
    let (st, body) = post_status(&admin, &format!("{path}/disable")).await;
    assert_eq!(st, 204, "disable: {body}");
    for s in [&sock1, &sock2] {
        s.expect_4401(Some("session ended"), Instant::now() + secs(5.0))
            .await;
    }
    for s in [&n1, &n2] {
        let r = s.get("/api/v1/me").await;
        assert_err(&r, 401, "unauthorized");
        assert_err(&api.refresh_raw(&s.refresh).await, 401, "unauthorized");
    }
    assert_err(
        &api.login_raw("schoolnurse.ogawa", DEMO_PASSWORD, None)
            .await,
        401,
        "invalid_credentials",
    );
    let (st, members) = guardian
        .get(&format!("/api/v1/children/{child}/members"))
        .await;
    assert_eq!(st, 200, "{members}");
    for m in members.as_array().unwrap() {
        let want = m["account_id"] == n1.account_id.as_str();
        assert_eq!(m["disabled"], want, "member row: {m}");
    }

    // Its push subscription is gone: an alert that reaches tier 2 pushes to
    // the guardian (tier 1) but never to the nurse.
    let raiser = server.login("teacher.tanaka").await;
    let alert = raiser.raise_alert(&child, &server.marker()).await;
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + secs(5.0);
    while sink.count(&guardian_path) == 0 {
        assert!(Instant::now() < deadline, "no push to the guardian");
        tokio::time::sleep(secs(0.05)).await;
    }
    tokio::time::sleep(secs(3.0)).await; // tier 2 at 1 s, tier 3 at 2 s
    assert_eq!(sink.count(&nurse_path), 0, "pushed to a disabled account");
    let (st, a) = guardian
        .post_empty(&format!("/api/v1/alerts/{alert_id}/ack"))
        .await;
    assert_eq!(st, 200, "{a}");

    // Enable: login works again; the subscription stays deleted.
    assert_eq!(post_status(&admin, &format!("{path}/enable")).await.0, 204);
    let n3 = server.login("schoolnurse.ogawa").await;
    assert_eq!(n3.account["disabled"], false);
    assert_err(
        &n3.delete(&format!("/api/v1/push/subscriptions/{nurse_sub}"), None)
            .await,
        404,
        "not_found",
    );
    assert_eq!(
        guardian
            .delete(&format!("/api/v1/push/subscriptions/{guardian_sub}"), None)
            .await
            .0,
        204,
        "the guardian's subscription was removed too"
    );
    let (_, members) = guardian
        .get(&format!("/api/v1/children/{child}/members"))
        .await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["disabled"] == false),
        "{members}"
    );

    // Reset: enrol TOTP first, keep a session with a socket.
    let (_dev, codes) = enrol_totp(&api, &n3.access, &json!({"password": DEMO_PASSWORD})).await;
    assert_err(
        &api.login_raw("schoolnurse.ogawa", DEMO_PASSWORD, None)
            .await,
        401,
        "totp_required",
    );
    let (st, v) = login_recovery(&api, "schoolnurse.ogawa", DEMO_PASSWORD, &codes[0]).await;
    assert_eq!(st, 200, "{v}");
    let n4 = Session::from_login(api.clone(), &v);
    let sock4 = Watched::new("nurse socket before reset", n4.ws().await);
    let (st, v) = post_status(&admin, &format!("{path}/reset")).await;
    assert_eq!(st, 200, "reset: {v}");
    let (code, _) = invitation_of(&reg, &v);
    sock4
        .expect_4401(Some("session ended"), Instant::now() + secs(5.0))
        .await;
    for s in [&n3, &n4] {
        assert_err(&s.get("/api/v1/me").await, 401, "unauthorized");
    }
    assert_err(
        &api.login_raw("schoolnurse.ogawa", DEMO_PASSWORD, None)
            .await,
        401,
        "invalid_credentials",
    );
    assert_err(
        &login_recovery(&api, "schoolnurse.ogawa", DEMO_PASSWORD, &codes[1]).await,
        401,
        "invalid_credentials",
    );
    assert_eq!(
        row_of(&managed(&admin).await, "schoolnurse.ogawa")["status"],
        "invited"
    );
    let pw = strong_password(&reg);
    let n5 = accept(&api, &code, &pw).await;
    let t = totp_state(&api, &n5.access).await;
    assert_eq!(t["enrolled"], false, "TOTP survived the reset: {t}");
    assert_eq!(t["recovery_codes_left"], 0, "{t}");
    login_pw(&api, "schoolnurse.ogawa", &pw).await;
    assert_err(
        &api.login_raw("schoolnurse.ogawa", DEMO_PASSWORD, None)
            .await,
        401,
        "invalid_credentials",
    );
    // Memberships stayed through all of it.
    assert_eq!(n5.child_id(HINATA).await, child);
    server.check_logs();
}

/// Issue 19, onboarding: a coordinator (a profession that registers
/// children) invites a child's guardians itself; nothing else.
#[tokio::test]
async fn coordinators_invite_guardians_of_the_children_they_register() {
    let server = Server::demo().await;
    let api = server.api();
    let coordinator = server.login("coordinator.yamada").await;
    let phn = server.login("phn.kato").await;
    let teacher = server.login("teacher.tanaka").await;
    let family =
        |login: &str, kind: &str| json!({"login": login, "display_name": "青空 母", "kind": kind});

    // Neither a teacher nor a guardian invites anyone.
    let guardian = server.login("guardian.sato").await;
    for s in [&teacher, &guardian] {
        let r = s
            .post("/api/v1/accounts", &family("g.refused", "guardian"))
            .await;
        assert_err(&r, 403, "forbidden");
    }
    // A coordinator invites families only, by invitation, with no organization.
    let hospital = org_id(&coordinator, HOSPITAL).await;
    let refused = [
        json!({"login": "c.pro", "display_name": "看護 師", "kind": "professional", "profession": "nurse"}),
        json!({"login": "c.admin", "display_name": "管理 者", "kind": "admin"}),
        json!({"login": "c.pw", "display_name": "青空 母", "kind": "guardian",
            "password": strong_password(&server.registry)}),
        json!({"login": "c.org", "display_name": "青空 母", "kind": "guardian", "org_id": hospital}),
        json!({"login": "c.oad", "display_name": "青空 母", "kind": "guardian", "org_admin": true}),
    ];
    for body in &refused {
        let r = coordinator.post("/api/v1/accounts", body).await;
        assert_err(&r, 403, "forbidden");
    }
    let admin = server.login("admin").await;
    let logins: Vec<Value> = managed(&admin)
        .await
        .iter()
        .map(|a| a["login"].clone())
        .collect();
    for body in &refused {
        assert!(
            !logins.contains(&body["login"]),
            "refused, yet created: {body}"
        );
    }

    let mother = create_invited(&coordinator, family("aozora.mother", "guardian")).await;
    assert_account_shape(&mother.account);
    assert_eq!(mother.account["kind"], "guardian");
    assert!(mother.account["org_id"].is_null() && mother.account["profession"].is_null());
    let youth = create_invited(&phn, family("aozora.youth", "youth")).await;
    assert_eq!(youth.account["kind"], "youth");

    // The child, with the invited guardian; the guardian accepts and sees it.
    let (st, child) = coordinator
        .post(
            "/api/v1/children",
            &json!({"name": "青空 はると", "name_kana": "あおぞら はると",
                "birth_date": "2019-05-05", "disease_group": 4, "diagnosis": "先天性心疾患",
                "guardians": [mother.id]}),
        )
        .await;
    assert_eq!(st, 201, "{child}");
    let pw = strong_password(&server.registry);
    let g = accept(&api, &mother.code, &pw).await;
    assert_eq!(
        g.child_id("青空 はると").await,
        child["id"].as_str().unwrap()
    );
    let (st, profile) = g
        .get(&format!(
            "/api/v1/children/{}",
            child["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(st, 200, "{profile}");
    assert_eq!(profile["diagnosis"], "先天性心疾患");
    // The code was good once.
    assert_err(
        &accept_raw(&api, &mother.code, &pw).await,
        401,
        "invalid_credentials",
    );
}

/// Issue 19: `PATCH /orgs/{id}` edits any of the directory's fields (admin).
#[tokio::test]
async fn admins_edit_organizations() {
    let server = Server::demo().await;
    let admin = server.login("admin").await;
    let school = org_id(&admin, SCHOOL).await;
    let path = format!("/api/v1/orgs/{school}");
    let (st, v) = admin
        .patch(
            &path,
            &json!({"contact": "職員室 0000-00-0000（平日 8:00–17:00）", "summary": "新しい紹介"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["id"], school.as_str());
    assert_eq!(v["name"], SCHOOL, "an absent field stays: {v}");
    assert_eq!(v["field"], "education");
    assert_eq!(v["contact"], "職員室 0000-00-0000（平日 8:00–17:00）");
    // Everyone's list shows the change.
    let teacher = server.login("teacher.tanaka").await;
    let (_, list) = teacher.get("/api/v1/orgs").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == school.as_str())
        .cloned();
    assert_eq!(listed.unwrap()["summary"], "新しい紹介");
    let (st, v) = admin
        .patch(
            &path,
            &json!({"name": "みどり市立第一小学校（本校）", "field": "npo"}),
        )
        .await;
    assert_eq!(
        (st, &v["name"], &v["field"]),
        (200, &json!("みどり市立第一小学校（本校）"), &json!("npo"))
    );

    // Validated as POST /orgs is; refused edits change nothing.
    assert_err(
        &admin.patch(&path, &json!({"name": "  "})).await,
        400,
        "bad_request",
    );
    assert_err(
        &admin.patch(&path, &json!({"field": "moon"})).await,
        400,
        "bad_request",
    );
    let long = "あ".repeat(201);
    assert_err(
        &admin.patch(&path, &json!({"name": long})).await,
        400,
        "bad_request",
    );
    assert_err(
        &admin.patch(&path, &json!({"website": "x"})).await,
        400,
        "bad_request",
    );
    assert_err(
        &teacher.patch(&path, &json!({"summary": "x"})).await,
        403,
        "forbidden",
    );
    let unknown = format!("/api/v1/orgs/{}", uuid::Uuid::now_v7());
    assert_err(
        &admin.patch(&unknown, &json!({"summary": "x"})).await,
        404,
        "not_found",
    );
    let (_, list) = admin.get("/api/v1/orgs").await;
    let now = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == school.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (&now["name"], &now["field"], &now["summary"]),
        (
            &json!("みどり市立第一小学校（本校）"),
            &json!("npo"),
            &json!("新しい紹介")
        )
    );
}
