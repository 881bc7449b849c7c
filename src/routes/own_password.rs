//! `/account/password`: every signed-in user changes their own password (the current one
//! required). A temporary password (set by an operator on the web) leads here at sign-in.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{HtmlForm, Page, render};
use crate::auth::{Ctx, throttle};
use crate::db;
use crate::domain::{LocalPath, Password};
use crate::error::AppError;
use crate::services::accounts::{self, AccountError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    page: Page,
    /// The user must change it before going on (operator-set password).
    required: bool,
    next: String,
    /// Which field the error concerns, and its UI-string key.
    error: Option<(&'static str, &'static str)>,
}

impl PasswordPage {
    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.error.filter(|(f, _)| *f == field).map(|(_, key)| key)
    }
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
    ctx: Ctx,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    render(&PasswordPage {
        required: user.must_change_password,
        next: checked_next(&next),
        page: Page::new(&ctx).await?,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
    #[serde(default)]
    next: String,
}

/// Longest password we will hash; longer input is refused without argon2 work.
const MAX_PASSWORD_BYTES: usize = 1024;

pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<PasswordForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?.clone();
    let refuse = |field: &'static str, key: &'static str, status: StatusCode| {
        let ctx = &ctx;
        let next = checked_next(&form.next);
        async move {
            let page = PasswordPage {
                page: Page::new(ctx).await?,
                required: user.must_change_password,
                next,
                error: Some((field, key)),
            };
            let mut response = render(&page)?;
            *response.status_mut() = status;
            Ok::<_, AppError>(response)
        }
    };
    let new = match Password::parse(&form.new_password) {
        Ok(p) => p,
        Err(e) => return refuse("new_password", e.ui_key(), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    if form.new_password != form.new_password_confirm {
        return refuse(
            "new_password_confirm",
            "password.err_mismatch",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if form.current_password.len() > MAX_PASSWORD_BYTES {
        return refuse(
            "current_password",
            "password.err_wrong_current",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Guessing the current password from a session left open is throttled like sign-in.
    let key = format!("password_change:{}", user.id);
    let reservation = match throttle::reserve(&state.pool, &[(key.as_str(), throttle::ACCOUNT)]).await? {
        Ok(reservation) => reservation,
        Err(wait) => {
            let mut response = refuse("current_password", "password.throttled", StatusCode::TOO_MANY_REQUESTS).await?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Ok(response);
        }
    };
    match accounts::change_own_password(
        &state.pool,
        &state.hasher,
        user.id,
        &form.current_password,
        &new,
        ctx.ip(),
    )
    .await
    {
        Ok(generation) => {
            throttle::release(&state.pool, reservation).await?;
            db::login_failures::clear(&state.pool, &key).await?;
            ctx.password_changed(generation).await?;
            ctx.flash("password.changed").await?;
            tracing::info!(user = user.id, "password changed");
            Ok(Redirect::to(&LocalPath::or(&form.next, "/")).into_response())
        }
        Err(AccountError::WrongPassword) => {
            // The reservation stays: it is this failure.
            refuse(
                "current_password",
                "password.err_wrong_current",
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AccountError::SamePassword) => {
            throttle::release(&state.pool, reservation).await?;
            refuse("new_password", "password.err_same", StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(other) => Err(AppError::Internal(anyhow::anyhow!("changing a password: {other}"))),
    }
}
