//! Property tests of entry bodies: any JSON for any kind is accepted only
//! when well formed, otherwise refused as `BadRequest` or (over the text
//! limit) `PayloadTooLarge`, never with a panic; well-formed bodies are
//! accepted as they are, and the canonical form is a fixed point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

use super::{validate_body, validate_body_of};
use crate::config::MAX_ENTRY_TEXT_CHARS;
use crate::error::Error;
use crate::vocab::EntryKind;

/// Every field of every body, so random objects often come close to valid.
const FIELDS: &[&str] = &[
    "text",
    "drug",
    "dose",
    "title",
    "goals",
    "review_date",
    "from",
    "to",
    "measure",
    "value",
    "unit",
    "date",
    "status",
    "reason",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        prop::sample::select(&["present", "absent", "late", "early_leave", "2026-11-02"][..])
            .prop_map(Value::from),
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

/// An object whose keys are mostly body fields.
fn arb_object() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => ".{0,6}",
    ];
    prop::collection::vec((key, arb_json()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

fn arb_kind() -> impl Strategy<Value = EntryKind> {
    prop::sample::select(EntryKind::ALL)
}

/// Characters in all strings of a body, counted independently of the code under test.
fn chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(chars).sum(),
        Value::Object(o) => o.values().map(chars).sum(),
        _ => 0,
    }
}

fn text() -> impl Strategy<Value = String> {
    ".{0,24}"
}

/// Sets `key` when `value` is Some (optional fields are omitted in canonical form).
fn put(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        obj.insert(key.to_owned(), v);
    }
}

fn opt_text() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(text().prop_map(Value::from))
}

/// A well-formed body of `kind`, already in canonical form.
fn well_formed(kind: EntryKind) -> BoxedStrategy<Value> {
    let obj = |pairs: Vec<(&str, Option<Value>)>| {
        let mut o = Map::new();
        for (k, v) in pairs {
            put(&mut o, k, v);
        }
        Value::Object(o)
    };
    let required = text().prop_map(Value::from);
    match kind {
        EntryKind::Note => required
            .prop_map(move |t| obj(vec![("text", Some(t))]))
            .boxed(),
        EntryKind::Medication => (required, opt_text(), opt_text())
            .prop_map(move |(t, d, s)| obj(vec![("text", Some(t)), ("drug", d), ("dose", s)]))
            .boxed(),
        EntryKind::Plan => (
            required,
            opt_text(),
            prop::option::of(prop::collection::vec(text().prop_map(Value::from), 0..4)),
            opt_text(),
        )
            .prop_map(move |(t, title, goals, review)| {
                obj(vec![
                    ("text", Some(t)),
                    ("title", title),
                    ("goals", goals.map(Value::Array)),
                    ("review_date", review),
                ])
            })
            .boxed(),
        EntryKind::Handover => (required, opt_text(), opt_text())
            .prop_map(move |(t, f, to)| obj(vec![("text", Some(t)), ("from", f), ("to", to)]))
            .boxed(),
        EntryKind::Vital => (".{1,12}", -1e12f64..1e12, ".{1,6}", opt_text())
            .prop_map(move |(m, v, u, t)| {
                obj(vec![
                    ("measure", Some(m.into())),
                    ("value", Some(v.into())),
                    ("unit", Some(u.into())),
                    ("text", t),
                ])
            })
            .boxed(),
        EntryKind::Attendance => (
            (1900u32..2100, 1u32..=12, 1u32..=28),
            prop::sample::select(&["present", "absent", "late", "early_leave"][..]),
            opt_text(),
            opt_text(),
        )
            .prop_map(move |((y, m, d), status, reason, t)| {
                obj(vec![
                    ("date", Some(format!("{y:04}-{m:02}-{d:02}").into())),
                    ("status", Some(status.into())),
                    ("reason", reason),
                    ("text", t),
                ])
            })
            .boxed(),
        EntryKind::Appointment => (
            (1900u32..2100, 1u32..=12, 1u32..=28),
            prop::option::of((0u32..24, 0u32..60)),
            opt_text(),
            opt_text(),
            opt_text(),
        )
            .prop_map(move |((y, m, d), at, place, with, t)| {
                obj(vec![
                    ("date", Some(format!("{y:04}-{m:02}-{d:02}").into())),
                    ("time", at.map(|(h, mi)| format!("{h:02}:{mi:02}").into())),
                    ("place", place),
                    ("with", with),
                    ("text", t),
                ])
            })
            .boxed(),
    }
}

