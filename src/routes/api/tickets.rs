//! Ticket API v1 for integrations (a phone system logging calls, for example). Personal API
//! tokens of agents and operators; JSON field names are fixed by docs and the OpenAPI document.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::device_token;
use crate::db;
use crate::domain::ticket::{Channel, Priority, Status, TicketNumber};
use crate::domain::{Email, Role, bounded_text, optional_text};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::routes::desk::{FilterError, ListQuery, build_filter};
use crate::services::tickets::{self, Author, CallInput, Changes, Entry, NewTicketInput, TicketError};
use crate::state::AppState;

use super::ErrorJson;

/// The agent or operator behind `Authorization: Bearer pat_…`.
pub struct ApiUser(pub Author);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = crate::auth::bearer_token(header);
        let Some(token) = token else {
            return Err(ApiError::unauthorized(
                "missing_token",
                "send Authorization: Bearer <API token>",
            ));
        };
        let holder = db::api_tokens::holder(&state.pool, &device_token::hash(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "the API token is unknown or has been revoked"))?;
        let role = Role::from_db(&holder.role).filter(|r| matches!(r, Role::Agent | Role::Operator));
        let Some(role) = role else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this account may not use the ticket API",
            ));
        };
        db::api_tokens::touch(&state.pool, holder.token_id, db::now()).await?;
        Ok(Self(Author {
            user_id: holder.user_id,
            email: holder.email,
            role,
        }))
    }
}

/// A ticket as integrations see it.
#[derive(Serialize, ToSchema)]
pub struct TicketJson {
    /// Readable number, e.g. `SUP-000123`.
    #[schema(example = "SUP-000123")]
    pub number: String,
    #[schema(example = "0110113719")]
    pub clinic_code: String,
    pub caller_name: String,
    pub callback_phone: String,
    /// `phone` | `callback` | `portal`
    pub channel: String,
    /// Category slug, e.g. `passcode`.
    pub category: String,
    /// `low` | `normal` | `high` | `urgent`
    pub priority: String,
    pub summary: String,
    pub description: String,
    /// `new` | `in_progress` | `waiting_on_clinic` | `on_hold` | `resolved` | `closed`
    pub status: String,
    /// The assignee's e-mail address.
    pub assignee: Option<String>,
    /// Resolution due time (RFC 3339), in business hours Japan time.
    pub due_at: String,
    /// First-response due time (RFC 3339).
    pub response_due_at: String,
    /// +1 on every change; send it back with PATCH.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The ticket this one was merged into.
    pub merged_into: Option<String>,
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl From<db::tickets::Ticket> for TicketJson {
    fn from(t: db::tickets::Ticket) -> Self {
        Self {
            number: TicketNumber::from_id(t.id).to_string(),
            clinic_code: t.clinic_code,
            caller_name: t.caller_name,
            callback_phone: t.callback_phone,
            channel: t.channel,
            category: t.category_slug,
            priority: t.priority,
            summary: t.summary,
            description: t.description,
            status: t.status,
            assignee: t.assignee_email,
            due_at: rfc3339(t.resolution_due_at),
            response_due_at: rfc3339(t.response_due_at),
            version: t.version,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
            merged_into: t.merged_into.map(|id| TicketNumber::from_id(id).to_string()),
        }
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_field", message)
}

fn ticket_api_error(e: TicketError) -> ApiError {
    match e {
        TicketError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such ticket"),
        TicketError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, "version_conflict", e.to_string()),
        TicketError::Transition { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_transition", e.to_string())
        }
        TicketError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", e.to_string()),
        TicketError::Internal(e) => e.into(),
    }
}

async fn ticket_by_number(state: &AppState, number: &str) -> Result<db::tickets::Ticket, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such ticket");
    let number = TicketNumber::parse(number).ok_or_else(not_found)?;
    db::tickets::by_id(&state.pool, number.id())
        .await?
        .ok_or_else(not_found)
}

