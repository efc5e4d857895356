//! Issue 3, tests 3 and 5: Web Push end to end against a push service run
//! by the test on loopback (allowed with `--push-insecure-origin`): the
//! request carries `Content-Encoding: aes128gcm`, a TTL and a VAPID
//! `Authorization` whose JWT verifies (jsonwebtoken) with the served key; the
//! body decrypts with the subscription's private key in Python's `http_ece`
//! (`tests/push_decrypt.py`, an implementation independent of the server's)
//! to the alert id and no child data. 410 removes the subscription, 5xx is
//! retried with backoff, and private endpoints are refused without the flag.
//! At SIGTERM (issue 16) a retry in its backoff stops at once and stays
//! `retrying`; a send in flight is waited for and its result recorded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use web_push_native::p256;

use crate::helpers::*;

/// The command the README's test command runs to install the decryptor.
const PIP_HINT: &str = "run the README test command (./scripts/test), which installs them with \
     `python3 -m pip install --user http-ece cryptography`";

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

// ---------------------------------------------------------------------------
// A push service on loopback
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct PushReq {
    at: Instant,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl PushReq {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Records every request. Answers by path: `/gone/...` 410, `/flaky/...`
/// 503 for the first two requests then 201, `/fail/...` always 500,
/// `/slow/...` 201 after 1.5 s, anything else 201.
struct PushSink {
    origin: String,
    reqs: Arc<Mutex<Vec<PushReq>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PushSink {
    async fn start() -> PushSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reqs: Arc<Mutex<Vec<PushReq>>> = Arc::new(Mutex::new(Vec::new()));
        let rec = reqs.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let rec = rec.clone();
                async move {
                    let path = uri.path().to_string();
                    let n = {
                        let mut v = rec.lock().unwrap();
                        v.push(PushReq {
                            at: Instant::now(),
                            method: method.to_string(),
                            path: path.clone(),
                            headers: headers
                                .iter()
                                .map(|(k, v)| {
                                    (
                                        k.as_str().to_string(),
                                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                    )
                                })
                                .collect(),
                            body: body.to_vec(),
                        });
                        v.iter().filter(|r| r.path == path).count()
                    };
                    if path.starts_with("/slow/") {
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                    }
                    if path.starts_with("/gone/") {
                        StatusCode::GONE
                    } else if path.starts_with("/flaky/") && n <= 2 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else if path.starts_with("/fail/") {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::CREATED
                    }
                }
            },
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PushSink {
            origin: format!("http://{addr}"),
            reqs,
            task,
        }
    }

    fn to(&self, path: &str) -> Vec<PushReq> {
        self.reqs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `n` requests reached `path`.
    async fn wait_for(&self, path: &str, n: usize, deadline: Instant) -> Vec<PushReq> {
        loop {
            let got = self.to(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "push service: {} request(s) to {path} by the deadline, expected {n}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for PushSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------
// Subscription keys, decryption, VAPID
// ---------------------------------------------------------------------------

/// A browser's side of a subscription: a P-256 key pair and an auth secret.
struct SubKeys {
    private_key: String,
    p256dh: String,
    auth: String,
}

impl SubKeys {
    fn new(reg: &Registry) -> SubKeys {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let sk = loop {
            if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        let point = sk.public_key().to_encoded_point(false);
        let keys = SubKeys {
            private_key: B64.encode(sk.to_bytes()),
            p256dh: B64.encode(point.as_bytes()),
            auth: B64.encode(rand::random::<[u8; 16]>()),
        };
        reg.add("push subscription private key", &keys.private_key);
        reg.add("push auth secret", &keys.auth);
        keys
    }

    fn json(&self, endpoint: &str) -> Value {
        json!({"endpoint": endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}})
    }
}

/// A random endpoint path segment, registered as a secret: push endpoint URLs
/// are capabilities and must not be logged.
fn endpoint_token(reg: &Registry) -> String {
    let t = format!("ep{}", uuid::Uuid::new_v4().simple());
    reg.add("push endpoint token", &t);
    t
}

async fn subscribe(s: &Session, endpoint: &str, keys: &SubKeys) -> String {
    let (st, v) = s
        .post("/api/v1/push/subscriptions", &keys.json(endpoint))
        .await;
    assert_eq!(st, 201, "subscribe {endpoint}: {v}");
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("subscription without id: {v}"))
        .to_string()
}

fn require_http_ece() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import http_ece, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the Web Push test decrypts with Python's http_ece and cryptography, which are \
         not importable by python3: {PIP_HINT}"
    );
}

/// Decrypts a push body with tests/push_decrypt.py (Python http_ece).
async fn decrypt(keys: &SubKeys, body: &[u8]) -> String {
    use tokio::io::AsyncWriteExt;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/push_decrypt.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 {script}: {e}"));
    let input =
        json!({"private_key": keys.private_key, "auth": keys.auth, "body": B64.encode(body)});
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("push_decrypt.py timed out")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(3),
        "push_decrypt.py: {err}; {PIP_HINT}"
    );
    assert!(
        out.status.success(),
        "http_ece could not decrypt the push body ({} bytes): {err}",
        body.len()
    );
    String::from_utf8(out.stdout).expect("plaintext is not UTF-8")
}

/// Checks `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292): k is the
/// served key, the JWT is ES256, signed by k, for the endpoint's origin,
/// from `subject`, expiring within 24 hours. Returns the JWT's `aud` (RFC
/// 8292: the origin of the push resource, port included).
fn check_vapid(req: &PushReq, subject: &str, served_key: &str) -> String {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let auth = req
        .header("authorization")
        .unwrap_or_else(|| panic!("push request without Authorization: {:?}", req.headers));
    let rest = auth
        .strip_prefix("vapid ")
        .unwrap_or_else(|| panic!("Authorization is not `vapid t=..., k=...`: {auth}"));
    let (mut t, mut k) = (None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v);
        } else if let Some(v) = part.strip_prefix("k=") {
            k = Some(v);
        }
    }
    let t = t.unwrap_or_else(|| panic!("no t= in {auth}"));
    let k = k.unwrap_or_else(|| panic!("no k= in {auth}"));
    assert_eq!(k, served_key, "k= is not the served VAPID public key");
    let header = jsonwebtoken::decode_header(t).unwrap_or_else(|e| panic!("VAPID JWT: {e}"));
    assert_eq!(header.alg, Algorithm::ES256, "VAPID JWT alg");
    let point = B64.decode(k).unwrap();
    assert_eq!(point.len(), 65, "k= is not an uncompressed P-256 point");
    let key =
        DecodingKey::from_ec_components(&B64.encode(&point[1..33]), &B64.encode(&point[33..]))
            .unwrap();
    // The audience is compared by the caller (at the end of the test, so that
    // a wrong `aud` does not hide the rest); the signature is checked here.
    let mut val = Validation::new(Algorithm::ES256);
    val.validate_aud = false;
    val.set_required_spec_claims(&["exp", "aud", "sub"]);
    val.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(t, &key, &val)
        .unwrap_or_else(|e| panic!("VAPID JWT does not verify with k=: {e}"));
    assert_eq!(data.claims["sub"], subject, "VAPID sub: {}", data.claims);
    let exp = data.claims["exp"].as_i64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(exp > now, "VAPID JWT expired: {}", data.claims);
    assert!(
        exp <= now + 24 * 3600 + 60,
        "VAPID exp more than 24 h ahead (RFC 8292): {}",
        data.claims
    );
    data.claims["aud"]
        .as_str()
        .unwrap_or_else(|| panic!("VAPID aud is not a string: {}", data.claims))
        .to_string()
}

