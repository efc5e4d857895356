//! Attachments (issue 20, point 1): uploads checked by their leading bytes,
//! JPEG metadata removed, sealed under the child's key in STREAM chunks as
//! they arrive (memory stays bounded whatever the size, JPEGs apart: see
//! [`Core::upload_attachment`]), stored only when whole; read by a member
//! who sees an entry that references them; collected after a day unless an
//! entry references them.
//!
//! # Layout
//! - `media`: the accepted types, told by their leading bytes; JPEG stripping;
//! - `sealing`: a body's bytes → sealed chunks of the upload's file;
//! - `gc`: the collector of unreferenced uploads.

mod gc;
mod media;
mod sealing;

pub use gc::attachment_gc_loop;

/// The file extension of a stored type (`bin` for one no longer known).
pub(in crate::domain) fn extension_of(content_type: &str) -> &'static str {
    Media::from_stored(content_type).map_or("bin", Media::extension)
}

use futures_util::stream::{BoxStream, Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::{Core, Principal};
use crate::crypto::{aad, chunk_count, ChunkOpener, SEALED_CHUNK};
use crate::error::{Error, Result};
use crate::ids::{AttachmentId, ChildId, Timestamp};
use crate::store::{AttachmentRow, ChunkReader, NewAccess};
use media::{Media, SNIFF_LEN};
use sealing::Sealing;

/// How long a refused upload's remaining body is read (and discarded).
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// At most this many attachments in one entry.
const MAX_PER_ENTRY: usize = 20;

/// JPEGs stripped at once: each is held whole (at most `--max-attachment`)
/// while its metadata is removed; the others wait, their bodies unread.
pub(super) const JPEG_AT_ONCE: usize = 2;

/// How long a JPEG waits for its turn before 503 `busy`.
const JPEG_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a JPEG's body may take to arrive once its turn came (20 MiB
/// in 300 s is a phone's slow uplink, about 0.5 Mbit/s).
const JPEG_READ: std::time::Duration = std::time::Duration::from_secs(300);

/// `POST .../attachments`'s answer.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct AttachmentInfo {
    pub id: AttachmentId,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// A file on its way out: its type, its name and its plaintext, opened
/// chunk by chunk as it is sent.
pub struct Download {
    pub content_type: String,
    pub size: i64,
    pub file_name: String,
    pub body: BoxStream<'static, std::io::Result<Vec<u8>>>,
}

/// An upload's body as it arrives: pieces of bytes, or the error that cut it.
pub struct UploadBody<S> {
    pub declared_type: Option<String>,
    pub declared_len: Option<u64>,
    pub stream: S,
}

fn too_large(max: u64) -> Error {
    Error::PayloadTooLarge(format!("attachments are at most {max} bytes").into())
}

/// A body cut short (the client went away): nothing is stored.
fn cut_short(e: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("the upload did not arrive whole: {e}"))
}

