//! Support-desk business hours in Japan time (Asia/Tokyo, UTC+9 all year): weekdays within
//! opening hours, skipping national holidays and operator-defined closures (e.g. 12/29–1/3).
//! Due times are counted in these minutes; the clock stops outside them.

use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

use super::holidays;

pub const JST: UtcOffset = time::macros::offset!(+9);

/// A closed period, inclusive. Yearly ones repeat on the same month/day and may wrap the year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closure {
    pub start: Date,
    pub end: Date,
    pub yearly: bool,
}

impl Closure {
    fn contains(&self, day: Date) -> bool {
        if !self.yearly {
            return self.start <= day && day <= self.end;
        }
        let key = |d: Date| (u8::from(d.month()), d.day());
        let (start, end, today) = (key(self.start), key(self.end), key(day));
        if start <= end {
            start <= today && today <= end
        } else {
            today >= start || today <= end
        }
    }
}

#[derive(Clone, Debug)]
pub struct BusinessCalendar {
    pub opens: Time,
    pub closes: Time,
    pub closures: Vec<Closure>,
}

/// Longest search for business time, so a calendar closed forever cannot loop forever.
const MAX_DAYS: u32 = 3 * 366;

impl BusinessCalendar {
    /// 9:00–18:00 on weekdays.
    pub fn standard(closures: Vec<Closure>) -> Self {
        Self {
            opens: time::macros::time!(9:00),
            closes: time::macros::time!(18:00),
            closures,
        }
    }

    /// Weekdays from `opens_min` to `closes_min` (minutes since midnight, as stored); hours
    /// that make no sense fall back to the standard ones rather than stopping every clock.
    pub fn with_hours(opens_min: i64, closes_min: i64, closures: Vec<Closure>) -> Self {
        let time_of = |minutes: i64| {
            let minutes = u16::try_from(minutes).ok().filter(|m| *m <= 24 * 60)?;
            if minutes == 24 * 60 {
                return Some(Time::MAX);
            }
            Time::from_hms(u8::try_from(minutes / 60).ok()?, u8::try_from(minutes % 60).ok()?, 0).ok()
        };
        match (time_of(opens_min), time_of(closes_min)) {
            (Some(opens), Some(closes)) if opens < closes => Self {
                opens,
                closes,
                closures,
            },
            _ => Self::standard(closures),
        }
    }

    pub fn is_business_day(&self, day: Date) -> bool {
        !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !holidays::is_holiday(day)
            && !self.closures.iter().any(|c| c.contains(day))
    }

    /// Business time within one day, as (start, end) in Japan time.
    fn window(&self, day: Date) -> Option<(OffsetDateTime, OffsetDateTime)> {
        self.is_business_day(day).then(|| {
            (
                day.with_time(self.opens).assume_offset(JST),
                day.with_time(self.closes).assume_offset(JST),
            )
        })
    }

