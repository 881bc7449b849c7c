//! Operators maintain the desk's ticket categories and its closed days.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{HtmlForm, Page, render};
use crate::auth::Ctx;
use crate::db::{self, audit};
use crate::domain::bounded_text;
use crate::error::AppError;
use crate::state::AppState;

/// An operator's change to the desk's settings, in the audit log.
async fn record(
    db: impl sqlx::SqliteExecutor<'_>,
    user: &crate::auth::SignedIn,
    ctx: &Ctx,
    action: &str,
    detail: &str,
) -> sqlx::Result<()> {
    let entry = audit::Entry {
        actor: &user.audit_actor(),
        action,
        clinic_id: None,
        detail,
        ip: ctx.ip(),
    };
    audit::record(db, entry).await
}

fn operator(ctx: &Ctx) -> Result<&crate::auth::SignedIn, AppError> {
    let user = ctx.require_user()?;
    if user.actor().can_manage_users() {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Template)]
#[template(path = "desk/settings.html")]
struct SettingsPage {
    page: Page,
    categories: Vec<db::tickets::Category>,
    closures: Vec<db::tickets::ClosureRow>,
    /// Opening hours as `HH:MM`, for the time inputs.
    opens: String,
    closes: String,
    error: Option<String>,
}

fn hh_mm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `HH:MM` (24 h; `24:00` allowed for a desk that closes at midnight) as minutes since midnight.
fn parse_hh_mm(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    ((0..24).contains(&h) && (0..60).contains(&m) || (h, m) == (24, 0)).then_some(minutes)
}

async fn settings_page(state: &AppState, ctx: &Ctx, error: Option<String>) -> Result<Response, AppError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (opens, closes) = db::tickets::desk_hours(&state.pool).await?;
    let page = SettingsPage {
        page: Page::new(ctx).await?,
        categories: db::tickets::categories(&state.pool).await?,
        closures: db::tickets::closures(&state.pool).await?,
        opens: hh_mm(opens),
        closes: hh_mm(closes),
        error,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    operator(&ctx)?;
    settings_page(&state, &ctx, None).await
}

#[derive(Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name_ja: String,
    #[serde(default)]
    name_en: String,
}

