//! Sealing the PC sign-in password at rest: XChaCha20-Poly1305 under a key derived from the
//! passcode pepper, which lives outside the database. A copy of the database alone does not open
//! it; losing the pepper loses the sealed passwords too (operators set them again).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::Secret;

/// The first byte of every sealed value, so a later key or cipher can be told apart.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Domain separation: the pepper keys passcode hashes too; this key is only for sealing.
const KEY_LABEL: &[u8] = b"mokushi-portal pc-credential sealing key v1";

#[derive(Clone)]
pub struct SealingKey(Secret<[u8; 32]>);

impl SealingKey {
    /// HMAC-SHA256(pepper, label): one key per pepper, never stored.
    pub fn derive(pepper: &Secret<Vec<u8>>) -> anyhow::Result<Self> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper.expose())
            .map_err(|e| anyhow::anyhow!("cannot key HMAC: {e}"))?;
        mac.update(KEY_LABEL);
        Ok(Self(Secret::new(mac.finalize().into_bytes().into())))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.expose()))
    }

    /// Seals `plain` for `scope` (the associated data: where it was set, e.g. `default`).
    pub fn seal(&self, plain: &Secret<String>, scope: &str) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
        let payload = Payload {
            msg: plain.expose().as_bytes(),
            aad: scope.as_bytes(),
        };
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed value; `None` if it was sealed under another key (a different pepper),
    /// for another scope, or was changed.
    pub fn open(&self, sealed: &[u8], scope: &str) -> Option<Secret<String>> {
        let (&version, rest) = sealed.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let payload = Payload {
            msg: body,
            aad: scope.as_bytes(),
        };
        let plain = self.cipher().decrypt(XNonce::from_slice(nonce), payload).ok()?;
        String::from_utf8(plain).ok().map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealingKey {
        SealingKey::derive(&Secret::new(vec![byte; 32])).unwrap()
    }

    #[test]
    fn a_sealed_password_opens_only_with_its_key_and_scope() {
        let password = Secret::new("pc pass 123".to_owned());
        let sealed = key(1).seal(&password, "default").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"pc pass"), "not stored in the clear");
        assert_eq!(key(1).open(&sealed, "default").unwrap().expose(), "pc pass 123");
        assert!(key(2).open(&sealed, "default").is_none(), "another pepper");
        assert!(key(1).open(&sealed, "clinic:7").is_none(), "another scope");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key(1).open(&tampered, "default").is_none());
        assert!(key(1).open(&[], "default").is_none());
        assert_ne!(
            sealed,
            key(1).seal(&password, "default").unwrap(),
            "a fresh nonce each time"
        );
    }
}