    /// The moment `minutes` business minutes after `start`.
    pub fn add_minutes(&self, start: OffsetDateTime, minutes: i64) -> OffsetDateTime {
        let mut remaining = Duration::minutes(minutes.max(0));
        let start = start.to_offset(JST);
        let mut day = start.date();
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(day) {
                let from = start.max(open);
                if from < close {
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        start + Duration::days(i64::from(MAX_DAYS))
    }

    /// Business minutes between two moments (0 if `to` is not after `from`).
    pub fn minutes_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> i64 {
        let (from, to) = (from.to_offset(JST), to.to_offset(JST));
        let mut total = Duration::ZERO;
        let mut day = from.date();
        let mut days = 0;
        while day <= to.date() && days < MAX_DAYS {
            if let Some((open, close)) = self.window(day) {
                let (a, b) = (from.max(open), to.min(close));
                if a < b {
                    total += b - a;
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
            days += 1;
        }
        total.whole_minutes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn jst(dt: time::PrimitiveDateTime) -> OffsetDateTime {
        dt.assume_offset(JST)
    }

    fn year_end() -> Closure {
        Closure {
            start: date!(2000 - 12 - 29),
            end: date!(2001 - 01 - 03),
            yearly: true,
        }
    }

    #[test]
    fn minutes_within_one_day_add_directly() {
        let cal = BusinessCalendar::standard(vec![]);
        let start = jst(datetime!(2026-11-26 10:00));
        assert_eq!(cal.add_minutes(start, 30), jst(datetime!(2026-11-26 10:30)));
    }

    #[test]
    fn the_desks_own_hours_move_the_clock() {
        let cal = BusinessCalendar::with_hours(10 * 60, 16 * 60, vec![]);
        // Friday 15:30 + 60 min = Monday 10:30 with a 10:00–16:00 desk.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-11-27 15:30)), 60),
            jst(datetime!(2026-11-30 10:30))
        );
        // Hours that make no sense fall back to 9:00–18:00.
        for (opens, closes) in [(600, 600), (960, 600), (-1, 600), (600, 1441)] {
            let fallback = BusinessCalendar::with_hours(opens, closes, vec![]);
            assert_eq!(
                (fallback.opens, fallback.closes),
                (time::macros::time!(9:00), time::macros::time!(18:00))
            );
        }
    }

    #[test]
    fn the_clock_stops_overnight_and_over_the_weekend() {
        let cal = BusinessCalendar::standard(vec![]);
        // Friday 17:30 + 60 min = Monday 9:30.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-11-27 17:30)), 60),
            jst(datetime!(2026-11-30 09:30))
        );
        // Saturday counts from Monday's opening.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-11-28 12:00)), 10),
            jst(datetime!(2026-11-30 09:10))
        );
        // Before opening counts from opening.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-11-30 07:00)), 0),
            jst(datetime!(2026-11-30 09:00))
        );
    }

    #[test]
    fn national_holidays_and_the_citizens_holiday_are_skipped() {
        let cal = BusinessCalendar::standard(vec![]);
        // Fri 2026-09-18 17:00 + 2 h: Mon 21 敬老の日, Tue 22 国民の休日, Wed 23 秋分の日 → Thu 24 10:00.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-09-18 17:00)), 120),
            jst(datetime!(2026-09-24 10:00))
        );
        // 振替休日: 2025-11-24 (Mon) after 勤労感謝の日 on Sunday.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2025-11-21 18:00)), 1),
            jst(datetime!(2025-11-25 09:01))
        );
    }

    #[test]
    fn yearly_closures_wrap_the_new_year() {
        let cal = BusinessCalendar::standard(vec![year_end()]);
        // Fri 2026-12-25 17:00 + 2 h: Mon 12/28 is open (1 h left after 9:00-10:00 counted).
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-12-25 17:00)), 120),
            jst(datetime!(2026-12-28 10:00))
        );
        // Mon 12/28 17:00 + 2 h: closed 12/29–1/3, 1/4 is a Monday → 1/4 10:00.
        assert_eq!(
            cal.add_minutes(jst(datetime!(2026-12-28 17:00)), 120),
            jst(datetime!(2027-01-04 10:00))
        );
        assert!(!cal.is_business_day(date!(2027 - 01 - 02)));
        assert!(cal.is_business_day(date!(2027 - 01 - 05)));
    }

    #[test]
    fn one_off_closures_apply_to_their_dates_only() {
        let closure = Closure {
            start: date!(2026 - 12 - 01),
            end: date!(2026 - 12 - 01),
            yearly: false,
        };
        let cal = BusinessCalendar::standard(vec![closure]);
        assert!(!cal.is_business_day(date!(2026 - 12 - 01)));
        assert!(cal.is_business_day(date!(2027 - 12 - 01)));
    }

    #[test]
    fn minutes_between_counts_only_business_time_and_inverts_add() {
        let cal = BusinessCalendar::standard(vec![year_end()]);
        let from = jst(datetime!(2026-11-27 17:00));
        assert_eq!(cal.minutes_between(from, jst(datetime!(2026-11-30 10:00))), 120);
        assert_eq!(cal.minutes_between(jst(datetime!(2026-11-30 10:00)), from), 0);
        for minutes in [0, 1, 59, 540, 541, 3000] {
            let due = cal.add_minutes(from, minutes);
            assert_eq!(cal.minutes_between(from, due), minutes, "{minutes}");
        }
        // UTC input is interpreted in Japan time.
        let utc = datetime!(2026-11-30 00:00 UTC);
        assert_eq!(cal.add_minutes(utc, 0), jst(datetime!(2026-11-30 09:00)));
    }
}
