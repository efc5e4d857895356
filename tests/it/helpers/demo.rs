//! The demo deployment's fixed values: the shared password and the four
//! children's names (which must never reach a log or a file on disk).

/// Password of every demo account (shared/DEMO.md).
pub const DEMO_PASSWORD: &str = "renraku-demo";

pub const HINATA: &str = "佐藤 ひなた";
pub const SOTA: &str = "高橋 そうた";
pub const REN: &str = "渡辺 蓮";
pub const YUI: &str = "中村 ゆい";

/// Child data that must never appear in logs or on disk: the four demo
/// children's names (with and without the space) and kana.
pub const DEMO_CHILD_SECRETS: &[&str] = &[
    "佐藤 ひなた",
    "佐藤ひなた",
    "高橋 そうた",
    "高橋そうた",
    "渡辺 蓮",
    "渡辺蓮",
    "中村 ゆい",
    "中村ゆい",
    "さとう ひなた",
    "さとうひなた",
    "たかはし そうた",
    "たかはしそうた",
    "わたなべ れん",
    "わたなべれん",
    "なかむら ゆい",
    "なかむらゆい",
];
