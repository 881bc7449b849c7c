use super::Secret;

/// A new sign-in password as typed: 12 to 128 characters, not a common or breached one, no
/// composition rules (NIST SP 800-63B). Signing in does not parse: existing passwords keep working.
#[derive(Clone, Debug)]
pub struct Password(Secret<String>);

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password needs at least 12 characters")]
    TooShort,
    #[error("the password may have at most 128 characters")]
    TooLong,
    #[error("this password is one of the most common or breached ones; choose another")]
    Common,
}

impl PasswordError {
    /// The i18n key of the message shown on forms.
    pub fn ui_key(&self) -> &'static str {
        match self {
            Self::TooShort | Self::TooLong => "form.password_rules",
            Self::Common => "form.password_common",
        }
    }
}

/// Lower-cased, sorted bytewise, one per line (content/passwords/README.md says where from).
const COMMON: &str = include_str!("../../content/passwords/common.txt");

/// Whether the password, in any letter case, is on the shipped list. A binary search over the
/// sorted text's lines: nothing is built at start, and a check costs about 16 comparisons.
fn is_common(password: &str) -> bool {
    static LINES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| COMMON.lines().collect());
    let lower = password.to_lowercase();
    LINES
        .binary_search_by(|line| line.as_bytes().cmp(lower.as_bytes()))
        .is_ok()
}

impl Password {
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > MAX_CHARS {
            Err(PasswordError::TooLong)
        } else if is_common(input) {
            Err(PasswordError::Common)
        } else {
            Ok(Self(Secret::new(input.to_owned())))
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_the_only_rule() {
        assert_eq!(Password::parse("short").unwrap_err(), PasswordError::TooShort);
        assert!(Password::parse("twelve chars").is_ok());
        assert!(Password::parse("パスワードは十二文字以上です").is_ok());
        assert!(Password::parse(&"x".repeat(64)).is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert_eq!(Password::parse(&"x".repeat(129)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn common_and_breached_passwords_are_refused_in_any_case() {
        // On the list: the most common 12-character ones and one from far down it.
        for common in ["123456789012", "qwertyuiopas", "PASSWORD1234", "Password1234"] {
            assert_eq!(Password::parse(common).unwrap_err(), PasswordError::Common, "{common}");
        }
        assert!(Password::parse("clinic reader 目視 2026").is_ok());
        assert!(Password::parse("correct horse battery").is_ok());
    }

    #[test]
    fn the_shipped_list_is_sorted_lower_cased_and_long_enough_to_matter() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert!(lines.len() > 40_000, "{}", lines.len());
        assert!(
            lines.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()),
            "sorted, no repeats"
        );
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() >= MIN_CHARS && *l == l.to_lowercase())
        );
    }
}
