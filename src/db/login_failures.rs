//! Failed sign-ins per account and per client address, for throttling.

use super::Exec;

pub async fn record(db: impl Into<Exec<'_>>, key: &str, at: i64) -> super::Result<i64> {
    sqlx::query_scalar("INSERT INTO login_failures (key, failed_at) VALUES (?, ?) RETURNING id")
        .bind(key)
        .bind(at)
        .fetch_one(db.into())
        .await
}

pub async fn delete(db: impl Into<Exec<'_>>, id: i64) -> super::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = ?")
        .bind(id)
        .execute(db.into())
        .await?;
    Ok(())
}

/// Failures for `key` since `since`: (count, most recent, oldest).
pub async fn since(db: impl Into<Exec<'_>>, key: &str, since: i64) -> super::Result<(i64, Option<i64>, Option<i64>)> {
    sqlx::query_as(
        "SELECT COUNT(*), MAX(failed_at), MIN(failed_at) FROM login_failures WHERE key = ? AND failed_at >= ?",
    )
    .bind(key)
    .bind(since)
    .fetch_one(db.into())
    .await
}

pub async fn clear(db: impl Into<Exec<'_>>, key: &str) -> super::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = ?")
        .bind(key)
        .execute(db.into())
        .await?;
    Ok(())
}

pub async fn prune(db: impl Into<Exec<'_>>, before: i64) -> super::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE failed_at < ?")
        .bind(before)
        .execute(db.into())
        .await?;
    Ok(())
}

/// Counts one throttled attempt for `key` in the hour starting at `hour`; returns the count so far.
pub async fn count_throttled(db: impl Into<Exec<'_>>, key: &str, hour: i64) -> super::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO throttled_counts (key, hour, count) VALUES (?, ?, 1)
         ON CONFLICT (key, hour) DO UPDATE SET count = count + 1 RETURNING count",
    )
    .bind(key)
    .bind(hour)
    .fetch_one(db.into())
    .await
}

/// Forgets counts of hours before `before`.
pub async fn prune_throttled(db: impl Into<Exec<'_>>, before: i64) -> super::Result<()> {
    sqlx::query("DELETE FROM throttled_counts WHERE hour < ?")
        .bind(before)
        .execute(db.into())
        .await?;
    Ok(())
}
