//! The one state type shared by every handler.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::auth::Hasher;
use crate::config::Config;
use crate::db;
use crate::domain::Secret;
use crate::live::Live;
use crate::long_polls::LongPolls;

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

pub struct App {
    pub config: Config,
    pub pool: db::Pool,
    pub hasher: Hasher,
    /// Signs the device cookies of browsers that signed in before.
    pub device_key: crate::auth::device_cookie::DeviceKey,
    /// Seals and opens the stored PC sign-in passwords (derived from the pepper).
    pub sealing: crate::auth::SealingKey,
    pub live: Live,
    /// Whether this process hears other processes' changes as they commit (`follow`).
    pub listening: crate::follow::Listening,
    /// Bounds held long-polls (each costs a socket and ~30 kB), shared fairly between clinics.
    pub long_polls: Arc<LongPolls>,
    /// Counters and gauges for `/metrics` on the metrics address.
    pub metrics: crate::metrics::Metrics,
    /// The connection and long-poll caps in force, fitted under the open-file limit.
    pub caps: crate::limits::Budget,
    /// First-run setup token; `None` once an account exists.
    pub setup_token: Mutex<Option<Secret<String>>>,
    /// Flips to true at shutdown so held long-polls answer at once.
    pub shutting_down: watch::Receiver<bool>,
    /// The guides, parsed and validated at start-up.
    pub guides: Vec<crate::domain::guide::Guide>,
    /// The SMTP server; `None`: mail off, messages wait in the outbox.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// Wakes this process's mail sender after a message is written.
    pub mail_wake: Arc<tokio::sync::Notify>,
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    pub fn guide(&self, id: &str) -> Option<&crate::domain::guide::Guide> {
        self.guides.iter().find(|g| g.id == id)
    }

    /// Applies this process's own writes to the caches now instead of at the next tick.
    pub async fn sync_live(&self) {
        if let Err(e) = self.live.sync(&self.pool).await {
            tracing::error!(error = ?e, "cache sync failed; the follower will retry");
        }
    }
}
