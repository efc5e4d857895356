//! Issue 17, sessions: a session ends when idle or too old (its refresh
//! token then answers `session_expired`, its bearer token 401, its sockets
//! 4401), while requests and socket frames keep it alive; a socket whose
//! access token expires closes 4401 unless renewed with a second `auth`
//! frame (only by a token of its own session); `GET /me/sessions`,
//! `DELETE /me/sessions/{id}` and `POST /auth/logout-all`; changing the
//! password ends every other session; two nodes see each other's ends.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Refreshes a session in place (a new pair of the same session), asserting 200.
async fn renew(s: &mut Session) {
    let (st, v) = s.api.refresh_raw(&s.refresh).await;
    assert_eq!(st, 200, "refresh {}: {v}", s.login);
    let fresh = Session::from_login(s.api.clone(), &v);
    s.access = fresh.access;
    s.refresh = fresh.refresh;
}

/// A `read` frame: client activity on a socket that changes nothing visible.
fn read_frame(child: &str, seq: i64) -> Value {
    json!({"type": "read", "child_id": child, "seq": seq})
}

/// Asserts a session is over: bearer 401 `unauthorized`, refresh 401 with
/// `refresh_code`, and a new socket with its token closed 4401.
async fn assert_session_over(s: &Session, refresh_code: &str, what: &str) {
    let r = s.get("/api/v1/me").await;
    assert_eq!(r.0, 401, "{what}: bearer after the end: {}", r.1);
    assert_err(&r, 401, "unauthorized");
    let r = s.api.refresh_raw(&s.refresh).await;
    assert_eq!(r.0, 401, "{what}: refresh after the end: {}", r.1);
    assert_err(&r, 401, refresh_code);
    let mut ws = Ws::connect(&s.api).await;
    ws.send(json!({"type": "auth", "access_token": s.access}))
        .await;
    ws.expect_close(4401).await;
}

