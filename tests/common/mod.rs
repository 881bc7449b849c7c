//! Shared test harness: starts the real portal on 127.0.0.1:0 with a fresh data directory,
//! and drives it over HTTP like a browser (cookies, CSRF tokens) or a reader (bearer token).
//!
//! The engine is chosen here, in one place: SQLite (a `portal.db` in the data directory) unless
//! `PORTAL_TEST_DATABASE_URL` names a PostgreSQL server, on which each data directory then gets
//! a database of its own ([`test_database_url`]). Tests' own SQL goes through an `AnyPool`
//! ([`TestApp::pool`]) and is written to run unchanged on both engines.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portal::auth::Hasher;
use portal::config::Config;
use portal::db::audit::Actor;
use portal::domain::{ClinicCode, Email, InstallType, Password, Role, Secret};
use portal::services::{accounts, passcodes, readers};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use sqlx::Connection;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";
pub const CLINIC_A: &str = "0110113719";
pub const CLINIC_B: &str = "1310000003";

/// A PostgreSQL server on which the tests may create databases (`scripts/pg.sh start` prints one).
pub const TEST_DATABASE_ENV: &str = "PORTAL_TEST_DATABASE_URL";

/// The passcode pepper of PostgreSQL runs: there the portal takes the pepper from configuration
/// only (`PORTAL_PASSCODE_PEPPER`), never from a file in the data directory. Not a secret.
pub const POSTGRES_TEST_PEPPER: &str = "the passcode pepper of the PostgreSQL test runs";
/// The audit key of PostgreSQL runs, for the same reason. Not a secret.
pub const POSTGRES_TEST_AUDIT_KEY: &str = "the audit chain key of the PostgreSQL test runs";

/// The database engine a portal runs on, as `portal::db::connect` chooses it from the URL.
pub use portal::db::Engine;

/// The engine this test run uses: PostgreSQL when `PORTAL_TEST_DATABASE_URL` is set.
pub fn engine() -> Engine {
    if test_server_url().is_some() {
        Engine::Postgres
    } else {
        Engine::Sqlite
    }
}

/// Prints why a test does not run on this engine, past the test harness's capture (a skip must
/// be seen, never pass for a check). The caller returns right after.
pub fn skipped_on_postgres(why: &str) {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED on PostgreSQL: {name}: {why}");
}

fn test_server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_ENV).ok().filter(|url| !url.is_empty())
}

/// The database of each data directory in use, by the directory: a portal restarted on the same
/// directory (`TestApp::stop` then `spawn_in`), a second process on it, or the `portal` binary
/// run on it all find the same database.
static DATABASES: Mutex<BTreeMap<PathBuf, Database>> = Mutex::new(BTreeMap::new());

#[derive(Clone)]
struct Database {
    name: String,
    url: String,
}

/// The database URL for a portal on `dir`: `None` on SQLite (the portal's own default, a file in
/// the directory); on PostgreSQL a database created for this directory at the first call, named
/// `portal_t_<pid>_<counter>_<random>` so that test binaries running at once never share one.
pub fn test_database_url(dir: &Path) -> Option<String> {
    let server = test_server_url()?;
    let mut databases = DATABASES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(database) = databases.get(dir) {
        return Some(database.url.clone());
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).expect("random bytes");
    let name = format!(
        "portal_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        hex::encode(random)
    );
    let statement = format!("CREATE DATABASE {name}");
    on_own_runtime(|| async move {
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {TEST_DATABASE_ENV}: {e}"));
        sqlx::query(&statement)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_ENV} may not create a database: {e}"));
        let _ = admin.close().await;
    });
    let url = with_database(&test_server_url()?, &name);
    databases.insert(dir.to_owned(), Database { name, url: url.clone() });
    Some(url)
}

