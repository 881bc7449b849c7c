//! The installer's own support desk as clinics see it: the company's name, its support phone
//! number and its opening hours, set by operators. Empty until an operator sets it; then the
//! guide, the help pages, the footer and the error pages show it.

use super::{bounded_text, optional_text};

pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_PHONE_CHARS: usize = 20;
pub const MAX_HOURS_CHARS: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallerDesk {
    pub name: String,
    /// Digits in groups joined by single hyphens, e.g. `0120-123-456`.
    pub phone: String,
    /// Free text, e.g. 平日 9:00～18:00.
    pub hours: String,
}

/// Why a desk cannot be saved; each carries its UI string key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallerDeskError {
    Name,
    Phone,
    Hours,
}

impl InstallerDeskError {
    pub fn key(self) -> &'static str {
        match self {
            Self::Name => "installer.name_invalid",
            Self::Phone => "installer.phone_invalid",
            Self::Hours => "installer.hours_invalid",
        }
    }
}

fn valid_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    phone.chars().count() <= MAX_PHONE_CHARS
        && (6..=15).contains(&digits)
        && phone
            .split('-')
            .all(|group| !group.is_empty() && group.chars().all(|c| c.is_ascii_digit()))
}

impl InstallerDesk {
    /// Parses the settings form. All three empty clears the desk; otherwise the name and the
    /// phone number are required and the hours optional.
    pub fn parse(name: &str, phone: &str, hours: &str) -> Result<Self, InstallerDeskError> {
        if [name, phone, hours].iter().all(|v| v.trim().is_empty()) {
            return Ok(Self::default());
        }
        let name = bounded_text(name, MAX_NAME_CHARS).ok_or(InstallerDeskError::Name)?;
        // Full-width digits and dashes made ASCII as everywhere; then digits in hyphen-joined groups.
        let phone = super::phone_number(phone)
            .filter(|p| valid_phone(p))
            .ok_or(InstallerDeskError::Phone)?;
        let hours = optional_text(hours, MAX_HOURS_CHARS).ok_or(InstallerDeskError::Hours)?;
        Ok(Self { name, phone, hours })
    }

    /// Whether an operator has set the desk (before that nothing installer-specific is shown).
    pub fn is_set(&self) -> bool {
        !self.phone.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_desk_needs_a_name_and_a_phone_number_of_digits_and_hyphens() {
        let desk = InstallerDesk::parse(" オプテック ", "0120-123-456", "平日 9:00～18:00").unwrap();
        assert_eq!(
            (desk.name.as_str(), desk.phone.as_str(), desk.hours.as_str()),
            ("オプテック", "0120-123-456", "平日 9:00～18:00")
        );
        assert!(desk.is_set());
        assert_eq!(
            InstallerDesk::parse("A", "０１２０－１２３－４５６", "").unwrap().phone,
            "0120-123-456"
        );
        for bad in [
            "",
            "0120 123 456",
            "0120--123",
            "-0120",
            "0120-",
            "+81-120",
            "12345",
            "0120-123-456-789-0123",
        ] {
            assert_eq!(
                InstallerDesk::parse("A", bad, ""),
                Err(InstallerDeskError::Phone),
                "{bad}"
            );
        }
        assert_eq!(
            InstallerDesk::parse("", "0120-123-456", ""),
            Err(InstallerDeskError::Name)
        );
        assert_eq!(
            InstallerDesk::parse(&"社".repeat(61), "0120-123-456", ""),
            Err(InstallerDeskError::Name)
        );
        assert_eq!(
            InstallerDesk::parse("A", "0120-123-456", &"時".repeat(101)),
            Err(InstallerDeskError::Hours)
        );
    }

    #[test]
    fn an_empty_form_clears_the_desk() {
        let desk = InstallerDesk::parse(" ", "", "").unwrap();
        assert_eq!(desk, InstallerDesk::default());
        assert!(!desk.is_set());
    }
}
