//! The route table, in one place, and what every page shares.

mod account;
mod api;
mod assets;
mod clinics;
pub(crate) mod desk;
mod desk_reports;
mod desk_settings;
mod guide;
mod health;
mod invitations;
mod notifications;
mod outbox;
mod own_password;
mod passcode;
mod password_reset;
mod readers;
mod requests;
mod sessions;
mod tokens;
mod totp;
mod users;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::auth::{Ctx, SignedIn};
use crate::db::{self, audit};
use crate::domain::ClinicCode;
use crate::domain::policy::Actor;
use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::state::AppState;

/// Pages (session-backed) and the reader API (token-backed, no session, no database per poll).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/login", get(account::login_page).post(account::login))
        .route("/login/mfa", get(totp::login_step).post(totp::login_code))
        .route("/logout", post(account::logout))
        .route("/setup", get(account::setup_page).post(account::setup))
        .route("/lang", post(account::set_language))
        .route("/clinics", get(clinics::list).post(clinics::create))
        .route("/clinics/{code}", get(clinics::show))
        .route("/clinics/{code}/passcode", get(passcode::show).post(passcode::issue))
        .route("/clinics/{code}/passcode/issue", get(passcode::confirm))
        .route("/clinics/{code}/readers", post(readers::enroll))
        .route("/clinics/{code}/readers/{id}/revoke", post(readers::revoke))
        .route("/clinics/{code}/readers/{id}/reenroll", post(readers::reenroll))
        .route("/guide", get(guide::index))
        .route("/guide/{id}", get(guide::intro))
        .route("/guide/{id}/print", get(guide::print))
        .route("/guide/{id}/overview", get(guide::overview))
        .route("/guide/{id}/stats", get(guide::stats))
        .route("/guide/{id}/{code}", get(guide::show_step))
        .route("/guide/{id}/{code}/reveal", post(guide::reveal))
        .route("/guide/{id}/{code}/help", get(guide::help).post(guide::request_help))
        .route("/guide/{id}/{code}/resolved", post(guide::resolved))
        .route("/desk", get(desk_reports::dashboard))
        .route("/desk/tickets.csv", get(desk_reports::export_csv))
        .route("/desk/settings", get(desk_settings::show))
        .route("/desk/settings/categories", post(desk_settings::add_category))
        .route(
            "/desk/settings/categories/{slug}/retire",
            post(desk_settings::retire_category),
        )
        .route(
            "/desk/settings/categories/{slug}/restore",
            post(desk_settings::restore_category),
        )
        .route("/desk/settings/hours", post(desk_settings::set_hours))
        .route("/desk/settings/mfa", post(totp::set_policy))
        .route("/desk/settings/targets", post(desk_settings::set_targets))
        .route("/desk/settings/readers", post(desk_settings::set_reader_staleness))
        .route("/desk/settings/passcodes", post(desk_settings::set_passcode_policy))
        .route("/desk/settings/installer", post(desk_settings::set_installer))
        .route("/desk/settings/pc-credential", post(desk_settings::set_pc_credential))
        .route(
            "/desk/settings/pc-credential/clear",
            post(desk_settings::clear_pc_credential),
        )
        .route(
            "/desk/settings/pc-credential/clinics/{code}/clear",
            post(desk_settings::clear_clinic_pc_credential),
        )
        .route("/desk/settings/closures", post(desk_settings::add_closure))
        .route(
            "/desk/settings/closures/{id}/delete",
            post(desk_settings::delete_closure),
        )
        .route("/desk/tickets", get(desk::list))
        .route("/desk/tickets/{number}", get(desk::show))
        .route("/desk/tickets/{number}/update", post(desk::update))
        .route("/desk/tickets/{number}/entries", post(desk::add_entry))
        .route("/desk/tickets/{number}/merge", post(desk::merge))
        .route("/desk/calls/new", get(desk::new_call))
        .route("/desk/calls", post(desk::log_call))
        .route("/clinics/{code}/requests", get(requests::list).post(requests::create))
        .route("/clinics/{code}/requests/{number}", get(requests::show))
        .route("/clinics/{code}/requests/{number}/reply", post(requests::reply))
        .route("/account/tokens", get(tokens::list).post(tokens::create))
        .route("/account/password", get(own_password::show).post(own_password::change))
        .route("/account/mfa", get(totp::show))
        .route("/account/mfa/enable", post(totp::enable))
        .route("/account/mfa/recovery-codes", post(totp::renew_recovery_codes))
        .route("/account/mfa/disable", post(totp::disable))
        .route("/account/sessions", get(sessions::list))
        .route(
            "/account/notifications",
            get(notifications::show).post(notifications::save),
        )
        .route("/account/sessions/{id}/end", post(sessions::end))
        .route("/account/tokens/{id}/revoke", post(tokens::revoke))
        .route("/outbox", get(outbox::list))
        .route("/outbox/{id}/retry", post(outbox::retry))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/enable", post(users::enable))
        .route("/users/{id}/password", post(users::reset_password))
        .route("/users/{id}/password-link", post(users::send_reset_link))
        .route("/users/{id}/mfa/reset", post(totp::reset))
        .route("/users/invitations", post(invitations::create))
        .route("/users/invitations/{id}/revoke", post(invitations::revoke))
        .route("/invite/{token}", get(invitations::show))
        .route("/invite", post(invitations::accept))
        .route(
            "/password/forgot",
            get(password_reset::forgot_page).post(password_reset::forgot),
        )
        .route("/password/reset/{token}", get(password_reset::reset_form))
        .route("/password/reset", post(password_reset::reset))
}

