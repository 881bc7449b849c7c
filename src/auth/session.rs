//! The request context for pages: language, session, CSRF token and the signed-in user.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::db::{self, audit};
use crate::domain::Role;
use crate::domain::policy::Actor;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;

const USER_KEY: &str = "user_id";
const SIGNED_IN_AT_KEY: &str = "signed_in_at";
const CSRF_KEY: &str = "csrf";
/// The user's session generation at sign-in; a password change or reset moves it on, which ends
/// every session signed in before.
const GENERATION_KEY: &str = "user_generation";
/// The random handle of this session's row in `user_sessions` (the list of where a user is signed
/// in): never the session id, which is the cookie's secret.
const HANDLE_KEY: &str = "session_handle";
/// How much of a browser's `User-Agent` the sessions list keeps.
const USER_AGENT_CHARS: usize = 200;
/// Short confirmations ("保存しました") shown once on the page a form lands on.
const FLASH_KEY: &str = "flash";
/// When this session last proved the second factor (sign-in, or a check before issuing a
/// passcode).
const SECOND_FACTOR_AT_KEY: &str = "second_factor_at";
/// Between the password and the code: who, under which generation, since when, and where to go.
const PENDING_KEY: &str = "pending_second_factor";
/// When an unchanged session was last saved, which is what moves its idle expiry.
const TOUCHED_KEY: &str = "touched_at";
/// The CSRF token of a visitor who is not signed in lives in this cookie, not in a session.
pub const VISITOR_COOKIE: &str = "portal_csrf";
/// The same over https: `__Host-` keeps a sibling subdomain from planting a known value.
pub const VISITOR_COOKIE_HTTPS: &str = "__Host-portal_csrf";
/// Absolute session lifetime; the idle timeout (30 min) is the session store's expiry.
pub const ABSOLUTE_TIMEOUT_S: i64 = 12 * 3600;

/// A signed-in person, loaded from the database on every request so that a disabled
/// account or a changed role takes effect at once.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub clinic_id: Option<i64>,
    pub clinic_code: Option<String>,
    /// An operator set the password on the web: the user must choose their own first.
    pub must_change_password: bool,
    /// The second factor (TOTP) is on for this account.
    pub totp_enabled: bool,
    /// The account's role needs one (operators; everyone when operators require it).
    pub totp_required: bool,
}

/// Signed in with the password, waiting for the code (kept in the session, so any process
/// answers the next step).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PendingSignIn {
    pub user_id: i64,
    pub generation: i64,
    pub at: i64,
    pub next: String,
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        Actor {
            role: self.role,
            clinic_id: self.clinic_id,
        }
    }

    pub fn audit_actor(&self) -> audit::Actor {
        audit::Actor::User {
            id: self.id,
            email: self.email.clone(),
        }
    }
}

pub struct Ctx {
    pub lang: Lang,
    pub session: Session,
    pub user: Option<SignedIn>,
    pub ip: Option<String>,
    /// Path and query of this request, to come back after switching language.
    pub path: String,
    is_get: bool,
    /// The installer's support desk, from the in-memory cache (every page's footer shows it).
    pub installer: std::sync::Arc<crate::domain::installer::InstallerDesk>,
    /// This browser's visitor CSRF token (see [`visitor_token`]).
    visitor_token: Option<String>,
    /// The request's `Cookie:` header text.
    cookies: String,
    user_agent: String,
    pool: db::Pool,
}

/// A visitor's CSRF token, from their cookie or made for this response.
#[derive(Clone)]
struct VisitorToken(String);

