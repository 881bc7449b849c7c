//! Enrolling, revoking and re-enrolling a clinic's card readers.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::clinics::{HistoryQuery, render_show};
use super::{HtmlForm, Page, Question, ask, authorize_clinic, done, is_confirmed, render_no_store};
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
    /// The token as a QR code (inline SVG), for a reader's set-up camera or a phone.
    qr_svg: String,
}

/// `text` as a QR code in SVG, ready to inline in a page: no XML declaration, no size attributes
/// (CSS sizes it), and presentation attributes only, so the page's CSP holds.
fn qr_svg(text: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code of the device token: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .build();
    // The renderer starts with `<?xml …?>`; an inline <svg> must not.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].to_owned())
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
        qr_svg: qr_svg(enrolled.token.expose())?,
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
            HistoryQuery::default(),
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
            HistoryQuery::default(),
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
            render_show(
                &state,
                &ctx,
                &user,
                clinic,
                Some(ctx.t("reader.name_taken").to_owned()),
                HistoryQuery::default(),
            )
            .await
        }
        Err(ReaderError::NotFound) => Err(AppError::NotFound),
        Err(ReaderError::Internal(e)) => Err(AppError::Internal(e)),
    }
}

#[derive(Deserialize)]
pub struct ReaderActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// The clinic's (not revoked, for `revoke`) reader, or 404; then the question unless confirmed.
async fn confirm_first(
    state: &AppState,
    ctx: &Ctx,
    clinic: &db::clinics::Clinic,
    reader_id: i64,
    form: &ReaderActionForm,
    revoking: bool,
) -> Result<Option<Response>, AppError> {
    let reader = db::readers::by_id(&state.pool, reader_id)
        .await?
        .filter(|r| r.clinic_id == clinic.id && !(revoking && r.revoked_at.is_some()))
        .ok_or(AppError::NotFound)?;
    if is_confirmed(&form.confirm) {
        return Ok(None);
    }
    let (verb, title, consequence, submit) = if revoking {
        (
            "revoke",
            "confirm.revoke_reader_title",
            "confirm.revoke_reader_consequence",
            "confirm.revoke_reader_submit",
        )
    } else {
        (
            "reenroll",
            "confirm.reenroll_reader_title",
            "confirm.reenroll_reader_consequence",
            "confirm.reenroll_reader_submit",
        )
    };
    let question = Question {
        title: ctx.t(title),
        subject: format!("{} — {}", reader.name, clinic.name),
        consequence: ctx.t(consequence),
        submit: ctx.t(submit),
        action: format!("/clinics/{}/readers/{reader_id}/{verb}", clinic.code),
        cancel: format!("/clinics/{}", clinic.code),
    };
    ask(ctx, question).await.map(Some)
}

pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((code, reader_id)): Path<(String, i64)>,
    HtmlForm(form): HtmlForm<ReaderActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let (user, clinic) = authorize_clinic(&state, &ctx, &code, Actor::can_manage_readers).await?;
    if let Some(question) = confirm_first(&state, &ctx, &clinic, reader_id, &form, true).await? {
        return Ok(question);
    }
    match readers::revoke(&state.pool, &user.audit_actor(), clinic.id, reader_id, ctx.ip()).await {
        Ok(_) => {
            state.sync_live().await;
            done(&ctx, "flash.reader_revoked", &format!("/clinics/{}", clinic.code)).await
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
    if let Some(question) = confirm_first(&state, &ctx, &clinic, reader_id, &form, false).await? {
        return Ok(question);
    }
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

#[cfg(test)]
mod qr_tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_inline_svg_without_styles() {
        let svg = qr_svg("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123").unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("style=") && !svg.contains("<script"));
    }
}
