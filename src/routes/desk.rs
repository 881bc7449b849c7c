//! The support desk: ticket queues and search, the call-intake screen, one ticket.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::clinics::{ReaderView, reader_views};
use super::{FormErrors, HtmlForm, Page, done, render};
use crate::auth::{Ctx, SignedIn};
use crate::db::{self, tickets::Filter, tickets::Sort};
use crate::domain::business_time::JST;
use crate::domain::search;
use crate::domain::ticket::{Channel, Priority, Status, TicketNumber};
use crate::domain::{bounded_text, optional_text};
use crate::error::AppError;
use crate::services::tickets::{self, Author, CallInput, Changes, Entry, NewTicketInput, TicketError};
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

pub fn desk_user(ctx: &Ctx) -> Result<&SignedIn, AppError> {
    let user = ctx.require_user()?;
    if user.actor().can_use_desk() {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn author(user: &SignedIn) -> Author {
    Author {
        user_id: user.id,
        email: user.email.clone(),
        role: user.role,
    }
}

/// Maps service errors to pages in the user's language: conflicts ask for a reload, rule
/// violations say why.
pub fn ticket_error(ctx: &Ctx, e: TicketError) -> AppError {
    match e {
        TicketError::NotFound => AppError::NotFound,
        TicketError::Conflict { .. } => AppError::Conflict(ctx.t("ticket.conflict_reload").to_owned()),
        TicketError::Transition { from, to } => AppError::Unprocessable(
            ctx.t("ticket.transition_refused")
                .replace("{from}", ctx.t(from.label_key()))
                .replace("{to}", ctx.t(to.label_key())),
        ),
        TicketError::Invalid(key) => AppError::Unprocessable(ctx.t(key).to_owned()),
        TicketError::Internal(e) => AppError::Internal(e),
    }
}

/// A ticket row as lists show it.
pub struct TicketRow {
    pub number: String,
    pub ticket: db::tickets::Ticket,
    pub overdue: bool,
}

impl TicketRow {
    pub fn new(ticket: db::tickets::Ticket, now: i64) -> Self {
        let open = Status::parse(&ticket.status).is_some_and(|s| s.is_open() && !s.pauses_clock());
        let overdue = open
            && (ticket.resolution_due_at < now || (ticket.first_response_at.is_none() && ticket.response_due_at < now));
        Self {
            number: TicketNumber::from_id(ticket.id).to_string(),
            ticket,
            overdue,
        }
    }

    pub fn status_key(&self) -> &'static str {
        Status::parse(&self.ticket.status).map_or("status.new", Status::label_key)
    }

    pub fn priority_key(&self) -> &'static str {
        Priority::parse(&self.ticket.priority).map_or("priority.normal", Priority::label_key)
    }

    pub fn channel_key(&self) -> &'static str {
        Channel::parse(&self.ticket.channel).map_or("channel.phone", Channel::label_key)
    }
}

#[derive(Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub view: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub assignee: String,
    #[serde(default)]
    pub clinic: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: Option<i64>,
}

/// Why a list query cannot be turned into a filter: something the user typed (shown in the
/// page's language; the API gives the English text), or the database.
#[derive(Debug)]
pub enum FilterError {
    Invalid { key: &'static str, value: String },
    Database(db::Error),
}

impl From<db::Error> for FilterError {
    fn from(e: db::Error) -> Self {
        Self::Database(e)
    }
}

impl FilterError {
    fn invalid(key: &'static str, value: &str) -> Self {
        Self::Invalid {
            key,
            value: value.chars().take(100).collect(),
        }
    }

    /// The message for a person, in `lang`; `{value}` is what they typed.
    pub fn message(key: &'static str, value: &str, lang: crate::i18n::Lang) -> String {
        crate::i18n::text(lang, key).replace("{value}", value)
    }
}

fn parse_day(value: &str) -> Result<Option<i64>, FilterError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value.trim(), &format)
        .map(|d| Some(d.midnight().assume_offset(JST).unix_timestamp()))
        .map_err(|_| FilterError::invalid("desk.filter_bad_date", value))
}

