//! The second factor: `/account/mfa` (set up with a QR code and a current code, recovery codes
//! shown once, renew them, turn it off where allowed), the sign-in step after the password
//! (`/login/mfa`), an operator's reset (`/users/{id}/mfa/reset`) and the operators' policy
//! (`/desk/settings/mfa`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{HtmlForm, Page, done, render_no_store};
use crate::auth::{Ctx, device_cookie, throttle, totp};
use crate::db::{self, audit};
use crate::domain::LocalPath;
use crate::error::AppError;
use crate::services::totp::{self as second_factor, Checked, EnableOutcome};
use crate::state::AppState;

/// Wrong codes after a right password: fewer than for passwords, since each guess has three
/// chances in a million and the password is already known to whoever guesses.
pub const SECOND_FACTOR: throttle::Limits = throttle::Limits {
    free: 3,
    per_hour: 10,
    max_delay_s: 300,
};

pub fn throttle_key(user_id: i64) -> String {
    format!("totp:{user_id}")
}

#[derive(Template)]
#[template(path = "account/mfa.html")]
struct MfaPage {
    page: Page,
    next: String,
    /// Set up already: since when, and how many recovery codes are left.
    enabled_at: Option<i64>,
    recovery_left: i64,
    required: bool,
    /// While setting up: the secret as text and as a QR code, and which secret the page shows.
    secret: String,
    qr_svg: String,
    created_at: i64,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "account/mfa_recovery.html")]
