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
pub mod invitations;
pub mod login_failures;
pub mod notifications;
pub mod outbox;
pub mod passcodes;
pub mod password_resets;
pub mod pc_credentials;
pub mod readers;
pub mod secret_checks;
mod sessions;
pub mod setup_tokens;
pub mod tickets;
pub mod totp;
pub mod user_sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use futures_core::Stream;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Database, Describe, Either, Execute, Executor, Postgres, Sqlite, Transaction};

/// A database error. sqlx's error is already engine-neutral (a database's own error is a boxed
/// `DatabaseError`), so an alias keeps every `?` as it is; only `db` looks inside one
/// ([`is_unavailable`], [`is_unique_violation`]).
pub type Error = sqlx::Error;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which database engine a store runs on, chosen by the URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite:` URLs: the embedded default, one process.
    Sqlite,
    /// `postgres://` or `postgresql://` URLs: several processes may share it.
    Postgres,
}

impl Engine {
    /// The engine a database URL names.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The store: a pool of connections to the portal's database, on one of the two engines.
/// Clones share the pool.
///
/// Why an enum and not sqlx's `Any` driver: `Any` cannot decode SQLite's booleans and its
/// query builder writes `?` placeholders that PostgreSQL rejects. With an enum each statement
/// runs through the engine's own driver with its own types; the SQL text, written with `$n`
/// placeholders (which both drivers bind positionally), is shared wherever the engines agree,
/// and a function branches on [`Exec::engine`] only where they do not.
#[derive(Clone, Debug)]
pub struct Pool(Engines);

#[derive(Clone, Debug)]
enum Engines {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub fn engine(&self) -> Engine {
        match &self.0 {
            Engines::Sqlite(_) => Engine::Sqlite,
            Engines::Postgres(_) => Engine::Postgres,
        }
    }

    /// Opens a connection of its own that LISTENs on `channel` (PostgreSQL only: `None` on
    /// SQLite, where one process has nobody to listen to).
    pub async fn listen(&self, channel: &str) -> Option<Result<Listener>> {
        let Engines::Postgres(pool) = &self.0 else {
            return None;
        };
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(channel).await?;
            Ok(Listener(listener))
        };
        Some(listener.await)
    }

    /// The SQLite pool underneath, for the tests' own SQL until their harness has its own
    /// connection. Panics on PostgreSQL.
    #[doc(hidden)]
    pub fn sqlite(&self) -> &SqlitePool {
        match &self.0 {
            Engines::Sqlite(pool) => pool,
            Engines::Postgres(_) => panic!("not an SQLite store"),
        }
    }

    /// Connections open now, and how many of them are idle (for the metrics).
    pub fn connections(&self) -> (usize, usize) {
        match &self.0 {
            Engines::Sqlite(pool) => (pool.size() as usize, pool.num_idle()),
            Engines::Postgres(pool) => (pool.size() as usize, pool.num_idle()),
        }
    }

    /// Waits for connections in use to come back, then closes all of them.
    pub async fn close(&self) {
        match &self.0 {
            Engines::Sqlite(pool) => pool.close().await,
            Engines::Postgres(pool) => pool.close().await,
        }
    }
}

/// A LISTEN connection ([`Pool::listen`]).
#[derive(Debug)]
pub struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// The next notification's payload; `Ok(None)` when the connection was lost (a notification
    /// sent meanwhile is lost with it: re-read what it would have announced).
    pub async fn next(&mut self) -> Result<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_owned()))
    }
}

/// An open transaction. Dropped without [`Tx::commit`] it rolls back.
#[derive(Debug)]
pub struct Tx(Txs);

#[derive(Debug)]
enum Txs {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self.0 {
            Txs::Sqlite(tx) => tx.commit().await,
            Txs::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<()> {
        match self.0 {
            Txs::Sqlite(tx) => tx.rollback().await,
            Txs::Postgres(tx) => tx.rollback().await,
        }
    }

