//! Whether a contact centre with weekday and Saturday hours (national holidays closed) is open
//! at a given moment in Japan time, and when it next opens or closes.

use time::{OffsetDateTime, Time, Weekday};

use super::business_time::JST;
use super::holidays;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours {
    pub weekday: (Time, Time),
    pub saturday: (Time, Time),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenState {
    Open { closes: OffsetDateTime },
    Closed { opens: Option<OffsetDateTime> },
}

impl Hours {
    fn window(&self, day: time::Date) -> Option<(OffsetDateTime, OffsetDateTime)> {
        if holidays::is_holiday(day) {
            return None;
        }
        let (open, close) = match day.weekday() {
            Weekday::Sunday => return None,
            Weekday::Saturday => self.saturday,
            _ => self.weekday,
        };
        Some((
            day.with_time(open).assume_offset(JST),
            day.with_time(close).assume_offset(JST),
        ))
    }

    pub fn state_at(&self, now: OffsetDateTime) -> OpenState {
        let now = now.to_offset(JST);
        let mut day = now.date();
        // Two weeks always contain an opening (Golden Week and the new year are shorter).
        for _ in 0..14 {
            if let Some((open, close)) = self.window(day) {
                if now >= open && now < close {
                    return OpenState::Open { closes: close };
                }
                if now < open {
                    return OpenState::Closed { opens: Some(open) };
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        OpenState::Closed { opens: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    const HOURS: Hours = Hours {
        weekday: (time!(8:00), time!(18:00)),
        saturday: (time!(8:00), time!(16:00)),
    };

    fn at(dt: time::PrimitiveDateTime) -> OpenState {
        HOURS.state_at(dt.assume_offset(JST))
    }

    #[test]
    fn open_on_weekdays_from_eight_to_six() {
        assert_eq!(
            at(datetime!(2026-11-26 08:00)),
            OpenState::Open {
                closes: datetime!(2026-11-26 18:00).assume_offset(JST)
            }
        );
        assert_eq!(
            at(datetime!(2026-11-26 07:59)),
            OpenState::Closed {
                opens: Some(datetime!(2026-11-26 08:00).assume_offset(JST))
            }
        );
        // 18:00 on Thursday: next opening is Friday 8:00.
        assert_eq!(
            at(datetime!(2026-11-26 18:00)),
            OpenState::Closed {
                opens: Some(datetime!(2026-11-27 08:00).assume_offset(JST))
            }
        );
    }

    #[test]
    fn saturdays_close_at_four_and_sundays_are_closed() {
        assert!(matches!(at(datetime!(2026-11-28 15:59)), OpenState::Open { .. }));
        assert_eq!(
            at(datetime!(2026-11-28 16:00)),
            OpenState::Closed {
                opens: Some(datetime!(2026-11-30 08:00).assume_offset(JST))
            }
        );
        assert_eq!(
            at(datetime!(2026-11-29 12:00)),
            OpenState::Closed {
                opens: Some(datetime!(2026-11-30 08:00).assume_offset(JST))
            }
        );
    }

    #[test]
    fn national_holidays_are_closed_including_saturday_ones() {
        // Mon 2026-11-23 勤労感謝の日.
        assert_eq!(
            at(datetime!(2026-11-23 10:00)),
            OpenState::Closed {
                opens: Some(datetime!(2026-11-24 08:00).assume_offset(JST))
            }
        );
        // Silver week 2026: 9/19 Sat open, 9/21-23 holidays, next opening Thu 9/24.
        assert!(matches!(at(datetime!(2026-09-19 09:00)), OpenState::Open { .. }));
        assert_eq!(
            at(datetime!(2026-09-21 09:00)),
            OpenState::Closed {
                opens: Some(datetime!(2026-09-24 08:00).assume_offset(JST))
            }
        );
        // Sat 2026-05-02 is open, Golden Week 5/3-5/6 closed.
        assert_eq!(
            at(datetime!(2026-05-02 17:00)),
            OpenState::Closed {
                opens: Some(datetime!(2026-05-07 08:00).assume_offset(JST))
            }
        );
    }

    #[test]
    fn utc_input_is_read_in_japan_time() {
        // 23:30 UTC Wednesday = 8:30 JST Thursday.
        assert!(matches!(
            HOURS.state_at(datetime!(2026-11-25 23:30 UTC)),
            OpenState::Open { .. }
        ));
    }
}
