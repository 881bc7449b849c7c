use sqlx::{FromRow, SqliteExecutor};

/// The clinic's current passcode (the one not superseded), with its hash.
#[derive(Clone, Debug, FromRow)]
pub struct Current {
    pub id: i64,
    pub generation: i64,
    pub code_hash: String,
    pub issued_at: i64,
    pub failed_attempts: i64,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
}

pub async fn current(db: impl SqliteExecutor<'_>, clinic_id: i64) -> sqlx::Result<Option<Current>> {
    sqlx::query_as::<_, Current>(
        "SELECT id, generation, code_hash, issued_at, failed_attempts, disabled_at, disabled_reason
         FROM passcodes WHERE clinic_id = ? AND superseded_at IS NULL",
    )
    .bind(clinic_id)
    .fetch_optional(db)
    .await
}

pub async fn supersede(db: impl SqliteExecutor<'_>, clinic_id: i64, at: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE passcodes SET superseded_at = ? WHERE clinic_id = ? AND superseded_at IS NULL")
        .bind(at)
        .bind(clinic_id)
        .execute(db)
        .await?;
    Ok(())
}

pub struct NewPasscode<'a> {
    pub clinic_id: i64,
    pub generation: i64,
    pub code_hash: &'a str,
    pub issued_at: i64,
    pub issued_by: Option<i64>,
    pub issued_via: &'a str,
}

pub async fn insert(db: impl SqliteExecutor<'_>, new: &NewPasscode<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO passcodes (clinic_id, generation, code_hash, issued_at, issued_by, issued_via)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(new.clinic_id)
    .bind(new.generation)
    .bind(new.code_hash)
    .bind(new.issued_at)
    .bind(new.issued_by)
    .bind(new.issued_via)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_failures(db: impl SqliteExecutor<'_>, id: i64, failed_attempts: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE passcodes SET failed_attempts = ? WHERE id = ?")
        .bind(failed_attempts)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn disable(db: impl SqliteExecutor<'_>, id: i64, at: i64, reason: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE passcodes SET disabled_at = ?, disabled_reason = ? WHERE id = ?")
        .bind(at)
        .bind(reason)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// What a reader may know about a clinic's passcode: never the code or its hash.
#[derive(Clone, Debug, FromRow)]
pub struct State {
    pub clinic_id: i64,
    pub generation: i64,
    pub issued_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub has_current: bool,
}

const STATE_QUERY: &str = "SELECT c.id AS clinic_id, c.passcode_generation AS generation,
        p.issued_at, p.disabled_at, p.id IS NOT NULL AS has_current
     FROM clinics c LEFT JOIN passcodes p ON p.clinic_id = c.id AND p.superseded_at IS NULL";

pub async fn all_states(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<State>> {
    sqlx::query_as::<_, State>(STATE_QUERY).fetch_all(db).await
}

pub async fn state(db: impl SqliteExecutor<'_>, clinic_id: i64) -> sqlx::Result<Option<State>> {
    sqlx::query_as::<_, State>(&format!("{STATE_QUERY} WHERE c.id = ?"))
        .bind(clinic_id)
        .fetch_optional(db)
        .await
}

#[derive(Clone, Debug, FromRow)]
pub struct HistoryRow {
    pub generation: i64,
    pub issued_at: i64,
    pub issued_by_email: Option<String>,
    pub issued_via: String,
    pub superseded_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
}

pub async fn history(db: impl SqliteExecutor<'_>, clinic_id: i64, limit: i64) -> sqlx::Result<Vec<HistoryRow>> {
    sqlx::query_as::<_, HistoryRow>(
        "SELECT p.generation, p.issued_at, u.email AS issued_by_email, p.issued_via, p.superseded_at,
                p.disabled_at, p.disabled_reason
         FROM passcodes p LEFT JOIN users u ON u.id = p.issued_by
         WHERE p.clinic_id = ? ORDER BY p.generation DESC LIMIT ?",
    )
    .bind(clinic_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn record_attempt(
    db: impl SqliteExecutor<'_>,
    clinic_id: i64,
    reader_id: i64,
    generation: Option<i64>,
    result: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO passcode_attempts (clinic_id, reader_id, generation, at, result) VALUES (?, ?, ?, ?, ?)")
        .bind(clinic_id)
        .bind(reader_id)
        .bind(generation)
        .bind(super::now())
        .bind(result)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct AttemptRow {
    pub at: i64,
    pub reader_name: String,
    pub generation: Option<i64>,
    pub result: String,
}

pub async fn attempts(db: impl SqliteExecutor<'_>, clinic_id: i64, limit: i64) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as::<_, AttemptRow>(
        "SELECT a.at, r.name AS reader_name, a.generation, a.result
         FROM passcode_attempts a JOIN readers r ON r.id = a.reader_id
         WHERE a.clinic_id = ? ORDER BY a.id DESC LIMIT ?",
    )
    .bind(clinic_id)
    .bind(limit)
    .fetch_all(db)
    .await
}
