use std::fmt;

/// A sign-in e-mail address, lower-cased. Only a light shape check: the address is an account
/// name here, nothing is sent to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("enter an e-mail address such as name@example.jp")]
    Invalid,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                    && !domain.ends_with('.') && !domain.contains('@'));
        if valid {
            Ok(Self(email))
        } else {
            Err(EmailError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(Email::parse(" Admin@Clinic.JP ").unwrap().as_str(), "admin@clinic.jp");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "admin",
            "@clinic.jp",
            "admin@",
            "admin@clinic",
            "a b@clinic.jp",
            "a@b@c.jp",
            "a@.jp",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
