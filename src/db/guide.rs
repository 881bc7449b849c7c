//! Anonymous guide statistics: which steps walks reached, where they stopped, where help was asked.

use sqlx::SqliteExecutor;

/// Records that a walk reached `step` (once per walk and step) and is now there.
pub async fn record_step(
    tx: &mut sqlx::SqliteConnection,
    journey: &str,
    guide: &str,
    version: &str,
    step: &str,
) -> sqlx::Result<()> {
    let now = super::now();
    sqlx::query(
        "INSERT INTO guide_journeys (id, guide_id, version, started_at, last_step, last_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_step = excluded.last_step, last_at = excluded.last_at",
    )
    .bind(journey)
    .bind(guide)
    .bind(version)
    .bind(now)
    .bind(step)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT OR IGNORE INTO guide_journey_steps (journey_id, step) VALUES (?, ?)")
        .bind(journey)
        .bind(step)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub async fn set_outcome(db: impl SqliteExecutor<'_>, journey: &str, outcome: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE guide_journeys SET outcome = ? WHERE id = ?")
        .bind(outcome)
        .bind(journey)
        .execute(db)
        .await?;
    Ok(())
}

/// Per step: walks that reached it, walks that stopped there without an outcome (idle for
/// 30 minutes), and help requests filed from it.
pub async fn step_stats(db: &sqlx::SqlitePool, guide: &str) -> sqlx::Result<Vec<(String, i64, i64, i64)>> {
    sqlx::query_as(
        "SELECT s.step,
                COUNT(*) AS reached,
                (SELECT COUNT(*) FROM guide_journeys j WHERE j.guide_id = ?1 AND j.last_step = s.step
                     AND j.outcome IS NULL AND j.last_at < ?2) AS left_there,
                (SELECT COUNT(*) FROM tickets t WHERE t.guide_id = ?1 AND t.guide_step = s.step) AS help
         FROM guide_journey_steps s JOIN guide_journeys j ON j.id = s.journey_id
         WHERE j.guide_id = ?1
         GROUP BY s.step",
    )
    .bind(guide)
    .bind(super::now() - 1800)
    .fetch_all(db)
    .await
}
