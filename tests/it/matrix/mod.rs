//! Issue 18, point 5: the authorization matrix. The access policy is one
//! table (`policy.rs`: endpoint or frame × the caller's relation to the
//! child); one test calls every cell on a real server (on SQLite, and on
//! PostgreSQL when the suite runs there) and lists every cell whose answer
//! differs from the table. The server's routes and client frames are read
//! from the source (`routes.rs`), so a route or frame without a row, or a
//! row without a route, fails the test.
//!
//! A cell compares more than the status: an error must have the contract's
//! body, a 2xx answer the right content (`content.rs`), and a refused write
//! must leave the child as it was (`effects.rs`). Two more tests walk every
//! route the source declares: an enrolment-only token opens none but TOTP
//! enrolment, and a method a path does not route answers 405 in the
//! contract's shape.

mod cells;
mod content;
mod effects;
mod frames;
mod policy;
mod requests;
mod routes;
mod world;

use std::path::Path;

use policy::{Call, Rel, Row, POLICY, RELS};

use crate::helpers::*;

/// Rows whose cells end sessions other rows rely on run last, in this order.
fn phase(row: &Row) -> u8 {
    match row.call {
        // Every other session of the account ends; the demo password is gone.
        Call::Http("POST", "/api/v1/me/password") => 1,
        // Every session of the account ends, the caller's own too.
        Call::Http("POST", "/api/v1/auth/logout-all") => 2,
        _ => 0,
    }
}

/// Every route and client frame against the table: the problems found.
fn coverage_problems() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let routes = match routes::server_routes(root) {
        Ok(r) => r,
        Err(e) => return vec![format!("reading the routes: {e}")],
    };
    let protocol = root.join("src/http/ws/protocol.rs");
    let frames = match std::fs::read_to_string(&protocol)
        .map_err(|e| e.to_string())
        .and_then(|s| routes::client_frames_of(&s))
    {
        Ok(f) => f,
        Err(e) => return vec![format!("reading the client frames: {e}")],
    };
    routes::coverage(&routes, &frames, POLICY)
}