/// Turns the list's query string into a filter; shared by the page, the CSV export and the API.
pub async fn build_filter(state: &AppState, me: i64, q: &ListQuery) -> Result<(Filter, Sort), FilterError> {
    let mut filter = Filter {
        q: search::terms(&q.q).map_err(|e| FilterError::Invalid {
            key: e.key(),
            value: String::new(),
        })?,
        ..Filter::default()
    };
    match q.view.as_str() {
        "" | "all" => {}
        "open" => filter.open_only = true,
        "mine" => {
            filter.assignee_id = Some(me);
            filter.open_only = true;
        }
        "unassigned" => {
            filter.unassigned = true;
            filter.open_only = true;
        }
        "overdue" => filter.overdue_at = Some(db::now()),
        "waiting" => filter.statuses = vec![Status::WaitingOnClinic.as_str().to_owned()],
        "replied" => filter.clinic_reply_unread = true,
        other => return Err(FilterError::invalid("desk.filter_bad_view", other)),
    }
    for s in q.status.split(',').filter(|s| !s.trim().is_empty()) {
        let status = Status::parse(s).ok_or_else(|| FilterError::invalid("desk.filter_bad_status", s))?;
        filter.statuses.push(status.as_str().to_owned());
    }
    if !q.assignee.trim().is_empty() {
        let user = db::users::by_email(&state.pool, &q.assignee.trim().to_lowercase())
            .await?
            .ok_or_else(|| FilterError::invalid("desk.filter_no_account", q.assignee.trim()))?;
        filter.assignee_id = Some(user.id);
    }
    if !q.clinic.trim().is_empty() {
        let clinic = db::clinics::by_code(&state.pool, q.clinic.trim())
            .await?
            .ok_or_else(|| FilterError::invalid("desk.filter_no_clinic", q.clinic.trim()))?;
        filter.clinic_id = Some(clinic.id);
    }
    if !q.category.trim().is_empty() {
        let category = db::tickets::category_by_slug(&state.pool, q.category.trim())
            .await?
            .ok_or_else(|| FilterError::invalid("desk.filter_bad_category", q.category.trim()))?;
        filter.category_id = Some(category.id);
    }
    if !q.priority.trim().is_empty() {
        let priority = Priority::parse(&q.priority)
            .ok_or_else(|| FilterError::invalid("desk.filter_bad_priority", &q.priority))?;
        filter.priority = Some(priority.as_str().to_owned());
    }
    filter.created_from = parse_day(&q.from)?;
    filter.created_to = parse_day(&q.to)?.map(|t| t + 86_400);
    let sort = match q.sort.as_str() {
        "" | "newest" => Sort::Newest,
        "oldest" => Sort::Oldest,
        "due" => Sort::Due,
        "priority" => Sort::Priority,
        "updated" => Sort::Updated,
        other => return Err(FilterError::invalid("desk.filter_bad_sort", other)),
    };
    Ok((filter, sort))
}

#[derive(Template)]
#[template(path = "desk/tickets.html")]
struct ListPage {
    page: Page,
    query: ListQuery,
    rows: Vec<TicketRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    error: Option<String>,
    categories: Vec<db::tickets::Category>,
    query_string: String,
}

