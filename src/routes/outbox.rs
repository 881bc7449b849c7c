//! The operators' view of the mail outbox: what was queued, sent or is failing, and why.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Page, render};
use crate::auth::Ctx;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// Messages shown, newest first.
const SHOWN: i64 = 200;

#[derive(Template)]
#[template(path = "outbox/list.html")]
struct OutboxPage {
    page: Page,
    mail_on: bool,
    messages: Vec<db::outbox::Listed>,
}

impl OutboxPage {
    fn status_key(status: &str) -> &'static str {
        match status {
            "sent" => "outbox.status.sent",
            "failing" => "outbox.status.failing",
            _ => "outbox.status.queued",
        }
    }
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if !ctx.require_user()?.actor().can_view_outbox() {
        return Err(AppError::Forbidden);
    }
    let messages = db::outbox::recent(&state.pool, SHOWN).await?;
    render(&OutboxPage {
        page: Page::new(&ctx).await?,
        mail_on: state.mailer.is_some(),
        messages,
    })
}