async fn wait_push_status(s: &Session, alert: &str, account: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = s.alert(alert).await;
        let d =
            delivery_of(&a, account).unwrap_or_else(|| panic!("no delivery for {account}: {a}"));
        if d["push_status"] == want {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "push_status never became {want:?}: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn channels(d: &Value) -> Vec<&str> {
    d["channels"]
        .as_array()
        .unwrap_or_else(|| panic!("no channels in {d}"))
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

fn register_vapid_key(server: &Server) {
    if let Ok(k) = std::fs::read_to_string(server.dir.join("keys/vapid.key")) {
        server.registry.add("VAPID private key", k.trim());
    }
}

// ---------------------------------------------------------------------------
// 3. End to end
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_push_end_to_end_and_410_removes_the_subscription() {
    require_http_ece();
    let sink = PushSink::start().await;
    let subject = "mailto:push-test@renraku.example";
    let server = Server::demo_with(&[
        "--escalation-delay",
        "600",
        "--push-insecure-origin",
        &sink.origin,
        "--vapid-subject",
        subject,
    ])
    .await;
    register_vapid_key(&server);
    let g = server.login("guardian.sato").await;
    let tanaka = server.login("teacher.tanaka").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let nakamura = server.login("guardian.nakamura").await;
    let child = g.child_id(HINATA).await;

    let (st, v) = g.get("/api/v1/push/vapid-public-key").await;
    assert_eq!(st, 200, "{v}");
    let vapid = v["public_key"]
        .as_str()
        .unwrap_or_else(|| panic!("no public_key: {v}"))
        .to_string();
    let raw = B64
        .decode(vapid.trim_end_matches('='))
        .unwrap_or_else(|e| panic!("public_key is not base64url: {e}"));
    assert!(
        raw.len() == 65 && raw[0] == 4,
        "public_key is not an uncompressed point"
    );
    p256::PublicKey::from_sec1_bytes(&raw).expect("public_key is not on P-256");

    // Only the listed origin is allowed over http on loopback.
    let keys = SubKeys::new(&server.registry);
    let unlisted = format!("http://{}/push", server.addr);
    assert_err(
        &g.post("/api/v1/push/subscriptions", &keys.json(&unlisted))
            .await,
        400,
        "bad_request",
    );
    let token = endpoint_token(&server.registry);
    let ok_path = format!("/ok/{token}");
    let sub_id = subscribe(&g, &format!("{}{ok_path}", sink.origin), &keys).await;

    // Raise: WebSocket at once, and a push to the guardian's subscription.
    let g_tap = Tap::new("guardian.sato (tier 1)", g.ws().await);
    let msg = format!("低血糖で意識レベル低下 {}", server.marker());
    let t0 = Instant::now();
    let a = tanaka.raise_alert(&child, &msg).await;
    let id = a["id"].as_str().unwrap().to_string();
    let d = delivery_of(&a, &g.account_id).unwrap_or_else(|| panic!("{a}"));
    assert!(
        channels(d).contains(&"push") && channels(d).contains(&"websocket"),
        "channels of an online, subscribed contact: {d}"
    );
    g_tap
        .wait_until("alert", t0 + secs(1.0), |v| is_alert_frame(v, "alert", &id))
        .await;
    let reqs = sink.wait_for(&ok_path, 1, t0 + secs(5.0)).await;
    let req = &reqs[0];
    assert_eq!(req.method, "POST", "push request method");
    assert_eq!(
        req.header("content-encoding"),
        Some("aes128gcm"),
        "{:?}",
        req.headers
    );
    let ttl = req
        .header("ttl")
        .unwrap_or_else(|| panic!("push request without TTL: {:?}", req.headers));
    ttl.trim()
        .parse::<u64>()
        .unwrap_or_else(|_| panic!("TTL is not a number: {ttl}"));
    let aud = check_vapid(req, subject, &vapid);

    // Independent decryption: the alert id, a generic text, no child data.
    let plain = decrypt(&keys, &req.body).await;
    let p: Value = serde_json::from_str(&plain)
        .unwrap_or_else(|_| panic!("push plaintext is not JSON: {plain:?}"));
    assert_eq!(p["type"], "alert", "{p}");
    assert_eq!(p["alert_id"], id.as_str(), "{p}");
    for k in p.as_object().unwrap().keys() {
        assert!(
            ["type", "alert_id", "title", "body"].contains(&k.as_str()),
            "unexpected field {k:?} in the push payload: {p}"
        );
    }
    for s in DEMO_CHILD_SECRETS {
        assert!(
            !plain.contains(s),
            "child name {s:?} in the push payload: {p}"
        );
    }
    assert!(
        !plain.contains(&msg),
        "alert message in the push payload: {p}"
    );
    assert!(!plain.contains(&child), "child id in the push payload: {p}");
    wait_push_status(&g, &id, &g.account_id, "sent").await;
    tokio::time::sleep(secs(1.0)).await;
    assert_eq!(sink.to(&ok_path).len(), 1, "pushed more than once");

    // 410: the subscription is removed and the delivery says so.
    let keys2 = SubKeys::new(&server.registry);
    let gone_path = format!("/gone/{}", endpoint_token(&server.registry));
    let gone_id = subscribe(&nakamura, &format!("{}{gone_path}", sink.origin), &keys2).await;
    let yui = nakamura.child_id(YUI).await;
    let b = tanaka
        .raise_alert(&yui, &format!("発熱 38.5 度 {}", server.marker()))
        .await;
    let b_id = b["id"].as_str().unwrap().to_string();
    sink.wait_for(&gone_path, 1, Instant::now() + secs(5.0))
        .await;
    wait_push_status(
        &nakamura,
        &b_id,
        &nakamura.account_id,
        "subscription_removed",
    )
    .await;
    assert_err(
        &nakamura
            .delete(&format!("/api/v1/push/subscriptions/{gone_id}"), None)
            .await,
        404,
        "not_found",
    );
    let c = tanaka
        .raise_alert(&yui, &format!("再度の発熱 {}", server.marker()))
        .await;
    let dc = delivery_of(&c, &nakamura.account_id).unwrap_or_else(|| panic!("{c}"));
    assert!(
        !channels(dc).contains(&"push") && dc["push_status"].is_null(),
        "removed subscription still used: {dc}"
    );
    tokio::time::sleep(secs(1.5)).await;
    assert_eq!(
        sink.to(&gone_path).len(),
        1,
        "pushed to a removed subscription"
    );

    // DELETE: only the owner's own subscription.
    let sub_path = format!("/api/v1/push/subscriptions/{sub_id}");
    assert_err(&ogawa.delete(&sub_path, None).await, 404, "not_found");
    assert_eq!(g.delete(&sub_path, None).await.0, 204);
    assert_err(&g.delete(&sub_path, None).await, 404, "not_found");
    let e = tanaka
        .raise_alert(&child, &format!("2 回目 {}", server.marker()))
        .await;
    let de = delivery_of(&e, &g.account_id).unwrap_or_else(|| panic!("{e}"));
    assert!(!channels(de).contains(&"push"), "{de}");
    tokio::time::sleep(secs(1.0)).await;
    assert_eq!(sink.to(&ok_path).len(), 1, "pushed after unsubscribe");
    server.check_logs();
    assert_eq!(
        aud, sink.origin,
        "VAPID JWT aud must be the push endpoint's origin, port included (RFC 8292 §2, \
         RFC 6454 serialization)"
    );
}

/// A server pushing to `sink` (`--push-insecure-origin`), where guardian.sato
/// has a push subscription at `/{kind}/<token>` of it.
struct PushSetup {
    server: Server,
    g: Session,
    tanaka: Session,
    /// HINATA, whose tier-1 contact guardian.sato is.
    child: String,
    /// The subscription's path at the sink.
    path: String,
}

async fn push_setup(sink: &PushSink, kind: &str) -> PushSetup {
    let server = Server::demo_with(&[
        "--escalation-delay",
        "600",
        "--push-insecure-origin",
        &sink.origin,
    ])
    .await;
    register_vapid_key(&server);
    let g = server.login("guardian.sato").await;
    let tanaka = server.login("teacher.tanaka").await;
    let child = g.child_id(HINATA).await;
    let keys = SubKeys::new(&server.registry);
    let path = format!("/{kind}/{}", endpoint_token(&server.registry));
    subscribe(&g, &format!("{}{path}", sink.origin), &keys).await;
    PushSetup {
        server,
        g,
        tanaka,
        child,
        path,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_5xx_is_retried_with_backoff_without_blocking_websocket() {
    let sink = PushSink::start().await;
    let PushSetup {
        server,
        g,
        tanaka,
        child,
        path,
    } = push_setup(&sink, "flaky").await;
    let g_tap = Tap::new("guardian.sato (tier 1)", g.ws().await);

    let t0 = Instant::now();
    let a = tanaka
        .raise_alert(&child, &format!("呼吸が苦しそう {}", server.marker()))
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    // The failing push service does not hold the WebSocket back.
    g_tap
        .wait_until("alert", t0 + secs(1.0), |v| is_alert_frame(v, "alert", &id))
        .await;
    sink.wait_for(&path, 2, t0 + secs(5.0)).await;
    tokio::time::sleep(secs(0.2)).await;
    let mid = g.alert(&id).await;
    assert_eq!(
        delivery_of(&mid, &g.account_id).unwrap()["push_status"],
        "retrying",
        "{mid}"
    );
    let reqs = sink.wait_for(&path, 3, t0 + secs(8.0)).await;
    let gap1 = reqs[1].at - reqs[0].at;
    let gap2 = reqs[2].at - reqs[1].at;
    assert!(
        gap1 >= secs(0.45),
        "first retry after {gap1:?}, expected ≥ 0.5 s"
    );
    assert!(
        gap2 >= secs(0.95),
        "second retry after {gap2:?}, expected ≥ 1 s"
    );
    assert!(gap2 > gap1, "no backoff: {gap1:?} then {gap2:?}");
    wait_push_status(&g, &id, &g.account_id, "sent").await;
    tokio::time::sleep(secs(1.0)).await;
    assert_eq!(sink.to(&path).len(), 3, "pushed again after success");
    server.check_logs();
}

// ---------------------------------------------------------------------------
// Shutdown (issue 16, point 6): the push sends are owned and drained
// ---------------------------------------------------------------------------

/// Raises an alert on the setup's child; returns its id.
async fn raise(p: &PushSetup) -> String {
    let msg = format!("けいれん {}", p.server.marker());
    let a = p.tanaka.raise_alert(&p.child, &msg).await;
    a["id"].as_str().unwrap().to_string()
}

/// Restarts the server; the `push_status` of guardian.sato's delivery of `id`.
async fn push_status_after_restart(p: &mut PushSetup, id: &str) -> Value {
    p.server.restart().await;
    let g = p.server.login("guardian.sato").await;
    let a = g.alert(id).await;
    let d = delivery_of(&a, &g.account_id).unwrap_or_else(|| panic!("{a}"));
    d["push_status"].clone()
}

/// SIGTERM, asserting exit 0 within `within`.
async fn terminate_within(server: &mut Server, within: Duration) {
    let t = Instant::now();
    let status = server.terminate().await;
    let took = t.elapsed();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    assert!(
        took < within,
        "exit {took:?} after SIGTERM, expected < {within:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_push_retry_in_its_backoff_which_stays_retrying() {
    let sink = PushSink::start().await;
    let mut p = push_setup(&sink, "fail").await;
    let t0 = Instant::now();
    let id = raise(&p).await;
    // After the fourth 500 the retry waits 4 s before the fifth attempt:
    // the exit must not wait it out (nor the 5 s bound of the drain).
    sink.wait_for(&p.path, 4, t0 + secs(15.0)).await;
    tokio::time::sleep(secs(0.2)).await;
    terminate_within(&mut p.server, secs(2.0)).await;
    assert_eq!(sink.to(&p.path).len(), 4, "pushed again after SIGTERM");

    // The interrupted retry stays `retrying` and is not resumed.
    let status = push_status_after_restart(&mut p, &id).await;
    assert_eq!(status, "retrying", "the retry stopped by SIGTERM");
    tokio::time::sleep(secs(1.0)).await;
    assert_eq!(sink.to(&p.path).len(), 4, "retry resumed after the restart");
    p.server.check_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_a_push_in_flight_and_records_its_result() {
    let sink = PushSink::start().await;
    let mut p = push_setup(&sink, "slow").await;
    let t0 = Instant::now();
    let id = raise(&p).await;
    // SIGTERM while the push service holds the request (1.5 s).
    sink.wait_for(&p.path, 1, t0 + secs(10.0)).await;
    terminate_within(&mut p.server, secs(4.0)).await;

    let status = push_status_after_restart(&mut p, &id).await;
    assert_eq!(status, "sent", "the send in flight at SIGTERM");
    assert_eq!(sink.to(&p.path).len(), 1, "pushed more than once");
    p.server.check_logs();
}

// ---------------------------------------------------------------------------
// 5. SSRF guard
// ---------------------------------------------------------------------------

#[tokio::test]
async fn private_push_endpoints_are_refused_without_the_flag() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let keys = SubKeys::new(&server.registry);
    let refused = [
        format!("http://{}/x", server.addr),
        "https://127.0.0.1/x".to_string(),
        "https://10.0.0.1/x".to_string(),
        "https://localhost/x".to_string(),
        "https://192.168.1.10/x".to_string(),
        "https://172.16.0.1/x".to_string(),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        "https://0.0.0.0/x".to_string(),
        "https://2130706433/x".to_string(),
        "https://[::1]/x".to_string(),
        "https://[fd00::1]/x".to_string(),
        "https://[::ffff:127.0.0.1]/x".to_string(),
        "http://8.8.8.8/x".to_string(),
        "ftp://8.8.8.8/x".to_string(),
        "not a url".to_string(),
    ];
    for ep in &refused {
        let r = g.post("/api/v1/push/subscriptions", &keys.json(ep)).await;
        assert_eq!(r.0, 400, "endpoint {ep:?} accepted: {} {}", r.0, r.1);
        assert_eq!(err_code(&r.1), "bad_request", "{ep}: {}", r.1);
    }
    // Control: a public address (a literal: nothing is resolved or sent now).
    let id = subscribe(&g, "https://8.8.8.8/push/x", &keys).await;
    assert_eq!(
        g.delete(&format!("/api/v1/push/subscriptions/{id}"), None)
            .await
            .0,
        204
    );
    server.check_logs();
}

// ---------------------------------------------------------------------------
// Issue 19: a request to join and a handover reach the guardian's phone
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_handovers_push_generic_text_to_the_consent_holder() {
    require_http_ece();
    let sink = PushSink::start().await;
    let server = Server::demo_with(&["--push-insecure-origin", &sink.origin]).await;
    register_vapid_key(&server);
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let suzuki = server.login("nurse.suzuki").await;
    let ito = server.login("doctor.ito").await;
    let mori = server.login("doctor.mori").await;
    let child = g.child_id(HINATA).await;
    let keys = SubKeys::new(&server.registry);
    let path = format!("/ok/{}", endpoint_token(&server.registry));
    subscribe(&g, &format!("{}{path}", sink.origin), &keys).await;
    // A professional's subscription gets nothing of either.
    let pro_keys = SubKeys::new(&server.registry);
    let pro_path = format!("/ok/{}", endpoint_token(&server.registry));
    subscribe(&ito, &format!("{}{pro_path}", sink.origin), &pro_keys).await;

    let purpose = "訪問看護の情報共有（ひなたさんの自宅訪問）";
    let (st, m) = coord
        .post(
            &format!("/api/v1/children/{child}/members"),
            &json!({"account_id": suzuki.account_id, "categories": ["health"],
                    "can_post": false, "purpose": purpose}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let deadline = Instant::now() + secs(10.0);
    let got = sink.wait_for(&path, 1, deadline).await;
    let first = decrypt(&keys, &got[0].body).await;
    let note = "低血糖の既往あり、補食は保健室に保管";
    let (st, h) = ito
        .post(
            &format!("/api/v1/children/{child}/handovers"),
            &json!({"from_account": ito.account_id, "to_account": mori.account_id, "note": note}),
        )
        .await;
    assert_eq!(st, 201, "{h}");
    let got = sink.wait_for(&path, 2, deadline).await;
    let second = decrypt(&keys, &got[1].body).await;

    let first: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    let second: Value = serde_json::from_str(&second).unwrap_or_else(|e| panic!("{e}: {second}"));
    assert_eq!(first["type"], "membership_request", "{first}");
    assert_eq!(second["type"], "handover", "{second}");
    for (what, v) in [("request", &first), ("handover", &second)] {
        let text = v.to_string();
        for secret in [
            HINATA,
            "ひなた",
            "鈴木",
            "伊藤",
            "森",
            purpose,
            note,
            &child,
            &suzuki.account_id,
        ] {
            assert!(
                !text.contains(secret),
                "the {what} push carries {secret:?}: {text}"
            );
        }
        assert!(v["body"].as_str().is_some_and(|b| !b.is_empty()), "{v}");
    }
    assert!(sink.to(&pro_path).is_empty(), "nothing to the professional");
    server.check_logs();
}

// ---------------------------------------------------------------------------
// Issue 21: pushes for entries (levels, coalescing, quiet hours)
// ---------------------------------------------------------------------------

/// "HH:MM" in Japan, `minutes` from now.
fn jst_in(minutes: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::minutes(9 * 60 + minutes);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

async fn decrypt_json(keys: &SubKeys, req: &PushReq) -> Value {
    let text = decrypt(keys, &req.body).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_pushes_follow_levels_coalesce_and_quiet_hours_hold_them_not_alerts() {
    require_http_ece();
    let sink = PushSink::start().await;
    let server = Server::demo_with(&[
        "--push-insecure-origin",
        &sink.origin,
        "--entry-push-interval-secs",
        "3",
    ])
    .await;
    register_vapid_key(&server);
    let sato = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let ogawa = server.login("schoolnurse.ogawa").await;
    let tanaka = server.login("teacher.tanaka").await;
    let child = sato.child_id(HINATA).await;
    let mut paths = Vec::new();
    for s in [&sato, &ito, &ogawa] {
        let keys = SubKeys::new(&server.registry);
        let path = format!("/ok/{}", endpoint_token(&server.registry));
        subscribe(s, &format!("{}{path}", sink.origin), &keys).await;
        paths.push((path, keys));
    }
    let [(sato_path, sato_keys), (ito_path, ito_keys), (ogawa_path, ogawa_keys)] =
        <[_; 3]>::try_from(paths).unwrap_or_else(|_| unreachable!());
    let notify = format!("/api/v1/children/{child}/members/me/notify");
    // The school nurse wants only what is addressed to her.
    let (st, v) = ogawa
        .put_json(&notify, &json!({"level": "addressed"}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"level": "addressed", "quiet_from": null, "quiet_to": null})
    );
    assert_eq!(ogawa.get(&notify).await.1, v);
    for bad in [
        json!({"level": "loud"}),
        json!({"level": "all", "quiet_from": "22:00"}),
        json!({"level": "all", "quiet_from": "25:00", "quiet_to": "07:00"}),
        json!({"level": "all", "quiet_from": "07:00", "quiet_to": "07:00"}),
    ] {
        assert_err(&ogawa.put_json(&notify, &bad).await, 400, "bad_request");
    }
    assert_eq!(
        ogawa.get(&notify).await.1,
        v,
        "a refused setting changes nothing"
    );

    // The mother's question reaches Dr Ito's phone at once, as generic text.
    let text = format!("伊藤先生、夜の低血糖について {}", server.marker());
    let (st, q) = sato
        .post(
            &format!("/api/v1/children/{child}/entries"),
            &json!({"client_id": new_client_id(), "category": "medical", "kind": "note",
                "body": {"text": text}, "to": [ito.account_id], "needs_reply": true}),
        )
        .await;
    assert_eq!(st, 201, "{q}");
    let got = sink
        .wait_for(&ito_path, 1, Instant::now() + secs(10.0))
        .await;
    let push = decrypt_json(&ito_keys, &got[0]).await;
    assert_eq!(push["type"], "entry", "{push}");
    assert_eq!(push["child_id"], child.as_str());
    assert_eq!(push["entry_id"], q["id"]);
    let raw = push.to_string();
    for secret in [HINATA, "ひなた", "佐藤", text.as_str(), "低血糖"] {
        assert!(
            !raw.contains(secret),
            "the entry push carries {secret:?}: {raw}"
        );
    }
    // Two more at once: held, then one push when the interval ends.
    for n in 0..2 {
        sato.note(&child, "medical", &format!("補足 {n}")).await;
    }
    tokio::time::sleep(secs(1.0)).await;
    assert_eq!(sink.to(&ito_path).len(), 1, "held within the interval");
    sink.wait_for(&ito_path, 2, Instant::now() + secs(8.0))
        .await;
    tokio::time::sleep(secs(4.0)).await;
    assert_eq!(sink.to(&ito_path).len(), 2, "one push for both");
    // Not addressed to the school nurse: nothing; addressed to her: one.
    assert!(sink.to(&ogawa_path).is_empty(), "addressed-only");
    let (st, e) = sato
        .post(
            &format!("/api/v1/children/{child}/entries"),
            &json!({"client_id": new_client_id(), "category": "medical", "kind": "note",
                "body": {"text": "小川先生へ"}, "to": [ogawa.account_id]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    let got = sink
        .wait_for(&ogawa_path, 1, Instant::now() + secs(10.0))
        .await;
    assert_eq!(
        decrypt_json(&ogawa_keys, &got[0]).await["entry_id"],
        e["id"]
    );

    // Quiet hours hold back an entry's push to the mother, not an alert's.
    let (st, v) = sato
        .put_json(
            &notify,
            &json!({"level": "all", "quiet_from": jst_in(-60), "quiet_to": jst_in(60)}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let before = sink.to(&sato_path).len();
    ito.note(&child, "medical", "外来の予約を取りました").await;
    tokio::time::sleep(secs(5.0)).await;
    assert_eq!(sink.to(&sato_path).len(), before, "quiet hours");
    let alert = tanaka
        .raise_alert(&child, &format!("けいれん {}", server.marker()))
        .await;
    let got = sink
        .wait_for(&sato_path, before + 1, Instant::now() + secs(10.0))
        .await;
    let push = decrypt_json(&sato_keys, &got[before]).await;
    assert_eq!(push["type"], "alert", "{push}");
    assert_eq!(push["alert_id"], alert["id"]);
    // Level none: nothing at all for entries.
    let (st, _) = ito.put_json(&notify, &json!({"level": "none"})).await;
    assert_eq!(st, 200);
    let ito_before = sink.to(&ito_path).len();
    sato.post(
        &format!("/api/v1/children/{child}/entries"),
        &json!({"client_id": new_client_id(), "category": "medical", "kind": "note",
            "body": {"text": "再度の質問"}, "to": [ito.account_id], "needs_reply": true}),
    )
    .await;
    tokio::time::sleep(secs(5.0)).await;
    assert_eq!(sink.to(&ito_path).len(), ito_before, "level none");
    server.check_logs();
}

/// A plan reviewed tomorrow (Japan), and a `--reminder-day-secs` that puts
/// its 1-day reminder `lead` from now (the 7-day one long past: skipped).
fn review_tomorrow(lead: Duration) -> (String, u64) {
    let now = time::OffsetDateTime::now_utc();
    let jst = now.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    let tomorrow = jst.date().next_day().unwrap();
    let review = tomorrow
        .with_hms(9, 0, 0)
        .unwrap()
        .assume_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    let day = (review - now).whole_seconds() - lead.as_secs() as i64;
    (tomorrow.to_string(), day as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_review_reminder_is_pushed_once_across_restarts() {
    require_http_ece();
    let sink = PushSink::start().await;
    let (review, day) = review_tomorrow(secs(30.0));
    let mut server = Server::demo_with(&[
        "--push-insecure-origin",
        &sink.origin,
        "--reminder-day-secs",
        &day.to_string(),
        "--entry-push-interval-secs",
        "3600",
    ])
    .await;
    register_vapid_key(&server);
    let sato = server.login("guardian.sato").await;
    let yamada = server.login("coordinator.yamada").await;
    let tanaka = server.login("teacher.tanaka").await;
    let child = sato.child_id(HINATA).await;
    let mut subs = Vec::new();
    for s in [&sato, &yamada, &tanaka] {
        let keys = SubKeys::new(&server.registry);
        let path = format!("/ok/{}", endpoint_token(&server.registry));
        subscribe(s, &format!("{}{path}", sink.origin), &keys).await;
        subs.push((path, keys));
    }
    // The mother files the plan; the coordinator and she are reminded, the
    // teacher (who sees it, neither author nor coordinator) is not.
    let (st, plan) = sato
        .post_entry(
            &child,
            "education",
            "plan",
            json!({"text": "家庭での計画", "title": "見直しの練習", "review_date": review}),
        )
        .await;
    assert_eq!(st, 201, "{plan}");
    // Entry pushes (one per child per hour here) already went: count from now.
    tokio::time::sleep(secs(2.0)).await;
    let before: Vec<usize> = subs.iter().map(|(p, _)| sink.to(p).len()).collect();
    server.restart().await;
    let deadline = Instant::now() + secs(60.0);
    for i in 0..2 {
        let (path, keys) = &subs[i];
        let got = sink.wait_for(path, before[i] + 1, deadline).await;
        let push = decrypt_json(keys, &got[before[i]]).await;
        assert_eq!(push["type"], "reminder", "{push}");
        assert_eq!(push["days_before"], 1, "{push}");
        assert_eq!(push["entry_id"], plan["id"]);
        let raw = push.to_string();
        for secret in [HINATA, "ひなた", "見直しの練習", "家庭での計画"] {
            assert!(
                !raw.contains(secret),
                "the reminder carries {secret:?}: {raw}"
            );
        }
    }
    // Once: another restart sends nothing more, to anyone.
    server.restart().await;
    tokio::time::sleep(secs(4.0)).await;
    let after: Vec<usize> = subs.iter().map(|(p, _)| sink.to(p).len()).collect();
    assert_eq!(
        after,
        vec![before[0] + 1, before[1] + 1, before[2]],
        "exactly once"
    );
    server.check_logs();
}
