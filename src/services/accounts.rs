//! Clinics and user accounts.

use crate::auth::Hasher;
use crate::db::{self, audit};
use crate::domain::notification::Kind;
use crate::domain::{ClinicCode, Email, Password, Role};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a clinic with 医療機関コード {0} already exists")]
    DuplicateClinic(String),
    #[error("an account for {0} already exists")]
    DuplicateUser(String),
    #[error("no clinic has 医療機関コード {0}")]
    UnknownClinic(String),
    #[error("a clinic admin must belong to a clinic (--clinic)")]
    ClinicRequired,
    #[error("only clinic admins belong to a clinic")]
    ClinicNotAllowed,
    #[error("no such account")]
    UnknownUser,
    #[error("you cannot disable your own account")]
    SelfDisable,
    #[error("API tokens are for active agents and operators only")]
    TokenNotAllowed,
    #[error("the current password is not right")]
    WrongPassword,
    #[error("the new password must differ from the current one")]
    SamePassword,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AccountError {
    /// The message for a person on a page, in `lang` (the `Display` text is the command line's).
    pub fn localized(&self, lang: crate::i18n::Lang) -> String {
        let (key, value) = match self {
            Self::DuplicateClinic(code) => ("account.err_duplicate_clinic", code.as_str()),
            Self::DuplicateUser(email) => ("account.err_duplicate_user", email.as_str()),
            Self::UnknownClinic(code) => ("account.err_unknown_clinic", code.as_str()),
            Self::ClinicRequired => ("user.clinic_required", ""),
            Self::ClinicNotAllowed => ("account.err_clinic_not_allowed", ""),
            Self::UnknownUser => ("account.err_unknown_user", ""),
            Self::SelfDisable => ("account.err_self_disable", ""),
            Self::TokenNotAllowed => ("account.err_token_not_allowed", ""),
            Self::WrongPassword => ("password.err_wrong_current", ""),
            Self::SamePassword => ("password.err_same", ""),
            Self::Internal(_) => ("error.internal", ""),
        };
        crate::i18n::text(lang, key).replace("{value}", value)
    }
}

