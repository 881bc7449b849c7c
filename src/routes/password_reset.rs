//! 「パスワードをお忘れの方」: `/password/forgot` mails a reset link (the same answer whether or
//! not an account has the address), `/password/reset/{token}` shows the form (opening it changes
//! nothing), and the form posts the token in a hidden field to `/password/reset`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::invitations::{internal, invalid_link, link_page};
use super::{HtmlForm, Page, render};
use crate::auth::Ctx;
use crate::domain::Password;
use crate::error::AppError;
use crate::services::account_mail::{self, ResetRequest};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "password_reset/forgot.html")]
struct ForgotPage {
    page: Page,
    mail_on: bool,
    /// The request was taken (whatever became of it).
    sent: bool,
}

pub async fn forgot_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    render(&ForgotPage {
        page: Page::new(&ctx).await?,
        mail_on: state.mailer.is_some(),
        sent: false,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// Always the same page and status: whether an account has the address, is disabled, or the
/// request was throttled is never told.
pub async fn forgot(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<ForgotForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let mail_on = state.mailer.is_some();
    if mail_on {
        let outcome = account_mail::request_reset(
            &state.pool,
            &state.config.display_url(),
            &form.email,
            ctx.ip(),
            // Users have no language of their own yet (the page's is the asker's, not the owner's).
            crate::i18n::Lang::default().code(),
        )
        .await
        .map_err(internal)?;
        if outcome == ResetRequest::Mailed {
            state.mail_wake.notify_one();
        }
    }
    render(&ForgotPage {
        page: Page::new(&ctx).await?,
        mail_on,
        sent: mail_on,
    })
}

#[derive(Template)]
#[template(path = "password_reset/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    error: Option<(&'static str, &'static str)>,
}

impl ResetPage {
    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.error.filter(|(f, _)| *f == field).map(|(_, key)| key)
    }
}

async fn reset_page(
    ctx: &Ctx,
    token: String,
    error: Option<(&'static str, &'static str)>,
) -> Result<Response, AppError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&ResetPage {
        page: Page::new(ctx).await?,
        token,
        error,
    })?;
    *response.status_mut() = status;
    Ok(link_page(response))
}

pub async fn reset_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if account_mail::reset_link_is_valid(&state.pool, &token)
        .await
        .map_err(internal)?
    {
        reset_page(&ctx, token, None).await
    } else {
        invalid_link(&ctx).await
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<ResetForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    if !account_mail::reset_link_is_valid(&state.pool, &form.token)
        .await
        .map_err(internal)?
    {
        return invalid_link(&ctx).await;
    }
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(e) => return reset_page(&ctx, form.token, Some(("password", e.ui_key()))).await,
    };
    if form.password != form.password_confirm {
        return reset_page(&ctx, form.token, Some(("password_confirm", "form.password_mismatch"))).await;
    }
    let done = account_mail::reset_password(
        &state.pool,
        &state.hasher,
        &form.token,
        &password,
        ctx.ip(),
        crate::i18n::Lang::default().code(),
    )
    .await
    .map_err(internal)?;
    match done {
        Some(user_id) => {
            tracing::info!(user = user_id, "password reset through a mailed link");
            state.mail_wake.notify_one();
            // Whoever this browser was signed in as, it now signs in afresh.
            if ctx.user.is_some() {
                ctx.sign_out().await?;
            }
            ctx.flash("flash.password_set_by_link").await?;
            Ok(link_page(Redirect::to("/login").into_response()))
        }
        None => invalid_link(&ctx).await,
    }
}
