//! Property tests of `parse_frame`, the parser of everything a WebSocket
//! client sends: any text or JSON gives a frame or a `bad_request`, never a
//! panic; valid frames round-trip; a valid frame with one field broken is
//! refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Map, Value};

use super::{parse_frame, ClientFrame};
use crate::error::Error;

/// Every field name of every client frame, so random objects hit them.
const FIELDS: &[&str] = &[
    "type",
    "ref",
    "access_token",
    "child_id",
    "after_seq",
    "client_id",
    "category",
    "categories",
    "kind",
    "body",
    "seq",
    "alert_id",
];
const TYPES: &[&str] = &[
    "auth",
    "subscribe",
    "unsubscribe",
    "post",
    "read",
    "ack_alert",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        prop::sample::select(TYPES).prop_map(Value::from),
        uuid_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(FIELDS).prop_map(str::to_owned),
            ".{0,6}"
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn uuid_text() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())
}

/// A valid frame as JSON (without `ref`), with `after_seq` sometimes left to its default.
fn valid_frame() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(|t| json!({"type": "auth", "access_token": t})),
        (uuid_text(), prop::option::of(any::<i64>())).prop_map(|(c, s)| match s {
            Some(s) => json!({"type": "subscribe", "child_id": c, "after_seq": s}),
            None => json!({"type": "subscribe", "child_id": c}),
        }),
        uuid_text().prop_map(|c| json!({"type": "unsubscribe", "child_id": c})),
        (
            (uuid_text(), any::<String>(), ".{0,8}", ".{0,8}", arb_json()),
            prop::option::of(prop::collection::vec(uuid_text(), 1..3)),
            any::<bool>(),
            prop::option::of(uuid_text()),
        )
            .prop_map(|((c, id, cat, kind, body), to, needs_reply, reply_to)| {
                let mut v = json!({"type": "post", "child_id": c, "client_id": id,
                    "category": cat, "kind": kind, "body": body});
                if let Some(to) = to {
                    v["to"] = json!(to);
                }
                if needs_reply {
                    v["needs_reply"] = json!(true);
                }
                if let Some(r) = reply_to {
                    v["reply_to"] = json!(r);
                }
                v
            }),
        (uuid_text(), any::<i64>())
            .prop_map(|(c, s)| json!({"type": "read", "child_id": c, "seq": s})),
        any::<String>().prop_map(|a| json!({"type": "ack_alert", "alert_id": a})),
    ]
}

/// The frame back as the JSON a client would send for it.
fn to_json(f: &ClientFrame) -> Value {
    match f {
        ClientFrame::Auth { access_token } => json!({"type": "auth", "access_token": access_token}),
        ClientFrame::Subscribe {
            child_id,
            after_seq,
        } => json!({"type": "subscribe", "child_id": child_id, "after_seq": after_seq}),
        ClientFrame::Unsubscribe { child_id } => {
            json!({"type": "unsubscribe", "child_id": child_id})
        }
        ClientFrame::Post {
            child_id,
            client_id,
            category,
            categories,
            kind,
            body,
            to,
            needs_reply,
            reply_to,
        } => {
            let mut v = json!({"type": "post", "child_id": child_id, "client_id": client_id,
                "kind": kind, "body": body});
            if !to.is_empty() {
                v["to"] = json!(to);
            }
            if *needs_reply {
                v["needs_reply"] = json!(true);
            }
            if let Some(r) = reply_to {
                v["reply_to"] = json!(r);
            }
            if let Some(c) = category {
                v["category"] = json!(c);
            }
            if let Some(list) = categories {
                v["categories"] = json!(list);
            }
            v
        }
        ClientFrame::Read { child_id, seq } => {
            json!({"type": "read", "child_id": child_id, "seq": seq})
        }
        ClientFrame::AckAlert { alert_id } => json!({"type": "ack_alert", "alert_id": alert_id}),
    }
}

fn is_bad_request(r: &Result<ClientFrame, Error>) -> bool {
    matches!(r, Err(Error::BadRequest(_)))
}

/// A value of the wrong type for field `name` (where any value is not allowed).
fn wrong_value(name: &str, v: &Value) -> bool {
    match name {
        "type" => v.as_str().is_none_or(|t| !TYPES.contains(&t)),
        "child_id" => v.as_str().is_none_or(|s| uuid::Uuid::parse_str(s).is_err()),
        "seq" | "after_seq" => !v.is_i64(),
        "body" => false,
        // Optional on a post (`categories` may stand in): null is absent.
        "category" => !(v.is_string() || v.is_null()),
        // A post's addressees: a list of account ids.
        "to" => !v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| !wrong_value("child_id", x))),
        "needs_reply" => !v.is_boolean(),
        "reply_to" => !v.is_null() && wrong_value("child_id", v),
        _ => !v.is_string(),
    }
}

