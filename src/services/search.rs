//! The ticket search index: each ticket's text is folded in Rust (`domain::search::fold`) and
//! written in the same transaction as the change that altered it.

use crate::db;
use crate::domain::search::fold;

/// Tickets indexed per transaction while catching up, so start-up never holds the write lock long.
const BATCH: i64 = 500;

/// Rewrites the ticket's search text; call it inside the transaction that changed the ticket.
pub async fn reindex(tx: &mut db::Tx, ticket_id: i64) -> db::Result<()> {
    match db::tickets::search_source(&mut *tx, ticket_id).await? {
        Some(source) => db::tickets::set_search_text(tx, ticket_id, &fold(&source)).await,
        None => db::tickets::drop_stale_search(tx, ticket_id).await,
    }
}

/// Indexes every ticket listed as stale (all of them after migration 0006 on an existing
/// database); returns how many. Run at start-up, before the portal serves.
pub async fn index_stale(pool: &db::Pool) -> db::Result<u64> {
    let mut done = 0;
    loop {
        // Read first: a database opened read-only with nothing to catch up must still start.
        let ids = db::tickets::stale_search_ids(pool, BATCH).await?;
        if ids.is_empty() {
            return Ok(done);
        }
        let mut tx = db::begin_write(pool).await?;
        for id in &ids {
            reindex(&mut tx, *id).await?;
        }
        tx.commit().await?;
        done += ids.len() as u64;
    }
}