fn kind_and_body() -> impl Strategy<Value = (EntryKind, Value)> {
    arb_kind().prop_flat_map(|k| (Just(k), well_formed(k)))
}

/// The errors a body may get: a client's mistake, never a server fault.
fn refused_rightly(body: &Value, e: &Error) -> bool {
    match e {
        Error::PayloadTooLarge(_) => body.is_object() && chars(body) > MAX_ENTRY_TEXT_CHARS,
        Error::BadRequest(_) => !body.is_object() || chars(body) <= MAX_ENTRY_TEXT_CHARS,
        _ => false,
    }
}

proptest! {
    #![proptest_config(Config::with_cases(5_000))]

    #[test]
    fn any_json_is_accepted_canonically_or_refused_rightly(
        kind in arb_kind(),
        body in prop_oneof![arb_json(), arb_object()],
    ) {
        match validate_body_of(kind, body.clone()) {
            Ok(canonical) => {
                prop_assert!(body.is_object());
                // Canonical form is a fixed point.
                let again = validate_body_of(kind, canonical.clone()).unwrap(); // ok: test code, a panic is a failed test
                prop_assert_eq!(again, canonical);
            }
            Err(e) => prop_assert!(refused_rightly(&body, &e), "{:?} for {}", e, body),
        }
    }

    #[test]
    fn any_kind_text_is_a_kind_or_bad_request(kind in prop_oneof![".{0,12}", "[a-z]{4,10}"], body in arb_object()) {
        match validate_body(&kind, body.clone()) {
            Ok((k, _)) => prop_assert_eq!(k.as_str(), kind.as_str()),
            Err(e) => prop_assert!(refused_rightly(&body, &e), "{:?}", e),
        }
    }

    #[test]
    fn well_formed_bodies_are_accepted_as_sent((kind, body) in kind_and_body()) {
        let (k, canonical) = validate_body(kind.as_str(), body.clone()).unwrap(); // ok: test code, a panic is a failed test
        prop_assert_eq!(k, kind);
        prop_assert_eq!(canonical, body);
    }

    #[test]
    fn a_well_formed_body_with_an_unknown_field_is_bad_request(
        (kind, body) in kind_and_body(),
        key in "[a-z_]{1,12}",
        value in arb_json(),
    ) {
        prop_assume!(!FIELDS.contains(&key.as_str()));
        let mut body = body;
        body[key.as_str()] = value;
        let e = validate_body_of(kind, body.clone()).unwrap_err();
        prop_assert!(refused_rightly(&body, &e), "{:?}", e);
    }
}

proptest! {
    // Each case builds about 20,000 characters: fewer cases.
    #![proptest_config(Config::with_cases(2_000))]

    #[test]
    fn the_text_limit_counts_every_string(
        (kind, body) in kind_and_body(),
        extra in (MAX_ENTRY_TEXT_CHARS - 60)..(MAX_ENTRY_TEXT_CHARS + 20),
        wide in any::<bool>(),
    ) {
        // Pad the first string field (text, or measure) with one- or three-byte characters.
        let mut body = body;
        let field = if kind == EntryKind::Vital { "measure" } else { "text" };
        let pad = if wide { "あ" } else { "a" }.repeat(extra);
        let old = body.get(field).and_then(Value::as_str).unwrap_or("").to_owned();
        body[field] = Value::from(format!("{old}{pad}"));
        let total = chars(&body);
        match validate_body_of(kind, body.clone()) {
            Ok(_) => prop_assert!(total <= MAX_ENTRY_TEXT_CHARS),
            Err(Error::PayloadTooLarge(_)) => prop_assert!(total > MAX_ENTRY_TEXT_CHARS),
            Err(e) => prop_assert!(false, "{:?} for {} characters", e, total),
        }
    }
}