/// One way to break a valid frame.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(prop::sample::Index),
    Replace(prop::sample::Index, Value),
    AddUnknown(String, Value),
    BadRef(Value),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (any::<prop::sample::Index>(), arb_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        ("[a-z_]{1,12}", arb_json()).prop_map(|(k, v)| Mutation::AddUnknown(k, v)),
        arb_json().prop_map(Mutation::BadRef),
    ]
}

/// Applies `m` to `frame`; true when the result must be refused.
fn mutate(frame: &mut Map<String, Value>, m: Mutation) -> bool {
    let keys: Vec<String> = frame.keys().cloned().collect();
    let subscribe = frame["type"] == "subscribe";
    let post = frame["type"] == "post";
    match m {
        Mutation::Remove(i) => {
            let k = i.get(&keys).clone();
            frame.remove(&k);
            // Optional: a subscribe's position, a post's `category` (the
            // domain asks for it or `categories`), addressees and replies.
            !["after_seq", "category", "to", "needs_reply", "reply_to"].contains(&k.as_str())
        }
        Mutation::Replace(i, v) => {
            let k = i.get(&keys).clone();
            let wrong = wrong_value(&k, &v);
            frame.insert(k, v);
            wrong
        }
        Mutation::AddUnknown(k, v) => {
            let known = keys.contains(&k)
                || k == "ref"
                || (k == "after_seq" && subscribe)
                || ((k == "categories" || k == "category") && post);
            if post && ["to", "needs_reply", "reply_to"].contains(&k.as_str()) {
                let wrong = wrong_value(&k, &v);
                frame.insert(k, v);
                return wrong;
            }
            // A post's `categories` must be a list of strings.
            if k == "categories" && post {
                let list = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
                frame.insert(k, v.clone());
                return !(list || v.is_null());
            }
            frame.insert(k, v);
            !known
        }
        Mutation::BadRef(v) => {
            let wrong = !(v.is_null() || v.is_string());
            frame.insert("ref".into(), v);
            wrong
        }
    }
}

proptest! {
    #![proptest_config(Config::with_cases(10_000))]

    #[test]
    fn any_text_is_a_frame_or_bad_request(text in any::<String>()) {
        let (_, frame) = parse_frame(&text);
        prop_assert!(frame.is_ok() || is_bad_request(&frame));
    }

    #[test]
    fn any_json_is_a_frame_or_bad_request(v in arb_json()) {
        let (reference, frame) = parse_frame(&v.to_string());
        prop_assert!(frame.is_ok() || is_bad_request(&frame));
        if let Ok(f) = &frame {
            let mut back = to_json(f);
            if let Some(r) = reference {
                back["ref"] = Value::from(r);
            }
            // The canonical frame parses to itself.
            let (r2, f2) = parse_frame(&back.to_string());
            prop_assert_eq!(r2, back.get("ref").and_then(Value::as_str).map(str::to_owned));
            // The body is passed through as it is (serde_json's own round trip).
            let without_body = |f: &ClientFrame| {
                let mut v = to_json(f);
                v.as_object_mut().unwrap().remove("body"); // ok: test code, a panic is a failed test
                v
            };
            prop_assert_eq!(without_body(&f2.unwrap()), without_body(f)); // ok: test code, a panic is a failed test
        }
    }

    #[test]
    fn deep_nesting_is_bad_request(depth in 129usize..2_000, open in prop::sample::select(&["[", "{\"body\":"][..])) {
        // serde_json stops at 128 levels: an error, not a stack overflow.
        let text = format!("{{\"type\":\"post\",\"body\":{}", open.repeat(depth));
        prop_assert!(is_bad_request(&parse_frame(&text).1));
    }

    #[test]
    fn valid_frames_round_trip(frame in valid_frame(), reference in prop::option::of(any::<String>())) {
        let mut sent = frame.clone();
        if let Some(r) = &reference {
            sent["ref"] = Value::from(r.clone());
        }
        let (r, parsed) = parse_frame(&sent.to_string());
        prop_assert_eq!(r, reference);
        // As the client sent it: serde_json reads some f64s back one ulp off.
        let mut expected: Value = serde_json::from_str(&frame.to_string()).unwrap(); // ok: test code, a panic is a failed test
        if expected["type"] == "subscribe" && expected.get("after_seq").is_none() {
            expected["after_seq"] = Value::from(0);
        }
        prop_assert_eq!(to_json(&parsed.unwrap()), expected); // ok: test code, a panic is a failed test
    }

    #[test]
    fn a_broken_field_is_bad_request(frame in valid_frame(), m in arb_mutation()) {
        let Value::Object(mut obj) = frame else { unreachable!() };
        let must_fail = mutate(&mut obj, m);
        let text = Value::Object(obj).to_string();
        let (_, parsed) = parse_frame(&text);
        if must_fail {
            prop_assert!(is_bad_request(&parsed), "accepted {}", text);
        } else {
            prop_assert!(parsed.is_ok() || is_bad_request(&parsed));
        }
    }
}
