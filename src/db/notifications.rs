//! Who gets which message (migration 0022): each user's mail language, the kinds they turned
//! off, and the claims that let exactly one process mail a time-based notice per episode.

use sqlx::FromRow;

use super::{Exec, on_engine};

/// Someone a message goes to.
#[derive(Clone, Debug, FromRow)]
pub struct Recipient {
    pub id: i64,
    pub email: String,
    pub language: String,
}

/// Who a kind of message goes to.
#[derive(Clone, Copy, Debug)]
pub enum Audience {
    /// The clinic's active clinic admins.
    ClinicAdmins(i64),
    /// Every active agent.
    Agents,
    /// One account (if active).
    User(i64),
    /// A ticket's assignee; every active agent when the assignee's account is disabled (a
    /// notice for a ticket must reach the desk, not a departed agent's inbox).
    AssigneeOrAgents(i64),
}

/// The active recipients of `audience` who have not turned `kind` off, by e-mail.
pub async fn recipients(db: impl Into<Exec<'_>>, audience: Audience, kind: &str) -> super::Result<Vec<Recipient>> {
    let (filter, id) = match audience {
        Audience::ClinicAdmins(clinic_id) => ("u.role = 'clinic_admin' AND u.clinic_id = $2", clinic_id),
        Audience::Agents => ("u.role = 'agent' AND $2 = $2", 0),
        Audience::User(user_id) => ("u.id = $2", user_id),
        Audience::AssigneeOrAgents(user_id) => (
            "(u.id = $2 OR (u.role = 'agent'
                AND NOT EXISTS (SELECT 1 FROM users a WHERE a.id = $2 AND a.disabled_at IS NULL)))",
            user_id,
        ),
    };
    let sql = format!(
        "SELECT u.id, u.email, u.language FROM users u
         WHERE {filter} AND u.disabled_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM notification_optouts o WHERE o.user_id = u.id AND o.kind = $1)
         ORDER BY u.email"
    );
    on_engine!(db, |ex| sqlx::query_as::<_, Recipient>(&sql)
        .bind(kind)
        .bind(id)
        .fetch_all(ex)
        .await)
}

/// The kinds the user turned off.
pub async fn optouts(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<Vec<String>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT kind FROM notification_optouts WHERE user_id = $1 ORDER BY kind"
    )
    .bind(user_id)
    .fetch_all(ex)
    .await)
}

/// Replaces the user's turned-off kinds with `kinds`.
pub async fn set_optouts(tx: &mut super::Tx, user_id: i64, kinds: &[&str], now: i64) -> super::Result<()> {
    super::execute!(&mut *tx, "DELETE FROM notification_optouts WHERE user_id = $1", user_id)?;
    for kind in kinds {
        super::execute!(
            &mut *tx,
            "INSERT INTO notification_optouts (user_id, kind, created_at) VALUES ($1, $2, $3)",
            user_id,
            *kind,
            now
        )?;
    }
    Ok(())
}

/// The user's mail language (`ja` or `en`).
pub async fn language(db: impl Into<Exec<'_>>, user_id: i64) -> super::Result<Option<String>> {
    on_engine!(db, |ex| sqlx::query_scalar("SELECT language FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await)
}

pub async fn set_language(db: impl Into<Exec<'_>>, user_id: i64, language: &str) -> super::Result<()> {
    super::execute!(db, "UPDATE users SET language = $1 WHERE id = $2", language, user_id)?;
    Ok(())
}

/// An enrolled reader not seen since before `cutoff` and not yet mailed about.
#[derive(Clone, Debug, FromRow)]
pub struct StaleReader {
    pub id: i64,
    pub clinic_id: i64,
    pub name: String,
    pub last_seen_at: Option<i64>,
}

pub async fn stale_readers(db: impl Into<Exec<'_>>, cutoff: i64) -> super::Result<Vec<StaleReader>> {
    on_engine!(db, |ex| sqlx::query_as::<_, StaleReader>(
        "SELECT id, clinic_id, name, last_seen_at FROM readers
         WHERE revoked_at IS NULL AND stale_notified_at IS NULL AND COALESCE(last_seen_at, enrolled_at) < $1
         ORDER BY id LIMIT 500",
    )
    .bind(cutoff)
    .fetch_all(ex)
    .await)
}

/// Claims the reader's "not seen" notice for this episode: true for exactly one caller (the
/// row is still stale and not yet claimed); the claim commits or rolls back with the message.
pub async fn claim_stale_reader(tx: &mut super::Tx, id: i64, cutoff: i64, now: i64) -> super::Result<bool> {
    let done = super::execute!(
        &mut *tx,
        "UPDATE readers SET stale_notified_at = $1
         WHERE id = $2 AND stale_notified_at IS NULL AND revoked_at IS NULL
           AND COALESCE(last_seen_at, enrolled_at) < $3",
        now,
        id,
        cutoff
    )?;
    Ok(done.rows_affected() == 1)
}

/// An open ticket whose next due time falls within the lead time and was not mailed about.
#[derive(Clone, Debug, FromRow)]
pub struct DueSoon {
    pub id: i64,
    pub clinic_id: i64,
    pub summary: String,
    pub assignee_id: Option<i64>,
    pub due_at: i64,
    /// Whether the due time is the first response's (else the resolution's).
    pub response: bool,
}

/// The next due time: the first response's while there is none, else the resolution's. Tickets
/// waiting on the clinic (clock stopped), resolved, closed or merged are not due.
const NEXT_DUE: &str = "CASE WHEN first_response_at IS NULL THEN response_due_at ELSE resolution_due_at END";

pub async fn tickets_due_soon(db: impl Into<Exec<'_>>, now: i64, lead_s: i64) -> super::Result<Vec<DueSoon>> {
    let sql = format!(
        "SELECT id, clinic_id, summary, assignee_id, {NEXT_DUE} AS due_at,
                (first_response_at IS NULL) AS response
         FROM tickets
         WHERE status IN ('new', 'in_progress', 'on_hold') AND merged_into IS NULL
           AND {NEXT_DUE} > $1 AND {NEXT_DUE} <= $2
           AND (due_soon_notified_for IS NULL OR due_soon_notified_for <> {NEXT_DUE})
         ORDER BY id LIMIT 500"
    );
    on_engine!(db, |ex| sqlx::query_as::<_, DueSoon>(&sql)
        .bind(now)
        .bind(now + lead_s)
        .fetch_all(ex)
        .await)
}

/// Claims the "about to miss" notice for the ticket's due time `due_at`: true for one caller,
/// and only while the ticket is still open and still due then (it may have been answered,
/// resolved or merged since it was found).
pub async fn claim_due_soon(tx: &mut super::Tx, id: i64, due_at: i64) -> super::Result<bool> {
    let done = super::execute!(
        &mut *tx,
        &format!(
            "UPDATE tickets SET due_soon_notified_for = $1
             WHERE id = $2 AND (due_soon_notified_for IS NULL OR due_soon_notified_for <> $1)
               AND status IN ('new', 'in_progress', 'on_hold') AND merged_into IS NULL AND {NEXT_DUE} = $1"
        ),
        due_at,
        id
    )?;
    Ok(done.rows_affected() == 1)
}
