//! The online eligibility PC's sign-in details that the guide shows signed-in users (step C-1):
//! an installer-wide default and per-clinic overrides, set by operators. What may be stored is
//! decided here; sealing and storage live in `auth::sealing` and `db::pc_credentials`.

use super::{Secret, bounded_text, is_bidi_control};

pub const MAX_USERNAME_CHARS: usize = 64;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Whose sign-in details a user sees: their clinic's own, or the installer-wide default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    Clinic,
}

impl Source {
    /// As written in the audit log (`source` of `guide.credential_revealed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Clinic => "clinic",
        }
    }
}

/// Why a username or password cannot be saved; each carries its UI string key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcCredentialError {
    Username,
    Password,
    /// No password typed, and none stored to keep.
    PasswordRequired,
}

impl PcCredentialError {
    pub fn key(self) -> &'static str {
        match self {
            Self::Username => "pc_credential.username_invalid",
            Self::Password => "pc_credential.password_invalid",
            Self::PasswordRequired => "pc_credential.password_required",
        }
    }
}

/// The username: trimmed, 1 to 64 characters, no control or bidirectional characters.
pub fn parse_username(input: &str) -> Result<String, PcCredentialError> {
    bounded_text(input, MAX_USERNAME_CHARS).ok_or(PcCredentialError::Username)
}

/// The password exactly as typed (not trimmed: spaces may belong to it). Empty means "keep the
/// stored one" (`None`); otherwise 1 to 128 characters, not only spaces, and no control or
/// bidirectional characters (they cannot be typed at the PC's sign-in screen anyway).
pub fn parse_password(input: &str) -> Result<Option<Secret<String>>, PcCredentialError> {
    if input.is_empty() {
        return Ok(None);
    }
    let hidden = |c: char| c.is_control() || is_bidi_control(c);
    let fits = input.chars().count() <= MAX_PASSWORD_CHARS;
    if !fits || input.trim().is_empty() || input.chars().any(hidden) {
        return Err(PcCredentialError::Password);
    }
    Ok(Some(Secret::new(input.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        assert_eq!(parse_username("  PcUser01 ").as_deref(), Ok("PcUser01"));
        assert_eq!(parse_username(&"u".repeat(64)).map(|u| u.len()), Ok(64));
        for bad in ["", "   ", "a\tb", "a\u{202E}b"] {
            assert_eq!(parse_username(bad), Err(PcCredentialError::Username), "{bad:?}");
        }
        assert_eq!(parse_username(&"u".repeat(65)), Err(PcCredentialError::Username));
    }

    #[test]
    fn a_password_is_kept_as_typed_and_empty_means_keep() {
        assert_eq!(parse_password(""), Ok(None));
        let kept = parse_password(" pass word ").unwrap().unwrap();
        assert_eq!(kept.expose(), " pass word ");
        assert!(parse_password(&"p".repeat(128)).unwrap().is_some());
        assert!(parse_password(&"パ".repeat(128)).unwrap().is_some());
        for bad in ["   ", "a\nb", "a\u{0}b", "a\u{2066}b"] {
            assert_eq!(parse_password(bad), Err(PcCredentialError::Password), "{bad:?}");
        }
        assert_eq!(parse_password(&"p".repeat(129)), Err(PcCredentialError::Password));
    }
}