async fn user_id_by_email(state: &AppState, email: &str) -> Result<i64, ApiError> {
    let email = Email::parse(email).map_err(|_| invalid("assignee must be an e-mail address"))?;
    let user = db::users::by_email(&state.pool, email.as_str()).await?;
    user.map(|u| u.id).ok_or_else(|| invalid(format!("no account {email}")))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTicket {
    /// The 医療機関コード of a clinic the portal knows.
    #[schema(example = "0110113719", pattern = "^[0-9]{10}$")]
    pub clinic_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub summary: String,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub description: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub caller_name: String,
    #[serde(default)]
    #[schema(max_length = 30)]
    pub callback_phone: String,
    /// Default `phone`.
    #[schema(schema_with = channel_names)]
    pub channel: Option<String>,
    /// Category slug; default `other`.
    pub category: Option<String>,
    /// Default `normal`.
    #[schema(schema_with = priority_names)]
    pub priority: Option<String>,
    /// E-mail of an agent or operator.
    pub assignee: Option<String>,
}

/// A string schema listing exactly the names the domain accepts, so the document cannot drift.
fn one_of(names: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

fn channel_names() -> Object {
    one_of(Channel::ALL.map(Channel::as_str))
}

fn priority_names() -> Object {
    one_of(Priority::ALL.map(Priority::as_str))
}

fn status_names() -> Object {
    one_of(Status::ALL.map(Status::as_str))
}

fn visibility_names() -> Object {
    one_of(["internal", "clinic"])
}

/// Create a ticket.
#[utoipa::path(post, path = "/api/v1/tickets", request_body = CreateTicket,
    responses((status = 201, body = TicketJson), (status = 400, body = ErrorJson, description = "invalid input"),
        (status = 403, body = ErrorJson), (status = 422, body = ErrorJson)),
    security(("api_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(author): ApiUser,
    body: Result<Json<CreateTicket>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| super::json_rejection(&e))?;
    let clinic = db::clinics::by_code(&state.pool, body.clinic_code.trim())
        .await?
        .ok_or_else(|| invalid(format!("no clinic with clinic_code {:?}", body.clinic_code)))?;
    let category_slug = body.category.as_deref().unwrap_or("other");
    let category = db::tickets::category_by_slug(&state.pool, category_slug)
        .await?
        .filter(|c| c.retired_at.is_none())
        .ok_or_else(|| invalid(format!("unknown category {category_slug:?}")))?;
    let priority = Priority::parse(body.priority.as_deref().unwrap_or("normal"))
        .ok_or_else(|| invalid("priority must be low, normal, high or urgent"))?;
    let channel = Channel::parse(body.channel.as_deref().unwrap_or("phone"))
        .ok_or_else(|| invalid("channel must be phone, callback or portal"))?;
    let assignee_id = match &body.assignee {
        Some(email) => Some(user_id_by_email(&state, email).await?),
        None => None,
    };
    let input = NewTicketInput {
        clinic_id: clinic.id,
        reader_id: None,
        caller_name: optional_text(&body.caller_name, 100)
            .ok_or_else(|| invalid("caller_name: at most 100 characters"))?,
        callback_phone: optional_text(&body.callback_phone, 30)
            .ok_or_else(|| invalid("callback_phone: at most 30 characters"))?,
        channel,
        category_id: category.id,
        priority,
        summary: bounded_text(&body.summary, 200).ok_or_else(|| invalid("summary: 1 to 200 characters"))?,
        description: optional_text(&body.description, 10_000)
            .ok_or_else(|| invalid("description: at most 10,000 characters"))?,
        assignee_id,
        call: None,
        guide: None,
    };
    let id = tickets::create(&state.pool, &author, input)
        .await
        .map_err(ticket_api_error)?;
    let ticket = ticket_by_number(&state, &id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(TicketJson::from(ticket))).into_response())
}

/// Query parameters of the ticket list (the same filters as the desk's list page).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Search words (number, clinic, caller, summary, description, notes), separated by spaces;
    /// every word must occur. Each word needs 2 or more characters; at most 8 words. Matching
    /// ignores full-width/half-width, hiragana/katakana and letter case.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `open` | `mine` | `unassigned` | `overdue` | `waiting` | `replied` (a clinic reply the desk has not opened)
    pub view: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Assignee e-mail.
    pub assignee: Option<String>,
    /// 医療機関コード.
    pub clinic: Option<String>,
    /// Category slug.
    pub category: Option<String>,
    #[param(schema_with = priority_names)]
    pub priority: Option<String>,
    /// Created on or after (YYYY-MM-DD, Japan time).
    pub from: Option<String>,
    /// Created on or before (YYYY-MM-DD, Japan time).
    pub to: Option<String>,
    /// `newest` | `oldest` | `due` | `priority` | `updated`
    pub sort: Option<String>,
    /// 1-based.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<i64>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketJson>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// List and search tickets.
#[utoipa::path(get, path = "/api/v1/tickets", params(ListParams),
    responses((status = 200, body = TicketPage), (status = 400, body = ErrorJson, description = "invalid query"),
        (status = 403, body = ErrorJson)),
    security(("api_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(author): ApiUser,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<TicketPage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let per_page = p.per_page.unwrap_or(50);
    if !(1..=200).contains(&per_page) {
        return Err(ApiError::bad_request("invalid_query", "per_page must be 1 to 200"));
    }
    let page = p.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(ApiError::bad_request("invalid_query", "page must be 1 or more"));
    }
    let query = ListQuery {
        q: p.q.unwrap_or_default(),
        view: p.view.unwrap_or_default(),
        status: p.status.unwrap_or_default(),
        assignee: p.assignee.unwrap_or_default(),
        clinic: p.clinic.unwrap_or_default(),
        category: p.category.unwrap_or_default(),
        priority: p.priority.unwrap_or_default(),
        from: p.from.unwrap_or_default(),
        to: p.to.unwrap_or_default(),
        sort: p.sort.unwrap_or_default(),
        page: Some(page),
    };
    let (filter, sort) = match build_filter(&state, author.user_id, &query).await {
        Ok(built) => built,
        Err(FilterError::Invalid { key, value }) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                FilterError::message(key, &value, Lang::En),
            ));
        }
        Err(FilterError::Database(e)) => return Err(e.into()),
    };
    let total = db::tickets::count(&state.pool, &filter).await?;
    let rows = db::tickets::search(&state.pool, &filter, sort, per_page, (page - 1) * per_page).await?;
    Ok(Json(TicketPage {
        tickets: rows.into_iter().map(TicketJson::from).collect(),
        total,
        page,
        per_page,
    }))
}

