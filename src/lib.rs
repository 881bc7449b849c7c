//! The 目視モード support portal: one axum server for clinic admins, support staff, operators
//! and card readers. [`build`] opens the data and returns a [`Portal`]; [`Portal::router`] is
//! the whole application, and [`Portal::serve`] runs it with its background tasks.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod follow;
pub mod i18n;
pub mod limits;
pub mod live;
pub mod long_polls;
pub mod mail;
pub mod metrics;
pub mod reader_sim;
pub mod routes;
pub mod server;
pub mod services;
pub mod state;
pub mod telemetry;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::{HeaderName, HeaderValue, header};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::csrf::CsrfLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::domain::Secret;
use crate::live::Live;
use crate::state::{App, AppState};

pub use crate::config::Config as PortalConfig;

/// Idle sessions end after this long.
const SESSION_IDLE: time::Duration = time::Duration::minutes(30);
/// [`SESSION_IDLE`] in seconds, for the sessions list.
pub(crate) const SESSION_IDLE_S: i64 = 30 * 60;
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// New audit rows are placed in the chain this soon; until then they can vanish unnoticed.
const AUDIT_SEAL_PERIOD: Duration = Duration::from_secs(1);

pub struct Portal {
    state: AppState,
    /// Only the sealer needs the audit key: it is not part of the request handlers' state.
    audit_key: Arc<domain::audit_chain::ChainKey>,
    shutdown: watch::Sender<bool>,
    sessions: db::SessionStore,
}

/// Opens (and migrates) the database, loads the pepper and the caches.
pub async fn build(config: Config) -> anyhow::Result<Portal> {
    config.prepare_data_dir()?;
    config.check_shared_secrets()?;
    let mailer = mail::Mailer::from_config(
        config.smtp_url.as_ref(),
        &config.mail_from,
        config.smtp_ca_file.as_deref(),
    )?
    .map(Arc::new);
    match &mailer {
        Some(m) => {
            tracing::info!(server = %m.server, from = %config.mail_from, "mail on");
            if let Some(warning) = mail::sender_warning(&config.mail_from) {
                tracing::warn!("{warning}");
            }
        }
        None => tracing::info!("mail is off (no --smtp-url / PORTAL_SMTP_URL): messages wait in the outbox"),
    }
    let pool = db::connect(&config.database_url).await?;
    let pepper_in_use = db::pepper_in_use(&pool).await?;
    let pepper = auth::pepper::load_or_create(config.passcode_pepper.as_ref(), &config.data_dir, pepper_in_use)?;
    auth::pepper::check_against_database(&pool, &pepper).await?;
    let sealing = auth::SealingKey::derive(&pepper)?;
    let device_key = auth::device_cookie::DeviceKey::from_pepper(pepper.expose());
    let hasher = auth::Hasher::new(pepper)?;
    let audit_key = auth::audit_key::load_or_create(
        config.audit_key.as_ref(),
        &config.data_dir,
        db::audit::chain_started(&pool).await?,
    )?;
    services::audit_chain::check_key(&pool, &audit_key)
        .await
        .context("refusing to start")?;
    // Rows written while no server ran (the command line), and after an upgrade all old rows.
    // Another key is fatal; any other failure is not (the background sealer retries every
    // second and says why).
    if let Err(e) = services::audit_chain::seal(&pool, &audit_key).await {
        if e.downcast_ref::<services::audit_chain::WrongKey>().is_some() {
            return Err(e.context("refusing to start"));
        }
        tracing::warn!(error = ?e, "sealing the audit log at start failed");
    }
    let sessions = db::session_store(&pool).await?;
    let started = std::time::Instant::now();
    let indexed = services::search::index_stale(&pool)
        .await
        .context("cannot write the ticket search index")?;
    if indexed > 0 {
        tracing::info!(
            tickets = indexed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ticket search index rebuilt"
        );
    }
    let live = Live::load(&pool).await?;
    let guides = domain::guide::load_all().map_err(|e| anyhow::anyhow!("invalid guide content: {e}"))?;
    // The token this process prints; any process accepts any process's (only hashes are
    // stored), and the first setup consumes them all.
    let setup_token = if db::users::count(&pool).await? == 0 {
        let token = Secret::new(auth::session::random_hex(16)?);
        db::setup_tokens::insert(&pool, &auth::device_token::hash(token.expose()), db::now()).await?;
        Some(token)
    } else {
        db::setup_tokens::delete_all(&pool).await?;
        None
    };
    let caps = fit_under_open_file_limit(&config);
    let (shutdown, shutting_down) = watch::channel(false);
    let listening = follow::Listening::new(pool.engine());
    let state = AppState(Arc::new(App {
        long_polls: Arc::new(long_polls::LongPolls::new(caps.max_long_polls)),
        metrics: metrics::Metrics::default(),
        caps,
        config,
        pool,
        hasher,
        device_key,
        sealing,
        listening,
        live,
        setup_token: Mutex::new(setup_token),
        shutting_down,
        guides,
        mailer,
        mail_wake: Arc::new(tokio::sync::Notify::new()),
    }));
    Ok(Portal {
        state,
        audit_key: Arc::new(audit_key),
        shutdown,
        sessions,
    })
}

