//! Password-reset links (migration 0021): only the SHA-256 of each link's token is stored; a row
//! is deleted when its link is used or a newer one is asked for, so a link works once.

use super::{Exec, Tx, execute, on_engine};

/// Writes a new reset link for the user; older unused ones stop working (their rows go).
pub async fn replace(tx: &mut Tx, user_id: i64, token_hash: &[u8; 32], now: i64, expires_at: i64) -> super::Result<()> {
    execute!(&mut *tx, "DELETE FROM password_resets WHERE user_id = $1", user_id)?;
    execute!(
        &mut *tx,
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        token_hash.as_slice(),
        user_id,
        now,
        expires_at
    )?;
    Ok(())
}

/// The user of a reset link that may still be used; reading does not consume it.
pub async fn valid(db: impl Into<Exec<'_>>, token_hash: &[u8; 32], now: i64) -> super::Result<Option<i64>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT user_id FROM password_resets WHERE token_hash = $1 AND expires_at > $2"
    )
    .bind(token_hash.as_slice())
    .bind(now)
    .fetch_optional(ex)
    .await)
}

/// Consumes the link: deletes it if still valid and returns its user. Of two transactions using
/// the same link one gets it (see `db::invitations::consume`).
pub async fn consume(tx: &mut Tx, token_hash: &[u8; 32], now: i64) -> super::Result<Option<i64>> {
    on_engine!(&mut *tx, |ex| sqlx::query_scalar(
        "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id"
    )
    .bind(token_hash.as_slice())
    .bind(now)
    .fetch_optional(ex)
    .await)
}

/// Forgets expired links.
pub async fn prune(db: impl Into<Exec<'_>>, now: i64) -> super::Result<u64> {
    Ok(execute!(db, "DELETE FROM password_resets WHERE expires_at <= $1", now)?.rows_affected())
}

/// Forgets the user's unused reset link: their password was just set another way, and a link
/// asked for before must not set it again. Returns whether there was one.
pub async fn forget_for_user(tx: &mut Tx, user_id: i64) -> super::Result<bool> {
    Ok(execute!(&mut *tx, "DELETE FROM password_resets WHERE user_id = $1", user_id)?.rows_affected() > 0)
}
