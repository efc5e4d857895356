//! Web Push (RFC 8030) with message encryption (RFC 8291, `aes128gcm`) and
//! VAPID (RFC 8292) by web-push-native; requests sent with reqwest. Push
//! services are third parties: payloads carry no child data.
//!
//! SSRF guard: an endpoint must be `https` and resolve only to public
//! addresses, unless its origin is one the operator listed with
//! `--push-insecure-origin`. IPv6 forms that carry an IPv4 address (mapped,
//! compatible, NAT64, 6to4) are judged by that address. The check is
//! repeated at send time and the connection is pinned to the checked
//! address (no DNS rebinding).

use base64::Engine;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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

/// Only globally routable unicast addresses. An IPv6 address that carries
/// an IPv4 one (mapped, compatible, SIIT, NAT64 well-known prefix, 6to4) is
/// judged by that IPv4 address: connecting to it reaches the IPv4 host.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    !(o[0] == 0 // "this network", 0.0.0.0 included
        || v4.is_private()
        || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT 100.64/10
        || v4.is_loopback()
        || v4.is_link_local()
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || v4.is_documentation()
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast
        || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking 198.18/15
        || v4.is_multicast()
        || o[0] >= 240) // reserved 240/4 and the broadcast address
}

/// The IPv4 address an IPv6 address stands for, if any.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // IPv4-compatible (::a.b.c.d, also :: and ::1) and IPv4-mapped.
        [0, 0, 0, 0, 0, 0 | 0xffff, _, _] => Some(last),
        // IPv4-translated (SIIT, ::ffff:0:a.b.c.d).
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(last),
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        // 6to4 2002:a.b.c.d::/48.
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

/// Global unicast (2000::/3) outside the special blocks inside it. Outside
/// 2000::/3 everything is refused: unspecified, loopback, NAT64 local-use
/// 64:ff9b:1::/48 (the embedded address's place depends on a prefix length
/// only the operator knows), discard 100::/64, unique local fc00::/7,
/// link-local fe80::/10, site-local fec0::/10, multicast ff00::/8.
fn is_public_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    (s[0] & 0xe000) == 0x2000
        // IETF protocol assignments 2001::/23: Teredo, benchmarking, ORCHID.
        && !(s[0] == 0x2001 && s[1] < 0x0200)
        // Documentation 2001:db8::/32 and 3fff::/20.
        && !(s[0] == 0x2001 && s[1] == 0x0db8)
        && (s[0] & 0xfff0) != 0x3ff0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        let table: &[(&str, bool)] = &[
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("203.0.114.1", true),
            ("2606:4700::1111", true),
            ("2001:4860:4860::8888", true),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::8.8.8.8", true),
            ("2002:0808:0808::1", true),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("10.1.2.3", false),
            ("172.16.5.5", false),
            ("172.31.255.255", false),
            ("192.168.0.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("255.255.255.255", false),
            ("240.0.0.1", false),
            ("224.0.0.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("192.88.99.1", false),
            ("::", false),
            ("::1", false),
            ("::127.0.0.1", false),
            ("::10.0.0.1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:0:127.0.0.1", false),
            ("64:ff9b::127.0.0.1", false),
            ("64:ff9b::10.0.0.1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b:1::8.8.8.8", false),
            ("64:ff9b:1:ffff::1", false),
            ("2002:7f00:0001::1", false),
            ("2002:0a00:0001::1", false),
            ("2002:c0a8:0101::1", false),
            ("2002::1", false),
            ("2001::1", false),
            ("2001:0:4136:e378::1", false),
            ("2001:2::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("100::1", false),
            ("fc00::1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("ff0e::1", false),
            ("5f00::1", false),
        ];
        for (a, public) in table {
            let ip: IpAddr = a.parse().unwrap_or_else(|_| panic!("{a} parses"));
            assert_eq!(is_public(ip), *public, "{a}");
        }
    }

    fn pusher(insecure: &[&str]) -> Pusher {
        let origins = insecure.iter().map(|o| o.to_string()).collect();
        Pusher::new(
            &Pusher::generate_key(),
            "mailto:t@example.org".into(),
            origins,
        )
        .unwrap_or_else(|_| panic!("pusher"))
    }

    #[tokio::test]
    async fn endpoints_on_embedded_private_addresses_are_refused() {
        let p = pusher(&[]);
        for e in [
            "https://127.0.0.1/push",
            "https://[::ffff:7f00:1]/push",
            "https://[::7f00:1]/push",
            "https://[64:ff9b::7f00:1]/push",
            "https://[64:ff9b:1::a00:1]/push",
            "https://[2002:7f00:1::1]/push",
            "https://[fd12::1]/push",
            "http://8.8.8.8/push",
        ] {
            assert!(p.check_endpoint(e).await.is_err(), "{e}");
        }
        let pin = p
            .check_endpoint("https://[2606:4700::1111]:8443/push")
            .await;
        assert!(
            matches!(pin, Ok(Some(_))),
            "a public literal address passes"
        );
    }

    #[tokio::test]
    async fn a_listed_insecure_origin_is_still_allowed() {
        let p = pusher(&["http://127.0.0.1:9999/"]);
        let r = p.check_endpoint("http://127.0.0.1:9999/push/1").await;
        assert!(matches!(r, Ok(None)));
        let other = p.check_endpoint("http://127.0.0.1:9998/push/1").await;
        assert!(other.is_err(), "only the listed origin");
    }
}
