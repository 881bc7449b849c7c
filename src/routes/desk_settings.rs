//! Operators maintain the desk's ticket categories, its hours, its targets and its closed days,
//! the installer's desk, and the PC sign-in details the guide shows.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::{FormErrors, HtmlForm, Page, Question, ask, done, is_confirmed, render};
use crate::auth::Ctx;
use crate::db::{self, audit};
use crate::domain::ClinicCode;
use crate::domain::installer::InstallerDesk;
use crate::domain::pc_credential::{self, PcCredentialError};
use crate::domain::ticket::{MAX_TARGET_MIN, Priority, Targets};
use crate::domain::{bounded_text, lockout, reader_health};
use crate::error::AppError;
use crate::services::desk_settings::{self, Operator};
use crate::services::pc_credential::{Scope, SetError};
use crate::services::tickets::desk_rules;
use crate::state::AppState;

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
    targets: Vec<TargetRow>,
    /// Minutes without a poll after which a reader shows as 未接続.
    stale_after_min: i64,
    /// Wrong codes per passcode generation before it is disabled.
    failures_before_disable: i64,
    error: Option<String>,
    /// The installer's desk form: as stored, or as typed when it was refused.
    installer: InstallerDesk,
    installer_error: Option<String>,
    /// The default PC sign-in details: when and by whom they were set (never the password).
    pc_default: Option<db::pc_credentials::Stored>,
    pc_overrides: Vec<db::pc_credentials::Override>,
    /// What the PC credential forms show: stored or typed usernames, never a password.
    pc_form: PcForm,
    pc_errors: FormErrors,
}

/// The PC credential forms' fields other than passwords (which are never sent back).
#[derive(Default)]
struct PcForm {
    /// Whether the refused form was a clinic's (the default's form then shows what is stored).
    for_clinic: bool,
    username: String,
    clinic: String,
    clinic_username: String,
}

/// One priority's targets as the form shows them, in hours.
struct TargetRow {
    priority: &'static str,
    label_key: &'static str,
    response: String,
    resolution: String,
}

fn target_rows(targets: &Targets) -> Vec<TargetRow> {
    Priority::ALL
        .into_iter()
        .rev()
        .map(|p| {
            let (response, resolution) = targets.get(p);
            TargetRow {
                priority: p.as_str(),
                label_key: p.label_key(),
                response: hours(response),
                resolution: hours(resolution),
            }
        })
        .collect()
}

/// Minutes as hours for the form: `0.5`, `4`, `27`.
fn hours(minutes: i64) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{:.2}", minutes as f64 / 60.0).trim_end_matches('0').to_owned()
    }
}

/// Hours as typed (`0.5`, `27`, `1.25`) to whole minutes; `None` unless a positive number.
fn parse_hours(text: &str) -> Option<i64> {
    let hours: f64 = text.trim().parse().ok()?;
    (hours.is_finite() && hours > 0.0 && hours * 60.0 <= MAX_TARGET_MIN as f64).then(|| (hours * 60.0).round() as i64)
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
    settings_page_with(state, ctx, error, None, None).await
}