    #[doc(hidden)]
    pub fn sqlite(&mut self) -> &mut SqliteConnection {
        match &mut self.0 {
            Txs::Sqlite(tx) => tx,
            Txs::Postgres(_) => panic!("not an SQLite transaction"),
        }
    }

    pub fn engine(&self) -> Engine {
        match &self.0 {
            Txs::Sqlite(_) => Engine::Sqlite,
            Txs::Postgres(_) => Engine::Postgres,
        }
    }
}

/// What one statement runs on: the pool (which lends a connection for that statement) or an
/// open transaction, on either engine. Made only from a [`Pool`] or a [`Tx`]; the functions of
/// `db` take `impl Into<Exec>` and hand it to [`on_engine!`].
#[derive(Debug)]
pub struct Exec<'c>(Target<'c>);

/// The engine-typed executor inside an [`Exec`]; each arm of [`on_engine!`] sees one of them.
#[doc(hidden)]
#[derive(Debug)]
pub enum Target<'c> {
    Sqlite(On<'c, Sqlite>),
    Postgres(On<'c, Postgres>),
}

/// A pool or an open transaction's connection of one engine.
#[doc(hidden)]
pub enum On<'c, DB: Database> {
    Pool(&'c sqlx::Pool<DB>),
    Conn(&'c mut DB::Connection),
}

impl<DB: Database> std::fmt::Debug for On<'_, DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pool(_) => "On::Pool",
            Self::Conn(_) => "On::Conn",
        })
    }
}

impl Exec<'_> {
    pub fn engine(&self) -> Engine {
        match self.0 {
            Target::Sqlite(_) => Engine::Sqlite,
            Target::Postgres(_) => Engine::Postgres,
        }
    }
}

impl<'c> From<&'c Pool> for Exec<'c> {
    fn from(pool: &'c Pool) -> Self {
        Self(match &pool.0 {
            Engines::Sqlite(pool) => Target::Sqlite(On::Pool(pool)),
            Engines::Postgres(pool) => Target::Postgres(On::Pool(pool)),
        })
    }
}

impl<'c> From<&'c mut Tx> for Exec<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        Self(match &mut tx.0 {
            Txs::Sqlite(tx) => Target::Sqlite(On::Conn(&mut **tx)),
            Txs::Postgres(tx) => Target::Postgres(On::Conn(&mut **tx)),
        })
    }
}

/// Runs `$body` with `$e` bound to the engine-typed executor of `$db` (anything `Into<Exec>`).
/// The body is the same text for both engines and is compiled once per engine, so a statement
/// is checked against each driver's types; a function whose SQL differs picks its text from
/// [`Exec::engine`] first.
macro_rules! on_engine {
    ($db:expr, |$e:ident| $body:expr) => {{
        let exec: $crate::db::Exec<'_> = $db.into();
        match exec.target() {
            $crate::db::Target::Sqlite($e) => $body,
            $crate::db::Target::Postgres($e) => $body,
        }
    }};
}
pub(crate) use on_engine;

/// A statement that returns no rows, with its binds in order, on either engine:
/// `execute!(db, "UPDATE … WHERE id = $1", id)` is the `on_engine!` body every such statement
/// repeats otherwise.
macro_rules! execute {
    ($db:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $crate::db::on_engine!($db, |ex| sqlx::query($sql)
            $(.bind($bind))*
            .execute(ex)
            .await
            .map($crate::db::Done::from))
    };
}
pub(crate) use execute;

impl<'c> Exec<'c> {
    #[doc(hidden)]
    pub fn target(self) -> Target<'c> {
        self.0
    }
}

/// What a statement that returns no rows did, on either engine.
#[derive(Clone, Copy, Debug)]
pub struct Done(u64);

impl Done {
    pub fn rows_affected(self) -> u64 {
        self.0
    }
}

impl From<sqlx::sqlite::SqliteQueryResult> for Done {
    fn from(result: sqlx::sqlite::SqliteQueryResult) -> Self {
        Self(result.rows_affected())
    }
}

impl From<sqlx::postgres::PgQueryResult> for Done {
    fn from(result: sqlx::postgres::PgQueryResult) -> Self {
        Self(result.rows_affected())
    }
}

