//! The guide's anonymous walk statistics.

use crate::db;

/// Records that a walk reached `step` after `path`, in one transaction.
pub async fn record_step(
    pool: &db::Pool,
    journey: &str,
    guide: &str,
    version: &str,
    path: &[String],
    step: &str,
) -> db::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    // Shared: views record steps side by side; only a fold of idle walks waits for them.
    db::lock_shared(&mut tx, db::Lock::GuideWalks).await?;
    db::guide::record_step(&mut tx, journey, guide, version, path, step).await?;
    tx.commit().await
}
