use sqlx::FromRow;

use super::Exec;

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
    sqlx::query_scalar(
        "INSERT INTO readers (clinic_id, name, install_type, token_hash, enrolled_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(clinic_id)
    .bind(name)
    .bind(install_type)
    .bind(token_hash)
    .bind(super::now())
    .fetch_one(db.into())
    .await
}

pub async fn by_id(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<Reader>> {
    sqlx::query_as::<_, Reader>(&format!("SELECT {COLUMNS} FROM readers WHERE id = ?"))
        .bind(id)
        .fetch_optional(db.into())
        .await
}

pub async fn for_clinic(db: impl Into<Exec<'_>>, clinic_id: i64) -> super::Result<Vec<Reader>> {
    sqlx::query_as::<_, Reader>(&format!(
        "SELECT {COLUMNS} FROM readers WHERE clinic_id = ? ORDER BY revoked_at IS NOT NULL, name"
    ))
    .bind(clinic_id)
    .fetch_all(db.into())
    .await
}

/// Revokes the token at once; returns false when the reader was already revoked.
pub async fn revoke(db: impl Into<Exec<'_>>, id: i64) -> super::Result<bool> {
    let result =
        sqlx::query("UPDATE readers SET token_hash = NULL, revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(super::now())
            .bind(id)
            .execute(db.into())
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives the reader a new token (the old one stops working) and clears revocation and lockout.
pub async fn reenroll(db: impl Into<Exec<'_>>, id: i64, token_hash: &[u8]) -> super::Result<()> {
    sqlx::query(
        "UPDATE readers SET token_hash = ?, revoked_at = NULL, enrolled_at = ?, failed_attempts = 0,
                lockouts = 0, locked_until = NULL WHERE id = ?",
    )
    .bind(token_hash)
    .bind(super::now())
    .bind(id)
    .execute(db.into())
    .await?;
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
    sqlx::query_as::<_, TokenEntry>(&format!(
        "SELECT {TOKEN_COLUMNS} FROM readers WHERE token_hash IS NOT NULL"
    ))
    .fetch_all(db.into())
    .await
}

pub async fn active_token(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<TokenEntry>> {
    sqlx::query_as::<_, TokenEntry>(&format!(
        "SELECT {TOKEN_COLUMNS} FROM readers WHERE id = ? AND token_hash IS NOT NULL"
    ))
    .bind(id)
    .fetch_optional(db.into())
    .await
}

pub async fn record_seen(db: impl Into<Exec<'_>>, id: i64, at: i64, generation: i64) -> super::Result<()> {
    sqlx::query(
        "UPDATE readers SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?), last_seen_generation = ?
         WHERE id = ?",
    )
    .bind(at)
    .bind(generation)
    .bind(id)
    .execute(db.into())
    .await?;
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
    sqlx::query_as::<_, Lockout>("SELECT failed_attempts, lockouts, locked_until FROM readers WHERE id = ?")
        .bind(id)
        .fetch_one(db.into())
        .await
}

pub async fn set_lockout(db: impl Into<Exec<'_>>, id: i64, state: &Lockout) -> super::Result<()> {
    sqlx::query("UPDATE readers SET failed_attempts = ?, lockouts = ?, locked_until = ? WHERE id = ?")
        .bind(state.failed_attempts)
        .bind(state.lockouts)
        .bind(state.locked_until)
        .bind(id)
        .execute(db.into())
        .await?;
    Ok(())
}

/// After how many minutes without a poll a reader shows as not connected.
pub async fn stale_after_min(db: impl Into<Exec<'_>>) -> super::Result<i64> {
    sqlx::query_scalar("SELECT threshold_min FROM reader_staleness WHERE id = 1")
        .fetch_one(db.into())
        .await
}

pub async fn set_stale_after_min(db: impl Into<Exec<'_>>, minutes: i64, now: i64) -> super::Result<()> {
    sqlx::query("UPDATE reader_staleness SET threshold_min = ?, updated_at = ? WHERE id = 1")
        .bind(minutes)
        .bind(now)
        .execute(db.into())
        .await?;
    Ok(())
}
