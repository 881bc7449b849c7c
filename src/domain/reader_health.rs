//! When a card reader counts as not connected (未接続): it has not polled for longer than the
//! threshold operators set (default 10 minutes).

/// The threshold's bounds, in minutes: at least one minute, at most a week.
pub const MIN_STALE_AFTER_MIN: i64 = 1;
pub const MAX_STALE_AFTER_MIN: i64 = 7 * 24 * 60;
pub const DEFAULT_STALE_AFTER_MIN: i64 = 10;

/// Minutes as typed on the settings page; `None` unless a whole number within the bounds.
pub fn parse_stale_after_min(text: &str) -> Option<i64> {
    let minutes: i64 = text.trim().parse().ok()?;
    (MIN_STALE_AFTER_MIN..=MAX_STALE_AFTER_MIN)
        .contains(&minutes)
        .then_some(minutes)
}

/// Whether an enrolled reader is not connected at `now`: its last poll (or, if it never polled,
/// its enrolment) is more than `stale_after_min` minutes ago. Revoked readers are never stale:
/// they are not expected to poll.
pub fn is_stale(last_seen_at: Option<i64>, enrolled_at: i64, revoked: bool, now: i64, stale_after_min: i64) -> bool {
    let since = last_seen_at.unwrap_or(enrolled_at);
    !revoked && now - since > stale_after_min * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_is_stale_only_after_the_threshold() {
        let now = 1_000_000;
        assert!(
            !is_stale(Some(now - 600), 0, false, now, 10),
            "exactly 10 minutes is still connected"
        );
        assert!(is_stale(Some(now - 601), 0, false, now, 10));
        assert!(
            !is_stale(Some(now - 601), 0, true, now, 10),
            "revoked readers are not flagged"
        );
        assert!(
            !is_stale(None, now - 60, false, now, 10),
            "just enrolled, not polled yet"
        );
        assert!(
            is_stale(None, now - 3600, false, now, 10),
            "enrolled an hour ago, never polled"
        );
        assert!(!is_stale(Some(now - 3000), 0, false, now, 60));
    }

    #[test]
    fn the_threshold_is_whole_minutes_within_bounds() {
        assert_eq!(parse_stale_after_min(" 10 "), Some(10));
        assert_eq!(parse_stale_after_min("1"), Some(1));
        assert_eq!(parse_stale_after_min("10080"), Some(10080));
        for bad in ["", "0", "-5", "10081", "1.5", "abc", "９"] {
            assert_eq!(parse_stale_after_min(bad), None, "{bad}");
        }
    }
}
