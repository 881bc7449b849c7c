//! Where each user is signed in (one row per signed-in browser session), so they can see their
//! sessions and end any of them. Found by a random handle stored in the session's own data.

use sqlx::FromRow;

use super::{Exec, execute, on_engine};

/// A new signed-in session; the handle is random (crate::auth::session::random_hex).
pub async fn insert(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    handle: &str,
    user_agent: &str,
    address: Option<&str>,
    now: i64,
) -> super::Result<()> {
    execute!(
        db,
        "INSERT INTO user_sessions (user_id, handle, user_agent, address, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
        user_id,
        handle,
        user_agent,
        address,
        now
    )?;
    Ok(())
}

/// The session's row while it is live: its id and when it was last marked used.
#[derive(Clone, Debug, FromRow)]
pub struct Live {
    pub id: i64,
    pub last_used_at: i64,
}

pub async fn live(db: impl Into<Exec<'_>>, user_id: i64, handle: &str) -> super::Result<Option<Live>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Live>(
        "SELECT id, last_used_at FROM user_sessions WHERE handle = $1 AND user_id = $2 AND ended_at IS NULL",
    )
    .bind(handle)
    .bind(user_id)
    .fetch_optional(ex)
    .await)
}

/// Moves "last used" on (at most every few minutes: see crate::auth::session), and the address
/// with it when it changed.
pub async fn touch(db: impl Into<Exec<'_>>, id: i64, address: Option<&str>, now: i64) -> super::Result<()> {
    execute!(
        db,
        "UPDATE user_sessions SET last_used_at = $1, address = COALESCE($2, address) WHERE id = $3",
        now,
        address,
        id
    )?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct Listed {
    pub id: i64,
    pub handle: String,
    pub user_agent: String,
    pub address: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// The user's live sessions, used since `used_since` and signed in since `signed_in_since`
/// (others have timed out), most recently used first.
pub async fn for_user(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    used_since: i64,
    signed_in_since: i64,
) -> super::Result<Vec<Listed>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(
        "SELECT id, handle, user_agent, address, created_at, last_used_at FROM user_sessions
         WHERE user_id = $1 AND ended_at IS NULL AND last_used_at >= $2 AND created_at >= $3
         ORDER BY last_used_at DESC, id DESC LIMIT 200",
    )
    .bind(user_id)
    .bind(used_since)
    .bind(signed_in_since)
    .fetch_all(ex)
    .await)
}

/// Ends one of the user's sessions; false when it is not theirs or already ended.
pub async fn end(db: impl Into<Exec<'_>>, id: i64, user_id: i64, now: i64) -> super::Result<bool> {
    let done = execute!(
        db,
        "UPDATE user_sessions SET ended_at = $1 WHERE id = $2 AND user_id = $3 AND ended_at IS NULL",
        now,
        id,
        user_id
    )?;
    Ok(done.rows_affected() == 1)
}

/// Ends the session with this handle (signing out).
pub async fn end_handle(db: impl Into<Exec<'_>>, handle: &str, now: i64) -> super::Result<()> {
    execute!(
        db,
        "UPDATE user_sessions SET ended_at = $1 WHERE handle = $2 AND ended_at IS NULL",
        now,
        handle
    )?;
    Ok(())
}

/// Ends every session of the user but `keep` (a password change or reset, a disabled account).
pub async fn end_others(db: impl Into<Exec<'_>>, user_id: i64, keep: Option<&str>, now: i64) -> super::Result<u64> {
    let done = execute!(
        db,
        "UPDATE user_sessions SET ended_at = $1
         WHERE user_id = $2 AND ended_at IS NULL AND handle IS DISTINCT FROM $3",
        now,
        user_id,
        keep
    )?;
    Ok(done.rows_affected())
}

/// Forgets rows of sessions that ended or timed out more than a day ago (housekeeping).
pub async fn prune(db: impl Into<Exec<'_>>, before: i64) -> super::Result<u64> {
    let done = execute!(
        db,
        "DELETE FROM user_sessions WHERE COALESCE(ended_at, last_used_at) < $1",
        before
    )?;
    Ok(done.rows_affected())
}