/// The page; `installer` is the refused installer form (typed values and why) to show again,
/// `pc` a refused PC credential form (typed usernames and the error beside its field).
async fn settings_page_with(
    state: &AppState,
    ctx: &Ctx,
    error: Option<String>,
    installer: Option<(InstallerDesk, String)>,
    pc: Option<(PcForm, FormErrors)>,
) -> Result<Response, AppError> {
    let status = if error.is_some() || installer.is_some() || pc.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (opens, closes) = db::tickets::desk_hours(&state.pool).await?;
    let targets = desk_rules(&state.pool).await?.targets;
    let pc_default = db::pc_credentials::get(&state.pool, None).await?;
    let stored_username = pc_default.as_ref().map(|d| d.username.clone()).unwrap_or_default();
    let (pc_form, pc_errors) = match pc {
        // A refused clinic form leaves the default's form as stored.
        Some((typed, errors)) if typed.for_clinic => (
            PcForm {
                username: stored_username,
                ..typed
            },
            errors,
        ),
        Some(refused) => refused,
        None => (
            PcForm {
                username: stored_username,
                ..PcForm::default()
            },
            FormErrors::default(),
        ),
    };
    let page = SettingsPage {
        page: Page::new(ctx).await?,
        categories: db::tickets::categories(&state.pool).await?,
        closures: db::tickets::closures(&state.pool).await?,
        opens: hh_mm(opens),
        closes: hh_mm(closes),
        targets: target_rows(&targets),
        stale_after_min: db::readers::stale_after_min(&state.pool).await?,
        failures_before_disable: db::passcodes::failures_before_disable(&state.pool).await?,
        error,
        installer: installer
            .as_ref()
            .map_or_else(|| (*ctx.installer).clone(), |(typed, _)| typed.clone()),
        installer_error: installer.map(|(_, why)| why),
        pc_default,
        pc_overrides: db::pc_credentials::overrides(&state.pool).await?,
        pc_form,
        pc_errors,
    };
    Ok((status, render(&page)?).into_response())
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
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    if !desk_settings::add_category(&state.pool, &by, slug, &name_ja, &name_en).await? {
        return settings_page(&state, &ctx, Some(ctx.t("settings.slug_taken").to_owned())).await;
    }
    done(&ctx, "flash.saved", "/desk/settings").await
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
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    if !desk_settings::set_category_retired(&state.pool, &by, slug, retired).await? {
        return Err(AppError::NotFound);
    }
    done(ctx, "flash.saved", "/desk/settings").await
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
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    desk_settings::add_closure(&state.pool, &by, &label, start, end, yearly).await?;
    done(&ctx, "flash.saved", "/desk/settings").await
}

pub async fn delete_closure(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?;
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    if !desk_settings::delete_closure(&state.pool, &by, id).await? {
        return Err(AppError::NotFound);
    }
    done(&ctx, "flash.saved", "/desk/settings").await
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
    let detail = audit::fields(&[("opens", &hh_mm(opens)), ("closes", &hh_mm(closes))]);
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    desk_settings::set_hours(&state.pool, &by, opens, closes, &detail).await?;
    done(&ctx, "flash.saved", "/desk/settings").await
}

/// Response and resolution targets per priority, in hours of desk time. Like the hours, they
/// apply to due times computed from now on.
pub async fn set_targets(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    ctx.check_csrf(form.get("csrf").map_or("", String::as_str)).await?;
    let user = operator(&ctx)?.clone();
    let field = |p: Priority, kind: &str| form.get(&format!("{}_{kind}", p.as_str())).and_then(|v| parse_hours(v));
    let rows: Option<Vec<(String, i64, i64)>> = Priority::ALL
        .into_iter()
        .map(|p| Some((p.as_str().to_owned(), field(p, "response")?, field(p, "resolution")?)))
        .collect();
    let Some(rows) = rows.filter(|rows| Targets::from_rows(rows).is_some()) else {
        return settings_page(&state, &ctx, Some(ctx.t("settings.targets_invalid").to_owned())).await;
    };
    let summary: Vec<(&str, String)> = rows
        .iter()
        .map(|(p, r, d)| (p.as_str(), format!("{}/{}", hours(*r), hours(*d))))
        .collect();
    let pairs: Vec<(&str, &str)> = summary.iter().map(|(p, v)| (*p, v.as_str())).collect();
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    desk_settings::set_targets(&state.pool, &by, &rows, &audit::fields(&pairs)).await?;
    done(&ctx, "flash.saved", "/desk/settings").await
}

#[derive(Deserialize)]
pub struct PasscodePolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    failures: String,
}

