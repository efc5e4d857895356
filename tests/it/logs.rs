//! Group 10: the server's logs never contain child data, entry text, tokens
//! or passwords, even at `RUST_LOG=trace` during a busy scenario. (Every
//! other test checks its own server's log at the end as well.) Each test
//! runs once per `--log-format`: with `json`, every line must also be one
//! JSON object (issue 22 point 3).

use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::*;

/// Log formats a test runs with: the flags, and whether lines are JSON.
#[derive(Clone, Copy)]
enum Format {
    Text,
    Json,
}

impl Format {
    fn flags(self) -> Vec<String> {
        match self {
            Format::Text => Vec::new(),
            Format::Json => vec!["--log-format".into(), "json".into()],
        }
    }

    /// With `json`: every line of the log is one JSON object with
    /// `timestamp`, `level` and `fields.message`, and a line logged inside
    /// a request carries the request span with its id. Asserts that some
    /// line does when `requests` were made.
    ///
    /// In both formats: no terminal colour codes, since stderr is a pipe
    /// here, as it is under systemd (the journal would store them raw).
    fn check(self, log: &str, requests: bool) {
        if let Some(line) = log.lines().find(|l| l.contains('\x1b')) {
            panic!("a terminal escape code in a log written to a pipe: {line:?}");
        }
        let Format::Json = self else {
            return;
        };
        let mut in_request = 0;
        for line in log.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
            assert!(v.is_object(), "not an object: {line}");
            assert!(v["timestamp"].is_string(), "no timestamp: {line}");
            assert!(
                ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                    .contains(&v["level"].as_str().unwrap_or("")),
                "no level: {line}"
            );
            assert!(
                v["fields"]["message"].is_string(),
                "no fields.message: {line}"
            );
            if v["span"]["name"] == "request" {
                let id = v["span"]["id"].as_str().unwrap_or("");
                assert!(
                    uuid::Uuid::parse_str(id).is_ok(),
                    "request id {id:?}: {line}"
                );
                in_request += 1;
            }
        }
        assert!(
            !requests || in_request > 0,
            "no line carries a request span:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn busy_scenario_at_trace_level_leaks_nothing_text() {
    busy_scenario(Format::Text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn busy_scenario_at_trace_level_leaks_nothing_json() {
    busy_scenario(Format::Json).await;
}

async fn busy_scenario(format: Format) {
    let server = Server::demo_opts(ServerOpts {
        rust_log: "trace".to_string(),
        flags: format.flags(),
        ..ServerOpts::default()
    })
    .await;
    let api = server.api();
    let m = server.marker();

    // Accounts: an admin creates one with a fresh password.
    let admin = server.login("admin").await;
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    server.registry.add("password", &password);
    let login = format!(
        "nurse.log{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let (st, acc) = admin
        .post(
            "/api/v1/accounts",
            &json!({"login": login, "password": password, "display_name": "記録 看護師",
                    "kind": "professional", "profession": "nurse"}),
        )
        .await;
    assert_eq!(st, 201, "{acc}");
    let nurse = api.login_with(&login, &password, None).await;
    let wrong = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    server.registry.add("password", &wrong);
    assert_err(
        &api.login_raw(&login, &wrong, None).await,
        401,
        "invalid_credentials",
    );
    assert_err(
        &api.login_raw(&format!("ghost-{m}"), &wrong, None).await,
        401,
        "invalid_credentials",
    );

    // TOTP enrolment.
    let (st, t) = nurse
        .post("/api/v1/me/totp", &json!({"password": password}))
        .await;
    api.record_tokens(&t);
    assert!(st == 200 || st == 201, "{t}");
    let secret = t["secret"].as_str().unwrap();
    let uri = t["otpauth_uri"].as_str().unwrap();
    server.registry.add("otpauth uri", uri);
    let totp = TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(secret.to_string()).to_bytes().unwrap(),
        None,
        String::new(),
    );
    let code = totp.generate_current().unwrap();
    // Near a step boundary the confirm may be refused; the log must be clean either way.
    let (_, confirmed) = nurse
        .post("/api/v1/me/totp/confirm", &json!({"code": code}))
        .await;
    for c in confirmed["recovery_codes"].as_array().into_iter().flatten() {
        server.registry.add("recovery code", c.as_str().unwrap());
    }

    // A child whose profile carries the marker.
    let g = server.login("guardian.sato").await;
    let child_name = format!("記録{m}");
    server.registry.add("child name", &child_name);
    let (st, c) = admin
        .post(
            "/api/v1/children",
            &json!({"name": child_name, "name_kana": format!("きろく{m}"), "birth_date": "2015-01-01",
                    "disease_group": 3, "diagnosis": format!("診断{m}"), "guardians": [g.account_id]}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let new_child = c["id"].as_str().unwrap().to_string();
    assert_eq!(g.get(&format!("/api/v1/children/{new_child}")).await.0, 200);

    // Reads and writes over HTTP and the socket.
    let child = g.child_id(HINATA).await;
    let coord = server.login("coordinator.yamada").await;
    let mut ws_c = coord.ws().await;
    ws_c.subscribe(&child, 0).await;
    let mut ws_g = g.ws().await;
    ws_g.subscribe(&child, 0).await;
    ws_g.subscribe(&new_child, 0).await;
    let e = g.note(&child, "family", &format!("家庭 {m}")).await;
    let f = ws_g
        .post(
            &child,
            &new_client_id(),
            "medical",
            "vital",
            json!({"measure": "blood_glucose", "value": 55, "unit": "mg/dL", "text": format!("低血糖 {m}")}),
        )
        .await;
    assert_eq!(f["type"], "posted", "{f}");
    let f = ws_g
        .post(
            &new_child,
            &new_client_id(),
            "family",
            "note",
            json!({"text": format!("新しい子 {m}")}),
        )
        .await;
    assert_eq!(f["type"], "posted", "{f}");
    let (st, r) = g
        .post(
            &format!(
                "/api/v1/children/{child}/entries/{}/revisions",
                e["id"].as_str().unwrap()
            ),
            &json!({"body": {"text": format!("訂正 {m}")}, "reason": format!("理由 {m}")}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    ws_g.send(json!({"type": "read", "child_id": child, "seq": r["seq"]}))
        .await;
    g.all_entries(&child).await;
    g.get(&format!("/api/v1/children/{child}/access-log")).await;

    // Errors that echo user input: the marker must not reach the log.
    ws_g.send_text(&format!("{{not json {m}")).await;
    assert_eq!(ws_g.recv_type("error").await.0["code"], "bad_request");
    ws_g.send(json!({"type": "subscribe", "child_id": child, "after_seq": 0, (m.clone()): m}))
        .await;
    assert_eq!(ws_g.recv_type("error").await.0["code"], "bad_request");
    let f = ws_g
        .post(
            &child,
            &new_client_id(),
            "family",
            "note",
            json!({"text": format!("{m}{}", long_text(20_001))}),
        )
        .await;
    assert_eq!(f["code"], "payload_too_large", "{f}");
    let r = g
        .post(
            &format!("/api/v1/children/{child}/entries"),
            &json!({"client_id": new_client_id(), "category": "family", "kind": "note",
                    "body": {"text": m, "note": m}}),
        )
        .await;
    assert_err(&r, 400, "bad_request");
    let r = api
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/children/{child}/entries"),
            Some(&g.access),
            format!("{{\"text\": \"{m}").into_bytes(),
        )
        .await;
    assert_err(&r, 400, "bad_request");
    let teacher = server.login("teacher.tanaka").await;
    let r = teacher
        .post_entry(&child, "medical", "note", json!({"text": m}))
        .await;
    assert_err(&r, 403, "forbidden");

    // Session lifecycle: refresh, reuse, logout.
    let s = server.login("doctor.ito").await;
    let mut ws_s = s.ws().await;
    let (st, v) = api.refresh_raw(&s.refresh).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(api.refresh_raw(&s.refresh).await.0, 401);
    ws_s.expect_close(4401).await;
    let s2 = server.login("doctor.ito").await;
    assert_eq!(s2.post_empty("/api/v1/auth/logout").await.0, 204);
    assert_eq!(api.get("/api/v1/me", Some(&s2.access)).await.0, 401);

    // Live fan-out still delivered (to be sure the scenario really ran).
    let (f, _) = ws_c.recv_type("entry").await;
    assert_eq!(f["entry"]["id"], e["id"]);

    server.check_logs();
    let log = server.log();
    let lines = log.lines().count();
    assert!(lines > 20, "log is almost empty ({lines} lines):\n{log}");
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "RUST_LOG=trace produced no debug output"
    );
    format.check(&log, true);
}

#[tokio::test]
async fn insecure_http_only_on_request_and_with_a_warning_text() {
    insecure_http(Format::Text).await;
}

#[tokio::test]
async fn insecure_http_only_on_request_and_with_a_warning_json() {
    insecure_http(Format::Json).await;
}

async fn insecure_http(format: Format) {
    let mut flags = format.flags();
    flags.push("--insecure-http".into());
    let server = Server::demo_opts(ServerOpts {
        flags,
        ..ServerOpts::default()
    })
    .await;
    assert!(
        server.base.starts_with("http://"),
        "listening line: {}",
        server.base
    );
    let api = server.api();
    let (st, h) = api.get("/healthz", None).await;
    assert_eq!((st, h), (200, json!({"status": "ok"})));
    let g = server.login("guardian.sato").await;
    let mut ws = g.ws().await;
    let child = g.child_id(HINATA).await;
    ws.subscribe(&child, 0).await;
    assert!(
        server.log().contains("WARN"),
        "no warning logged for --insecure-http"
    );
    server.check_logs();
    format.check(&server.log(), true);

    // Without the flag it is TLS.
    let tls = Server::demo_opts(ServerOpts {
        flags: format.flags(),
        ..ServerOpts::default()
    })
    .await;
    assert!(tls.base.starts_with("https://"), "{}", tls.base);
    tls.check_logs();
    format.check(&tls.log(), false);
}