#[test]
fn every_route_and_frame_has_a_row() {
    let problems = coverage_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn authorization_matrix() {
    let problems = coverage_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Info, not debug: thousands of requests at debug make a log of ~80 MB,
    // which the leak check (when the server drops) reads once per secret.
    let server = Server::demo_opts(ServerOpts {
        flags: vec!["--push-insecure-origin".into(), cells::PUSH_ORIGIN.into()],
        rust_log: "info".into(),
        ..ServerOpts::default()
    })
    .await;
    let world = world::World::new(&server).await;
    let mut rows: Vec<&Row> = POLICY.iter().collect();
    rows.sort_by_key(|r| phase(r)); // stable: table order within a phase
    let started = std::time::Instant::now();
    let mut cells = 0;
    let mut mismatches = Vec::new();
    for row in rows {
        for (rel, want) in RELS.iter().zip(row.want) {
            let got = cells::call(&world, row, *rel, want).await;
            cells += 1;
            if got.status != want {
                mismatches.push(format!(
                    "{} × {}: expected {want}, got {} {}",
                    row.name(),
                    rel.name(),
                    got.status,
                    got.detail.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    let summary = format!(
        "authorization matrix: {cells} cells ({} rows × {} relations) in {:.1} s",
        POLICY.len(),
        RELS.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{summary}");
    eprintln!("{summary}");
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ from the policy:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    server.check_logs();
}

/// Routes an enrolment-only token opens: TOTP enrolment, nothing else.
const ENROLMENT_ROUTES: [(&str, &str); 2] = [
    ("POST", "/api/v1/me/totp"),
    ("POST", "/api/v1/me/totp/confirm"),
];

/// Routes that take no bearer token at all (their rows say so: the
/// disabled account's cell is not 401), and the ones whose credential is
/// in the body.
fn is_public(method: &str, path: &str) -> bool {
    let body_credential = ["/api/v1/auth/login", "/api/v1/auth/refresh"];
    let disabled = RELS.iter().position(|r| *r == Rel::Disabled).unwrap_or(0); // ok: a column
    body_credential.contains(&path)
        || POLICY.iter().any(|r| {
            matches!(r.call, Call::Http(m, p) if m == method && p == path)
                && r.want[disabled] != 401
        })
}

/// A column the relations cannot give: the token a professional gets when
/// the policy asks it to enrol TOTP first. Every route the server has (read
/// from the source, as above) is called with it; only enrolment and public
/// routes may answer anything but 401, and the WebSocket refuses it.
#[tokio::test]
async fn an_enrolment_token_opens_nothing_but_enrolment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let routes = routes::server_routes(root).unwrap_or_else(|e| panic!("reading the routes: {e}"));
    let server = Server::demo_with(&["--totp-policy", "professionals"]).await;
    let api = server.api();
    let r = api.login_raw("doctor.ito", DEMO_PASSWORD, None).await;
    assert_err(&r, 403, "totp_enrollment_required");
    let token = r.1["enrollment_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no enrollment_token in {}", r.1))
        .to_string();
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (method, path) in &routes {
        if (method.as_str(), path.as_str()) == routes::WS_ROUTE || is_public(method, path) {
            continue;
        }
        // Ids of nothing: the token is refused before any id is looked at.
        let mut url = path.clone();
        while let (Some(a), Some(b)) = (url.find('{'), url.find('}')) {
            url.replace_range(a..=b, &uuid::Uuid::now_v7().to_string());
        }
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let body = (path.ends_with("/confirm")).then(|| serde_json::json!({"code": "000000"}));
        let (st, v) = api.request(m, &url, Some(&token), body.as_ref()).await;
        calls += 1;
        let opens = ENROLMENT_ROUTES.contains(&(method.as_str(), path.as_str()));
        if opens == (st == 401) {
            wrong.push(format!("{method} {path} with an enrolment token: {st} {v}"));
        }
    }
    let mut ws = Ws::connect(&api).await;
    ws.send(serde_json::json!({"type": "auth", "access_token": token}))
        .await;
    let f = ws.next_frame(std::time::Duration::from_secs(5)).await;
    if !matches!(&f, Frame::Json(v) if v["code"] == "unauthorized") {
        wrong.push(format!("ws auth with an enrolment token: {f:?}"));
    }
    eprintln!("enrolment token: {calls} routes called");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    server.check_logs();
}

/// Every path the server routes, with each method it does not route: 405
/// with `Allow` and the contract's error body, before any token is looked
/// at (the table's rows are the methods it does route).
#[tokio::test]
async fn a_method_no_route_has_gets_405_in_the_contracts_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let routes = routes::server_routes(root).unwrap_or_else(|e| panic!("reading the routes: {e}"));
    let server = Server::demo().await;
    let api = server.api();
    let mut paths: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (m, p) in &routes {
        paths.entry(p.as_str()).or_default().push(m.as_str());
    }
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (path, methods) in &paths {
        let mut url = path.to_string();
        while let (Some(a), Some(b)) = (url.find('{'), url.find('}')) {
            url.replace_range(a..=b, &uuid::Uuid::now_v7().to_string());
        }
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if methods.contains(&m) {
                continue;
            }
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap_or_default();
            let resp = api.client.request(method, api.url(&url)).send().await;
            let Ok(resp) = resp else {
                wrong.push(format!("{m} {path}: {resp:?}"));
                continue;
            };
            calls += 1;
            let allow = resp.headers().get("allow").cloned();
            let st = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let shaped = body["error"]["code"] == "method_not_allowed"
                && body["error"]["message"].is_string();
            if st != 405 || allow.is_none() || !shaped {
                wrong.push(format!("{m} {path}: {st}, allow {allow:?}, {body}"));
            }
        }
    }
    eprintln!("unrouted methods: {calls} calls");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
