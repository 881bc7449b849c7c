//! The process's open-file budget. Every connection and every held long-poll is a file
//! descriptor; at the limit `accept` fails and the server answers nobody, health checks
//! included. So at start the portal raises its soft limit to the hard limit and fits the
//! connection cap (`--max-connections`) and the long-poll cap (`--max-long-polls`) under it,
//! leaving a named margin for everything else it opens.

/// Files per database pool connection: the database, its WAL and its shared-memory index.
pub const FILES_PER_DB_CONNECTION: usize = 3;
/// Standard streams, log output, the runtime's epoll and wake-up descriptors, the signal pipe,
/// the random device, and spares (a backup run by `VACUUM INTO`, a pepper-file read).
pub const RUNTIME_FILES: usize = 32;
/// The listening socket.
pub const LISTENERS: usize = 1;
/// Connections beyond the cap that only `/healthz` and `/readyz` may use (one request each).
pub const HEALTH_RESERVE: usize = 8;
/// Connections beyond the cap and the reserve being answered `503` at the same moment; further
/// ones are closed at once.
pub const REFUSALS_AT_ONCE: usize = 32;
/// The default connection cap at most: each open connection costs ~19 kB of hyper buffers and
/// kernel memory, so 50,000 are about 1 GB even when the open-file limit allows far more.
pub const DEFAULT_MAX_CONNECTIONS_CEILING: usize = 50_000;

/// The caps the server runs with, after fitting them under the open-file limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub max_connections: usize,
    pub max_long_polls: usize,
    /// Descriptors kept for everything but client connections (see the constants above).
    pub margin: usize,
}

/// Fits the caps under `open_files` (the soft limit after raising it): connections plus the
/// margin fit under the limit, and long-polls leave a tenth of the connections (at least one)
/// for pages, short polls and health checks. `requested_connections: None` takes all the room
/// there is, up to [`DEFAULT_MAX_CONNECTIONS_CEILING`].
pub fn plan(
    open_files: u64,
    requested_connections: Option<usize>,
    requested_long_polls: usize,
    db_pool: usize,
) -> Budget {
    let margin = db_pool * FILES_PER_DB_CONNECTION + RUNTIME_FILES + LISTENERS + HEALTH_RESERVE + REFUSALS_AT_ONCE;
    let room = usize::try_from(open_files.saturating_sub(margin as u64))
        .unwrap_or(usize::MAX)
        .max(1);
    let max_connections = requested_connections
        .unwrap_or(DEFAULT_MAX_CONNECTIONS_CEILING)
        .clamp(1, room);
    let headroom = (max_connections / 10).max(1);
    let max_long_polls = requested_long_polls.min(max_connections.saturating_sub(headroom));
    Budget {
        max_connections,
        max_long_polls,
        margin,
    }
}

/// The open-file limit before and after [`raise_open_file_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft_before: u64,
    pub soft: u64,
    /// `None`: unlimited.
    pub hard: Option<u64>,
}

/// Raises the soft open-file limit to the hard limit (the most an unprivileged process may
/// have). `None` where the platform has no such limit. A refused raise keeps the old limit and
/// says so in the log.
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<OpenFiles> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let before = getrlimit(Resource::Nofile);
    // An unlimited soft limit needs no raise; treat it as "no limit" for the plan.
    let soft_before = before.current.unwrap_or(u64::MAX);
    let mut soft = soft_before;
    if let Some(hard) = before.maximum.filter(|hard| *hard > soft_before) {
        match setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: before.maximum,
            },
        ) {
            Ok(()) => soft = hard,
            Err(e) => tracing::warn!(error = %e, soft_before, hard, "cannot raise the open-file limit"),
        }
    }
    Some(OpenFiles {
        soft_before,
        soft,
        hard: before.maximum,
    })
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<OpenFiles> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 pool connections × 3 + 32 + 1 + 8 + 32.
    const MARGIN: usize = 97;

    #[test]
    fn the_margin_names_every_file_that_is_not_a_client_connection() {
        assert_eq!(plan(20_000, None, 15_000, 8).margin, MARGIN);
        assert_eq!(plan(20_000, None, 15_000, 4).margin, MARGIN - 12);
    }

    #[test]
    fn this_machines_limit_keeps_the_default_long_polls_and_derives_the_connections() {
        assert_eq!(
            plan(20_000, None, 15_000, 8),
            Budget {
                max_connections: 20_000 - MARGIN,
                max_long_polls: 15_000,
                margin: MARGIN
            }
        );
    }

    #[test]
    fn a_small_limit_clamps_both_caps_below_it() {
        // The common soft limit of 1,024, when the hard limit is no higher.
        let budget = plan(1_024, None, 15_000, 8);
        assert_eq!(budget.max_connections, 1_024 - MARGIN);
        assert_eq!(budget.max_long_polls, 927 - 92, "a tenth of the connections stays free");
        assert!(budget.max_connections + budget.margin <= 1_024);
    }

    #[test]
    fn requested_connections_beyond_the_room_are_clamped_and_within_it_kept() {
        assert_eq!(plan(2_000, Some(5_000), 100, 8).max_connections, 2_000 - MARGIN);
        assert_eq!(plan(2_000, Some(500), 100, 8).max_connections, 500);
    }

    #[test]
    fn long_polls_always_leave_connections_for_health_checks() {
        let budget = plan(20_000, Some(4), 15_000, 8);
        assert_eq!((budget.max_connections, budget.max_long_polls), (4, 3));
        let budget = plan(20_000, Some(1_000), 950, 8);
        assert_eq!(budget.max_long_polls, 900);
        assert_eq!(
            plan(20_000, Some(1_000), 10, 8).max_long_polls,
            10,
            "a smaller request is kept"
        );
    }

    #[test]
    fn a_huge_or_unknown_limit_takes_the_default_ceiling() {
        assert_eq!(
            plan(u64::MAX, None, 15_000, 8).max_connections,
            DEFAULT_MAX_CONNECTIONS_CEILING
        );
        assert_eq!(
            plan(1 << 20, None, 15_000, 8).max_connections,
            DEFAULT_MAX_CONNECTIONS_CEILING
        );
    }

    #[test]
    fn a_limit_below_the_margin_still_leaves_one_connection() {
        let budget = plan(50, None, 15_000, 8);
        assert_eq!((budget.max_connections, budget.max_long_polls), (1, 0));
        assert_eq!(plan(20_000, Some(0), 5, 8).max_connections, 1);
    }

    #[cfg(unix)]
    #[test]
    fn raising_the_limit_leaves_the_soft_limit_at_the_hard_limit() {
        let files = raise_open_file_limit().expect("unix has an open-file limit");
        assert!(files.soft >= files.soft_before);
        if let Some(hard) = files.hard {
            assert_eq!(files.soft, hard);
        }
    }
}