/// One ticket.
#[utoipa::path(get, path = "/api/v1/tickets/{number}", params(("number" = String, Path, description = "e.g. SUP-000123")),
    responses((status = 200, body = TicketJson), (status = 403, body = ErrorJson),
        (status = 404, body = ErrorJson)),
    security(("api_token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    Path(number): Path<String>,
) -> Result<Json<TicketJson>, ApiError> {
    Ok(Json(ticket_by_number(&state, &number).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct PatchTicket {
    /// The version you last saw; a stale one answers 409.
    pub version: i64,
    #[schema(schema_with = status_names)]
    pub status: Option<String>,
    /// E-mail of an agent or operator; `null` unassigns.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    #[schema(schema_with = priority_names)]
    pub priority: Option<String>,
}

/// Tells a missing field (no change) from an explicit `null` (unassign).
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Change status, assignee or priority (with the version check).
#[utoipa::path(patch, path = "/api/v1/tickets/{number}", request_body = PatchTicket,
    params(("number" = String, Path, description = "e.g. SUP-000123")),
    responses((status = 200, body = TicketJson), (status = 400, body = ErrorJson, description = "invalid input"),
        (status = 403, body = ErrorJson), (status = 404, body = ErrorJson),
        (status = 409, body = ErrorJson, description = "stale version: reload and try again"),
        (status = 422, body = ErrorJson, description = "a change the workflow does not allow")),
    security(("api_token" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    ApiUser(author): ApiUser,
    Path(number): Path<String>,
    body: Result<Json<PatchTicket>, JsonRejection>,
) -> Result<Json<TicketJson>, ApiError> {
    let Json(body) = body.map_err(|e| super::json_rejection(&e))?;
    let ticket = ticket_by_number(&state, &number).await?;
    let mut changes = Changes::default();
    if let Some(status) = &body.status {
        changes.status = Some(Status::parse(status).ok_or_else(|| invalid(format!("unknown status {status:?}")))?);
    }
    if let Some(priority) = &body.priority {
        changes.priority =
            Some(Priority::parse(priority).ok_or_else(|| invalid(format!("unknown priority {priority:?}")))?);
    }
    changes.assignee = match &body.assignee {
        None => None,
        Some(None) => Some(None),
        Some(Some(email)) => Some(Some(user_id_by_email(&state, email).await?)),
    };
    let updated = tickets::update(&state.pool, &author, ticket.id, body.version, changes)
        .await
        .map_err(ticket_api_error)?;
    Ok(Json(updated.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewNote {
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// Default `internal` (agents only); `clinic` is a reply the clinic admin sees.
    #[schema(schema_with = visibility_names)]
    pub visibility: Option<String>,
    /// With `visibility: clinic`: also set the ticket to `waiting_on_clinic`, in the same step
    /// (both or neither). Default `false`.
    #[serde(default)]
    pub wait_on_clinic: bool,
}

/// Add an internal note or a reply to the clinic.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/notes", request_body = NewNote,
    params(("number" = String, Path, description = "e.g. SUP-000123")),
    responses((status = 201, body = TicketJson), (status = 400, body = ErrorJson, description = "invalid input"),
        (status = 403, body = ErrorJson), (status = 404, body = ErrorJson), (status = 422, body = ErrorJson)),
    security(("api_token" = [])))]
pub async fn add_note(
    State(state): State<AppState>,
    ApiUser(author): ApiUser,
    Path(number): Path<String>,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| super::json_rejection(&e))?;
    let ticket = ticket_by_number(&state, &number).await?;
    let text = bounded_text(&body.body, 10_000).ok_or_else(|| invalid("body: 1 to 10,000 characters"))?;
    let entry = match body.visibility.as_deref().unwrap_or("internal") {
        "internal" => Entry::Note(text),
        "clinic" => Entry::Reply(text),
        other => return Err(invalid(format!("visibility must be internal or clinic, not {other:?}"))),
    };
    let then_status = match (&entry, body.wait_on_clinic) {
        (_, false) => None,
        (Entry::Reply(_), true) => Some(Status::WaitingOnClinic),
        (_, true) => {
            return Err(invalid(
                "wait_on_clinic needs visibility clinic (a reply to the clinic)",
            ));
        }
    };
    tickets::add_entry_then(&state.pool, &author, ticket.id, entry, then_status)
        .await
        .map_err(ticket_api_error)?;
    let ticket = ticket_by_number(&state, &number).await?;
    Ok((StatusCode::CREATED, Json(TicketJson::from(ticket))).into_response())
}

/// How old a call may be when logged, and how far a caller's clock may run ahead.
const CALL_MAX_AGE_S: i64 = 30 * 86_400;
const CLOCK_SKEW_S: i64 = 300;

#[derive(Deserialize, ToSchema)]
pub struct NewCall {
    /// When the call started (RFC 3339; within the last 30 days, and started_at + duration_s not
    /// after now); default: now minus the duration.
    pub started_at: Option<String>,
    /// Call length in seconds.
    #[schema(minimum = 0, maximum = 36000)]
    pub duration_s: i64,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: String,
}

/// Record a call on a ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/calls", request_body = NewCall,
    params(("number" = String, Path, description = "e.g. SUP-000123")),
    responses((status = 201, body = TicketJson), (status = 400, body = ErrorJson, description = "invalid input"),
        (status = 403, body = ErrorJson), (status = 404, body = ErrorJson), (status = 422, body = ErrorJson)),
    security(("api_token" = [])))]
pub async fn add_call(
    State(state): State<AppState>,
    ApiUser(author): ApiUser,
    Path(number): Path<String>,
    body: Result<Json<NewCall>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| super::json_rejection(&e))?;
    let ticket = ticket_by_number(&state, &number).await?;
    if !(0..=36_000).contains(&body.duration_s) {
        return Err(invalid("duration_s must be 0 to 36,000"));
    }
    let started_at = match &body.started_at {
        Some(text) => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|_| invalid("started_at must be an RFC 3339 time"))?
            .unix_timestamp(),
        None => db::now() - body.duration_s,
    };
    // A call is logged after it ended, within a month (a clock a few minutes fast is tolerated).
    let now = db::now();
    if started_at < now - CALL_MAX_AGE_S || started_at + body.duration_s > now + CLOCK_SKEW_S {
        return Err(invalid(
            "started_at must be within the last 30 days, and the call must have ended by now",
        ));
    }
    let notes = optional_text(&body.notes, 10_000).ok_or_else(|| invalid("notes: at most 10,000 characters"))?;
    let call = CallInput {
        started_at,
        duration_s: body.duration_s,
        notes,
    };
    tickets::add_entry(&state.pool, &author, ticket.id, Entry::Call(call))
        .await
        .map_err(ticket_api_error)?;
    let ticket = ticket_by_number(&state, &number).await?;
    Ok((StatusCode::CREATED, Json(TicketJson::from(ticket))).into_response())
}

/// Query parameters of the timeline.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesParams {
    /// Entries per page; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Cursor: give the `next_after` of the previous page to get the entries after it.
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// One entry on a ticket's timeline.
#[derive(Serialize, ToSchema)]
pub struct EntryJson {
    /// Grows with time; the paging cursor.
    pub id: i64,
    /// The ticket it was written on (a ticket merged into this one keeps its own number).
    #[schema(example = "SUP-000123")]
    pub ticket: String,
    /// When it was recorded (RFC 3339).
    pub at: String,
    #[schema(schema_with = entry_kinds)]
    pub kind: String,
    /// `internal`: the desk only; `clinic`: the clinic admin sees it too.
    #[schema(schema_with = visibility_names)]
    pub visibility: String,
    /// Who: an e-mail address, or `cli` for the command line.
    pub author: String,
    /// The author's role, when the author is an account.
    #[schema(schema_with = role_names_or_null)]
    pub author_role: Option<String>,
    /// The text of a note, reply or call notes (empty for changes).
    pub body: String,
    /// For changes: `status`, `assignee`, `priority`, `category`, `merged_into`, `merged_from`.
    pub field: Option<String>,
    /// For changes: the value before (status name, e-mail, …); `null` if none.
    pub from: Option<String>,
    /// For changes: the value after.
    pub to: Option<String>,
    /// For calls: when the call started (RFC 3339).
    pub call_started_at: Option<String>,
    /// For calls: its length in seconds.
    pub duration_s: Option<i64>,
}

fn entry_kinds() -> Object {
    one_of(ENTRY_KINDS)
}

const ENTRY_KINDS: [&str; 9] = [
    "created",
    "note",
    "reply",
    "clinic_reply",
    "call",
    "status_change",
    "assignment_change",
    "field_change",
    "merged",
];

fn role_names_or_null() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .enum_values(Some(
            [Role::Operator, Role::Agent, Role::ClinicAdmin]
                .into_iter()
                .map(|r| Some(r.as_db()))
                .chain([None]),
        ))
        .build()
}