type BoxFuture<'e, T> = Pin<Box<dyn Future<Output = T> + Send + 'e>>;
type BoxStream<'e, T> = Pin<Box<dyn Stream<Item = T> + Send + 'e>>;

/// Hands each statement to the pool or the connection as it is: no behaviour of its own.
macro_rules! executor_for {
    ($db:ty, $conn:ty) => {
        impl<'c> Executor<'c> for On<'c, $db> {
            type Database = $db;

            fn fetch_many<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> BoxStream<'e, Result<Either<<$db as Database>::QueryResult, <$db as Database>::Row>>>
            where
                'c: 'e,
                E: 'q + Execute<'q, $db>,
            {
                match self {
                    On::Pool(pool) => pool.fetch_many(query),
                    On::Conn(conn) => <&mut $conn as Executor>::fetch_many(conn, query),
                }
            }

            fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<<$db as Database>::Row>>>
            where
                'c: 'e,
                E: 'q + Execute<'q, $db>,
            {
                match self {
                    On::Pool(pool) => pool.fetch_optional(query),
                    On::Conn(conn) => <&mut $conn as Executor>::fetch_optional(conn, query),
                }
            }

            fn prepare_with<'e, 'q: 'e>(
                self,
                sql: &'q str,
                parameters: &'e [<$db as Database>::TypeInfo],
            ) -> BoxFuture<'e, Result<<$db as Database>::Statement<'q>>>
            where
                'c: 'e,
            {
                match self {
                    On::Pool(pool) => pool.prepare_with(sql, parameters),
                    On::Conn(conn) => <&mut $conn as Executor>::prepare_with(conn, sql, parameters),
                }
            }

            fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<$db>>>
            where
                'c: 'e,
            {
                match self {
                    On::Pool(pool) => pool.describe(sql),
                    On::Conn(conn) => <&mut $conn as Executor>::describe(conn, sql),
                }
            }
        }
    };
}

executor_for!(Sqlite, SqliteConnection);
executor_for!(Postgres, PgConnection);

/// Connections in the pool (each is a few open files: see `limits`).
pub const POOL_SIZE: u32 = 8;

/// Opens the database (creating an SQLite file if needed) and brings its schema up to date.
pub async fn connect(database_url: &str) -> anyhow::Result<Pool> {
    match Engine::of_url(database_url) {
        Engine::Sqlite => connect_sqlite(database_url).await,
        Engine::Postgres => connect_postgres(database_url).await,
    }
}

async fn connect_sqlite(database_url: &str) -> anyhow::Result<Pool> {
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
    Ok(Pool(Engines::Sqlite(pool)))
}

/// How long a request waits for a PostgreSQL connection before it answers 503: short, so an
/// outage shows at once instead of piling requests up.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

async fn connect_postgres(database_url: &str) -> anyhow::Result<Pool> {
    let options = PgConnectOptions::from_str(database_url)
        .context("invalid DATABASE_URL (a postgres:// URL)")?
        .application_name("portal");
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        // The URL may carry a password: name only the host.
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redacted(database_url)))?;
    // The migrator takes PostgreSQL's advisory lock, so processes started together migrate once.
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .context("cannot apply database migrations")?;
    Ok(Pool(Engines::Postgres(pool)))
}

/// A database or SMTP URL without its password, for messages and logs; also one typed without
/// its scheme (`user:password@host`), which start-up errors name.
pub fn redacted(url: &str) -> String {
    let Some(at) = url.rfind('@') else {
        return url.to_owned();
    };
    // The user part starts after the scheme, if there is one before the `@`.
    let start = url[..at].find("://").map_or(0, |scheme| scheme + 3);
    let user = url[start..at].split(':').next().unwrap_or_default();
    format!("{}{user}@{}", &url[..start], &url[at + 1..])
}

