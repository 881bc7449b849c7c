//! What the reader poll path reads instead of the database: device tokens and each clinic's
//! passcode state, kept coherent by tailing `cache_events` (changes from this process and from
//! the command line alike), and reader last-seen times, written back in batches. Also the
//! installer's support desk, which every page's footer shows, by the same tail.
//!
//! The fan-out seam: one `tokio::sync::watch` channel per clinic, so a rotation wakes only that
//! clinic's waiting readers. Several portal processes would replace the event tail with a
//! database notification; nothing else changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use tokio::sync::watch;

use crate::auth::device_token::TokenHash;
use crate::db::{self, cache_events::Kind};
use crate::domain::installer::InstallerDesk;

/// A reader as the poll path sees it.
#[derive(Debug)]
pub struct ReaderEntry {
    pub reader_id: i64,
    pub clinic_id: i64,
    last_seen_at: AtomicI64,
    seen_generation: AtomicI64,
    dirty: AtomicBool,
}

impl ReaderEntry {
    fn new(row: &db::readers::TokenEntry) -> Self {
        Self {
            reader_id: row.id,
            clinic_id: row.clinic_id,
            last_seen_at: AtomicI64::new(row.last_seen_at.unwrap_or(0)),
            seen_generation: AtomicI64::new(row.last_seen_generation.unwrap_or(-1)),
            dirty: AtomicBool::new(false),
        }
    }

    /// Notes that the reader now knows `generation`; written to the database later. Stores
    /// only on change (at most once a second), so thousands of polls a second do not keep
    /// bouncing this cache line between cores.
    pub fn saw(&self, generation: i64) {
        let now = db::now();
        let stale_time = self.last_seen_at.load(Ordering::Relaxed) != now;
        let stale_generation = self.seen_generation.load(Ordering::Relaxed) != generation;
        if stale_time || stale_generation {
            self.last_seen_at.store(now, Ordering::Relaxed);
            self.seen_generation.store(generation, Ordering::Relaxed);
            self.dirty.store(true, Ordering::Release);
        }
    }
}

/// The passcode state a reader may know.
#[derive(Clone, Debug)]
pub struct PasscodeState {
    pub generation: i64,
    pub issued_at: Option<i64>,
    pub active: bool,
    /// Why not active: `none_issued` or `disabled`.
    pub inactive_reason: Option<&'static str>,
    /// Computed once per change, not per poll.
    etag: HeaderValue,
    /// When this process applied the change (for the fan-out latency metric).
    pub applied_at: std::time::Instant,
}

/// Equal when a reader would see the same thing (when it was applied does not count).
impl PartialEq for PasscodeState {
    fn eq(&self, other: &Self) -> bool {
        (
            self.generation,
            self.issued_at,
            self.active,
            self.inactive_reason,
            &self.etag,
        ) == (
            other.generation,
            other.issued_at,
            other.active,
            other.inactive_reason,
            &other.etag,
        )
    }
}

impl Eq for PasscodeState {}

impl PasscodeState {
    fn from_row(row: &db::passcodes::State) -> Self {
        let (active, inactive_reason) = match (row.has_current, row.disabled_at) {
            (false, _) => (false, Some("none_issued")),
            (true, Some(_)) => (false, Some("disabled")),
            (true, None) => (true, None),
        };
        let etag = format!("\"g{}-{}\"", row.generation, if active { "a" } else { "i" });
        let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"invalid\""));
        Self {
            generation: row.generation,
            issued_at: row.issued_at,
            active,
            inactive_reason,
            etag,
            applied_at: std::time::Instant::now(),
        }
    }

    /// Changes whenever anything a reader can see changes.
    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }
}

#[derive(Default)]
struct Tokens {
    by_hash: HashMap<TokenHash, Arc<ReaderEntry>>,
    hash_of: HashMap<i64, TokenHash>,
}

/// How often, at most, polls with unknown tokens may make the cache catch up with the database.
const MISS_SYNC_INTERVAL: Duration = Duration::from_millis(100);

