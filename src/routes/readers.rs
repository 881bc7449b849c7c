//! Enrolling, revoking and re-enrolling a clinic's card readers.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::clinics::render_show;
use super::{HtmlForm, Page, authorize_clinic, render_no_store};
use crate::auth::Ctx;
use crate::db;
use crate::domain::policy::Actor;
use crate::domain::{InstallType, bounded_text};
use crate::error::AppError;
use crate::services::readers::{self, Enrolled, ReaderError};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    install_type: String,
}

#[derive(Template)]
#[template(path = "readers/token.html")]
struct TokenPage {
    page: Page,
    clinic: db::clinics::Clinic,
    reader_name: String,
    token: String,
}

async fn show_token(
    ctx: &Ctx,
    clinic: db::clinics::Clinic,
    reader_name: String,
    enrolled: Enrolled,
) -> Result<Response, AppError> {
    let page = TokenPage {
        page: Page::new(ctx).await?,
        clinic,
        reader_name,
        token: enrolled.token.expose().clone(),
    };
    render_no_store(&page)
}

pub async fn enroll(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    HtmlForm(form): HtmlForm<EnrollForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_manage_readers).await?;
    let Some(name) = bounded_text(&form.name, 60) else {
        return render_show(
            &state,
            &ctx,
            &user,
            clinic,
            Some(ctx.t("reader.name_invalid").to_owned()),
        )
        .await;
    };
    let Some(install_type) = InstallType::parse(&form.install_type) else {
        return render_show(
            &state,
            &ctx,
            &user,
            clinic,
            Some(ctx.t("reader.install_invalid").to_owned()),
        )
        .await;
    };
    match readers::enroll(
        &state.pool,
        &user.audit_actor(),
        clinic.id,
        &name,
        install_type,
        ctx.ip(),
    )
    .await
    {
        Ok(enrolled) => {
            state.sync_live().await;
            show_token(&ctx, clinic, name, enrolled).await
        }
        Err(ReaderError::DuplicateName(_)) => {
            render_show(&state, &ctx, &user, clinic, Some(ctx.t("reader.name_taken").to_owned())).await
        }
        Err(ReaderError::NotFound) => Err(AppError::NotFound),
        Err(ReaderError::Internal(e)) => Err(AppError::Internal(e)),
    }
}

#[derive(Deserialize)]
pub struct ReaderActionForm {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((code, reader_id)): Path<(String, i64)>,
    HtmlForm(form): HtmlForm<ReaderActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_manage_readers).await?;
    match readers::revoke(&state.pool, &user.audit_actor(), clinic.id, reader_id, ctx.ip()).await {
        Ok(_) => {
            state.sync_live().await;
            Ok(Redirect::to(&format!("/clinics/{}", clinic.code)).into_response())
        }
        Err(ReaderError::Internal(e)) => Err(AppError::Internal(e)),
        Err(_) => Err(AppError::NotFound),
    }
}

pub async fn reenroll(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((code, reader_id)): Path<(String, i64)>,
    HtmlForm(form): HtmlForm<ReaderActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_manage_readers).await?;
    match readers::reenroll(&state.pool, &user.audit_actor(), clinic.id, reader_id, ctx.ip()).await {
        Ok(enrolled) => {
            state.sync_live().await;
            let name = db::readers::by_id(&state.pool, reader_id)
                .await?
                .map(|r| r.name)
                .unwrap_or_default();
            show_token(&ctx, clinic, name, enrolled).await
        }
        Err(ReaderError::Internal(e)) => Err(AppError::Internal(e)),
        Err(_) => Err(AppError::NotFound),
    }
}
