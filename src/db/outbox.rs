//! The mail outbox (migration 0018): messages written in the transaction of the event that
//! causes them, claimed by one sender at a time under a lease, then marked sent or retried.

use sqlx::FromRow;

use super::{Engine, Exec, on_engine};

/// A message to write into the outbox.
pub struct NewMessage<'a> {
    pub recipient: &'a str,
    pub language: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
}

/// A claimed message, ready to send.
#[derive(Clone, Debug, FromRow)]
pub struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i64,
    /// Permanent refusals (SMTP 5xx) since the message was (re)queued.
    pub rejections: i64,
    pub created_at: i64,
    /// When an operator last put it back in the queue.
    pub requeued_at: Option<i64>,
}

/// The database's clock in Unix seconds, as SQL. Leases are taken and compared on this one
/// clock, so two processes whose own clocks disagree still agree on when a claim runs out.
fn database_now(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp())) AS BIGINT)",
        Engine::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
    }
}

/// A row of the operators' outbox page (no bodies).
#[derive(Clone, Debug, FromRow)]
pub struct Listed {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// Writes a message inside the caller's transaction: it commits or rolls back with the event.
pub async fn enqueue(tx: &mut super::Tx, message: &NewMessage<'_>) -> super::Result<i64> {
    let now = super::now();
    on_engine!(&mut *tx, |ex| {
        sqlx::query_scalar(
        "INSERT INTO mail_outbox (recipient, language, kind, subject, body_text, body_html, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(message.recipient)
    .bind(message.language)
    .bind(message.kind)
    .bind(message.subject)
    .bind(message.body_text)
    .bind(message.body_html)
    .bind(now)
    .fetch_one(ex)
    .await
    })
}

/// Claims up to `limit` due messages for `owner` for `lease_s` seconds of the database's clock:
/// queued, due at `now`, and not claimed by anyone whose lease still runs. One short write
/// transaction; on PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so two senders
/// claiming at once get different rows (on SQLite the write transaction already puts them in
/// single file).
pub async fn claim_due(
    pool: &super::Pool,
    owner: &str,
    now: i64,
    lease_s: i64,
    limit: i64,
) -> super::Result<Vec<Claimed>> {
    let mut tx = super::begin_write(pool).await?;
    let lock = match tx.engine() {
        Engine::Postgres => "FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let db_now = database_now(tx.engine());
    let sql = format!(
        "UPDATE mail_outbox SET claimed_by = $1, claimed_at = {db_now}
         WHERE id IN (SELECT id FROM mail_outbox
                      WHERE status = 'queued' AND next_attempt_at <= $2
                        AND (claimed_at IS NULL OR claimed_at <= {db_now} - $3)
                      ORDER BY id LIMIT $4 {lock})
         RETURNING id, recipient, kind, subject, body_text, body_html, attempts, rejections, created_at, requeued_at"
    );
    let claimed = on_engine!(&mut tx, |ex| sqlx::query_as::<_, Claimed>(&sql)
        .bind(owner)
        .bind(now)
        .bind(lease_s)
        .bind(limit)
        .fetch_all(ex)
        .await)?;
    tx.commit().await?;
    Ok(claimed)
}

/// Renews `owner`'s claim on a message just before it is sent: its lease starts again now (the
/// database's clock). `false` when the claim was lost (the lease ran out and another sender took
/// the message, or it is no longer queued): the message must then not be sent by `owner`.
pub async fn renew(pool: &super::Pool, id: i64, owner: &str) -> super::Result<bool> {
    let sql = format!(
        "UPDATE mail_outbox SET claimed_at = {}
         WHERE id = $1 AND claimed_by = $2 AND status = 'queued'",
        database_now(pool.engine())
    );
    let done = super::execute!(pool, &sql, id, owner)?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claimed message back untouched (a round stopped before sending it), so the next
/// round, of any process, may take it at once instead of after the lease.
pub async fn release(pool: &super::Pool, id: i64, owner: &str) -> super::Result<bool> {
    let done = super::execute!(
        pool,
        "UPDATE mail_outbox SET claimed_by = NULL, claimed_at = NULL WHERE id = $1 AND claimed_by = $2",
        id,
        owner
    )?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a claimed message that is out of date and will never be sent (a due-soon notice whose
/// due time has passed, say). Returns whether `owner` still held it.
pub async fn drop_claimed(pool: &super::Pool, id: i64, owner: &str) -> super::Result<bool> {
    let done = super::execute!(
        pool,
        "DELETE FROM mail_outbox WHERE id = $1 AND claimed_by = $2 AND status = 'queued'",
        id,
        owner
    )?;
    Ok(done.rows_affected() == 1)
}

/// Kinds whose body holds a single-use link (an invitation, a password reset): once sent, the
/// stored bodies are replaced by [`SCRUBBED`], so the outbox keeps no usable link.
pub const SCRUBBED_AFTER_SENDING: [&str; 2] = ["invitation", "password_reset"];
/// What such a message's stored body says once it was sent.
pub const SCRUBBED: &str = "(本文は送信後に削除されました: 一度だけ使えるリンクを含んでいたため / removed after sending: it held a single-use link)";

/// Marks a message sent, if `owner` still holds its claim. Returns whether it did.
pub async fn mark_sent(db: impl Into<Exec<'_>>, id: i64, owner: &str, now: i64) -> super::Result<bool> {
    let done = on_engine!(db, |ex| sqlx::query(
        "UPDATE mail_outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL,
                claimed_by = NULL, claimed_at = NULL,
                body_text = CASE WHEN kind IN ($4, $5) THEN $6 ELSE body_text END,
                body_html = CASE WHEN kind IN ($4, $5) THEN $6 ELSE body_html END
         WHERE id = $2 AND claimed_by = $3",
    )
    .bind(now)
    .bind(id)
    .bind(owner)
    .bind(SCRUBBED_AFTER_SENDING[0])
    .bind(SCRUBBED_AFTER_SENDING[1])
    .bind(SCRUBBED)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt, if `owner` still holds the claim (returns whether it did): retried
/// at `next_attempt_at`, or given up (`failing`) until an operator puts it back. `rejected`: the
/// server refused it for good (5xx), which counts towards giving up.
pub async fn mark_failed(
    db: impl Into<Exec<'_>>,
    id: i64,
    owner: &str,
    error: &str,
    next_attempt_at: i64,
    give_up: bool,
    rejected: bool,
) -> super::Result<bool> {
    let status = if give_up { "failing" } else { "queued" };
    let done = super::execute!(
        db,
        "UPDATE mail_outbox SET status = $1, attempts = attempts + 1, rejections = rejections + $2,
                last_error = $3, next_attempt_at = $4, claimed_by = NULL, claimed_at = NULL
         WHERE id = $5 AND claimed_by = $6",
        status,
        i64::from(rejected),
        error,
        next_attempt_at,
        id,
        owner
    )?;
    Ok(done.rows_affected() == 1)
}

/// What an operator's retry put back in the queue.
#[derive(Clone, Debug, FromRow)]
pub struct Requeued {
    pub recipient: String,
    pub kind: String,
}

/// Puts a failing message back in the queue, due now, with its refusals forgotten and its retry
/// horizon starting again (`requeued_at`). `None` when it is not failing (sent, queued, gone).
pub async fn requeue(tx: &mut super::Tx, id: i64, now: i64) -> super::Result<Option<Requeued>> {
    on_engine!(&mut *tx, |ex| sqlx::query_as::<_, Requeued>(
        "UPDATE mail_outbox SET status = 'queued', next_attempt_at = $1, requeued_at = $1, rejections = 0,
                claimed_by = NULL, claimed_at = NULL
         WHERE id = $2 AND status = 'failing'
         RETURNING recipient, kind",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(ex)
    .await)
}

/// Deletes sent messages older than `before` (their bodies hold addresses, names and IPs).
pub async fn prune_sent(db: impl Into<Exec<'_>>, before: i64) -> super::Result<u64> {
    let done = super::execute!(
        db,
        "DELETE FROM mail_outbox WHERE status = 'sent' AND sent_at < $1",
        before
    )?;
    Ok(done.rows_affected())
}

/// How many messages are in each status.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub queued: i64,
    pub sent: i64,
    pub failing: i64,
}

pub async fn counts(db: impl Into<Exec<'_>>) -> super::Result<Counts> {
    let rows: Vec<(String, i64)> = on_engine!(db, |ex| sqlx::query_as(
        "SELECT status, COUNT(*) FROM mail_outbox GROUP BY status"
    )
    .fetch_all(ex)
    .await)?;
    let mut counts = Counts::default();
    for (status, n) in rows {
        match status.as_str() {
            "queued" => counts.queued = n,
            "sent" => counts.sent = n,
            _ => counts.failing += n,
        }
    }
    Ok(counts)
}

const LISTED: &str =
    "SELECT id, recipient, kind, subject, status, attempts, next_attempt_at, last_error, created_at, sent_at
     FROM mail_outbox";

/// Failing messages, the oldest first (the longest waiting for an operator), at most `limit`.
pub async fn failing(db: impl Into<Exec<'_>>, limit: i64) -> super::Result<Vec<Listed>> {
    let sql = format!("{LISTED} WHERE status = 'failing' ORDER BY id LIMIT $1");
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(&sql)
        .bind(limit)
        .fetch_all(ex)
        .await)
}

/// Queued messages in the order they are due, at most `limit`.
pub async fn queued(db: impl Into<Exec<'_>>, limit: i64) -> super::Result<Vec<Listed>> {
    let sql = format!("{LISTED} WHERE status = 'queued' ORDER BY next_attempt_at, id LIMIT $1");
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(&sql)
        .bind(limit)
        .fetch_all(ex)
        .await)
}

/// Sent messages, the newest first, older than the message `before` (a page's last id) if given.
pub async fn sent(db: impl Into<Exec<'_>>, before: Option<i64>, limit: i64) -> super::Result<Vec<Listed>> {
    let sql = format!("{LISTED} WHERE status = 'sent' AND id < $1 ORDER BY id DESC LIMIT $2");
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(&sql)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(ex)
        .await)
}

/// Messages waiting to be sent (queued), for the metrics.
pub async fn depth(db: impl Into<Exec<'_>>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE status = 'queued'"
    )
    .fetch_one(ex)
    .await)
}

/// Withdraws the unsent messages of `kind` to `recipient` (a link that was revoked or replaced
/// before its mail went out): the mail is not sent, and the outbox keeps no working link.
pub async fn withdraw_unsent(tx: &mut super::Tx, kind: &str, recipient: &str) -> super::Result<u64> {
    Ok(super::execute!(
        &mut *tx,
        "DELETE FROM mail_outbox WHERE kind = $1 AND recipient = $2 AND status <> 'sent'",
        kind,
        recipient
    )?
    .rows_affected())
}
