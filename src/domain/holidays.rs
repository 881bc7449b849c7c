//! Japanese national holidays (国民の祝日), computed from the law as it stands since 2007,
//! including 振替休日 (a holiday on Sunday moves to the next working day) and 国民の休日 (a day
//! between two holidays), and the one-off changes of 2019–2021. Equinox days use the standard
//! approximation valid for 1980–2099; the Cabinet Office confirms them a year ahead.

use time::{Date, Month, Weekday};

/// Whether `date` is a national holiday (not counting ordinary weekends).
pub fn is_holiday(date: Date) -> bool {
    is_named_holiday(date) || is_substitute_holiday(date) || is_citizens_holiday(date)
}

fn is_named_holiday(date: Date) -> bool {
    let year = date.year();
    let day = date.day();
    match (year, date.month(), day) {
        // One-off days: the 2019 enthronement, the 2020/2021 Olympic moves.
        (2019, Month::May, 1) | (2019, Month::October, 22) => return true,
        (2020, Month::July, 23 | 24) | (2020, Month::August, 10) => return true,
        (2021, Month::July, 22 | 23) | (2021, Month::August, 8) => return true,
        _ => {}
    }
    let olympic_year = matches!(year, 2020 | 2021);
    match date.month() {
        Month::January => day == 1 || date == nth_weekday(year, Month::January, 2, Weekday::Monday),
        Month::February => day == 11 || (year >= 2020 && day == 23),
        Month::March => day == spring_equinox(year),
        Month::April => day == 29,
        Month::May => matches!(day, 3..=5),
        Month::July => !olympic_year && date == nth_weekday(year, Month::July, 3, Weekday::Monday),
        Month::August => !olympic_year && year >= 2016 && day == 11,
        Month::September => {
            day == autumn_equinox(year) || date == nth_weekday(year, Month::September, 3, Weekday::Monday)
        }
        Month::October => !olympic_year && date == nth_weekday(year, Month::October, 2, Weekday::Monday),
        Month::November => day == 3 || day == 23,
        Month::December => year <= 2018 && day == 23,
        Month::June => false,
    }
}

/// 振替休日: the first non-holiday after a run of holidays that includes a Sunday.
fn is_substitute_holiday(date: Date) -> bool {
    if is_named_holiday(date) || date.weekday() == Weekday::Sunday {
        return false;
    }
    let mut day = date;
    loop {
        let Some(previous) = day.previous_day() else {
            return false;
        };
        if !is_named_holiday(previous) {
            return false;
        }
        if previous.weekday() == Weekday::Sunday {
            return true;
        }
        day = previous;
    }
}

/// 国民の休日: an ordinary day squeezed between two named holidays.
fn is_citizens_holiday(date: Date) -> bool {
    if is_named_holiday(date) || date.weekday() == Weekday::Sunday {
        return false;
    }
    match (date.previous_day(), date.next_day()) {
        (Some(before), Some(after)) => is_named_holiday(before) && is_named_holiday(after),
        _ => false,
    }
}

fn nth_weekday(year: i32, month: Month, n: u8, weekday: Weekday) -> Date {
    Date::from_calendar_date(year, month, 1)
        .ok()
        .and_then(|first| {
            let offset = (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
            first.replace_day(1 + offset + 7 * (n - 1)).ok()
        })
        .unwrap_or(Date::MIN)
}

fn equinox_day(year: i32, base: f64) -> u8 {
    let y = f64::from(year - 1980);
    let leap_correction = f64::from((year - 1980).div_euclid(4));
    // Truncation is the formula's intent; the value is always between 19 and 24.
    (base + 0.242_194 * y - leap_correction).floor() as u8
}

fn spring_equinox(year: i32) -> u8 {
    equinox_day(year, 20.8431)
}

fn autumn_equinox(year: i32) -> u8 {
    equinox_day(year, 23.2488)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn holidays_of(year: i32) -> Vec<Date> {
        let mut day = Date::from_calendar_date(year, Month::January, 1).unwrap();
        let mut found = Vec::new();
        while day.year() == year {
            if is_holiday(day) {
                found.push(day);
            }
            day = day.next_day().unwrap();
        }
        found
    }

    #[test]
    fn the_2025_list_matches_the_cabinet_office() {
        let expected = [
            date!(2025 - 01 - 01),
            date!(2025 - 01 - 13),
            date!(2025 - 02 - 11),
            date!(2025 - 02 - 23),
            date!(2025 - 02 - 24),
            date!(2025 - 03 - 20),
            date!(2025 - 04 - 29),
            date!(2025 - 05 - 03),
            date!(2025 - 05 - 04),
            date!(2025 - 05 - 05),
            date!(2025 - 05 - 06),
            date!(2025 - 07 - 21),
            date!(2025 - 08 - 11),
            date!(2025 - 09 - 15),
            date!(2025 - 09 - 23),
            date!(2025 - 10 - 13),
            date!(2025 - 11 - 03),
            date!(2025 - 11 - 23),
            date!(2025 - 11 - 24),
        ];
        assert_eq!(holidays_of(2025), expected);
    }

    #[test]
    fn the_2026_list_has_a_citizens_holiday_in_september() {
        let expected = [
            date!(2026 - 01 - 01),
            date!(2026 - 01 - 12),
            date!(2026 - 02 - 11),
            date!(2026 - 02 - 23),
            date!(2026 - 03 - 20),
            date!(2026 - 04 - 29),
            date!(2026 - 05 - 03),
            date!(2026 - 05 - 04),
            date!(2026 - 05 - 05),
            date!(2026 - 05 - 06),
            date!(2026 - 07 - 20),
            date!(2026 - 08 - 11),
            date!(2026 - 09 - 21),
            date!(2026 - 09 - 22),
            date!(2026 - 09 - 23),
            date!(2026 - 10 - 12),
            date!(2026 - 11 - 03),
            date!(2026 - 11 - 23),
        ];
        assert_eq!(holidays_of(2026), expected);
    }

    #[test]
    fn the_2027_list_matches_the_cabinet_office() {
        let expected = [
            date!(2027 - 01 - 01),
            date!(2027 - 01 - 11),
            date!(2027 - 02 - 11),
            date!(2027 - 02 - 23),
            date!(2027 - 03 - 21),
            date!(2027 - 03 - 22),
            date!(2027 - 04 - 29),
            date!(2027 - 05 - 03),
            date!(2027 - 05 - 04),
            date!(2027 - 05 - 05),
            date!(2027 - 07 - 19),
            date!(2027 - 08 - 11),
            date!(2027 - 09 - 20),
            date!(2027 - 09 - 23),
            date!(2027 - 10 - 11),
            date!(2027 - 11 - 03),
            date!(2027 - 11 - 23),
        ];
        assert_eq!(holidays_of(2027), expected);
    }

    #[test]
    fn one_off_years_follow_their_special_laws() {
        assert!(
            is_holiday(date!(2019 - 04 - 30)) && is_holiday(date!(2019 - 05 - 01)) && is_holiday(date!(2019 - 05 - 02))
        );
        assert!(is_holiday(date!(2019 - 10 - 22)));
        assert!(!is_holiday(date!(2019 - 12 - 23)));
        assert!(is_holiday(date!(2020 - 07 - 24)) && !is_holiday(date!(2020 - 10 - 12)));
        assert!(
            is_holiday(date!(2021 - 08 - 09)),
            "2021-08-08 fell on a Sunday: 振替休日"
        );
        assert!(!is_holiday(date!(2021 - 08 - 11)));
    }
}
