//! The append-only audit log (UPDATE and DELETE are refused by triggers).

use sqlx::{FromRow, SqliteExecutor};

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

pub async fn record(db: impl SqliteExecutor<'_>, entry: Entry<'_>) -> sqlx::Result<()> {
    let actor = entry.actor.label();
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, clinic_id, detail, ip)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(super::now())
    .bind(entry.actor.id())
    .bind(cut(&actor, MAX_ACTOR_CHARS))
    .bind(entry.action)
    .bind(entry.clinic_id)
    .bind(cut(entry.detail, MAX_DETAIL_CHARS))
    .bind(entry.ip.map(|ip| cut(ip, MAX_IP_CHARS)))
    .execute(db)
    .await?;
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
    db: impl SqliteExecutor<'_>,
    clinic_id: i64,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as::<_, Row>(
        "SELECT a.id, a.at, a.actor, a.action, a.detail, a.ip, r.name AS reader_name
         FROM audit_log a
         LEFT JOIN readers r ON a.actor LIKE 'reader:%' AND r.id = CAST(substr(a.actor, 8) AS INTEGER)
         WHERE a.clinic_id = ? AND a.id < ? ORDER BY a.id DESC LIMIT ?",
    )
    .bind(clinic_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn count_action(db: impl SqliteExecutor<'_>, action: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = ?")
        .bind(action)
        .fetch_one(db)
        .await
}
