//! Setting, clearing and revealing the PC sign-in details (desk settings, the command line, the
//! guide). Each change is one transaction with its audit entry. Nothing is cached: a reveal is
//! rare and reads the database, so every portal process sees a change at once.

use crate::auth::SealingKey;
use crate::db::{self, audit, pc_credentials};
use crate::domain::Secret;
use crate::domain::pc_credential::{PcCredentialError, Source};

/// Which credential: the installer-wide default or one clinic's override.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    Default,
    Clinic { id: i64, code: &'a str },
}

impl Scope<'_> {
    fn clinic_id(self) -> Option<i64> {
        match self {
            Self::Default => None,
            Self::Clinic { id, .. } => Some(id),
        }
    }

    fn aad(self) -> String {
        aad(self.clinic_id())
    }

    /// As the audit log names it: `default` or the 医療機関コード.
    fn audit_name(self) -> String {
        match self {
            Self::Default => "default".to_owned(),
            Self::Clinic { code, .. } => code.to_owned(),
        }
    }
}

/// The associated data a password is sealed for, so it opens only where it was set.
fn aad(clinic_id: Option<i64>) -> String {
    clinic_id.map_or_else(|| "default".to_owned(), |id| format!("clinic:{id}"))
}

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("{0:?}")]
    Invalid(PcCredentialError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<db::Error> for SetError {
    fn from(e: db::Error) -> Self {
        Self::Other(e.into())
    }
}

fn change(changed: bool) -> &'static str {
    if changed { "changed" } else { "unchanged" }
}

/// Sets the username and, when given, the password (`None` keeps the stored one, which must
/// exist). The audit entry says what changed, never the values.
pub async fn set(
    pool: &db::Pool,
    key: &SealingKey,
    actor: &audit::Actor,
    ip: Option<&str>,
    scope: Scope<'_>,
    username: &str,
    password: Option<&Secret<String>>,
) -> Result<(), SetError> {
    let aad = scope.aad();
    let mut tx = db::begin_write(pool).await?;
    db::lock(&mut tx, db::Lock::PcCredentials).await?;
    let existing = pc_credentials::get(&mut tx, scope.clinic_id()).await?;
    let (sealed, password_changed) = match (password, &existing) {
        (Some(new), old) => {
            let before = old.as_ref().and_then(|o| key.open(&o.password_sealed, &aad));
            let changed = before.is_none_or(|b| b.expose() != new.expose());
            (key.seal(new, &aad)?, changed)
        }
        (None, Some(old)) => (old.password_sealed.clone(), false),
        (None, None) => return Err(SetError::Invalid(PcCredentialError::PasswordRequired)),
    };
    let username_changed = existing.as_ref().is_none_or(|o| o.username != username);
    let by = actor.label();
    let row = pc_credentials::Write {
        clinic_id: scope.clinic_id(),
        username,
        password_sealed: &sealed,
        now: db::now(),
        by: &by,
    };
    pc_credentials::put(&mut tx, existing.as_ref().map(|o| o.id), &row).await?;
    let detail = audit::fields(&[
        ("scope", &scope.audit_name()),
        ("username_change", change(username_changed)),
        ("password_change", change(password_changed)),
    ]);
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "pc_credential.set",
            clinic_id: scope.clinic_id(),
            detail: &detail,
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the default or the clinic's override; false (and nothing audited) if none was set.
pub async fn clear(pool: &db::Pool, actor: &audit::Actor, ip: Option<&str>, scope: Scope<'_>) -> anyhow::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    db::lock(&mut tx, db::Lock::PcCredentials).await?;
    if !pc_credentials::delete(&mut tx, scope.clinic_id()).await? {
        return Ok(false);
    }
    let detail = audit::fields(&[("scope", &scope.audit_name())]);
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "pc_credential.cleared",
            clinic_id: scope.clinic_id(),
            detail: &detail,
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The sign-in details a user of `clinic_id` (None: operators and agents) is shown.
pub struct Revealed {
    pub username: String,
    pub password: Secret<String>,
    pub source: Source,
}

/// The clinic's override if it has one, else the default; `None` when neither is set (or the
/// stored one cannot be opened: sealed under another pepper, logged for the operators).
pub async fn for_clinic(pool: &db::Pool, key: &SealingKey, clinic_id: Option<i64>) -> anyhow::Result<Option<Revealed>> {
    let own = match clinic_id {
        Some(id) => pc_credentials::get(pool, Some(id))
            .await?
            .map(|row| (row, Some(id), Source::Clinic)),
        None => None,
    };
    let found = match own {
        Some(found) => Some(found),
        None => pc_credentials::get(pool, None)
            .await?
            .map(|row| (row, None, Source::Default)),
    };
    let Some((row, sealed_for, source)) = found else {
        return Ok(None);
    };
    match key.open(&row.password_sealed, &aad(sealed_for)) {
        Some(password) => Ok(Some(Revealed {
            username: row.username,
            password,
            source,
        })),
        None => {
            tracing::error!(
                source = source.as_str(),
                "the stored PC sign-in password cannot be opened (sealed under another pepper?); set it again"
            );
            Ok(None)
        }
    }
}

/// Whether a user of `clinic_id` would be shown anything (no password is opened).
pub async fn is_available(pool: &db::Pool, clinic_id: Option<i64>) -> db::Result<bool> {
    if let Some(id) = clinic_id
        && pc_credentials::get(pool, Some(id)).await?.is_some()
    {
        return Ok(true);
    }
    Ok(pc_credentials::get(pool, None).await?.is_some())
}
