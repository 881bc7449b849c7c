//! The operators' view of the mail outbox: how many messages are queued, sent or failing; the
//! failing and queued ones first (so none drops off the page behind newer sent mail), sent ones
//! a page at a time; and putting a failing message back in the queue.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{HtmlForm, Page, render};
use crate::auth::Ctx;
use crate::db;
use crate::error::AppError;
use crate::services;
use crate::state::AppState;

/// Failing and queued messages shown at most, each (the counts above say how many there are).
const SHOWN_WAITING: i64 = 200;
/// Sent messages per page, the newest first.
const SENT_PAGE: i64 = 50;

/// One status's messages.
pub struct Section {
    pub status: &'static str,
    pub title_key: &'static str,
    pub rows: Vec<db::outbox::Listed>,
    /// Failing rows get a retry button.
    pub retry: bool,
    /// "200 of 340 shown", when the failing or queued list is cut.
    pub cut_note: Option<String>,
}

impl Section {
    fn waiting(ctx: &Ctx, status: &'static str, rows: Vec<db::outbox::Listed>, total: i64, retry: bool) -> Self {
        let cut_note = ((rows.len() as i64) < total).then(|| {
            ctx.t("outbox.cut")
                .replace("{shown}", &rows.len().to_string())
                .replace("{total}", &total.to_string())
        });
        Self {
            status,
            title_key: status_key(status),
            rows,
            retry,
            cut_note,
        }
    }
}

fn status_key(status: &str) -> &'static str {
    match status {
        "sent" => "outbox.status.sent",
        "failing" => "outbox.status.failing",
        _ => "outbox.status.queued",
    }
}

#[derive(Template)]
#[template(path = "outbox/list.html")]
struct OutboxPage {
    page: Page,
    mail_on: bool,
    counts: db::outbox::Counts,
    sections: Vec<Section>,
    /// The id to page on from for older sent messages, when there are more.
    older_sent: Option<i64>,
    /// This is a later page of sent mail (a link back to the first).
    paged: bool,
}

#[derive(Default, Deserialize)]
pub struct ListQuery {
    /// Sent messages older than this id (the previous page's last).
    sent_before: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    if !ctx.require_user()?.actor().can_view_outbox() {
        return Err(AppError::Forbidden);
    }
    let counts = db::outbox::counts(&state.pool).await?;
    let mut sent = db::outbox::sent(&state.pool, query.sent_before, SENT_PAGE + 1).await?;
    let older_sent = if sent.len() as i64 > SENT_PAGE {
        sent.truncate(SENT_PAGE as usize);
        sent.last().map(|m| m.id)
    } else {
        None
    };
    let can_retry = ctx.require_user()?.actor().can_retry_mail();
    let sections = vec![
        Section::waiting(
            &ctx,
            "failing",
            db::outbox::failing(&state.pool, SHOWN_WAITING).await?,
            counts.failing,
            can_retry,
        ),
        Section::waiting(
            &ctx,
            "queued",
            db::outbox::queued(&state.pool, SHOWN_WAITING).await?,
            counts.queued,
            false,
        ),
        // Paged rather than cut: the links below the table reach every sent message.
        Section {
            status: "sent",
            title_key: status_key("sent"),
            rows: sent,
            retry: false,
            cut_note: None,
        },
    ];
    render(&OutboxPage {
        page: Page::new(&ctx).await?,
        mail_on: state.mailer.is_some(),
        counts,
        sections,
        older_sent,
        paged: query.sent_before.is_some(),
    })
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
}

/// 再送: a failing message goes back in the queue and the sender is woken; audited.
pub async fn retry(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<RetryForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !user.actor().can_retry_mail() {
        return Err(AppError::Forbidden);
    }
    // A second click, or a message no longer failing: nothing to do, and the page says so.
    let flash = if services::mail::retry(&state.pool, &user.audit_actor(), id).await? {
        state.mail_wake.notify_one();
        "flash.mail_requeued"
    } else {
        "flash.mail_not_failing"
    };
    super::done(&ctx, flash, "/outbox").await
}