/// Idle timeout 3 s, max age 14 s. An unused session ends after 3 s idle
/// (socket 4401 within 5 s); one kept busy by HTTP requests, and one kept
/// busy by socket frames only, outlive 3 + 5 s; both end by max age.
#[tokio::test]
async fn idle_sessions_end_and_busy_ones_last_until_max_age() {
    const IDLE: f64 = 3.0;
    const MAX_AGE: f64 = 14.0;
    let server =
        Server::demo_with(&["--session-idle-timeout", "3", "--session-max-age", "14"]).await;
    let api = server.api();
    let before_login = Instant::now();
    let busy_http = server.login("guardian.sato").await;
    let mut busy_ws = server.login("guardian.sato").await;
    let idle = server.login("guardian.sato").await;
    let after_login = Instant::now();
    let child = busy_http.child_id(HINATA).await;

    let mut w = busy_ws.ws().await;
    let (_, last) = w.subscribe(&child, 0).await;
    let busy_sock = Watched::new("socket kept busy by frames", w);
    let idle_login_done = Instant::now();
    let idle_sock = Watched::new("idle session's socket", idle.ws().await);
    let idle_last_activity = Instant::now();

    // Both busy sessions are used once a second for 9.5 s: past the idle
    // timeout plus the 5 s the server has to notice it.
    let checked_at = idle_last_activity + secs(9.5);
    while Instant::now() < checked_at {
        let (st, me) = busy_http.get("/api/v1/me").await;
        assert_eq!(st, 200, "session in use every second ended: {me}");
        busy_sock.send(read_frame(&child, last));
        tokio::time::sleep(secs(1.0)).await;
    }
    busy_sock.assert_open("while it sent a frame every second");

    // The idle one ended, its socket closed within 5 s of the expiry.
    let end = idle_sock
        .expect_4401(Some("session expired"), Instant::now())
        .await;
    let after = end.at.duration_since(idle_login_done);
    assert!(
        after >= secs(IDLE - 1.0),
        "idle session ended {after:?} after its last use (idle timeout 3 s)"
    );
    assert!(
        end.at <= idle_last_activity + secs(IDLE + 5.5),
        "idle session's socket closed {:?} after its last use",
        end.at.duration_since(idle_last_activity)
    );
    assert_session_over(&idle, "session_expired", "idle session").await;

    // The session kept alive by socket frames alone still works, and the
    // socket still gets live entries.
    let (st, me) = busy_ws.get("/api/v1/me").await;
    assert_eq!(
        st, 200,
        "socket frames did not keep the session alive: {me}"
    );
    renew(&mut busy_ws).await;
    let since = Instant::now();
    let e = busy_http.note(&child, "family", &server.marker()).await;
    busy_sock.wait_entry(&e["id"], since).await;

    // Max age: both busy sessions end 14 s after login despite activity
    // (the refresh above does not extend it).
    let deadline = after_login + secs(MAX_AGE + 6.0);
    let http_end = loop {
        let r = busy_http.get("/api/v1/me").await;
        let now = Instant::now();
        if r.0 != 200 {
            assert_err(&r, 401, "unauthorized");
            break now;
        }
        assert!(
            now < deadline,
            "session alive {:?} after login (max age 14 s)",
            now.duration_since(before_login)
        );
        busy_sock.send(read_frame(&child, last));
        tokio::time::sleep(secs(1.0)).await;
    };
    assert!(
        http_end >= before_login + secs(MAX_AGE - 1.0),
        "busy session ended {:?} after login, before its max age of 14 s",
        http_end.duration_since(before_login)
    );
    let ws_end = busy_sock
        .expect_4401(Some("session expired"), deadline)
        .await;
    assert!(
        ws_end.at >= before_login + secs(MAX_AGE - 1.0),
        "socket of a busy session closed {:?} after login",
        ws_end.at.duration_since(before_login)
    );
    assert_session_over(&busy_http, "session_expired", "old session (HTTP)").await;
    assert_session_over(&busy_ws, "session_expired", "old session (socket)").await;

    // A new login of the same account is unaffected.
    let again = api.login("guardian.sato").await;
    assert_eq!(again.get("/api/v1/me").await.0, 200);
    server.check_logs();
}

