//! Tickets, their timeline, categories, desk closures and the search index.

use sqlx::{FromRow, QueryBuilder};

use super::{Engine, Exec, on_engine};

#[derive(Clone, Debug, FromRow)]
pub struct Category {
    pub id: i64,
    pub slug: String,
    pub name_ja: String,
    pub name_en: String,
    pub retired_at: Option<i64>,
}

pub async fn categories(db: impl Into<Exec<'_>>) -> super::Result<Vec<Category>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Category>(
        "SELECT id, slug, name_ja, name_en, retired_at FROM ticket_categories ORDER BY position, id",
    )
    .fetch_all(ex)
    .await)
}

pub async fn category_by_slug(db: impl Into<Exec<'_>>, slug: &str) -> super::Result<Option<Category>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Category>(
        "SELECT id, slug, name_ja, name_en, retired_at FROM ticket_categories WHERE slug = $1"
    )
    .bind(slug)
    .fetch_optional(ex)
    .await)
}

/// The slug of the category with this id, unless it is retired (a ticket may not move into it).
pub async fn offered_category_slug(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<String>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT slug FROM ticket_categories WHERE id = $1 AND retired_at IS NULL"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)
}

pub async fn insert_category(db: impl Into<Exec<'_>>, slug: &str, name_ja: &str, name_en: &str) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO ticket_categories (slug, name_ja, name_en) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(slug)
    .bind(name_ja)
    .bind(name_en)
    .fetch_one(ex)
    .await)
}

pub async fn set_category_retired(db: impl Into<Exec<'_>>, slug: &str, retired_at: Option<i64>) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query(
        "UPDATE ticket_categories SET retired_at = $1 WHERE slug = $2"
    )
    .bind(retired_at)
    .bind(slug)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}

#[derive(Clone, Debug, FromRow)]
pub struct ClosureRow {
    pub id: i64,
    pub label: String,
    pub start_date: String,
    pub end_date: String,
    pub yearly: bool,
}

pub async fn closures(db: impl Into<Exec<'_>>) -> super::Result<Vec<ClosureRow>> {
    on_engine!(db, |ex| sqlx::query_as::<_, ClosureRow>(
        "SELECT id, label, start_date, end_date, yearly FROM desk_closures ORDER BY start_date",
    )
    .fetch_all(ex)
    .await)
}

/// A ticket with the names it refers to.
#[derive(Clone, Debug, FromRow)]
pub struct Ticket {
    pub id: i64,
    pub clinic_id: i64,
    pub clinic_code: String,
    pub clinic_name: String,
    pub reader_id: Option<i64>,
    pub reader_name: Option<String>,
    pub caller_name: String,
    pub callback_phone: String,
    pub channel: String,
    pub category_id: i64,
    pub category_slug: String,
    pub category_ja: String,
    pub category_en: String,
    pub priority: String,
    pub summary: String,
    pub description: String,
    pub status: String,
    pub assignee_id: Option<i64>,
    pub assignee_email: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub paused_at: Option<i64>,
    pub paused_minutes: i64,
    pub response_due_at: i64,
    pub resolution_due_at: i64,
    pub merged_into: Option<i64>,
    pub guide_id: Option<String>,
    pub guide_version: Option<String>,
    pub guide_step: Option<String>,
    pub guide_path: Option<String>,
    /// When a clinic admin replied and no one at the desk has opened the ticket since.
    pub clinic_reply_unread_at: Option<i64>,
}

const TICKET_SELECT: &str = "SELECT t.id, t.clinic_id, c.code AS clinic_code, c.name AS clinic_name, t.reader_id,
        r.name AS reader_name, t.caller_name, t.callback_phone, t.channel, t.category_id, k.slug AS category_slug,
        k.name_ja AS category_ja, k.name_en AS category_en, t.priority, t.summary, t.description, t.status,
        t.assignee_id, u.email AS assignee_email, t.version, t.created_at, t.updated_at, t.first_response_at,
        t.resolved_at, t.closed_at, t.paused_at, t.paused_minutes, t.response_due_at, t.resolution_due_at,
        t.merged_into, t.guide_id, t.guide_version, t.guide_step, t.guide_path, t.clinic_reply_unread_at
     FROM tickets t
     JOIN clinics c ON c.id = t.clinic_id
     JOIN ticket_categories k ON k.id = t.category_id
     LEFT JOIN readers r ON r.id = t.reader_id
     LEFT JOIN users u ON u.id = t.assignee_id";

