//! Domain types and rules with no I/O. Input is parsed into these types at the edge, so code
//! past the edge never handles an unchecked passcode, 医療機関コード or e-mail address.

pub mod audit_chain;
pub mod business_time;
mod clinic_code;
pub mod contact_hours;
mod email;
pub mod guide;
pub mod holidays;
mod install_type;
pub mod installer;
mod local_path;
pub mod lockout;
pub mod notification;
mod passcode;
mod password;
pub mod pc_credential;
pub mod policy;
pub mod reader_health;
mod role;
pub mod search;
mod secret;
pub mod ticket;

pub use clinic_code::{ClinicCode, ClinicCodeError};
pub use email::{Email, EmailError};
pub use install_type::InstallType;
pub use local_path::{LocalPath, login_url};
pub use passcode::{Passcode, PasscodeError};
pub use password::{Password, PasswordError};
pub use role::Role;
pub use secret::Secret;

/// Text fields typed by people: trimmed, non-empty, bounded.
pub fn bounded_text(input: &str, max_chars: usize) -> Option<String> {
    let trimmed = input.trim();
    let count = trimmed.chars().count();
    let hidden = |c: char| c.is_control() || is_bidi_control(c);
    (count > 0 && count <= max_chars && !trimmed.chars().any(hidden)).then(|| trimmed.to_owned())
}

/// Characters that reorder how text is shown (bidirectional embeddings, overrides and isolates,
/// and the invisible direction marks): in a name or a summary they only serve to make it read
/// as something else ("Trojan Source"), so such text is refused.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Like [`bounded_text`] but empty is allowed.
pub fn optional_text(input: &str, max_chars: usize) -> Option<String> {
    if input.trim().is_empty() {
        Some(String::new())
    } else {
        bounded_text(input, max_chars)
    }
}

/// A phone number as people type it, tidied: full-width digits and dashes (typed with a
/// Japanese IME) become ASCII; only digits, `-`, `+`, `(`, `)` and spaces; 6 to 15 digits.
pub fn phone_number(input: &str) -> Option<String> {
    let tidy: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c),
            '－' | 'ー' | '‐' | '‑' | '−' | '–' | '—' | '―' => '-',
            '（' => '(',
            '）' => ')',
            '＋' => '+',
            '　' => ' ',
            other => other,
        })
        .collect();
    let allowed = tidy
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '(' | ')' | ' '));
    let digits = tidy.chars().filter(char::is_ascii_digit).count();
    (allowed && (6..=15).contains(&digits)).then_some(tidy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_tidied_and_checked() {
        assert_eq!(phone_number(" 011-555-0100 ").as_deref(), Some("011-555-0100"));
        assert_eq!(
            phone_number("０１１－５５５－０１００").as_deref(),
            Some("011-555-0100")
        );
        assert_eq!(phone_number("+81 (11) 555 0100").as_deref(), Some("+81 (11) 555 0100"));
        assert_eq!(phone_number("12345"), None);
        assert_eq!(phone_number("011-555-0100 内線2"), None);
        assert_eq!(phone_number(""), None);
    }

    #[test]
    fn bounded_text_trims_and_limits() {
        assert_eq!(bounded_text("  さくら医院 ", 10).as_deref(), Some("さくら医院"));
        assert_eq!(bounded_text("   ", 10), None);
        assert_eq!(bounded_text("あいうえおか", 5), None);
        assert_eq!(bounded_text("a\u{0}b", 5), None);
        assert_eq!(bounded_text("受付\u{202E}1", 10), None, "a right-to-left override");
        assert_eq!(bounded_text("a\u{2066}b\u{2069}", 10), None, "an isolate");
        assert_eq!(optional_text(" ", 5).as_deref(), Some(""));
    }
}
