//! Personal API tokens of agents and operators (integrations such as a phone system).

use sqlx::FromRow;

use super::{Exec, on_engine};

pub async fn insert(db: impl Into<Exec<'_>>, user_id: i64, name: &str, token_hash: &[u8]) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(super::now())
    .fetch_one(ex)
    .await)
}

/// The active account behind an unrevoked token.
#[derive(Clone, Debug, FromRow)]
pub struct Holder {
    pub token_id: i64,
    pub user_id: i64,
    pub email: String,
    pub role: String,
}

pub async fn holder(db: impl Into<Exec<'_>>, token_hash: &[u8]) -> super::Result<Option<Holder>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Holder>(
        "SELECT t.id AS token_id, u.id AS user_id, u.email, u.role
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await)
}

/// Revokes every live token of the user (when the account is disabled); returns how many.
pub async fn revoke_all_of(db: impl Into<Exec<'_>>, user_id: i64, at: i64) -> super::Result<u64> {
    let result = on_engine!(db, |ex| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
    )
    .bind(at)
    .bind(user_id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(result.rows_affected())
}

pub async fn touch(db: impl Into<Exec<'_>>, token_id: i64, at: i64) -> super::Result<()> {
    // At most one write a minute per token.
    on_engine!(db, |ex| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND COALESCE(last_used_at, 0) < $3 - 60"
    )
    .bind(at)
    .bind(token_id)
    .bind(at)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn for_user(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<Vec<Listed>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(
        "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(ex)
    .await)
}

pub async fn revoke(db: impl Into<Exec<'_>>, token_id: i64, user_id: i64) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL"
    )
    .bind(super::now())
    .bind(token_id)
    .bind(user_id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}