pub async fn by_id(db: impl Into<Exec<'_>>, id: i64) -> super::Result<Option<Ticket>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Ticket>(&format!(
        "{TICKET_SELECT} WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

pub struct NewTicket<'a> {
    pub clinic_id: i64,
    pub reader_id: Option<i64>,
    pub caller_name: &'a str,
    pub callback_phone: &'a str,
    pub channel: &'a str,
    pub category_id: i64,
    pub priority: &'a str,
    pub summary: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub assignee_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub response_due_at: i64,
    pub resolution_due_at: i64,
}

/// Where in a guide a help request was filed.
pub async fn set_guide_context(
    db: impl Into<Exec<'_>>,
    id: i64,
    guide: &str,
    version: &str,
    step: &str,
    path: &str,
) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE tickets SET guide_id = $1, guide_version = $2, guide_step = $3, guide_path = $4 WHERE id = $5"
    )
    .bind(guide)
    .bind(version)
    .bind(step)
    .bind(path)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

pub async fn insert(db: impl Into<Exec<'_>>, t: &NewTicket<'_>) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "INSERT INTO tickets (clinic_id, reader_id, caller_name, callback_phone, channel, category_id, priority,
             summary, description, status, assignee_id, created_by, created_at, updated_at, first_response_at,
             response_due_at, resolution_due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(t.clinic_id)
    .bind(t.reader_id)
    .bind(t.caller_name)
    .bind(t.callback_phone)
    .bind(t.channel)
    .bind(t.category_id)
    .bind(t.priority)
    .bind(t.summary)
    .bind(t.description)
    .bind(t.status)
    .bind(t.assignee_id)
    .bind(t.created_by)
    .bind(t.created_at)
    .bind(t.created_at)
    .bind(t.first_response_at)
    .bind(t.response_due_at)
    .bind(t.resolution_due_at)
    .fetch_one(ex)
    .await)
}

/// Writes the mutable fields if the ticket is still at `expected_version`; bumps the version.
/// Returns false when someone else changed it first.
/// Locks the tickets' rows until the transaction ends, in id order (so two merges cannot each
/// hold the other's row). PostgreSQL only: on SQLite the write transaction holds every row.
/// A load-change-save of a ticket takes this first, so its `save` cannot miss.
pub async fn lock_rows(tx: &mut super::Tx, ids: &[i64]) -> super::Result<()> {
    if tx.engine() == Engine::Sqlite {
        return Ok(());
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    for id in ids {
        on_engine!(&mut *tx, |ex| sqlx::query(
            "SELECT id FROM tickets WHERE id = $1 FOR UPDATE"
        )
        .bind(id)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    }
    Ok(())
}

pub async fn save(db: impl Into<Exec<'_>>, t: &Ticket, expected_version: i64, now: i64) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query(
        "UPDATE tickets SET status = $1, assignee_id = $2, priority = $3, category_id = $4, first_response_at = $5,
             resolved_at = $6, closed_at = $7, paused_at = $8, paused_minutes = $9, response_due_at = $10,
             resolution_due_at = $11, merged_into = $12, version = version + 1, updated_at = $13
         WHERE id = $14 AND version = $15",
    )
    .bind(&t.status)
    .bind(t.assignee_id)
    .bind(&t.priority)
    .bind(t.category_id)
    .bind(t.first_response_at)
    .bind(t.resolved_at)
    .bind(t.closed_at)
    .bind(t.paused_at)
    .bind(t.paused_minutes)
    .bind(t.response_due_at)
    .bind(t.resolution_due_at)
    .bind(t.merged_into)
    .bind(now)
    .bind(t.id)
    .bind(expected_version)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}

pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub kind: &'a str,
    pub visibility: &'a str,
    pub body: &'a str,
    pub field: Option<&'a str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
    pub call_started_at: Option<i64>,
    pub call_duration_s: Option<i64>,
}

