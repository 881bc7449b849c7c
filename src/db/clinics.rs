use sqlx::FromRow;

use super::{Exec, on_engine};

#[derive(Clone, Debug, FromRow)]
pub struct Clinic {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub contact_name: String,
    pub passcode_generation: i64,
}

pub struct NewClinic<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    pub contact_name: &'a str,
}

const COLUMNS: &str = "id, code, name, phone, address, contact_name, passcode_generation";

pub async fn insert(db: impl Into<Exec<'_>>, clinic: &NewClinic<'_>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO clinics (code, name, phone, address, contact_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(clinic.code)
    .bind(clinic.name)
    .bind(clinic.phone)
    .bind(clinic.address)
    .bind(clinic.contact_name)
    .bind(super::now())
    .fetch_one(ex)
    .await)
}

pub async fn by_code(db: impl Into<Exec<'_>>, code: &str) -> super::Result<Option<Clinic>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Clinic>(&format!(
        "SELECT {COLUMNS} FROM clinics WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(ex)
    .await)
}

pub async fn by_id(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<Clinic>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Clinic>(&format!(
        "SELECT {COLUMNS} FROM clinics WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

pub async fn all(db: impl Into<Exec<'_>>) -> super::Result<Vec<Clinic>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Clinic>(&format!(
        "SELECT {COLUMNS} FROM clinics ORDER BY code"
    ))
    .fetch_all(ex)
    .await)
}

/// Bumps the generation counter and returns the new value.
pub async fn next_generation(db: impl Into<Exec<'_>>, clinic_id: i64) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "UPDATE clinics SET passcode_generation = passcode_generation + 1 WHERE id = $1
         RETURNING passcode_generation",
    )
    .bind(clinic_id)
    .fetch_one(ex)
    .await)
}

/// Clinics matching a code, a partial name or a phone number (hyphens ignored).
pub async fn search(db: impl Into<Exec<'_>>, q: &str, limit: i64) -> super::Result<Vec<Clinic>> {
    let q = q.trim();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let db = db.into();
    // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does the same there.
    let like = match db.engine() {
        super::Engine::Sqlite => "LIKE",
        super::Engine::Postgres => "ILIKE",
    };
    on_engine!(db, |ex| {
        sqlx::query_as::<_, Clinic>(&format!(
        "SELECT {COLUMNS} FROM clinics
         WHERE code = $1 OR name {like} $2 ESCAPE '\\' OR ($3 <> '' AND REPLACE(REPLACE(phone, '-', ''), ' ', '') LIKE $4)
         ORDER BY code = $1 DESC, name LIMIT $5"
    ))
    .bind(&digits)
    .bind(format!("%{escaped}%"))
    .bind(&digits)
    .bind(format!("%{digits}%"))
    .bind(limit)
    .fetch_all(ex)
    .await
    })
}