/// Whether the database holds anything keyed by the passcode pepper (passcode hashes, sealed PC
/// sign-in passwords): then a missing pepper must not be replaced by a new one.
pub async fn pepper_in_use(pool: &Pool) -> Result<bool> {
    on_engine!(pool, |e| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM passcodes) OR EXISTS (SELECT 1 FROM pc_credentials)"
    )
    .fetch_one(e)
    .await)
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

/// Starts a write transaction. On SQLite it takes the write lock at once, so read-then-write
/// sequences inside it never fail with SQLITE_BUSY on lock upgrade, and writers go one at a
/// time. On PostgreSQL writers run side by side: each invariant that needs them in single
/// file takes its own lock inside the transaction (see `docs/invariants.md` and [`lock`]).
pub async fn begin_write(pool: &Pool) -> Result<Tx> {
    match &pool.0 {
        Engines::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await.map(|tx| Tx(Txs::Sqlite(tx))),
        Engines::Postgres(pool) => pool.begin().await.map(|tx| Tx(Txs::Postgres(tx))),
    }
}

/// Starts a transaction for reading one consistent snapshot (SQLite takes no lock until the
/// first statement, and the write lock only if one writes; PostgreSQL's REPEATABLE READ sees
/// one snapshot for the whole transaction).
pub async fn begin(pool: &Pool) -> Result<Tx> {
    match &pool.0 {
        Engines::Sqlite(pool) => pool.begin().await.map(|tx| Tx(Txs::Sqlite(tx))),
        Engines::Postgres(pool) => pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .await
            .map(|tx| Tx(Txs::Postgres(tx))),
    }
}

/// Named locks for writes that must go one at a time across processes (docs/invariants.md
/// says which invariant takes which). On SQLite [`begin_write`] already serialises every
/// writer, so taking one costs nothing there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock<'a> {
    /// First-run setup: one operator account from one setup token.
    Setup,
    /// A sign-in throttle key's reservation.
    Throttle(&'a str),
    /// A clinic's passcode state: issue, and the wrong-code counts of it and its readers.
    Clinic(i64),
    /// The audit chain's next positions.
    AuditChain,
    /// The PC sign-in details (one row per scope; the audit compares with the row replaced).
    PcCredentials,
    /// Open guide walks: recording a step takes it shared, folding walks into the totals takes
    /// it alone, so no step is recorded into a walk being folded and deleted.
    GuideWalks,
}

/// The class of `Lock::Throttle` (its id is PostgreSQL's `hashtext` of the key).
const THROTTLE_CLASS: i32 = 2;

impl Lock<'_> {
    /// The two 32-bit keys of `pg_advisory_xact_lock(int, int)`: a class and an id.
    fn keys(self) -> (i32, i32) {
        // Ids are folded into 32 bits: two clinics sharing a lock only wait for each other.
        let fold = |id: i64| (id ^ (id >> 32)) as i32;
        match self {
            Self::Setup => (1, 0),
            Self::Throttle(_) => (THROTTLE_CLASS, 0),
            Self::Clinic(id) => (3, fold(id)),
            Self::AuditChain => (5, 0),
            Self::PcCredentials => (7, 0),
            Self::GuideWalks => (8, 0),
        }
    }
}

/// Takes `lock` until the transaction ends (a transaction-level advisory lock on PostgreSQL;
/// nothing on SQLite, where the write transaction holds the whole database). A transaction
/// that takes several takes them in one order everywhere: setup or throttle keys (sorted)
/// before a clinic, a clinic before the audit chain.
pub async fn lock(tx: &mut Tx, lock: Lock<'_>) -> Result<()> {
    advisory(tx, lock, "pg_advisory_xact_lock").await
}

/// Takes `lock` shared until the transaction ends: holders of the shared lock do not wait for
/// each other, only for (and by) a holder of [`lock`].
pub async fn lock_shared(tx: &mut Tx, lock: Lock<'_>) -> Result<()> {
    advisory(tx, lock, "pg_advisory_xact_lock_shared").await
}

