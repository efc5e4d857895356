//! Attachments sealed in chunks with the STREAM construction (`aead::stream`,
//! a big-endian 32-bit chunk counter and a last-chunk flag in each nonce):
//! a file of any size is sealed and opened one chunk at a time, each chunk
//! bound to its attachment (associated data) and to its position, and a
//! truncated or reordered file does not open.

use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use rand::RngCore;

use super::{CryptoError, DataKey};

/// Plaintext bytes per chunk (the last one may hold fewer, or none).
pub const CHUNK: usize = 64 * 1024;
/// A sealed chunk is its plaintext and a 16-byte tag.
pub const SEALED_CHUNK: usize = CHUNK + 16;
/// XChaCha20's 24-byte nonce less STREAM's counter and flag (5 bytes).
pub const PREFIX_LEN: usize = 19;

/// How many sealed chunks a plaintext of `size` bytes makes (an empty one
/// still has its last chunk).
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64).max(1)
}

/// Seals one attachment's chunks in order; [`ChunkSealer::seal_last`] ends it.
pub struct ChunkSealer {
    enc: EncryptorBE32<XChaCha20Poly1305>,
    aad: Vec<u8>,
}

impl ChunkSealer {
    pub fn seal_next(&mut self, chunk: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.enc
            .encrypt_next(Payload {
                msg: chunk,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::Seal)
    }

    pub fn seal_last(self, chunk: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.enc
            .encrypt_last(Payload {
                msg: chunk,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::Seal)
    }
}

/// Opens one attachment's chunks in order.
pub struct ChunkOpener {
    dec: DecryptorBE32<XChaCha20Poly1305>,
    aad: Vec<u8>,
}

impl ChunkOpener {
    pub fn open_next(&mut self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.dec
            .decrypt_next(Payload {
                msg: sealed,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::Open)
    }

    pub fn open_last(self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.dec
            .decrypt_last(Payload {
                msg: sealed,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::Open)
    }
}

impl DataKey {
    /// A sealer with a fresh random nonce prefix (stored beside the chunks).
    pub fn chunk_sealer(&self, aad: Vec<u8>) -> (ChunkSealer, [u8; PREFIX_LEN]) {
        let mut prefix = [0u8; PREFIX_LEN];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        let aead = XChaCha20Poly1305::new(self.0.as_ref().into());
        let enc = EncryptorBE32::from_aead(aead, GenericArray::from_slice(&prefix));
        (ChunkSealer { enc, aad }, prefix)
    }

    pub fn chunk_opener(&self, aad: Vec<u8>, prefix: &[u8]) -> Result<ChunkOpener, CryptoError> {
        if prefix.len() != PREFIX_LEN {
            return Err(CryptoError::Open);
        }
        let aead = XChaCha20Poly1305::new(self.0.as_ref().into());
        let dec = DecryptorBE32::from_aead(aead, GenericArray::from_slice(prefix));
        Ok(ChunkOpener { dec, aad })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn seal(key: &DataKey, aad: &[u8], parts: &[&[u8]]) -> (Vec<Vec<u8>>, [u8; PREFIX_LEN]) {
        let (mut s, prefix) = key.chunk_sealer(aad.to_vec());
        let (last, rest) = parts.split_last().unwrap(); // ok: test
        let mut out: Vec<Vec<u8>> = rest.iter().map(|p| s.seal_next(p).unwrap()).collect(); // ok: test
        out.push(s.seal_last(last).unwrap()); // ok: test
        (out, prefix)
    }

    #[test]
    fn chunks_open_in_order_only_under_their_attachment() {
        let key = DataKey::generate();
        let (sealed, prefix) = seal(&key, b"a/1", &[b"one", b"two", b"three"]);
        let mut o = key.chunk_opener(b"a/1".to_vec(), &prefix).unwrap(); // ok: test
        assert_eq!(o.open_next(&sealed[0]).unwrap(), b"one"); // ok: test
        assert_eq!(o.open_next(&sealed[1]).unwrap(), b"two"); // ok: test
        assert_eq!(o.open_last(&sealed[2]).unwrap(), b"three"); // ok: test
                                                                // Another attachment's associated data, a swapped chunk, a
                                                                // truncation (a middle chunk taken for the last): all refused.
        let mut o = key.chunk_opener(b"a/2".to_vec(), &prefix).unwrap(); // ok: test
        assert!(o.open_next(&sealed[0]).is_err());
        let mut o = key.chunk_opener(b"a/1".to_vec(), &prefix).unwrap(); // ok: test
        assert!(o.open_next(&sealed[1]).is_err());
        let mut o = key.chunk_opener(b"a/1".to_vec(), &prefix).unwrap(); // ok: test
        o.open_next(&sealed[0]).unwrap(); // ok: test
        assert!(o.open_last(&sealed[1]).is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(chunk_count(0), 1);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(CHUNK as u64), 1);
        assert_eq!(chunk_count(CHUNK as u64 + 1), 2);
    }
}
