//! The append-only audit log (UPDATE and DELETE are refused by triggers), and its chain columns:
//! entries are inserted unsealed and sealed later (`services::audit_chain`), the one update the
//! triggers allow.

use sqlx::FromRow;

use super::{Exec, on_engine};

/// Who did something.
#[derive(Clone, Debug)]
pub enum Actor {
    User { id: i64, email: String },
    CommandLine,
    Reader { id: i64 },
    Anonymous,
}

impl Actor {
    fn id(&self) -> Option<i64> {
        match self {
            Self::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// How the audit log (and "set by" notes) name them.
    pub fn label(&self) -> String {
        match self {
            Self::User { email, .. } => email.clone(),
            Self::CommandLine => "cli".to_owned(),
            Self::Reader { id } => format!("reader:{id}"),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }
}

pub struct Entry<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub clinic_id: Option<i64>,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
}

/// A detail made of named fields, stored as a JSON object: readable in the database, and shown on
/// pages in the reader's language (`Page::audit_detail` fills them into the action's sentence).
pub fn fields(pairs: &[(&str, &str)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::from(*value)))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// Longest detail, actor and address an entry stores: what strangers type ends up here, and the
/// log cannot be pruned, so every field is bounded.
pub const MAX_DETAIL_CHARS: usize = 1_000;
const MAX_ACTOR_CHARS: usize = 300;
const MAX_IP_CHARS: usize = 64;

fn cut(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
        None => std::borrow::Cow::Borrowed(text),
    }
}

pub async fn record(db: impl Into<Exec<'_>>, entry: Entry<'_>) -> super::Result<()> {
    let actor = entry.actor.label();
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, clinic_id, detail, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(super::now())
    .bind(entry.actor.id())
    .bind(cut(&actor, MAX_ACTOR_CHARS))
    .bind(entry.action)
    .bind(entry.clinic_id)
    .bind(cut(entry.detail, MAX_DETAIL_CHARS))
    .bind(entry.ip.map(|ip| cut(ip, MAX_IP_CHARS)))
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct Row {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
    /// For entries made by a card reader: its name.
    pub reader_name: Option<String>,
}

/// The clinic's history, newest first; `before` (an id) pages back.
pub async fn for_clinic(
    db: impl Into<Exec<'_>>,
    clinic_id: i64,
    before: Option<i64>,
    limit: i64,
) -> super::Result<Vec<Row>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Row>(
        "SELECT a.id, a.at, a.actor, a.action, a.detail, a.ip, r.name AS reader_name
         FROM audit_log a
         LEFT JOIN readers r ON a.actor = 'reader:' || r.id
         WHERE a.clinic_id = $1 AND a.id < $2 ORDER BY a.id DESC LIMIT $3",
    )
    .bind(clinic_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(ex)
    .await)
}

pub async fn count_action(db: impl Into<Exec<'_>>, action: &str) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1"
    )
    .bind(action)
    .fetch_one(ex)
    .await)
}

/// A row with every field the chain covers, and its seal if it has one.
#[derive(Debug, FromRow)]
pub struct ChainRow {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub clinic_id: Option<i64>,
    pub detail: String,
    pub ip: Option<String>,
    pub chain_position: Option<i64>,
    pub chain_mac: Option<Vec<u8>>,
}

const CHAIN_COLUMNS: &str = "id, at, actor_id, actor, action, clinic_id, detail, ip, chain_position, chain_mac";

/// Whether a chain has been started here: sealed rows, or the key's check value.
pub async fn chain_started(db: impl Into<Exec<'_>>) -> super::Result<bool> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE chain_position IS NOT NULL)
             OR EXISTS (SELECT 1 FROM audit_chain)",
    )
    .fetch_one(ex)
    .await)
}

/// The key's check value, once the first seal has written it.
pub async fn key_check(db: impl Into<Exec<'_>>) -> super::Result<Option<Vec<u8>>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT key_check FROM audit_chain WHERE id = 1"
    )
    .fetch_optional(ex)
    .await)
}

pub async fn insert_key_check(db: impl Into<Exec<'_>>, check: &[u8]) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO audit_chain (id, key_check) VALUES (1, $1)"
    )
    .bind(check)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Whether a row waits for its seal. A row with a MAC but no position was tampered with: it is
/// left out (and reported by verify), so it cannot stop the sealing of the others.
pub async fn has_unsealed(db: impl Into<Exec<'_>>) -> super::Result<bool> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE chain_position IS NULL AND chain_mac IS NULL)"
    )
    .fetch_one(ex)
    .await)
}

/// The chain's newest position and MAC.
pub async fn chain_head(db: impl Into<Exec<'_>>) -> super::Result<Option<(i64, Vec<u8>)>> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT chain_position, chain_mac FROM audit_log WHERE chain_position IS NOT NULL
         ORDER BY chain_position DESC LIMIT 1",
    )
    .fetch_optional(ex)
    .await)
}

/// The sealed row at a position.
pub async fn sealed_at(db: impl Into<Exec<'_>>, position: i64) -> super::Result<Option<ChainRow>> {
    on_engine!(db, |ex| sqlx::query_as::<_, ChainRow>(&format!(
        "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE chain_position = $1"
    ))
    .bind(position)
    .fetch_optional(ex)
    .await)
}

/// Committed rows waiting for their seal, oldest first.
pub async fn unsealed(db: impl Into<Exec<'_>>, limit: i64) -> super::Result<Vec<ChainRow>> {
    on_engine!(db, |ex| sqlx::query_as::<_, ChainRow>(&format!(
        "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE chain_position IS NULL AND chain_mac IS NULL
         ORDER BY id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// The sealing update (the only update the triggers let through).
pub async fn seal_row(db: impl Into<Exec<'_>>, id: i64, position: i64, mac: &[u8]) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE audit_log SET chain_position = $1, chain_mac = $2 WHERE id = $3 AND chain_position IS NULL"
    )
    .bind(position)
    .bind(mac)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Sealed rows after `position`, in chain order.
pub async fn sealed_after(db: impl Into<Exec<'_>>, position: i64, limit: i64) -> super::Result<Vec<ChainRow>> {
    on_engine!(db, |ex| sqlx::query_as::<_, ChainRow>(&format!(
        "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE chain_position > $1 ORDER BY chain_position LIMIT $2"
    ))
    .bind(position)
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// How many rows are unsealed, with the oldest one's id and time.
pub async fn oldest_unsealed(db: impl Into<Exec<'_>>) -> super::Result<Option<(i64, i64, i64)>> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM audit_log WHERE chain_position IS NULL), id, at
         FROM audit_log WHERE chain_position IS NULL ORDER BY at, id LIMIT 1",
    )
    .fetch_optional(ex)
    .await)
}

/// A row with a MAC but no position: no sealing leaves one, so someone wrote it.
pub async fn seal_without_position(db: impl Into<Exec<'_>>) -> super::Result<Option<i64>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT id FROM audit_log WHERE chain_position IS NULL AND chain_mac IS NOT NULL LIMIT 1"
    )
    .fetch_optional(ex)
    .await)
}
