//! The session store: tower-sessions' SQLite store, made to degrade gracefully when the database
//! cannot be written (disk full, read-only, locked past the busy timeout).

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Sessions are saved on every request so the idle timeout slides. When that refresh cannot be
/// written, the page the user asked for still answers (a write it needs fails with its own 503)
/// and the session keeps its last saved expiry, which only ends it sooner. Creating a session
/// (sign-in) and deleting one (sign-out) still fail loudly: those must not half-happen.
#[derive(Clone, Debug)]
pub struct TolerantStore(pub crate::db::SessionStore);

#[async_trait]
impl SessionStore for TolerantStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        if let Err(e) = self.0.save(record).await {
            tracing::warn!(error = %e, "session refresh not saved; the database cannot be written");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}
