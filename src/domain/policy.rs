//! Who may do what. Every handler asks here; nothing else decides access.

use super::Role;

/// The facts about a signed-in person that access decisions need.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub role: Role,
    pub clinic_id: Option<i64>,
}

impl Actor {
    fn is_admin_of(self, clinic_id: i64) -> bool {
        self.role == Role::ClinicAdmin && self.clinic_id == Some(clinic_id)
    }

    /// Operators and agents see every clinic; a clinic admin only their own.
    pub fn can_view_clinic(self, clinic_id: i64) -> bool {
        matches!(self.role, Role::Operator | Role::Agent) || self.is_admin_of(clinic_id)
    }

    /// Only the clinic's own admins issue its passcode on the web: the code is shown once to
    /// whoever issues it, so it should be someone at the clinic. Operators use the CLI.
    pub fn can_issue_passcode(self, clinic_id: i64) -> bool {
        self.is_admin_of(clinic_id)
    }

    /// Passcode history (who issued which generation, attempts) is not secret.
    pub fn can_view_passcode_history(self, clinic_id: i64) -> bool {
        self.can_view_clinic(clinic_id)
    }

    pub fn can_manage_readers(self, clinic_id: i64) -> bool {
        self.role == Role::Operator || self.is_admin_of(clinic_id)
    }

    pub fn can_list_clinics(self) -> bool {
        matches!(self.role, Role::Operator | Role::Agent)
    }

    pub fn can_manage_clinics(self) -> bool {
        self.role == Role::Operator
    }

    pub fn can_manage_users(self) -> bool {
        self.role == Role::Operator
    }

    /// The mail outbox page: recipients and delivery errors, for operators only.
    pub fn can_view_outbox(self) -> bool {
        self.role == Role::Operator
    }

    /// Putting a failing message back in the queue: whoever may see the outbox.
    pub fn can_retry_mail(self) -> bool {
        self.can_view_outbox()
    }

    /// The support desk: logging calls, working tickets.
    pub fn can_use_desk(self) -> bool {
        matches!(self.role, Role::Operator | Role::Agent)
    }

    /// Clinic admins open and follow their own clinic's requests.
    pub fn can_request_help(self, clinic_id: i64) -> bool {
        self.is_admin_of(clinic_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATOR: Actor = Actor {
        role: Role::Operator,
        clinic_id: None,
    };
    const AGENT: Actor = Actor {
        role: Role::Agent,
        clinic_id: None,
    };
    const ADMIN_OF_1: Actor = Actor {
        role: Role::ClinicAdmin,
        clinic_id: Some(1),
    };

    #[test]
    fn clinic_admins_see_only_their_clinic() {
        assert!(ADMIN_OF_1.can_view_clinic(1));
        assert!(!ADMIN_OF_1.can_view_clinic(2));
        assert!(!ADMIN_OF_1.can_list_clinics());
        assert!(!ADMIN_OF_1.can_manage_readers(2));
    }

    #[test]
    fn only_the_clinics_admin_issues_its_passcode_on_the_web() {
        assert!(ADMIN_OF_1.can_issue_passcode(1));
        assert!(!ADMIN_OF_1.can_issue_passcode(2));
        assert!(!OPERATOR.can_issue_passcode(1));
        assert!(!AGENT.can_issue_passcode(1));
    }

    #[test]
    fn agents_read_but_do_not_manage() {
        assert!(AGENT.can_view_clinic(7));
        assert!(!AGENT.can_manage_readers(7));
        assert!(!AGENT.can_manage_clinics());
        assert!(!AGENT.can_manage_users());
        assert!(OPERATOR.can_manage_readers(7));
        assert!(OPERATOR.can_manage_users());
    }
}
