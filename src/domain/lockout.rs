//! Limits on guessing the 4-digit passcode through a reader.
//!
//! A reader gets 5 consecutive wrong codes; then it is locked for 30 s, and each further
//! wrong code after a lock doubles the lock (up to an hour) until a correct code resets it.
//! Across a clinic, wrong codes are counted over the whole passcode generation (a right code
//! does not reset the count); at the operators' threshold (10 by default, 3 to 100) the
//! generation is disabled until the admin issues a new one: with 10,000 codes, an attacker
//! rotating readers gets at most that many guesses per generation, whatever staff type between.

pub const READER_FAILURES_BEFORE_LOCK: i64 = 5;
/// The operators' choice of wrong codes per generation before it is disabled: its bounds.
pub const CLINIC_FAILURES_RANGE: std::ops::RangeInclusive<i64> = 3..=100;

/// Parses the threshold as typed on the settings page.
pub fn parse_failures_before_disable(input: &str) -> Option<i64> {
    input
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| CLINIC_FAILURES_RANGE.contains(n))
}
const FIRST_LOCK_S: i64 = 30;
const LONGEST_LOCK_S: i64 = 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLockout {
    pub failed_attempts: i64,
    pub lockouts: i64,
    pub locked_until: Option<i64>,
}

impl ReaderLockout {
    pub fn locked_for_s(self, now: i64) -> Option<u64> {
        self.locked_until
            .and_then(|until| u64::try_from(until - now).ok())
            .filter(|s| *s > 0)
    }

    /// The state after one more wrong code.
    pub fn after_failure(self, now: i64) -> Self {
        let failed_attempts = self.failed_attempts + 1;
        if failed_attempts < READER_FAILURES_BEFORE_LOCK {
            return Self {
                failed_attempts,
                ..self
            };
        }
        let lockouts = self.lockouts + 1;
        let exponent = u32::try_from(lockouts - 1).unwrap_or(u32::MAX).min(10);
        let duration = (FIRST_LOCK_S << exponent).min(LONGEST_LOCK_S);
        Self {
            failed_attempts,
            lockouts,
            locked_until: Some(now + duration),
        }
    }

    pub fn attempts_left(self) -> i64 {
        (READER_FAILURES_BEFORE_LOCK - self.failed_attempts).max(0)
    }

    pub const CLEAR: Self = Self {
        failed_attempts: 0,
        lockouts: 0,
        locked_until: None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_codes_lock_the_reader_and_repeats_double_the_lock() {
        let now = 1_000;
        let mut state = ReaderLockout::CLEAR;
        for _ in 0..4 {
            state = state.after_failure(now);
            assert_eq!(state.locked_for_s(now), None);
        }
        assert_eq!(state.attempts_left(), 1);
        state = state.after_failure(now);
        assert_eq!(state.locked_for_s(now), Some(30));
        // The lock runs out; the next wrong code locks again, twice as long.
        let later = now + 31;
        assert_eq!(state.locked_for_s(later), None);
        state = state.after_failure(later);
        assert_eq!(state.locked_for_s(later), Some(60));
        state = state.after_failure(later + 61);
        assert_eq!(state.locked_for_s(later + 61), Some(120));
    }

    #[test]
    fn locks_never_exceed_an_hour() {
        let mut state = ReaderLockout::CLEAR;
        for _ in 0..40 {
            state = state.after_failure(0);
        }
        assert_eq!(state.locked_for_s(0), Some(3600));
    }
}