impl From<db::Error> for AccountError {
    fn from(e: db::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub struct ClinicInput<'a> {
    pub code: &'a ClinicCode,
    pub name: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    pub contact_name: &'a str,
}

pub async fn create_clinic(
    pool: &db::Pool,
    actor: &audit::Actor,
    input: &ClinicInput<'_>,
) -> Result<i64, AccountError> {
    let mut tx = db::begin_write(pool).await?;
    let new = db::clinics::NewClinic {
        code: input.code.as_str(),
        name: input.name,
        phone: input.phone,
        address: input.address,
        contact_name: input.contact_name,
    };
    let id = match db::clinics::insert(&mut tx, &new).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => {
            return Err(AccountError::DuplicateClinic(input.code.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let detail = audit::fields(&[("code", input.code.as_str()), ("name", input.name)]);
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "clinic.created",
            clinic_id: Some(id),
            detail: &detail,
            ip: None,
        },
    )
    .await?;
    db::cache_events::append(&mut tx, db::cache_events::Kind::Clinic, id).await?;
    tx.commit().await?;
    Ok(id)
}

pub struct UserInput<'a> {
    pub email: &'a Email,
    pub password: &'a Password,
    pub role: Role,
    pub clinic: Option<&'a ClinicCode>,
    /// Set by someone else (an operator on the web): the user must choose their own at the
    /// first sign-in.
    pub temporary: bool,
}

pub async fn create_user(
    pool: &db::Pool,
    hasher: &Hasher,
    actor: &audit::Actor,
    input: &UserInput<'_>,
) -> Result<i64, AccountError> {
    let clinic_id = match (input.role, input.clinic) {
        (Role::ClinicAdmin, None) => return Err(AccountError::ClinicRequired),
        (Role::ClinicAdmin, Some(code)) => Some(
            db::clinics::by_code(pool, code.as_str())
                .await?
                .ok_or_else(|| AccountError::UnknownClinic(code.to_string()))?
                .id,
        ),
        (_, Some(_)) => return Err(AccountError::ClinicNotAllowed),
        (_, None) => None,
    };
    let hash = hasher.hash_password(input.password).await?;
    let mut tx = db::begin_write(pool).await?;
    let id = match db::users::insert(&mut tx, input.email.as_str(), &hash, input.role.as_db(), clinic_id).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => {
            return Err(AccountError::DuplicateUser(input.email.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    if input.temporary {
        db::users::set_must_change_password(&mut tx, id).await?;
    }
    let detail = audit::fields(&[("email", input.email.as_str()), ("role", input.role.as_db())]);
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "user.created",
            clinic_id,
            detail: &detail,
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates the first operator through `/setup`, consuming the setup token (its SHA-256) in the
/// same write transaction: `Ok(None)` when the token is not (or no longer) valid or an account
/// exists by now. The lock: SQLite's write lock (`begin_write`) orders two racing setups, and the
/// second finds the token gone (docs/invariants.md).
pub async fn create_first_operator(
    pool: &db::Pool,
    hasher: &Hasher,
    token_hash: &[u8; 32],
    email: &Email,
    password: &Password,
) -> Result<Option<i64>, AccountError> {
    let hash = hasher.hash_password(password).await?;
    let mut tx = db::begin_write(pool).await?;
    db::lock(&mut tx, db::Lock::Setup).await?;
    if db::users::count(&mut tx).await? > 0 || !db::setup_tokens::claim(&mut tx, token_hash).await? {
        return Ok(None);
    }
    let id = db::users::insert(&mut tx, email.as_str(), &hash, Role::Operator.as_db(), None).await?;
    db::setup_tokens::delete_all(&mut tx).await?;
    let detail = audit::fields(&[("email", email.as_str()), ("role", Role::Operator.as_db())]);
    audit::record(
        &mut tx,
        audit::Entry {
            actor: &audit::Actor::Anonymous,
            action: "user.created",
            clinic_id: None,
            detail: &detail,
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Disables or re-enables an account. A disabled user's sessions stop working at their next
/// request (the user is re-loaded on every request).
pub async fn set_disabled(
    pool: &db::Pool,
    actor: &audit::Actor,
    user_id: i64,
    disabled: bool,
) -> Result<(), AccountError> {
    if let audit::Actor::User { id, .. } = actor
        && *id == user_id
        && disabled
    {
        return Err(AccountError::SelfDisable);
    }
    let mut tx = db::begin_write(pool).await?;
    let user = db::users::by_id(&mut tx, user_id)
        .await?
        .ok_or(AccountError::UnknownUser)?;
    db::users::set_disabled(&mut tx, user_id, disabled.then(db::now)).await?;
    // Enabling the account again must not bring its integrations back: their tokens end here.
    let (tokens_revoked, invitations_revoked) = if disabled {
        // Its browsers are signed out at their next request; the sessions list says so too.
        db::user_sessions::end_others(&mut tx, user_id, None, db::now()).await?;
        // The invitations it made die with it (an operator let go must not leave working links
        // behind), as do its reset link and their unsent mails.
        let invited = db::invitations::revoke_by_inviter(&mut tx, user_id).await?;
        for email in &invited {
            db::outbox::withdraw_unsent(&mut tx, "invitation", email).await?;
        }
        super::account_mail::forget_reset_link(&mut tx, user_id, &user.email).await?;
        let tokens = db::api_tokens::revoke_all_of(&mut tx, user_id, db::now()).await?;
        (tokens, invited.len())
    } else {
        (0, 0)
    };
    let action = if disabled { "user.disabled" } else { "user.enabled" };
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action,
            clinic_id: user.clinic_id,
            detail: &audit::fields(&[
                ("email", &user.email),
                ("api_tokens_revoked", &tokens_revoked.to_string()),
                ("invitations_revoked", &invitations_revoked.to_string()),
            ]),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password chosen by an operator (for example when a clinic admin forgot theirs).
/// It is temporary: the user chooses their own at the next sign-in; their sessions end.
pub async fn reset_password(
    pool: &db::Pool,
    hasher: &Hasher,
    actor: &audit::Actor,
    user_id: i64,
    password: &Password,
) -> Result<(), AccountError> {
    let hash = hasher.hash_password(password).await?;
    let mut tx = db::begin_write(pool).await?;
    let user = db::users::by_id(&mut tx, user_id)
        .await?
        .ok_or(AccountError::UnknownUser)?;
    db::users::set_password_hash(&mut tx, user_id, &hash, true).await?;
    // The new generation signs every browser out; their rows in the sessions list end with it.
    db::user_sessions::end_others(&mut tx, user_id, None, db::now()).await?;
    // A reset link asked for before would otherwise undo this password.
    super::account_mail::forget_reset_link(&mut tx, user_id, &user.email).await?;
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "user.password_reset",
            clinic_id: user.clinic_id,
            detail: &audit::fields(&[("email", &user.email)]),
            ip: None,
        },
    )
    .await?;
    let by = super::mail::by_whom(actor);
    super::mail::security_notice_with(
        &mut tx,
        user_id,
        Kind::SecurityPasswordReset,
        db::now(),
        None,
        &[("by", by)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes a signed-in user's own password after checking the current one. Every other session
/// of theirs ends; returns the new session generation for the session that made the change.
pub async fn change_own_password(
    pool: &db::Pool,
    hasher: &Hasher,
    user_id: i64,
    current: &str,
    new: &Password,
    ip: Option<&str>,
) -> Result<i64, AccountError> {
    let user = db::users::by_id(pool, user_id)
        .await?
        .ok_or(AccountError::UnknownUser)?;
    if !hasher.verify_password(current, Some(&user.password_hash)).await? {
        return Err(AccountError::WrongPassword);
    }
    if hasher.verify_password(new.expose(), Some(&user.password_hash)).await? {
        return Err(AccountError::SamePassword);
    }
    let hash = hasher.hash_password(new).await?;
    let mut tx = db::begin_write(pool).await?;
    let generation = db::users::set_password_hash(&mut tx, user_id, &hash, false)
        .await?
        .ok_or(AccountError::UnknownUser)?;
    super::account_mail::forget_reset_link(&mut tx, user_id, &user.email).await?;
    audit::record(
        &mut tx,
        audit::Entry {
            actor: &audit::Actor::User {
                id: user.id,
                email: user.email.clone(),
            },
            action: "user.password_changed",
            clinic_id: user.clinic_id,
            detail: &audit::fields(&[("email", &user.email)]),
            ip,
        },
    )
    .await?;
    super::mail::security_notice(&mut tx, user_id, Kind::SecurityPasswordChanged, db::now(), ip).await?;
    tx.commit().await?;
    Ok(generation)
}

pub struct IssuedToken {
    pub id: i64,
    /// Shown once.
    pub token: crate::domain::Secret<String>,
}

/// Issues a personal API token for an agent or operator; only its SHA-256 is stored.
pub async fn issue_api_token(
    pool: &db::Pool,
    actor: &audit::Actor,
    email: &Email,
    name: &str,
) -> Result<IssuedToken, AccountError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
    let token = crate::domain::Secret::new(format!("pat_{}", hex::encode(bytes)));
    let hash = crate::auth::device_token::hash(token.expose());
    let mut tx = db::begin_write(pool).await?;
    let user = db::users::by_email(&mut tx, email.as_str())
        .await?
        .ok_or(AccountError::UnknownUser)?;
    // Read again under the row lock: an account being disabled meanwhile gets no token.
    db::users::lock_row(&mut tx, user.id).await?;
    let user = db::users::by_id(&mut tx, user.id)
        .await?
        .ok_or(AccountError::UnknownUser)?;
    if !matches!(Role::from_db(&user.role), Some(Role::Agent | Role::Operator)) || user.disabled_at.is_some() {
        return Err(AccountError::TokenNotAllowed);
    }
    let id = db::api_tokens::insert(&mut tx, user.id, name, &hash).await?;
    let detail = format!("token {id} ({name}) for {email}");
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "api_token.created",
            clinic_id: None,
            detail: &detail,
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedToken { id, token })
}
