//! The `age` export: a tar of `bundle.json`, `notebook.html` and
//! `attachments/`, encrypted as it is written (age, to an X25519 recipient
//! or a passphrase with scrypt) into memory, so that no plaintext of it
//! reaches a disk. The stock `age` command reads it.

use std::io::{self, Read, Write};

use super::Target;
use crate::domain::Notebook;
use crate::error::{Error, Result};

/// The scrypt work factor (log2 N) of passphrase exports: age's own
/// default target (about a second), fixed so that the memory one export
/// takes is bounded (128 · r · N = 256 MiB) and the stock `age` accepts it.
const SCRYPT_LOG_N: u8 = 18;

/// One file under `attachments/` in the tar: its name there and its bytes.
pub struct Attachment<'a> {
    pub name: &'a str,
    pub size: u64,
    pub reader: &'a [u8],
}

/// The attachments the export holds: those the exported entries
/// reference, opened by `Core::export_notebook`.
pub fn attachments(nb: &Notebook) -> Vec<Attachment<'_>> {
    nb.attachments
        .iter()
        .map(|a| Attachment {
            name: &a.file_name,
            size: a.bytes.len() as u64,
            reader: &a.bytes,
        })
        .collect()
}

/// The age file: a tar of the bundle, the page and the attachments.
pub fn seal(
    nb: &Notebook,
    bundle: &[u8],
    page: &[u8],
    attachments: Vec<Attachment<'_>>,
    target: Target,
) -> Result<Vec<u8>> {
    let mtime = u64::try_from(nb.exported_at.millis() / 1000).unwrap_or(0);
    let encryptor = match target {
        Target::Recipient(r) => {
            let recipients: [&dyn age::Recipient; 1] = [&*r];
            age::Encryptor::with_recipients(recipients.into_iter()).map_err(Error::internal)?
        }
        Target::Passphrase(p) => {
            let mut r = age::scrypt::Recipient::new(p);
            r.set_work_factor(SCRYPT_LOG_N);
            let recipients: [&dyn age::Recipient; 1] = [&r];
            age::Encryptor::with_recipients(recipients.into_iter()).map_err(Error::internal)?
        }
    };
    let sealed = encryptor.wrap_output(Vec::new()).map_err(Error::internal)?;
    let mut tar = tar::Builder::new(sealed);
    file(&mut tar, "bundle.json", mtime, bundle.len() as u64, bundle)?;
    file(&mut tar, "notebook.html", mtime, page.len() as u64, page)?;
    directory(&mut tar, "attachments/", mtime)?;
    for a in attachments {
        let name = safe_name(a.name)?;
        file(
            &mut tar,
            &format!("attachments/{name}"),
            mtime,
            a.size,
            a.reader.take(a.size),
        )?;
    }
    let sealed = tar.into_inner().map_err(Error::internal)?;
    finish(sealed)
}

fn finish(sealed: age::stream::StreamWriter<Vec<u8>>) -> Result<Vec<u8>> {
    sealed.finish().map_err(Error::internal)
}

/// An attachment's name as a single path component (no folder, no `..`).
fn safe_name(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0']);
    if ok {
        Ok(name)
    } else {
        Err(Error::internal(
            "an attachment's name is not a plain file name",
        ))
    }
}

fn file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mtime: u64,
    size: u64,
    data: impl Read,
) -> Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    tar.append_data(&mut h, path, data).map_err(io_error)
}

fn directory<W: Write>(tar: &mut tar::Builder<W>, path: &str, mtime: u64) -> Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    h.set_mode(0o755);
    h.set_mtime(mtime);
    tar.append_data(&mut h, path, io::empty()).map_err(io_error)
}

fn io_error(e: io::Error) -> Error {
    Error::internal(format!("writing the export: {e}"))
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn attachment_names_stay_in_their_folder() {
        assert!(safe_name("photo-1.jpg").is_ok());
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\0b"] {
            assert!(safe_name(bad).is_err(), "{bad:?}");
        }
    }
}