impl<'a> NewEvent<'a> {
    pub fn new(ticket_id: i64, actor_id: Option<i64>, actor: &'a str, kind: &'a str, visibility: &'a str) -> Self {
        Self {
            ticket_id,
            actor_id,
            actor,
            kind,
            visibility,
            body: "",
            field: None,
            old_value: None,
            new_value: None,
            call_started_at: None,
            call_duration_s: None,
        }
    }
}

pub async fn insert_event(db: impl Into<Exec<'_>>, e: &NewEvent<'_>) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO ticket_events (ticket_id, at, actor_id, actor, kind, visibility, body, field, old_value,
             new_value, call_started_at, call_duration_s)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.ticket_id)
    .bind(super::now())
    .bind(e.actor_id)
    .bind(e.actor)
    .bind(e.kind)
    .bind(e.visibility)
    .bind(e.body)
    .bind(e.field)
    .bind(e.old_value)
    .bind(e.new_value)
    .bind(e.call_started_at)
    .bind(e.call_duration_s)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct Event {
    pub id: i64,
    pub ticket_id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub visibility: String,
    pub body: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub call_started_at: Option<i64>,
    pub call_duration_s: Option<i64>,
}

/// The timeline of a ticket and of every ticket merged into it, oldest first.
pub async fn timeline(db: impl Into<Exec<'_>>, ticket_id: i64, clinic_visible_only: bool) -> super::Result<Vec<Event>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Event>(
        "SELECT id, ticket_id, at, actor, kind, visibility, body, field, old_value, new_value, call_started_at,
                call_duration_s
         FROM ticket_events
         WHERE (ticket_id = $1 OR ticket_id IN (SELECT id FROM tickets WHERE merged_into = $2))
           AND (NOT $3 OR visibility = 'clinic')
         ORDER BY at, id",
    )
    .bind(ticket_id)
    .bind(ticket_id)
    .bind(clinic_visible_only)
    .fetch_all(ex)
    .await)
}

/// A timeline entry as the API gives it: with the role of the person who wrote it.
#[derive(Clone, Debug, FromRow)]
pub struct ApiEvent {
    #[sqlx(flatten)]
    pub event: Event,
    pub actor_role: Option<String>,
}

