//! Device tokens for card readers: 256 random bits shown once; only their SHA-256 is stored.
//! A fast hash is right here (unlike passwords): the token is random, not guessable.

use sha2::{Digest, Sha256};

use crate::domain::Secret;

pub const PREFIX: &str = "rdr_";

pub type TokenHash = [u8; 32];

pub fn generate() -> anyhow::Result<Secret<String>> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
    Ok(Secret::new(format!("{PREFIX}{}", hex::encode(bytes))))
}

pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), PREFIX.len() + 64);
        assert_eq!(hash(a.expose()), hash(a.expose()));
        assert_ne!(hash(a.expose()), hash(b.expose()));
    }
}
