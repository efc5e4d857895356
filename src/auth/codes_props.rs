//! Property tests of one-time code hashing on any typed input: no panic,
//! None for input that cannot be a code (too long, or nothing but spaces
//! and hyphens), and the same hash however the code is spaced or cased.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::hash;

proptest! {
    #![proptest_config(Config::with_cases(10_000))]

    #[test]
    fn any_input_hashes_or_is_none(typed in prop_oneof![any::<String>(), "[A-Za-z2-7 -]{0,120}", ".{90,110}"]) {
        let h = hash(&typed);
        let blank = typed.chars().all(|c| c.is_whitespace() || c == '-');
        if typed.len() > 100 || blank {
            prop_assert_eq!(h, None);
        } else {
            prop_assert_eq!(h.map(|h| h.len()), Some(43));
        }
    }

    #[test]
    fn spacing_and_case_do_not_change_the_hash(
        code in "[A-Z2-7]{1,40}",
        seps in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(&[" ", "-", "\t", "\u{3000}"][..])), 0..8),
        lower in any::<bool>(),
    ) {
        let mut typed = if lower { code.to_lowercase() } else { code.clone() };
        for (at, sep) in seps {
            // Separators go between characters (index into char boundaries).
            let bounds: Vec<usize> = typed.char_indices().map(|(i, _)| i).chain([typed.len()]).collect();
            typed.insert_str(*at.get(&bounds), sep);
        }
        prop_assume!(typed.len() <= 100);
        prop_assert_eq!(hash(&typed), hash(&code));
    }
}
