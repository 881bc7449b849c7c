//! Clinic admins ask the support desk for help and follow their requests (channel = portal).
//! They see replies and status changes, never the desk's internal notes or calls.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::desk::{TicketRow, author, change_text, ticket_error};
use super::{HtmlForm, Page, authorize_clinic, done, render};
use crate::auth::{Ctx, SignedIn};
use crate::db::{self, tickets::Filter, tickets::Sort};
use crate::domain::policy::Actor;
use crate::domain::ticket::{Channel, Priority, TicketNumber};
use crate::domain::{bounded_text, optional_text};
use crate::error::AppError;
use crate::services::tickets::{self, Entry, NewTicketInput};
use crate::state::AppState;

#[derive(Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    callback_phone: String,
}

#[derive(Template)]
#[template(path = "clinics/requests.html")]
struct ListPage {
    page: Page,
    clinic: db::clinics::Clinic,
    rows: Vec<TicketRow>,
    categories: Vec<db::tickets::Category>,
    form: RequestForm,
    error: Option<String>,
}

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    clinic: db::clinics::Clinic,
    form: RequestForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let filter = Filter {
        clinic_id: Some(clinic.id),
        ..Filter::default()
    };
    let now = db::now();
    let rows = db::tickets::search(&state.pool, &filter, Sort::Newest, 100, 0).await?;
    let rows = rows
        .into_iter()
        .filter(|t| t.merged_into.is_none())
        .map(|t| TicketRow::new(t, now))
        .collect();
    let categories = db::tickets::categories(&state.pool)
        .await?
        .into_iter()
        .filter(|c| c.retired_at.is_none())
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&ListPage {
            page: Page::new(ctx).await?,
            clinic,
            rows,
            categories,
            form,
            error,
        })?,
    )
        .into_response())
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> Result<Response, AppError> {
    let (_, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_request_help).await?;
    list_page(&state, &ctx, clinic, RequestForm::default(), None).await
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    HtmlForm(form): HtmlForm<RequestForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_request_help).await?;
    let slug = if form.category.trim().is_empty() {
        "other"
    } else {
        form.category.trim()
    };
    let category = db::tickets::category_by_slug(&state.pool, slug)
        .await?
        .filter(|c| c.retired_at.is_none());
    let parsed = (|| {
        let category = category.ok_or(ctx.t("desk.category_invalid"))?;
        let summary = bounded_text(&form.summary, 200).ok_or(ctx.t("desk.summary_invalid"))?;
        let description = optional_text(&form.description, 10_000).ok_or(ctx.t("form.too_long"))?;
        let callback_phone = optional_text(&form.callback_phone, 30).ok_or(ctx.t("form.too_long"))?;
        Ok::<_, &str>((category.id, summary, description, callback_phone))
    })();
    let (category_id, summary, description, callback_phone) = match parsed {
        Ok(fields) => fields,
        Err(message) => return list_page(&state, &ctx, clinic, form, Some(message.to_owned())).await,
    };
    let input = NewTicketInput {
        clinic_id: clinic.id,
        reader_id: None,
        caller_name: user.email.clone(),
        callback_phone,
        channel: Channel::Portal,
        category_id,
        priority: Priority::Normal,
        summary,
        description,
        assignee_id: None,
        call: None,
        guide: None,
    };
    let id = tickets::create(&state.pool, &author(&user), input)
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    let location = format!("/clinics/{}/requests/{}", clinic.code, TicketNumber::from_id(id));
    done(&ctx, "flash.request_sent", &location).await
}

#[derive(Template)]
#[template(path = "clinics/request.html")]
struct RequestPage {
    page: Page,
    clinic: db::clinics::Clinic,
    row: TicketRow,
    timeline: Vec<db::tickets::Event>,
}

impl RequestPage {
    fn change_text(&self, e: &db::tickets::Event) -> String {
        change_text(&self.page, e)
    }
}

/// The clinic's own ticket, or 404 (other clinics' numbers look like missing ones).
async fn own_ticket(
    state: &AppState,
    ctx: &Ctx,
    code: &str,
    number: &str,
) -> Result<(SignedIn, db::clinics::Clinic, db::tickets::Ticket), AppError> {
    let (user, clinic) = authorize_clinic(state, ctx, code, Actor::can_request_help).await?;
    let number = TicketNumber::parse(number).ok_or(AppError::NotFound)?;
    let ticket = db::tickets::by_id(&state.pool, number.id())
        .await?
        .filter(|t| t.clinic_id == clinic.id);
    let ticket = ticket.ok_or(AppError::NotFound)?;
    // A merged duplicate shows as the ticket it went into.
    let ticket = match ticket.merged_into {
        Some(into) => db::tickets::by_id(&state.pool, into).await?.ok_or(AppError::NotFound)?,
        None => ticket,
    };
    Ok((user, clinic, ticket))
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((code, number)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (_, clinic, ticket) = own_ticket(&state, &ctx, &code, &number).await?;
    let timeline = db::tickets::timeline(&state.pool, ticket.id, true).await?;
    render(&RequestPage {
        page: Page::new(&ctx).await?,
        clinic,
        row: TicketRow::new(ticket, db::now()),
        timeline,
    })
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

pub async fn reply(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((code, number)): Path<(String, String)>,
    HtmlForm(form): HtmlForm<ReplyForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic, ticket) = own_ticket(&state, &ctx, &code, &number).await?;
    let body = bounded_text(&form.body, 10_000)
        .ok_or_else(|| AppError::Unprocessable(ctx.t("desk.body_invalid").to_owned()))?;
    tickets::add_entry(&state.pool, &author(&user), ticket.id, Entry::Reply(body))
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    let location = format!("/clinics/{}/requests/{}", clinic.code, TicketNumber::from_id(ticket.id));
    done(&ctx, "flash.reply_sent", &location).await
}
