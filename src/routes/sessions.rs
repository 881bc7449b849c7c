//! Every signed-in user sees where they are signed in and ends any of those sessions.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{HtmlForm, Page, done, render_no_store};
use crate::auth::Ctx;
use crate::auth::session::ABSOLUTE_TIMEOUT_S;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// A session as the list shows it.
pub struct Row {
    pub id: i64,
    pub this_one: bool,
    pub device: String,
    pub user_agent: String,
    pub address: String,
    pub signed_in_at: i64,
    pub last_used_at: i64,
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
struct SessionsPage {
    page: Page,
    sessions: Vec<Row>,
}

/// "Chrome · Windows" from a `User-Agent`: enough to tell one's own browsers apart.
pub fn describe(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => "?".to_owned(),
    }
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let now = db::now();
    let this = ctx.session_handle().await?;
    // Sessions idle past the idle timeout have expired in the session store already.
    let idle_s = crate::SESSION_IDLE_S + i64::try_from(state.config.session_touch_s).unwrap_or(i64::MAX / 2);
    let sessions = db::user_sessions::for_user(&state.pool, user.id, now - idle_s, now - ABSOLUTE_TIMEOUT_S)
        .await?
        .into_iter()
        .map(|s| Row {
            id: s.id,
            this_one: this.as_deref() == Some(s.handle.as_str()),
            device: describe(&s.user_agent),
            user_agent: s.user_agent,
            address: s.address.unwrap_or_default(),
            signed_in_at: s.created_at,
            last_used_at: s.last_used_at,
        })
        .collect();
    render_no_store(&SessionsPage {
        page: Page::new(&ctx).await?,
        sessions,
    })
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
}

pub async fn end(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<EndForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    // Only one's own sessions: another user's id simply matches nothing.
    if !db::user_sessions::end(&state.pool, id, user.id, db::now()).await? {
        return Err(AppError::NotFound);
    }
    let detail = format!("session {id}");
    db::audit::record(
        &state.pool,
        db::audit::Entry {
            actor: &user.audit_actor(),
            action: "session.ended",
            clinic_id: user.clinic_id,
            detail: &detail,
            ip: ctx.ip(),
        },
    )
    .await?;
    done(&ctx, "flash.session_ended", "/account/sessions").await
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn browsers_are_told_apart_by_name_and_system() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe(chrome), "Chrome · Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0";
        assert_eq!(describe(edge), "Edge · Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe(iphone), "Safari · iPhone");
        assert_eq!(describe(""), "?");
    }
}