/// Gives every page request a CSRF token that needs no session: looking at pages, the guide
/// included, then writes nothing on the server; a session starts at sign-in. A form proves it
/// came from our page by carrying the cookie's value (double submit), which another site can
/// neither read nor, under the `__Host-` prefix over https, set; the Origin check of the CSRF
/// layer comes first anyway. A new token is sent with HTML answers only.
pub async fn visitor_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let https = state.config.uses_https();
    let name = if https { VISITOR_COOKIE_HTTPS } else { VISITOR_COOKIE };
    let existing = super::cookies::find(request.headers(), name)
        .filter(|t| super::cookies::is_hex_token(t, 32))
        .map(str::to_owned);
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => match random_hex(32) {
            Ok(token) => (token, true),
            Err(e) => return AppError::Internal(e).into_response(),
        },
    };
    request.extensions_mut().insert(VisitorToken(token.clone()));
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if fresh && is_html {
        let cookie = super::cookies::set(name, &token, "/", None, https);
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(anyhow::anyhow!("session layer missing: {msg}")))?;
        let lang = Lang::from_cookie_header(parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()));
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| {
                super::client_ip::client_ip(addr.ip(), &parts.headers, &state.config.trusted_proxies).to_string()
            });
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let visitor_token = parts.extensions.get::<VisitorToken>().map(|t| t.0.clone());
        let user_agent: String = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(USER_AGENT_CHARS)
            .collect();
        let seen = Seen {
            ip: ip.as_deref(),
            user_agent: &user_agent,
        };
        let user = load_user(&session, state, seen).await?;
        touch(&session, state.config.session_touch_s).await?;
        if user.as_ref().is_some_and(|u| u.must_change_password) && !may_wait_for_new_password(&path) {
            return Err(AppError::PasswordChangeRequired { next: comeback(path) });
        }
        if user.as_ref().is_some_and(|u| u.totp_required && !u.totp_enabled) && !may_wait_for_second_factor(&path) {
            return Err(AppError::SecondFactorRequired { next: comeback(path) });
        }
        Ok(Self {
            lang,
            session,
            user,
            ip,
            path,
            is_get: parts.method == axum::http::Method::GET,
            installer: state.live.installer(),
            visitor_token,
            cookies: super::cookies::header_text(&parts.headers),
            user_agent,
            pool: state.pool.clone(),
        })
    }
}

/// Where to come back to after the password change or the second factor's set-up. Never a
/// mailed link: its token would travel on in `?next=`, into logs and history.
fn comeback(path: String) -> String {
    use crate::services::account_mail::{INVITE_PATH, RESET_PATH};
    if path.starts_with(INVITE_PATH) || path.starts_with(RESET_PATH) {
        "/".to_owned()
    } else {
        path
    }
}

/// What a user whose password is temporary may still reach: the change itself, signing out and
/// the language switch.
fn may_wait_for_new_password(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    matches!(path, "/account/password" | "/logout" | "/lang")
}

/// What a user who must set up the second factor may still reach: its page, signing out and the
/// language switch.
fn may_wait_for_second_factor(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path == "/account/mfa" || path.starts_with("/account/mfa/") || matches!(path, "/logout" | "/lang")
}

/// Sessions are saved when they change. An unchanged one is re-saved, which moves its idle expiry
/// (30 min after the last save), at most every `interval_s` seconds rather than on every page
/// view: most views write nothing, and the idle timeout is 30 min less at most that interval.
async fn touch(session: &Session, interval_s: u64) -> Result<(), AppError> {
    let now = db::now();
    let due = |at: i64| u64::try_from(now - at).map_or(true, |age| age >= interval_s);
    match session.get::<i64>(TOUCHED_KEY).await? {
        Some(at) if !due(at) => {}
        // No session yet (a first visit): nothing to keep alive, so none is created here.
        _ if session.is_empty().await => {}
        _ => session.insert(TOUCHED_KEY, now).await?,
    }
    Ok(())
}

/// Where a request comes from, for the sessions list.
#[derive(Clone, Copy)]
struct Seen<'a> {
    ip: Option<&'a str>,
    user_agent: &'a str,
}

/// Keeps the session's row in `user_sessions` current: made at sign-in (here only for sessions
/// from before the list existed), "last used" moved at most every
/// `touch_s` seconds. False when the row was ended (the user ended it from another browser, or
/// signed out there with a password change): then the session ends here too.
async fn keep_listed(session: &Session, state: &AppState, user_id: i64, seen: Seen<'_>) -> Result<bool, AppError> {
    let now = db::now();
    let Some(handle) = session.get::<String>(HANDLE_KEY).await? else {
        let handle = random_hex(16)?;
        // Like the session's own refresh, listing is not worth failing a page view over (a
        // database that cannot be written just now): the next request tries again.
        match db::user_sessions::insert(&state.pool, user_id, &handle, seen.user_agent, seen.ip, now).await {
            Ok(()) => session.insert(HANDLE_KEY, handle).await?,
            Err(e) => tracing::warn!(error = %e, "session not listed; the database cannot be written"),
        }
        return Ok(true);
    };
    let Some(row) = db::user_sessions::live(&state.pool, user_id, &handle).await? else {
        return Ok(false);
    };
    let due = u64::try_from(now - row.last_used_at).map_or(true, |age| age >= state.config.session_touch_s);
    if due && let Err(e) = db::user_sessions::touch(&state.pool, row.id, seen.ip, now).await {
        tracing::warn!(error = %e, "session's last use not saved; the database cannot be written");
    }
    Ok(true)
}

