//! First-run setup tokens (only their SHA-256 is stored): any process can check and consume
//! one, so setup works whichever process a browser reaches, and only once.

use super::{Exec, Result, Tx, on_engine};

pub async fn insert(db: impl Into<Exec<'_>>, token_hash: &[u8; 32], now: i64) -> Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)"
    )
    .bind(token_hash.as_slice())
    .bind(now)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Whether this token (its hash) may finish setup.
pub async fn exists(db: impl Into<Exec<'_>>, token_hash: &[u8; 32]) -> Result<bool> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = $1)"
    )
    .bind(token_hash.as_slice())
    .fetch_one(ex)
    .await)
}

/// Whether any process offers setup now.
pub async fn any(db: impl Into<Exec<'_>>) -> Result<bool> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM setup_tokens)"
    )
    .fetch_one(ex)
    .await)
}

/// Consumes the token; false when it is not (or no longer) there.
pub async fn claim(tx: &mut Tx, token_hash: &[u8; 32]) -> Result<bool> {
    let claimed = on_engine!(&mut *tx, |ex| sqlx::query(
        "DELETE FROM setup_tokens WHERE token_hash = $1"
    )
    .bind(token_hash.as_slice())
    .execute(ex)
    .await
    .map(super::Done::from))?
    .rows_affected();
    Ok(claimed == 1)
}

/// Setup is over (or an account exists): no token opens it any more.
pub async fn delete_all(db: impl Into<Exec<'_>>) -> Result<()> {
    on_engine!(db, |ex| sqlx::query("DELETE FROM setup_tokens")
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}