impl ListPage {
    fn page_link(&self, page_no: i64) -> String {
        if self.query_string.is_empty() {
            format!("/desk/tickets?page={page_no}")
        } else {
            format!("/desk/tickets?{}&page={page_no}", self.query_string)
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let user = desk_user(&ctx)?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let page_no = query.page.unwrap_or(1).clamp(1, 10_000);
    let categories = db::tickets::categories(&state.pool).await?;
    let query_string = ctx
        .path
        .split_once('?')
        .map_or("", |(_, q)| q)
        .split('&')
        .filter(|p| !p.starts_with("page="))
        .collect::<Vec<_>>()
        .join("&");
    let (rows, total, error) = match build_filter(&state, user.id, &query).await {
        Ok((filter, sort)) => {
            let now = db::now();
            let total = db::tickets::count(&state.pool, &filter).await?;
            let tickets = db::tickets::search(&state.pool, &filter, sort, PAGE_SIZE, (page_no - 1) * PAGE_SIZE).await?;
            (
                tickets.into_iter().map(|t| TicketRow::new(t, now)).collect(),
                total,
                None,
            )
        }
        Err(FilterError::Invalid { key, value }) => (Vec::new(), 0, Some(FilterError::message(key, &value, ctx.lang))),
        Err(FilterError::Database(e)) => return Err(e.into()),
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = ListPage {
        page: Page::new(&ctx).await?,
        query,
        rows,
        total,
        page_no,
        pages,
        error,
        categories,
        query_string,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Default, Deserialize)]
pub struct IntakeQuery {
    #[serde(default)]
    clinic_q: String,
    #[serde(default)]
    clinic: String,
}

#[derive(Default, Deserialize)]
pub struct CallForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    caller_name: String,
    #[serde(default)]
    callback_phone: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    reader: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    call_started_at: String,
}

#[derive(Template)]
#[template(path = "desk/call.html")]
struct CallPage {
    page: Page,
    clinic_q: String,
    matches: Vec<db::clinics::Clinic>,
    clinic: Option<db::clinics::Clinic>,
    /// The chosen clinic's context beside the call form: passcode, readers, open tickets.
    current: Option<db::passcodes::Current>,
    readers: Vec<ReaderView>,
    open_tickets: Vec<TicketRow>,
    categories: Vec<db::tickets::Category>,
    form: CallForm,
    started_at: i64,
    errors: FormErrors,
}

async fn call_page(
    state: &AppState,
    ctx: &Ctx,
    clinic_q: String,
    clinic_code: &str,
    form: CallForm,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let matches = if clinic_q.trim().is_empty() {
        Vec::new()
    } else {
        db::clinics::search(&state.pool, &clinic_q, 20).await?
    };
    let code = if clinic_code.is_empty() && matches.len() == 1 {
        matches[0].code.clone()
    } else {
        clinic_code.to_owned()
    };
    let clinic = if code.is_empty() {
        None
    } else {
        db::clinics::by_code(&state.pool, &code).await?
    };
    let (current, readers, open_tickets) = match &clinic {
        Some(c) => {
            let filter = Filter {
                clinic_id: Some(c.id),
                open_only: true,
                ..Filter::default()
            };
            let now = db::now();
            let open = db::tickets::search(&state.pool, &filter, Sort::Newest, 20, 0).await?;
            (
                db::passcodes::current(&state.pool, c.id).await?,
                reader_views(state, c).await?,
                open.into_iter().map(|t| TicketRow::new(t, now)).collect(),
            )
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let categories = db::tickets::categories(&state.pool)
        .await?
        .into_iter()
        .filter(|c| c.retired_at.is_none())
        .collect();
    let started_at = form.call_started_at.parse().unwrap_or_else(|_| db::now());
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = CallPage {
        page: Page::new(ctx).await?,
        clinic_q,
        matches,
        clinic,
        current,
        readers,
        open_tickets,
        categories,
        form,
        started_at,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

/// The call screen: find the clinic, then log the call in one step.
pub async fn new_call(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<IntakeQuery>,
) -> Result<Response, AppError> {
    desk_user(&ctx)?;
    call_page(
        &state,
        &ctx,
        q.clinic_q,
        q.clinic.trim(),
        CallForm::default(),
        FormErrors::default(),
    )
    .await
}

pub async fn log_call(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<CallForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = desk_user(&ctx)?.clone();
    let clinic_code = form.clinic.trim().to_owned();
    let Some(clinic) = db::clinics::by_code(&state.pool, &clinic_code).await? else {
        return call_page(
            &state,
            &ctx,
            String::new(),
            "",
            form,
            FormErrors::on("clinic_q", ctx.t("desk.pick_clinic")),
        )
        .await;
    };
    let now = db::now();
    let started_at = form
        .call_started_at
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|t| *t <= now && *t > now - 86_400)
        .unwrap_or(now);
    let Some(notes) = optional_text(&form.notes, 10_000) else {
        return call_page(
            &state,
            &ctx,
            String::new(),
            &clinic_code,
            form,
            FormErrors::on("notes", ctx.t("form.too_long")),
        )
        .await;
    };
    let call = CallInput {
        started_at,
        duration_s: now - started_at,
        notes,
    };

    if !form.ticket.trim().is_empty() {
        let ticket = TicketNumber::parse(&form.ticket)
            .ok_or_else(|| AppError::Unprocessable(ctx.t("ticket.invalid.number").to_owned()))?;
        let existing = db::tickets::by_id(&state.pool, ticket.id())
            .await?
            .ok_or(AppError::NotFound)?;
        if existing.clinic_id != clinic.id {
            return Err(AppError::Unprocessable(ctx.t("ticket.invalid.call_clinic").to_owned()));
        }
        tickets::add_entry(&state.pool, &author(&user), ticket.id(), Entry::Call(call))
            .await
            .map_err(|e| ticket_error(&ctx, e))?;
        return done(&ctx, "flash.call_saved", &format!("/desk/tickets/{ticket}")).await;
    }

    let parsed = parse_new_ticket(&state, &ctx, &form, clinic.id).await?;
    let input = match parsed {
        Ok(input) => NewTicketInput {
            call: Some(call),
            ..input
        },
        Err(errors) => return call_page(&state, &ctx, String::new(), &clinic_code, form, errors).await,
    };
    let id = tickets::create(&state.pool, &author(&user), input)
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    done(
        &ctx,
        "flash.call_saved",
        &format!("/desk/tickets/{}", TicketNumber::from_id(id)),
    )
    .await
}

async fn parse_new_ticket(
    state: &AppState,
    ctx: &Ctx,
    form: &CallForm,
    clinic_id: i64,
) -> Result<Result<NewTicketInput, FormErrors>, AppError> {
    let category_slug = if form.category.trim().is_empty() {
        "other"
    } else {
        form.category.trim()
    };
    let category = db::tickets::category_by_slug(&state.pool, category_slug)
        .await?
        .filter(|c| c.retired_at.is_none());
    let reader_id = form.reader.trim().parse::<i64>().ok();
    let fields = (|| {
        let category = category.ok_or_else(|| FormErrors::on("category", ctx.t("desk.category_invalid")))?;
        let priority = if form.priority.is_empty() {
            Some(Priority::Normal)
        } else {
            Priority::parse(&form.priority)
        };
        let priority = priority.ok_or_else(|| FormErrors::on("priority", ctx.t("desk.priority_invalid")))?;
        let channel = if form.channel.is_empty() {
            Some(Channel::Phone)
        } else {
            Channel::parse(&form.channel)
        };
        let channel = channel
            .filter(|c| *c != Channel::Portal)
            .ok_or_else(|| FormErrors::on("channel", ctx.t("desk.channel_invalid")))?;
        let summary =
            bounded_text(&form.summary, 200).ok_or_else(|| FormErrors::on("summary", ctx.t("desk.summary_invalid")))?;
        let description = optional_text(&form.description, 10_000)
            .ok_or_else(|| FormErrors::on("description", ctx.t("form.too_long")))?;
        let caller_name = optional_text(&form.caller_name, 100)
            .ok_or_else(|| FormErrors::on("caller_name", ctx.t("form.too_long")))?;
        let callback_phone = optional_text(&form.callback_phone, 30)
            .ok_or_else(|| FormErrors::on("callback_phone", ctx.t("form.too_long")))?;
        Ok(NewTicketInput {
            clinic_id,
            reader_id,
            caller_name,
            callback_phone,
            channel,
            category_id: category.id,
            priority,
            summary,
            description,
            assignee_id: None,
            call: None,
            guide: None,
        })
    })();
    Ok(fields)
}

#[derive(Template)]
#[template(path = "desk/ticket.html")]
struct TicketPage {
    page: Page,
    row: TicketRow,
    timeline: Vec<db::tickets::Event>,
    next_statuses: Vec<Status>,
    members: Vec<(i64, String)>,
    categories: Vec<db::tickets::Category>,
    merged_into: Option<String>,
}

impl TicketPage {
    fn status_key(&self, status: &Status) -> &'static str {
        status.label_key()
    }

    fn assigned_to(&self, id: &i64) -> bool {
        self.row.ticket.assignee_id == Some(*id)
    }

    fn number_of(&self, id: &i64) -> String {
        TicketNumber::from_id(*id).to_string()
    }

    /// "Status: 新規 → 対応中" with the values in the page's language.
    fn change_text(&self, e: &db::tickets::Event) -> String {
        change_text(&self.page, e)
    }
}

pub fn change_text(page: &Page, e: &db::tickets::Event) -> String {
    let field = e.field.as_deref().unwrap_or_default();
    let label = |value: &str| -> String {
        let key = match field {
            "status" => Status::parse(value).map(Status::label_key),
            "priority" => Priority::parse(value).map(Priority::label_key),
            _ => None,
        };
        match (key, value) {
            (Some(key), _) => page.t(key).to_owned(),
            (None, "") => "—".to_owned(),
            (None, other) => other.to_owned(),
        }
    };
    let old = e.old_value.as_deref().map(label);
    let new = e.new_value.as_deref().map(label).unwrap_or_default();
    let name = page.t(&format!("field.{field}"));
    match (field, old) {
        ("merged_into" | "merged_from", _) | (_, None) => format!("{name}: {new}"),
        (_, Some(old)) => format!("{name}: {old} → {new}"),
    }
}

async fn load_ticket(state: &AppState, number: &str) -> Result<db::tickets::Ticket, AppError> {
    let number = TicketNumber::parse(number).ok_or(AppError::NotFound)?;
    db::tickets::by_id(&state.pool, number.id())
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(number): Path<String>) -> Result<Response, AppError> {
    desk_user(&ctx)?;
    let ticket = load_ticket(&state, &number).await?;
    // Opened by the desk: the clinic's reply is read (this page still shows it as new). If the
    // database cannot take the write, the ticket is still shown and the marker stays.
    if ticket.clinic_reply_unread_at.is_some()
        && let Err(e) = db::tickets::clear_clinic_reply_unread(&state.pool, ticket.id).await
    {
        tracing::warn!(error = %e, ticket = ticket.id, "cannot clear the unread clinic reply");
    }
    let status = Status::parse(&ticket.status).unwrap_or(Status::New);
    let page = TicketPage {
        page: Page::new(&ctx).await?,
        timeline: db::tickets::timeline(&state.pool, ticket.id, false).await?,
        next_statuses: status.next_statuses(),
        members: db::users::desk_members(&state.pool).await?,
        categories: db::tickets::categories(&state.pool).await?,
        merged_into: ticket.merged_into.map(|id| TicketNumber::from_id(id).to_string()),
        row: TicketRow::new(ticket, db::now()),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    category: String,
}

pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
    HtmlForm(form): HtmlForm<UpdateForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = desk_user(&ctx)?.clone();
    let ticket = load_ticket(&state, &number).await?;
    let version = form_version(&ctx, &form.version)?;
    // Only a tampered form sends values the selects do not offer.
    let bad = |_: &str| AppError::Unprocessable(ctx.t("form.invalid_choice").to_owned());
    let mut changes = Changes::default();
    if !form.status.is_empty() {
        changes.status = Some(Status::parse(&form.status).ok_or_else(|| bad("status"))?);
    }
    if !form.priority.is_empty() {
        changes.priority = Some(Priority::parse(&form.priority).ok_or_else(|| bad("priority"))?);
    }
    changes.assignee = Some(match form.assignee.trim() {
        "" => None,
        id => Some(id.parse::<i64>().map_err(|_| bad("assignee"))?),
    });
    if !form.category.is_empty() {
        let category = db::tickets::category_by_slug(&state.pool, &form.category)
            .await?
            .ok_or_else(|| bad("category"))?;
        changes.category_id = Some(category.id);
    }
    tickets::update(&state.pool, &author(&user), ticket.id, version, changes)
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    done(
        &ctx,
        "flash.saved",
        &format!("/desk/tickets/{}", TicketNumber::from_id(ticket.id)),
    )
    .await
}

#[derive(Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    duration_min: String,
    /// With a reply: leave the ticket 折返し待ち (waiting on the clinic) in the same step.
    #[serde(default)]
    wait_on_clinic: Option<String>,
}

pub async fn add_entry(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
    HtmlForm(form): HtmlForm<EntryForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = desk_user(&ctx)?.clone();
    let ticket = load_ticket(&state, &number).await?;
    let body = bounded_text(&form.body, 10_000);
    let entry = match (form.kind.as_str(), body) {
        ("note", Some(body)) => Entry::Note(body),
        ("reply", Some(body)) => Entry::Reply(body),
        ("call", body) => {
            let minutes = form
                .duration_min
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|m| (0..=600).contains(m));
            let minutes = minutes.ok_or_else(|| AppError::Unprocessable(ctx.t("desk.duration_invalid").to_owned()))?;
            let now = db::now();
            Entry::Call(CallInput {
                started_at: now - minutes * 60,
                duration_s: minutes * 60,
                notes: body.unwrap_or_default(),
            })
        }
        (_, None) => return Err(AppError::Unprocessable(ctx.t("desk.body_invalid").to_owned())),
        _ => return Err(AppError::Unprocessable(ctx.t("form.invalid_choice").to_owned())),
    };
    let then_status = match (&entry, form.wait_on_clinic.is_some()) {
        (_, false) => None,
        (Entry::Reply(_), true) => Some(Status::WaitingOnClinic),
        (_, true) => return Err(AppError::Unprocessable(ctx.t("ticket.wait_needs_reply").to_owned())),
    };
    tickets::add_entry_then(&state.pool, &author(&user), ticket.id, entry, then_status)
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    done(
        &ctx,
        "flash.saved",
        &format!("/desk/tickets/{}", TicketNumber::from_id(ticket.id)),
    )
    .await
}

/// The ticket version an edit form was rendered with (for the conflict check).
fn form_version(ctx: &Ctx, value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::BadRequest(ctx.t("form.malformed").to_owned()))
}

#[derive(Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    into: String,
}

pub async fn merge(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
    HtmlForm(form): HtmlForm<MergeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = desk_user(&ctx)?.clone();
    let ticket = load_ticket(&state, &number).await?;
    let version = form_version(&ctx, &form.version)?;
    let into = TicketNumber::parse(&form.into)
        .ok_or_else(|| AppError::Unprocessable(ctx.t("ticket.invalid.number").to_owned()))?;
    tickets::merge(&state.pool, &author(&user), ticket.id, version, into.id())
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    done(&ctx, "flash.merged", &format!("/desk/tickets/{into}")).await
}