impl Core {
    /// `POST /children/{id}/attachments` (an active member who may post).
    /// JPEGs are held whole, once, to remove their metadata (at most
    /// [`JPEG_AT_ONCE`] at a time); every other type is sealed as it
    /// arrives, 64 KiB at a time.
    pub async fn upload_attachment<S, B, E>(
        &self,
        who: &Principal,
        child: ChildId,
        body: UploadBody<S>,
    ) -> Result<AttachmentInfo>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let mut body = body;
        let result = self.upload(who, child, &mut body).await;
        if result.is_err() {
            // Read what the client is still sending (bounded), so that it
            // gets to read the answer rather than a broken connection.
            let drain = async {
                let mut left = self.settings.max_attachment.saturating_mul(2);
                while let Some(Ok(piece)) = body.stream.next().await {
                    left = left.saturating_sub(piece.as_ref().len() as u64);
                    if left == 0 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
        }
        result
    }

    async fn upload<S, B, E>(
        &self,
        who: &Principal,
        child: ChildId,
        body: &mut UploadBody<S>,
    ) -> Result<AttachmentInfo>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        self.member(child, who.account).await?.require_uploader()?;
        let max = self.settings.max_attachment;
        if body.declared_len.is_some_and(|n| n > max) {
            return Err(too_large(max));
        }
        let stream = &mut body.stream;
        let first = read_head(stream).await?;
        let head = &first[..first.len().min(SNIFF_LEN)];
        let media = media::check(head, body.declared_type.as_deref())?;
        let id = AttachmentId::new();
        let key = self.child_key(child).await?;
        let upload = self.store.begin_upload(id, SEALED_CHUNK).await?;
        let mut sealing = Sealing::new(&key, aad::attachment(child, id), upload, max);
        if media == Media::Jpeg {
            // A slow client must not hold a permit for ever: the wait for
            // one and the read under it are both bounded.
            let _permit = tokio::time::timeout(JPEG_WAIT, self.jpeg_permits.acquire())
                .await
                .map_err(|_| Error::Busy { retry_after: 10 })?
                .map_err(Error::internal)?;
            // Room for the whole file at once (no doubling on the way).
            let room = body.declared_len.unwrap_or(0).min(max);
            let whole = tokio::time::timeout(JPEG_READ, read_whole(first, stream, room, max))
                .await
                .map_err(|_| Error::bad_request("the JPEG did not arrive in time"))??;
            for piece in media::strip_jpeg(whole)? {
                sealing.push(&piece).await?;
            }
        } else {
            sealing.push(&first).await?;
            while let Some(piece) = stream.next().await {
                sealing.push(piece.map_err(cut_short)?.as_ref()).await?;
            }
        }
        let sealed = sealing.finish().await?;
        let row = AttachmentRow {
            id,
            child_id: child,
            uploader: who.account,
            content_type: media.content_type().to_owned(),
            size: i64::try_from(sealed.size).map_err(Error::internal)?,
            sha256: sealed.sha256,
            nonce_prefix: sealed.prefix.to_vec(),
            created_at: Timestamp::now().millis(),
        };
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "post",
            detail: format!("attachment {id} ({}, {} bytes)", row.content_type, row.size),
            at: row.created_at,
        };
        self.store.commit_upload(sealed.upload, &row, log).await?;
        Ok(AttachmentInfo {
            id,
            content_type: row.content_type,
            size: row.size,
            sha256: row.sha256,
        })
    }

    /// `GET /children/{id}/attachments/{aid}`: to a member who sees an
    /// entry that references it, or to its uploader while no entry does;
    /// 404 to anyone else. Logged as `attachment_read`.
    pub async fn read_attachment(
        &self,
        who: &Principal,
        child: ChildId,
        id: AttachmentId,
    ) -> Result<Download> {
        let me = self.member(child, who.account).await?;
        let row = self
            .store
            .get_attachment(child, id)
            .await?
            .ok_or(Error::NotFound)?;
        let refs = self.store.attachment_refs(id).await?;
        let now = Timestamp::now();
        let sees = refs.iter().any(|&(cat, first)| me.sees(cat, first, now));
        let own_unreferenced = refs.is_empty() && row.uploader == who.account;
        if !(sees || own_unreferenced) {
            return Err(Error::NotFound);
        }
        let key = self.child_key(child).await?;
        let opener = key.chunk_opener(aad::attachment(child, id), &row.nonce_prefix)?;
        let reader = self.store.read_chunks(&row, SEALED_CHUNK).await?;
        self.log_access(
            child,
            who.account,
            "attachment_read",
            format!("attachment {id}"),
        )
        .await?;
        let ext = Media::from_stored(&row.content_type).map_or("bin", Media::extension);
        let count = chunk_count(u64::try_from(row.size).map_err(Error::internal)?);
        Ok(Download {
            file_name: format!("attachment-{id}.{ext}"),
            content_type: row.content_type,
            size: row.size,
            body: opened(reader, opener, count),
        })
    }

    /// The plaintext of one of the child's attachments, whole (an export
    /// holds it): its stored type and bytes. No consent check here: the
    /// export checked that its entries are the caller's to see.
    pub(in crate::domain) async fn attachment_plaintext(
        &self,
        child: ChildId,
        id: AttachmentId,
    ) -> Result<Option<(String, zeroize::Zeroizing<Vec<u8>>)>> {
        let Some(row) = self.store.get_attachment(child, id).await? else {
            return Ok(None);
        };
        let key = self.child_key(child).await?;
        let opener = key.chunk_opener(aad::attachment(child, id), &row.nonce_prefix)?;
        let reader = self.store.read_chunks(&row, SEALED_CHUNK).await?;
        let count = chunk_count(u64::try_from(row.size).map_err(Error::internal)?);
        let mut body = opened(reader, opener, count);
        let mut out =
            zeroize::Zeroizing::new(Vec::with_capacity(usize::try_from(row.size).unwrap_or(0)));
        while let Some(piece) = body.next().await {
            out.extend_from_slice(&piece.map_err(Error::internal)?);
        }
        Ok(Some((row.content_type, out)))
    }

    /// The attachments an entry body references (`"attachments": [id…]`):
    /// each must be one of this child's, else 400 and nothing is stored.
    pub(super) async fn referenced_attachments(
        &self,
        child: ChildId,
        body: &Value,
    ) -> Result<Vec<AttachmentId>> {
        let Some(list) = body.get("attachments").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        if list.len() > MAX_PER_ENTRY {
            return Err(Error::bad_request(format!(
                "body.attachments: at most {MAX_PER_ENTRY}"
            )));
        }
        let mut ids = Vec::with_capacity(list.len());
        for v in list {
            let id: AttachmentId = v
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::bad_request("body.attachments: attachment ids"))?;
            if ids.contains(&id) {
                return Err(Error::bad_request("body.attachments: an id twice"));
            }
            if self.store.get_attachment(child, id).await?.is_none() {
                return Err(Error::bad_request(
                    "body.attachments: no such attachment of this child",
                ));
            }
            ids.push(id);
        }
        Ok(ids)
    }
}

