//! Agents and operators manage their own personal API tokens.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::desk::desk_user;
use super::{HtmlForm, Page, Question, ask, done, is_confirmed, render_no_store};
use crate::auth::Ctx;
use crate::db;
use crate::domain::{Email, bounded_text};
use crate::error::AppError;
use crate::services::accounts::{self, AccountError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account/tokens.html")]
struct TokensPage {
    page: Page,
    tokens: Vec<db::api_tokens::Listed>,
    new_token: Option<String>,
    error: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    ctx: &Ctx,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let user = desk_user(ctx)?;
    let tokens = db::api_tokens::for_user(&state.pool, user.id).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = TokensPage {
        page: Page::new(ctx).await?,
        tokens,
        new_token,
        error,
    };
    Ok((status, render_no_store(&page)?).into_response())
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    tokens_page(&state, &ctx, None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<TokenForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = desk_user(&ctx)?.clone();
    let Some(name) = bounded_text(&form.name, 60) else {
        return tokens_page(&state, &ctx, None, Some(ctx.t("tokens.name_invalid").to_owned())).await;
    };
    let email = Email::parse(&user.email).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    match accounts::issue_api_token(&state.pool, &user.audit_actor(), &email, &name).await {
        Ok(issued) => tokens_page(&state, &ctx, Some(issued.token.expose().clone()), None).await,
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => tokens_page(&state, &ctx, None, Some(e.localized(ctx.lang))).await,
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<RevokeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = desk_user(&ctx)?;
    if !is_confirmed(&form.confirm) {
        // Only one's own live tokens: another user's id simply matches nothing.
        let token = db::api_tokens::for_user(&state.pool, user.id)
            .await?
            .into_iter()
            .find(|t| t.id == id && t.revoked_at.is_none())
            .ok_or(AppError::NotFound)?;
        return ask(
            &ctx,
            Question {
                title: ctx.t("confirm.revoke_token_title"),
                subject: token.name,
                consequence: ctx.t("confirm.revoke_token_consequence"),
                submit: ctx.t("confirm.revoke_token_submit"),
                action: format!("/account/tokens/{id}/revoke"),
                cancel: "/account/tokens".to_owned(),
            },
        )
        .await;
    }
    // Only one's own tokens: another user's id simply matches nothing.
    if !db::api_tokens::revoke(&state.pool, id, user.id).await? {
        return Err(AppError::NotFound);
    }
    let detail = format!("token {id}");
    db::audit::record(
        &state.pool,
        db::audit::Entry {
            actor: &user.audit_actor(),
            action: "api_token.revoked",
            clinic_id: None,
            detail: &detail,
            ip: ctx.ip(),
        },
    )
    .await?;
    done(&ctx, "flash.token_revoked", "/account/tokens").await
}
