use std::fmt;

/// A 10-digit 医療機関コード: prefecture (2 digits), 点数表 (1 digit) and the 7-digit
/// institution code whose last digit is a check digit; the whole number passes the Luhn check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClinicCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClinicCodeError {
    #[error("a 医療機関コード has exactly 10 digits")]
    Length,
    #[error("a 医療機関コード contains digits only")]
    NotDigits,
    #[error("the first two digits must be a prefecture number from 01 to 47")]
    Prefecture,
    #[error("the third digit (点数表) must be 1 (医科), 3 (歯科), 4 (調剤) or 6 (訪問看護)")]
    FeeTable,
    #[error("the check digit does not match: please check the code for a typo")]
    CheckDigit,
}

impl ClinicCodeError {
    /// The UI string that explains this to a person (the `Display` text is the command line's).
    pub fn ui_key(&self) -> &'static str {
        match self {
            Self::Length => "clinic.code_err_length",
            Self::NotDigits => "clinic.code_err_digits",
            Self::Prefecture => "clinic.code_err_prefecture",
            Self::FeeTable => "clinic.code_err_fee_table",
            Self::CheckDigit => "clinic.code_err_check_digit",
        }
    }
}

impl ClinicCode {
    pub fn parse(input: &str) -> Result<Self, ClinicCodeError> {
        // People paste codes with spaces or hyphens, e.g. "01 1 0113719".
        let digits: String = input.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ClinicCodeError::NotDigits);
        }
        if digits.len() != 10 {
            return Err(ClinicCodeError::Length);
        }
        let prefecture: u8 = digits[..2].parse().map_err(|_| ClinicCodeError::NotDigits)?;
        if !(1..=47).contains(&prefecture) {
            return Err(ClinicCodeError::Prefecture);
        }
        if !matches!(&digits[2..3], "1" | "3" | "4" | "6") {
            return Err(ClinicCodeError::FeeTable);
        }
        if !luhn_valid(&digits) {
            return Err(ClinicCodeError::CheckDigit);
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClinicCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_example_code() {
        assert_eq!(ClinicCode::parse("0110113719").unwrap().as_str(), "0110113719");
        assert_eq!(ClinicCode::parse(" 01-1-0113719 ").unwrap().as_str(), "0110113719");
    }

    #[test]
    fn refuses_invalid_codes_with_the_reason() {
        assert_eq!(ClinicCode::parse("011011371"), Err(ClinicCodeError::Length));
        assert_eq!(ClinicCode::parse("01101137190"), Err(ClinicCodeError::Length));
        assert_eq!(ClinicCode::parse("01101137a9"), Err(ClinicCodeError::NotDigits));
        assert_eq!(ClinicCode::parse("0110113718"), Err(ClinicCodeError::CheckDigit));
        assert_eq!(ClinicCode::parse("4810113710"), Err(ClinicCodeError::Prefecture));
        assert_eq!(ClinicCode::parse("0020113711"), Err(ClinicCodeError::Prefecture));
        assert_eq!(ClinicCode::parse("0120113717"), Err(ClinicCodeError::FeeTable));
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let good = "0110113719";
        for pos in 0..10 {
            for d in b'0'..=b'9' {
                let mut typo = good.as_bytes().to_vec();
                if typo[pos] == d {
                    continue;
                }
                typo[pos] = d;
                let typo = String::from_utf8(typo).unwrap();
                assert!(ClinicCode::parse(&typo).is_err(), "{typo} should be refused");
            }
        }
    }
}
