//! Issue 18, point 5: the authorization matrix. The access policy is one
//! table (`policy.rs`: endpoint or frame × the caller's relation to the
//! child); one test calls every cell on a real server (on SQLite, and on
//! PostgreSQL when the suite runs there) and lists every cell whose answer
//! differs from the table. The server's routes and client frames are read
//! from the source (`routes.rs`), so a route or frame without a row, or a
//! row without a route, fails the test.

mod cells;
mod policy;
mod routes;
mod world;

use std::path::Path;

use policy::{Call, Row, POLICY, RELS};

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
    let server = Server::demo_with(&["--push-insecure-origin", cells::PUSH_ORIGIN]).await;
    let world = world::World::new(&server).await;
    let mut rows: Vec<&Row> = POLICY.iter().collect();
    rows.sort_by_key(|r| phase(r)); // stable: table order within a phase
    let started = std::time::Instant::now();
    let mut cells = 0;
    let mut mismatches = Vec::new();
    for row in rows {
        for (rel, want) in RELS.iter().zip(row.want) {
            let got = cells::call(&world, row, *rel).await;
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
