use sqlx::FromRow;

use super::{Exec, on_engine};

/// The clinic's current passcode (the one not superseded), with its hash.
#[derive(Clone, Debug, FromRow)]
pub struct Current {
    pub id: i64,
    pub generation: i64,
    pub code_hash: String,
    pub issued_at: i64,
    pub failed_attempts: i64,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
}

pub async fn current(db: impl Into<Exec<'_>>, clinic_id: i64) -> super::Result<Option<Current>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Current>(
        "SELECT id, generation, code_hash, issued_at, failed_attempts, disabled_at, disabled_reason
         FROM passcodes WHERE clinic_id = $1 AND superseded_at IS NULL",
    )
    .bind(clinic_id)
    .fetch_optional(ex)
    .await)
}

pub async fn supersede(db: impl Into<Exec<'_>>, clinic_id: i64, at: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE passcodes SET superseded_at = $1 WHERE clinic_id = $2 AND superseded_at IS NULL"
    )
    .bind(at)
    .bind(clinic_id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

pub struct NewPasscode<'a> {
    pub clinic_id: i64,
    pub generation: i64,
    pub code_hash: &'a str,
    pub issued_at: i64,
    pub issued_by: Option<i64>,
    pub issued_via: &'a str,
}

pub async fn insert(db: impl Into<Exec<'_>>, new: &NewPasscode<'_>) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO passcodes (clinic_id, generation, code_hash, issued_at, issued_by, issued_via)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.clinic_id)
    .bind(new.generation)
    .bind(new.code_hash)
    .bind(new.issued_at)
    .bind(new.issued_by)
    .bind(new.issued_via)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

pub async fn set_failures(db: impl Into<Exec<'_>>, id: i64, failed_attempts: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE passcodes SET failed_attempts = $1 WHERE id = $2"
    )
    .bind(failed_attempts)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

pub async fn disable(db: impl Into<Exec<'_>>, id: i64, at: i64, reason: &str) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE passcodes SET disabled_at = $1, disabled_reason = $2 WHERE id = $3"
    )
    .bind(at)
    .bind(reason)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// What a reader may know about a clinic's passcode: never the code or its hash.
#[derive(Clone, Debug, FromRow)]
pub struct State {
    pub clinic_id: i64,
    pub generation: i64,
    pub issued_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub has_current: bool,
}

const STATE_QUERY: &str = "SELECT c.id AS clinic_id, c.passcode_generation AS generation,
        p.issued_at, p.disabled_at, p.id IS NOT NULL AS has_current
     FROM clinics c LEFT JOIN passcodes p ON p.clinic_id = c.id AND p.superseded_at IS NULL";

pub async fn all_states(db: impl Into<Exec<'_>>) -> super::Result<Vec<State>> {
    on_engine!(db, |ex| sqlx::query_as::<_, State>(STATE_QUERY).fetch_all(ex).await)
}

pub async fn state(db: impl Into<Exec<'_>>, clinic_id: i64) -> super::Result<Option<State>> {
    on_engine!(db, |ex| sqlx::query_as::<_, State>(&format!(
        "{STATE_QUERY} WHERE c.id = $1"
    ))
    .bind(clinic_id)
    .fetch_optional(ex)
    .await)
}

#[derive(Clone, Debug, FromRow)]
pub struct HistoryRow {
    pub generation: i64,
    pub issued_at: i64,
    pub issued_by_email: Option<String>,
    pub issued_via: String,
    pub superseded_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
}