/// The request's span for the log (as tower-http's default, at debug level), with the token of
/// an invitation or password-reset link cut out of the path: a link is a secret until used.
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let uri = request.uri().to_string();
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %without_link_token(&uri),
        version = ?request.version(),
    )
}

fn without_link_token(uri: &str) -> std::borrow::Cow<'_, str> {
    use crate::services::account_mail::{INVITE_PATH, RESET_PATH};
    for prefix in [INVITE_PATH, RESET_PATH] {
        if let Some(at) = uri.find(prefix)
            && uri.len() > at + prefix.len()
        {
            return format!("{}…", &uri[..at + prefix.len()]).into();
        }
    }
    uri.into()
}

/// The JSON API. Routes carry the full `/api/v1` path and are merged rather than nested:
/// nesting adds a router hop and a path rewrite to every reader poll.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reader/passcode", get(api::reader::passcode))
        .route("/api/v1/reader/verify", post(api::reader::verify))
        .route("/api/v1/tickets", get(api::tickets::list).post(api::tickets::create))
        .route(
            "/api/v1/tickets/{number}",
            get(api::tickets::show).patch(api::tickets::patch),
        )
        .route("/api/v1/tickets/{number}/notes", post(api::tickets::add_note))
        .route("/api/v1/tickets/{number}/calls", post(api::tickets::add_call))
        .route("/api/v1/tickets/{number}/entries", get(api::tickets::entries))
        .route("/api/v1/openapi.json", get(api::openapi::document))
}

pub fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/static/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}

/// Unknown URLs: the bilingual 404 page, or a JSON error under `/api/`.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        crate::error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
    } else {
        AppError::NotFound.into_response()
    }
}

/// What the base template needs on every page.
pub struct Page {
    pub lang: Lang,
    pub csrf: String,
    pub user: Option<SignedIn>,
    pub path: String,
    /// A confirmation of what the last form did ("保存しました"), shown once.
    pub flash: Option<&'static str>,
    /// The installer's support desk, for the footer and wherever the manual says to call it.
    pub installer: std::sync::Arc<crate::domain::installer::InstallerDesk>,
}

impl Page {
    pub async fn new(ctx: &Ctx) -> Result<Self, AppError> {
        Ok(Self {
            lang: ctx.lang,
            csrf: ctx.csrf_token().await?,
            user: ctx.user.clone(),
            path: ctx.path.clone(),
            // Only known UI strings are shown, whatever the session holds.
            flash: ctx
                .take_flash()
                .await?
                .and_then(|key| crate::i18n::has(&key).then(|| crate::i18n::text(ctx.lang, &key))),
            installer: ctx.installer.clone(),
        })
    }

    /// The sign-in page, coming back here afterwards.
    pub fn login_url(&self) -> String {
        crate::domain::login_url(&self.path)
    }