async fn load_user(session: &Session, state: &AppState, seen: Seen<'_>) -> Result<Option<SignedIn>, AppError> {
    let Some(user_id) = session.get::<i64>(USER_KEY).await? else {
        return Ok(None);
    };
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT_KEY).await?.unwrap_or(0);
    if db::now() - signed_in_at > ABSOLUTE_TIMEOUT_S {
        session.flush().await?;
        return Ok(None);
    }
    let Some(user) = db::users::by_id(&state.pool, user_id).await? else {
        session.flush().await?;
        return Ok(None);
    };
    let role = Role::from_db(&user.role);
    let generation = session.get::<i64>(GENERATION_KEY).await?.unwrap_or(0);
    let (Some(role), None, true) = (role, user.disabled_at, generation == user.session_generation) else {
        session.flush().await?;
        return Ok(None);
    };
    if !keep_listed(session, state, user.id, seen).await? {
        session.flush().await?;
        return Ok(None);
    }
    let (totp_enabled, required_for_all) = db::totp::state(&state.pool, user.id).await?;
    let clinic_code = match user.clinic_id {
        Some(id) => db::clinics::by_id(&state.pool, id).await?.map(|c| c.code),
        None => None,
    };
    Ok(Some(SignedIn {
        id: user.id,
        email: user.email,
        role,
        clinic_id: user.clinic_id,
        clinic_code,
        must_change_password: user.must_change_password,
        totp_enabled,
        totp_required: role == Role::Operator || required_for_all,
    }))
}

impl Ctx {
    pub fn require_user(&self) -> Result<&SignedIn, AppError> {
        // After signing in, a page view comes back here; a form post starts from the home page.
        let next = self.is_get.then(|| self.path.clone());
        self.user.as_ref().ok_or(AppError::SignInRequired { next })
    }

