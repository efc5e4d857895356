//! Property tests of access tokens: anything but a token this server
//! signed, unchanged, for itself and still valid, is `Unauthorized` (never
//! a panic): arbitrary text, any single flipped bit or replaced character,
//! another `alg` in the header, a missing claim, another issuer or audience,
//! an expired token. Also refresh-token hashing on any input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

use super::{hash_refresh, TokenKeys, TokenUse, AUDIENCE, ISSUER};
use crate::error::Error;
use crate::ids::{AccountId, SessionId, Timestamp};

const SECRET: &[u8] = b"property-test-secret-of-32-bytes";

fn keys() -> TokenKeys {
    TokenKeys::new(SECRET)
}

fn now() -> i64 {
    Timestamp::now().millis() / 1000
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE,
        "sub": AccountId::new(), "sid": SessionId::new(), "typ": "access",
        "iat": now(), "exp": now() + 600, "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// A token with any header and claims, HMAC-SHA256-signed with the real
/// secret (so only the header or claims can be what is wrong).
fn forge(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = EncodingKey::from_secret(SECRET);
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap(); // ok: test code, a panic is a failed test
    format!("{input}.{sig}")
}

fn unauthorized(keys: &TokenKeys, token: &str) -> bool {
    matches!(keys.verify(token), Err(Error::Unauthorized))
}

fn valid_token(keys: &TokenKeys) -> String {
    keys.issue(AccountId::new(), SessionId::new(), TokenUse::Access, 600)
        .unwrap() // ok: test code, a panic is a failed test
}

fn other_alg() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(
            &[
                "none", "None", "NONE", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
                "ES384", "PS256", "PS512", "EdDSA", "hs256", "HS256 ", " HS256", "", "HS2560",
            ][..]
        )
        .prop_map(Value::from),
        "[A-Za-z0-9]{0,8}"
            .prop_filter("not HS256", |a| a != "HS256")
            .prop_map(Value::from),
        Just(Value::Null),
        Just(json!(["HS256"])),
        Just(json!({"alg": "HS256"})),
    ]
}

const CLAIMS: &[&str] = &["iss", "aud", "sub", "sid", "typ", "iat", "exp", "jti"];

proptest! {
    #![proptest_config(Config::with_cases(5_000))]

    #[test]
    fn any_text_is_unauthorized(text in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,50}",
        "eyJ[A-Za-z0-9_-]{0,60}\\.eyJ[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{43}",
    ]) {
        prop_assert!(unauthorized(&keys(), &text));
    }

    #[test]
    fn a_flipped_bit_is_unauthorized(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let keys = keys();
        let token = valid_token(&keys);
        prop_assert!(keys.verify(&token).is_ok());
        let mut bytes = token.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let mutated = String::from_utf8_lossy(&bytes);
        prop_assert!(unauthorized(&keys, &mutated), "accepted {} (byte {} bit {})", mutated, i, bit);
    }

    #[test]
    fn a_replaced_character_is_unauthorized(
        at in any::<prop::sample::Index>(),
        c in prop_oneof![prop::char::range('+', 'z'), any::<char>()],
    ) {
        let keys = keys();
        let token = valid_token(&keys);
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != c);
        chars[i] = c;
        let mutated: String = chars.into_iter().collect();
        prop_assert!(unauthorized(&keys, &mutated), "accepted {}", mutated);
    }

    #[test]
    fn another_algorithm_is_unauthorized(alg in other_alg(), typ in prop::option::of("[A-Za-z]{0,4}")) {
        let mut header = json!({"alg": alg});
        if let Some(t) = typ {
            header["typ"] = Value::from(t);
        }
        let token = forge(&header, &claims());
        prop_assert!(unauthorized(&keys(), &token), "accepted {}", header);
        // Also signed with that algorithm's own HMAC where jsonwebtoken has one.
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let t = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(alg),
                &claims(),
                &EncodingKey::from_secret(SECRET),
            ).unwrap(); // ok: test code, a panic is a failed test
            prop_assert!(unauthorized(&keys(), &t));
        }
    }

    #[test]
    fn the_unsigned_form_is_unauthorized(sig in prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{0,50}"]) {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims().to_string());
        let signed = format!("{header}.{body}.{sig}");
        let two_parts = format!("{header}.{body}");
        prop_assert!(unauthorized(&keys(), &signed));
        prop_assert!(unauthorized(&keys(), &two_parts));
    }

    #[test]
    fn a_missing_or_wrong_claim_is_unauthorized(
        missing in prop::sample::select(CLAIMS),
        replace in any::<bool>(),
        value in prop_oneof![
            Just(Value::Null), any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from), Just(json!([])), Just(json!({})),
        ],
    ) {
        let mut c = claims();
        let obj = c.as_object_mut().unwrap(); // ok: test code, a panic is a failed test
        if replace {
            // Any value of the wrong type, or another issuer or audience.
            let same_type = match missing {
                "iss" | "aud" => value.as_str() == Some("renraku"),
                "typ" => value.as_str().is_some_and(|s| s == "access" || s == "enroll"),
                "iat" => value.is_i64(),
                "exp" => value.as_i64().is_some_and(|e| e > now() - 30),
                "jti" => value.is_string(),
                _ => false, // sub, sid: uuids, never generated here
            };
            prop_assume!(!same_type);
            obj.insert(missing.to_owned(), value);
        } else {
            obj.remove(missing);
        }
        let token = forge(&json!({"alg": "HS256", "typ": "JWT"}), &c);
        prop_assert!(unauthorized(&keys(), &token), "accepted {}", c);
    }

    #[test]
    fn other_issuers_audiences_and_expired_are_unauthorized(
        iss in prop::option::of(".{0,10}"),
        aud in prop::option::of(".{0,10}"),
        age in 31i64..10_000_000,
    ) {
        let mut c = claims();
        let mut wrong = false;
        if let Some(i) = iss.filter(|i| i != ISSUER) {
            c["iss"] = Value::from(i);
            wrong = true;
        }
        if let Some(a) = aud.filter(|a| a != AUDIENCE) {
            c["aud"] = Value::from(a);
            wrong = true;
        }
        if !wrong {
            // Expired past the 30 s leeway.
            c["exp"] = Value::from(now() - age);
        }
        let token = forge(&json!({"alg": "HS256"}), &c);
        prop_assert!(unauthorized(&keys(), &token), "accepted {}", c);
    }

    #[test]
    fn forged_valid_tokens_verify_and_extra_claims_are_ignored(
        extra in prop::collection::btree_map("[a-z]{1,6}", ".{0,8}", 0..4),
    ) {
        // RFC 7519 §4: claims not understood are ignored; the token is still
        // one this server signed.
        let mut c = claims();
        for (k, v) in extra {
            if !CLAIMS.contains(&k.as_str()) {
                c[k.as_str()] = Value::from(v);
            }
        }
        let token = forge(&json!({"alg": "HS256", "typ": "JWT"}), &c);
        let verified = keys().verify(&token).unwrap(); // ok: test code, a panic is a failed test
        prop_assert_eq!(verified.sub.to_string(), c["sub"].as_str().unwrap()); // ok: test code, a panic is a failed test
    }

    #[test]
    fn refresh_hashes_take_any_input(a in any::<String>(), b in any::<String>()) {
        let ha = hash_refresh(&a);
        prop_assert_eq!(ha.len(), 43);
        prop_assert_eq!(&ha, &hash_refresh(&a));
        prop_assert_eq!(a == b, ha == hash_refresh(&b));
    }
}
