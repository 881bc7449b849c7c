//! Home, sign-in and sign-out, first-run setup, and the language switch.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{HtmlForm, Page, render};
use crate::auth::{Ctx, device_cookie, throttle};
use crate::db::{self, audit};
use crate::domain::{Email, LocalPath, Password, Role};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::services::accounts::{self, AccountError};
use crate::state::AppState;

pub async fn home(ctx: Ctx) -> Result<Redirect, AppError> {
    let user = ctx.require_user()?;
    // Each role starts where its work is.
    Ok(match (&user.clinic_code, user.role) {
        (Some(code), _) => Redirect::to(&format!("/clinics/{code}")),
        (None, Role::Agent) => Redirect::to("/desk"),
        (None, _) => Redirect::to("/clinics"),
    })
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    error: Option<&'static str>,
    /// Where to go after signing in (a checked local path, or empty).
    next: String,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

pub async fn login_page(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    let next = LocalPath::parse(&next)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if ctx.user.is_some() {
        return Ok(Redirect::to(if next.is_empty() { "/" } else { &next }).into_response());
    }
    if needs_setup(&state).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    render(&LoginPage {
        page: Page::new(&ctx).await?,
        email: String::new(),
        error: None,
        next,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Longest password we will hash; longer input is refused without argon2 work.
const MAX_PASSWORD_BYTES: usize = 1024;

pub async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<LoginForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    // An e-mail address has at most 254 characters: longer input is cut before it is counted,
    // looked up or logged.
    let typed_email: String = form.email.trim().to_lowercase().chars().take(254).collect();
    let user = match Email::parse(&typed_email) {
        Ok(email) => db::users::by_email(&state.pool, email.as_str()).await?,
        Err(_) => None,
    };
    // A browser that signed in to this account before has its own allowance (device cookie);
    // any other is throttled per account, so strangers' guesses never lock the owner out.
    let https = state.config.uses_https();
    let device_cookie = if https {
        device_cookie::COOKIE_HTTPS
    } else {
        device_cookie::COOKIE
    };
    let known_device = ctx
        .cookie(device_cookie)
        .and_then(|value| state.device_key.verify(value))
        .filter(|d| user.as_ref().is_some_and(|u| d.vouches_for(u.id, u.session_generation)));
    let (first_key, first_limits) = match &known_device {
        Some(device) => (device.throttle_key(), device_cookie::DEVICE),
        None => (throttle::account_key(&typed_email), throttle::ACCOUNT),
    };
    let address_key = throttle::address_key(ctx.ip().unwrap_or("unknown"));
    let limits = [
        (first_key.as_str(), first_limits),
        (address_key.as_str(), throttle::ADDRESS),
    ];

    let reservation = match throttle::reserve(&state.pool, &limits).await? {
        Ok(reservation) => reservation,
        Err(wait) => {
            state.metrics.signed_in("throttled");
            return throttled(&ctx, &state, &form, &typed_email, wait).await;
        }
    };

    let password = if form.password.len() <= MAX_PASSWORD_BYTES {
        form.password.as_str()
    } else {
        ""
    };
    // Always one argon2 verification, against a dummy hash when there is no such account.
    let verified = state
        .hasher
        .verify_password(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let user = user.filter(|u| verified && u.disabled_at.is_none());
    let Some(user) = user else {
        // The reservation stays: it is this failure.
        audit::record(
            &state.pool,
            audit::Entry {
                actor: &audit::Actor::Anonymous,
                action: "sign_in.failed",
                clinic_id: None,
                detail: &typed_email,
                ip: ctx.ip(),
            },
        )
        .await?;
        state.metrics.signed_in("failed");
        return login_failed(&ctx, &form, StatusCode::UNAUTHORIZED, "login.failed").await;
    };

    throttle::release(&state.pool, reservation).await?;
    // The right password ends the delay of the key it was counted under: the account's for an
    // unknown browser, only this browser's own for a known one.
    db::login_failures::clear(&state.pool, &first_key).await?;
    if db::totp::is_enabled(&state.pool, user.id).await? {
        // Not signed in yet: the code comes next (`routes::totp::login_code`).
        let next = LocalPath::or(&form.next, "/");
        ctx.await_second_factor(user.id, user.session_generation, &next).await?;
        return Ok(Redirect::to("/login/mfa").into_response());
    }
    state.metrics.signed_in("signed_in");
    ctx.sign_in(user.id, user.session_generation).await?;
    let actor = audit::Actor::User {
        id: user.id,
        email: user.email.clone(),
    };
    audit::record(
        &state.pool,
        audit::Entry {
            actor: &actor,
            action: "sign_in",
            clinic_id: user.clinic_id,
            detail: "",
            ip: ctx.ip(),
        },
    )
    .await?;
    let mut response = Redirect::to(&LocalPath::or(&form.next, "/")).into_response();
    // A fresh device cookie at each sign-in: the browser is known for another 180 days.
    let value = state.device_key.issue(user.id, user.session_generation)?;
    let cookie = crate::auth::cookies::set(device_cookie, &value, "/", Some(device_cookie::MAX_AGE_S), https);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn throttled(
    ctx: &Ctx,
    state: &AppState,
    form: &LoginForm,
    email: &str,
    wait: u64,
) -> Result<Response, AppError> {
    // One audit entry per client address and hour (the first refusal); later ones only count.
    let address = throttle::address_key(ctx.ip().unwrap_or("unknown"));
    let hour = db::now() / 3600 * 3600;
    if db::login_failures::count_throttled(&state.pool, &address, hour).await? == 1 {
        let detail = format!("{email} throttled for {wait}s");
        audit::record(
            &state.pool,
            audit::Entry {
                actor: &audit::Actor::Anonymous,
                action: "sign_in.throttled",
                clinic_id: None,
                detail: &detail,
                ip: ctx.ip(),
            },
        )
        .await?;
    }
    let mut response = login_failed(ctx, form, StatusCode::TOO_MANY_REQUESTS, "login.throttled").await?;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    Ok(response)
}

/// One generic message whatever went wrong, so the page never tells whether an account exists.
async fn login_failed(
    ctx: &Ctx,
    form: &LoginForm,
    status: StatusCode,
    error: &'static str,
) -> Result<Response, AppError> {
    let page = LoginPage {
        page: Page::new(ctx).await?,
        email: form.email.trim().to_owned(),
        error: Some(error),
        next: LocalPath::parse(&form.next)
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<CsrfOnly>,
) -> Result<Redirect, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    if let Some(user) = &ctx.user {
        audit::record(
            &state.pool,
            audit::Entry {
                actor: &user.audit_actor(),
                action: "sign_out",
                clinic_id: user.clinic_id,
                detail: "",
                ip: ctx.ip(),
            },
        )
        .await?;
    }
    ctx.sign_out().await?;
    Ok(Redirect::to("/login"))
}

/// Setup stays open only while no account exists and a process offers a token (in the
/// database, so any process answers alike); an account created from the command line, even
/// while the server runs, closes it.
async fn needs_setup(state: &AppState) -> Result<bool, AppError> {
    Ok(db::users::count(&state.pool).await? == 0 && db::setup_tokens::any(&state.pool).await?)
}

#[derive(Template)]
#[template(path = "account/setup.html")]
struct SetupPage {
    page: Page,
    email: String,
    error: Option<String>,
}

pub async fn setup_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if !needs_setup(&state).await? {
        return Err(AppError::NotFound);
    }
    render(&SetupPage {
        page: Page::new(&ctx).await?,
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    setup_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// Creates the first operator account with the one-time token printed at start-up.
pub async fn setup(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<SetupForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    if !needs_setup(&state).await? {
        return Err(AppError::NotFound);
    }
    // Only the token's SHA-256 is stored; looking the hash up tells nothing about the token.
    let token_hash = crate::auth::device_token::hash(form.setup_token.trim());
    let address_key = throttle::address_key(ctx.ip().unwrap_or("unknown"));
    let reservation = match throttle::reserve(&state.pool, &[(address_key.as_str(), throttle::ACCOUNT)]).await? {
        Ok(reservation) => reservation,
        Err(wait) => return Err(AppError::TooManyRequests { retry_after_s: wait }),
    };
    let invalid = |error: String| async {
        let page = SetupPage {
            page: Page::new(&ctx).await?,
            email: form.email.trim().to_owned(),
            error: Some(error),
        };
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok::<_, AppError>(response)
    };
    if !db::setup_tokens::exists(&state.pool, &token_hash).await? {
        // A parallel setup may have just finished and consumed every token: then setup is
        // over (404, as for anyone who comes later), not a wrong token.
        if !needs_setup(&state).await? {
            return Err(AppError::NotFound);
        }
        return invalid(ctx.t("setup.bad_token").to_owned()).await;
    }
    // The right token is no failed guess; mistakes in the other fields are not either.
    throttle::release(&state.pool, reservation).await?;
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(_) => return invalid(ctx.t("form.email_invalid").to_owned()).await,
    };
    if form.password != form.password_confirm {
        return invalid(ctx.t("form.password_mismatch").to_owned()).await;
    }
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(e) => return invalid(ctx.t(e.ui_key()).to_owned()).await,
    };
    // The token is consumed in the transaction that creates the operator: two racing setups,
    // on one process or two, create one operator, and the other finds setup over.
    let user_id =
        match accounts::create_first_operator(&state.pool, &state.hasher, &token_hash, &email, &password).await {
            Ok(Some(id)) => id,
            Ok(None) => return Err(AppError::NotFound),
            Err(AccountError::Internal(e)) => return Err(AppError::Internal(e)),
            Err(e) => return invalid(e.localized(ctx.lang)).await,
        };
    tracing::info!(user = user_id, "first operator created through /setup");
    ctx.sign_in(user_id, 0).await?;
    Ok(Redirect::to("/clinics").into_response())
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

pub async fn set_language(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<LanguageForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let lang = Lang::parse(&form.lang).ok_or_else(|| AppError::BadRequest(ctx.t("form.invalid_choice").to_owned()))?;
    // Only local paths: no open redirect.
    let next = LocalPath::or(&form.next, "/");
    // A signed-in user's choice is also the language their mail comes in (users.language). A
    // database that cannot be written does not stop the page's language from switching.
    if let Some(user) = &ctx.user
        && let Err(e) = db::notifications::set_language(&state.pool, user.id, lang.code()).await
    {
        tracing::warn!(error = ?e, "storing the mail language failed");
    }
    let cookie = crate::auth::cookies::set("lang", lang.code(), "/", Some(31_536_000), state.config.uses_https());
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}
