//! Errors at the HTTP boundary. Pages get [`AppError`] rendered as a bilingual HTML page; the
//! JSON API gets [`ApiError`] as `{"error": "<stable code>", "message": "..."}`. Details of
//! 5xx errors go to the log, never to the client.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::domain::installer::InstallerDesk;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Answered with the sign-in page, which comes back to `next` afterwards.
    #[error("sign-in required")]
    SignInRequired { next: Option<String> },
    /// The password was set by an operator: choose one's own first, then go on to `next`.
    #[error("password change required")]
    PasswordChangeRequired { next: String },
    /// The account's role needs a second factor and it has none yet: set it up, then `next`.
    #[error("second factor required")]
    SecondFactorRequired { next: String },
    #[error("forbidden")]
    Forbidden,
    #[error("the form has expired")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_s: u64 },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// The database (or the session store in it) cannot serve right now: 503, try again.
    #[error("unavailable: {0}")]
    Unavailable(anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::db::Error> for AppError {
    fn from(e: crate::db::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("rendering a template"))
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        // The store is the SQLite database: its failures are the database's (the store keeps
        // only a string, so the SQLite code cannot be checked here).
        match e {
            tower_sessions::session::Error::Store(_) => {
                Self::Unavailable(anyhow::Error::new(e).context("session store"))
            }
            other => Self::Internal(anyhow::Error::new(other).context("session data")),
        }
    }
}

/// Error pages are shown in both languages: they may come before the language is known.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title_ja: &'a str,
    title_en: &'a str,
    detail: Option<&'a str>,
    installer: Option<&'a InstallerDesk>,
}

/// What an error page says, kept on the response (an extension) so that a layer holding the
/// state can render it again with the installer's desk ([`with_installer_desk`]): errors are
/// made where no state is at hand.
#[derive(Clone, Debug)]
pub struct ErrorPageText {
    status: u16,
    title_ja: &'static str,
    title_en: &'static str,
    detail: Option<String>,
}

impl ErrorPageText {
    fn render(&self, installer: Option<&InstallerDesk>) -> String {
        let page = ErrorPage {
            status: self.status,
            title_ja: self.title_ja,
            title_en: self.title_en,
            detail: self.detail.as_deref(),
            installer,
        };
        page.render()
            .unwrap_or_else(|_| format!("{} {}", self.status, self.title_en))
    }

    fn response(self, status: StatusCode) -> Response {
        let body = self.render(None);
        let mut response = (status, Html(body)).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Renders an error page again with the installer's support desk, once an operator has set it.
pub fn with_installer_desk(mut response: Response, desk: &InstallerDesk) -> Response {
    if !desk.is_set() {
        return response;
    }
    let Some(text) = response.extensions_mut().remove::<ErrorPageText>() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text.render(Some(desk))))
}

impl AppError {
    /// The cause, when this error means "the database cannot serve right now".
    fn unavailable(&self) -> Option<&anyhow::Error> {
        match self {
            Self::Unavailable(e) => Some(e),
            Self::Internal(e) if crate::db::chain_is_unavailable(e) => Some(e),
            _ => None,
        }
    }
}

/// 503 with a bilingual page and `Retry-After`: the database cannot serve right now.
pub fn unavailable_page() -> Response {
    let page = ErrorPageText {
        status: 503,
        title_ja: "ただいま一時的にご利用いただけません。しばらくしてからもう一度お試しください",
        title_en: "The portal is temporarily unavailable. Please try again in a moment",
        detail: None,
    };
    let mut response = page.response(StatusCode::SERVICE_UNAVAILABLE);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::SignInRequired { next } = &self {
            let location = match next {
                Some(next) if next != "/" => crate::domain::login_url(next),
                _ => "/login".to_owned(),
            };
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
        if let Self::PasswordChangeRequired { next } = &self {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            let location = format!("/account/password?{query}");
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
        if let Self::SecondFactorRequired { next } = &self {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            let location = format!("/account/mfa?{query}");
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
        if let Some(e) = self.unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return unavailable_page();
        }
        let (status, title_ja, title_en, detail) = match &self {
            Self::NotFound => (StatusCode::NOT_FOUND, "ページが見つかりません", "Page not found", None),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "この操作は許可されていません",
                "You are not allowed to do this",
                None,
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "フォームの有効期限が切れました。ページを再読み込みしてもう一度お試しください",
                "This form has expired. Reload the page and try again",
                None,
            ),
            Self::BadRequest(msg) => (
                StatusCode::BAD_REQUEST,
                "入力内容に誤りがあります",
                "The request could not be processed",
                Some(msg.as_str()),
            ),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "試行回数が多すぎます。しばらくしてからお試しください",
                "Too many attempts. Please wait and try again",
                None,
            ),
            Self::Conflict(msg) => (
                StatusCode::CONFLICT,
                "他の変更と競合しました",
                "This conflicts with another change",
                Some(msg.as_str()),
            ),
            Self::Unprocessable(msg) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "この操作はできません",
                "This cannot be done",
                Some(msg.as_str()),
            ),
            Self::SignInRequired { .. }
            | Self::PasswordChangeRequired { .. }
            | Self::SecondFactorRequired { .. }
            | Self::Unavailable(_) => {
                unreachable!("handled above")
            }
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "サーバーでエラーが発生しました。時間をおいてお試しください",
                    "Something went wrong on the server. Please try again later",
                    None,
                )
            }
        };
        let page = ErrorPageText {
            status: status.as_u16(),
            title_ja,
            title_en,
            detail: detail.map(str::to_owned),
        };
        let mut response = page.response(status);
        if let Self::TooManyRequests { retry_after_s } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
    }
}

/// A JSON API error with a stable machine-readable code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_s: Option<u64>,
}

#[derive(Serialize)]
struct ApiErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if crate::db::chain_is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the portal is temporarily unavailable; retry later",
            )
            .with_retry_after(10);
        }
        tracing::error!(error = ?e, "internal error in the API");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }
}

impl From<crate::db::Error> for ApiError {
    fn from(e: crate::db::Error) -> Self {
        anyhow::Error::new(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            error: self.code,
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
