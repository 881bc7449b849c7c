//! Every signed-in user chooses which messages the portal mails them and in which language.
//! Security notices about one's own account are listed but cannot be turned off.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{HtmlForm, Page, done, render};
use crate::auth::Ctx;
use crate::db;
use crate::domain::notification::Kind;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;

/// A kind as the page lists it.
pub struct Row {
    pub kind: &'static str,
    pub label: String,
    pub receives: bool,
    pub locked: bool,
}

#[derive(Template)]
#[template(path = "account/notifications.html")]
struct NotificationsPage {
    page: Page,
    rows: Vec<Row>,
    language: String,
}

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let off = db::notifications::optouts(&state.pool, user.id).await?;
    let language = db::notifications::language(&state.pool, user.id)
        .await?
        .unwrap_or_else(|| "ja".to_owned());
    let rows = Kind::for_role(user.role)
        .map(|kind| Row {
            kind: kind.as_str(),
            label: kind.label_key(),
            receives: !kind.can_opt_out() || !off.iter().any(|k| k == kind.as_str()),
            locked: !kind.can_opt_out(),
        })
        .collect();
    render(&NotificationsPage {
        page: Page::new(&ctx).await?,
        rows,
        language,
    })
}

/// `csrf`, `language` (`ja`/`en`) and `receive_<kind>=on` for each kind kept on; a kind of the
/// user's role without its box is turned off.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    ctx.check_csrf(form.get("csrf").map_or("", String::as_str)).await?;
    let user = ctx.require_user()?;
    let language = Lang::parse(form.get("language").map_or("", String::as_str))
        .ok_or_else(|| AppError::BadRequest(ctx.t("form.invalid_choice").to_owned()))?;
    let off: Vec<&str> = Kind::for_role(user.role)
        .filter(|kind| kind.can_opt_out() && !form.contains_key(&format!("receive_{}", kind.as_str())))
        .map(Kind::as_str)
        .collect();
    let mut tx = db::begin_write(&state.pool).await?;
    db::notifications::set_optouts(&mut tx, user.id, &off, db::now()).await?;
    db::notifications::set_language(&mut tx, user.id, language.code()).await?;
    let detail = db::audit::fields(&[("off", &off.join(",")), ("language", language.code())]);
    db::audit::record(
        &mut tx,
        db::audit::Entry {
            actor: &user.audit_actor(),
            action: "notifications.changed",
            clinic_id: user.clinic_id,
            detail: &detail,
            ip: ctx.ip(),
        },
    )
    .await?;
    tx.commit().await?;
    done(&ctx, "flash.notifications_saved", "/account/notifications").await
}
