//! The crash points of a rotation, on the pure decision: rows in memory,
//! the run stopped after some of them, then resumed.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::{decide, Decision};
use crate::crypto::{DataKey, KeyRing};

fn ring() -> KeyRing {
    KeyRing::from_identity(&KeyRing::generate_identity()).unwrap() // ok: test
}

/// Runs the rewrap over `rows`, stopping after `stop_after` changes.
fn run(rows: &mut [Vec<u8>], new: &KeyRing, olds: &[KeyRing], stop_after: usize) -> usize {
    let mut changed = 0;
    for row in rows.iter_mut() {
        if changed == stop_after {
            break;
        }
        let decision = decide(row, new, olds).unwrap(); // ok: test
        match decision {
            Decision::Done => {}
            Decision::Rewrap(next) => {
                *row = next;
                changed += 1;
            }
            Decision::Unreadable => panic!("unreadable row"),
        }
    }
    changed
}

fn keys_and_rows(old: &KeyRing, n: usize) -> (Vec<DataKey>, Vec<Vec<u8>>) {
    let keys: Vec<DataKey> = (0..n).map(|_| DataKey::generate()).collect();
    let rows = keys.iter().map(|k| old.wrap(k).unwrap()).collect(); // ok: test
    (keys, rows)
}

fn all_open_under(rows: &[Vec<u8>], keys: &[DataKey], ring: &KeyRing) {
    for (row, key) in rows.iter().zip(keys) {
        let got = ring.unwrap_key(row).unwrap(); // ok: test
        let sealed = key.seal(b"aad", b"x").unwrap(); // ok: test
        assert_eq!(&got.open(b"aad", &sealed).unwrap()[..], b"x"); // ok: test
    }
}

#[test]
fn interrupted_halfway_then_resumed_finishes_with_the_same_keys() {
    let (old, new) = (ring(), ring());
    let (keys, mut rows) = keys_and_rows(&old, 6);
    assert_eq!(run(&mut rows, &new, std::slice::from_ref(&old), 3), 3);
    // Resumed: the three done rows are skipped, the rest rewrapped.
    assert_eq!(
        run(&mut rows, &new, std::slice::from_ref(&old), usize::MAX),
        3
    );
    assert_eq!(
        run(&mut rows, &new, std::slice::from_ref(&old), usize::MAX),
        0
    );
    all_open_under(&rows, &keys, &new);
    assert!(rows.iter().all(|r| old.unwrap_key(r).is_err()));
}

#[test]
fn old_identity_replaced_before_the_end_resumes_from_the_retired_copy() {
    // master.age already gone (or the new identity): the old one is only in
    // the retired copy, which the resumed run is given.
    let (old, new) = (ring(), ring());
    let (keys, mut rows) = keys_and_rows(&old, 4);
    run(&mut rows, &new, std::slice::from_ref(&old), 2);
    assert!(matches!(
        decide(&rows[3], &new, &[]).unwrap(), // ok: test
        Decision::Unreadable
    )); // ok: test
    run(&mut rows, &new, &[ring(), old], usize::MAX);
    all_open_under(&rows, &keys, &new);
}

#[test]
fn a_key_under_no_known_identity_is_reported_not_rewrapped() {
    let (stranger, new) = (ring(), ring());
    let row = stranger.wrap(&DataKey::generate()).unwrap(); // ok: test
    assert!(matches!(
        decide(&row, &new, &[ring()]).unwrap(), // ok: test
        Decision::Unreadable
    )); // ok: test
}
