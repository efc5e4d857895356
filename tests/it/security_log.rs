//! The administrators' security log (issue 18, point 7): authentication
//! events for admins only, never a secret or an unmatched login, and a
//! burst of failures coalesced instead of written row by row.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// The security log until `found` holds for its rows (10 s at most).
async fn security_log_until(admin: &Session, found: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, v) = admin.get("/api/v1/admin/security-log?limit=1000").await;
        assert_eq!(st, 200, "{v}");
        let rows = v.as_array().unwrap().clone(); // ok: 200 answers a list
        if found(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{rows:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn has(rows: &[Value], event: &str, account: Option<&str>) -> bool {
    rows.iter()
        .any(|r| r["event"] == event && account.is_none_or(|a| r["account_id"] == a))
}

#[tokio::test]
async fn the_security_log_records_authentication_events_for_admins_only() {
    let server = Server::demo().await;
    let api = server.api();
    let admin = server.login("admin").await;
    let sato = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    // Not an account: a mistyped password typed as the login, say.
    let unknown = "Kaeru-no-Uta-mistyped";
    assert_err(
        &api.login_raw(unknown, DEMO_PASSWORD, None).await,
        401,
        "invalid_credentials",
    );
    assert_err(
        &api.login_raw("guardian.sato", "wrong-password-123", None)
            .await,
        401,
        "invalid_credentials",
    );
    let new_pw = strong_password(&server.registry);
    let (st, v) = sato
        .post(
            "/api/v1/me/password",
            &json!({"current_password": DEMO_PASSWORD, "new_password": new_pw}),
        )
        .await;
    assert_eq!(st, 204, "{v}");
    let (st, v) = admin
        .post_empty(&format!("/api/v1/accounts/{}/disable", ito.account_id))
        .await;
    assert_eq!(st, 204, "{v}");

    let sato_id = sato.account_id.as_str();
    let ito_id = ito.account_id.as_str();
    let rows = security_log_until(&admin, |rows| {
        has(rows, "account_disabled", Some(ito_id)) && has(rows, "password_changed", Some(sato_id))
    })
    .await;
    for r in &rows {
        for k in ["id", "at", "event", "account_id", "address", "detail"] {
            assert!(r.get(k).is_some(), "row without {k}: {r}");
        }
    }
    assert!(
        has(&rows, "login", Some(admin.account_id.as_str())),
        "{rows:#?}"
    );
    assert!(has(&rows, "login", Some(sato_id)));
    assert!(rows.iter().any(|r| r["event"] == "login_failed"
        && r["account_id"] == sato_id
        && r["detail"] == "wrong password"
        && r["address"] == "127.0.0.1"));
    assert!(rows.iter().any(|r| r["event"] == "login_failed"
        && r["account_id"].is_null()
        && r["detail"] == "unknown login"));
    assert!(
        has(&rows, "session_ended", Some(ito_id)),
        "the disable ended ito's session"
    );
    // Never a password, and never the login that matched no account.
    let text = serde_json::to_string(&rows).unwrap(); // ok: values serialise
    for secret in [
        unknown,
        DEMO_PASSWORD,
        new_pw.as_str(),
        "wrong-password-123",
    ] {
        assert!(!text.contains(secret), "{secret} in the security log");
    }
    // Paging by id.
    let first = rows[0]["id"].as_i64().unwrap(); // ok: ids are numbers
    let (st, v) = admin
        .get(&format!("/api/v1/admin/security-log?after={first}&limit=1"))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(v[0]["id"].as_i64().unwrap() > first);

    // Others: 403.
    for who in ["guardian.takahashi", "coordinator.yamada"] {
        let s = server.login(who).await;
        assert_err(&s.get("/api/v1/admin/security-log").await, 403, "forbidden");
    }
    server.check_logs();
}

/// A burst of failures on one account from one address is one row, then
/// one row for the rate-limit hits that follow: not a row per attempt.
#[tokio::test]
async fn repeated_failures_are_coalesced_per_key_and_minute() {
    let server = Server::demo().await;
    let api = server.api();
    let admin = server.login("admin").await;
    let target = server.login("teacher.tanaka").await;
    let mut limited = 0;
    for _ in 0..12 {
        let st = api
            .login_raw("teacher.tanaka", "wrong-password-123", None)
            .await
            .0;
        assert!(st == 401 || st == 429, "{st}");
        limited += usize::from(st == 429);
    }
    assert!(limited > 0, "the account's limit must have been reached");
    let id = target.account_id.as_str();
    let rows = security_log_until(&admin, |rows| has(rows, "rate_limited", Some(id))).await;
    let of = |event: &str| {
        rows.iter()
            .filter(|r| r["event"] == event && r["account_id"] == id)
            .count()
    };
    assert_eq!(of("login_failed"), 1, "{rows:#?}");
    assert!(of("rate_limited") <= 1, "{rows:#?}");
    server.check_logs();
}

#[tokio::test]
async fn sessions_that_end_by_themselves_or_by_token_reuse_are_logged() {
    let server = Server::demo_with(&["--session-idle-timeout", "2"]).await;
    let api = server.api();
    // Reuse: a rotated refresh token presented again ends its session.
    let sato = server.login("guardian.sato").await;
    let (st, _) = api.refresh_raw(&sato.refresh).await;
    assert_eq!(st, 200);
    let (st, _) = api.refresh_raw(&sato.refresh).await;
    assert_eq!(st, 401);
    // Idle: a session unused past the timeout is ended by the sweep.
    let ito = server.login("doctor.ito").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (st, _) = ito.get("/api/v1/me").await;
    assert_eq!(st, 401, "the idle session has ended");
    let admin = server.login("admin").await;
    let ended = |rows: &[Value], account: &str, why: &str| {
        rows.iter().any(|r| {
            r["event"] == "session_ended"
                && r["account_id"] == account
                && r["detail"].as_str().is_some_and(|d| d.starts_with(why))
        })
    };
    security_log_until(&admin, |rows| {
        ended(rows, &sato.account_id, "reuse") && ended(rows, &ito.account_id, "expired")
    })
    .await;
}