fn valid_slug(slug: &str) -> bool {
    (2..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub async fn add_category(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<CategoryForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let slug = form.slug.trim();
    let (Some(name_ja), Some(name_en)) = (bounded_text(&form.name_ja, 60), bounded_text(&form.name_en, 60)) else {
        return settings_page(&state, &ctx, Some(ctx.t("settings.category_names_invalid").to_owned())).await;
    };
    if !valid_slug(slug) {
        return settings_page(&state, &ctx, Some(ctx.t("settings.slug_invalid").to_owned())).await;
    }
    let mut tx = db::begin_write(&state.pool).await?;
    match db::tickets::insert_category(&mut *tx, slug, &name_ja, &name_en).await {
        Ok(_) => {}
        Err(e) if db::is_unique_violation(&e) => {
            return settings_page(&state, &ctx, Some(ctx.t("settings.slug_taken").to_owned())).await;
        }
        Err(e) => return Err(e.into()),
    }
    record(&mut *tx, &user, &ctx, "category.added", slug).await?;
    tx.commit().await?;
    Ok(Redirect::to("/desk/settings").into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Retired categories stay on old tickets but are no longer offered.
pub async fn retire_category(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    HtmlForm(form): HtmlForm<CsrfForm>,
) -> Result<Response, AppError> {
    set_category_retired(&state, &ctx, &slug, &form.csrf, true).await
}

pub async fn restore_category(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    HtmlForm(form): HtmlForm<CsrfForm>,
) -> Result<Response, AppError> {
    set_category_retired(&state, &ctx, &slug, &form.csrf, false).await
}

async fn set_category_retired(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    csrf: &str,
    retired: bool,
) -> Result<Response, AppError> {
    ctx.check_csrf(csrf).await?;
    let user = operator(ctx)?;
    if slug == "other" && retired {
        return Err(AppError::Unprocessable(ctx.t("settings.other_stays").to_owned()));
    }
    let mut tx = db::begin_write(&state.pool).await?;
    if !db::tickets::set_category_retired(&mut *tx, slug, retired.then(db::now)).await? {
        return Err(AppError::NotFound);
    }
    let action = if retired {
        "category.retired"
    } else {
        "category.restored"
    };
    record(&mut *tx, user, ctx, action, slug).await?;
    tx.commit().await?;
    Ok(Redirect::to("/desk/settings").into_response())
}

#[derive(Deserialize)]
pub struct ClosureForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    yearly: Option<String>,
}

pub async fn add_closure(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<ClosureForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let start = time::Date::parse(form.start_date.trim(), &format);
    let end = time::Date::parse(form.end_date.trim(), &format);
    let yearly = form.yearly.is_some();
    let (Some(label), Ok(start), Ok(end)) = (bounded_text(&form.label, 60), start, end) else {
        return settings_page(&state, &ctx, Some(ctx.t("settings.closure_invalid").to_owned())).await;
    };
    // A yearly closure may wrap the new year (12/29–1/3); a one-off one may not end before it starts.
    if end < start && !yearly {
        return settings_page(&state, &ctx, Some(ctx.t("settings.closure_invalid").to_owned())).await;
    }
    let mut tx = db::begin_write(&state.pool).await?;
    db::tickets::insert_closure(&mut *tx, &label, &start.to_string(), &end.to_string(), yearly).await?;
    let detail = format!("{label} {start}..{end}{}", if yearly { " yearly" } else { "" });
    record(&mut *tx, &user, &ctx, "closure.added", &detail).await?;
    tx.commit().await?;
    Ok(Redirect::to("/desk/settings").into_response())
}

pub async fn delete_closure(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?;
    let mut tx = db::begin_write(&state.pool).await?;
    if !db::tickets::delete_closure(&mut *tx, id).await? {
        return Err(AppError::NotFound);
    }
    let detail = format!("closure {id}");
    record(&mut *tx, user, &ctx, "closure.deleted", &detail).await?;
    tx.commit().await?;
    Ok(Redirect::to("/desk/settings").into_response())
}

#[derive(Deserialize)]
pub struct HoursForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    opens: String,
    #[serde(default)]
    closes: String,
}

/// The desk's opening hours on business days. Due times computed from now on count in them;
/// ones already set stay as they are.
pub async fn set_hours(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<HoursForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let hours = parse_hh_mm(&form.opens).zip(parse_hh_mm(&form.closes));
    let Some((opens, closes)) = hours.filter(|(opens, closes)| opens < closes) else {
        return settings_page(&state, &ctx, Some(ctx.t("settings.hours_invalid").to_owned())).await;
    };
    let mut tx = db::begin_write(&state.pool).await?;
    db::tickets::set_desk_hours(&mut *tx, opens, closes, db::now()).await?;
    let detail = audit::fields(&[("opens", &hh_mm(opens)), ("closes", &hh_mm(closes))]);
    record(&mut *tx, &user, &ctx, "desk_hours.changed", &detail).await?;
    tx.commit().await?;
    Ok(Redirect::to("/desk/settings").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_hours_are_read_as_24_hour_times() {
        assert_eq!(parse_hh_mm("09:00"), Some(540));
        assert_eq!(parse_hh_mm(" 17:45 "), Some(1065));
        assert_eq!(parse_hh_mm("24:00"), Some(1440));
        for bad in ["", "9", "24:01", "25:00", "12:60", "-1:00", "ab:cd", "12:30:00"] {
            assert_eq!(parse_hh_mm(bad), None, "{bad}");
        }
        assert_eq!(hh_mm(1065), "17:45");
    }
}
