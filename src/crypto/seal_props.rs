//! Property tests of sealed rows and wrapped keys: any single flipped bit
//! (nonce, ciphertext or tag), a truncation, other associated data or
//! another key fails to open with an error, never a panic; a wrapped data
//! key with a flipped bit does not unwrap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::{CryptoError, DataKey, KeyRing};

fn ring() -> KeyRing {
    KeyRing::from_identity(&KeyRing::generate_identity()).unwrap() // ok: test code, a panic is a failed test
}

proptest! {
    #![proptest_config(Config::with_cases(5_000))]

    #[test]
    fn sealed_rows_open_only_unchanged(
        aad in prop::collection::vec(any::<u8>(), 0..64),
        plain in prop::collection::vec(any::<u8>(), 0..256),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = DataKey::generate();
        let sealed = key.seal(&aad, &plain).unwrap(); // ok: test code, a panic is a failed test
        prop_assert_eq!(&key.open(&aad, &sealed).unwrap()[..], &plain[..]); // ok: test code, a panic is a failed test
        let mut flipped = sealed.clone();
        flipped[at.index(sealed.len())] ^= 1 << bit;
        prop_assert!(matches!(key.open(&aad, &flipped), Err(CryptoError::Open)));
        let cut = at.index(sealed.len());
        prop_assert!(matches!(key.open(&aad, &sealed[..cut]), Err(CryptoError::Open)));
        prop_assert!(matches!(DataKey::generate().open(&aad, &sealed), Err(CryptoError::Open)));
    }

    #[test]
    fn other_associated_data_does_not_open(
        aad in prop::collection::vec(any::<u8>(), 0..64),
        other in prop::collection::vec(any::<u8>(), 0..64),
        plain in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        prop_assume!(aad != other);
        let key = DataKey::generate();
        let sealed = key.seal(&aad, &plain).unwrap(); // ok: test code, a panic is a failed test
        prop_assert!(matches!(key.open(&other, &sealed), Err(CryptoError::Open)));
    }

    #[test]
    fn any_bytes_do_not_open(
        aad in prop::collection::vec(any::<u8>(), 0..16),
        junk in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        prop_assert!(matches!(DataKey::generate().open(&aad, &junk), Err(CryptoError::Open)));
    }
}

proptest! {
    // Each case wraps a key (an X25519 exchange): 3,000 cases.
    #![proptest_config(Config::with_cases(3_000))]

    #[test]
    fn a_wrapped_key_with_a_flipped_bit_does_not_unwrap(
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let ring = ring();
        let key = DataKey::generate();
        let wrapped = ring.wrap(&key).unwrap(); // ok: test code, a panic is a failed test
        let mut flipped = wrapped.clone();
        let i = at.index(wrapped.len());
        flipped[i] ^= 1 << bit;
        let r = ring.unwrap_key(&flipped);
        prop_assert!(matches!(r, Err(CryptoError::Unwrap)), "byte {} bit {} of {:?}", i, bit, String::from_utf8_lossy(&wrapped));
        prop_assert!(ring.unwrap_key(&wrapped).is_ok());
    }

    #[test]
    fn any_bytes_do_not_unwrap(junk in prop::collection::vec(any::<u8>(), 0..300)) {
        prop_assert!(matches!(ring().unwrap_key(&junk), Err(CryptoError::Unwrap)));
    }

    #[test]
    fn any_text_is_no_identity(text in prop_oneof![any::<String>(), "AGE-SECRET-KEY-1[A-Z0-9]{0,70}"]) {
        prop_assert!(matches!(KeyRing::from_identity(&text), Err(CryptoError::BadIdentity)));
    }
}

/// Not sampled but exhaustive: every bit of one wrapped key (about 1,600).
#[test]
fn every_flipped_bit_of_a_wrapped_key_fails_to_unwrap() {
    let ring = ring();
    let wrapped = ring.wrap(&DataKey::generate()).unwrap(); // ok: test code, a panic is a failed test
    for i in 0..wrapped.len() * 8 {
        let mut flipped = wrapped.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(
            matches!(ring.unwrap_key(&flipped), Err(CryptoError::Unwrap)),
            "byte {} bit {}",
            i / 8,
            i % 8
        );
    }
}
