//! The demo opens in a browser (issue 22, point 6): `renraku demo` also
//! serves the web client and the API, WebSocket included, over plain HTTP
//! on loopback, printing that URL first; it refuses any other address; an
//! explicit address must bind, the default is skipped when taken.

use std::io::BufRead;
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn the_demo_serves_the_app_and_the_api_over_plain_http_on_loopback() {
    let server = Server::demo_with(&["--demo-http", "127.0.0.1:0"]).await;
    let out = server.stdout();
    let http_line = out.find("renraku demo for browsers: http://localhost:");
    let tls_line = out.find("renraku listening on https://");
    assert!(
        matches!((http_line, tls_line), (Some(h), Some(t)) if h < t),
        "the browser URL comes first:\n{out}"
    );
    let (url, api) = server.demo_http().unwrap();

    // The web client, with its CSP, and the manifest and service worker.
    let page = api.client.get(api.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert!(page.text().await.unwrap().contains("<html"));
    for file in ["/sw.js", "/manifest.webmanifest"] {
        let r = api.client.get(api.url(file)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{file}");
    }

    // The API: log in and read, as over TLS.
    let g = api.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    assert!(!child.is_empty());

    // The WebSocket: the page's own origin is allowed, another is not.
    // (The client speaks to 127.0.0.1, as a browser on localhost would
    // send Host and Origin with the same name.)
    let origin = url.replace("//localhost:", "//127.0.0.1:");
    let mut ws = Ws::connect_with_origin(&api, &origin).await;
    ws.send(serde_json::json!({"type": "auth", "access_token": g.access}))
        .await;
    assert_eq!(ws.recv().await["type"], "ready");
    let (entries, _) = ws.subscribe(&child, 0).await;
    assert!(!entries.is_empty());
    let refused = Ws::try_connect(&api, Some("https://evil.example")).await;
    assert!(refused.is_err(), "a foreign origin must be refused");

    // Posted over plain HTTP, seen over TLS.
    let tls = server.login("guardian.sato").await;
    let body = serde_json::json!({"text": server.marker()});
    let posted = g.post_entry(&child, "education", "note", body).await;
    assert_eq!(posted.0, 201, "{}", posted.1);
    let seen = tls.all_entries(&child).await;
    assert!(seen.iter().any(|e| e["id"] == posted.1["id"]));
    server.check_logs();
}

/// `renraku demo ARGS` in a fresh data dir: its exit status and output if
/// it exits within 30 s, or what it printed up to its listening line.
fn demo(args: &[&str]) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(bin())
        .arg("demo")
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DEMO_HTTP")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with("renraku listening on") {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    let seen = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let status = match child.try_wait().unwrap() {
        Some(s) => s.code(),
        None => {
            std::thread::sleep(Duration::from_millis(300));
            child.try_wait().unwrap().and_then(|s| s.code())
        }
    };
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (
        status,
        format!("{seen}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test]
async fn only_loopback_and_an_explicit_address_must_bind() {
    for addr in ["0.0.0.0:18080", "192.0.2.1:8080", "[::]:18080", "localhost"] {
        let (status, out) = demo(&["--demo-http", addr]);
        assert_eq!(status, Some(1), "--demo-http {addr}: {out}");
        assert!(out.contains("--demo-http"), "{addr}: {out}");
        assert!(!out.contains("renraku listening"), "{addr}: {out}");
    }
    // Taken: explicit fails, the default goes on without it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (status, out) = demo(&["--demo-http", &format!("127.0.0.1:{port}")]);
    assert_eq!(status, Some(1), "{out}");
    assert!(out.contains("binding 127.0.0.1:"), "{out}");
    // The default port: held here if it is free, else already taken by
    // something else; either way the demo must start without it.
    let _default = std::net::TcpListener::bind("127.0.0.1:8080");
    let (status, out) = demo(&[]);
    assert_eq!(status, None, "the demo must run: {out}");
    assert!(
        out.contains("127.0.0.1:8080 is not free") && out.contains("renraku listening on https://"),
        "{out}"
    );
    assert!(!out.contains("renraku demo for browsers"), "{out}");
    // `off`, and `serve` refuses the flag.
    let (status, out) = demo(&["--demo-http", "off"]);
    assert_eq!(status, None, "{out}");
    assert!(!out.contains("for browsers"), "{out}");
    let tmp = tempfile::tempdir().unwrap();
    let err = refused(
        "serve",
        &tmp.path().join("data"),
        &["--demo-http", "127.0.0.1:0"],
        "serve has no plain-HTTP demo listener",
    )
    .await;
    assert!(
        err.contains("--demo-http is for `renraku demo` only"),
        "{err}"
    );
}