/// Drops the database of `dir`, if it has one (the data directory is going away with it).
fn drop_test_database(dir: &Path) {
    let Some(server) = test_server_url() else {
        return;
    };
    let Some(database) = DATABASES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(dir)
    else {
        return;
    };
    // FORCE: the portal's pool may still hold connections to it.
    let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", database.name);
    on_own_runtime(|| async move {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
            if let Err(e) = sqlx::query(&statement).execute(&mut admin).await {
                eprintln!("could not drop the test database {}: {e}", database.name);
            }
            let _ = admin.close().await;
        }
    });
}

/// The server URL with its database (the path) replaced by `name`, query kept.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Runs async work to completion on a thread and runtime of its own, so that it can be called
/// from synchronous tests and from inside a test's runtime alike.
fn on_own_runtime<T, F>(work: impl FnOnce() -> F + Send) -> T
where
    F: std::future::Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(work())
            })
            .join()
            .expect("database set-up thread")
    })
}

/// The database URL a portal on `dir` uses, on either engine.
pub fn database_url(dir: &Path) -> String {
    test_database_url(dir).unwrap_or_else(|| Config::for_data_dir(dir).database_url)
}

/// The configuration tests start a portal on `dir` with: the database of [`database_url`],
/// secrets from files in the directory, except the pepper and the audit key on PostgreSQL
/// (see [`POSTGRES_TEST_PEPPER`]); nothing from the environment.
pub fn test_config(dir: &Path) -> Config {
    let mut config = Config::for_data_dir(dir);
    config.passcode_pepper = None;
    config.audit_key = None;
    if let Some(url) = test_database_url(dir) {
        config.database_url = url;
        config.passcode_pepper = Some(Secret::new(POSTGRES_TEST_PEPPER.to_owned()));
        config.audit_key = Some(Secret::new(POSTGRES_TEST_AUDIT_KEY.to_owned()));
    }
    config
}

/// The audit key a portal on `dir` seals with: its file on SQLite, the configured one on
/// PostgreSQL.
pub fn audit_key(dir: &Path) -> String {
    match test_database_url(dir) {
        Some(_) => POSTGRES_TEST_AUDIT_KEY.to_owned(),
        None => std::fs::read_to_string(dir.join("audit-key")).expect("audit key file"),
    }
}

/// What a `portal` process on `dir` needs in its environment to use the same database as the
/// portal a test starts there: nothing on SQLite, the database URL, the pepper and the audit key on PostgreSQL.
pub fn portal_env(dir: &Path) -> Vec<(&'static str, String)> {
    match test_database_url(dir) {
        Some(url) => vec![
            ("DATABASE_URL", url),
            (portal::config::PEPPER_ENV, POSTGRES_TEST_PEPPER.to_owned()),
            (portal::config::AUDIT_KEY_ENV, POSTGRES_TEST_AUDIT_KEY.to_owned()),
        ],
        None => Vec::new(),
    }
}

/// The `portal` binary on the data directory `dir` and its database (see [`portal_env`]); none
/// of the caller's own database, pepper or audit key variables leak in.
pub fn portal_command(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portal"));
    command
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env_remove(portal::config::PEPPER_ENV)
        .env_remove(portal::config::AUDIT_KEY_ENV)
        .envs(portal_env(dir));
    command
}

/// A small pool of the tests' own on a database URL, for SQL that runs unchanged on both engines.
/// Lazy: it connects at its first statement.
pub fn any_pool(url: &str) -> sqlx::AnyPool {
    install_any_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect_lazy(url)
        .expect("a database URL")
}

/// One connection of the tests' own to a database URL (as someone with write access has).
pub async fn any_connection(url: &str) -> sqlx::AnyConnection {
    install_any_drivers();
    sqlx::AnyConnection::connect(url)
        .await
        .expect("connect to the database")
}