    /// The UI string for `key` in this page's language.
    pub fn t(&self, key: &str) -> &'static str {
        i18n::text(self.lang, key)
    }

    pub fn is_operator(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.actor().can_manage_users())
    }

    pub fn uses_desk(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.actor().can_use_desk())
    }

    pub fn lists_clinics(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.actor().can_list_clinics())
    }

    pub fn own_clinic(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u.clinic_code.as_deref())
    }

    pub fn role_label(&self) -> &'static str {
        self.user.as_ref().map_or("", |u| self.t(u.role.label_key()))
    }

    /// Label of a passcode attempt result, e.g. `rejected`.
    pub fn attempt_label(&self, result: &str) -> String {
        self.label("attempt", result)
    }

    /// Label of an audit action, e.g. `passcode.issued`.
    pub fn audit_label(&self, action: &str) -> String {
        self.label("audit", action)
    }

    /// Who did it, in the page's language (people are shown by e-mail address, card readers
    /// by name when known).
    pub fn audit_actor(&self, actor: &str, reader_name: Option<&str>) -> String {
        match actor {
            "cli" => self.t("audit_actor.cli").to_owned(),
            "anonymous" => self.t("audit_actor.anonymous").to_owned(),
            _ => match (actor.strip_prefix("reader:"), reader_name) {
                (Some(_), Some(name)) => format!("{} {name}", self.t("audit_actor.reader")),
                (Some(id), None) => format!("{} #{id}", self.t("audit_actor.reader")),
                (None, _) => actor.to_owned(),
            },
        }
    }

    /// An audit entry's detail in the page's language: a detail stored as named fields
    /// (`db::audit::fields`) is filled into the action's sentence (`audit_detail.<action>`),
    /// with roles, installation types and channels translated; anything else is shown as stored.
    pub fn audit_detail(&self, action: &str, detail: &str) -> String {
        let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(detail) else {
            return detail.to_owned();
        };
        let value = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let key = format!("audit_detail.{action}");
        if !i18n::has(&key) {
            return fields.values().map(value).collect::<Vec<_>>().join(" ");
        }
        let mut text = self.t(&key).to_owned();
        // A field added to a sentence later is missing from older entries: left out, not shown
        // as `{name}` (before filling in, so a value that looks like a field stays as typed).
        let wanted: Vec<String> = text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next().map(str::to_owned))
            .collect();
        for name in wanted.iter().filter(|name| !fields.contains_key(name.as_str())) {
            text = text.replace(&format!("{{{name}}}"), "");
        }
        for (name, field) in &fields {
            let raw = value(field);
            let shown = match name.as_str() {
                "role" | "install" | "via" | "scope" | "source" | "username_change" | "password_change" => {
                    self.label(name, &raw)
                }
                _ => raw,
            };
            text = text.replace(&format!("{{{name}}}"), &shown);
        }
        text
    }

    fn label(&self, prefix: &str, value: &str) -> String {
        let key = format!("{prefix}.{value}");
        if i18n::has(&key) {
            self.t(&key).to_owned()
        } else {
            value.to_owned()
        }
    }

    /// The Japanese or English form of a stored name (category names, for example).
    pub fn pick<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    pub fn jst(&self, unix: &i64) -> String {
        format_jst(*unix)
    }

    pub fn jst_opt(&self, unix: &Option<i64>) -> String {
        unix.map_or_else(|| "—".to_owned(), format_jst)
    }
}

/// Japan time, as clinics read it.
pub fn format_jst(unix: i64) -> String {
    const JST: time::UtcOffset = time::macros::offset!(+9);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.to_offset(JST))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "—".to_owned())
}

