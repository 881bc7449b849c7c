//! Prometheus metrics (OpenMetrics text) for operators watching one or several portal processes:
//! reader polls and what they were answered, held long-polls, how long a rotation takes to reach
//! the readers waiting on it, verifications and sign-ins, and the database pool. Served only on
//! `--metrics-addr`, a listener of its own (loopback or a private network), never on the public
//! port: the figures say how busy each clinic's readers are and are no one else's business.
//!
//! The poll path only increments counters created at start (an atomic add, no lock, no
//! allocation); gauges are read from the state when a scrape arrives.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answer {
    answer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: String,
}

/// Every metric the portal keeps, registered once.
pub struct Metrics {
    registry: Registry,
    /// Poll answered with the passcode state (200).
    pub poll_changed: Counter,
    /// Poll answered "unchanged" (304), at once or after a wait.
    pub poll_unchanged: Counter,
    /// Long-poll refused because every slot is taken (503).
    pub poll_refused: Counter,
    /// From the moment this process applied a change to the moment a held long-poll answered it.
    pub rotation_fanout: Histogram,
    /// From a change's NOTIFY (sent at its commit, by any process) to this process receiving it.
    pub notification_lag: Histogram,
    /// 1 while this process LISTENs for other processes' changes (PostgreSQL), else 0.
    pub listening: Gauge,
    verifications: Family<Outcome, Counter>,
    sign_ins: Family<Outcome, Counter>,
    long_polls_held: Gauge,
    long_poll_cap: Gauge,
    connection_cap: Gauge,
    pool_connections: Family<PoolState, Gauge>,
    readers_cached: Gauge,
    /// Messages waiting in the mail outbox, as the sender last counted them (mail on only).
    pub outbox_queued: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portal");
        let polls = Family::<Answer, Counter>::default();
        registry.register("reader_polls", "Reader passcode polls, by answer", polls.clone());
        let answer = |a: &str| polls.get_or_create(&Answer { answer: a.to_owned() }).clone();
        let (poll_changed, poll_unchanged, poll_refused) = (answer("200"), answer("304"), answer("503"));
        // 1 ms to ~16 s: a rotation reaches held polls in milliseconds; seconds mean trouble.
        let rotation_fanout = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "rotation_fanout_seconds",
            "Time from this process applying a passcode change to a held long-poll answering it",
            rotation_fanout.clone(),
        );
        let notification_lag = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register(
            "notification_lag_seconds",
            "Time from a change's commit-time NOTIFY, by any process, to this process receiving it (PostgreSQL)",
            notification_lag.clone(),
        );
        let listening = Gauge::default();
        registry.register(
            "change_listener_up",
            "1 while this process listens for other processes' changes (PostgreSQL only)",
            listening.clone(),
        );
        let verifications = Family::<Outcome, Counter>::default();
        registry.register(
            "passcode_verifications",
            "Passcodes typed at readers, by result",
            verifications.clone(),
        );
        let sign_ins = Family::<Outcome, Counter>::default();
        registry.register("sign_ins", "Sign-in attempts, by outcome", sign_ins.clone());
        let long_polls_held = Gauge::default();
        registry.register("long_polls_held", "Long-polls held now", long_polls_held.clone());
        let long_poll_cap = Gauge::default();
        registry.register("long_poll_cap", "Most long-polls held at once", long_poll_cap.clone());
        let connection_cap = Gauge::default();
        registry.register(
            "connection_cap",
            "Most client connections at once",
            connection_cap.clone(),
        );
        let pool_connections = Family::<PoolState, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections, by state (idle, in_use)",
            pool_connections.clone(),
        );
        let readers_cached = Gauge::default();
        registry.register(
            "readers_cached",
            "Reader tokens in this process's cache",
            readers_cached.clone(),
        );
        let outbox_queued = Gauge::default();
        registry.register(
            "mail_outbox_queued",
            "Messages queued in the mail outbox, counted by this process's sender each round",
            outbox_queued.clone(),
        );
        Self {
            registry,
            poll_changed,
            poll_unchanged,
            poll_refused,
            rotation_fanout,
            notification_lag,
            listening,
            verifications,
            sign_ins,
            long_polls_held,
            long_poll_cap,
            connection_cap,
            pool_connections,
            readers_cached,
            outbox_queued,
        }
    }
}

impl Metrics {
    /// A passcode typed at a reader was answered with `result` (accepted, rejected, locked, …).
    pub fn verified(&self, result: &str) {
        self.verifications
            .get_or_create(&Outcome {
                outcome: result.to_owned(),
            })
            .inc();
    }

    /// A sign-in attempt ended with `outcome` (signed_in, failed, throttled).
    pub fn signed_in(&self, outcome: &str) {
        self.sign_ins
            .get_or_create(&Outcome {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn render(&self, state: &AppState) -> Result<String, std::fmt::Error> {
        let gauge = |g: &Gauge, v: usize| {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
        };
        gauge(&self.long_polls_held, state.long_polls.held());
        gauge(&self.long_poll_cap, state.caps.max_long_polls);
        gauge(&self.connection_cap, state.caps.max_connections);
        let (size, idle) = state.pool.connections();
        for (label, value) in [("idle", idle), ("in_use", size.saturating_sub(idle))] {
            gauge(
                &self.pool_connections.get_or_create(&PoolState {
                    state: label.to_owned(),
                }),
                value,
            );
        }
        gauge(&self.readers_cached, state.live.readers_cached());
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The metrics listener's router: `GET /metrics` only.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.metrics.render(&state) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
