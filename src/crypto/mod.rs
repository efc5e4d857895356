//! Encryption at rest, without I/O: the key ring (master age identity,
//! per-child data keys stored only age-wrapped) and sealing of rows with
//! XChaCha20-Poly1305 under associated data that binds each ciphertext to its
//! row, so that rows cannot be swapped or replayed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

use crate::ids::ChildId;

mod chunks;
pub use chunks::{chunk_count, ChunkOpener, ChunkSealer, CHUNK, PREFIX_LEN, SEALED_CHUNK};

const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("invalid master identity")]
    BadIdentity,
    #[error("wrapping a data key failed")]
    Wrap,
    #[error("unwrapping a data key failed")]
    Unwrap,
    #[error("sealing failed")]
    Seal,
    #[error("ciphertext does not open under this key and row")]
    Open,
}

/// A 256-bit symmetric key for one child's rows (or the server's own secrets).
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(k.as_mut());
        Self(k)
    }

    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(arr)))
    }

    /// Seals `plaintext` bound to `aad`; output is nonce || ciphertext.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Open)
    }
}

/// Associated data for each kind of sealed row.
pub mod aad {
    use crate::ids::{AccountId, AlertId, AttachmentId, ChildId, EntryId, HandoverId};

    pub fn profile(child: ChildId) -> Vec<u8> {
        format!("renraku/v1/profile/{child}").into_bytes()
    }

    pub fn entry(child: ChildId, entry: EntryId, revision: i64) -> Vec<u8> {
        format!("renraku/v1/entry/{child}/{entry}/{revision}").into_bytes()
    }

    /// A version of the card: a version's ciphertext opens as no other
    /// version (nor another child's card).
    pub fn emergency_card(child: ChildId, version: i64) -> Vec<u8> {
        format!("renraku/v1/emergency-card/{child}/{version}").into_bytes()
    }

    /// What cards were sealed under before versions were kept (migration
    /// 0004 made each of them version 1).
    pub fn emergency_card_unversioned(child: ChildId) -> Vec<u8> {
        format!("renraku/v1/emergency-card/{child}").into_bytes()
    }

    /// A handover's note.
    pub fn handover(child: ChildId, handover: HandoverId) -> Vec<u8> {
        format!("renraku/v1/handover/{child}/{handover}").into_bytes()
    }

    /// Every chunk of an attachment (STREAM binds each to its position).
    pub fn attachment(child: ChildId, attachment: AttachmentId) -> Vec<u8> {
        format!("renraku/v1/attachment/{child}/{attachment}").into_bytes()
    }

    pub fn alert(child: ChildId, alert: AlertId) -> Vec<u8> {
        format!("renraku/v1/alert/{child}/{alert}").into_bytes()
    }

    pub fn account_name(account: AccountId) -> Vec<u8> {
        format!("renraku/v1/account-name/{account}").into_bytes()
    }

    pub fn totp_secret(account: AccountId) -> Vec<u8> {
        format!("renraku/v1/totp/{account}").into_bytes()
    }
}

/// The master identity and the cache of unwrapped child keys.
pub struct KeyRing {
    identity: age::x25519::Identity,
    recipient: age::x25519::Recipient,
    children: Mutex<HashMap<ChildId, Arc<DataKey>>>,
}

impl KeyRing {
    /// Parses the master identity (`AGE-SECRET-KEY-1...`).
    pub fn from_identity(text: &str) -> Result<Self, CryptoError> {
        let identity =
            age::x25519::Identity::from_str(text.trim()).map_err(|_| CryptoError::BadIdentity)?;
        let recipient = identity.to_public();
        Ok(Self {
            identity,
            recipient,
            children: Mutex::new(HashMap::new()),
        })
    }

    /// The public half (`age1...`): tells two identities apart without
    /// touching the secret.
    pub fn recipient(&self) -> String {
        self.recipient.to_string()
    }

    /// A new master identity, as the text to store (0600) in the data dir.
    pub fn generate_identity() -> Zeroizing<String> {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        Zeroizing::new(id.to_string().expose_secret().to_owned())
    }

    /// Encrypts a data key to the master recipient: the only form in which it is stored.
    pub fn wrap(&self, key: &DataKey) -> Result<Vec<u8>, CryptoError> {
        age::encrypt(&self.recipient, key.0.as_ref()).map_err(|_| CryptoError::Wrap)
    }

    pub fn unwrap_key(&self, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let plain =
            Zeroizing::new(age::decrypt(&self.identity, wrapped).map_err(|_| CryptoError::Unwrap)?);
        DataKey::from_slice(&plain).ok_or(CryptoError::Unwrap)
    }

    /// The child's data key: cached, or unwrapped from `wrapped` and cached.
    pub fn child_key(&self, child: ChildId, wrapped: &[u8]) -> Result<Arc<DataKey>, CryptoError> {
        if let Some(k) = self.cached(child) {
            return Ok(k);
        }
        let key = Arc::new(self.unwrap_key(wrapped)?);
        if let Ok(mut map) = self.children.lock() {
            map.insert(child, key.clone());
        }
        Ok(key)
    }

    pub fn cached(&self, child: ChildId) -> Option<Arc<DataKey>> {
        self.children.lock().ok()?.get(&child).cloned()
    }

    /// Drops the child's key from the cache (an erasure).
    pub fn forget(&self, child: ChildId) {
        if let Ok(mut map) = self.children.lock() {
            map.remove(&child);
        }
    }

    pub fn remember(&self, child: ChildId, key: Arc<DataKey>) {
        if let Ok(mut map) = self.children.lock() {
            map.insert(child, key);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seal_open_binds_aad() {
        let k = DataKey::generate();
        let sealed = k.seal(b"row-1", b"secret").unwrap(); // ok: test
        assert_eq!(&k.open(b"row-1", &sealed).unwrap()[..], b"secret"); // ok: test
        assert!(k.open(b"row-2", &sealed).is_err());
        assert!(DataKey::generate().open(b"row-1", &sealed).is_err());
    }

    #[test]
    fn wrap_unwrap() {
        let ring = KeyRing::from_identity(&KeyRing::generate_identity()).unwrap(); // ok: test
        let k = DataKey::generate();
        let wrapped = ring.wrap(&k).unwrap(); // ok: test
        assert!(wrapped.starts_with(b"age-encryption.org/v1"));
        let k2 = ring.unwrap_key(&wrapped).unwrap(); // ok: test
        assert_eq!(k.0.as_ref(), k2.0.as_ref());
    }
}

#[cfg(test)]
mod seal_props;