/// Access tokens of 2 s on sockets: an unrenewed socket closes 4401 within
/// 5 s of its token's `exp`; one renewed with `auth` frames (answered by
/// `ready` with the ref) stays open and gets live entries; a token of
/// another session is refused with an error frame, and that socket closes
/// at its own token's `exp`.
#[tokio::test]
async fn sockets_close_when_their_access_token_expires_unless_renewed() {
    let server = Server::demo_with(&["--access-token-ttl", "2"]).await;
    let api = server.api();
    let mut poster = server.login("guardian.sato").await;
    let child = poster.child_id(HINATA).await;

    let unrenewed = server.login("guardian.sato").await;
    let (st, v) = api.login_raw("guardian.sato", DEMO_PASSWORD, None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["expires_in"], 2, "{v}");
    let mut w = unrenewed.ws().await;
    w.subscribe(&child, 0).await;
    let exp_unrenewed = token_exp(&unrenewed.access);
    let sock_unrenewed = Watched::new("unrenewed socket", w);

    // A socket offered someone else's token: refused, keeps its own.
    let mut other_session = server.login("guardian.sato").await;
    let mut doctor = server.login("doctor.ito").await;
    let foreign = server.login("guardian.sato").await;
    let mut w = foreign.ws().await;
    w.subscribe(&child, 0).await;
    let exp_foreign = token_exp(&foreign.access);
    renew(&mut other_session).await;
    renew(&mut doctor).await;
    for (r, token) in [("x1", &other_session.access), ("x2", &doctor.access)] {
        w.send(json!({"type": "auth", "access_token": token, "ref": r}))
            .await;
        let (err, _) = w.recv_type("error").await;
        assert_eq!(err["code"], "unauthorized", "{err}");
        assert_eq!(err["ref"], r, "{err}");
    }
    let sock_foreign = Watched::new("socket offered another session's token", w);
    renew(&mut poster).await;
    let since = Instant::now();
    let e = poster.note(&child, "family", &server.marker()).await;
    sock_foreign.wait_entry(&e["id"], since).await;

    // Renewed every ~0.7 s until 6.5 s past the first token's exp.
    let mut renewed = server.login("guardian.sato").await;
    let mut w = renewed.ws().await;
    w.subscribe(&child, 0).await;
    let exp_first = token_exp(&renewed.access);
    let sock_renewed = Watched::new("renewed socket", w);
    let mut n = 0;
    let mut last_exp = exp_first;
    while unix_now() < exp_first + 6.5 {
        renew(&mut renewed).await;
        let r = format!("renew-{n}");
        n += 1;
        let since = Instant::now();
        sock_renewed.send(json!({"type": "auth", "access_token": renewed.access, "ref": r}));
        let ready = sock_renewed
            .wait_frame("ready", since, since + secs(5.0), |v| {
                v["ref"] == r.as_str()
            })
            .await;
        assert_eq!(ready["type"], "ready", "{ready}");
        assert_eq!(
            ready["account_id"].as_str(),
            Some(renewed.account_id.as_str())
        );
        last_exp = token_exp(&renewed.access);
        tokio::time::sleep(secs(0.7)).await;
    }
    sock_renewed.assert_open("while renewed");
    renew(&mut poster).await;
    let since = Instant::now();
    let e = poster.note(&child, "family", &server.marker()).await;
    sock_renewed.wait_entry(&e["id"], since).await;

    for (sock, exp) in [
        (&sock_unrenewed, exp_unrenewed),
        (&sock_foreign, exp_foreign),
        (&sock_renewed, last_exp),
    ] {
        let deadline = Instant::now() + secs((exp + 6.0 - unix_now()).max(0.5));
        let end = sock.expect_4401(Some("token expired"), deadline).await;
        assert!(
            end.unix >= exp - 1.0,
            "{}: closed {:.1} s before its token's exp",
            sock.name,
            exp - end.unix
        );
        assert!(
            end.unix <= exp + 5.5,
            "{}: closed {:.1} s after its token's exp",
            sock.name,
            end.unix - exp
        );
    }
    // The sessions themselves live on: a refresh gives a working token.
    for s in [&mut renewed, &mut other_session] {
        renew(s).await;
        assert_eq!(s.get("/api/v1/me").await.0, 200);
    }
    server.check_logs();
}

const UA_PHONE: &str = "RenrakuTest/1.0 (Android 14; Pixel 8)";

fn long_user_agent() -> String {
    let mut ua = String::from("Mozilla/5.0 (X11; Linux x86_64) ");
    let mut i = 0;
    while ua.len() < 300 {
        ua.push_str(&format!("Part{i}/1.{i} "));
        i += 1;
    }
    ua
}

async fn list_sessions(s: &Session) -> Vec<Value> {
    let (st, v) = s.get("/api/v1/me/sessions").await;
    assert_eq!(st, 200, "GET /me/sessions: {v}");
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .clone()
}

