/// What a signed-in person may do. Clinic admins are bound to one clinic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Operator,
    Agent,
    ClinicAdmin,
}

impl Role {
    /// The value stored in the database.
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Agent => "agent",
            Self::ClinicAdmin => "clinic_admin",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "operator" => Some(Self::Operator),
            "agent" => Some(Self::Agent),
            "clinic_admin" => Some(Self::ClinicAdmin),
            _ => None,
        }
    }

    /// The spelling used on the command line and in forms.
    pub fn parse_cli(value: &str) -> Option<Self> {
        match value.trim() {
            "operator" => Some(Self::Operator),
            "agent" => Some(Self::Agent),
            "clinic-admin" | "clinic_admin" => Some(Self::ClinicAdmin),
            _ => None,
        }
    }

    /// Message key for the UI label.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Operator => "role.operator",
            Self::Agent => "role.agent",
            Self::ClinicAdmin => "role.clinic_admin",
        }
    }
}
