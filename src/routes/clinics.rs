//! The clinic list (operators, agents) and one clinic's overview.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::{FormErrors, HtmlForm, Page, authorize_clinic, done, render};
use crate::auth::Ctx;
use crate::db;
use crate::domain::policy::Actor;
use crate::domain::{ClinicCode, InstallType, bounded_text, optional_text, reader_health};
use crate::error::AppError;
use crate::services::accounts::{self, AccountError, ClinicInput};
use crate::state::AppState;

#[derive(Default, Deserialize)]
pub struct ClinicForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact_name: String,
}

#[derive(Template)]
#[template(path = "clinics/list.html")]
struct ListPage {
    page: Page,
    clinics: Vec<db::clinics::Clinic>,
    form: ClinicForm,
    errors: FormErrors,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    if !user.actor().can_list_clinics() {
        return Err(AppError::Forbidden);
    }
    let clinics = db::clinics::all(&state.pool).await?;
    render(&ListPage {
        page: Page::new(&ctx).await?,
        clinics,
        form: ClinicForm::default(),
        errors: FormErrors::default(),
    })
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<ClinicForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !user.actor().can_manage_clinics() {
        return Err(AppError::Forbidden);
    }
    let parsed = (|| {
        let code = ClinicCode::parse(&form.code).map_err(|e| FormErrors::on("code", ctx.t(e.ui_key())))?;
        let name = bounded_text(&form.name, 100).ok_or_else(|| FormErrors::on("name", ctx.t("clinic.name_invalid")))?;
        let too_long = |field| FormErrors::on(field, ctx.t("form.too_long"));
        let phone = optional_text(&form.phone, 30).ok_or_else(|| too_long("phone"))?;
        let address = optional_text(&form.address, 200).ok_or_else(|| too_long("address"))?;
        let contact = optional_text(&form.contact_name, 100).ok_or_else(|| too_long("contact_name"))?;
        Ok::<_, FormErrors>((code, name, phone, address, contact))
    })();
    let result = match parsed {
        Ok((code, name, phone, address, contact_name)) => {
            let input = ClinicInput {
                code: &code,
                name: &name,
                phone: &phone,
                address: &address,
                contact_name: &contact_name,
            };
            match accounts::create_clinic(&state.pool, &user.audit_actor(), &input).await {
                Ok(_) => Ok(code),
                Err(AccountError::Internal(e)) => return Err(AppError::Internal(e)),
                Err(e) => Err(FormErrors::on("code", e.localized(ctx.lang))),
            }
        }
        Err(errors) => Err(errors),
    };
    match result {
        Ok(code) => {
            state.sync_live().await;
            done(&ctx, "flash.clinic_registered", &format!("/clinics/{code}")).await
        }
        Err(errors) => {
            let clinics = db::clinics::all(&state.pool).await?;
            let page = ListPage {
                page: Page::new(&ctx).await?,
                clinics,
                form,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

/// A reader as the clinic page shows it.
pub struct ReaderView {
    pub id: i64,
    pub name: String,
    pub install_key: &'static str,
    pub revoked: bool,
    pub last_seen_at: Option<i64>,
    pub seen_generation: Option<i64>,
    pub up_to_date: bool,
    pub locked_until: Option<i64>,
    /// Enrolled but has not polled for longer than the desk's threshold: shown as 未接続.
    pub stale: bool,
}

pub async fn reader_views(state: &AppState, clinic: &db::clinics::Clinic) -> Result<Vec<ReaderView>, AppError> {
    let now = db::now();
    let rows = db::readers::for_clinic(&state.pool, clinic.id).await?;
    let stale_after_min = db::readers::stale_after_min(&state.pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            // The poll path batches its writes: fresher figures are in memory.
            let (last_seen_at, seen_generation) = match state.live.seen(r.id) {
                Some((at, generation)) if Some(at) >= r.last_seen_at => (Some(at), Some(generation)),
                _ => (r.last_seen_at, r.last_seen_generation),
            };
            let revoked = r.revoked_at.is_some();
            ReaderView {
                stale: reader_health::is_stale(last_seen_at, r.enrolled_at, revoked, now, stale_after_min),
                id: r.id,
                install_key: InstallType::parse(&r.install_type).map_or("install.standalone", InstallType::label_key),
                name: r.name,
                revoked,
                up_to_date: seen_generation == Some(clinic.passcode_generation),
                last_seen_at,
                seen_generation,
                locked_until: r.locked_until.filter(|t| *t > now),
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "clinics/show.html")]
struct ShowPage {
    page: Page,
    clinic: db::clinics::Clinic,
    current: Option<db::passcodes::Current>,
    readers: Vec<ReaderView>,
    attempts: Vec<db::passcodes::AttemptRow>,
    audit: Vec<db::audit::Row>,
    /// Where the next (older) page of each history starts, if there is one.
    attempts_older: Option<i64>,
    audit_older: Option<i64>,
    /// Whether a history is showing an older page (so it offers the newest again).
    history: HistoryQuery,
    can_manage_readers: bool,
    can_issue: bool,
    enroll_error: Option<String>,
    /// The clinic's tickets, for the support desk.
    tickets: Option<Vec<super::desk::TicketRow>>,
}

/// Which page of the clinic page's histories to show: entries older than these ids.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub struct HistoryQuery {
    pub attempts_before: Option<i64>,
    pub audit_before: Option<i64>,
}

/// Entries per page of each history.
const HISTORY_PAGE: i64 = 20;

/// A page of rows fetched one beyond the page size: whether more exist, and from which id.
fn paged<T>(mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let more = rows.len() > usize::try_from(HISTORY_PAGE).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(HISTORY_PAGE).unwrap_or(usize::MAX));
    let older = more.then(|| rows.last().map(&id)).flatten();
    (rows, older)
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    history: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_view_clinic).await?;
    let history = history.map(|Query(h)| h).unwrap_or_default();
    render_show(&state, &ctx, &user, clinic, None, history).await
}

pub async fn render_show(
    state: &AppState,
    ctx: &Ctx,
    user: &crate::auth::SignedIn,
    clinic: db::clinics::Clinic,
    enroll_error: Option<String>,
    history: HistoryQuery,
) -> Result<Response, AppError> {
    let actor = user.actor();
    let tickets = if actor.can_use_desk() {
        let filter = db::tickets::Filter {
            clinic_id: Some(clinic.id),
            ..Default::default()
        };
        let now = db::now();
        let rows = db::tickets::search(&state.pool, &filter, db::tickets::Sort::Newest, 20, 0).await?;
        Some(rows.into_iter().map(|t| super::desk::TicketRow::new(t, now)).collect())
    } else {
        None
    };
    let (attempts, attempts_older) = paged(
        db::passcodes::attempts(&state.pool, clinic.id, history.attempts_before, HISTORY_PAGE + 1).await?,
        |a| a.id,
    );
    let (audit, audit_older) = paged(
        db::audit::for_clinic(&state.pool, clinic.id, history.audit_before, HISTORY_PAGE + 1).await?,
        |a| a.id,
    );
    let page = ShowPage {
        tickets,
        page: Page::new(ctx).await?,
        current: db::passcodes::current(&state.pool, clinic.id).await?,
        readers: reader_views(state, &clinic).await?,
        attempts,
        audit,
        attempts_older,
        audit_older,
        history,
        can_manage_readers: actor.can_manage_readers(clinic.id),
        can_issue: actor.can_issue_passcode(clinic.id),
        enroll_error,
        clinic,
    };
    let status = if page.enroll_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}
