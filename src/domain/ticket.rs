//! Support tickets: numbers, statuses and the allowed workflow, priorities with their
//! response/resolution targets, channels.

use std::fmt;

/// `SUP-000123`: easy to read out on the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketNumber(i64);

impl TicketNumber {
    pub fn from_id(id: i64) -> Self {
        Self(id)
    }

    pub fn id(self) -> i64 {
        self.0
    }

    /// Accepts `SUP-000123`, `sup-123` or `123`.
    pub fn parse(input: &str) -> Option<Self> {
        let trimmed = input.trim();
        let digits = trimmed
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("SUP-"))
            .map_or(trimmed, |_| &trimmed[4..]);
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(Self)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SUP-{:06}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    New,
    InProgress,
    WaitingOnClinic,
    OnHold,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Self; 6] = [
        Self::New,
        Self::InProgress,
        Self::WaitingOnClinic,
        Self::OnHold,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::InProgress => "in_progress",
            Self::WaitingOnClinic => "waiting_on_clinic",
            Self::OnHold => "on_hold",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value.trim())
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::New => "status.new",
            Self::InProgress => "status.in_progress",
            Self::WaitingOnClinic => "status.waiting_on_clinic",
            Self::OnHold => "status.on_hold",
            Self::Resolved => "status.resolved",
            Self::Closed => "status.closed",
        }
    }

    /// Still needs work from the desk (counts for queues and overdue).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }

    /// 折返し待ち stops the due-time clock.
    pub fn pauses_clock(self) -> bool {
        self == Self::WaitingOnClinic
    }

    /// 新規 → 対応中 → 折返し待ち / 保留 → 解決済 → クローズ, with reopening.
    pub fn can_become(self, next: Self) -> bool {
        use Status::*;
        match (self, next) {
            (a, b) if a == b => false,
            (New, InProgress | WaitingOnClinic | OnHold | Resolved) => true,
            (InProgress, WaitingOnClinic | OnHold | Resolved) => true,
            (WaitingOnClinic, InProgress | OnHold | Resolved) => true,
            (OnHold, InProgress | WaitingOnClinic | Resolved) => true,
            (Resolved, Closed | InProgress) => true,
            (Closed, InProgress) => true,
            _ => false,
        }
    }

    /// Where a ticket may go from here, in workflow order.
    pub fn next_statuses(self) -> Vec<Self> {
        Self::ALL.into_iter().filter(|s| self.can_become(*s)).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Self; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value.trim())
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Low => "priority.low",
            Self::Normal => "priority.normal",
            Self::High => "priority.high",
            Self::Urgent => "priority.urgent",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Business minutes to the first response and to resolution, per priority. Operators set them;
/// these are the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets([(i64, i64); 4]);

/// The longest target an operator may set: 60 business days of 9 hours.
pub const MAX_TARGET_MIN: i64 = 60 * 9 * 60;

impl Targets {
    pub fn standard() -> Self {
        const DAY: i64 = 9 * 60;
        let mut targets = [(0, 0); 4];
        for p in Priority::ALL {
            targets[p.index()] = match p {
                Priority::Urgent => (30, 4 * 60),
                Priority::High => (60, DAY),
                Priority::Normal => (4 * 60, 3 * DAY),
                Priority::Low => (DAY, 5 * DAY),
            };
        }
        Self(targets)
    }

    /// `(priority, response, resolution)` rows as stored; `None` unless every priority has
    /// sensible targets (a first response before resolution, within [`MAX_TARGET_MIN`]).
    pub fn from_rows(rows: &[(String, i64, i64)]) -> Option<Self> {
        let mut targets = [None; 4];
        for (name, response, resolution) in rows {
            let p = Priority::parse(name)?;
            if !(1..=*resolution).contains(response) || *resolution > MAX_TARGET_MIN {
                return None;
            }
            targets[p.index()] = Some((*response, *resolution));
        }
        let mut all = [(0, 0); 4];
        for (slot, target) in all.iter_mut().zip(targets) {
            *slot = target?;
        }
        Some(Self(all))
    }

    pub fn get(&self, priority: Priority) -> (i64, i64) {
        self.0[priority.index()]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Phone,
    Callback,
    Portal,
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Phone, Self::Callback, Self::Portal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Callback => "callback",
            Self::Portal => "portal",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value.trim())
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Phone => "channel.phone",
            Self::Callback => "channel.callback",
            Self::Portal => "channel.portal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_sup_000123_and_parse_leniently() {
        assert_eq!(TicketNumber::from_id(123).to_string(), "SUP-000123");
        assert_eq!(TicketNumber::parse("SUP-000123"), Some(TicketNumber::from_id(123)));
        assert_eq!(TicketNumber::parse("sup-123"), Some(TicketNumber::from_id(123)));
        assert_eq!(TicketNumber::parse(" 42 "), Some(TicketNumber::from_id(42)));
        for bad in ["", "SUP-", "SUP-0", "SUP-12a", "ABC-123", "-1", "SUP-9999999999999"] {
            assert_eq!(TicketNumber::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_workflow_allows_only_its_transitions() {
        use Status::*;
        assert!(New.can_become(InProgress));
        assert!(InProgress.can_become(WaitingOnClinic));
        assert!(WaitingOnClinic.can_become(InProgress));
        assert!(OnHold.can_become(Resolved));
        assert!(Resolved.can_become(Closed));
        assert!(Resolved.can_become(InProgress), "reopen");
        assert!(Closed.can_become(InProgress), "reopen");
        assert!(!New.can_become(Closed), "close only after resolving");
        assert!(!Closed.can_become(Resolved));
        assert!(!InProgress.can_become(New));
        assert!(!InProgress.can_become(InProgress));
        assert_eq!(Resolved.next_statuses(), vec![InProgress, Closed]);
    }

    #[test]
    fn only_waiting_on_the_clinic_pauses_the_clock() {
        assert!(Status::WaitingOnClinic.pauses_clock());
        assert!(!Status::OnHold.pauses_clock());
        assert!(Status::OnHold.is_open() && !Status::Resolved.is_open());
    }

    #[test]
    fn stable_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Priority::parse("medium"), None);
    }

    #[test]
    fn stored_targets_must_cover_every_priority_sensibly() {
        let rows = |urgent: (i64, i64)| {
            Priority::ALL
                .map(|p| {
                    let (r, d) = if p == Priority::Urgent {
                        urgent
                    } else {
                        Targets::standard().get(p)
                    };
                    (p.as_str().to_owned(), r, d)
                })
                .to_vec()
        };
        let custom = Targets::from_rows(&rows((120, 600))).unwrap();
        assert_eq!(custom.get(Priority::Urgent), (120, 600));
        assert_eq!(custom.get(Priority::Low), Targets::standard().get(Priority::Low));
        for bad in [(0, 600), (601, 600), (60, MAX_TARGET_MIN + 1), (-5, 10)] {
            assert_eq!(Targets::from_rows(&rows(bad)), None, "{bad:?}");
        }
        assert_eq!(
            Targets::from_rows(&rows((120, 600))[..3]),
            None,
            "a priority is missing"
        );
        let mut unknown = rows((120, 600));
        unknown[0].0 = "medium".to_owned();
        assert_eq!(Targets::from_rows(&unknown), None);
    }

    #[test]
    fn more_urgent_means_sooner_targets() {
        let mut previous = (i64::MAX, i64::MAX);
        for p in Priority::ALL {
            let t = Targets::standard().get(p);
            assert!(t.0 < previous.0 && t.1 < previous.1 && t.0 < t.1);
            previous = t;
        }
    }
}
