//! The second factor: enrolment (a secret shown as a QR code, on only after a current code),
//! checking a code at sign-in and before issuing a passcode, recovery codes, and an operator's
//! reset. Secrets are sealed at rest; a code's step is accepted once (`db::totp::use_step`).

use crate::auth::{SealingKey, device_token, totp};
use crate::db::{self, audit};
use crate::domain::Secret;
use crate::domain::notification::Kind;

/// The sealing scope ties a sealed secret to its user: a row copied onto another account does
/// not open.
pub fn scope(user_id: i64) -> String {
    format!("totp:user:{user_id}")
}

/// What the enrolment page shows until the first code confirms it.
pub struct Setup {
    pub secret: Secret<String>,
    pub uri: Secret<String>,
    /// Identifies the secret the page showed, so a code typed for an older page's secret (two
    /// tabs) is refused rather than enabling another one.
    pub created_at: i64,
}

/// The pending enrolment (made now if there is none); `None` when the second factor is on.
pub async fn pending_or_new(
    pool: &db::Pool,
    key: &SealingKey,
    user_id: i64,
    email: &str,
) -> anyhow::Result<Option<Setup>> {
    let scope = scope(user_id);
    if let Some(row) = db::totp::get(pool, user_id).await? {
        if row.enabled_at.is_some() {
            return Ok(None);
        }
        if let Some(secret) = key.open(&row.secret, &scope) {
            let uri = Secret::new(totp::provisioning_uri(secret.expose(), email)?);
            return Ok(Some(Setup {
                secret,
                uri,
                created_at: row.created_at,
            }));
        }
        // Sealed under another pepper: start again.
    }
    let secret = totp::new_secret()?;
    let sealed = key.seal(&secret, &scope)?;
    let now = db::now();
    if !db::totp::start(pool, user_id, &sealed, now).await? {
        return Ok(None);
    }
    let uri = Secret::new(totp::provisioning_uri(secret.expose(), email)?);
    Ok(Some(Setup {
        secret,
        uri,
        created_at: now,
    }))
}

pub enum EnableOutcome {
    /// On; the recovery codes, shown this once.
    Enabled(Vec<Secret<String>>),
    WrongCode,
    /// Nothing pending any more (on already, from another tab; or a newer secret was made).
    Stale,
}

/// Turns the second factor on with a current code for the pending secret the page showed; makes
/// ten recovery codes. One transaction: on, codes and audit entry, or nothing.
pub async fn enable(
    pool: &db::Pool,
    key: &SealingKey,
    actor: &audit::Actor,
    user_id: i64,
    shown_created_at: i64,
    typed: &str,
    ip: Option<&str>,
) -> anyhow::Result<EnableOutcome> {
    let Some(row) = db::totp::get(pool, user_id).await? else {
        return Ok(EnableOutcome::Stale);
    };
    if row.enabled_at.is_some() || row.created_at != shown_created_at {
        return Ok(EnableOutcome::Stale);
    }
    let Some(secret) = key.open(&row.secret, &scope(user_id)) else {
        return Ok(EnableOutcome::Stale);
    };
    let now = db::now();
    let Some(step) = totp::matching_step(secret.expose(), typed, now) else {
        return Ok(EnableOutcome::WrongCode);
    };
    let mut tx = db::begin_write(pool).await?;
    if !db::totp::enable(&mut tx, user_id, row.created_at, i64::try_from(step)?, now).await? {
        return Ok(EnableOutcome::Stale);
    }
    let codes = store_recovery_codes(&mut tx, user_id).await?;
    record(&mut tx, actor, "totp.enabled", "", ip).await?;
    tx.commit().await?;
    Ok(EnableOutcome::Enabled(codes))
}

async fn store_recovery_codes(tx: &mut db::Tx, user_id: i64) -> anyhow::Result<Vec<Secret<String>>> {
    db::totp::remove_recovery_codes(&mut *tx, user_id).await?;
    let codes = totp::new_recovery_codes()?;
    for code in &codes {
        let normalized = totp::normalize_recovery_code(code.expose())
            .ok_or_else(|| anyhow::anyhow!("a fresh recovery code does not read back"))?;
        db::totp::add_recovery_code(&mut *tx, user_id, &hex::encode(device_token::hash(&normalized))).await?;
    }
    Ok(codes)
}

/// Ten new recovery codes in place of the old ones (all of which stop working).
pub async fn renew_recovery_codes(
    pool: &db::Pool,
    actor: &audit::Actor,
    user_id: i64,
    ip: Option<&str>,
) -> anyhow::Result<Option<Vec<Secret<String>>>> {
    let mut tx = db::begin_write(pool).await?;
    if !db::totp::is_enabled(&mut tx, user_id).await? {
        return Ok(None);
    }
    let codes = store_recovery_codes(&mut tx, user_id).await?;
    record(&mut tx, actor, "totp.recovery_codes_renewed", "", ip).await?;
    tx.commit().await?;
    Ok(Some(codes))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// A current code from the app, accepted (and now used).
    Code,
    /// A recovery code, now used.
    RecoveryCode,
    /// The code of a step already used (typed twice, or seen by someone else).
    Reused,
    Wrong,
}