pub struct Live {
    tokens: RwLock<Tokens>,
    clinics: RwLock<HashMap<i64, watch::Sender<PasscodeState>>>,
    installer: RwLock<Arc<InstallerDesk>>,
    /// Last `cache_events` id applied; the mutex also serialises concurrent syncs.
    cursor: tokio::sync::Mutex<i64>,
    /// When the last sync asked for by an unknown token started; the mutex queues such polls so
    /// that one sync answers all that arrived before it.
    miss_sync: tokio::sync::Mutex<Option<Instant>>,
    miss_syncs: AtomicU64,
}

impl Live {
    pub async fn load(pool: &db::Pool) -> anyhow::Result<Self> {
        // Read the cursor first: an event racing the load is applied again, harmlessly.
        let cursor = db::cache_events::last_id(pool).await?;
        let mut tokens = Tokens::default();
        for row in db::readers::active_tokens(pool).await? {
            insert_token(&mut tokens, &row);
        }
        let clinics = db::passcodes::all_states(pool)
            .await?
            .iter()
            .map(|row| (row.clinic_id, watch::Sender::new(PasscodeState::from_row(row))))
            .collect();
        let installer = db::installer::get(pool).await?;
        Ok(Self {
            tokens: RwLock::new(tokens),
            clinics: RwLock::new(clinics),
            installer: RwLock::new(Arc::new(installer)),
            cursor: tokio::sync::Mutex::new(cursor),
            miss_sync: tokio::sync::Mutex::new(None),
            miss_syncs: AtomicU64::new(0),
        })
    }

    /// The reader holding this token, if it is enrolled and not revoked.
    pub fn reader(&self, hash: &TokenHash) -> Option<Arc<ReaderEntry>> {
        read(&self.tokens).by_hash.get(hash).cloned()
    }

    /// The reader holding a token the cache does not know yet. It may have been enrolled a
    /// moment ago by another process (the command line) whose change the follower has not
    /// applied: catch up before saying no, so a new reader's first poll is not a 401. All such
    /// polls share one sync at most every [`MISS_SYNC_INTERVAL`], so random tokens cost the
    /// database a bounded handful of cheap reads per second, however many arrive.
    pub async fn reader_after_miss(
        &self,
        pool: &db::Pool,
        hash: &TokenHash,
    ) -> anyhow::Result<Option<Arc<ReaderEntry>>> {
        let arrived = Instant::now();
        {
            let mut last = self.miss_sync.lock().await;
            let started_since = last.is_some_and(|started| started >= arrived);
            if !started_since {
                if let Some(wait) =
                    last.and_then(|started| (started + MISS_SYNC_INTERVAL).checked_duration_since(Instant::now()))
                {
                    tokio::time::sleep(wait).await;
                }
                *last = Some(Instant::now());
                self.miss_syncs.fetch_add(1, Ordering::Relaxed);
                self.sync(pool).await?;
            }
        }
        Ok(self.reader(hash))
    }

    /// How many syncs unknown tokens have caused (for tests of the bound).
    /// Reader tokens this process knows.
    pub fn readers_cached(&self) -> usize {
        read(&self.tokens).by_hash.len()
    }

    pub fn miss_syncs(&self) -> u64 {
        self.miss_syncs.load(Ordering::Relaxed)
    }

    /// The clinic's passcode state now; `None` for an unknown clinic.
    pub fn current(&self, clinic_id: i64) -> Option<PasscodeState> {
        read(&self.clinics)
            .get(&clinic_id)
            .map(|sender| sender.borrow().clone())
    }

    /// A receiver for the clinic's passcode state; `None` for an unknown clinic.
    pub fn subscribe(&self, clinic_id: i64) -> Option<watch::Receiver<PasscodeState>> {
        read(&self.clinics).get(&clinic_id).map(watch::Sender::subscribe)
    }

    /// The installer's support desk as last read (no database query per page).
    pub fn installer(&self) -> Arc<InstallerDesk> {
        read(&self.installer).clone()
    }