/// One page of the timeline (the ticket's and those merged into it), oldest first: the entries
/// after the entry `after_id`, at most `limit`. Entry ids grow with time, so they are the cursor.
pub async fn timeline_page(
    db: impl Into<Exec<'_>>,
    ticket_id: i64,
    after_id: i64,
    limit: i64,
) -> super::Result<Vec<ApiEvent>> {
    on_engine!(db, |ex| sqlx::query_as::<_, ApiEvent>(
        "SELECT e.id, e.ticket_id, e.at, e.actor, e.kind, e.visibility, e.body, e.field, e.old_value, e.new_value,
                e.call_started_at, e.call_duration_s, u.role AS actor_role
         FROM ticket_events e LEFT JOIN users u ON u.id = e.actor_id
         WHERE (e.ticket_id = $1 OR e.ticket_id IN (SELECT id FROM tickets WHERE merged_into = $2)) AND e.id > $3
         ORDER BY e.id
         LIMIT $4",
    )
    .bind(ticket_id)
    .bind(ticket_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// Marks the ticket as having a clinic reply the desk has not opened (no version bump: it
/// changes nothing an edit form holds).
pub async fn mark_clinic_reply_unread(db: impl Into<Exec<'_>>, id: i64, at: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE tickets SET clinic_reply_unread_at = $1 WHERE id = $2"
    )
    .bind(at)
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Someone at the desk opened the ticket; returns whether there was an unread clinic reply.
pub async fn clear_clinic_reply_unread(db: impl Into<Exec<'_>>, id: i64) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query(
        "UPDATE tickets SET clinic_reply_unread_at = NULL WHERE id = $1 AND clinic_reply_unread_at IS NOT NULL",
    )
    .bind(id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}

/// The text a ticket is found by (number, clinic, caller, summary, description, notes), as
/// stored; the caller folds it and hands it to [`set_search_text`].
pub async fn search_source(db: impl Into<Exec<'_>>, ticket_id: i64) -> super::Result<Option<String>> {
    let db = db.into();
    // The same text on both engines: SQLite has printf and group_concat, PostgreSQL lpad and
    // string_agg.
    let (number, notes) = match db.engine() {
        Engine::Sqlite => ("printf('SUP-%06d', t.id)", "group_concat(e.body, ' ')"),
        Engine::Postgres => (
            "'SUP-' || lpad(t.id::text, 6, '0')",
            "string_agg(e.body, ' ' ORDER BY e.id)",
        ),
    };
    let sql = format!(
        "SELECT {number} || ' ' || c.code || ' ' || c.name || ' ' || c.phone || ' ' ||
                t.caller_name || ' ' || t.callback_phone || ' ' || t.summary || ' ' || t.description || ' ' ||
                COALESCE((SELECT {notes} FROM ticket_events e WHERE e.ticket_id = t.id), '')
         FROM tickets t JOIN clinics c ON c.id = t.clinic_id WHERE t.id = $1"
    );
    on_engine!(db, |ex| sqlx::query_scalar(&sql)
        .bind(ticket_id)
        .fetch_optional(ex)
        .await)
}

/// Replaces the ticket's indexed text with `folded` (already folded by the caller).
pub async fn set_search_text(tx: &mut super::Tx, ticket_id: i64, folded: &str) -> super::Result<()> {
    // SQLite's FTS5 table keys rows by rowid; PostgreSQL's trigram table has a ticket_id column.
    let (delete, insert) = match tx.engine() {
        Engine::Sqlite => (
            "DELETE FROM ticket_search WHERE rowid = $1",
            "INSERT INTO ticket_search (rowid, body) VALUES ($1, $2 || ' ')",
        ),
        Engine::Postgres => (
            "DELETE FROM ticket_search WHERE ticket_id = $1",
            "INSERT INTO ticket_search (ticket_id, body) VALUES ($1, $2 || ' ')",
        ),
    };
    on_engine!(&mut *tx, |ex| sqlx::query(delete)
        .bind(ticket_id)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    // The trailing space makes every two characters of the text the start of some trigram,
    // which is how two-character words are found on SQLite (see `push_filter`).
    on_engine!(&mut *tx, |ex| sqlx::query(insert)
        .bind(ticket_id)
        .bind(folded)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    on_engine!(&mut *tx, |ex| sqlx::query(
        "DELETE FROM ticket_search_stale WHERE ticket_id = $1"
    )
    .bind(ticket_id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Up to `limit` tickets whose search text is still to be written (after migration 0006).
pub async fn stale_search_ids(db: impl Into<Exec<'_>>, limit: i64) -> super::Result<Vec<i64>> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT ticket_id FROM ticket_search_stale ORDER BY ticket_id LIMIT $1"
    )
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// Takes a ticket off the list of stale search texts (one that has no source text any more).
pub async fn drop_stale_search(db: impl Into<Exec<'_>>, ticket_id: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "DELETE FROM ticket_search_stale WHERE ticket_id = $1"
    )
    .bind(ticket_id)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// What a ticket list may be narrowed by.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Folded search words (`domain::search::terms`), all of which must match.
    pub q: Vec<String>,
    pub statuses: Vec<String>,
    pub open_only: bool,
    pub assignee_id: Option<i64>,
    pub unassigned: bool,
    pub clinic_id: Option<i64>,
    pub category_id: Option<i64>,
    pub priority: Option<String>,
    pub overdue_at: Option<i64>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// Only tickets with a clinic reply the desk has not opened yet.
    pub clinic_reply_unread: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    Due,
    Priority,
    Updated,
}

/// The most trigrams a two-character word is expanded to: far more than the distinct characters
/// that follow any pair in real text, so it only bounds what a pathological index could cost.
const MAX_TRIGRAMS_PER_PAIR: i64 = 2_000;

/// An FTS5 phrase: the word in double quotes, its own double quotes doubled.
fn phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// A LIKE pattern that finds `term` anywhere (`\` is PostgreSQL's default LIKE escape).
fn contains_pattern(term: &str) -> String {
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

fn push_filter<'a, DB>(qb: &mut QueryBuilder<'a, DB>, f: &Filter, engine: Engine)
where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    if !f.q.is_empty() && engine == Engine::Postgres {
        // pg_trgm's GIN index serves `LIKE '%word%'` for words of three or more characters and
        // rechecks its candidates; a two-character word has no trigram and reads the whole
        // (folded, one row per ticket) table, as SQLite's vocabulary scan does.
        for term in &f.q {
            qb.push(" AND t.id IN (SELECT ticket_id FROM ticket_search WHERE body LIKE ")
                .push_bind(contains_pattern(term))
                .push(")");
        }
    } else if !f.q.is_empty() {
        // One FTS5 MATCH for all words (AND): the trigram index intersects them itself. Words of
        // three or more characters are phrases (every trigram, in order: a substring match). A
        // two-character word has no trigram of its own; it matches through the trigrams that begin
        // with it, read from the index's vocabulary by a range scan (bounded by
        // MAX_TRIGRAMS_PER_PAIR). If no trigram begins with it, the phrase itself stands in and
        // matches nothing. No LIKE: `LIKE … ESCAPE` is never handed to the FTS5 index (a full scan
        // of the table), and an indexed LIKE still rechecks every candidate row.
        qb.push(" AND t.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH (");
        for (i, term) in f.q.iter().enumerate() {
            if i > 0 {
                qb.push(" || ' AND ' || ");
            }
            if term.chars().count() >= 3 {
                qb.push_bind(phrase(term));
            } else {
                qb.push(
                    "'(' || COALESCE((SELECT group_concat('\"' || replace(term, '\"', '\"\"') || '\"', ' OR ') \
                     FROM (SELECT term FROM ticket_search_terms WHERE term >= ",
                )
                .push_bind(term.clone())
                .push(" AND term < ")
                .push_bind(format!("{term}\u{10FFFF}"))
                .push(" LIMIT ")
                .push_bind(MAX_TRIGRAMS_PER_PAIR)
                .push(")), ")
                .push_bind(phrase(term))
                .push(") || ')'");
            }
        }
        qb.push("))");
    }
    if !f.statuses.is_empty() {
        qb.push(" AND t.status IN (");
        let mut list = qb.separated(", ");
        for s in &f.statuses {
            list.push_bind(s.clone());
        }
        qb.push(")");
    }
    if f.open_only {
        qb.push(" AND t.status NOT IN ('resolved', 'closed')");
    }
    if let Some(id) = f.assignee_id {
        qb.push(" AND t.assignee_id = ").push_bind(id);
    }
    if f.unassigned {
        qb.push(" AND t.assignee_id IS NULL");
    }
    if let Some(id) = f.clinic_id {
        qb.push(" AND t.clinic_id = ").push_bind(id);
    }
    if let Some(id) = f.category_id {
        qb.push(" AND t.category_id = ").push_bind(id);
    }
    if let Some(p) = &f.priority {
        qb.push(" AND t.priority = ").push_bind(p.clone());
    }
    if let Some(now) = f.overdue_at {
        // Waiting on the clinic stops the clock, so those are never overdue.
        qb.push(" AND t.status IN ('new', 'in_progress', 'on_hold') AND (t.resolution_due_at < ")
            .push_bind(now)
            .push(" OR (t.first_response_at IS NULL AND t.response_due_at < ")
            .push_bind(now)
            .push("))");
    }
    if let Some(from) = f.created_from {
        qb.push(" AND t.created_at >= ").push_bind(from);
    }
    if let Some(to) = f.created_to {
        qb.push(" AND t.created_at < ").push_bind(to);
    }
    if f.clinic_reply_unread {
        qb.push(" AND t.clinic_reply_unread_at IS NOT NULL");
    }
}

pub async fn search(
    db: impl Into<Exec<'_>>,
    filter: &Filter,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> super::Result<Vec<Ticket>> {
    let db = db.into();
    let engine = db.engine();
    on_engine!(db, |ex| {
        let mut qb = QueryBuilder::new(TICKET_SELECT);
        push_filter(&mut qb, filter, engine);
        qb.push(match sort {
            Sort::Newest => " ORDER BY t.id DESC",
            Sort::Oldest => " ORDER BY t.id",
            Sort::Due => " ORDER BY t.resolution_due_at, t.id",
            Sort::Priority => {
                " ORDER BY CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, \
             t.resolution_due_at"
            }
            Sort::Updated => " ORDER BY t.updated_at DESC, t.id DESC",
        });
        qb.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
        qb.build_query_as::<Ticket>().fetch_all(ex).await
    })
}

pub async fn count(db: impl Into<Exec<'_>>, filter: &Filter) -> super::Result<i64> {
    let db = db.into();
    let engine = db.engine();
    on_engine!(db, |ex| {
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM tickets t");
        push_filter(&mut qb, filter, engine);
        qb.build_query_scalar::<i64>().fetch_one(ex).await
    })
}

/// Open tickets per status and per category slug.
pub async fn open_counts(db: &super::Pool) -> super::Result<(Vec<(String, i64)>, Vec<(String, String, i64)>)> {
    let by_status = on_engine!(db, |ex| sqlx::query_as(
        "SELECT status, COUNT(*) FROM tickets WHERE status NOT IN ('resolved', 'closed') GROUP BY status",
    )
    .fetch_all(ex)
    .await)?;
    let by_category = on_engine!(db, |ex| sqlx::query_as(
        "SELECT k.name_ja, k.name_en, COUNT(*) FROM tickets t JOIN ticket_categories k ON k.id = t.category_id
         WHERE t.status NOT IN ('resolved', 'closed') GROUP BY k.id ORDER BY COUNT(*) DESC, k.position",
    )
    .fetch_all(ex)
    .await)?;
    Ok((by_status, by_category))
}

pub async fn calls_since(db: impl Into<Exec<'_>>, since: i64) -> super::Result<i64> {
    on_engine!(db, |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM ticket_events WHERE kind = 'call' AND at >= $1"
    )
    .bind(since)
    .fetch_one(ex)
    .await)
}

/// (created_at, first_response_at, resolved_at) of tickets created since `since` (not merged).
pub async fn lifecycle_since(
    db: impl Into<Exec<'_>>,
    since: i64,
) -> super::Result<Vec<(i64, Option<i64>, Option<i64>)>> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT created_at, first_response_at, resolved_at FROM tickets WHERE created_at >= $1 AND merged_into IS NULL",
    )
    .bind(since)
    .fetch_all(ex)
    .await)
}

/// The desk's opening hours on business days, as minutes since midnight (opens, closes).
pub async fn desk_hours(db: impl Into<Exec<'_>>) -> super::Result<(i64, i64)> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT opens_min, closes_min FROM desk_hours WHERE id = 1"
    )
    .fetch_one(ex)
    .await)
}

pub async fn set_desk_hours(db: impl Into<Exec<'_>>, opens_min: i64, closes_min: i64, now: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE desk_hours SET opens_min = $1, closes_min = $2, updated_at = $3 WHERE id = 1"
    )
    .bind(opens_min)
    .bind(closes_min)
    .bind(now)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

/// Response and resolution targets per priority: (priority, response_min, resolution_min).
pub async fn desk_targets(db: impl Into<Exec<'_>>) -> super::Result<Vec<(String, i64, i64)>> {
    on_engine!(db, |ex| sqlx::query_as(
        "SELECT priority, response_min, resolution_min FROM desk_targets ORDER BY priority"
    )
    .fetch_all(ex)
    .await)
}

pub async fn set_desk_target(
    db: impl Into<Exec<'_>>,
    priority: &str,
    response_min: i64,
    resolution_min: i64,
    now: i64,
) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "UPDATE desk_targets SET response_min = $1, resolution_min = $2, updated_at = $3 WHERE priority = $4"
    )
    .bind(response_min)
    .bind(resolution_min)
    .bind(now)
    .bind(priority)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}

pub async fn insert_closure(
    db: impl Into<Exec<'_>>,
    label: &str,
    start_date: &str,
    end_date: &str,
    yearly: bool,
) -> super::Result<i64> {
    on_engine!(db, |ex| {
        sqlx::query_scalar(
        "INSERT INTO desk_closures (label, start_date, end_date, yearly, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(label)
    .bind(start_date)
    .bind(end_date)
    .bind(yearly)
    .bind(super::now())
    .fetch_one(ex)
    .await
    })
}

pub async fn delete_closure(db: impl Into<Exec<'_>>, id: i64) -> super::Result<bool> {
    let result = on_engine!(db, |ex| sqlx::query("DELETE FROM desk_closures WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await
        .map(super::Done::from))?;
    Ok(result.rows_affected() == 1)
}