pub fn render(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

/// "Are you sure?" before an action that stops something at once or cannot be taken back
/// (revoking a reader or a token, re-enrolling a reader, disabling an account). The first POST,
/// without `confirm=yes`, answers with this page; its button posts the same form again with it.
/// Without JavaScript, and with nothing changed until the second POST.
pub struct Question {
    pub title: &'static str,
    /// What the action is about, e.g. the reader's name.
    pub subject: String,
    pub consequence: &'static str,
    pub submit: &'static str,
    /// Where the confirmed form posts (the same URL).
    pub action: String,
    /// Where 「キャンセル」 goes.
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Page,
    question: Question,
}

/// True when the form carries the confirmation.
pub fn is_confirmed(confirm: &str) -> bool {
    confirm == "yes"
}

pub async fn ask(ctx: &Ctx, question: Question) -> Result<Response, AppError> {
    render(&ConfirmPage {
        page: Page::new(ctx).await?,
        question,
    })
}

/// For pages that show a secret once: never stored by the browser or a proxy.
pub fn render_no_store(template: &impl Template) -> Result<Response, AppError> {
    let mut response = render(template)?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, max-age=0"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// What was wrong with a form, next to the field it concerns (the form keeps what was typed).
#[derive(Debug, Default)]
pub struct FormErrors(Option<(&'static str, String)>);

impl FormErrors {
    pub fn on(field: &'static str, message: impl Into<String>) -> Self {
        Self(Some((field, message.into())))
    }

    /// The message for `field`, if the error concerns it.
    pub fn message(&self, field: &str) -> Option<&str> {
        self.0.as_ref().filter(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    /// For `aria-invalid`.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.message(field).is_some() { "true" } else { "false" }
    }

    pub fn any(&self) -> bool {
        self.0.is_some()
    }
}

/// After a form did what it was asked: a 303 to `location`, whose page then says so (`flash`
/// is a UI-string key, e.g. "flash.saved").
pub async fn done(ctx: &Ctx, flash: &'static str, location: &str) -> Result<Response, AppError> {
    ctx.flash(flash).await?;
    Ok(Redirect::to(location).into_response())
}

/// The sign-in page that comes back to `path` (a local path) afterwards.
pub fn login_url(path: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", path)
        .finish();
    format!("/login?{query}")
}

/// An urlencoded form whose rejection is a proper error page instead of plain text.
pub struct HtmlForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for HtmlForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let cookies = req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok());
        let lang = crate::i18n::Lang::from_cookie_header(cookies);
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(value)| Self(value))
            .map_err(|e| {
                // Only a tampered or broken client gets here; the details are for the log.
                tracing::debug!(error = %e.body_text(), "malformed form");
                AppError::BadRequest(crate::i18n::text(lang, "form.malformed").to_owned())
            })
    }
}

/// Loads the clinic in the URL and checks the signed-in user may do `allowed` there. Other
/// clinics look exactly like missing ones (404), and the attempt is audited.
pub async fn authorize_clinic(
    state: &AppState,
    ctx: &Ctx,
    code: &str,
    allowed: fn(Actor, i64) -> bool,
) -> Result<(SignedIn, db::clinics::Clinic), AppError> {
    let user = ctx.require_user()?.clone();
    let code = ClinicCode::parse(code).map_err(|_| AppError::NotFound)?;
    let clinic = db::clinics::by_code(&state.pool, code.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = user.actor();
    if allowed(actor, clinic.id) {
        return Ok((user, clinic));
    }
    let detail = audit::fields(&[("code", code.as_str()), ("path", &ctx.path)]);
    audit::record(
        &state.pool,
        audit::Entry {
            actor: &user.audit_actor(),
            action: "access.denied",
            clinic_id: Some(clinic.id),
            detail: &detail,
            ip: ctx.ip(),
        },
    )
    .await?;
    tracing::warn!(user = user.id, clinic = %code, path = %ctx.path, "access denied");
    if actor.can_view_clinic(clinic.id) {
        Err(AppError::Forbidden)
    } else {
        Err(AppError::NotFound)
    }
}

#[cfg(test)]
mod link_token_tests {
    use super::without_link_token;

    #[test]
    fn link_tokens_are_cut_from_logged_paths() {
        let token = "ab".repeat(32);
        assert_eq!(without_link_token(&format!("/invite/{token}")), "/invite/…");
        assert_eq!(
            without_link_token(&format!("/password/reset/{token}")),
            "/password/reset/…"
        );
        assert_eq!(without_link_token("/password/reset"), "/password/reset");
        assert_eq!(without_link_token("/invite"), "/invite");
        assert_eq!(without_link_token("/users?x=1"), "/users?x=1");
    }
}
