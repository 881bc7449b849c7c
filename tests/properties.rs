//! Property tests for every parser of user input and for the calendar arithmetic: random input
//! never panics, and what is accepted always satisfies the rule.

use portal::domain::business_time::{BusinessCalendar, Closure, JST};
use portal::domain::guide::{Guide, SOURCES};
use portal::domain::search;
use portal::domain::ticket::TicketNumber;
use portal::domain::{ClinicCode, Email, Passcode, Password};
use proptest::prelude::*;

fn luhn_digit(first_nine: &str) -> char {
    // The check digit that makes the ten digits pass Luhn.
    (0..10)
        .map(|d| char::from(b'0' + d))
        .find(|d| ClinicCode::parse(&format!("{first_nine}{d}")).is_ok())
        .unwrap_or('x')
}

proptest! {
    #[test]
    fn search_folding_is_stable_and_queries_never_panic(input in "[ぁ-ゟ゠-ヿｦ-ﾟ０-ｚA-Za-z0-9゛゜ー－ 　]{0,30}|.{0,40}") {
        let once = search::fold(&input);
        prop_assert_eq!(search::fold(&once), once.clone(), "folding twice changes nothing");
        if let Ok(terms) = search::terms(&input) {
            prop_assert!(terms.len() <= search::MAX_TERMS);
            prop_assert!(terms.iter().all(|t| t.chars().count() >= search::MIN_TERM_CHARS && once.contains(t.as_str())));
        }
    }

    #[test]
    fn passcodes_are_exactly_four_ascii_digits(input in ".{0,8}") {
        let accepted = Passcode::parse(&input).is_ok();
        prop_assert_eq!(accepted, input.len() == 4 && input.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn clinic_codes_never_panic_and_accepted_ones_are_ten_luhn_digits(input in "[0-9 -]{0,14}|.{0,20}") {
        if let Ok(code) = ClinicCode::parse(&input) {
            prop_assert_eq!(code.as_str().len(), 10);
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn every_well_formed_code_with_its_check_digit_is_accepted(pref in 1u8..=47, table in prop::sample::select(vec!['1', '3', '4', '6']), rest in "[0-9]{6}") {
        let nine = format!("{pref:02}{table}{rest}");
        let check = luhn_digit(&nine);
        prop_assert!(check.is_ascii_digit(), "some digit always completes the code");
        let code = format!("{nine}{check}");
        prop_assert!(ClinicCode::parse(&code).is_ok());
    }

    #[test]
    fn emails_never_panic_and_come_out_lower_case(input in ".{0,80}") {
        if let Ok(email) = Email::parse(&input) {
            prop_assert_eq!(email.as_str(), email.as_str().to_lowercase());
            prop_assert!(email.as_str().contains('@'));
        }
    }

    #[test]
    fn passwords_are_judged_by_length_alone(input in ".{0,140}") {
        let chars = input.chars().count();
        prop_assert_eq!(Password::parse(&input).is_ok(), (12..=128).contains(&chars));
    }

    #[test]
    fn ticket_numbers_round_trip(id in 1i64..1_000_000_000) {
        let number = TicketNumber::from_id(id);
        prop_assert_eq!(TicketNumber::parse(&number.to_string()), Some(number));
    }

    #[test]
    fn ticket_number_parsing_never_panics(input in ".{0,20}") {
        let _ = TicketNumber::parse(&input);
    }

    #[test]
    fn guide_content_parsing_never_panics(input in ".{0,400}") {
        let _ = Guide::parse(&input);
    }

    #[test]
    fn damaged_guide_files_are_refused_or_valid_never_a_panic(cut in 0usize..10_000, len in 1usize..400) {
        let source = SOURCES[0].1;
        let start = source.char_indices().map(|(i, _)| i).nth(cut % source.chars().count()).unwrap_or(0);
        let end = source[start..].char_indices().map(|(i, _)| start + i).nth(len).unwrap_or(source.len());
        let damaged = format!("{}{}", &source[..start], &source[end..]);
        if let Ok(guide) = Guide::parse(&damaged) {
            for step in &guide.steps {
                prop_assert!(guide.steps_to_end.contains_key(&step.code));
            }
        }
    }

    #[test]
    fn business_minutes_added_are_business_minutes_between(start in 1_700_000_000i64..1_900_000_000, minutes in 0i64..20_000) {
        let year_end = Closure {
            start: time::macros::date!(2000-12-29),
            end: time::macros::date!(2001-01-03),
            yearly: true,
        };
        let cal = BusinessCalendar::standard(vec![year_end]);
        let from = time::OffsetDateTime::from_unix_timestamp(start).unwrap().to_offset(JST);
        let due = cal.add_minutes(from, minutes);
        prop_assert!(due >= from);
        prop_assert_eq!(cal.minutes_between(from, due), minutes);
    }

    #[test]
    fn language_cookies_never_panic(header in ".{0,100}") {
        let _ = portal::i18n::Lang::from_cookie_header(Some(&header));
    }
}
