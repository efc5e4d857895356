//! Authentication primitives: passwords (argon2id, and the strength rules),
//! access tokens (JWT, pinned algorithm), refresh-token hashing, one-time
//! codes (invitations, recovery), TOTP and login throttling. The
//! session use cases built on them (login, refresh, logout, TOTP enrolment)
//! are in `domain::sessions`.

pub mod codes;
pub mod password;
pub mod pool;
pub mod throttle;
pub mod token;
pub mod totp;