/// Raises the open-file limit and fits the caps under it; logs all of it in one line.
fn fit_under_open_file_limit(config: &Config) -> limits::Budget {
    let files = limits::raise_open_file_limit();
    let caps = limits::plan(
        files.map_or(u64::MAX, |f| f.soft),
        config.max_connections,
        config.max_long_polls,
        db::POOL_SIZE as usize,
    );
    tracing::info!(
        open_files_before = files.map(|f| f.soft_before),
        open_files = files.map(|f| f.soft),
        open_files_hard = files.and_then(|f| f.hard),
        max_connections = caps.max_connections,
        requested_connections = config.max_connections,
        max_long_polls = caps.max_long_polls,
        requested_long_polls = config.max_long_polls,
        health_reserve = limits::HEALTH_RESERVE,
        margin = caps.margin,
        "open-file limit raised; connection and long-poll caps fitted under it"
    );
    caps
}

impl Portal {
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The first-run setup token, while no account exists.
    pub fn setup_token(&self) -> Option<String> {
        self.state
            .setup_token
            .lock()
            .ok()
            .and_then(|t| t.as_ref().map(|s| s.expose().clone()))
    }

    pub fn router(&self) -> Router {
        let config = &self.state.config;
        let sessions = SessionManagerLayer::new(auth::session_store::TolerantStore(self.sessions.clone()))
            // Over https the `__Host-` prefix makes browsers refuse the cookie unless it is Secure,
            // host-only and for `/`, so a sibling subdomain cannot plant or shadow it.
            .with_name(if config.uses_https() {
                "__Host-portal_session"
            } else {
                "portal_session"
            })
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(config.uses_https())
            // Saved when changed; `auth::session` touches it now and then so the idle timeout slides.
            .with_expiry(Expiry::OnInactivity(SESSION_IDLE));
        let timeout = Duration::from_secs(config.request_timeout_s);
        // Long-polls may be held up to 60 s; everything else must finish within the timeout.
        let api_timeout = timeout + Duration::from_secs(60);
        let mut router = Router::new()
            .merge(
                routes::page_routes()
                    .layer(sessions)
                    .layer(axum::middleware::from_fn_with_state(
                        self.state.clone(),
                        auth::session::visitor_token,
                    ))
                    // Pages show a user's data and their CSRF token: never kept by the browser or a
                    // proxy (static files set their own caching).
                    .layer(header_layer(header::CACHE_CONTROL, "no-store"))
                    .layer(axum::middleware::map_response(session_failure_page))
                    .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout)),
            )
            .merge(
                routes::api_routes()
                    // Ticket answers are a user's data; the reader poll sets its own (no-cache + ETag).
                    .layer(header_layer(header::CACHE_CONTROL, "no-store"))
                    .layer(TimeoutLayer::with_status_code(
                        StatusCode::SERVICE_UNAVAILABLE,
                        api_timeout,
                    )),
            )
            .merge(routes::health_routes())
            .fallback(routes::not_found)
            // Error pages are made without the state; this adds the installer's desk to them.
            .layer(axum::middleware::map_response_with_state(
                self.state.clone(),
                installer_on_error_pages,
            ))
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            // A client that trickles its body is cut off instead of holding a connection.
            .layer(RequestBodyDeadlineLayer::new(Duration::from_secs(
                config.body_deadline_s,
            )))
            // Rejects cross-site form posts by Origin / Sec-Fetch-Site before any handler runs.
            .layer(CsrfLayer::new())
            .layer(TraceLayer::new_for_http().make_span_with(routes::request_span))
            .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
            .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header_layer(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ));
        if config.uses_https() {
            router = router.layer(header_layer(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            ));
        }
        router.with_state(self.state.clone())
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish, answers held
    /// long-polls at once and writes the batched last-seen times.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        let background = self.spawn_background();
        let signal = self.shutdown.clone();
        let graceful = async move {
            shutdown.await;
            tracing::info!("shutting down");
            let _ = signal.send(true);
        };
        let limits = server::Limits {
            header_read_timeout: Duration::from_secs(self.state.config.header_read_timeout_s),
            max_connections: self.state.caps.max_connections,
            health_reserve: limits::HEALTH_RESERVE,
            refusals_at_once: limits::REFUSALS_AT_ONCE,
        };
        tracing::info!(
            addr = %listener.local_addr().map_or_else(|_| "?".to_owned(), |a| a.to_string()),
            max_connections = limits.max_connections,
            max_long_polls = self.state.caps.max_long_polls,
            "listening"
        );
        server::run(listener, router, limits, graceful).await;
        for task in background {
            task.abort();
        }
        let flushed = self.state.live.flush_seen(&self.state.pool).await?;
        if let Err(e) = services::audit_chain::seal(&self.state.pool, &self.audit_key).await {
            tracing::warn!(error = ?e, "sealing the audit log at shutdown failed");
        }
        tracing::info!(flushed, "stopped");
        self.state.pool.close().await;
        Ok(())
    }

    fn spawn_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let follow = tokio::spawn(follow::run(self.state.clone()));
        let flush = {
            let state = self.state.clone();
            let period = Duration::from_secs(state.config.last_seen_flush_s);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                loop {
                    tick.tick().await;
                    if let Err(e) = state.live.flush_seen(&state.pool).await {
                        tracing::error!(error = ?e, "writing reader last-seen times failed");
                    }
                }
            })
        };
        let housekeeping = {
            let state = self.state.clone();
            let sessions = self.sessions.clone();
            tokio::spawn(async move {
                // Every minute: what strangers can add (guide walks, throttle counts) is folded or
                // deleted well before it adds up; each step is one indexed statement or two.
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    housekeeping(&state, &sessions).await;
                }
            })
        };
        let seal = {
            let pool = self.state.pool.clone();
            let key = self.audit_key.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(AUDIT_SEAL_PERIOD);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = services::audit_chain::seal(&pool, &key).await {
                        tracing::warn!(error = ?e, "sealing the audit log failed");
                    }
                }
            })
        };
        // Time-based notices: every process looks; each episode's claim makes one of them mail it.
        // Also with mail off: the messages wait in the outbox like any other.
        let notices = {
            let state = self.state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(state.config.notice_check_ms));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    // This process's own last-seen times first, so a reader it sees is not called stale.
                    if let Err(e) = state.live.flush_seen(&state.pool).await {
                        tracing::warn!(error = ?e, "writing reader last-seen times failed");
                    }
                    match services::mail::time_based(&state.pool, db::now()).await {
                        Ok(0) => {}
                        Ok(found) => {
                            tracing::info!(found, "time-based notices enqueued");
                            state.mail_wake.notify_one();
                        }
                        Err(e) => tracing::warn!(error = ?e, "looking for time-based notices failed"),
                    }
                }
            })
        };
        let mut tasks = vec![follow, flush, housekeeping, seal, notices];
        if let Some(mailer) = &self.state.mailer {
            tasks.push(tokio::spawn(mail::run(
                self.state.pool.clone(),
                mailer.clone(),
                self.state.mail_wake.clone(),
                mail::Sending {
                    poll: Duration::from_millis(self.state.config.mail_poll_ms),
                    retry_base_s: self.state.config.mail_retry_base_s,
                    lease_s: self.state.config.mail_lease_s,
                },
                self.state.metrics.outbox_queued.clone(),
            )));
        }
        tasks
    }
}