fn ids_of(list: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = list
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `GET /me/sessions`: shape, `current`, user agents (cut to 200), no
/// tokens, most recently used first; `DELETE /me/sessions/{id}`;
/// `POST /auth/logout-all`.
#[tokio::test]
async fn sessions_are_listed_and_ended_one_by_one_or_all_at_once() {
    let server = Server::demo().await;
    let api = server.api();
    let long_ua = long_user_agent();
    let login = |ua: Option<String>| {
        let api = api.clone();
        async move {
            let (st, v) = login_ua(&api, "guardian.sato", DEMO_PASSWORD, ua.as_deref()).await;
            assert_eq!(st, 200, "{v}");
            Session::from_login(api, &v)
        }
    };
    let a = login(Some(UA_PHONE.to_string())).await;
    let b = login(Some(long_ua.clone())).await;
    let c = login(None).await;
    let d = server.login("guardian.takahashi").await;
    let (sa, sb, sc, sd) = (
        session_id_of(&a.access),
        session_id_of(&b.access),
        session_id_of(&c.access),
        session_id_of(&d.access),
    );
    let child = a.child_id(HINATA).await;
    let watch = |name: &'static str, s: Session| {
        let child = child.clone();
        async move {
            let mut w = s.ws().await;
            w.subscribe(&child, 0).await;
            Watched::new(name, w)
        }
    };
    let ws_a = watch("a", a.clone()).await;
    let ws_b = watch("b", b.clone()).await;
    let ws_c = watch("c", c.clone()).await;
    let d_child = d.child_id(SOTA).await;
    let mut w = d.ws().await;
    w.subscribe(&d_child, 0).await;
    let ws_d = Watched::new("d (another account)", w);
    // Use order (a second apart): b's socket, a, c.
    tokio::time::sleep(secs(1.1)).await;
    assert_eq!(a.get("/api/v1/me").await.0, 200);
    tokio::time::sleep(secs(1.1)).await;
    assert_eq!(c.get("/api/v1/me").await.0, 200);

    let list = list_sessions(&a).await;
    assert_eq!(
        ids_of(&list),
        sorted(vec![sa.clone(), sb.clone(), sc.clone()])
    );
    let text = serde_json::to_string(&list).unwrap();
    for s in [&a, &b, &c, &d] {
        assert!(!text.contains(&s.access), "an access token in {text}");
        assert!(!text.contains(&s.refresh), "a refresh token in {text}");
    }
    for row in &list {
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["created_at", "current", "id", "last_used_at", "user_agent"],
            "{row}"
        );
        let created = parse_rfc3339(row["created_at"].as_str().unwrap());
        let used = parse_rfc3339(row["last_used_at"].as_str().unwrap());
        assert!(used >= created, "{row}");
        let id = row["id"].as_str().unwrap();
        assert_eq!(row["current"], id == sa, "{row}");
        let want_ua = match id {
            x if x == sa => json!(UA_PHONE),
            x if x == sb => json!(long_ua.chars().take(200).collect::<String>()),
            _ => Value::Null,
        };
        assert_eq!(row["user_agent"], want_ua, "{row}");
    }
    let used: Vec<_> = list
        .iter()
        .map(|r| parse_rfc3339(r["last_used_at"].as_str().unwrap()))
        .collect();
    assert!(
        used.windows(2).all(|w| w[0] >= w[1]),
        "not most recently used first: {list:?}"
    );
    // b was used least recently (at its login and socket).
    assert_eq!(list[2]["id"], sb.as_str(), "{list:?}");

    // Malformed, unknown, and another account's session: nothing ends.
    assert_err(
        &a.delete("/api/v1/me/sessions/not-a-uuid", None).await,
        400,
        "bad_request",
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_err(
        &a.delete(&format!("/api/v1/me/sessions/{unknown}"), None)
            .await,
        404,
        "not_found",
    );
    assert_err(
        &a.delete(&format!("/api/v1/me/sessions/{sd}"), None).await,
        404,
        "not_found",
    );
    assert_eq!(d.get("/api/v1/me").await.0, 200, "d's session ended");
    assert_eq!(list_sessions(&a).await.len(), 3);

    // Ending b from a.
    let (st, body) = a.delete(&format!("/api/v1/me/sessions/{sb}"), None).await;
    assert_eq!((st, &body), (204, &Value::Null), "DELETE b: {body}");
    ws_b.expect_4401(Some("session ended"), Instant::now() + secs(5.0))
        .await;
    assert_session_over(&b, "unauthorized", "deleted session").await;
    assert_eq!(
        ids_of(&list_sessions(&a).await),
        sorted(vec![sa.clone(), sc.clone()])
    );
    assert_err(
        &a.delete(&format!("/api/v1/me/sessions/{sb}"), None).await,
        404,
        "not_found",
    );
    // The others are untouched, sockets included.
    let since = Instant::now();
    let e = c.note(&child, "family", &server.marker()).await;
    ws_a.wait_entry(&e["id"], since).await;
    ws_c.wait_entry(&e["id"], since).await;

    // logout-all from c: a and c end, sockets 4401; d (another account) stays.
    let (st, body) = c.post_empty("/api/v1/auth/logout-all").await;
    assert_eq!(st, 204, "logout-all: {body}");
    for w in [&ws_a, &ws_c] {
        w.expect_4401(Some("session ended"), Instant::now() + secs(5.0))
            .await;
    }
    assert_session_over(&a, "unauthorized", "a after logout-all").await;
    assert_session_over(&c, "unauthorized", "c after logout-all").await;
    let since = Instant::now();
    let e = d.note(&d_child, "family", &server.marker()).await;
    ws_d.wait_entry(&e["id"], since).await;
    let d_list = list_sessions(&d).await;
    assert_eq!(ids_of(&d_list), vec![sd.clone()]);
    assert_eq!(d_list[0]["current"], true);
    // A new login is the only session then.
    let fresh = api.login("guardian.sato").await;
    let list = list_sessions(&fresh).await;
    assert_eq!(ids_of(&list), vec![session_id_of(&fresh.access)]);
    assert_eq!(list[0]["current"], true);
    server.check_logs();
}