/// How many wrong codes (across a clinic, over one generation) disable a passcode.
pub async fn set_passcode_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<PasscodePolicyForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let Some(failures) = lockout::parse_failures_before_disable(&form.failures) else {
        return settings_page(
            &state,
            &ctx,
            Some(ctx.t("settings.passcode_failures_invalid").to_owned()),
        )
        .await;
    };
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    desk_settings::set_passcode_policy(&state.pool, &by, failures).await?;
    done(&ctx, "flash.saved", "/desk/settings").await
}

#[derive(Deserialize)]
pub struct StalenessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minutes: String,
}

/// After how many minutes without a poll a card reader shows as 未接続 (clinic, passcode and
/// call screens).
pub async fn set_reader_staleness(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<StalenessForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let Some(minutes) = reader_health::parse_stale_after_min(&form.minutes) else {
        return settings_page(&state, &ctx, Some(ctx.t("settings.stale_invalid").to_owned())).await;
    };
    let actor = user.audit_actor();
    let by = Operator {
        actor: &actor,
        ip: ctx.ip(),
    };
    desk_settings::set_reader_staleness(&state.pool, &by, minutes).await?;
    done(&ctx, "flash.saved", "/desk/settings").await
}

#[derive(Deserialize)]
pub struct InstallerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    hours: String,
}

/// The installer's own support desk, which the guide, the help pages, the footer and the error
/// pages show. All fields empty clears it.
pub async fn set_installer(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<InstallerForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let desk = match InstallerDesk::parse(&form.name, &form.phone, &form.hours) {
        Ok(desk) => desk,
        Err(e) => {
            let typed = InstallerDesk {
                name: form.name,
                phone: form.phone,
                hours: form.hours,
            };
            let why = ctx.t(e.key()).to_owned();
            return settings_page_with(&state, &ctx, None, Some((typed, why)), None).await;
        }
    };
    crate::services::installer::set(&state.pool, &user.audit_actor(), ctx.ip(), &desk).await?;
    state.sync_live().await;
    done(&ctx, "flash.saved", "/desk/settings").await
}

#[derive(Deserialize)]
pub struct PcCredentialForm {
    #[serde(default)]
    csrf: String,
    /// The 医療機関コード for a clinic's own details; absent for the default.
    #[serde(default)]
    clinic: Option<String>,
    #[serde(default)]
    username: String,
    /// Empty keeps the stored password.
    #[serde(default)]
    password: String,
}

const PC_SETTINGS: &str = "/desk/settings#pc-credential-settings";

/// The PC sign-in details the guide reveals: the default (no `clinic`), or a clinic's own.
/// An empty password keeps the stored one; the page never shows a password back.
pub async fn set_pc_credential(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<PcCredentialForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = operator(&ctx)?.clone();
    let for_clinic = form.clinic.is_some();
    // Field names of the form that was sent, so the error sits beside the right input.
    let (username_field, password_field) = if for_clinic {
        ("pc_clinic_username", "pc_clinic_password")
    } else {
        ("pc_username", "pc_password")
    };
    let typed = PcForm {
        for_clinic,
        username: if for_clinic {
            String::new()
        } else {
            cut(&form.username, 64)
        },
        clinic: cut(form.clinic.as_deref().unwrap_or(""), 14),
        clinic_username: if for_clinic {
            cut(&form.username, 64)
        } else {
            String::new()
        },
    };
    let field_of = |e: PcCredentialError| match e {
        PcCredentialError::Username => username_field,
        PcCredentialError::Password | PcCredentialError::PasswordRequired => password_field,
    };
    let clinic = match &form.clinic {
        Some(code) => {
            let found = match ClinicCode::parse(code) {
                Ok(code) => db::clinics::by_code(&state.pool, code.as_str()).await?,
                Err(_) => None,
            };
            match found {
                Some(clinic) => Some(clinic),
                None => {
                    let errors = FormErrors::on("pc_clinic", ctx.t("pc_credential.clinic_unknown"));
                    return settings_page_with(&state, &ctx, None, None, Some((typed, errors))).await;
                }
            }
        }
        None => None,
    };
    let parsed = pc_credential::parse_username(&form.username)
        .and_then(|u| Ok((u, pc_credential::parse_password(&form.password)?)));
    let (username, password) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let errors = FormErrors::on(field_of(e), ctx.t(e.key()));
            return settings_page_with(&state, &ctx, None, None, Some((typed, errors))).await;
        }
    };
    let scope = clinic.as_ref().map_or(Scope::Default, |c| Scope::Clinic {
        id: c.id,
        code: &c.code,
    });
    let actor = user.audit_actor();
    let set = crate::services::pc_credential::set(
        &state.pool,
        &state.sealing,
        &actor,
        ctx.ip(),
        scope,
        &username,
        password.as_ref(),
    );
    match set.await {
        Ok(()) => done(&ctx, "flash.saved", PC_SETTINGS).await,
        Err(SetError::Invalid(e)) => {
            let errors = FormErrors::on(field_of(e), ctx.t(e.key()));
            settings_page_with(&state, &ctx, None, None, Some((typed, errors))).await
        }
        Err(SetError::Other(e)) => Err(AppError::Internal(e)),
    }
}