fn install_any_drivers() {
    static DRIVERS: std::sync::Once = std::sync::Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub state: portal::state::AppState,
    pub setup_token: Option<String>,
    /// The tests' own connections to the portal's database.
    db: sqlx::AnyPool,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_in(dir).await
    }

    pub async fn spawn_in(dir: tempfile::TempDir) -> Self {
        Self::spawn_with(dir, |_| {}).await
    }

    /// Starts with the test defaults, then `adjust` (for limits a test wants to reach).
    pub async fn spawn_with(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(dir.path());
        config.follow_interval_ms = 100;
        config.last_seen_flush_s = 1;
        adjust(&mut config);
        let db = any_pool(&config.database_url);
        let portal = match portal::build(config).await {
            Ok(portal) => portal,
            Err(e) => {
                drop_test_database(dir.path());
                panic!("build portal: {e:?}");
            }
        };
        let state = portal.state().clone();
        let setup_token = portal.setup_token();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(portal.serve(listener, async move {
            let _ = stopped.await;
        }));
        // Started means ready: on PostgreSQL the change listener connects in the background, and
        // until it has, /readyz says 503 (tests that check readiness would race it).
        let started = std::time::Instant::now();
        while !state.listening.is_up() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(state.listening.is_up(), "the change listener did not come up in 10 s");
        Self {
            addr,
            dir,
            state,
            setup_token,
            db,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Graceful shutdown; returns the data directory so a test can start again on it.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Waits until the server holds `n` long-polls, so a test acts only once its reader is
    /// really waiting (a fixed sleep is a race on a loaded CI machine).
    pub async fn held_long_polls(&self, n: usize) {
        for _ in 0..600 {
            if self.state.long_polls.held() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never held {n} long-polls");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The tests' own pool on the portal's database, for SQL that runs unchanged on both
    /// engines (`$1` placeholders, no engine's own functions, no booleans decoded: see
    /// [`Engine`] for what may differ).
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.db
    }

    /// The engine the portal runs on.
    pub fn engine(&self) -> Engine {
        Engine::of_url(&self.state.config.database_url)
    }

    /// The session store's table: the stores' own names differ.
    pub fn sessions_table(&self) -> &'static str {
        match self.engine() {
            Engine::Sqlite => "tower_sessions",
            Engine::Postgres => "tower_sessions.session",
        }
    }

    /// The store, for calling the portal's own functions.
    pub fn store(&self) -> &portal::db::Pool {
        &self.state.pool
    }

    pub fn hasher(&self) -> &Hasher {
        &self.state.hasher
    }

    pub async fn add_clinic(&self, code: &str, name: &str) -> i64 {
        let code = ClinicCode::parse(code).expect("valid code");
        let input = accounts::ClinicInput {
            code: &code,
            name,
            phone: "",
            address: "",
            contact_name: "",
        };
        let id = accounts::create_clinic(self.store(), &Actor::CommandLine, &input)
            .await
            .expect("clinic");
        self.state.sync_live().await;
        id
    }

    /// Adds an account with [`PASSWORD`]. Operators, who cannot work without a second factor,
    /// get one set up (the harness keeps its secret so `Browser::login` can answer the code step).
    pub async fn add_user(&self, email: &str, role: Role, clinic: Option<&str>) {
        self.add_user_without_second_factor(email, role, clinic).await;
        if role == Role::Operator {
            self.set_up_second_factor(email).await;
        }
    }

    /// Turns the second factor on for `email` as its owner would, through the service the page
    /// uses, with a code one step old (so the next two steps are free for sign-ins).
    pub async fn set_up_second_factor(&self, email: &str) -> String {
        let user = portal::db::users::by_email(self.store(), email)
            .await
            .expect("user lookup")
            .expect("user");
        let setup = portal::services::totp::pending_or_new(self.store(), &self.state.sealing, user.id, email)
            .await
            .expect("TOTP setup")
            .expect("not on yet");
        let secret = setup.secret.expose().to_owned();
        let now = portal::db::now();
        let code = portal::auth::totp::code_at(&secret, now - 30).expect("code");
        let outcome = portal::services::totp::enable(
            self.store(),
            &self.state.sealing,
            &Actor::CommandLine,
            user.id,
            setup.created_at,
            &code,
            None,
        )
        .await
        .expect("enable");
        let portal::services::totp::EnableOutcome::Enabled(codes) = outcome else {
            panic!("the harness could not turn on the second factor");
        };
        let recovery = codes.iter().map(|c| c.expose().to_owned()).collect();
        second_factors().lock().expect("lock").insert(
            factor_key(&self.state.config.database_url, email),
            Enrolled {
                secret: secret.clone(),
                last_step: now / 30 - 1,
                recovery,
            },
        );
        secret
    }

    pub async fn add_user_without_second_factor(&self, email: &str, role: Role, clinic: Option<&str>) {
        let email = Email::parse(email).expect("email");
        let password = Password::parse(PASSWORD).expect("password");
        let clinic = clinic.map(|c| ClinicCode::parse(c).expect("code"));
        let input = accounts::UserInput {
            email: &email,
            password: &password,
            role,
            clinic: clinic.as_ref(),
            temporary: false,
        };
        accounts::create_user(self.store(), self.hasher(), &Actor::CommandLine, &input)
            .await
            .expect("user");
    }

    /// Enrolls a reader and returns its device token.
    pub async fn add_reader(&self, clinic_id: i64, name: &str) -> String {
        let token = self.add_reader_elsewhere(clinic_id, name).await;
        self.state.sync_live().await;
        token
    }

    /// Enrolls a reader as another process (the command line) would: the running server's
    /// caches learn of it only by following the database.
    pub async fn add_reader_elsewhere(&self, clinic_id: i64, name: &str) -> String {
        let enrolled = readers::enroll(
            self.store(),
            &Actor::CommandLine,
            clinic_id,
            name,
            InstallType::Standalone,
            None,
        )
        .await
        .expect("reader");
        enrolled.token.expose().clone()
    }

    /// Issues a passcode as the command line would; returns the code.
    pub async fn issue_passcode(&self, clinic_id: i64) -> String {
        let issued = passcodes::issue_unconfirmed(self.store(), self.hasher(), &Actor::CommandLine, clinic_id, None)
            .await
            .expect("issue");
        self.state.sync_live().await;
        issued.code.expose().to_owned()
    }

    /// Clinic A with its admin, clinic B with its admin, an operator and an agent.
    pub async fn with_two_clinics(&self) -> (i64, i64) {
        let a = self.add_clinic(CLINIC_A, "さくら内科クリニック").await;
        let b = self.add_clinic(CLINIC_B, "みどり歯科医院").await;
        self.add_user("admin-a@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
            .await;
        self.add_user("admin-b@clinic-b.jp", Role::ClinicAdmin, Some(CLINIC_B))
            .await;
        self.add_user("operator@installer.jp", Role::Operator, None).await;
        self.add_user("agent@installer.jp", Role::Agent, None).await;
        (a, b)
    }

    pub fn browser(&self) -> Browser {
        self.browser_with(Browser::new(self.addr).http)
    }

    /// A browser on this portal with its own client (proxy headers, a user agent, a source
    /// address, or the cookies of an earlier one).
    pub fn browser_with(&self, http: reqwest::Client) -> Browser {
        Browser {
            addr: self.addr,
            http,
            database: self.state.config.database_url.clone(),
        }
    }

    pub fn reader(&self, token: &str) -> ReaderClient {
        ReaderClient {
            addr: self.addr,
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        portal::db::audit::count_action(self.store(), action)
            .await
            .expect("audit count")
    }

    /// A number the database answers, e.g. `app.number("SELECT COUNT(*) FROM invitations")`.
    pub async fn number(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// The data directory goes away with the app (unless `stop` handed it out): so does its
/// PostgreSQL database.
impl Drop for TestApp {
    fn drop(&mut self) {
        drop_test_database(self.dir.path());
    }
}

/// A cookie-keeping client that does not follow redirects, so tests see each 303. Clones share
/// the cookies (one browser, several tabs or a double click).
#[derive(Clone)]
pub struct Browser {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// Whose second factors this browser can answer for (the harness's, per database).
    pub database: String,
}

/// A second factor the harness set up: its secret, the last step it used, and recovery codes to
/// fall back on when a test signs in more often than a step (30 s) allows.
struct Enrolled {
    secret: String,
    last_step: i64,
    recovery: Vec<String>,
}

fn second_factors() -> &'static Mutex<std::collections::HashMap<String, Enrolled>> {
    static FACTORS: std::sync::OnceLock<Mutex<std::collections::HashMap<String, Enrolled>>> =
        std::sync::OnceLock::new();
    FACTORS.get_or_init(Default::default)
}

fn factor_key(database: &str, email: &str) -> String {
    format!("{database}|{}", email.trim().to_lowercase())
}

/// The next code the harness may use for `email`: a step not used yet within the one either side
/// of now (a code works once), else a recovery code.
pub fn next_second_factor_code(database: &str, email: &str) -> Option<String> {
    let mut factors = second_factors().lock().expect("lock");
    let enrolled = factors.get_mut(&factor_key(database, email))?;
    let now_step = portal::db::now() / 30;
    let step = (enrolled.last_step + 1).max(now_step - 1);
    if step <= now_step + 1 {
        enrolled.last_step = step;
        return portal::auth::totp::code_at(&enrolled.secret, step * 30).ok();
    }
    enrolled.recovery.pop()
}

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn csrf(&self) -> String {
        self.hidden("csrf").expect("page has a CSRF token")
    }

    /// Value of the first hidden (or other) input with this name.
    pub fn hidden(&self, name: &str) -> Option<String> {
        extract_attr(&self.body, &format!("name=\"{name}\" value=\""))
    }

    /// Text of the element with this id (simple markup only).
    pub fn element_text(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[start..];
        let open_end = rest.find('>')? + 1;
        let close = rest[open_end..].find('<')?;
        Some(rest[open_end..open_end + close].trim().to_owned())
    }
}

fn extract_attr(body: &str, prefix: &str) -> Option<String> {
    let start = body.find(prefix)? + prefix.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client");
        Self {
            addr,
            http,
            database: String::new(),
        }
    }

    /// After a right password for an account with a second factor, answers the code step with
    /// the harness's next code; any other answer is returned as is.
    async fn second_step(&self, email: &str, page: Page) -> Page {
        if page.location() != Some("/login/mfa") {
            return page;
        }
        let Some(code) = next_second_factor_code(&self.database, email) else {
            return page;
        };
        self.submit("/login/mfa", "/login/mfa", &[("code", &code)]).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        Self::page(response).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self.http.post(self.url(path)).form(form).send().await.expect("POST");
        Self::page(response).await
    }

    /// Fetches `page_path` for its CSRF token, then posts the form with it.
    pub async fn submit(&self, page_path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(page_path).await.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        // Every page any test sees: its title is text (a template that put markup into the
        // title block once showed the whole policy form in the browser's tab).
        if let (Some(start), Some(end)) = (body.find("<title>"), body.find("</title>")) {
            let title = &body[start + "<title>".len()..end];
            assert!(!title.contains('<'), "markup in the page title: {title}");
        }
        Page { status, headers, body }
    }

    /// Signs in; the code step too, for accounts whose second factor the harness set up.
    pub async fn login(&self, email: &str, password: &str) -> Page {
        let page = self
            .submit("/login", "/login", &[("email", email), ("password", password)])
            .await;
        self.second_step(email, page).await
    }

    /// Posts the sign-in form as the page at `login_path` renders it, with `next` (where to go
    /// afterwards), and returns the answer.
    pub async fn login_then(&self, login_path: &str, email: &str, password: &str, next: &str) -> Page {
        let csrf = self.get(login_path).await.csrf();
        let page = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("email", email),
                    ("password", password),
                    ("next", next),
                ],
            )
            .await;
        self.second_step(email, page).await
    }

    /// Signs in and checks it worked.
    pub async fn signed_in(app: &TestApp, email: &str) -> Self {
        let browser = app.browser();
        let page = browser.login(email, PASSWORD).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in of {email} failed: {}",
            page.body
        );
        browser
    }

    /// Enrolls a reader from the clinic page as its admin or an operator would; returns the answer
    /// (the page showing the token, or the refusal).
    pub async fn enroll_reader(&self, clinic: &str, name: &str, install_type: &str) -> Page {
        self.submit(
            &format!("/clinics/{clinic}"),
            &format!("/clinics/{clinic}/readers"),
            &[("name", name), ("install_type", install_type)],
        )
        .await
    }

    /// Issues the clinic's passcode through the web UI; returns the page showing it.
    pub async fn issue_passcode(&self, clinic: &str) -> Page {
        let (csrf, issue_token) = self.confirm_issue(clinic).await;
        self.post(
            &format!("/clinics/{clinic}/passcode"),
            &[("csrf", &csrf), ("issue_token", &issue_token)],
        )
        .await
    }

    /// Opens the issue confirmation page; returns its CSRF and single-use issue tokens.
    pub async fn confirm_issue(&self, clinic: &str) -> (String, String) {
        let confirm = self.get(&format!("/clinics/{clinic}/passcode/issue")).await;
        assert_eq!(confirm.status, StatusCode::OK, "confirmation page: {}", confirm.body);
        let token = confirm
            .hidden("issue_token")
            .expect("the confirmation carries an issue token");
        (confirm.csrf(), token)
    }
}

