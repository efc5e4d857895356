//! What an upload is, told by its leading bytes (never by its name or its
//! declared type alone), and the removal of a JPEG's metadata.

use img_parts::jpeg::{markers, Jpeg};

use crate::error::{Error, Result};

/// Bytes enough to tell every accepted type apart.
pub const SNIFF_LEN: usize = 12;

/// The accepted types, as stored and served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    Jpeg,
    Png,
    Webp,
    Heic,
    Pdf,
}

impl Media {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
            Self::Pdf => "application/pdf",
        }
    }

    /// The declared types each one answers to.
    fn declared_as(self, declared: &str) -> bool {
        match self {
            Self::Jpeg => matches!(declared, "image/jpeg" | "image/jpg" | "image/pjpeg"),
            Self::Heic => matches!(declared, "image/heic" | "image/heif"),
            other => declared == other.content_type(),
        }
    }

    /// A file name's extension for downloads.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Heic => "heic",
            Self::Pdf => "pdf",
        }
    }

    pub fn from_stored(content_type: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Webp, Self::Heic, Self::Pdf]
            .into_iter()
            .find(|m| m.content_type() == content_type)
    }
}

/// HEIF brands of HEIC/HEIF still images (ISO/IEC 23008-12).
const HEIF_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
];

/// The type the leading bytes say, if it is one we accept.
pub fn sniff(head: &[u8]) -> Option<Media> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Media::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Media::Png)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Media::Webp)
    } else if head.len() >= 12
        && &head[4..8] == b"ftyp"
        && HEIF_BRANDS.iter().any(|b| &head[8..12] == *b)
    {
        Some(Media::Heic)
    } else if head.starts_with(b"%PDF-") {
        Some(Media::Pdf)
    } else {
        None
    }
}

fn unsupported() -> Error {
    Error::UnsupportedMediaType(
        "accepted: JPEG, PNG, WebP, HEIC and PDF, with a matching Content-Type".into(),
    )
}

/// The type of an upload: its leading bytes must be an accepted type, and
/// the declared `Content-Type` (parameters aside) must say the same.
pub fn check(head: &[u8], declared: Option<&str>) -> Result<Media> {
    let media = sniff(head).ok_or_else(unsupported)?;
    let declared = declared
        .and_then(|d| d.split(';').next())
        .map(|d| d.trim().to_ascii_lowercase())
        .ok_or_else(unsupported)?;
    if !media.declared_as(&declared) {
        return Err(unsupported());
    }
    Ok(media)
}

/// The JPEG without its metadata segments: EXIF and XMP (APP1, where GPS
/// positions live), APP3–APP13 (IPTC, maker data), APP15 and comments.
/// Kept: JFIF (APP0), the ICC colour profile (APP2) and Adobe's (APP14),
/// which decoding needs. The image data is not re-encoded.
/// The answer is the stripped file's pieces, in order (not one more copy).
pub fn strip_jpeg(bytes: Vec<u8>) -> Result<img_parts::ImageEncoder<Jpeg>> {
    let mut jpeg = Jpeg::from_bytes(bytes.into())
        .map_err(|_| Error::bad_request("the JPEG file is damaged"))?;
    let drop: Vec<u8> = (markers::APP1..=markers::APP15)
        .filter(|m| ![markers::APP2, markers::APP14].contains(m))
        .chain([markers::COM])
        .collect();
    for marker in drop {
        jpeg.remove_segments_by_marker(marker);
    }
    // The encoder skips what follows an empty segment that carries image
    // data (a scan header is never empty in a real file): refused.
    if jpeg
        .segments()
        .iter()
        .any(|s| s.has_entropy() && s.contents().is_empty())
    {
        return Err(Error::bad_request("the JPEG file is damaged"));
    }
    Ok(jpeg.encoder())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sniffs_and_matches_the_declared_type() {
        assert_eq!(
            check(b"\xFF\xD8\xFF\xE0rest", Some("image/jpeg")).unwrap(), // ok: test
            Media::Jpeg
        );
        assert_eq!(
            check(b"%PDF-1.7\n", Some("application/pdf; x=y")).unwrap(), // ok: test
            Media::Pdf
        );
        assert_eq!(
            check(b"\0\0\0\x18ftypheic", Some("image/heic")).unwrap(), // ok: test
            Media::Heic
        );
        assert_eq!(
            check(b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")).unwrap(), // ok: test
            Media::Webp
        );
        assert!(check(b"%PDF-1.7", Some("image/png")).is_err());
        assert!(check(b"GIF89a......", Some("image/gif")).is_err());
        assert!(check(b"\x89PNG\r\n\x1a\n", None).is_err());
        assert!(check(b"", Some("image/png")).is_err());
    }

    #[test]
    fn strips_exif_and_keeps_the_image() {
        let exif = b"Exif\0\0MM\0*GPSLatitude35.6";
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0, (exif.len() + 2) as u8]);
        jpeg.extend_from_slice(exif);
        jpeg.extend_from_slice(&[0xFF, 0xFE, 0, 7, b'h', b'o', b'm', b'e', b'!']);
        let scan = [0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 1, 2, 3, 0xFF, 0xD9];
        jpeg.extend_from_slice(&scan);
        let out: Vec<u8> = strip_jpeg(jpeg).unwrap().flatten().collect(); // ok: test
        assert!(!out.windows(4).any(|w| w == b"Exif"));
        assert!(!out.windows(4).any(|w| w == b"home"));
        assert!(out.ends_with(&scan));
        assert!(out.starts_with(&[0xFF, 0xD8, 0xFF, 0xDA]));
    }
}
