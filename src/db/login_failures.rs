//! Failed sign-ins per account and per client address, for throttling.

use super::{Exec, on_engine};

pub async fn record(db: impl Into<Exec<'_>>, key: &str, at: i64) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO login_failures (key, failed_at) VALUES ($1, $2) RETURNING id"
    )
    .bind(key)
    .bind(at)
    .fetch_one(ex)
    .await)
}

pub async fn delete(db: impl Into<Exec<'_>>, id: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}

/// Failures for `key` since `since`: (count, most recent, oldest).
pub async fn since(db: impl Into<Exec<'_>>, key: &str, since: i64) -> super::Result<(i64, Option<i64>, Option<i64>)> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT COUNT(*), MAX(failed_at), MIN(failed_at) FROM login_failures WHERE key = $1 AND failed_at >= $2",
    )
    .bind(key)
    .bind(since)
    .fetch_one(ex)
    .await)
}

/// Where failure `id` stands among `key`'s failures since `since`: 1 for the oldest. Ids grow
/// in the order failures were recorded (under the key's throttle lock), so of failures racing
/// in parallel each gets its own rank.
pub async fn rank(db: impl Into<Exec<'_>>, key: &str, since: i64, id: i64) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_failures WHERE key = $1 AND failed_at >= $2 AND id <= $3",
    )
    .bind(key)
    .bind(since)
    .bind(id)
    .fetch_one(ex)
    .await)
}

pub async fn clear(db: impl Into<Exec<'_>>, key: &str) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}

pub async fn prune(db: impl Into<Exec<'_>>, before: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
        .bind(before)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}

/// Counts one throttled attempt for `key` in the hour starting at `hour`; returns the count so far.
pub async fn count_throttled(db: impl Into<Exec<'_>>, key: &str, hour: i64) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO throttled_counts (key, hour, count) VALUES ($1, $2, 1)
         ON CONFLICT (key, hour) DO UPDATE SET count = throttled_counts.count + 1 RETURNING count",
    )
    .bind(key)
    .bind(hour)
    .fetch_one(ex)
    .await)
}

/// Forgets counts of hours before `before`.
pub async fn prune_throttled(db: impl Into<Exec<'_>>, before: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query("DELETE FROM throttled_counts WHERE hour < $1")
        .bind(before)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}
