//! Exports of a child's notebook (`POST /children/{id}/export`): a FHIR R4
//! Bundle (`fhir`), one printable HTML document (`html`), and an age file
//! holding both and the attachments (`archive`), to a recipient or a
//! passphrase. Made in memory from a [`Notebook`] the domain read and logged;
//! nothing of an export is ever written to disk.

mod archive;
mod codes;
mod fhir;
mod html;
mod text;

use serde::Deserialize;
use std::str::FromStr;
use tokio::sync::{Semaphore, SemaphorePermit};
use zeroize::Zeroizing;

use crate::domain::Notebook;
use crate::error::{Error, Result};

pub use archive::Attachment;

/// The body of `POST /children/{id}/export`, as the client sends it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportInput {
    pub format: String,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub passphrase: Option<String>,
}

/// Who can open an age export.
pub enum Target {
    Recipient(Box<age::x25519::Recipient>),
    Passphrase(age::secrecy::SecretString),
}

/// A checked export request: what to make, and for an age file, for whom.
pub enum Request {
    Fhir,
    Html,
    Age(Target),
}

/// A made export: its media type and bytes.
pub struct Rendered {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Request {
    /// Checks a client's request (400 `bad_request` for an unknown format,
    /// an age export without exactly one of recipient and passphrase, a
    /// malformed recipient, an empty passphrase, or either on another format).
    pub fn parse(input: ExportInput) -> Result<Self> {
        let ExportInput {
            format,
            recipient,
            passphrase,
        } = input;
        match (format.as_str(), recipient, passphrase) {
            ("fhir", None, None) => Ok(Self::Fhir),
            ("html", None, None) => Ok(Self::Html),
            ("fhir" | "html", _, _) => Err(Error::bad_request(
                "recipient and passphrase: only for the age format",
            )),
            ("age", Some(_), Some(_)) => Err(Error::bad_request(
                "give either recipient or passphrase, not both",
            )),
            ("age", Some(r), None) => {
                let r = age::x25519::Recipient::from_str(r.trim())
                    .map_err(|_| Error::bad_request("recipient: expected an age1… public key"))?;
                Ok(Self::Age(Target::Recipient(Box::new(r))))
            }
            ("age", None, Some(p)) => {
                if p.is_empty() || p.chars().count() > 1024 {
                    return Err(Error::bad_request("passphrase: 1–1024 characters"));
                }
                Ok(Self::Age(Target::Passphrase(p.into())))
            }
            ("age", None, None) => Err(Error::bad_request(
                "the age format needs a recipient or a passphrase",
            )),
            _ => Err(Error::bad_request("format: one of age, fhir, html")),
        }
    }

    /// The format's name, as the access log records it.
    pub fn format(&self) -> &'static str {
        match self {
            Self::Fhir => "fhir",
            Self::Html => "html",
            Self::Age(_) => "age",
        }
    }
}

/// Exports made at once, in the whole process: a passphrase export's
/// scrypt alone takes 256 MiB and a second of a core, so a burst of them is
/// refused (503 `busy`) rather than queued.
static SLOTS: Semaphore = Semaphore::const_new(2);

/// A turn to make an export (held until it is made), or 503 `busy`; taken
/// before the notebook is read, so a refused export is not logged.
pub fn slot() -> Result<SemaphorePermit<'static>> {
    SLOTS
        .try_acquire()
        .map_err(|_| Error::Busy { retry_after: 2 })
}

/// Makes the export. CPU-bound (scrypt for a passphrase takes about a
/// second): run it off the async workers.
pub fn render(nb: &Notebook, req: Request) -> Result<Rendered> {
    match req {
        Request::Fhir => Ok(Rendered {
            content_type: "application/fhir+json",
            bytes: bundle_json(nb)?.to_vec(),
        }),
        Request::Html => Ok(Rendered {
            content_type: "text/html; charset=utf-8",
            bytes: html::document(nb).into_bytes(),
        }),
        Request::Age(target) => {
            let bundle = bundle_json(nb)?;
            let page = Zeroizing::new(html::document(nb).into_bytes());
            let bytes = archive::seal(nb, &bundle, &page, archive::attachments(nb), target)?;
            Ok(Rendered {
                content_type: "application/octet-stream",
                bytes,
            })
        }
    }
}

fn bundle_json(nb: &Notebook) -> Result<Zeroizing<Vec<u8>>> {
    let bundle = fhir::bundle(nb);
    serde_json::to_vec_pretty(&bundle)
        .map(Zeroizing::new)
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(format: &str, recipient: Option<&str>, passphrase: Option<&str>) -> Result<Request> {
        Request::parse(ExportInput {
            format: format.into(),
            recipient: recipient.map(Into::into),
            passphrase: passphrase.map(Into::into),
        })
    }

    #[test]
    fn a_third_export_at_once_is_refused_as_busy() {
        let (a, b) = (slot(), slot());
        assert!(a.is_ok() && b.is_ok());
        assert!(matches!(slot(), Err(Error::Busy { .. })));
        drop(a);
        assert!(slot().is_ok());
    }

    #[test]
    fn requests_are_checked() {
        let key = age::x25519::Identity::generate().to_public().to_string();
        assert!(matches!(parse("fhir", None, None), Ok(Request::Fhir)));
        assert!(matches!(parse("html", None, None), Ok(Request::Html)));
        assert!(matches!(
            parse("age", Some(&key), None),
            Ok(Request::Age(Target::Recipient(_)))
        ));
        assert!(matches!(
            parse("age", None, Some("合言葉")),
            Ok(Request::Age(Target::Passphrase(_)))
        ));
        for (f, r, p) in [
            ("pdf", None, None),
            ("age", None, None),
            ("age", Some(key.as_str()), Some("x")),
            ("age", Some("age1nope"), None),
            ("age", None, Some("")),
            ("html", None, Some("x")),
            ("fhir", Some(key.as_str()), None),
        ] {
            assert!(
                matches!(parse(f, r, p), Err(Error::BadRequest(_))),
                "{f} {r:?} {p:?}"
            );
        }
    }
}
