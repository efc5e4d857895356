//! A body's bytes become sealed chunks of the upload's file as they arrive:
//! at most one chunk of plaintext is held (the last chunk is sealed
//! differently, so one is kept back until the body ends), with its SHA-256
//! and size counted on the way.

use sha2::{Digest, Sha256};

use crate::crypto::{ChunkSealer, DataKey, CHUNK, PREFIX_LEN};
use crate::error::{Error, Result};
use crate::store::Upload;

pub(super) struct Sealing {
    sealer: ChunkSealer,
    prefix: [u8; PREFIX_LEN],
    held: Vec<u8>,
    upload: Upload,
    hash: Sha256,
    size: u64,
    max: u64,
}

/// A whole upload, sealed and written, not yet committed.
pub(super) struct Sealed {
    pub upload: Upload,
    pub prefix: [u8; PREFIX_LEN],
    pub size: u64,
    pub sha256: String,
}

impl Sealing {
    pub fn new(key: &DataKey, aad: Vec<u8>, upload: Upload, max: u64) -> Self {
        let (sealer, prefix) = key.chunk_sealer(aad);
        Self {
            sealer,
            prefix,
            held: Vec::with_capacity(2 * CHUNK),
            upload,
            hash: Sha256::new(),
            size: 0,
            max,
        }
    }

    /// Takes more plaintext; seals and writes every full chunk but the last.
    pub async fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.size += bytes.len() as u64;
        if self.size > self.max {
            return Err(Error::PayloadTooLarge(
                format!("attachments are at most {} bytes", self.max).into(),
            ));
        }
        self.hash.update(bytes);
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = (2 * CHUNK - self.held.len()).min(rest.len());
            self.held.extend_from_slice(&rest[..room]);
            rest = &rest[room..];
            while self.held.len() > CHUNK {
                let sealed = self.sealer.seal_next(&self.held[..CHUNK])?;
                self.upload.write_chunk(&sealed).await?;
                self.held.drain(..CHUNK);
            }
        }
        Ok(())
    }

    /// Seals the last chunk.
    pub async fn finish(mut self) -> Result<Sealed> {
        let sealed = self.sealer.seal_last(&self.held)?;
        self.upload.write_chunk(&sealed).await?;
        Ok(Sealed {
            upload: self.upload,
            prefix: self.prefix,
            size: self.size,
            sha256: hex(&self.hash.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