/// `POST /me/password`: bad requests, a wrong current password and weak new
/// passwords change nothing; success ends every other session (sockets
/// 4401) and keeps the caller's; the old password stops working.
#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "3"]).await;
    let api = server.api();
    let me = server.login("guardian.sato").await;
    let other = server.login("guardian.sato").await;
    let child = me.child_id(HINATA).await;
    let mut w = me.ws().await;
    w.subscribe(&child, 0).await;
    let my_sock = Watched::new("caller's socket", w);
    let mut w = other.ws().await;
    w.subscribe(&child, 0).await;
    let other_sock = Watched::new("other session's socket", w);
    let new_pw = strong_password(&server.registry);

    // Malformed bodies: 400 bad_request.
    for body in [
        json!({"current_password": DEMO_PASSWORD, "new_password": new_pw, "extra": 1}),
        json!({"new_password": new_pw}),
        json!({"current_password": DEMO_PASSWORD}),
        json!({"current_password": DEMO_PASSWORD, "new_password": 12345678901234_i64}),
    ] {
        assert_err(
            &me.post("/api/v1/me/password", &body).await,
            400,
            "bad_request",
        );
    }
    // A wrong current password: 401 invalid_credentials (one failure).
    let wrong = "wrong-password-123";
    assert_err(
        &change_password(&me, wrong, &new_pw).await,
        401,
        "invalid_credentials",
    );
    // Weak new passwords: 400 weak_password.
    let too_long: String = "Kaeru-no-Uta-2026-Hoshizora!"
        .repeat(10)
        .chars()
        .take(257)
        .collect();
    for weak in [
        "password1234",
        "short-pw",
        too_long.as_str(),
        "guardian.sato",
    ] {
        let r = change_password(&me, DEMO_PASSWORD, weak).await;
        assert_eq!(r.0, 400, "weak password {weak:?} accepted: {}", r.1);
        assert_err(&r, 400, "weak_password");
    }
    // Nothing changed: the old password works, and so do both sessions.
    api.login("guardian.sato").await;
    assert_eq!(other.get("/api/v1/me").await.0, 200);
    other_sock.assert_open("after refused password changes");

    let (st, body) = change_password(&me, DEMO_PASSWORD, &new_pw).await;
    assert_eq!(st, 204, "change password: {body}");
    other_sock
        .expect_4401(Some("session ended"), Instant::now() + secs(5.0))
        .await;
    assert_session_over(&other, "unauthorized", "other session").await;
    assert_eq!(me.get("/api/v1/me").await.0, 200, "caller's session ended");
    let since = Instant::now();
    let e = me.note(&child, "family", &server.marker()).await;
    my_sock.wait_entry(&e["id"], since).await;
    let (st, v) = api.refresh_raw(&me.refresh).await;
    assert_eq!(st, 200, "caller's refresh: {v}");
    // Second failure of this account: the old password.
    assert_err(
        &api.login_raw("guardian.sato", DEMO_PASSWORD, None).await,
        401,
        "invalid_credentials",
    );
    let again = login_pw(&api, "guardian.sato", &new_pw).await;
    // 256 characters is still allowed.
    let longest: String = too_long.chars().take(256).collect();
    register_password(&server.registry, &longest);
    let (st, body) = change_password(&again, &new_pw, &longest).await;
    assert_eq!(st, 204, "a 256-character password: {body}");
    login_pw(&api, "guardian.sato", &longest).await;

    // A wrong current password counts as a failed login (limit 3): two
    // wrong logins and one wrong change, then even the right password is 429.
    let t = server.login("teacher.tanaka").await;
    for _ in 0..2 {
        assert_err(
            &api.login_raw("teacher.tanaka", wrong, None).await,
            401,
            "invalid_credentials",
        );
    }
    let tanaka_new = strong_password(&server.registry);
    assert_err(
        &change_password(&t, wrong, &tanaka_new).await,
        401,
        "invalid_credentials",
    );
    assert_err(
        &api.login_raw("teacher.tanaka", DEMO_PASSWORD, None).await,
        429,
        "rate_limited",
    );
    assert_err(
        &change_password(&t, DEMO_PASSWORD, &tanaka_new).await,
        429,
        "rate_limited",
    );
    assert_eq!(t.get("/api/v1/me").await.0, 200, "the session itself stays");
    server.check_logs();
}

