//! argon2id for everything people type. The work runs on blocking threads, bounded so that a
//! sign-in storm queues instead of starving the runtime or exhausting memory (19 MiB a hash).

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::{Passcode, Password, Secret};

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    pepper: Secret<Vec<u8>>,
    permits: Semaphore,
    /// Verified against when an account does not exist, so both cases cost the same time.
    dummy_hash: String,
}

/// m = 19 MiB, t = 2, p = 1: the OWASP minimum for argon2id.
fn params() -> Params {
    Params::default()
}

impl Hasher {
    pub fn new(pepper: Secret<Vec<u8>>) -> anyhow::Result<Self> {
        let dummy_hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"no such account: timing equaliser")
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            inner: Arc::new(Inner {
                pepper,
                permits: Semaphore::new(workers),
                dummy_hash,
            }),
        })
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce(&[u8]) -> T + Send + 'static) -> anyhow::Result<T> {
        let _permit = self.inner.permits.acquire().await.context("hasher closed")?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || job(inner.pepper.expose()))
            .await
            .context("hashing task failed")
    }

    pub async fn hash_password(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.clone();
        self.run(move |_| {
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// Verifies a typed password against a stored hash, or against a dummy hash when there
    /// is no account, so the answer takes the same time either way.
    pub async fn verify_password(&self, typed: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let typed = Secret::new(typed.to_owned());
        let (stored, real) = match stored {
            Some(hash) => (hash.to_owned(), true),
            None => (self.inner.dummy_hash.clone(), false),
        };
        let ok = self
            .run(move |_| {
                let Ok(hash) = PasswordHash::new(&stored) else {
                    return false;
                };
                Argon2::default()
                    .verify_password(typed.expose().as_bytes(), &hash)
                    .is_ok()
            })
            .await?;
        Ok(ok && real)
    }

    /// Passcodes are keyed with the pepper: 10,000 candidates are nothing to brute-force
    /// from a stolen database alone, but nothing at all without the pepper.
    pub async fn hash_passcode(&self, code: &Passcode) -> anyhow::Result<String> {
        let code = code.clone();
        self.run(move |pepper| {
            Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
                .hash_password(code.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    pub async fn verify_passcode(&self, code: &Passcode, stored: &str) -> anyhow::Result<bool> {
        let code = code.clone();
        let stored = stored.to_owned();
        self.run(move |pepper| {
            let hash = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored passcode hash: {e}"))?;
            let argon = Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
            Ok(argon.verify_password(code.expose().as_bytes(), &hash).is_ok())
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(pepper: &[u8]) -> Hasher {
        Hasher::new(Secret::new(pepper.to_vec())).unwrap()
    }

    #[tokio::test]
    async fn passwords_round_trip_as_argon2id() {
        let h = hasher(b"pepper-one");
        let pw = Password::parse("correct horse battery").unwrap();
        let hash = h.hash_password(&pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(h.verify_password("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!h.verify_password("wrong horse battery!", Some(&hash)).await.unwrap());
        assert!(!h.verify_password("correct horse battery", None).await.unwrap());
    }

    #[tokio::test]
    async fn passcode_hashes_need_the_pepper() {
        let code = Passcode::parse("0427").unwrap();
        let hash = hasher(b"pepper-one").hash_passcode(&code).await.unwrap();
        assert!(!hash.contains("0427"));
        assert!(hasher(b"pepper-one").verify_passcode(&code, &hash).await.unwrap());
        assert!(!hasher(b"pepper-two").verify_passcode(&code, &hash).await.unwrap());
        let other = Passcode::parse("0428").unwrap();
        assert!(!hasher(b"pepper-one").verify_passcode(&other, &hash).await.unwrap());
    }
}
