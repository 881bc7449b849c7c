//! The support desk's ticket operations. Each is one transaction: the change, its timeline
//! events, the version bump and the search index move together.

use time::OffsetDateTime;

use crate::db::{self, tickets::NewEvent};
use crate::domain::Role;
use crate::domain::business_time::{BusinessCalendar, Closure};
use crate::domain::ticket::{Channel, Priority, Status, Targets};

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("no such ticket")]
    NotFound,
    #[error("the ticket was changed by someone else (now version {current_version}); reload it and try again")]
    Conflict { current_version: i64 },
    #[error("a ticket cannot go from {} to {}", from.as_str(), to.as_str())]
    Transition { from: Status, to: Status },
    /// A rule the change breaks, as a UI-string key (`ticket.invalid.*`): pages show it in the
    /// reader's language, the API in English.
    #[error("{}", crate::i18n::text(crate::i18n::Lang::En, .0))]
    Invalid(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<db::Error> for TicketError {
    fn from(e: db::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// Who writes on a ticket.
#[derive(Clone, Debug)]
pub struct Author {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
}

impl Author {
    fn is_desk(&self) -> bool {
        matches!(self.role, Role::Agent | Role::Operator)
    }
}

/// What due times are computed from: the desk's calendar (its hours and the closures operators
/// defined) and its targets per priority.
pub struct DeskRules {
    pub calendar: BusinessCalendar,
    pub targets: Targets,
}

pub async fn desk_rules(pool: &db::Pool) -> anyhow::Result<DeskRules> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let closures = db::tickets::closures(pool)
        .await?
        .into_iter()
        .filter_map(|c| {
            let start = time::Date::parse(&c.start_date, &format).ok()?;
            let end = time::Date::parse(&c.end_date, &format).ok()?;
            Some(Closure {
                start,
                end,
                yearly: c.yearly,
            })
        })
        .collect();
    let (opens, closes) = db::tickets::desk_hours(pool).await?;
    // The table's checks keep the rows sensible; the defaults stand in if they ever are not.
    let targets = Targets::from_rows(&db::tickets::desk_targets(pool).await?).unwrap_or_else(Targets::standard);
    Ok(DeskRules {
        calendar: BusinessCalendar::with_hours(opens, closes, closures),
        targets,
    })
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Due times count business minutes from creation, plus the minutes spent waiting on the clinic.
fn due_times(rules: &DeskRules, created_at: i64, priority: Priority, paused_minutes: i64) -> (i64, i64) {
    let (response, resolution) = rules.targets.get(priority);
    let cal = &rules.calendar;
    let from = at(created_at);
    (
        cal.add_minutes(from, response + paused_minutes).unix_timestamp(),
        cal.add_minutes(from, resolution + paused_minutes).unix_timestamp(),
    )
}

pub struct CallInput {
    pub started_at: i64,
    pub duration_s: i64,
    pub notes: String,
}

pub struct NewTicketInput {
    pub clinic_id: i64,
    pub reader_id: Option<i64>,
    pub caller_name: String,
    pub callback_phone: String,
    pub channel: Channel,
    pub category_id: i64,
    pub priority: Priority,
    pub summary: String,
    pub description: String,
    pub assignee_id: Option<i64>,
    pub call: Option<CallInput>,
    /// Filed from a guide step: (guide, content version, step, path taken).
    pub guide: Option<(String, String, String, String)>,
}

pub async fn create(pool: &db::Pool, author: &Author, input: NewTicketInput) -> Result<i64, TicketError> {
    let rules = desk_rules(pool).await?;
    let now = db::now();
    let (response_due_at, resolution_due_at) = due_times(&rules, now, input.priority, 0);
    let mut tx = db::begin_write(pool).await?;
    if let Some(assignee) = input.assignee_id {
        check_assignee(&mut tx, assignee).await?;
    }
    if let Some(reader) = input.reader_id {
        let belongs = db::readers::by_id(&mut tx, reader)
            .await?
            .is_some_and(|r| r.clinic_id == input.clinic_id);
        if !belongs {
            return Err(TicketError::Invalid("ticket.invalid.reader"));
        }
    }
    let id = db::tickets::insert(
        &mut tx,
        &db::tickets::NewTicket {
            clinic_id: input.clinic_id,
            reader_id: input.reader_id,
            caller_name: &input.caller_name,
            callback_phone: &input.callback_phone,
            channel: input.channel.as_str(),
            category_id: input.category_id,
            priority: input.priority.as_str(),
            summary: &input.summary,
            description: &input.description,
            status: Status::New.as_str(),
            assignee_id: input.assignee_id,
            created_by: Some(author.user_id),
            created_at: now,
            // Taking the call is the first response; a portal request waits for the desk.
            first_response_at: (input.channel != Channel::Portal && author.is_desk()).then_some(now),
            response_due_at,
            resolution_due_at,
        },
    )
    .await?;
    let created = NewEvent::new(id, Some(author.user_id), &author.email, "created", "clinic");
    db::tickets::insert_event(&mut tx, &created).await?;
    if let Some(call) = &input.call {
        insert_call(&mut tx, id, author, call).await?;
    }
    if let Some((guide, version, step, path)) = &input.guide {
        db::tickets::set_guide_context(&mut tx, id, guide, version, step, path).await?;
    }
    let ticket = super::mail::TicketRef {
        id,
        clinic_id: input.clinic_id,
        summary: &input.summary,
    };
    // A clinic asking (the portal, a guide step) is news for the desk; a call the desk logs is not.
    if !author.is_desk() {
        super::mail::request_new(&mut tx, author.user_id, &ticket, now).await?;
    }
    if let Some(assignee) = input.assignee_id {
        super::mail::ticket_assigned(&mut tx, author.user_id, assignee, &ticket, now).await?;
    }
    super::search::reindex(&mut tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

type Tx = db::Tx;

async fn insert_call(tx: &mut Tx, ticket_id: i64, author: &Author, call: &CallInput) -> db::Result<()> {
    let mut event = NewEvent::new(ticket_id, Some(author.user_id), &author.email, "call", "internal");
    event.body = &call.notes;
    event.call_started_at = Some(call.started_at);
    event.call_duration_s = Some(call.duration_s);
    db::tickets::insert_event(&mut *tx, &event).await
}

async fn check_assignee(tx: &mut Tx, user_id: i64) -> Result<(), TicketError> {
    let user = db::users::by_id(&mut *tx, user_id).await?;
    let ok = user.is_some_and(|u| {
        u.disabled_at.is_none() && matches!(Role::from_db(&u.role), Some(Role::Agent | Role::Operator))
    });
    if ok {
        Ok(())
    } else {
        Err(TicketError::Invalid("ticket.invalid.assignee"))
    }
}

async fn load(tx: &mut Tx, id: i64) -> Result<db::tickets::Ticket, TicketError> {
    db::tickets::by_id(&mut *tx, id).await?.ok_or(TicketError::NotFound)
}

/// Field changes requested together; `None` leaves a field alone.
#[derive(Default)]
pub struct Changes {
    pub status: Option<Status>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<i64>>,
    pub priority: Option<Priority>,
    pub category_id: Option<i64>,
}

/// Applies `changes` if the ticket is still at `expected_version`.
pub async fn update(
    pool: &db::Pool,
    author: &Author,
    id: i64,
    expected_version: i64,
    changes: Changes,
) -> Result<db::tickets::Ticket, TicketError> {
    let rules = desk_rules(pool).await?;
    let mut tx = db::begin_write(pool).await?;
    db::tickets::lock_rows(&mut tx, &[id]).await?;
    let mut ticket = load(&mut tx, id).await?;
    if ticket.version != expected_version {
        return Err(TicketError::Conflict {
            current_version: ticket.version,
        });
    }
    let now = db::now();
    let mut events: Vec<(&'static str, String, String)> = Vec::new();

    if let Some(to) = changes.status {
        let from = Status::parse(&ticket.status).ok_or_else(|| anyhow::anyhow!("stored status {:?}", ticket.status))?;
        if from != to {
            if !from.can_become(to) {
                return Err(TicketError::Transition { from, to });
            }
            apply_status(&mut ticket, &rules, from, to, now)?;
            events.push(("status", from.as_str().to_owned(), to.as_str().to_owned()));
        }
    }
    if let Some(assignee) = changes.assignee
        && assignee != ticket.assignee_id
    {
        if let Some(user_id) = assignee {
            check_assignee(&mut tx, user_id).await?;
        }
        let email = |id: Option<i64>| async move {
            match id {
                Some(id) => db::users::by_id(pool, id)
                    .await
                    .map(|u| u.map(|u| u.email).unwrap_or_default()),
                None => Ok(String::new()),
            }
        };
        events.push(("assignee", email(ticket.assignee_id).await?, email(assignee).await?));
        ticket.assignee_id = assignee;
    }
    if let Some(priority) = changes.priority
        && priority.as_str() != ticket.priority
    {
        events.push(("priority", ticket.priority.clone(), priority.as_str().to_owned()));
        ticket.priority = priority.as_str().to_owned();
        (ticket.response_due_at, ticket.resolution_due_at) =
            due_times(&rules, ticket.created_at, priority, ticket.paused_minutes);
    }
    if let Some(category_id) = changes.category_id
        && category_id != ticket.category_id
    {
        let slug = db::tickets::offered_category_slug(&mut tx, category_id)
            .await?
            .ok_or_else(|| TicketError::Invalid("ticket.invalid.category"))?;
        events.push(("category", ticket.category_slug.clone(), slug));
        ticket.category_id = category_id;
    }
    if events.is_empty() {
        return Ok(ticket);
    }
    if !db::tickets::save(&mut tx, &ticket, expected_version, now).await? {
        return Err(TicketError::Conflict {
            current_version: expected_version + 1,
        });
    }
    if let Some(Some(assignee)) = changes.assignee
        && events.iter().any(|(field, _, _)| *field == "assignee")
    {
        let mailed = super::mail::TicketRef {
            id,
            clinic_id: ticket.clinic_id,
            summary: &ticket.summary,
        };
        super::mail::ticket_assigned(&mut tx, author.user_id, assignee, &mailed, now).await?;
    }
    for (field, old, new) in &events {
        let mut event = NewEvent::new(id, Some(author.user_id), &author.email, "change", "clinic");
        event.field = Some(field);
        event.old_value = Some(old);
        event.new_value = Some(new);
        db::tickets::insert_event(&mut tx, &event).await?;
    }
    super::search::reindex(&mut tx, id).await?;
    tx.commit().await?;
    db::tickets::by_id(pool, id).await?.ok_or(TicketError::NotFound)
}

/// Moves the ticket to `to` (if it is not there already) and records the change on the timeline.
async fn change_status(
    tx: &mut Tx,
    ticket: &mut db::tickets::Ticket,
    rules: &DeskRules,
    author: &Author,
    to: Status,
    now: i64,
) -> Result<(), TicketError> {
    let from = Status::parse(&ticket.status).ok_or_else(|| anyhow::anyhow!("stored status {:?}", ticket.status))?;
    if from == to {
        return Ok(());
    }
    if !from.can_become(to) {
        return Err(TicketError::Transition { from, to });
    }
    apply_status(ticket, rules, from, to, now)?;
    let mut event = NewEvent::new(ticket.id, Some(author.user_id), &author.email, "change", "clinic");
    event.field = Some("status");
    event.old_value = Some(from.as_str());
    event.new_value = Some(to.as_str());
    db::tickets::insert_event(&mut *tx, &event).await?;
    Ok(())
}

fn apply_status(
    ticket: &mut db::tickets::Ticket,
    rules: &DeskRules,
    from: Status,
    to: Status,
    now: i64,
) -> Result<(), TicketError> {
    if from.pauses_clock() {
        let paused_at = ticket.paused_at.unwrap_or(now);
        ticket.paused_minutes += rules.calendar.minutes_between(at(paused_at), at(now));
        ticket.paused_at = None;
        let priority = Priority::parse(&ticket.priority).unwrap_or(Priority::Normal);
        (ticket.response_due_at, ticket.resolution_due_at) =
            due_times(rules, ticket.created_at, priority, ticket.paused_minutes);
    }
    if to.pauses_clock() {
        ticket.paused_at = Some(now);
    }
    match to {
        Status::Resolved => ticket.resolved_at = Some(now),
        Status::Closed => ticket.closed_at = Some(now),
        Status::InProgress if matches!(from, Status::Resolved | Status::Closed) => {
            ticket.resolved_at = None;
            ticket.closed_at = None;
        }
        _ => {}
    }
    ticket.status = to.as_str().to_owned();
    Ok(())
}

pub enum Entry {
    /// Agents only.
    Note(String),
    /// Visible to the clinic admin.
    Reply(String),
    Call(CallInput),
}

/// Adds a note, a reply or a call to the timeline. No version check: entries never overwrite
/// anything, but they do bump the version so open edit forms notice.
pub async fn add_entry(pool: &db::Pool, author: &Author, id: i64, entry: Entry) -> Result<(), TicketError> {
    add_entry_then(pool, author, id, entry, None).await
}

/// Like [`add_entry`], and then moves the ticket to `then_status` in the same transaction (an
/// agent's reply that leaves the ticket 折返し待ち): either both happen or neither. The move is
/// checked against the workflow and recorded on the timeline like any status change.
pub async fn add_entry_then(
    pool: &db::Pool,
    author: &Author,
    id: i64,
    entry: Entry,
    then_status: Option<Status>,
) -> Result<(), TicketError> {
    // Only status moves need the calendar (to stop or restart the due clock).
    let rules = if then_status.is_some() || !author.is_desk() {
        Some(desk_rules(pool).await?)
    } else {
        None
    };
    let mut tx = db::begin_write(pool).await?;
    db::tickets::lock_rows(&mut tx, &[id]).await?;
    let mut ticket = load(&mut tx, id).await?;
    if ticket.merged_into.is_some() {
        return Err(TicketError::Invalid("ticket.invalid.merged"));
    }
    match &entry {
        Entry::Note(body) | Entry::Reply(body) => {
            let (kind, visibility) = if matches!(entry, Entry::Note(_)) {
                ("note", "internal")
            } else {
                ("reply", "clinic")
            };
            let mut event = NewEvent::new(id, Some(author.user_id), &author.email, kind, visibility);
            event.body = body;
            db::tickets::insert_event(&mut tx, &event).await?;
        }
        Entry::Call(call) => insert_call(&mut tx, id, author, call).await?,
    }
    let now = db::now();
    let responds = author.is_desk() && !matches!(entry, Entry::Note(_));
    if responds && ticket.first_response_at.is_none() {
        ticket.first_response_at = Some(now);
    }
    // The clinic answering a ticket that waits on it hands it back to the desk (the clock runs again).
    if let Some(rules) = &rules {
        if !author.is_desk() && ticket.status == Status::WaitingOnClinic.as_str() {
            change_status(&mut tx, &mut ticket, rules, author, Status::InProgress, now).await?;
        }
        if let Some(to) = then_status {
            change_status(&mut tx, &mut ticket, rules, author, to, now).await?;
        }
    }
    // Whatever the clinic says is marked on the desk's lists until someone there opens the ticket.
    if !author.is_desk() && matches!(entry, Entry::Reply(_)) {
        db::tickets::mark_clinic_reply_unread(&mut tx, id, now).await?;
    }
    if matches!(entry, Entry::Reply(_)) {
        let mailed = super::mail::TicketRef {
            id,
            clinic_id: ticket.clinic_id,
            summary: &ticket.summary,
        };
        if author.is_desk() {
            super::mail::desk_reply(&mut tx, author.user_id, &mailed, now).await?;
        } else {
            super::mail::clinic_reply(&mut tx, author.user_id, ticket.assignee_id, &mailed, now).await?;
        }
    }
    let version = ticket.version;
    // The row is locked, so this cannot miss; if it ever did, nothing of the entry is kept.
    if !db::tickets::save(&mut tx, &ticket, version, now).await? {
        return Err(TicketError::Conflict {
            current_version: version + 1,
        });
    }
    super::search::reindex(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Merges `duplicate` into `survivor`: the duplicate is closed and points to the survivor,
/// whose timeline shows both.
pub async fn merge(
    pool: &db::Pool,
    author: &Author,
    duplicate: i64,
    expected_version: i64,
    survivor: i64,
) -> Result<(), TicketError> {
    if duplicate == survivor {
        return Err(TicketError::Invalid("ticket.invalid.merge_self"));
    }
    let mut tx = db::begin_write(pool).await?;
    db::tickets::lock_rows(&mut tx, &[duplicate, survivor]).await?;
    let mut dup = load(&mut tx, duplicate).await?;
    let target = load(&mut tx, survivor).await?;
    if dup.version != expected_version {
        return Err(TicketError::Conflict {
            current_version: dup.version,
        });
    }
    if dup.merged_into.is_some() || target.merged_into.is_some() {
        return Err(TicketError::Invalid("ticket.invalid.merge_again"));
    }
    if dup.clinic_id != target.clinic_id {
        return Err(TicketError::Invalid("ticket.invalid.merge_clinic"));
    }
    let now = db::now();
    let old_status = dup.status.clone();
    dup.status = Status::Closed.as_str().to_owned();
    dup.closed_at = Some(now);
    dup.paused_at = None;
    dup.merged_into = Some(survivor);
    if !db::tickets::save(&mut tx, &dup, expected_version, now).await? {
        return Err(TicketError::Conflict {
            current_version: expected_version + 1,
        });
    }
    let number = |id| crate::domain::ticket::TicketNumber::from_id(id).to_string();
    let mut into = NewEvent::new(duplicate, Some(author.user_id), &author.email, "merged", "clinic");
    let (survivor_number, duplicate_number) = (number(survivor), number(duplicate));
    into.field = Some("merged_into");
    into.old_value = Some(&old_status);
    into.new_value = Some(&survivor_number);
    db::tickets::insert_event(&mut tx, &into).await?;
    let mut from = NewEvent::new(survivor, Some(author.user_id), &author.email, "merged", "clinic");
    from.field = Some("merged_from");
    from.new_value = Some(&duplicate_number);
    db::tickets::insert_event(&mut tx, &from).await?;
    let target_version = target.version;
    if !db::tickets::save(&mut tx, &target, target_version, now).await? {
        return Err(TicketError::Conflict {
            current_version: target_version + 1,
        });
    }
    super::search::reindex(&mut tx, duplicate).await?;
    super::search::reindex(&mut tx, survivor).await?;
    tx.commit().await?;
    Ok(())
}