/// The first pieces of a body, until they hold the bytes that tell its
/// type (or the body ends).
async fn read_head<S, B, E>(stream: &mut S) -> Result<Vec<u8>>
where
    S: Stream<Item = std::result::Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut first = Vec::new();
    while first.len() < SNIFF_LEN {
        match stream.next().await {
            None => break,
            Some(piece) => first.extend_from_slice(piece.map_err(cut_short)?.as_ref()),
        }
    }
    Ok(first)
}

/// The rest of a JPEG after its first bytes, whole (at most `max`).
async fn read_whole<S, B, E>(first: Vec<u8>, stream: &mut S, room: u64, max: u64) -> Result<Vec<u8>>
where
    S: Stream<Item = std::result::Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut buf = Vec::with_capacity(usize::try_from(room).unwrap_or(0).max(first.len()));
    buf.extend_from_slice(&first);
    drop(first);
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(cut_short)?;
        if (buf.len() + piece.as_ref().len()) as u64 > max {
            return Err(too_large(max));
        }
        buf.extend_from_slice(piece.as_ref());
    }
    Ok(buf)
}

/// The plaintext of `count` sealed chunks, opened one at a time.
fn opened(
    reader: ChunkReader,
    opener: ChunkOpener,
    count: u64,
) -> BoxStream<'static, std::io::Result<Vec<u8>>> {
    let state = (reader, Some(opener), 0u64);
    futures_util::stream::unfold(state, move |(mut reader, opener, n)| async move {
        let mut opener = opener?;
        let sealed = match reader.next_chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => return Some((Err(broken("missing chunk")), (reader, None, n))),
            Err(e) => return Some((Err(broken(&e.to_string())), (reader, None, n))),
        };
        if n + 1 == count {
            let plain = opener.open_last(&sealed).map_err(|_| broken("chunk"));
            Some((plain, (reader, None, n + 1)))
        } else {
            let plain = opener.open_next(&sealed).map_err(|_| broken("chunk"));
            Some((plain, (reader, Some(opener), n + 1)))
        }
    })
    .boxed()
}

/// A stored file that does not open: the download is cut (and logged).
fn broken(what: &str) -> std::io::Error {
    tracing::error!(what, "an attachment does not open");
    std::io::Error::other("attachment does not open")
}