/// Open guide walks kept at most; beyond, the oldest are folded into the totals at once.
pub const MAX_OPEN_WALKS: i64 = 5_000;
/// How long a reader's answers stay in the clinic's history (about 13 months).
pub const ATTEMPT_RETENTION_S: i64 = 400 * 86_400;
/// How long sent mail stays in the outbox: its bodies hold addresses, names and IP addresses.
pub const SENT_MAIL_RETENTION_S: i64 = 30 * 86_400;

/// One round of the housekeeping the server does every minute (public for tests and tools);
/// a failing step is logged and the others still run.
pub async fn housekeeping(state: &AppState, sessions: &db::SessionStore) {
    use tower_sessions::session_store::ExpiredDeletion;
    let now = db::now();
    let steps: [(&str, anyhow::Result<()>); 8] = [
        (
            "sessions",
            sessions.delete_expired().await.map_err(|e| anyhow::anyhow!("{e}")),
        ),
        (
            "cache events",
            db::cache_events::prune(&state.pool).await.map_err(Into::into),
        ),
        (
            "sign-in failures",
            db::login_failures::prune(&state.pool, now - 3600)
                .await
                .map_err(Into::into),
        ),
        (
            "throttled counts",
            db::login_failures::prune_throttled(&state.pool, now - 2 * 3600)
                .await
                .map_err(Into::into),
        ),
        (
            "ended sessions",
            db::user_sessions::prune(&state.pool, now - 24 * 3600)
                .await
                .map(drop)
                .map_err(Into::into),
        ),
        (
            "guide walks",
            db::guide::fold_walks(&state.pool, now, MAX_OPEN_WALKS)
                .await
                .map(drop)
                .map_err(Into::into),
        ),
        (
            "passcode answers",
            db::passcodes::prune_attempts(&state.pool, now - ATTEMPT_RETENTION_S)
                .await
                .map(drop)
                .map_err(Into::into),
        ),
        (
            "sent mail",
            db::outbox::prune_sent(&state.pool, now - SENT_MAIL_RETENTION_S)
                .await
                .map(drop)
                .map_err(Into::into),
        ),
    ];
    for (name, result) in steps {
        if let Err(e) = result {
            tracing::warn!(error = ?e, step = name, "housekeeping step failed");
        }
    }
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn installer_on_error_pages(
    axum::extract::State(state): axum::extract::State<AppState>,
    response: axum::response::Response,
) -> axum::response::Response {
    // Every response passes here, reader polls included: look at the cache only for error pages.
    if response.extensions().get::<error::ErrorPageText>().is_none() {
        return response;
    }
    error::with_installer_desk(response, &state.live.installer())
}

/// The session layer answers a store failure (creating a session while the database cannot be
/// written, for example) with an empty 500; our own error pages always have a content type. Show
/// the 503 page instead, which tells the user to try again in a moment.
async fn session_failure_page(response: axum::response::Response) -> axum::response::Response {
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(axum::http::header::CONTENT_TYPE)
    {
        return error::unavailable_page();
    }
    response
}
