use sqlx::{FromRow, SqliteExecutor};

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

pub async fn insert(db: impl SqliteExecutor<'_>, clinic: &NewClinic<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO clinics (code, name, phone, address, contact_name, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(clinic.code)
    .bind(clinic.name)
    .bind(clinic.phone)
    .bind(clinic.address)
    .bind(clinic.contact_name)
    .bind(super::now())
    .fetch_one(db)
    .await
}

pub async fn by_code(db: impl SqliteExecutor<'_>, code: &str) -> sqlx::Result<Option<Clinic>> {
    sqlx::query_as::<_, Clinic>(&format!("SELECT {COLUMNS} FROM clinics WHERE code = ?"))
        .bind(code)
        .fetch_optional(db)
        .await
}

pub async fn by_id(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<Clinic>> {
    sqlx::query_as::<_, Clinic>(&format!("SELECT {COLUMNS} FROM clinics WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn all(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<Clinic>> {
    sqlx::query_as::<_, Clinic>(&format!("SELECT {COLUMNS} FROM clinics ORDER BY code"))
        .fetch_all(db)
        .await
}

/// Bumps the generation counter and returns the new value.
pub async fn next_generation(db: impl SqliteExecutor<'_>, clinic_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "UPDATE clinics SET passcode_generation = passcode_generation + 1 WHERE id = ?
         RETURNING passcode_generation",
    )
    .bind(clinic_id)
    .fetch_one(db)
    .await
}

/// Clinics matching a code, a partial name or a phone number (hyphens ignored).
pub async fn search(db: impl SqliteExecutor<'_>, q: &str, limit: i64) -> sqlx::Result<Vec<Clinic>> {
    let q = q.trim();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    sqlx::query_as::<_, Clinic>(&format!(
        "SELECT {COLUMNS} FROM clinics
         WHERE code = ?1 OR name LIKE ?2 ESCAPE '\\' OR (?3 <> '' AND REPLACE(REPLACE(phone, '-', ''), ' ', '') LIKE ?4)
         ORDER BY code = ?1 DESC, name LIMIT ?5"
    ))
    .bind(&digits)
    .bind(format!("%{escaped}%"))
    .bind(&digits)
    .bind(format!("%{digits}%"))
    .bind(limit)
    .fetch_all(db)
    .await
}
