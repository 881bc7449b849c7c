//! The clinic's 目視確認用パスコード: status and history, confirm, issue (shown once).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::clinics::{ReaderView, reader_views};
use super::{HtmlForm, Page, authorize_clinic, render, render_no_store};
use crate::auth::Ctx;
use crate::auth::device_token;
use crate::db;
use crate::domain::policy::Actor;
use crate::error::AppError;
use crate::services::passcodes::{self, Outcome, Via};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "passcode/show.html")]
struct ShowPage {
    page: Page,
    clinic: db::clinics::Clinic,
    current: Option<db::passcodes::Current>,
    history: Vec<db::passcodes::HistoryRow>,
    attempts: Vec<db::passcodes::AttemptRow>,
    readers: Vec<ReaderView>,
    can_issue: bool,
    /// The rule as it stands now (operators set the number).
    lockout_rule: String,
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> Result<Response, AppError> {
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_view_passcode_history).await?;
    let page = ShowPage {
        page: Page::new(&ctx).await?,
        current: db::passcodes::current(&state.pool, clinic.id).await?,
        history: db::passcodes::history(&state.pool, clinic.id, 50).await?,
        attempts: db::passcodes::attempts(&state.pool, clinic.id, None, 50).await?,
        readers: reader_views(&state, &clinic).await?,
        can_issue: user.actor().can_issue_passcode(clinic.id),
        lockout_rule: ctx.t("passcode.lockout_rule").replace(
            "{failures}",
            &db::passcodes::failures_before_disable(&state.pool).await?.to_string(),
        ),
        clinic,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "passcode/confirm.html")]
struct ConfirmPage {
    page: Page,
    clinic: db::clinics::Clinic,
    has_current: bool,
    /// Single-use: one confirmed form issues exactly one code.
    issue_token: String,
    expired: bool,
    /// The second factor is asked again (last proved over ten minutes ago), and whether the
    /// code just typed was wrong.
    needs_code: bool,
    wrong_code: bool,
}

/// Asks before issuing: issuing invalidates the code staff are using now.
pub async fn confirm(State(state): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> Result<Response, AppError> {
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_issue_passcode).await?;
    confirm_page(&state, &ctx, user.id, clinic, false, false).await
}

/// Issuing needs a recent second factor from users who have one: proved at sign-in or here
/// within the last ten minutes.
async fn needs_code(state: &AppState, ctx: &Ctx, totp_enabled: bool) -> Result<bool, AppError> {
    Ok(totp_enabled
        && ctx
            .second_factor_age()
            .await?
            .is_none_or(|age| age > state.config.totp_recheck_s))
}

async fn confirm_page(
    state: &AppState,
    ctx: &Ctx,
    user_id: i64,
    clinic: db::clinics::Clinic,
    expired: bool,
    wrong_code: bool,
) -> Result<Response, AppError> {
    let needs_code = needs_code(state, ctx, ctx.user.as_ref().is_some_and(|u| u.totp_enabled)).await?;
    let has_current = db::passcodes::current(&state.pool, clinic.id).await?.is_some();
    let issue_token = passcodes::new_issue_token(&state.pool, clinic.id, user_id).await?;
    render_no_store(&ConfirmPage {
        page: Page::new(ctx).await?,
        clinic,
        has_current,
        issue_token: issue_token.expose().to_owned(),
        expired,
        needs_code,
        wrong_code,
    })
}

#[derive(Template)]
#[template(path = "passcode/issued.html")]
struct IssuedPage {
    page: Page,
    clinic: db::clinics::Clinic,
    code: String,
    generation: i64,
}

#[derive(Template)]
#[template(path = "passcode/already_issued.html")]
struct AlreadyIssuedPage {
    page: Page,
    clinic: db::clinics::Clinic,
    generation: Option<i64>,
    /// Whether that code is still the current one.
    still_current: bool,
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    issue_token: String,
    /// The second factor, when the confirmation page asked for it.
    #[serde(default)]
    code: String,
}

/// Issues a new code and shows it this once: the response is not cacheable, the code is in
/// no URL and not in the session, and nothing can show it again. The same confirmed form sent
/// twice (reload, double click) issues nothing the second time.
pub async fn issue(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    HtmlForm(form): HtmlForm<IssueForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_issue_passcode).await?;
    if needs_code(&state, &ctx, user.totp_enabled).await? {
        // No code at all (the last check aged past ten minutes while the page was open): ask
        // for it, without counting a wrong attempt.
        let typed = form.code.trim();
        if typed.is_empty() || !super::totp::check_signed_in(&state, &ctx, user.id, typed).await? {
            let mut response = confirm_page(&state, &ctx, user.id, clinic, false, !typed.is_empty()).await?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    }
    let issue_token = device_token::hash(form.issue_token.trim());
    let outcome = passcodes::issue(
        &state.pool,
        &state.hasher,
        &user.audit_actor(),
        clinic.id,
        Via::Web {
            user_id: user.id,
            issue_token: &issue_token,
        },
        ctx.ip(),
    )
    .await?;
    match outcome {
        Outcome::Issued(issued) => {
            state.sync_live().await;
            state.mail_wake.notify_one();
            tracing::info!(clinic = %clinic.code, generation = issued.generation, "passcode issued");
            let page = IssuedPage {
                page: Page::new(&ctx).await?,
                code: issued.code.expose().to_owned(),
                generation: issued.generation,
                clinic,
            };
            render_no_store(&page)
        }
        Outcome::AlreadyIssued { generation } => {
            let current = db::passcodes::current(&state.pool, clinic.id)
                .await?
                .map(|p| p.generation);
            render_no_store(&AlreadyIssuedPage {
                page: Page::new(&ctx).await?,
                still_current: generation.is_some() && current == generation,
                generation,
                clinic,
            })
        }
        Outcome::ConfirmationExpired => confirm_page(&state, &ctx, user.id, clinic, true, false).await,
    }
}
