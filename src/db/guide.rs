//! Anonymous guide statistics: which steps walks reached, where they stopped, where help was asked.

use super::{Exec, on_engine};

/// Records that a walk reached `step` after `path` (each once per walk) and is now there.
pub async fn record_step(
    tx: &mut super::Tx,
    journey: &str,
    guide: &str,
    version: &str,
    path: &[String],
    step: &str,
) -> super::Result<()> {
    let now = super::now();
    on_engine!(&mut *tx, |ex| {
        sqlx::query(
        "INSERT INTO guide_journeys (id, guide_id, version, started_at, last_step, last_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET last_step = excluded.last_step, last_at = excluded.last_at",
    )
    .bind(journey)
    .bind(guide)
    .bind(version)
    .bind(now)
    .bind(step)
    .bind(now)
    .execute(ex)
    .await.map(super::Done::from)
    })?;
    for reached in path.iter().map(String::as_str).chain([step]) {
        on_engine!(&mut *tx, |ex| sqlx::query(
            "INSERT INTO guide_journey_steps (journey_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(journey)
        .bind(reached)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    }
    Ok(())
}

/// A walk counts as left at its last step once idle this long.
pub const IDLE_WALK_S: i64 = 1800;

/// Folds walks idle for [`IDLE_WALK_S`], and the oldest beyond `max_open` walks, into the
/// per-step totals and deletes them, in one transaction. Returns how many were folded.
pub async fn fold_walks(pool: &super::Pool, now: i64, max_open: i64) -> super::Result<u64> {
    let mut tx = super::begin_write(pool).await?;
    super::lock(&mut tx, super::Lock::GuideWalks).await?;
    // Beyond the cap, the newest `max_open` walks stay open; the rest fold now.
    let crowded: Option<i64> = on_engine!(&mut tx, |ex| sqlx::query_scalar(
        "SELECT last_at FROM guide_journeys ORDER BY last_at DESC LIMIT 1 OFFSET $1"
    )
    .bind(max_open)
    .fetch_optional(ex)
    .await)?;
    let cutoff = crowded.map_or(now - IDLE_WALK_S, |at| (at + 1).max(now - IDLE_WALK_S));
    on_engine!(&mut tx, |ex| sqlx::query(
        "INSERT INTO guide_step_totals (guide_id, step, reached, left_there)
         SELECT j.guide_id, s.step, COUNT(*), COUNT(*) FILTER (WHERE j.last_step = s.step AND j.outcome IS NULL)
         FROM guide_journey_steps s JOIN guide_journeys j ON j.id = s.journey_id
         WHERE j.last_at < $1
         GROUP BY j.guide_id, s.step
         ON CONFLICT (guide_id, step) DO UPDATE
             SET reached = guide_step_totals.reached + excluded.reached,
                 left_there = guide_step_totals.left_there + excluded.left_there",
    )
    .bind(cutoff)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    on_engine!(&mut tx, |ex| sqlx::query(
        "DELETE FROM guide_journey_steps
         WHERE journey_id IN (SELECT id FROM guide_journeys WHERE last_at < $1)",
    )
    .bind(cutoff)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    let folded = on_engine!(&mut tx, |ex| sqlx::query(
        "DELETE FROM guide_journeys WHERE last_at < $1"
    )
    .bind(cutoff)
    .execute(ex)
    .await
    .map(super::Done::from))?
    .rows_affected();
    tx.commit().await?;
    Ok(folded)
}

pub async fn set_outcome(db: impl Into<Exec<'_>>, journey: &str, outcome: &str) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE guide_journeys SET outcome = $1 WHERE id = $2"
    )
    .bind(outcome)
    .bind(journey)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Per step: walks that reached it, walks that stopped there without an outcome (idle for
/// 30 minutes), and help requests filed from it: the folded totals plus the open walks.
pub async fn step_stats(db: &super::Pool, guide: &str) -> super::Result<Vec<(String, i64, i64, i64)>> {
    on_engine!(db, |ex| sqlx::query_as(
        "WITH open_walks AS (
             SELECT s.step,
                    COUNT(*) AS reached,
                    COUNT(*) FILTER (WHERE j.last_step = s.step AND j.outcome IS NULL AND j.last_at < $2) AS left_there
             FROM guide_journey_steps s JOIN guide_journeys j ON j.id = s.journey_id
             WHERE j.guide_id = $1
             GROUP BY s.step
         ),
         all_walks AS (
             SELECT step, reached, left_there FROM open_walks
             UNION ALL
             SELECT step, reached, left_there FROM guide_step_totals WHERE guide_id = $1
         )
         SELECT a.step,
                CAST(SUM(a.reached) AS BIGINT) AS reached,
                CAST(SUM(a.left_there) AS BIGINT) AS left_there,
                (SELECT COUNT(*) FROM tickets t WHERE t.guide_id = $1 AND t.guide_step = a.step) AS help
         FROM all_walks a
         GROUP BY a.step",
    )
    .bind(guide)
    .bind(super::now() - IDLE_WALK_S)
    .fetch_all(ex)
    .await)
}
