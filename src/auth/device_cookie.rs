//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser in
//! which someone signed in to an account before carries a signed cookie naming that account. Its
//! sign-in attempts for that account count against the cookie's own allowance, not the
//! account's, so strangers who guess at the account from elsewhere cannot lock its owner out;
//! every other browser is throttled per account as before.
//!
//! The cookie is `<user id>.<session generation>.<nonce>.<HMAC-SHA256>`, keyed by a key derived
//! from the passcode pepper (outside the database, the same in every process). It names the
//! generation: a password change or reset, which moves the generation on, retires every device
//! cookie issued before it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::throttle::Limits;
use crate::domain::Secret;

/// The cookie's name; over https `__Host-` keeps sibling subdomains from planting one.
pub const COOKIE: &str = "portal_device";
pub const COOKIE_HTTPS: &str = "__Host-portal_device";
/// How long a browser stays known after its last successful sign-in.
pub const MAX_AGE_S: u64 = 180 * 86_400;

/// The allowance of one known browser: its owner's own typos, not a stranger's guesses.
pub const DEVICE: Limits = Limits {
    free: 5,
    per_hour: 50,
    max_delay_s: 300,
};

/// The key that signs device cookies, derived from the pepper (domain-separated).
#[derive(Clone)]
pub struct DeviceKey(Secret<Vec<u8>>);

impl DeviceKey {
    pub fn from_pepper(pepper: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC takes any key length");
        mac.update(b"mokushi-portal device cookie key v1");
        Self(Secret::new(mac.finalize().into_bytes().to_vec()))
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        mac
    }

    /// A new cookie value for this account and generation.
    pub fn issue(&self, user_id: i64, generation: i64) -> anyhow::Result<String> {
        let nonce = super::session::random_hex(16)?;
        let message = format!("{user_id}.{generation}.{nonce}");
        let tag = hex::encode(self.mac(&message).finalize().into_bytes());
        Ok(format!("{message}.{tag}"))
    }

    /// The browser named by a cookie value, if its signature holds (checked in constant time).
    pub fn verify(&self, value: &str) -> Option<Device> {
        let (message, tag) = value.rsplit_once('.')?;
        let tag = hex::decode(tag).ok()?;
        self.mac(message).verify_slice(&tag).ok()?;
        let mut parts = message.split('.');
        let user_id = parts.next()?.parse().ok()?;
        let generation = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_owned();
        parts.next().is_none().then_some(Device {
            user_id,
            generation,
            nonce,
        })
    }
}

/// A browser that signed in to `user_id` before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub user_id: i64,
    pub generation: i64,
    nonce: String,
}

impl Device {
    /// Whether this cookie still speaks for the account (same account, no password change since).
    pub fn vouches_for(&self, user_id: i64, generation: i64) -> bool {
        self.user_id == user_id && self.generation == generation
    }

    /// The key its failures are counted under.
    pub fn throttle_key(&self) -> String {
        format!("device:{}", self.nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeviceKey {
        DeviceKey::from_pepper(&[7u8; 32])
    }

    #[test]
    fn an_issued_cookie_verifies_and_names_its_account() {
        let value = key().issue(42, 3).unwrap();
        let device = key().verify(&value).expect("valid");
        assert!(device.vouches_for(42, 3));
        assert!(!device.vouches_for(42, 4), "a password change retires it");
        assert!(!device.vouches_for(41, 3));
        assert!(device.throttle_key().starts_with("device:"));
    }

    #[test]
    fn tampered_or_foreign_cookies_are_refused() {
        let value = key().issue(42, 3).unwrap();
        let other = DeviceKey::from_pepper(&[8u8; 32]);
        assert_eq!(other.verify(&value), None, "another portal's key");
        let forged = value.replacen("42.", "43.", 1);
        assert_eq!(key().verify(&forged), None, "another account");
        for junk in ["", ".", "1.2.3", "1.2.3.zz", "a.b.c.00", &format!("{value}.x")] {
            assert_eq!(key().verify(junk), None, "{junk:?}");
        }
    }
}
