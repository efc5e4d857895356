//! Property tests of TOTP matching on any typed code: no panic, and a step
//! only for the code of the previous, current or next step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::{matching_step, totp, STEP_SECS};
use crate::ids::Timestamp;

fn now_step() -> u64 {
    u64::try_from(Timestamp::now().millis() / 1000).unwrap() / STEP_SECS // ok: test code, a panic is a failed test
}

proptest! {
    #![proptest_config(Config::with_cases(5_000))]

    #[test]
    fn any_code_matches_only_a_near_step(
        secret in prop::collection::vec(any::<u8>(), 20),
        login in ".{0,16}",
        code in prop_oneof![any::<String>(), "[0-9]{6}", " ?[0-9]{5,7} ?"],
    ) {
        let before = now_step();
        let step = matching_step(&secret, &login, &code).unwrap(); // ok: test code, a panic is a failed test
        if let Some(s) = step {
            let t = totp(&secret, &login).unwrap(); // ok: test code, a panic is a failed test
            let s = u64::try_from(s).unwrap(); // ok: test code, a panic is a failed test
            prop_assert!(s + 1 >= before && s <= now_step() + 1);
            prop_assert_eq!(t.generate(s * STEP_SECS), code.trim());
        }
    }

    #[test]
    fn the_current_code_matches_however_padded(
        secret in prop::collection::vec(any::<u8>(), 16..64),
        pad in prop::sample::select(&["", " ", "\t", "\n", "  "][..]),
    ) {
        let t = totp(&secret, "someone").unwrap(); // ok: test code, a panic is a failed test
        let code = t.generate(now_step() * STEP_SECS);
        let step = matching_step(&secret, "someone", &format!("{pad}{code}{pad}")).unwrap(); // ok: test code, a panic is a failed test
        prop_assert!(step.is_some());
    }
}
