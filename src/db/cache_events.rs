//! Change notifications for the in-memory caches, written in the same transaction as the change.

use sqlx::FromRow;

use super::{Exec, on_engine};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The clinic's passcode state changed (issued, disabled).
    Clinic,
    /// A reader was enrolled, revoked or re-enrolled.
    Reader,
    /// The installer's support desk changed (entity 0).
    Installer,
}

impl Kind {
    fn as_db(self) -> &'static str {
        match self {
            Self::Clinic => "clinic",
            Self::Reader => "reader",
            Self::Installer => "installer",
        }
    }
}

/// The channel every process LISTENs on (PostgreSQL); the payload is the event's kind.
pub const CHANNEL: &str = "portal_cache_events";

/// Records a change for every process's caches, in the caller's transaction.
///
/// On PostgreSQL the same statement takes one advisory lock, held to the commit: ids are then
/// handed out in commit order, as SQLite's single writer does, so a follower reading `id >
/// cursor` never passes an id that commits later (docs/invariants.md). It also queues a
/// NOTIFY, which PostgreSQL delivers at the commit and drops on rollback. One statement, so it
/// holds for a caller without a transaction too.
pub async fn append(db: impl Into<Exec<'_>>, kind: Kind, entity_id: i64) -> super::Result<()> {
    let db = db.into();
    let now = super::now();
    match db.engine() {
        super::Engine::Sqlite => on_engine!(db, |ex| sqlx::query(
            "INSERT INTO cache_events (kind, entity_id, at) VALUES ($1, $2, $3)"
        )
        .bind(kind.as_db())
        .bind(entity_id)
        .bind(now)
        .execute(ex)
        .await
        .map(super::Done::from))?,
        super::Engine::Postgres => on_engine!(db, |ex| sqlx::query(
            "INSERT INTO cache_events (kind, entity_id, at)
             SELECT $1, $2, $3 FROM (SELECT pg_advisory_xact_lock(6, 0), pg_notify($4, $5)) AS serialised"
        )
        .bind(kind.as_db())
        .bind(entity_id)
        .bind(now)
        .bind(CHANNEL)
        .bind(notification(kind, unix_ms()))
        .execute(ex)
        .await
        .map(super::Done::from))?,
    };
    Ok(())
}

/// Milliseconds since the Unix epoch (the send time a notification carries).
pub fn unix_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A notification's payload: the kind and when it was sent, `clinic 1764672000123`.
fn notification(kind: Kind, sent_ms: i64) -> String {
    format!("{} {sent_ms}", kind.as_db())
}

/// When a notification was sent (milliseconds since the epoch), from its payload.
pub fn sent_ms(payload: &str) -> Option<i64> {
    payload.split_once(' ')?.1.parse().ok()
}

#[derive(Debug, FromRow)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub entity_id: i64,
}

impl Event {
    pub fn kind(&self) -> Option<Kind> {
        match self.kind.as_str() {
            "clinic" => Some(Kind::Clinic),
            "reader" => Some(Kind::Reader),
            "installer" => Some(Kind::Installer),
            _ => None,
        }
    }
}

pub async fn after(db: impl Into<Exec<'_>>, last_id: i64) -> super::Result<Vec<Event>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Event>(
        "SELECT id, kind, entity_id FROM cache_events WHERE id > $1 ORDER BY id LIMIT 1000"
    )
    .bind(last_id)
    .fetch_all(ex)
    .await)
}

pub async fn last_id(db: impl Into<Exec<'_>>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT COALESCE(MAX(id), 0) FROM cache_events"
    )
    .fetch_one(ex)
    .await)
}

/// Events older than an hour have been seen by every running process.
pub async fn prune(db: impl Into<Exec<'_>>) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query("DELETE FROM cache_events WHERE at < $1")
        .bind(super::now() - 3600)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_carries_its_send_time() {
        assert_eq!(
            sent_ms(&notification(Kind::Clinic, 1_764_672_000_123)),
            Some(1_764_672_000_123)
        );
        assert_eq!(sent_ms("clinic"), None);
        assert_eq!(sent_ms("clinic soon"), None);
    }
}