impl From<db::tickets::ApiEvent> for EntryJson {
    fn from(row: db::tickets::ApiEvent) -> Self {
        let e = row.event;
        let kind = match (e.kind.as_str(), e.field.as_deref()) {
            ("reply", _) if row.actor_role.as_deref() == Some(Role::ClinicAdmin.as_db()) => "clinic_reply",
            ("change", Some("status")) => "status_change",
            ("change", Some("assignee")) => "assignment_change",
            ("change", _) => "field_change",
            (other, _) => ENTRY_KINDS.into_iter().find(|k| *k == other).unwrap_or("field_change"),
        };
        Self {
            id: e.id,
            ticket: TicketNumber::from_id(e.ticket_id).to_string(),
            at: rfc3339(e.at),
            kind: kind.to_owned(),
            visibility: e.visibility,
            author: e.actor,
            author_role: row.actor_role,
            body: e.body,
            field: e.field,
            from: e.old_value,
            to: e.new_value,
            call_started_at: e.call_started_at.map(rfc3339),
            duration_s: e.call_duration_s,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EntryPage {
    /// Oldest first.
    pub entries: Vec<EntryJson>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<i64>,
}

/// Read a ticket's timeline: notes (with their visibility), replies to and from the clinic,
/// calls with their length, status and assignment changes; oldest first, paged by a cursor.
#[utoipa::path(get, path = "/api/v1/tickets/{number}/entries",
    params(("number" = String, Path, description = "e.g. SUP-000123"), EntriesParams),
    responses((status = 200, body = EntryPage), (status = 400, body = ErrorJson, description = "invalid query"),
        (status = 403, body = ErrorJson), (status = 404, body = ErrorJson)),
    security(("api_token" = [])))]
pub async fn entries(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    Path(number): Path<String>,
    params: Result<Query<EntriesParams>, QueryRejection>,
) -> Result<Json<EntryPage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit must be 1 to 200"));
    }
    let after = p.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request("invalid_query", "after must be 0 or more"));
    }
    let ticket = ticket_by_number(&state, &number).await?;
    // One more than asked tells whether there is a next page.
    let mut rows = db::tickets::timeline_page(&state.pool, ticket.id, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_after = if more { rows.last().map(|r| r.event.id) } else { None };
    Ok(Json(EntryPage {
        entries: rows.into_iter().map(EntryJson::from).collect(),
        next_after,
    }))
}