    /// The token this page's forms carry: the session's once signed in, the visitor cookie's
    /// before (so a page view creates no session).
    pub async fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(token) = self.session.get::<String>(CSRF_KEY).await? {
            return Ok(token);
        }
        if let Some(token) = &self.visitor_token {
            return Ok(token.clone());
        }
        // Only without the visitor layer (never in the portal's router): a session token.
        let token = random_hex(32)?;
        self.session.insert(CSRF_KEY, &token).await?;
        Ok(token)
    }

    /// Every state-changing form carries the token (synchronizer-token pattern for sessions,
    /// double submit for visitors, on top of the Origin / Sec-Fetch-Site check of the CSRF
    /// layer).
    pub async fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        let expected = match self.session.get::<String>(CSRF_KEY).await? {
            Some(token) => Some(token),
            None => self.visitor_token.clone(),
        };
        match expected {
            Some(expected) if bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) => Ok(()),
            _ => Err(AppError::Csrf),
        }
    }

    /// Signs in: a new session id (no fixation), a new CSRF token, and the sign-in time for
    /// the absolute timeout.
    pub async fn sign_in(&self, user_id: i64, generation: i64) -> Result<(), AppError> {
        // A browser signed in as someone else before: that session's row ends.
        let now = db::now();
        if let Some(old) = self.session.remove::<String>(HANDLE_KEY).await? {
            db::user_sessions::end_handle(&self.pool, &old, now).await?;
        }
        self.session.cycle_id().await?;
        let handle = random_hex(16)?;
        db::user_sessions::insert(&self.pool, user_id, &handle, &self.user_agent, self.ip(), now).await?;
        self.session.insert(HANDLE_KEY, handle).await?;
        self.session.insert(USER_KEY, user_id).await?;
        self.session.insert(GENERATION_KEY, generation).await?;
        self.session.insert(SIGNED_IN_AT_KEY, db::now()).await?;
        self.session.insert(CSRF_KEY, random_hex(32)?).await?;
        self.session.remove::<PendingSignIn>(PENDING_KEY).await?;
        // A proof made by whoever this browser was signed in as before is not this user's.
        self.session.remove::<i64>(SECOND_FACTOR_AT_KEY).await?;
        Ok(())
    }

    /// The password was right and the account has a second factor: the session waits for the
    /// code, signed in to nothing yet. A new id here too, so the step cannot be fixed either.
    pub async fn await_second_factor(&self, user_id: i64, generation: i64, next: &str) -> Result<(), AppError> {
        // Whoever this browser was signed in as before is signed out now: the password typed
        // was someone else's (or the same user's, starting over).
        if let Some(old) = self.session.remove::<String>(HANDLE_KEY).await? {
            db::user_sessions::end_handle(&self.pool, &old, db::now()).await?;
        }
        self.session.remove::<i64>(USER_KEY).await?;
        self.session.remove::<i64>(SECOND_FACTOR_AT_KEY).await?;
        self.session.cycle_id().await?;
        let pending = PendingSignIn {
            user_id,
            generation,
            at: db::now(),
            next: next.to_owned(),
        };
        self.session.insert(PENDING_KEY, pending).await?;
        Ok(())
    }

    /// The sign-in waiting for its code, while still fresh (`window_s` after the password).
    pub async fn pending_sign_in(&self, window_s: i64) -> Result<Option<PendingSignIn>, AppError> {
        let pending = self.session.get::<PendingSignIn>(PENDING_KEY).await?;
        Ok(pending.filter(|p| db::now() - p.at <= window_s))
    }

    pub async fn forget_pending_sign_in(&self) -> Result<(), AppError> {
        self.session.remove::<PendingSignIn>(PENDING_KEY).await?;
        Ok(())
    }

    /// This session has just proved the second factor.
    pub async fn second_factor_proved(&self) -> Result<(), AppError> {
        self.session.insert(SECOND_FACTOR_AT_KEY, db::now()).await?;
        Ok(())
    }

    /// Seconds since this session last proved the second factor (`None`: never).
    pub async fn second_factor_age(&self) -> Result<Option<i64>, AppError> {
        let at = self.session.get::<i64>(SECOND_FACTOR_AT_KEY).await?;
        Ok(at.map(|at| db::now() - at))
    }

    /// After this session changed the user's password: it stays signed in under the new
    /// generation (with a new id), while every other session of the user ends.
    pub async fn password_changed(&self, generation: i64) -> Result<(), AppError> {
        self.session.cycle_id().await?;
        self.session.insert(GENERATION_KEY, generation).await?;
        if let Some(user) = &self.user {
            let keep = self.session_handle().await?;
            db::user_sessions::end_others(&self.pool, user.id, keep.as_deref(), db::now()).await?;
        }
        Ok(())
    }

    /// This session's handle in the sessions list.
    pub async fn session_handle(&self) -> Result<Option<String>, AppError> {
        Ok(self.session.get::<String>(HANDLE_KEY).await?)
    }

    /// Leaves a short confirmation (a UI-string key) for the next page this browser shows.
    pub async fn flash(&self, key: &'static str) -> Result<(), AppError> {
        self.session.insert(FLASH_KEY, key).await?;
        Ok(())
    }

    /// The confirmation left for this page, taken so it shows once.
    pub async fn take_flash(&self) -> Result<Option<String>, AppError> {
        // Only a present flash is removed: a removal marks the session for saving.
        if self.session.is_empty().await || self.session.get::<String>(FLASH_KEY).await?.is_none() {
            return Ok(None);
        }
        Ok(self.session.remove::<String>(FLASH_KEY).await?)
    }

    /// Destroys the session server-side.
    pub async fn sign_out(&self) -> Result<(), AppError> {
        if let Some(handle) = self.session_handle().await? {
            db::user_sessions::end_handle(&self.pool, &handle, db::now()).await?;
        }
        self.session.flush().await?;
        Ok(())
    }

    /// The UI string for `key` in the request's language.
    pub fn t(&self, key: &str) -> &'static str {
        crate::i18n::text(self.lang, key)
    }

    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    /// The value of a cookie this request carried.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        super::cookies::find_in(&self.cookies, name)
    }
}

pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
    Ok(hex::encode(buf))
}
