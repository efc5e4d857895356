//! Web Push (RFC 8030) with message encryption (RFC 8291, `aes128gcm`) and
//! VAPID (RFC 8292) by web-push-native; requests sent with reqwest. Push
//! services are third parties: payloads carry no child data.
//!
//! SSRF guard: an endpoint must be `https` and resolve only to public
//! addresses, unless its origin is one the operator listed with
//! `--push-insecure-origin`. The check is repeated at send time and the
//! connection is pinned to the checked address (no DNS rebinding).

use base64::Engine;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::p256::PublicKey;
use web_push_native::{Auth, WebPushBuilder};

use crate::error::{Error, Result};
use crate::store::PushSubRow;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What one attempt achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// 404/410: the subscription is gone for good.
    Gone,
    /// Worth retrying (network error, 429, 5xx).
    Retry(String),
    /// Not worth retrying (refused endpoint, other 4xx).
    Failed(String),
}

pub struct Pusher {
    key: ES256KeyPair,
    public_key: String,
    subject: String,
    insecure_origins: Vec<String>,
}

impl Pusher {
    /// `key` is the raw 32-byte P-256 private key from the data dir.
    pub fn new(key: &[u8], subject: String, insecure_origins: Vec<String>) -> Result<Self> {
        let key = ES256KeyPair::from_bytes(key).map_err(|_| Error::internal("bad VAPID key"))?;
        let secret = web_push_native::p256::SecretKey::from_slice(&key.to_bytes())
            .map_err(|_| Error::internal("bad VAPID key"))?;
        let point = web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        Ok(Self {
            public_key: B64URL.encode(point.as_bytes()),
            key,
            subject,
            insecure_origins: insecure_origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
        })
    }

    /// A new VAPID private key (raw bytes) for the data dir.
    pub fn generate_key() -> Vec<u8> {
        ES256KeyPair::generate().to_bytes()
    }

    /// The VAPID public key, base64url (uncompressed point), for `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Checks an endpoint; returns the address to connect to (None for a listed origin).
    pub async fn check_endpoint(&self, endpoint: &str) -> Result<Option<(String, SocketAddr)>> {
        let url =
            reqwest::Url::parse(endpoint).map_err(|_| Error::bad_request("endpoint: not a URL"))?;
        if self
            .insecure_origins
            .contains(&url.origin().ascii_serialization())
        {
            return Ok(None);
        }
        if url.scheme() != "https" {
            return Err(Error::bad_request("endpoint: must be https"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| Error::bad_request("endpoint: no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| Error::bad_request("endpoint: host does not resolve"))?
            .collect();
        if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(Error::bad_request(
                "endpoint: must not resolve to a loopback, private or reserved address",
            ));
        }
        Ok(Some((host, addrs[0])))
    }

    /// One delivery attempt of `payload` to a subscription.
    pub async fn send(&self, sub: &PushSubRow, payload: &[u8]) -> Outcome {
        let pin = match self.check_endpoint(&sub.endpoint).await {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let request = match self.build(sub, payload) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e),
        };
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let Some((host, addr)) = pin {
            client = client.resolve(&host, addr);
        }
        let client = match client.build() {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("client: {e}")),
        };
        let (parts, body) = request.into_parts();
        let mut req = client.post(sub.endpoint.as_str()).body(body);
        for (name, value) in &parts.headers {
            req = req.header(name.as_str(), value.as_bytes());
        }
        match req.send().await {
            Ok(res) => match res.status().as_u16() {
                200..=299 => Outcome::Sent,
                404 | 410 => Outcome::Gone,
                429 | 500..=599 => {
                    Outcome::Retry(format!("push service answered {}", res.status()))
                }
                other => Outcome::Failed(format!("push service answered {other}")),
            },
            Err(e) => Outcome::Retry(format!("push request failed: {}", e.without_url())),
        }
    }

    fn build(&self, sub: &PushSubRow, payload: &[u8]) -> Result<http::Request<Vec<u8>>, String> {
        let endpoint = sub
            .endpoint
            .parse()
            .map_err(|_| "endpoint: not a URI".to_owned())?;
        let p256dh = B64URL
            .decode(sub.p256dh.trim_end_matches('='))
            .map_err(|_| "p256dh: not base64url".to_owned())?;
        let ua_public = PublicKey::from_sec1_bytes(&p256dh)
            .map_err(|_| "p256dh: not a P-256 key".to_owned())?;
        let auth = B64URL
            .decode(sub.auth.trim_end_matches('='))
            .map_err(|_| "auth: not base64url".to_owned())?;
        if auth.len() != 16 {
            return Err("auth: must be 16 bytes".into());
        }
        let mut request = WebPushBuilder::new(endpoint, ua_public, Auth::clone_from_slice(&auth))
            .with_valid_duration(Duration::from_secs(3600))
            .build(payload.to_vec())
            .map_err(|e| format!("encrypting: {e}"))?;
        let vapid = self.vapid_header(&sub.endpoint)?;
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, vapid);
        Ok(request)
    }

    /// `Authorization: vapid t=<ES256 JWT>, k=<public key>` (RFC 8292). The
    /// audience is the endpoint's origin with its port (web-push-native's own
    /// helper drops the port).
    fn vapid_header(&self, endpoint: &str) -> Result<http::HeaderValue, String> {
        use web_push_native::jwt_simple::prelude::{
            Claims, Duration as JwtDuration, ECDSAP256KeyPairLike,
        };
        let url = reqwest::Url::parse(endpoint).map_err(|_| "endpoint: not a URL".to_owned())?;
        let claims = Claims::create(JwtDuration::from_hours(12))
            .with_audience(url.origin().ascii_serialization())
            .with_subject(&self.subject);
        let token = self.key.sign(claims).map_err(|e| format!("VAPID: {e}"))?;
        http::HeaderValue::try_from(format!("vapid t={token}, k={}", self.public_key))
            .map_err(|_| "VAPID header".to_owned())
    }

    /// Validates the keys of a new subscription (they must encrypt).
    pub fn check_keys(&self, p256dh: &str, auth: &str) -> Result<()> {
        let sub = PushSubRow {
            id: crate::ids::PushSubId::new(),
            account_id: crate::ids::AccountId::new(),
            endpoint: "https://push.invalid/".into(),
            p256dh: p256dh.into(),
            auth: auth.into(),
        };
        self.build(&sub, b"{}")
            .map(|_| ())
            .map_err(|e| Error::bad_request(format!("keys.{e}")))
    }
}

/// Only globally routable unicast addresses.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                !is_public(a.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{a}"
            );
        }
        for a in ["8.8.8.8", "2606:4700::1111"] {
            assert!(
                is_public(a.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{a}"
            );
        }
    }
}