/// At most `max` characters of what was typed, to show it again.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[derive(Deserialize)]
pub struct ClearForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// Removes the default PC sign-in details (asks first: the password is gone afterwards).
pub async fn clear_pc_credential(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<ClearForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    operator(&ctx)?;
    let subject = ctx.t("pc_credential.default").to_owned();
    clear(
        &state,
        &ctx,
        &form,
        Scope::Default,
        subject,
        "/desk/settings/pc-credential/clear".to_owned(),
    )
    .await
}

/// Removes a clinic's own PC sign-in details; its users see the default again.
pub async fn clear_clinic_pc_credential(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    HtmlForm(form): HtmlForm<ClearForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    operator(&ctx)?;
    let code = ClinicCode::parse(&code).map_err(|_| AppError::NotFound)?;
    let clinic = db::clinics::by_code(&state.pool, code.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = format!("{} {}", clinic.code, clinic.name);
    let action = format!("/desk/settings/pc-credential/clinics/{}/clear", clinic.code);
    let scope = Scope::Clinic {
        id: clinic.id,
        code: &clinic.code,
    };
    clear(&state, &ctx, &form, scope, subject, action).await
}

async fn clear(
    state: &AppState,
    ctx: &Ctx,
    form: &ClearForm,
    scope: Scope<'_>,
    subject: String,
    action: String,
) -> Result<Response, AppError> {
    if !is_confirmed(&form.confirm) {
        let consequence = match scope {
            Scope::Default => "pc_credential.clear_default_consequence",
            Scope::Clinic { .. } => "pc_credential.clear_clinic_consequence",
        };
        let question = Question {
            title: ctx.t("pc_credential.clear_title"),
            subject,
            consequence: ctx.t(consequence),
            submit: ctx.t("pc_credential.clear"),
            action,
            cancel: PC_SETTINGS.to_owned(),
        };
        return ask(ctx, question).await;
    }
    let user = operator(ctx)?;
    crate::services::pc_credential::clear(&state.pool, &user.audit_actor(), ctx.ip(), scope).await?;
    done(ctx, "flash.saved", PC_SETTINGS).await
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

    #[test]
    fn targets_are_typed_in_hours() {
        assert_eq!(parse_hours("0.5"), Some(30));
        assert_eq!(parse_hours(" 27 "), Some(1620));
        assert_eq!(parse_hours("1.25"), Some(75));
        for bad in ["", "0", "-1", "abc", "NaN", "inf", "541"] {
            assert_eq!(parse_hours(bad), None, "{bad}");
        }
        assert_eq!(hours(30), "0.5");
        assert_eq!(hours(75), "1.25");
        assert_eq!(hours(1620), "27");
        assert_eq!(parse_hours(&hours(100)), Some(100));
    }
}