async fn advisory(tx: &mut Tx, lock: Lock<'_>, function: &str) -> Result<()> {
    if let Txs::Postgres(tx) = &mut tx.0 {
        let (class, id) = lock.keys();
        match lock {
            // PostgreSQL's `hashtext` turns a throttle key into the lock's id.
            Lock::Throttle(key) => {
                let sql = format!("SELECT 1 FROM {function}($1, hashtext($2))");
                sqlx::query_scalar::<_, i32>(&sql)
                    .bind(class)
                    .bind(key)
                    .fetch_one(&mut **tx)
                    .await?
            }
            _ => {
                let sql = format!("SELECT 1 FROM {function}($1, $2)");
                sqlx::query_scalar::<_, i32>(&sql)
                    .bind(class)
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?
            }
        };
    }
    Ok(())
}

/// Whether the database answers at all (the health check).
pub async fn ping(pool: &Pool) -> Result<()> {
    on_engine!(pool, |e| sqlx::query("SELECT 1").execute(e).await.map(drop))
}

pub use sessions::SessionStore;

/// The session store over this pool. Its table is made by the portal's migrations (0016).
pub async fn session_store(pool: &Pool) -> anyhow::Result<SessionStore> {
    sessions::SessionStore::new(&pool.0).await
}

/// A transactionally consistent copy of the whole database, taken while others keep writing.
/// SQLite only: a PostgreSQL database is copied with its own tools.
pub async fn backup(pool: &Pool, target: &str) -> anyhow::Result<()> {
    match &pool.0 {
        Engines::Sqlite(pool) => {
            sqlx::query("VACUUM INTO $1")
                .bind(target)
                .execute(pool)
                .await
                .with_context(|| format!("cannot write the backup to {target}"))?;
            Ok(())
        }
        Engines::Postgres(_) => anyhow::bail!(
            "`portal backup` copies an SQLite database; this portal runs on PostgreSQL. Back it up with \
             PostgreSQL's own tools: `pg_dump --format=custom --file=portal.dump \"$DATABASE_URL\"`, and restore \
             into an empty database with `pg_restore --dbname=\"$DATABASE_URL\" portal.dump` (see docs/deploy.md)"
        ),
    }
}

/// Current time as Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// True when the database cannot serve right now (locked, read-only, disk full, gone, the
/// server restarting): the request should fail with 503 and may succeed later, rather than
/// count as a bug.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolClosed | sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => match e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            Some(pg) => transient_sqlstate(pg.code()),
            None => e
                .code()
                .and_then(|code| code.parse::<i64>().ok())
                .is_some_and(|code| SQLITE_TRANSIENT.contains(&(code & 0xff))),
        },
        _ => false,
    }
}

/// SQLite's primary result codes (the low byte) for passing conditions: BUSY 5, LOCKED 6,
/// NOMEM 7, READONLY 8, IOERR 10, CORRUPT 11, FULL 13, CANTOPEN 14.
const SQLITE_TRANSIENT: [i64; 8] = [5, 6, 7, 8, 10, 11, 13, 14];

/// PostgreSQL's SQLSTATEs for passing conditions: classes 08 (connection), 53 (insufficient
/// resources), 57P (operator intervention: shutdown, restart), 40001/40P01 (serialisation
/// failure, deadlock: the transaction may be retried), 25006 (read-only transaction).
fn transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || matches!(code, "40001" | "40P01" | "25006")
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

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redacted_urls_keep_the_user_and_host_but_never_the_password() {
        assert_eq!(
            redacted("postgres://app:hunter2@db:5432/portal"),
            "postgres://app@db:5432/portal"
        );
        assert_eq!(redacted("smtp://u:p%40ss@mail.example.jp"), "smtp://u@mail.example.jp");
        // Without a scheme (a mistyped PORTAL_SMTP_URL) the password must go too.
        assert_eq!(redacted("user:hunter2@mail.example.jp:587"), "user@mail.example.jp:587");
        assert_eq!(redacted("u:hunter2@x://y"), "u@x://y");
        for unchanged in [
            "smtp://mail.example.jp:25",
            "mail.example.jp",
            "sqlite://data/portal.db",
        ] {
            assert_eq!(redacted(unchanged), unchanged);
        }
    }
}