pub struct ReaderClient {
    pub addr: SocketAddr,
    pub token: String,
    pub http: reqwest::Client,
}

impl ReaderClient {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn poll_request(&self, etag: Option<&str>, wait: Option<u64>) -> reqwest::RequestBuilder {
        let path = match wait {
            Some(w) => format!("/api/v1/reader/passcode?wait={w}"),
            None => "/api/v1/reader/passcode".to_owned(),
        };
        let mut request = self
            .http
            .get(self.url(&path))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(90));
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        request
    }

    pub async fn poll(&self, etag: Option<&str>) -> reqwest::Response {
        self.poll_request(etag, None).send().await.expect("poll")
    }

    /// The ETag of the clinic's current passcode state, from a fresh poll.
    pub async fn current_etag(&self) -> String {
        let response = self.poll(None).await;
        assert_eq!(response.status(), StatusCode::OK, "poll for the ETag");
        response.headers()["etag"].to_str().expect("etag").to_owned()
    }

    pub async fn verify(&self, passcode: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/reader/verify"))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "passcode": passcode }))
            .send()
            .await
            .expect("verify")
    }
}

/// A wrong code that differs from `code`.
pub fn other_code(code: &str) -> String {
    let n: u32 = code.parse().expect("four digits");
    format!("{:04}", (n + 1) % 10_000)
}

