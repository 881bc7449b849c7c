use sqlx::FromRow;

use super::{Exec, on_engine};

#[derive(Clone, Debug, FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub clinic_id: Option<i64>,
    pub disabled_at: Option<i64>,
    pub must_change_password: bool,
    pub session_generation: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct Listed {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub clinic_code: Option<String>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

const COLUMNS: &str =
    "id, email, password_hash, role, clinic_id, disabled_at, must_change_password, session_generation";

pub async fn insert(
    db: impl Into<Exec<'_>>,
    email: &str,
    password_hash: &str,
    role: &str,
    clinic_id: Option<i64>,
) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, role, clinic_id, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .bind(clinic_id)
    .bind(super::now())
    .fetch_one(ex)
    .await)
}

pub async fn by_email(db: impl Into<Exec<'_>>, email: &str) -> super::Result<Option<User>> {
    on_engine!(db, |ex| sqlx::query_as::<_, User>(&format!(
        "SELECT {COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(ex)
    .await)
}

pub async fn by_id(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<User>> {
    on_engine!(db, |ex| sqlx::query_as::<_, User>(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

pub async fn count(db: impl Into<Exec<'_>>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(ex)
        .await)
}

pub async fn all(db: impl Into<Exec<'_>>) -> super::Result<Vec<Listed>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(
        "SELECT u.id, u.email, u.role, c.code AS clinic_code, u.created_at, u.disabled_at
         FROM users u LEFT JOIN clinics c ON c.id = u.clinic_id ORDER BY u.email",
    )
    .fetch_all(ex)
    .await)
}

/// Disables (with a time) or re-enables an account; returns false when no such user exists.
pub async fn set_disabled(db: impl Into<Exec<'_>>, id: i64, disabled_at: Option<i64>) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
        .bind(disabled_at)
        .bind(id)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}

/// Sets a new password and ends every session signed in under the old one (their generation no
/// longer matches); `temporary` makes the user choose their own at the next sign-in. Returns the
/// new session generation, `None` when no such user exists.
pub async fn set_password_hash(
    db: impl Into<Exec<'_>>,
    id: i64,
    password_hash: &str,
    temporary: bool,
) -> super::Result<Option<i64>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, must_change_password = $2, session_generation = session_generation + 1
         WHERE id = $3 RETURNING session_generation",
    )
    .bind(password_hash)
    .bind(temporary)
    .bind(id)
    .fetch_optional(ex)
    .await)
}

/// Marks a new account's password as temporary (set by an operator on the web).
pub async fn set_must_change_password(db: impl Into<Exec<'_>>, id: i64) -> super::Result<()> {
    // A bound bool: an INTEGER 1 on SQLite, a BOOLEAN on PostgreSQL.
    on_engine!(db, |ex| sqlx::query(
        "UPDATE users SET must_change_password = $1 WHERE id = $2"
    )
    .bind(true)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Active agents and operators: who tickets can be assigned to.
pub async fn desk_members(db: impl Into<Exec<'_>>) -> super::Result<Vec<(i64, String)>> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT id, email FROM users WHERE role IN ('agent', 'operator') AND disabled_at IS NULL ORDER BY email",
    )
    .fetch_all(ex)
    .await)
}

/// Locks the user's row until the transaction ends (PostgreSQL; on SQLite the write
/// transaction holds every row): whoever reads the account's state to act on it then sees the
/// state the commit will keep (docs/invariants.md, API tokens of a disabled account).
pub async fn lock_row(tx: &mut super::Tx, id: i64) -> super::Result<()> {
    if tx.engine() == super::Engine::Postgres {
        on_engine!(&mut *tx, |ex| sqlx::query(
            "SELECT id FROM users WHERE id = $1 FOR UPDATE"
        )
        .bind(id)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    }
    Ok(())
}

/// E-mail addresses of the clinic's active clinic admins: who hears about its passcode.
pub async fn clinic_admin_emails(db: impl Into<Exec<'_>>, clinic_id: i64) -> super::Result<Vec<String>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT email FROM users WHERE role = 'clinic_admin' AND clinic_id = $1 AND disabled_at IS NULL ORDER BY email",
    )
    .bind(clinic_id)
    .fetch_all(ex)
    .await)
}
