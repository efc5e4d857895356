//! An authenticator app for tests: holds a TOTP secret (RFC 6238, SHA-1,
//! 30 s, 6 digits) and hands out codes the server has not seen yet (a code
//! is accepted once, so the next one waits for the next 30 s step), with a
//! few seconds left in their step. Also enrols an account (password or
//! enrolment token) and checks the recovery codes the confirmation answers.

use std::time::Duration;

use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use super::{is_recovery_code, register_code, unix_now, Api, Resp};

pub struct TotpDevice {
    totp: TOTP,
    last_step: Option<u64>,
}

fn step_now() -> u64 {
    unix_now() as u64 / 30
}

impl TotpDevice {
    pub fn new(secret_b32: &str) -> TotpDevice {
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            30,
            Secret::Encoded(secret_b32.to_string()).to_bytes().unwrap(),
            None,
            String::new(),
        );
        TotpDevice {
            totp,
            last_step: None,
        }
    }

    /// A code of a step not used before, with at least 3 s left in it.
    pub async fn code(&mut self) -> String {
        loop {
            let now = unix_now();
            let step = now as u64 / 30;
            let left = 30.0 - now % 30.0;
            if self.last_step.is_some_and(|s| s >= step) || left < 4.0 {
                tokio::time::sleep(Duration::from_secs_f64(left + 0.3)).await;
                continue;
            }
            self.last_step = Some(step);
            return self.totp.generate(now as u64);
        }
    }

    /// A six-digit code valid in none of the steps around now.
    pub fn wrong_code(&self) -> String {
        let n = step_now() * 30;
        let valid: Vec<String> = (0..5)
            .map(|i| self.totp.generate(n + i * 30 - 60))
            .collect();
        (0..1000)
            .map(|i| format!("{:06}", 123_457 + i * 7919))
            .find(|c| !valid.contains(c))
            .unwrap()
    }
}

/// `POST /me/totp` with `body` under `token` (an access or enrolment token).
pub async fn start_totp(api: &Api, token: &str, body: &Value) -> Resp {
    let r = api.post("/api/v1/me/totp", Some(token), body).await;
    api.record_tokens(&r.1);
    r
}

/// Enrols the holder of `token` (`POST /me/totp` with `body`, then confirm),
/// asserting success; returns the device and the ten recovery codes.
pub async fn enrol_totp(api: &Api, token: &str, body: &Value) -> (TotpDevice, Vec<String>) {
    let (st, v) = start_totp(api, token, body).await;
    assert!(st == 200 || st == 201, "POST /me/totp: {st} {v}");
    let secret = v["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {v}"));
    let uri = v["otpauth_uri"].as_str().unwrap_or("");
    assert!(uri.starts_with("otpauth://totp/"), "{v}");
    let mut dev = TotpDevice::new(secret);
    let code = dev.code().await;
    let (st, v) = api
        .post(
            "/api/v1/me/totp/confirm",
            Some(token),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(st, 200, "confirm TOTP: {v}");
    let codes = recovery_codes_of(api, &v);
    (dev, codes)
}

/// The ten recovery codes of an answer: distinct, of the documented form;
/// registered as secrets.
pub fn recovery_codes_of(api: &Api, v: &Value) -> Vec<String> {
    let codes: Vec<String> = v["recovery_codes"]
        .as_array()
        .unwrap_or_else(|| panic!("no recovery_codes in {v}"))
        .iter()
        .map(|c| c.as_str().unwrap_or_else(|| panic!("{v}")).to_string())
        .collect();
    for c in &codes {
        register_code(&api.registry, "recovery code", c);
    }
    assert_eq!(codes.len(), 10, "{v}");
    let mut uniq = codes.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 10, "recovery codes are not distinct: {v}");
    for c in &codes {
        assert!(is_recovery_code(c), "recovery code format: {c:?}");
    }
    codes
}

/// `GET /me/totp`, asserting 200.
pub async fn totp_state(api: &Api, token: &str) -> Value {
    let (st, v) = api.get("/api/v1/me/totp", Some(token)).await;
    assert_eq!(st, 200, "GET /me/totp: {v}");
    v
}