/// A portal that mails through the SMTP server on 127.0.0.1:`smtp_port` (mail off with `None`),
/// from portal@installer.example.jp, its sender polling every 200 ms and retrying after 1 s; then
/// `adjust`. The server is tests/support/smtp.rs's.
pub async fn app_mailing_to(smtp_port: Option<u16>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    TestApp::spawn_with(dir, |c| {
        c.smtp_url = smtp_port.map(|port| Secret::new(format!("smtp://127.0.0.1:{port}")));
        c.mail_from = "portal@installer.example.jp".to_owned();
        c.mail_retry_base_s = 1;
        c.mail_poll_ms = 200;
        adjust(c);
    })
    .await
}

/// The session cookie a page sets (`portal_session=…`), if any.
pub fn session_cookie(page: &Page) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portal_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// A browser whose requests reach the portal through a reverse proxy that says they came from `client`.
pub fn behind_proxy(app: &TestApp, client: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", client.parse().unwrap());
    app.browser_with(
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
    )
}

/// A clinic admin asks the desk for help from the portal.
pub async fn ask_for_help(admin: &Browser, summary: &str) -> Page {
    let page = admin
        .submit(
            &format!("/clinics/{CLINIC_A}/requests"),
            &format!("/clinics/{CLINIC_A}/requests"),
            &[("summary", summary), ("category", "other")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page
}
