//! The second factor's rows: each user's sealed TOTP secret (pending until confirmed), the step
//! of the last code accepted, the recovery codes' hashes, and the operators' policy.

use sqlx::FromRow;

use super::{Exec, execute, on_engine};

#[derive(Clone, Debug, FromRow)]
pub struct Enrolment {
    /// Sealed by `auth::SealingKey` under the scope [`crate::services::totp::scope`].
    pub secret: Vec<u8>,
    pub created_at: i64,
    pub enabled_at: Option<i64>,
    pub last_step: i64,
}

pub async fn get(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<Option<Enrolment>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Enrolment>(
        "SELECT secret, created_at, enabled_at, last_step FROM user_totp WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(ex)
    .await)
}

/// Whether the user's second factor is on.
pub async fn is_enabled(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<bool> {
    let found: Option<(i64,)> = on_engine!(db, |ex| sqlx::query_as(
        "SELECT user_id FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL",
    )
    .bind(user_id)
    .fetch_optional(ex)
    .await)?;
    Ok(found.is_some())
}

/// For every signed-in request, in one query: whether the user's second factor is on, and
/// whether operators require it of every role.
pub async fn state(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<(bool, bool)> {
    let (enabled, all): (i64, bool) = on_engine!(db, |ex| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL),
                COALESCE((SELECT totp_required_for_all FROM account_policy WHERE id = 1), FALSE)",
    )
    .bind(user_id)
    .fetch_one(ex)
    .await)?;
    Ok((enabled > 0, all))
}

/// A new enrolment waiting for its first code; replaces an unconfirmed one, never an enabled one
/// (false then).
pub async fn start(db: impl Into<Exec<'_>>, user_id: i64, sealed: &[u8], now: i64) -> super::Result<bool> {
    let done = execute!(
        db,
        "INSERT INTO user_totp (user_id, secret, created_at, enabled_at, last_step) VALUES ($1, $2, $3, NULL, 0)
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
         WHERE user_totp.enabled_at IS NULL",
        user_id,
        sealed,
        now
    )?;
    Ok(done.rows_affected() == 1)
}

/// Turns the pending enrolment on with the step of the code that confirmed it. False when there
/// was none pending (already on, or reset meanwhile), or it is not the secret the page showed.
pub async fn enable(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    created_at: i64,
    step: i64,
    now: i64,
) -> super::Result<bool> {
    let done = execute!(
        db,
        "UPDATE user_totp SET enabled_at = $1, last_step = $2
         WHERE user_id = $3 AND enabled_at IS NULL AND created_at = $4",
        now,
        step,
        user_id,
        created_at
    )?;
    Ok(done.rows_affected() == 1)
}

/// Accepts a code's step once: false when this step, or a later one, was used already (the
/// same code twice, even at once from two processes, passes once).
pub async fn use_step(db: impl Into<Exec<'_>>, user_id: i64, step: i64) -> super::Result<bool> {
    let done = execute!(
        db,
        "UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND enabled_at IS NOT NULL AND last_step < $1",
        step,
        user_id
    )?;
    Ok(done.rows_affected() == 1)
}

/// Removes the second factor and its recovery codes.
pub async fn remove(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<bool> {
    let done = execute!(db, "DELETE FROM user_totp WHERE user_id = $1", user_id)?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_recovery_codes(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<()> {
    execute!(db, "DELETE FROM totp_recovery_codes WHERE user_id = $1", user_id)?;
    Ok(())
}

pub async fn add_recovery_code(db: impl Into<Exec<'_>>, user_id: i64, code_hash: &str) -> super::Result<()> {
    execute!(
        db,
        "INSERT INTO totp_recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)",
        user_id,
        code_hash
    )?;
    Ok(())
}

/// Uses a recovery code once: false when it is not this user's or was used.
pub async fn use_recovery_code(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    code_hash: &str,
    now: i64,
) -> super::Result<bool> {
    let done = execute!(
        db,
        "UPDATE totp_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        now,
        user_id,
        code_hash
    )?;
    Ok(done.rows_affected() == 1)
}

pub async fn unused_recovery_codes(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<i64> {
    let (n,): (i64,) = on_engine!(db, |ex| sqlx::query_as(
        "SELECT COUNT(*) FROM totp_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(ex)
    .await)?;
    Ok(n)
}

/// Whether operators require the second factor of every role (operators always need one).
pub async fn required_for_all(db: impl Into<Exec<'_>>) -> super::Result<bool> {
    let found: Option<(bool,)> = on_engine!(db, |ex| sqlx::query_as(
        "SELECT totp_required_for_all FROM account_policy WHERE id = 1",
    )
    .fetch_optional(ex)
    .await)?;
    Ok(found.is_some_and(|(on,)| on))
}

pub async fn set_required_for_all(db: impl Into<Exec<'_>>, on: bool, now: i64) -> super::Result<()> {
    execute!(
        db,
        "UPDATE account_policy SET totp_required_for_all = $1, updated_at = $2 WHERE id = 1",
        on,
        now
    )?;
    Ok(())
}

/// For the users page: who has the second factor on.
pub async fn enabled_user_ids(db: impl Into<Exec<'_>>) -> super::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = on_engine!(db, |ex| sqlx::query_as(
        "SELECT user_id FROM user_totp WHERE enabled_at IS NOT NULL",
    )
    .fetch_all(ex)
    .await)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
