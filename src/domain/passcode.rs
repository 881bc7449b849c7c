use super::Secret;

/// A 目視確認用パスコード: exactly four ASCII digits.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Passcode(Secret<String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasscodeError {
    #[error("the passcode must be exactly four digits (0-9)")]
    NotFourDigits,
}

impl Passcode {
    pub fn parse(input: &str) -> Result<Self, PasscodeError> {
        if input.len() == 4 && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(Secret::new(input.to_owned())))
        } else {
            Err(PasscodeError::NotFourDigits)
        }
    }

    /// A fresh code from the operating system's CSPRNG, uniform over 0000-9999.
    pub fn generate() -> anyhow::Result<Self> {
        loop {
            let mut bytes = [0u8; 2];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
            let value = u16::from_le_bytes(bytes);
            // Rejection sampling keeps the distribution uniform (65,536 is not a multiple of 10,000).
            if value < 60_000 {
                return Ok(Self(Secret::new(format!("{:04}", value % 10_000))));
            }
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
    fn only_four_ascii_digits_parse() {
        assert!(Passcode::parse("0000").is_ok());
        assert!(Passcode::parse("9481").is_ok());
        for bad in ["", "123", "12345", "12a4", " 123", "１２３４", "12.4", "-123"] {
            assert_eq!(Passcode::parse(bad), Err(PasscodeError::NotFourDigits), "{bad:?}");
        }
    }

    #[test]
    fn generated_codes_are_four_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|_| Passcode::generate().unwrap().expose().to_owned())
            .collect();
        assert!(codes.iter().all(|c| Passcode::parse(c).is_ok()));
        assert!(codes.len() > 150, "200 draws from 10,000 values should rarely collide");
    }

    #[test]
    fn debug_output_hides_the_code() {
        let code = Passcode::parse("1234").unwrap();
        assert!(!format!("{code:?}").contains("1234"));
    }
}
