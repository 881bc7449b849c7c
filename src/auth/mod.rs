//! Authentication: password and passcode hashing, device tokens, the signed-in user, CSRF
//! tokens and sign-in throttling.

pub mod audit_key;
pub mod client_ip;
pub mod cookies;
pub mod device_cookie;
pub mod device_token;
pub mod hashing;
pub mod pepper;
pub mod sealing;
pub mod session;
pub mod session_store;
pub mod throttle;
pub mod totp;

pub use hashing::Hasher;
pub use sealing::SealingKey;

/// The credentials of an `Authorization: Bearer <token>` header. The scheme is matched without
/// regard to case (RFC 9110 §11.1), and any number of spaces may follow it.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
pub use session::{Ctx, SignedIn};

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER abc", "BeArEr   abc "] {
            assert_eq!(bearer_token(header), Some("abc"), "{header:?}");
        }
        for header in ["Basic abc", "Bearer", "Bearer   ", "Bearerabc", ""] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }
}
