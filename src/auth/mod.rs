//! Authentication primitives: passwords (argon2id), access tokens (JWT,
//! pinned algorithm), refresh-token hashing, TOTP and login throttling. The
//! session use cases built on them (login, refresh, logout, TOTP enrolment)
//! are in `domain::sessions`.

pub mod password;
pub mod throttle;
pub mod token;
pub mod totp;
