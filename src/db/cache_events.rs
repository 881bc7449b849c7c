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

pub async fn append(db: impl Into<Exec<'_>>, kind: Kind, entity_id: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO cache_events (kind, entity_id, at) VALUES ($1, $2, $3)"
    )
    .bind(kind.as_db())
    .bind(entity_id)
    .bind(super::now())
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
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