/// Two nodes: a password change and a disable through node A close the
/// sockets on node B with 4401.
#[tokio::test]
async fn password_change_and_disable_on_node_a_close_sockets_on_node_b() {
    if test_postgres().is_none() {
        return;
    }
    let a = Server::demo().await;
    let b = a.second_node(&[]).await;
    let on_a = login_pw(&a.api(), "doctor.mori", DEMO_PASSWORD).await;
    let on_b = b.login("doctor.mori").await;
    let child = b.login("guardian.watanabe").await.child_id(REN).await;
    let mut w = on_b.ws().await;
    w.subscribe(&child, 0).await;
    let sock_b = Watched::new("doctor's socket on B", w);

    let new_pw = strong_password(&a.registry);
    let (st, body) = change_password(&on_a, DEMO_PASSWORD, &new_pw).await;
    assert_eq!(st, 204, "{body}");
    sock_b
        .expect_4401(Some("session ended"), Instant::now() + secs(5.0))
        .await;
    assert_session_over(&on_b, "unauthorized", "session on B").await;
    assert_eq!(on_a.get("/api/v1/me").await.0, 200);

    let again_b = login_pw(&b.api(), "doctor.mori", &new_pw).await;
    let mut w = again_b.ws().await;
    w.subscribe(&child, 0).await;
    let sock_b = Watched::new("doctor's new socket on B", w);
    let admin = a.login("admin").await;
    let (st, body) = admin
        .post_empty(&format!("/api/v1/accounts/{}/disable", on_a.account_id))
        .await;
    assert_eq!(st, 204, "disable: {body}");
    sock_b
        .expect_4401(Some("session ended"), Instant::now() + secs(5.0))
        .await;
    assert_session_over(&again_b, "unauthorized", "disabled account on B").await;
    assert_err(
        &b.api().login_raw("doctor.mori", &new_pw, None).await,
        401,
        "invalid_credentials",
    );
    a.check_logs();
    b.check_logs();
}