pub async fn history(db: impl Into<Exec<'_>>, clinic_id: i64, limit: i64) -> super::Result<Vec<HistoryRow>> {
    on_engine!(db, |ex| sqlx::query_as::<_, HistoryRow>(
        "SELECT p.generation, p.issued_at, u.email AS issued_by_email, p.issued_via, p.superseded_at,
                p.disabled_at, p.disabled_reason
         FROM passcodes p LEFT JOIN users u ON u.id = p.issued_by
         WHERE p.clinic_id = $1 ORDER BY p.generation DESC LIMIT $2",
    )
    .bind(clinic_id)
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// Records an answer to a reader. With `merge_since`, the same answer to the same reader for the
/// same code since then adds to that row's count instead of making a row.
pub async fn record_attempt(
    tx: &mut super::Tx,
    clinic_id: i64,
    reader_id: i64,
    generation: Option<i64>,
    result: &str,
    merge_since: Option<i64>,
) -> super::Result<()> {
    if let Some(since) = merge_since {
        let merged = on_engine!(&mut *tx, |ex| sqlx::query(
            "UPDATE passcode_attempts SET count = count + 1
             WHERE id = (SELECT MAX(id) FROM passcode_attempts WHERE reader_id = $1)
               AND result = $2 AND generation IS NOT DISTINCT FROM $3 AND at >= $4",
        )
        .bind(reader_id)
        .bind(result)
        .bind(generation)
        .bind(since)
        .execute(ex)
        .await
        .map(super::Done::from))?
        .rows_affected();
        if merged > 0 {
            return Ok(());
        }
    }
    on_engine!(&mut *tx, |ex| sqlx::query(
        "INSERT INTO passcode_attempts (clinic_id, reader_id, generation, at, result) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(clinic_id)
    .bind(reader_id)
    .bind(generation)
    .bind(super::now())
    .bind(result)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Deletes answers older than `before` (the retention period); returns how many.
pub async fn prune_attempts(db: impl Into<Exec<'_>>, before: i64) -> super::Result<u64> {
    Ok(
        on_engine!(db, |ex| sqlx::query("DELETE FROM passcode_attempts WHERE at < $1")
            .bind(before)
            .execute(ex)
            .await
            .map(super::Done::from))?
        .rows_affected(),
    )
}

#[derive(Clone, Debug, FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub at: i64,
    pub reader_name: String,
    pub generation: Option<i64>,
    pub result: String,
    /// Answers merged into this row (the same one within a minute).
    pub count: i64,
}

/// The clinic's passcode entries, newest first; `before` (an id) pages back.
pub async fn attempts(
    db: impl Into<Exec<'_>>,
    clinic_id: i64,
    before: Option<i64>,
    limit: i64,
) -> super::Result<Vec<AttemptRow>> {
    on_engine!(db, |ex| sqlx::query_as::<_, AttemptRow>(
        "SELECT a.id, a.at, r.name AS reader_name, a.generation, a.result, a.count
         FROM passcode_attempts a JOIN readers r ON r.id = a.reader_id
         WHERE a.clinic_id = $1 AND a.id < $2 ORDER BY a.id DESC LIMIT $3",
    )
    .bind(clinic_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// A single-use token the confirmation page carries (only its SHA-256 is stored). Tokens older
/// than `prune_before` are deleted here, so the table stays as small as a day's confirmations.
pub async fn insert_issue_token(
    db: &mut super::Tx,
    token_hash: &[u8; 32],
    clinic_id: i64,
    user_id: i64,
    now: i64,
    prune_before: i64,
) -> super::Result<()> {
    on_engine!(&mut *db, |ex| sqlx::query(
        "DELETE FROM passcode_issue_tokens WHERE created_at < $1"
    )
    .bind(prune_before)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    on_engine!(&mut *db, |ex| sqlx::query(
        "INSERT INTO passcode_issue_tokens (token_hash, clinic_id, user_id, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(token_hash.as_slice())
    .bind(clinic_id)
    .bind(user_id)
    .bind(now)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// What became of an issue token when the confirmed form came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueTokenClaim {
    /// Unused until now, and consumed by this call.
    Claimed,
    /// Already consumed: the form was sent again. `generation` is the code it issued.
    AlreadyUsed { generation: Option<i64> },
    /// Unknown, too old, or for another clinic or user.
    Invalid,
}

/// Consumes the token if it is unused, younger than `not_before` and belongs to this clinic
/// and user. Run inside the issue's write transaction, so two sends of one form cannot both
/// see it unused.
pub async fn claim_issue_token(
    db: &mut super::Tx,
    token_hash: &[u8; 32],
    clinic_id: i64,
    user_id: i64,
    now: i64,
    not_before: i64,
) -> super::Result<IssueTokenClaim> {
    let claimed = on_engine!(&mut *db, |ex| sqlx::query(
        "UPDATE passcode_issue_tokens SET used_at = $1
         WHERE token_hash = $2 AND clinic_id = $3 AND user_id = $4 AND used_at IS NULL AND created_at >= $5",
    )
    .bind(now)
    .bind(token_hash.as_slice())
    .bind(clinic_id)
    .bind(user_id)
    .bind(not_before)
    .execute(ex)
    .await
    .map(super::Done::from))?
    .rows_affected();
    if claimed == 1 {
        return Ok(IssueTokenClaim::Claimed);
    }
    let used: Option<(Option<i64>,)> = on_engine!(&mut *db, |ex| sqlx::query_as(
        "SELECT generation FROM passcode_issue_tokens
         WHERE token_hash = $1 AND clinic_id = $2 AND user_id = $3 AND used_at IS NOT NULL",
    )
    .bind(token_hash.as_slice())
    .bind(clinic_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await)?;
    Ok(match used {
        Some((generation,)) => IssueTokenClaim::AlreadyUsed { generation },
        None => IssueTokenClaim::Invalid,
    })
}

/// Records which generation a consumed token issued.
pub async fn set_issue_token_generation(
    db: impl Into<Exec<'_>>,
    token_hash: &[u8; 32],
    generation: i64,
) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE passcode_issue_tokens SET generation = $1 WHERE token_hash = $2"
    )
    .bind(generation)
    .bind(token_hash.as_slice())
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Wrong codes in one generation (across the clinic) that disable it.
pub async fn failures_before_disable(db: impl Into<Exec<'_>>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT failures_before_disable FROM passcode_policy WHERE id = 1"
    )
    .fetch_one(ex)
    .await)
}

pub async fn set_failures_before_disable(db: impl Into<Exec<'_>>, failures: i64, now: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE passcode_policy SET failures_before_disable = $1, updated_at = $2 WHERE id = 1"
    )
    .bind(failures)
    .bind(now)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}
