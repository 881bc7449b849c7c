//! The kinds of message the portal mails, who each is for, and which of them a user may turn
//! off. Security notices about one's own account (`security_*`) cannot be turned off.

use super::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    // Clinic admins
    PasscodeIssued,
    PasscodeDisabled,
    ReaderLocked,
    ReaderStale,
    DeskReply,
    // The desk (agents; an operator only when a ticket is assigned to them)
    RequestNew,
    ClinicReply,
    TicketDueSoon,
    TicketAssigned,
    // Everyone, about their own account
    SecurityPasswordChanged,
    SecurityPasswordReset,
    SecurityMfaReset,
    /// Wrong second-factor codes after a right password: someone has the password.
    SecurityWrongCodes,
}

impl Kind {
    pub const ALL: [Self; 13] = [
        Self::PasscodeIssued,
        Self::PasscodeDisabled,
        Self::ReaderLocked,
        Self::ReaderStale,
        Self::DeskReply,
        Self::RequestNew,
        Self::ClinicReply,
        Self::TicketDueSoon,
        Self::TicketAssigned,
        Self::SecurityPasswordChanged,
        Self::SecurityPasswordReset,
        Self::SecurityMfaReset,
        Self::SecurityWrongCodes,
    ];

    /// The name stored in the outbox and in `notification_optouts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasscodeIssued => "passcode_issued",
            Self::PasscodeDisabled => "passcode_disabled",
            Self::ReaderLocked => "reader_locked",
            Self::ReaderStale => "reader_stale",
            Self::DeskReply => "desk_reply",
            Self::RequestNew => "request_new",
            Self::ClinicReply => "clinic_reply",
            Self::TicketDueSoon => "ticket_due_soon",
            Self::TicketAssigned => "ticket_assigned",
            Self::SecurityPasswordChanged => "security_password_changed",
            Self::SecurityPasswordReset => "security_password_reset",
            Self::SecurityMfaReset => "security_mfa_reset",
            Self::SecurityWrongCodes => "security_wrong_codes",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Security notices about one's own account are always sent.
    pub fn can_opt_out(self) -> bool {
        !self.as_str().starts_with("security_")
    }

    /// Whether a user of `role` can receive this kind (what their notifications page lists).
    pub fn is_for(self, role: Role) -> bool {
        match self {
            Self::PasscodeIssued
            | Self::PasscodeDisabled
            | Self::ReaderLocked
            | Self::ReaderStale
            | Self::DeskReply => role == Role::ClinicAdmin,
            Self::RequestNew | Self::ClinicReply | Self::TicketDueSoon => role == Role::Agent,
            // Tickets are assigned to agents and operators.
            Self::TicketAssigned => matches!(role, Role::Agent | Role::Operator),
            Self::SecurityPasswordChanged
            | Self::SecurityPasswordReset
            | Self::SecurityMfaReset
            | Self::SecurityWrongCodes => true,
        }
    }

    /// The UI-string key of the kind's name on the notifications page.
    pub fn label_key(self) -> String {
        format!("notify.kind.{}", self.as_str())
    }

    pub fn for_role(role: Role) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |k| k.is_for(role))
    }

    /// How long after it was written a time-bound notice is still worth sending; `None` for the
    /// kinds that stay true. A due-soon notice is written at most [`DUE_SOON_LEAD_S`] before
    /// the due time, so past that the time has certainly passed; a reader-not-seen notice says
    /// something about the last hour at most (the reader may be back since).
    pub fn worth_sending_for_s(self) -> Option<i64> {
        match self {
            Self::TicketDueSoon => Some(DUE_SOON_LEAD_S),
            Self::ReaderStale => Some(STALE_READER_NOTICE_S),
            _ => None,
        }
    }

    /// Whether a message of this kind written at `created_at` is out of date at `now`.
    pub fn out_of_date(self, created_at: i64, now: i64) -> bool {
        self.worth_sending_for_s()
            .is_some_and(|useful_s| now - created_at > useful_s)
    }
}

/// How long before its due time an open ticket is mailed as about to miss it.
pub const DUE_SOON_LEAD_S: i64 = 30 * 60;
/// How long a reader-not-seen notice is worth sending after it was written.
pub const STALE_READER_NOTICE_S: i64 = 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_security_notices_cannot_be_turned_off() {
        for kind in Kind::ALL {
            assert_eq!(kind.can_opt_out(), !kind.as_str().starts_with("security_"), "{kind:?}");
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert!(!Kind::SecurityPasswordReset.can_opt_out());
        assert!(Kind::ReaderStale.can_opt_out());
        assert_eq!(Kind::parse("nonsense"), None);
    }

    #[test]
    fn only_time_bound_notices_go_out_of_date() {
        let written = 1_000_000;
        assert!(!Kind::TicketDueSoon.out_of_date(written, written + DUE_SOON_LEAD_S));
        assert!(Kind::TicketDueSoon.out_of_date(written, written + DUE_SOON_LEAD_S + 1));
        assert!(!Kind::ReaderStale.out_of_date(written, written + 3600));
        assert!(Kind::ReaderStale.out_of_date(written, written + 3601));
        for kind in Kind::ALL {
            if !matches!(kind, Kind::TicketDueSoon | Kind::ReaderStale) {
                assert!(!kind.out_of_date(written, written + 365 * 86_400), "{kind:?}");
            }
        }
    }

    #[test]
    fn each_role_sees_its_own_kinds_and_every_security_notice() {
        let admin: Vec<_> = Kind::for_role(Role::ClinicAdmin).map(Kind::as_str).collect();
        assert!(admin.contains(&"desk_reply") && !admin.contains(&"request_new"));
        let agent: Vec<_> = Kind::for_role(Role::Agent).map(Kind::as_str).collect();
        assert!(agent.contains(&"ticket_due_soon") && !agent.contains(&"reader_locked"));
        let operator: Vec<_> = Kind::for_role(Role::Operator).map(Kind::as_str).collect();
        assert_eq!(
            operator,
            [
                "ticket_assigned",
                "security_password_changed",
                "security_password_reset",
                "security_mfa_reset",
                "security_wrong_codes"
            ]
        );
    }
}
