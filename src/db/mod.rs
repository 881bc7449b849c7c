//! Every SQL statement of the portal, one module per table group, with explicit column lists,
//! and the store's own types: [`Pool`], [`Tx`], [`Exec`], [`Error`]. Nothing outside `db` names
//! an sqlx or SQLite type, so a second engine (PostgreSQL) changes this module only. A function
//! that runs one statement takes `impl Into<Exec>`: callers pass `&pool` or `&mut tx`.

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
pub mod setup_tokens;
pub mod tickets;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use futures_core::Stream;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteRow,
    SqliteStatement, SqliteSynchronous, SqliteTypeInfo,
};
use sqlx::{Connection, Describe, Either, Execute, Executor, Sqlite, SqlitePool, Transaction};

/// A database error. sqlx's error is already engine-neutral (a database's own error is a boxed
/// `DatabaseError`), so an alias keeps every `?` as it is; only `db` looks inside one
/// ([`is_unavailable`], [`is_unique_violation`]).
pub type Error = sqlx::Error;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The store: a pool of connections to the portal's database. Clones share the pool.
#[derive(Clone, Debug)]
pub struct Pool(SqlitePool);

impl Pool {
    /// The SQLite pool underneath, for the tests' direct SQL and for the session store
    /// ([`session_store`]); the portal's own code goes through the functions of `db`.
    pub fn sqlite(&self) -> &SqlitePool {
        &self.0
    }

    /// Connections open now, and how many of them are idle (for the metrics).
    pub fn connections(&self) -> (usize, usize) {
        (self.0.size() as usize, self.0.num_idle())
    }

    /// Waits for connections in use to come back, then closes all of them.
    pub async fn close(&self) {
        self.0.close().await;
    }
}

/// An open transaction. Dropped without [`Tx::commit`] it rolls back.
#[derive(Debug)]
pub struct Tx(Transaction<'static, Sqlite>);

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.0.commit().await
    }

    pub async fn rollback(self) -> Result<()> {
        self.0.rollback().await
    }

    /// The SQLite connection underneath, for the tests' own SQL inside a transaction; the
    /// portal's own code passes `&mut tx` to the functions of `db`.
    pub fn sqlite(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }

    /// The transaction's connection, for the functions of `db` that run several statements.
    fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
}

/// What one statement runs on: the pool (which lends a connection for that statement) or an
/// open transaction. Made only from a [`Pool`] or a [`Tx`].
#[derive(Debug)]
pub struct Exec<'c>(Target<'c>);

#[derive(Debug)]
enum Target<'c> {
    Pool(&'c SqlitePool),
    Tx(&'c mut SqliteConnection),
}

impl<'c> From<&'c Pool> for Exec<'c> {
    fn from(pool: &'c Pool) -> Self {
        Self(Target::Pool(&pool.0))
    }
}

impl<'c> From<&'c mut Tx> for Exec<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        Self(Target::Tx(tx.conn()))
    }
}

type BoxFuture<'e, T> = Pin<Box<dyn Future<Output = T> + Send + 'e>>;
type BoxStream<'e, T> = Pin<Box<dyn Stream<Item = T> + Send + 'e>>;

/// Hands each statement to the pool or the transaction as it is: no behaviour of its own.
impl<'c> Executor<'c> for Exec<'c> {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        match self.0 {
            Target::Pool(pool) => pool.fetch_many(query),
            Target::Tx(conn) => conn.fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<SqliteRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        match self.0 {
            Target::Pool(pool) => pool.fetch_optional(query),
            Target::Tx(conn) => conn.fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>>>
    where
        'c: 'e,
    {
        match self.0 {
            Target::Pool(pool) => pool.prepare_with(sql, parameters),
            Target::Tx(conn) => conn.prepare_with(sql, parameters),
        }
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Sqlite>>>
    where
        'c: 'e,
    {
        match self.0 {
            Target::Pool(pool) => pool.describe(sql),
            Target::Tx(conn) => conn.describe(sql),
        }
    }
}

/// Connections in the pool (each is a few open files: see `limits`).
pub const POOL_SIZE: u32 = 8;

/// Opens (creating if needed) the database and brings its schema up to date.
pub async fn connect(database_url: &str) -> anyhow::Result<Pool> {
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
    Ok(Pool(pool))
}

/// Whether the database holds anything keyed by the passcode pepper (passcode hashes, sealed PC
/// sign-in passwords): then a missing pepper must not be replaced by a new one.
pub async fn pepper_in_use(pool: &Pool) -> Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM passcodes) OR EXISTS (SELECT 1 FROM pc_credentials)")
        .fetch_one(&pool.0)
        .await
}

/// Whether a connection going back to the pool can be used again. When SQLite refuses a COMMIT
/// (disk full) it may roll the transaction back by itself; sqlx 0.8's ROLLBACK on drop then fails
/// and the connection believes forever that it is inside a transaction, so every later
/// `BEGIN IMMEDIATE` on it fails. Such a connection is closed here and the pool opens a new one.
async fn still_usable(connection: &mut SqliteConnection) -> Result<bool> {
    if connection.is_in_transaction() {
        // A dropped transaction's ROLLBACK is queued on the connection's worker: let it run first.
        connection.ping().await?;
    }
    Ok(!connection.is_in_transaction())
}

/// Starts a write transaction that takes SQLite's write lock at once, so read-then-write
/// sequences inside it never fail with SQLITE_BUSY on lock upgrade.
pub async fn begin_write(pool: &Pool) -> Result<Tx> {
    pool.0.begin_with("BEGIN IMMEDIATE").await.map(Tx)
}

/// Starts a transaction for reading one consistent snapshot (SQLite takes no lock until the
/// first statement, and the write lock only if one writes).
pub async fn begin(pool: &Pool) -> Result<Tx> {
    pool.0.begin().await.map(Tx)
}

/// Whether the database answers at all (the health check).
pub async fn ping(pool: &Pool) -> Result<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(&pool.0)
        .await
        .map(drop)
}

/// Where tower-sessions keeps the sessions: a table in the same database.
pub type SessionStore = tower_sessions_sqlx_store::SqliteStore;

/// The session store over this pool, its table created if missing.
pub async fn session_store(pool: &Pool) -> anyhow::Result<SessionStore> {
    let store = SessionStore::new(pool.0.clone());
    store.migrate().await.context("cannot create the session table")?;
    Ok(store)
}

/// A transactionally consistent copy of the whole database, taken while others keep writing.
pub async fn backup(pool: &Pool, target: &str) -> anyhow::Result<()> {
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&pool.0)
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
