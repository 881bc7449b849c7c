//! Keeps this process's in-memory caches (`live::Live`) in step with changes made by any
//! process: `cache_events` is the record; the follower applies what is new.
//!
//! On SQLite (one portal process, plus the command line) the follower reads the table every
//! `follow_interval_ms`. On PostgreSQL it LISTENs on [`db::cache_events::CHANNEL`]: each change
//! NOTIFYs at its commit, from the web, the command line or any other process, and wakes every
//! follower at once. A notification sent while the listener is disconnected is lost, so after
//! every (re)connection the follower re-reads the table, and a slow safety tick re-reads it even
//! when nothing was heard. The reader poll path never waits on any of this.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db;
use crate::state::AppState;

/// How often a PostgreSQL follower re-reads `cache_events` when it has heard nothing.
pub const SAFETY_TICK: Duration = Duration::from_secs(5);
/// How long a lost listener waits before connecting again.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Whether this process hears other processes' changes as they commit. Always true on SQLite,
/// where there is no listener to lose.
#[derive(Debug)]
pub struct Listening(AtomicBool);

impl Listening {
    pub fn new(engine: db::Engine) -> Self {
        Self(AtomicBool::new(engine == db::Engine::Sqlite))
    }

    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, state: &AppState, up: bool) {
        if self.0.swap(up, Ordering::AcqRel) != up {
            state.metrics.listening.set(i64::from(up));
            if up {
                tracing::info!("listening for other processes' changes");
            } else {
                tracing::warn!("not listening for other processes' changes; re-reading them every tick until back");
            }
        }
    }
}

/// Runs until the task is aborted.
pub async fn run(state: AppState) {
    match state.pool.engine() {
        db::Engine::Postgres => listen(&state).await,
        db::Engine::Sqlite => {
            let mut tick = tokio::time::interval(Duration::from_millis(state.config.follow_interval_ms));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                state.sync_live().await;
            }
        }
    }
}

async fn listen(state: &AppState) {
    loop {
        match state.pool.listen(db::cache_events::CHANNEL).await {
            // Whatever committed while no listener ran was not heard: read it now, and count as
            // listening (ready) only once that read worked. If it fails (the database is still
            // coming back), connect again rather than go on with a change missing until the
            // next notification or safety tick.
            Some(Ok(mut listener)) => match state.live.sync(&state.pool).await {
                Ok(()) => {
                    state.listening.set(state, true);
                    hear(state, &mut listener).await;
                }
                Err(e) => tracing::warn!(error = %e, "cannot re-read changes after connecting the listener"),
            },
            Some(Err(e)) => tracing::warn!(error = %e, "cannot listen for changes"),
            None => return,
        }
        state.listening.set(state, false);
        state.sync_live().await;
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Applies changes as they are heard, until the connection is lost.
async fn hear(state: &AppState, listener: &mut db::Listener) {
    loop {
        match tokio::time::timeout(SAFETY_TICK, listener.next()).await {
            Err(_quiet) => state.sync_live().await,
            Ok(Ok(Some(payload))) => {
                if let Some(sent) = db::cache_events::sent_ms(&payload) {
                    let lag_ms = (db::cache_events::unix_ms() - sent).max(0);
                    state.metrics.notification_lag.observe(lag_ms as f64 / 1000.0);
                }
                state.sync_live().await;
            }
            // The connection was lost (`None`) or failed: reconnect explicitly, then re-read.
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the change listener failed");
                return;
            }
        }
    }
}