/// Checks a code from the app or a recovery code, and uses it up when right.
pub async fn check(pool: &db::Pool, key: &SealingKey, user_id: i64, typed: &str) -> anyhow::Result<Checked> {
    let Some(row) = db::totp::get(pool, user_id).await? else {
        return Ok(Checked::Wrong);
    };
    if row.enabled_at.is_none() {
        return Ok(Checked::Wrong);
    }
    let now = db::now();
    if let Some(recovery) = totp::normalize_recovery_code(typed) {
        let hash = hex::encode(device_token::hash(&recovery));
        return Ok(if db::totp::use_recovery_code(pool, user_id, &hash, now).await? {
            Checked::RecoveryCode
        } else {
            Checked::Wrong
        });
    }
    let Some(secret) = key.open(&row.secret, &scope(user_id)) else {
        tracing::warn!(user = user_id, "a TOTP secret does not open under this pepper");
        return Ok(Checked::Wrong);
    };
    let Some(step) = totp::matching_step(secret.expose(), typed, now) else {
        return Ok(Checked::Wrong);
    };
    Ok(if db::totp::use_step(pool, user_id, i64::try_from(step)?).await? {
        Checked::Code
    } else {
        Checked::Reused
    })
}

/// The user turns their own second factor off (only where it is not required: see the route).
pub async fn disable(pool: &db::Pool, actor: &audit::Actor, user_id: i64, ip: Option<&str>) -> anyhow::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    let removed = db::totp::remove(&mut tx, user_id).await?;
    db::totp::remove_recovery_codes(&mut tx, user_id).await?;
    if removed {
        record(&mut tx, actor, "totp.disabled", "", ip).await?;
    }
    tx.commit().await?;
    Ok(removed)
}

/// An operator removes a user's second factor (a lost phone): audited, and the user is told by
/// mail, in the same transaction. They set it up again at their next sign-in where required.
pub async fn reset(
    pool: &db::Pool,
    actor: &audit::Actor,
    target: &db::users::User,
    ip: Option<&str>,
) -> anyhow::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    let removed = db::totp::remove(&mut tx, target.id).await?;
    db::totp::remove_recovery_codes(&mut tx, target.id).await?;
    if removed {
        let detail = audit::fields(&[("email", &target.email)]);
        let entry = audit::Entry {
            actor,
            action: "totp.reset",
            clinic_id: target.clinic_id,
            detail: &detail,
            ip,
        };
        audit::record(&mut tx, entry).await?;
        let by = crate::services::mail::by_whom(actor);
        crate::services::mail::security_notice_with(
            &mut tx,
            target.id,
            Kind::SecurityMfaReset,
            db::now(),
            ip,
            &[("by", by)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

/// A wrong (or reused) code at the sign-in step, after a right password.
pub struct WrongCode<'a> {
    pub user: &'a db::users::User,
    pub reused: bool,
    /// The hour's count of wrong codes, when this one is the count at which the owner is told.
    pub tell_owner_at: Option<i64>,
}

/// Records a wrong code at sign-in (`sign_in.totp_failed`) and, at the hour's last free one,
/// tells the owner that someone has their password (a security notice, always sent): both in
/// one transaction, so the notice is never lost or doubled against its audit entry.
pub async fn record_wrong_code(pool: &db::Pool, wrong: &WrongCode<'_>, address: Option<&str>) -> anyhow::Result<()> {
    let user = wrong.user;
    let mut tx = db::begin_write(pool).await?;
    let actor = audit::Actor::User {
        id: user.id,
        email: user.email.clone(),
    };
    let entry = audit::Entry {
        actor: &actor,
        action: "sign_in.totp_failed",
        clinic_id: user.clinic_id,
        detail: if wrong.reused { "reused" } else { "" },
        ip: address,
    };
    audit::record(&mut tx, entry).await?;
    if let Some(failures) = wrong.tell_owner_at {
        crate::services::mail::security_notice_with(
            &mut tx,
            user.id,
            Kind::SecurityWrongCodes,
            db::now(),
            address,
            &[("failures", failures.to_string())],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Operators require the second factor of every role, or only of operators again.
pub async fn set_required_for_all(
    pool: &db::Pool,
    actor: &audit::Actor,
    on: bool,
    ip: Option<&str>,
) -> anyhow::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    db::totp::set_required_for_all(&mut tx, on, db::now()).await?;
    let detail = audit::fields(&[("required", if on { "all" } else { "operators" })]);
    record(&mut tx, actor, "totp.policy_changed", &detail, ip).await?;
    tx.commit().await?;
    Ok(())
}

async fn record(tx: &mut db::Tx, actor: &audit::Actor, action: &str, detail: &str, ip: Option<&str>) -> db::Result<()> {
    let entry = audit::Entry {
        actor,
        action,
        clinic_id: None,
        detail,
        ip,
    };
    audit::record(tx, entry).await
}
