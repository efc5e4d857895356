//! The contract's closed vocabularies as enums: account kinds, membership
//! roles and statuses, alert statuses, entry kinds, and how sessions end. Text from a client or
//! from the database is parsed into these at the boundary; past it, a
//! misspelt role or status does not compile. A leaf: it imports nothing.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Text that is not one of a vocabulary's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub what: &'static str,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}", self.what)
    }
}

/// One enum per vocabulary: its words as they are on the wire and in the
/// database, `as_str`, `FromStr`, `Display` and `Serialize` as that word.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl FromStr for $name {
            type Err = Unknown;

            fn from_str(s: &str) -> Result<Self, Unknown> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(Unknown { what: $what }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($word),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

vocabulary! {
    /// Who an account is.
    AccountKind, "account kind" {
        Professional = "professional",
        Guardian = "guardian",
        Youth = "youth",
        Admin = "admin",
    }
}

vocabulary! {
    /// A member's role in one child's notebook.
    Role, "role" {
        Guardian = "guardian",
        Youth = "youth",
        Member = "member",
    }
}

vocabulary! {
    /// A membership's status (`expired` is computed from `expires_at`).
    Status, "membership status" {
        Requested = "requested",
        Active = "active",
        Revoked = "revoked",
        Expired = "expired",
    }
}

vocabulary! {
    /// An emergency alert's status.
    AlertStatus, "alert status" {
        Open = "open",
        Acknowledged = "acknowledged",
    }
}

vocabulary! {
    /// What an entry is (each has its own body shape).
    EntryKind, "entry kind" {
        Note = "note",
        Vital = "vital",
        Attendance = "attendance",
        Medication = "medication",
        Plan = "plan",
        Handover = "handover",
        Appointment = "appointment",
    }
}

vocabulary! {
    /// Why a session ended (stored with it; an expired one answers
    /// `session_expired` on refresh, every other `unauthorized`).
    EndReason, "session end reason" {
        Logout = "logout",
        LogoutAll = "logout_all",
        Ended = "ended",
        Expired = "expired",
        Password = "password",
        Disabled = "disabled",
        Reset = "reset",
        Reuse = "reuse",
    }
}

vocabulary! {
    /// What kind of session: a full one, or one good only for TOTP enrolment.
    SessionPurpose, "session purpose" {
        Access = "access",
        Enroll = "enroll",
    }
}

impl AccountKind {
    /// Families' names are sealed (a youth's name is the child's name).
    pub fn is_family(self) -> bool {
        matches!(self, Self::Guardian | Self::Youth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for k in AccountKind::ALL {
            assert_eq!(k.as_str().parse::<AccountKind>(), Ok(*k));
        }
        for s in Status::ALL {
            assert_eq!(s.to_string().parse::<Status>(), Ok(*s));
        }
        assert!("Guardian".parse::<Role>().is_err());
        assert_eq!(
            serde_json::to_string(&EntryKind::Vital).unwrap_or_default(),
            "\"vital\""
        );
    }
}
