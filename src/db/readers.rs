use sqlx::FromRow;

use super::{Exec, on_engine};

#[derive(Clone, Debug, FromRow)]
pub struct Reader {
    pub id: i64,
    pub clinic_id: i64,
    pub name: String,
    pub install_type: String,
    pub enrolled_at: i64,
    pub revoked_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub last_seen_generation: Option<i64>,
    pub locked_until: Option<i64>,
}

const COLUMNS: &str = "id, clinic_id, name, install_type, enrolled_at, revoked_at, last_seen_at, \
                       last_seen_generation, locked_until";

pub async fn insert(
    db: impl Into<Exec<'_>>,
    clinic_id: i64,
    name: &str,
    install_type: &str,
    token_hash: &[u8],
) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO readers (clinic_id, name, install_type, token_hash, enrolled_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(clinic_id)
    .bind(name)
    .bind(install_type)
    .bind(token_hash)
    .bind(super::now())
    .fetch_one(ex)
    .await)
}

pub async fn by_id(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<Reader>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Reader>(&format!(
        "SELECT {COLUMNS} FROM readers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

pub async fn for_clinic(db: impl Into<Exec<'_>>, clinic_id: i64) -> super::Result<Vec<Reader>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Reader>(&format!(
        "SELECT {COLUMNS} FROM readers WHERE clinic_id = $1 ORDER BY revoked_at IS NOT NULL, name"
    ))
    .bind(clinic_id)
    .fetch_all(ex)
    .await)
}

/// Revokes the token at once; returns false when the reader was already revoked.
pub async fn revoke(db: impl Into<Exec<'_>>, id: i64) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query(
        "UPDATE readers SET token_hash = NULL, revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(super::now())
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}

/// Gives the reader a new token (the old one stops working) and clears revocation and lockout.
pub async fn reenroll(db: impl Into<Exec<'_>>, id: i64, token_hash: &[u8]) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE readers SET token_hash = $1, revoked_at = NULL, enrolled_at = $2, failed_attempts = 0,
                lockouts = 0, locked_until = NULL, stale_notified_at = NULL WHERE id = $3",
    )
    .bind(token_hash)
    .bind(super::now())
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// What the token cache holds for an enrolled reader.
#[derive(Debug, FromRow)]
pub struct TokenEntry {
    pub id: i64,
    pub clinic_id: i64,
    pub token_hash: Vec<u8>,
    pub last_seen_at: Option<i64>,
    pub last_seen_generation: Option<i64>,
}

const TOKEN_COLUMNS: &str = "id, clinic_id, token_hash, last_seen_at, last_seen_generation";

pub async fn active_tokens(db: impl Into<Exec<'_>>) -> super::Result<Vec<TokenEntry>> {
    on_engine!(db, |ex| sqlx::query_as::<_, TokenEntry>(&format!(
        "SELECT {TOKEN_COLUMNS} FROM readers WHERE token_hash IS NOT NULL"
    ))
    .fetch_all(ex)
    .await)
}

pub async fn active_token(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<TokenEntry>> {
    on_engine!(db, |ex| sqlx::query_as::<_, TokenEntry>(&format!(
        "SELECT {TOKEN_COLUMNS} FROM readers WHERE id = $1 AND token_hash IS NOT NULL"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

pub async fn record_seen(db: impl Into<Exec<'_>>, id: i64, at: i64, generation: i64) -> super::Result<()> {
    on_engine!(db, |ex| {
        sqlx::query(
        // Seen again: a later "not seen" episode gets its own notice (stale_notified_at, 0022).
        "UPDATE readers SET last_seen_at = CASE WHEN COALESCE(last_seen_at, 0) > $1 THEN last_seen_at ELSE $1 END, last_seen_generation = $2,
                stale_notified_at = NULL
         WHERE id = $3",
    )
    .bind(at)
    .bind(generation)
    .bind(id)
    .execute(ex)
    .await.map(super::Done::from)
    })?;
    Ok(())
}

/// The reader's lockout state for passcode verification.
#[derive(Debug, FromRow)]
pub struct Lockout {
    pub failed_attempts: i64,
    pub lockouts: i64,
    pub locked_until: Option<i64>,
}

pub async fn lockout(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Lockout> {
    on_engine!(db, |ex| sqlx::query_as::<_, Lockout>(
        "SELECT failed_attempts, lockouts, locked_until FROM readers WHERE id = $1"
    )
    .bind(id)
    .fetch_one(ex)
    .await)
}

pub async fn set_lockout(db: impl Into<Exec<'_>>, id: i64, state: &Lockout) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE readers SET failed_attempts = $1, lockouts = $2, locked_until = $3 WHERE id = $4"
    )
    .bind(state.failed_attempts)
    .bind(state.lockouts)
    .bind(state.locked_until)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// After how many minutes without a poll a reader shows as not connected.
pub async fn stale_after_min(db: impl Into<Exec<'_>>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT threshold_min FROM reader_staleness WHERE id = 1"
    )
    .fetch_one(ex)
    .await)
}

pub async fn set_stale_after_min(db: impl Into<Exec<'_>>, minutes: i64, now: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE reader_staleness SET threshold_min = $1, updated_at = $2 WHERE id = 1"
    )
    .bind(minutes)
    .bind(now)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}
