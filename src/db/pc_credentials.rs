//! The PC sign-in details the guide shows: an installer-wide default (`clinic_id` NULL) and
//! per-clinic overrides. The password column holds only the sealed value (see the migration).

use sqlx::FromRow;

use super::{Exec, on_engine};

/// A stored credential. `password_sealed` is opened by `auth::SealingKey`, never shown as is.
#[derive(FromRow)]
pub struct Stored {
    pub id: i64,
    pub username: String,
    pub password_sealed: Vec<u8>,
    pub updated_at: i64,
    /// Who set it, as the audit log names them (an e-mail address, or `cli`).
    pub updated_by: String,
}

/// An override as the settings page lists it (no username, no password).
#[derive(FromRow)]
pub struct Override {
    pub clinic_code: String,
    pub clinic_name: String,
    pub updated_at: i64,
    pub updated_by: String,
}

/// The default (`clinic_id` None) or the clinic's override.
pub async fn get(db: impl Into<Exec<'_>>, clinic_id: Option<i64>) -> super::Result<Option<Stored>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Stored>(
        "SELECT id, username, password_sealed, updated_at, updated_by FROM pc_credentials
         WHERE clinic_id IS NOT DISTINCT FROM $1",
    )
    .bind(clinic_id)
    .fetch_optional(ex)
    .await)
}

pub async fn overrides(db: impl Into<Exec<'_>>) -> super::Result<Vec<Override>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Override>(
        "SELECT c.code AS clinic_code, c.name AS clinic_name, p.updated_at, p.updated_by
         FROM pc_credentials p JOIN clinics c ON c.id = p.clinic_id
         ORDER BY c.code",
    )
    .fetch_all(ex)
    .await)
}

pub struct Write<'a> {
    pub clinic_id: Option<i64>,
    pub username: &'a str,
    pub password_sealed: &'a [u8],
    pub now: i64,
    pub by: &'a str,
}

/// Inserts or replaces the default or the clinic's override. Run inside a write transaction
/// (`db::begin_write`), which serialises writers.
pub async fn put(db: impl Into<Exec<'_>>, existing: Option<i64>, row: &Write<'_>) -> super::Result<()> {
    let (sql, key) = match existing {
        Some(id) => (
            "UPDATE pc_credentials SET username = $1, password_sealed = $2, updated_at = $3, updated_by = $4
             WHERE id = $5",
            Some(id),
        ),
        None => (
            "INSERT INTO pc_credentials (username, password_sealed, updated_at, updated_by, clinic_id)
             VALUES ($1, $2, $3, $4, $5)",
            row.clinic_id,
        ),
    };
    on_engine!(db, |ex| sqlx::query(sql)
        .bind(row.username)
        .bind(row.password_sealed)
        .bind(row.now)
        .bind(row.by)
        .bind(key)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}

/// Removes the default or the clinic's override; false if there was none.
pub async fn delete(db: impl Into<Exec<'_>>, clinic_id: Option<i64>) -> super::Result<bool> {
    let done = on_engine!(db, |ex| sqlx::query(
        "DELETE FROM pc_credentials WHERE clinic_id IS NOT DISTINCT FROM $1"
    )
    .bind(clinic_id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(done.rows_affected() > 0)
}
