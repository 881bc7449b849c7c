//! Sealing and verifying the audit log's chain (see `domain::audit_chain` for the MAC).
//!
//! Why a sealer instead of chaining inside `db::audit::record`: entries are written with the pool
//! and inside open transactions (18 call sites), and a transaction that rolls back must not leave
//! a hole, so a row gets its place only once it is committed. The sealer takes every committed,
//! unsealed row in one write transaction, so the invariant "positions 1..n, each MAC over the
//! previous one" relies on one lock: SQLite's database write lock, taken at `BEGIN IMMEDIATE`
//! (`db::begin_write`) before the chain's head is read, so no two seals interleave and no row is
//! placed twice. Positions are independent of row ids, so this also holds where ids are not
//! commit-ordered (PostgreSQL, issue 10): there the sealer must hold a row lock on the
//! `audit_chain` row (`SELECT … FOR UPDATE`) for the same effect; a row committed while a seal
//! runs is simply sealed by the next one.

use anyhow::{Context, bail};

use crate::db::{self, audit};
use crate::domain::audit_chain::{Break, ChainFields, ChainKey, Walk, mac_prefix};

/// Rows sealed per write transaction, so a first seal of a large old log holds the write lock
/// for a moment at a time.
const SEAL_BATCH: i64 = 2_000;
const VERIFY_BATCH: i64 = 2_000;
/// A row not sealed this long after it was written means the sealer is failing.
pub const SEAL_GRACE_S: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub rows: u64,
    pub last_position: i64,
    pub last_mac_prefix: String,
}

fn fields(row: &audit::ChainRow, position: i64) -> ChainFields<'_> {
    ChainFields {
        position,
        id: row.id,
        at: row.at,
        actor_id: row.actor_id,
        actor: &row.actor,
        action: &row.action,
        clinic_id: row.clinic_id,
        detail: &row.detail,
        ip: row.ip.as_deref(),
    }
}

/// The key does not match the chain's check value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WrongKey(Break);

/// Refuses a key other than the one that sealed this database's chain.
pub async fn check_key(pool: &db::Pool, key: &ChainKey) -> anyhow::Result<()> {
    match audit::key_check(pool).await? {
        Some(stored) if !key.matches_check(&stored) => Err(WrongKey(Break::WrongKey).into()),
        _ => Ok(()),
    }
}

/// Seals every committed row that is not sealed yet; `None` when there was nothing to seal.
/// Logs the new head (position and a MAC prefix) at info level: kept outside the database, those
/// lines are what reveals a truncated tail.
pub async fn seal(pool: &db::Pool, key: &ChainKey) -> anyhow::Result<Option<Sealed>> {
    // A cheap read first: the write lock is taken only when there is work.
    if !audit::has_unsealed(pool).await? {
        return Ok(None);
    }
    let mut sealed: Option<Sealed> = None;
    loop {
        let batch = seal_batch(pool, key).await?;
        let Some(batch) = batch else { break };
        let more = batch.rows == SEAL_BATCH as u64;
        sealed = Some(Sealed {
            rows: sealed.as_ref().map_or(0, |s| s.rows) + batch.rows,
            ..batch
        });
        if !more {
            break;
        }
    }
    if let Some(s) = &sealed {
        tracing::info!(
            rows = s.rows,
            last_position = s.last_position,
            mac_prefix = %s.last_mac_prefix,
            "audit log sealed"
        );
    }
    Ok(sealed)
}

