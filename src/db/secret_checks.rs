//! Check values of shared secrets (migration 0020): whichever process starts first writes its
//! secret's check value; every later one compares against it.

use super::{Pool, execute, on_engine};

/// The stored check value of `name`, after writing `value` when there was none (two processes
/// starting at once: one of them writes, both read the same row back).
pub async fn stored_or_insert(db: &Pool, name: &str, value: &[u8]) -> super::Result<Vec<u8>> {
    execute!(
        db,
        "INSERT INTO secret_checks (name, check_value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        value
    )?;
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT check_value FROM secret_checks WHERE name = $1"
    )
    .bind(name)
    .fetch_one(ex)
    .await)
}
