//! Lockout cannot be aimed at the rightful user (v1.1 "Abuse resistance"):
//! device tokens (the HttpOnly `renraku_device` cookie) exempt a browser
//! that logged in to an account before from that account's failure limit,
//! and `X-Forwarded-For` counts only from a `--trusted-proxy`.

use serde_json::json;

use crate::helpers::*;

/// A login with an optional `Cookie` and `X-Forwarded-For`: status, error
/// code, `Retry-After`, and the device cookie set (its value).
async fn login(
    server: &Server,
    login: &str,
    password: &str,
    cookie: Option<&str>,
    forwarded: Option<&str>,
) -> (u16, String, Option<String>, Option<String>) {
    let api = server.api();
    let mut rb = api
        .client
        .post(api.url("/api/v1/auth/login"))
        .json(&json!({"login": login, "password": password}));
    if let Some(c) = cookie {
        rb = rb.header("cookie", format!("renraku_device={c}"));
    }
    if let Some(f) = forwarded {
        rb = rb.header("x-forwarded-for", f);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry = header("retry-after");
    let set = header("set-cookie");
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    if let Some(t) = v["access_token"].as_str() {
        server.registry.add_token("access token", t);
        server
            .registry
            .add_token("refresh token", v["refresh_token"].as_str().unwrap());
    }
    let device = set.map(|s| {
        assert!(s.starts_with("renraku_device="), "{s}");
        for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
            assert!(s.contains(attr), "device cookie without {attr}: {s}");
        }
        let value = s["renraku_device=".len()..]
            .split(';')
            .next()
            .unwrap()
            .to_string();
        server.registry.add("device token", &value);
        value
    });
    let code = v["error"]["code"].as_str().unwrap_or("").to_string();
    (status, code, retry, device)
}

#[tokio::test]
async fn a_device_token_keeps_the_rightful_user_out_of_a_lockout() {
    let server = Server::demo_with(&["--login-max-failures-per-account", "3"]).await;
    let (st, _, _, cookie) = login(&server, "guardian.sato", DEMO_PASSWORD, None, None).await;
    assert_eq!(st, 200);
    let sato = cookie.expect("a login sets the device cookie");
    let (_, _, _, ito) = login(&server, "doctor.ito", DEMO_PASSWORD, None, None).await;
    let ito = ito.unwrap();

    // Someone guesses guardian.sato's password until the account is locked.
    for _ in 0..3 {
        let (st, code, _, set) =
            login(&server, "guardian.sato", "wrong-password-123", None, None).await;
        assert_eq!((st, code.as_str()), (401, "invalid_credentials"));
        assert!(set.is_none(), "a failed login sets no cookie");
    }
    let (st, code, retry, _) = login(&server, "guardian.sato", DEMO_PASSWORD, None, None).await;
    assert_eq!((st, code.as_str()), (429, "rate_limited"));
    let retry: u64 = retry.expect("429 without Retry-After").parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");

    // Not for the browser that logged in before.
    let (st, _, _, renewed) =
        login(&server, "guardian.sato", DEMO_PASSWORD, Some(&sato), None).await;
    assert_eq!(st, 200, "the device token exempts its account");
    assert!(renewed.is_some());
    // A wrong password from that browser is still wrong (and not a 429).
    let (st, code, _, _) = login(
        &server,
        "guardian.sato",
        "wrong-password-123",
        Some(&sato),
        None,
    )
    .await;
    assert_eq!((st, code.as_str()), (401, "invalid_credentials"));

    // Another account's token, a tampered one or garbage exempt nothing.
    let mut tampered = sato.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for cookie in [ito.as_str(), tampered.as_str(), "not-a-token", ""] {
        let (st, code, _, _) =
            login(&server, "guardian.sato", DEMO_PASSWORD, Some(cookie), None).await;
        assert_eq!(
            (st, code.as_str()),
            (429, "rate_limited"),
            "cookie {cookie:?}"
        );
    }

    // One browser, two accounts: logging in to the second keeps the first's token.
    let (st, _, _, both) = login(&server, "doctor.ito", DEMO_PASSWORD, Some(&sato), None).await;
    assert_eq!(st, 200);
    let both = both.unwrap();
    assert!(
        both.contains('~') && both.ends_with(&sato),
        "newest first: {both}"
    );
    let (st, _, _, _) = login(&server, "guardian.sato", DEMO_PASSWORD, Some(&both), None).await;
    assert_eq!(st, 200);
    server.check_logs();
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    // Without --trusted-proxy the header is ignored: every failure is the peer's.
    let server = Server::demo_with(&["--login-max-failures-per-address", "2"]).await;
    for (i, xff) in ["203.0.113.5", "203.0.113.6"].iter().enumerate() {
        let (st, _, _, _) = login(
            &server,
            &format!("nobody-{i}"),
            "x-wrong-1234",
            None,
            Some(xff),
        )
        .await;
        assert_eq!(st, 401);
    }
    let (st, code, _, _) = login(
        &server,
        "nobody-9",
        "x-wrong-1234",
        None,
        Some("203.0.113.7"),
    )
    .await;
    assert_eq!(
        (st, code.as_str()),
        (429, "rate_limited"),
        "a made-up X-Forwarded-For escapes the limit"
    );
    drop(server);

    let server = Server::demo_with(&[
        "--login-max-failures-per-address",
        "2",
        "--trusted-proxy",
        "127.0.0.1/32",
    ])
    .await;
    for i in 0..2 {
        let (st, _, _, _) = login(
            &server,
            &format!("nobody-{i}"),
            "x-wrong-1234",
            None,
            Some("203.0.113.5"),
        )
        .await;
        assert_eq!(st, 401);
    }
    let (st, _, _, _) = login(
        &server,
        "nobody-3",
        "x-wrong-1234",
        None,
        Some("203.0.113.5"),
    )
    .await;
    assert_eq!(st, 429, "the forwarded address is limited");
    // Another client behind the same proxy is not.
    let (st, _, _, _) = login(
        &server,
        "guardian.sato",
        DEMO_PASSWORD,
        None,
        Some("203.0.113.6"),
    )
    .await;
    assert_eq!(st, 200);
    // A client cannot escape by putting another address before its own.
    let (st, _, _, _) = login(
        &server,
        "nobody-4",
        "x-wrong-1234",
        None,
        Some("198.51.100.1, 203.0.113.5"),
    )
    .await;
    assert_eq!(st, 429);
    server.check_logs();
}