async fn seal_batch(pool: &db::Pool, key: &ChainKey) -> anyhow::Result<Option<Sealed>> {
    // The write lock is held from here to the commit: the head read below is the true head.
    let mut tx = db::begin_write(pool).await?;
    db::lock(&mut tx, db::Lock::AuditChain).await?;
    let head = audit::chain_head(&mut tx).await?;
    match audit::key_check(&mut tx).await? {
        Some(stored) if !key.matches_check(&stored) => return Err(WrongKey(Break::WrongKey).into()),
        Some(_) => {}
        None => {
            // The first seal, or the check value was deleted: then the key must at least seal
            // the chain's head, or every row sealed from now on would fail verification.
            if let Some((position, mac)) = &head {
                if !key_seals(&mut tx, key, *position, mac).await? {
                    return Err(WrongKey(Break::WrongKey).into());
                }
            }
            audit::insert_key_check(&mut tx, &key.check_value()).await?;
        }
    }
    let rows = audit::unsealed(&mut tx, SEAL_BATCH).await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(None);
    }
    let (mut position, mut previous) = head.unwrap_or((0, Vec::new()));
    for row in &rows {
        position += 1;
        let mac = key.seal(&previous, &fields(row, position));
        audit::seal_row(&mut tx, row.id, position, &mac).await?;
        previous = mac;
    }
    tx.commit().await.context("cannot commit the audit seal")?;
    Ok(Some(Sealed {
        rows: rows.len() as u64,
        last_position: position,
        last_mac_prefix: mac_prefix(&previous),
    }))
}

/// Whether `key` produced the MAC of the row at `position`.
async fn key_seals(tx: &mut db::Tx, key: &ChainKey, position: i64, mac: &[u8]) -> anyhow::Result<bool> {
    let previous = match position {
        1 => Vec::new(),
        _ => match audit::sealed_at(&mut *tx, position - 1).await? {
            Some(row) => row.chain_mac.unwrap_or_default(),
            None => return Ok(false),
        },
    };
    Ok(match audit::sealed_at(&mut *tx, position).await? {
        Some(row) => key.verifies(&previous, &fields(&row, position), mac),
        None => false,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub rows: u64,
    /// The newest position and its MAC prefix, if anything is sealed.
    pub last: Option<(i64, String)>,
    /// Rows written so recently that they are not sealed yet (within the grace period).
    pub pending: i64,
}

/// Walks the whole chain in one read snapshot: `Ok(Err(_))` is the first broken or missing row.
pub async fn verify(pool: &db::Pool, key: &ChainKey, now: i64) -> anyhow::Result<Result<Verified, Break>> {
    let mut tx = db::begin(pool).await?;
    let check = audit::key_check(&mut tx).await?;
    match check {
        Some(stored) if !key.matches_check(&stored) => return Ok(Err(Break::WrongKey)),
        _ => {}
    }
    let mut walk = Walk::new(key);
    let mut after = 0;
    loop {
        let rows = audit::sealed_after(&mut tx, after, VERIFY_BATCH).await?;
        for row in &rows {
            let position = row.chain_position.unwrap_or_default();
            if let Err(broken) = walk.step(&fields(row, position), row.chain_mac.as_deref()) {
                return Ok(Err(broken));
            }
            after = position;
        }
        if (rows.len() as i64) < VERIFY_BATCH {
            break;
        }
    }
    if walk.verified() > 0 && check.is_none() {
        return Ok(Err(Break::KeyCheckMissing));
    }
    if let Some(id) = audit::seal_without_position(&mut tx).await? {
        return Ok(Err(Break::SealWithoutPosition { id }));
    }
    let pending = match audit::oldest_unsealed(&mut tx).await? {
        Some((_, id, at)) if at < now - SEAL_GRACE_S => return Ok(Err(Break::Unsealed { id, at })),
        Some((count, _, _)) => count,
        None => 0,
    };
    tx.commit().await?;
    Ok(Ok(Verified {
        rows: walk.verified(),
        last: walk.last().map(|(position, mac)| (position, mac_prefix(mac))),
        pending,
    }))
}

/// Seals, then verifies: what `portal audit verify` does. A key mismatch is reported as the
/// break it is; another sealing failure does not stop the walk, which then names the row.
pub async fn seal_and_verify(pool: &db::Pool, key: &ChainKey, now: i64) -> anyhow::Result<Result<Verified, Break>> {
    match seal(pool, key).await {
        Ok(_) => {}
        Err(e) if e.downcast_ref::<WrongKey>().is_some() => return Ok(Err(Break::WrongKey)),
        Err(e) if db::chain_is_unavailable(&e) => bail!("cannot seal the audit log: {e:#}"),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "sealing the audit log failed; verifying what is sealed"),
    }
    verify(pool, key, now).await
}