    /// Last poll time and generation for readers seen since their last batch write.
    pub fn seen(&self, reader_id: i64) -> Option<(i64, i64)> {
        let tokens = read(&self.tokens);
        let entry = tokens.hash_of.get(&reader_id).and_then(|h| tokens.by_hash.get(h))?;
        let at = entry.last_seen_at.load(Ordering::Relaxed);
        (at > 0).then(|| (at, entry.seen_generation.load(Ordering::Relaxed)))
    }

    /// Applies every change recorded since the last sync. Called by the follower task and
    /// right after this process's own writes, so its readers learn of them at once.
    pub async fn sync(&self, pool: &db::Pool) -> anyhow::Result<()> {
        let mut cursor = self.cursor.lock().await;
        loop {
            let events = db::cache_events::after(pool, *cursor).await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(());
            };
            for event in &events {
                match event.kind() {
                    Some(Kind::Clinic) => self.refresh_clinic(pool, event.entity_id).await?,
                    Some(Kind::Reader) => self.refresh_reader(pool, event.entity_id).await?,
                    Some(Kind::Installer) => {
                        let desk = db::installer::get(pool).await?;
                        *write(&self.installer) = Arc::new(desk);
                    }
                    None => tracing::warn!(kind = %event.kind, "unknown cache event"),
                }
            }
            *cursor = last;
        }
    }

    async fn refresh_clinic(&self, pool: &db::Pool, clinic_id: i64) -> anyhow::Result<()> {
        let Some(row) = db::passcodes::state(pool, clinic_id).await? else {
            return Ok(());
        };
        let state = PasscodeState::from_row(&row);
        let mut clinics = write(&self.clinics);
        match clinics.get(&clinic_id) {
            // send_if_modified: an unchanged state must not wake waiting readers.
            Some(sender) => {
                sender.send_if_modified(|current| {
                    let changed = *current != state;
                    if changed {
                        *current = state.clone();
                    }
                    changed
                });
            }
            None => {
                clinics.insert(clinic_id, watch::Sender::new(state));
            }
        }
        Ok(())
    }

    async fn refresh_reader(&self, pool: &db::Pool, reader_id: i64) -> anyhow::Result<()> {
        let row = db::readers::active_token(pool, reader_id).await?;
        let mut tokens = write(&self.tokens);
        let unchanged = match (&row, tokens.hash_of.get(&reader_id)) {
            (Some(row), Some(hash)) => row.token_hash.as_slice() == hash.as_slice(),
            _ => false,
        };
        if unchanged {
            return Ok(());
        }
        if let Some(old) = tokens.hash_of.remove(&reader_id) {
            tokens.by_hash.remove(&old);
        }
        if let Some(row) = row {
            insert_token(&mut tokens, &row);
        }
        Ok(())
    }

    /// Writes batched last-seen times in one transaction.
    pub async fn flush_seen(&self, pool: &db::Pool) -> anyhow::Result<usize> {
        let dirty: Vec<(i64, i64, i64)> = read(&self.tokens)
            .by_hash
            .values()
            .filter(|e| e.dirty.swap(false, Ordering::AcqRel))
            .map(|e| {
                (
                    e.reader_id,
                    e.last_seen_at.load(Ordering::Relaxed),
                    e.seen_generation.load(Ordering::Relaxed),
                )
            })
            .collect();
        if dirty.is_empty() {
            return Ok(0);
        }
        let mut tx = db::begin_write(pool).await?;
        for (id, at, generation) in &dirty {
            db::readers::record_seen(&mut tx, *id, *at, *generation).await?;
        }
        tx.commit().await?;
        Ok(dirty.len())
    }
}

fn insert_token(tokens: &mut Tokens, row: &db::readers::TokenEntry) {
    let Ok(hash) = TokenHash::try_from(row.token_hash.as_slice()) else {
        tracing::warn!(reader = row.id, "stored token hash has the wrong length");
        return;
    };
    tokens.by_hash.insert(hash, Arc::new(ReaderEntry::new(row)));
    tokens.hash_of.insert(row.id, hash);
}

// The locks are never held across an await, so a poisoned lock can only follow a panic in
// this module's own short critical sections; the data is still consistent, so go on.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
