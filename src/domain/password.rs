use super::Secret;

/// A sign-in password as typed: 12 to 128 characters, no composition rules (NIST SP 800-63B).
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
}

impl Password {
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > MAX_CHARS {
            Err(PasswordError::TooLong)
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
}
