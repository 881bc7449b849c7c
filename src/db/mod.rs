//! Every SQL statement of the portal, one module per table group, with explicit column lists.
//! Functions take any SQLite executor so callers choose pool or transaction.

pub mod api_tokens;
pub mod audit;
pub mod cache_events;
pub mod clinics;
pub mod guide;
pub mod installer;
pub mod login_failures;
pub mod passcodes;
pub mod pc_credentials;
pub mod readers;
pub mod tickets;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqlitePool, Transaction};

/// Connections in the pool (each is a few open files: see `limits`).
pub const POOL_SIZE: u32 = 8;

/// Opens (creating if needed) the database and brings its schema up to date.
pub async fn connect(database_url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("invalid DATABASE_URL {database_url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; only an OS crash can
        // lose the last commits, never corrupt the file.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(POOL_SIZE)
        .after_release(|connection, _| Box::pin(still_usable(connection)))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database at {database_url}"))?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .context("cannot apply database migrations")?;
    Ok(pool)
}

/// Whether the database holds anything keyed by the passcode pepper (passcode hashes, sealed PC
/// sign-in passwords): then a missing pepper must not be replaced by a new one.
pub async fn pepper_in_use(pool: &SqlitePool) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM passcodes) OR EXISTS (SELECT 1 FROM pc_credentials)")
        .fetch_one(pool)
        .await
}

/// Whether a connection going back to the pool can be used again. When SQLite refuses a COMMIT
/// (disk full) it may roll the transaction back by itself; sqlx 0.8's ROLLBACK on drop then fails
/// and the connection believes forever that it is inside a transaction, so every later
/// `BEGIN IMMEDIATE` on it fails. Such a connection is closed here and the pool opens a new one.
async fn still_usable(connection: &mut SqliteConnection) -> sqlx::Result<bool> {
    if connection.is_in_transaction() {
        // A dropped transaction's ROLLBACK is queued on the connection's worker: let it run first.
        connection.ping().await?;
    }
    Ok(!connection.is_in_transaction())
}

/// Starts a write transaction that takes SQLite's write lock at once, so read-then-write
/// sequences inside it never fail with SQLITE_BUSY on lock upgrade.
pub async fn begin_write(pool: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// A transactionally consistent copy of the whole database, taken while others keep writing.
pub async fn backup(pool: &SqlitePool, target: &str) -> anyhow::Result<()> {
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(pool)
        .await
        .with_context(|| format!("cannot write the backup to {target}"))?;
    Ok(())
}

/// Current time as Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// True when the database cannot serve right now (locked, read-only, disk full, gone): the
/// request should fail with 503 and may succeed later, rather than count as a bug.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    // SQLite primary result codes: BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, CORRUPT 11,
    // FULL 13, CANTOPEN 14.
    const TRANSIENT: [i64; 8] = [5, 6, 7, 8, 10, 11, 13, 14];
    match error {
        sqlx::Error::PoolClosed | sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|code| TRANSIENT.contains(&(code & 0xff))),
        _ => false,
    }
}

/// Whether any cause in an error chain is [`is_unavailable`].
pub fn chain_is_unavailable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<sqlx::Error>().is_some_and(is_unavailable))
}

/// True when the error is a UNIQUE constraint violation (mapped to a clear 4xx by callers).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