struct RecoveryCodesPage {
    page: Page,
    codes: Vec<String>,
    next: String,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

fn checked_next(next: &str) -> String {
    LocalPath::parse(next)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    mfa_page(&state, &ctx, &checked_next(&next), None, StatusCode::OK).await
}

async fn mfa_page(
    state: &AppState,
    ctx: &Ctx,
    next: &str,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let row = db::totp::get(&state.pool, user.id).await?;
    let enabled_at = row.as_ref().and_then(|r| r.enabled_at);
    let mut page = MfaPage {
        page: Page::new(ctx).await?,
        next: next.to_owned(),
        enabled_at,
        recovery_left: 0,
        required: user.totp_required,
        secret: String::new(),
        qr_svg: String::new(),
        created_at: 0,
        error,
    };
    if enabled_at.is_some() {
        page.recovery_left = db::totp::unused_recovery_codes(&state.pool, user.id).await?;
    } else if let Some(setup) = second_factor::pending_or_new(&state.pool, &state.sealing, user.id, &user.email).await?
    {
        page.qr_svg = totp::qr_svg(setup.uri.expose())?;
        page.secret = setup.secret.expose().to_owned();
        page.created_at = setup.created_at;
    } else {
        // Turned on from another tab a moment ago.
        page.enabled_at = Some(db::now());
    }
    // The secret is on the page until it is confirmed: never cached.
    Ok((status, render_no_store(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct EnableForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    created_at: i64,
    #[serde(default)]
    next: String,
}

/// Turns the second factor on once a current code proves the app holds the secret; shows the
/// recovery codes this once.
pub async fn enable(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<EnableForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    let next = checked_next(&form.next);
    let outcome = second_factor::enable(
        &state.pool,
        &state.sealing,
        &user.audit_actor(),
        user.id,
        form.created_at,
        &form.code,
        ctx.ip(),
    )
    .await?;
    match outcome {
        EnableOutcome::Enabled(codes) => {
            ctx.second_factor_proved().await?;
            recovery_codes_page(&ctx, codes, next).await
        }
        EnableOutcome::WrongCode => {
            mfa_page(
                &state,
                &ctx,
                &next,
                Some("mfa.wrong_code"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        EnableOutcome::Stale => mfa_page(&state, &ctx, &next, Some("mfa.stale"), StatusCode::CONFLICT).await,
    }
}

async fn recovery_codes_page(
    ctx: &Ctx,
    codes: Vec<crate::domain::Secret<String>>,
    next: String,
) -> Result<Response, AppError> {
    render_no_store(&RecoveryCodesPage {
        page: Page::new(ctx).await?,
        codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
        next: if next.is_empty() { "/".to_owned() } else { next },
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// Checks a code for a signed-in user (renewing recovery codes, turning the factor off,
/// issuing a passcode), throttled like the sign-in step. `Ok(false)`: wrong.
pub async fn check_signed_in(state: &AppState, ctx: &Ctx, user_id: i64, code: &str) -> Result<bool, AppError> {
    let key = throttle_key(user_id);
    let reservation = match throttle::reserve(&state.pool, &[(key.as_str(), SECOND_FACTOR)]).await? {
        Ok(reservation) => reservation,
        Err(wait) => return Err(AppError::TooManyRequests { retry_after_s: wait }),
    };
    match second_factor::check(&state.pool, &state.sealing, user_id, code).await? {
        Checked::Code | Checked::RecoveryCode => {
            throttle::release(&state.pool, reservation).await?;
            db::login_failures::clear(&state.pool, &key).await?;
            ctx.second_factor_proved().await?;
            Ok(true)
        }
        Checked::Wrong | Checked::Reused => Ok(false),
    }
}

async fn wrong_code(state: &AppState, ctx: &Ctx) -> Result<Response, AppError> {
    mfa_page(state, ctx, "", Some("mfa.wrong_code"), StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn renew_recovery_codes(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !check_signed_in(&state, &ctx, user.id, &form.code).await? {
        return wrong_code(&state, &ctx).await;
    }
    match second_factor::renew_recovery_codes(&state.pool, &user.audit_actor(), user.id, ctx.ip()).await? {
        Some(codes) => recovery_codes_page(&ctx, codes, "/account/mfa".to_owned()).await,
        None => Ok(Redirect::to("/account/mfa").into_response()),
    }
}

/// Turns one's own second factor off, where the role does not require it.
pub async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if user.totp_required {
        return Err(AppError::Forbidden);
    }
    if !check_signed_in(&state, &ctx, user.id, &form.code).await? {
        return wrong_code(&state, &ctx).await;
    }
    second_factor::disable(&state.pool, &user.audit_actor(), user.id, ctx.ip()).await?;
    done(&ctx, "mfa.disabled", "/account/mfa").await
}

#[derive(Template)]
#[template(path = "account/login_mfa.html")]
struct LoginCodePage {
    page: Page,
    error: Option<&'static str>,
}

/// The second step of signing in, after a right password.
pub async fn login_step(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    if ctx.pending_sign_in(state.config.totp_pending_s).await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    render_no_store(&LoginCodePage {
        page: Page::new(&ctx).await?,
        error: None,
    })
}

pub async fn login_code(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let Some(pending) = ctx.pending_sign_in(state.config.totp_pending_s).await? else {
        // Expired (five minutes), or never started: the password again.
        ctx.forget_pending_sign_in().await?;
        return Ok(Redirect::to("/login").into_response());
    };
    let key = throttle_key(pending.user_id);
    let address_key = throttle::address_key(ctx.ip().unwrap_or("unknown"));
    let limits = [(key.as_str(), SECOND_FACTOR), (address_key.as_str(), throttle::ADDRESS)];
    let reservation = match throttle::reserve(&state.pool, &limits).await? {
        Ok(reservation) => reservation,
        Err(wait) => {
            let mut response = refused(&ctx, StatusCode::TOO_MANY_REQUESTS, "login.throttled").await?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(wait));
            return Ok(response);
        }
    };
    // The account may have been disabled, or its password changed, since the password step.
    let user = db::users::by_id(&state.pool, pending.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none() && u.session_generation == pending.generation);
    let Some(user) = user else {
        ctx.forget_pending_sign_in().await?;
        return Ok(Redirect::to("/login").into_response());
    };
    // An operator reset the second factor since the password step: no code can be right, so
    // the password again (the sign-in then goes on without a code, or to its set-up).
    if !db::totp::is_enabled(&state.pool, user.id).await? {
        throttle::release(&state.pool, reservation).await?;
        ctx.forget_pending_sign_in().await?;
        return Ok(Redirect::to("/login").into_response());
    }
    let actor = audit::Actor::User {
        id: user.id,
        email: user.email.clone(),
    };
    let checked = second_factor::check(&state.pool, &state.sealing, user.id, &form.code).await?;
    if matches!(checked, Checked::Wrong | Checked::Reused) {
        state.metrics.signed_in("failed");
        // The reservation stays: it is this failure. The one that is the hour's last free
        // failure tells the owner: of failures racing in parallel, exactly one has that rank.
        let rank = db::login_failures::rank(&state.pool, &key, db::now() - 3600, reservation.first()).await?;
        let tell = (rank == SECOND_FACTOR.free).then_some(rank);
        let wrong = second_factor::WrongCode {
            user: &user,
            reused: checked == Checked::Reused,
            tell_owner_at: tell,
        };
        second_factor::record_wrong_code(&state.pool, &wrong, ctx.ip()).await?;
        if tell.is_some() {
            state.mail_wake.notify_one();
        }
        return refused(&ctx, StatusCode::UNAUTHORIZED, "mfa.wrong_code").await;
    }
    throttle::release(&state.pool, reservation).await?;
    db::login_failures::clear(&state.pool, &key).await?;
    ctx.sign_in(user.id, user.session_generation).await?;
    ctx.second_factor_proved().await?;
    if checked == Checked::RecoveryCode {
        record(&state, &ctx, &actor, "totp.recovery_code_used", user.clinic_id, "").await?;
    }
    record(&state, &ctx, &actor, "sign_in", user.clinic_id, "").await?;
    state.metrics.signed_in("signed_in");
    let mut response = Redirect::to(&LocalPath::or(&pending.next, "/")).into_response();
    let https = state.config.uses_https();
    let name = if https {
        device_cookie::COOKIE_HTTPS
    } else {
        device_cookie::COOKIE
    };
    let value = state.device_key.issue(user.id, user.session_generation)?;
    let cookie = crate::auth::cookies::set(name, &value, "/", Some(device_cookie::MAX_AGE_S), https);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn refused(ctx: &Ctx, status: StatusCode, error: &'static str) -> Result<Response, AppError> {
    Ok((
        status,
        render_no_store(&LoginCodePage {
            page: Page::new(ctx).await?,
            error: Some(error),
        })?,
    )
        .into_response())
}

async fn record(
    state: &AppState,
    ctx: &Ctx,
    actor: &audit::Actor,
    action: &str,
    clinic_id: Option<i64>,
    detail: &str,
) -> Result<(), AppError> {
    let entry = audit::Entry {
        actor,
        action,
        clinic_id,
        detail,
        ip: ctx.ip(),
    };
    audit::record(&state.pool, entry).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// An operator removes a user's second factor (lost phone), after a confirmation; the user is
/// mailed.
pub async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<ResetForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !user.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    let target = db::users::by_id(&state.pool, id).await?.ok_or(AppError::NotFound)?;
    if !super::is_confirmed(&form.confirm) {
        return super::ask(
            &ctx,
            super::Question {
                title: ctx.t("confirm.mfa_reset_title"),
                subject: target.email,
                consequence: ctx.t("confirm.mfa_reset_consequence"),
                submit: ctx.t("confirm.mfa_reset_submit"),
                action: format!("/users/{id}/mfa/reset"),
                cancel: "/users".to_owned(),
            },
        )
        .await;
    }
    if second_factor::reset(&state.pool, &user.audit_actor(), &target, ctx.ip()).await? {
        state.mail_wake.notify_one();
        done(&ctx, "mfa.reset_done", "/users").await
    } else {
        // Turned off meanwhile (by the user, or another operator): nothing was reset.
        done(&ctx, "mfa.reset_nothing", "/users").await
    }
}

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    required_for_all: String,
}

pub async fn set_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<PolicyForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !user.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    let on = match form.required_for_all.as_str() {
        "all" => true,
        "operators" => false,
        _ => return Err(AppError::BadRequest(ctx.t("form.invalid_choice").to_owned())),
    };
    second_factor::set_required_for_all(&state.pool, &user.audit_actor(), on, ctx.ip()).await?;
    done(&ctx, "flash.saved", "/users#mfa-policy").await
}
