//! Two real portal processes on one PostgreSQL database (issue 10): what one process does is
//! seen by the other at once (rotations reach long-polls, sessions, readers enrolled from the
//! command line), the invariants hold across them (the clinic's wrong-code limit), and both
//! survive losing their connections and a restart of the server.
//!
//! Needs `PORTAL_TEST_DATABASE_URL`, a superuser URL (each test creates its own database):
//!     PORTAL_TEST_DATABASE_URL=$(bash scripts/pg.sh start) cargo test --test replicas
//! The restart test also needs `PORTAL_TEST_PG_CTL`, a command that takes `pause` (stop the
//! server, keeping data and port) and `resume`: `PORTAL_TEST_PG_CTL="bash $PWD/scripts/pg.sh"`.
//! Without them the tests print SKIPPED and pass.
//!
//! Self-contained on purpose: the shared harness (`tests/common`) runs the portal in-process;
//! here every portal is the `portal` binary, driven over HTTP only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::sync::{Barrier, RwLock, RwLockReadGuard};

#[path = "support/smtp.rs"]
mod smtp;

const CLINIC: &str = "0110113719";
const ADMIN: &str = "admin@clinic-a.jp";
const PASSWORD: &str = "correct horse battery staple";
/// The same secrets in every process, as PostgreSQL requires (32+ characters).
const PEPPER: &str = "replicas-test-passcode-pepper-0123456789";
const AUDIT_KEY: &str = "replicas-test-audit-key-0123456789abcdef";
/// A long-poll's wait: far longer than a change takes to arrive.
const WAIT_S: u64 = 20;

/// Tests share the cluster; the restart test takes it down, so it runs alone.
static CLUSTER: RwLock<()> = RwLock::const_new(());

fn admin_url() -> Option<String> {
    let url = std::env::var("PORTAL_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("SKIPPED: set PORTAL_TEST_DATABASE_URL");
    }
    url
}

/// A fresh database of its own, dropped afterwards (also when the test fails).
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

impl TestDb {
    async fn create(admin: String) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let rand = {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).expect("random");
            u32::from_le_bytes(bytes)
        };
        let name = format!(
            "replicas_{}_{}_{rand:08x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(&admin).await.expect("connect as superuser");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let url = with_database(&admin, &name);
        Self { admin, name, url }
    }

    async fn sql(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database")
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = self.sql().await;
        let value = sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect(sql);
        conn.close().await.ok();
        value
    }

    async fn execute(&self, sql: &str) {
        let mut conn = self.sql().await;
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
        conn.close().await.ok();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop cannot await: a thread with a runtime of its own (this one may be shutting down).
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// The admin URL with another database in its path (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    let url = format!("{base}/{database}");
    match query {
        Some(query) => format!("{url}?{query}"),
        None => url,
    }
}

/// Runs the `portal` command line against the database; returns its last line of output.
fn cli(db: &TestDb, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("PORTAL_PASSCODE_PEPPER", PEPPER)
        .env("PORTAL_AUDIT_KEY", AUDIT_KEY)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portal");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("portal output");
    assert!(
        out.status.success(),
        "portal {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// One `portal serve` process, killed when dropped (its log printed if the test failed).
struct Portal {
    name: &'static str,
    addr: SocketAddr,
    metrics: SocketAddr,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Portal {
    /// Starts a process on ports the system chooses, and learns them from its log, so no other
    /// program on the machine can take a port between choosing and binding it.
    /// `extra`: more `serve` flags (an SMTP server, say).
    async fn start_with(name: &'static str, db: &TestDb, extra: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("portal.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--database-url")
            .arg(&db.url)
            .args(["serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
            .args(extra)
            .env_remove("DATABASE_URL")
            .env("PORTAL_PASSCODE_PEPPER", PEPPER)
            .env("PORTAL_AUDIT_KEY", AUDIT_KEY)
            .env("PORTAL_LOG_FORMAT", "text")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start portal");
        let started = Instant::now();
        let (addr, metrics) = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let logged = |message: &str| {
                let line = text.lines().find(|l| l.contains(message))?;
                line.split_whitespace()
                    .find_map(|f| f.strip_prefix("addr=")?.parse().ok())
            };
            if let (Some(addr), Some(metrics)) = (logged(" listening addr="), logged(" metrics at /metrics")) {
                break (addr, metrics);
            }
            let exited = child.try_wait().expect("portal status");
            assert!(exited.is_none(), "portal {name} exited ({exited:?}) at start:\n{text}");
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "portal {name} did not start:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Self {
            name,
            addr,
            metrics,
            child,
            log,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn ready(&self) -> StatusCode {
        match reqwest::Client::new()
            .get(self.url("/readyz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
        {
            Ok(answer) => answer.status(),
            Err(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// Waits until `/readyz` answers `status`; panics after `within`.
    async fn wait_ready(&self, status: StatusCode, within: Duration) {
        let started = Instant::now();
        let mut last = self.ready().await;
        while last != status {
            assert!(
                started.elapsed() < within,
                "{}: /readyz answered {last}, not {status}, for {within:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            last = self.ready().await;
        }
    }

    /// A number from the process's own metrics (`name value` lines).
    async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Notifications of changes this process has received from the database.
    async fn notifications_heard(&self) -> f64 {
        self.metric("portal_notification_lag_seconds_count").await
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- portal {} log (last lines) ---", self.name);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// A cookie-keeping browser that does not follow redirects. Cookies are kept by host, not port
/// (as browsers do), so one browser is signed in on both processes' addresses alike.
#[derive(Clone)]
struct Browser {
    http: reqwest::Client,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The value of the first input with this name.
    fn input(&self, name: &str) -> Option<String> {
        let prefix = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&prefix)? + prefix.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }

    fn csrf(&self) -> String {
        self.input("csrf")
            .unwrap_or_else(|| panic!("no CSRF token on a {} page: {}", self.status, self.body))
    }

    /// The text of the element with this id (simple markup only).
    fn element_text(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[start..];
        let open_end = rest.find('>')? + 1;
        let close = rest[open_end..].find('<')?;
        Some(rest[open_end..open_end + close].trim().to_owned())
    }

    fn retry_after(&self) -> Option<&str> {
        self.headers.get("retry-after").and_then(|v| v.to_str().ok())
    }
}

/// The passcode page of the test clinic: it needs a signed-in admin.
fn passcode_page() -> String {
    format!("/clinics/{CLINIC}/passcode")
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Self { http }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Page { status, headers, body }
    }

    async fn get(&self, at: &Portal, path: &str) -> Page {
        Self::page(self.http.get(at.url(path)).send().await.expect("GET")).await
    }

    async fn post(&self, at: &Portal, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(at.url(path)).form(form).send().await.expect("POST")).await
    }

    /// The sign-in form's CSRF token, from the sign-in page.
    async fn sign_in_form(&self, at: &Portal) -> String {
        self.get(at, "/login").await.csrf()
    }

    async fn sign_in_with(&self, at: &Portal, csrf: &str) -> Page {
        self.post(
            at,
            "/login",
            &[("csrf", csrf), ("email", ADMIN), ("password", PASSWORD)],
        )
        .await
    }

    /// Signs the clinic's admin in and checks it worked.
    async fn signed_in(at: &Portal) -> Self {
        let browser = Self::new();
        let csrf = browser.sign_in_form(at).await;
        let page = browser.sign_in_with(at, &csrf).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in on {}: {}",
            at.name,
            page.body
        );
        browser
    }

    /// Opens the issue confirmation; returns the form's CSRF and single-use issue tokens.
    async fn confirm_issue(&self, at: &Portal) -> (String, String) {
        let confirm = self.get(at, &format!("/clinics/{CLINIC}/passcode/issue")).await;
        assert_eq!(
            confirm.status,
            StatusCode::OK,
            "confirmation on {}: {}",
            at.name,
            confirm.body
        );
        let token = confirm.input("issue_token").expect("an issue token");
        (confirm.csrf(), token)
    }

    async fn send_issue(&self, at: &Portal, (csrf, token): &(String, String)) -> Page {
        self.post(at, &passcode_page(), &[("csrf", csrf), ("issue_token", token)])
            .await
    }

    /// Issues a new passcode through the web page of `at`; returns the code it shows.
    async fn issue_passcode(&self, at: &Portal) -> String {
        let form = self.confirm_issue(at).await;
        let issued = self.send_issue(at, &form).await;
        assert_eq!(issued.status, StatusCode::OK, "issue on {}: {}", at.name, issued.body);
        issued.element_text("new-passcode").expect("the new code is shown")
    }
}

/// A card reader with its device token.
#[derive(Clone)]
struct Reader {
    token: String,
    http: reqwest::Client,
}

impl Reader {
    fn new(token: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(100))
            .build()
            .expect("client");
        Self { token, http }
    }

    async fn poll(&self, at: &Portal, etag: Option<&str>, wait: Option<u64>) -> reqwest::Response {
        let path = match wait {
            Some(wait) => format!("/api/v1/reader/passcode?wait={wait}"),
            None => "/api/v1/reader/passcode".to_owned(),
        };
        let mut request = self.http.get(at.url(&path)).bearer_auth(&self.token);
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        request.send().await.expect("poll")
    }

    /// A poll's answer: status, ETag and the state (`Null` for a 304).
    async fn state(&self, at: &Portal) -> (StatusCode, String, Value) {
        let answer = self.poll(at, None, None).await;
        let status = answer.status();
        let etag = answer
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, etag, answer.json().await.unwrap_or_default())
    }

    /// Starts a long-poll on `at` for a change from the state `etag` names.
    fn long_poll(
        &self,
        at: &Portal,
        etag: &str,
        wait_s: u64,
    ) -> tokio::task::JoinHandle<(StatusCode, Value, Duration)> {
        let (reader, url, etag) = (
            self.clone(),
            at.url(&format!("/api/v1/reader/passcode?wait={wait_s}")),
            etag.to_owned(),
        );
        tokio::spawn(async move {
            let started = Instant::now();
            let answer = reader
                .http
                .get(url)
                .bearer_auth(&reader.token)
                .header("if-none-match", etag)
                .send()
                .await
                .expect("long-poll");
            let status = answer.status();
            (status, answer.json().await.unwrap_or_default(), started.elapsed())
        })
    }

    async fn verify(&self, at: &Portal, code: &str) -> (StatusCode, HeaderMap, Value) {
        let answer = self
            .http
            .post(at.url("/api/v1/reader/verify"))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "passcode": code }))
            .send()
            .await
            .expect("verify");
        let (status, headers) = (answer.status(), answer.headers().clone());
        (status, headers, answer.json().await.unwrap_or_default())
    }
}

/// A wrong code that differs from `code`.
fn other_code(code: &str) -> String {
    let n: u32 = code.parse().expect("four digits");
    format!("{:04}", (n + 1) % 10_000)
}

/// Two processes, A and B, on one fresh database holding the clinic and its admin.
struct Replicas {
    a: Portal,
    b: Portal,
    db: TestDb,
    _cluster: ClusterUse,
}

enum ClusterUse {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'static, ()>),
}

impl Replicas {
    async fn start(admin: String, cluster: ClusterUse) -> Self {
        Self::start_with(admin, cluster, &[]).await
    }

    async fn start_with(admin: String, cluster: ClusterUse, extra: &[String]) -> Self {
        let db = TestDb::create(admin).await;
        // Migrations run in the first command; both processes then start on a ready schema.
        cli(&db, &["clinic", "add", "--code", CLINIC, "--name", "さくら内科"], None);
        cli(
            &db,
            &[
                "user",
                "add",
                "--email",
                ADMIN,
                "--role",
                "clinic-admin",
                "--clinic",
                CLINIC,
            ],
            Some(&format!("{PASSWORD}\n")),
        );
        let (a, b) = tokio::join!(Portal::start_with("A", &db, extra), Portal::start_with("B", &db, extra));
        for portal in [&a, &b] {
            portal.wait_ready(StatusCode::OK, Duration::from_secs(60)).await;
        }
        Self {
            a,
            b,
            db,
            _cluster: cluster,
        }
    }

    /// `None` (after saying SKIPPED) when no test database is configured.
    async fn shared() -> Option<Self> {
        let admin = admin_url()?;
        Some(Self::start(admin, ClusterUse::Shared(CLUSTER.read().await)).await)
    }

    /// Both processes with mail on (their senders and time-based notices running), to `smtp_port`.
    async fn mailing(smtp_port: u16) -> Option<Self> {
        let admin = admin_url()?;
        let extra = [
            "--smtp-url".to_owned(),
            format!("smtp://127.0.0.1:{smtp_port}"),
            "--notice-check-s".to_owned(),
            "1".to_owned(),
        ];
        Some(Self::start_with(admin, ClusterUse::Shared(CLUSTER.read().await), &extra).await)
    }

    fn enrol_reader(&self, name: &str) -> Reader {
        let token = cli(&self.db, &["reader", "add", "--clinic", CLINIC, "--name", name], None);
        assert!(token.starts_with("rdr_"), "{token}");
        Reader::new(token)
    }
}

/// The ETag of the database's current passcode state, once `at` shows it: it may still be
/// applying the last change (made on the other process a moment ago), and a long-poll from an
/// older state would be answered at once instead of held.
async fn settled_state(db: &TestDb, reader: &Reader, at: &Portal) -> (String, i64) {
    let generation = db.scalar("SELECT passcode_generation FROM clinics").await;
    let started = Instant::now();
    loop {
        let (status, etag, state) = reader.state(at).await;
        assert_eq!(status, StatusCode::OK, "{state}");
        if state["generation"] == generation {
            return (etag, generation);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} still shows {state} while the database is at generation {generation}",
            at.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a long-poll on `at` from the state `etag` names, and returns once `at` holds it.
async fn hold_long_poll(
    reader: &Reader,
    at: &Portal,
    etag: &str,
    wait_s: u64,
) -> tokio::task::JoinHandle<(StatusCode, Value, Duration)> {
    let held = at.metric("portal_long_polls_held").await;
    let waiting = reader.long_poll(at, etag, wait_s);
    let started = Instant::now();
    while at.metric("portal_long_polls_held").await < held + 1.0 {
        assert!(
            !waiting.is_finished(),
            "{}: the long-poll was answered at once",
            at.name
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{}: the long-poll was never held",
            at.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    waiting
}

/// Holds a long-poll on `waiter` from the current state, issues a code on `issuer`'s web page,
/// and checks the long-poll answered with the new generation within its wait and that `waiter`
/// heard of it by a notification (not by its slow safety re-read). Returns the code.
async fn rotation_reaches_long_poll(
    db: &TestDb,
    admin: &Browser,
    issuer: &Portal,
    waiter: &Portal,
    reader: &Reader,
) -> String {
    let (etag, generation) = settled_state(db, reader, waiter).await;
    let heard = waiter.notifications_heard().await;
    let waiting = hold_long_poll(reader, waiter, &etag, WAIT_S).await;

    let code = admin.issue_passcode(issuer).await;

    let (status, state, took) = waiting.await.expect("long-poll task");
    assert_eq!(
        status,
        StatusCode::OK,
        "the long-poll on {} answered {status} after {took:?}: the rotation on {} did not reach it",
        waiter.name,
        issuer.name
    );
    assert_eq!(state["generation"], generation + 1, "{state}");
    assert_eq!(state["active"], true, "{state}");
    assert!(took < Duration::from_secs(WAIT_S), "answered within its wait: {took:?}");
    assert!(
        waiter.notifications_heard().await > heard,
        "{} heard the change as a notification",
        waiter.name
    );
    code
}

#[tokio::test]
async fn a_rotation_on_one_process_reaches_a_long_poll_held_on_the_other() {
    let Some(replicas) = Replicas::shared().await else {
        return;
    };
    let (a, b) = (&replicas.a, &replicas.b);
    let admin = Browser::signed_in(a).await;
    let reader = replicas.enrol_reader("受付1");

    let first = rotation_reaches_long_poll(&replicas.db, &admin, a, b, &reader).await;
    // The code issued by A verifies on B: one pepper, one database.
    let (status, _, answer) = reader.verify(b, &first).await;
    assert_eq!(
        (status, &answer["ok"]),
        (StatusCode::OK, &Value::Bool(true)),
        "{answer}"
    );
    // And the other way round.
    let second = rotation_reaches_long_poll(&replicas.db, &admin, b, a, &reader).await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_session_made_on_one_process_is_signed_in_on_the_other() {
    let Some(replicas) = Replicas::shared().await else {
        return;
    };
    let (a, b) = (&replicas.a, &replicas.b);
    let stranger = Browser::new();
    let refused = stranger.get(b, &passcode_page()).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "the page needs sign-in");
    assert!(
        refused.location().is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        refused.location()
    );

    let admin = Browser::signed_in(a).await;
    let page = admin.get(b, &passcode_page()).await;
    assert_eq!(page.status, StatusCode::OK, "signed in on B: {:?}", page.location());

    // A form opened on A is sent to B: the session's CSRF token and the issue token are shared.
    let form = admin.confirm_issue(a).await;
    let issued = admin.send_issue(b, &form).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    assert!(issued.element_text("new-passcode").is_some());

    // Signing out on B ends the session on A too.
    let csrf = admin.get(b, &passcode_page()).await.csrf();
    let out = admin.post(b, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = admin.get(a, &passcode_page()).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out on A too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_codes_split_over_both_processes_are_held_to_the_clinics_limit() {
    let Some(replicas) = Replicas::shared().await else {
        return;
    };
    let replicas = Arc::new(replicas);
    let threshold = replicas
        .db
        .scalar("SELECT failures_before_disable FROM passcode_policy WHERE id = 1")
        .await;
    let readers: Vec<Reader> = (0..4).map(|i| replicas.enrol_reader(&format!("受付{i}"))).collect();
    for round in 1..=2 {
        let code = cli(&replicas.db, &["passcode", "issue", "--clinic", CLINIC], None);
        let wrong = other_code(&code);
        // 4 readers × 5 wrong codes, every reader's alternating between A and B, released
        // together: enough to reach the threshold before every reader locks.
        let barrier = Arc::new(Barrier::new(20));
        let mut guesses = Vec::new();
        for (r, reader) in readers.iter().enumerate() {
            for g in 0..5 {
                let (replicas, reader, wrong, barrier) =
                    (replicas.clone(), reader.clone(), wrong.clone(), barrier.clone());
                guesses.push(tokio::spawn(async move {
                    let at = if (r + g) % 2 == 0 { &replicas.a } else { &replicas.b };
                    barrier.wait().await;
                    let (status, _, body) = reader.verify(at, &wrong).await;
                    (at.name, status, body)
                }));
            }
        }
        let mut answers = Vec::new();
        for guess in guesses {
            answers.push(guess.await.expect("guess"));
        }
        for (at, status, body) in &answers {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::TOO_MANY_REQUESTS,
                "round {round}, {at}: {status} {body}"
            );
        }
        let checked = answers
            .iter()
            .filter(|(_, s, b)| *s == StatusCode::OK && b["attempts_left"].is_i64())
            .count() as i64;
        let disabling = answers
            .iter()
            .filter(|(_, _, b)| b["reason"] == "passcode_disabled" && b["attempts_left"].is_i64())
            .count();
        assert_eq!(
            checked, threshold,
            "round {round}: exactly the threshold's codes are checked"
        );
        assert_eq!(disabling, 1, "round {round}: one answer disables the generation");
        let failed = replicas
            .db
            .scalar("SELECT failed_attempts FROM passcodes WHERE superseded_at IS NULL")
            .await;
        assert_eq!(failed, threshold, "round {round}: the count stops at the threshold");
        let disabled = replicas
            .db
            .scalar("SELECT COUNT(*) FROM passcodes WHERE superseded_at IS NULL AND disabled_at IS NOT NULL")
            .await;
        assert_eq!(disabled, 1, "round {round}: the generation is disabled");
        let rows = replicas
            .db
            .scalar(
                "SELECT COUNT(*) FROM passcode_attempts WHERE result = 'rejected' AND generation = \
                 (SELECT passcode_generation FROM clinics)",
            )
            .await;
        assert_eq!(rows, threshold, "round {round}: one attempt row per checked code");
        let audited = replicas
            .db
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'passcode.disabled'")
            .await;
        assert_eq!(audited, round, "round {round}: one audit row per disabling");
        // The right code no longer works, on either process.
        for at in [&replicas.a, &replicas.b] {
            let (_, _, answer) = readers[3].verify(at, &code).await;
            assert_ne!(answer["ok"], true, "round {round}, {}: {answer}", at.name);
        }
        // Clear the readers' own locks for the next round.
        replicas
            .db
            .execute("UPDATE readers SET failed_attempts = 0, lockouts = 0, locked_until = NULL")
            .await;
    }
}

#[tokio::test]
async fn a_reader_enrolled_from_the_command_line_polls_either_process_at_once() {
    let Some(replicas) = Replicas::shared().await else {
        return;
    };
    let first_poll = |reader: Reader, at: &'static str, i: usize| {
        let replicas = &replicas;
        async move {
            let portal = if at == "A" { &replicas.a } else { &replicas.b };
            let (status, _, state) = reader.state(portal).await;
            assert_eq!(status, StatusCode::OK, "reader {i}'s first poll, on {at}: {state}");
            assert_eq!(state["generation"], 0, "{state}");
        }
    };
    for (i, at) in ["B", "A", "B"].into_iter().enumerate() {
        first_poll(replicas.enrol_reader(&format!("受付{i}")), at, i).await;
    }
    // Also while neither process hears notifications (their listeners were just cut and wait
    // before reconnecting): the poll itself makes the process catch up with the database.
    for (i, at) in ["B", "A"].into_iter().enumerate() {
        replicas
            .db
            .execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'LISTEN%'",
                replicas.db.name
            ))
            .await;
        first_poll(replicas.enrol_reader(&format!("受付{}", i + 3)), at, i + 3).await;
    }
}

/// Ends every connection to the test database but this statement's own; returns how many.
async fn terminate_connections(db: &TestDb) -> i64 {
    db.scalar(&format!(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid()) AS terminated",
        db.name
    ))
    .await
}

/// What a browser and a reader keep doing on both processes until `stop`: signed-in pages,
/// wrong codes, passcode issues and sign-ins. Returns every answer's status, by what it was.
async fn traffic(
    replicas: Arc<Replicas>,
    admin: Browser,
    reader: Reader,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<(String, StatusCode)> {
    let mut seen = Vec::new();
    while !*stop.borrow() {
        for at in [&replicas.a, &replicas.b] {
            let page = admin.get(at, &passcode_page()).await;
            seen.push((format!("{} page", at.name), page.status));
            let (status, _, _) = reader.verify(at, "0000").await;
            seen.push((format!("{} verify", at.name), status));
            let visitor = Browser::new();
            let csrf = visitor.sign_in_form(at).await;
            let sign_in = visitor.sign_in_with(at, &csrf).await;
            seen.push((format!("{} sign-in", at.name), sign_in.status));
            let confirm = admin.get(at, &format!("/clinics/{CLINIC}/passcode/issue")).await;
            seen.push((format!("{} confirm", at.name), confirm.status));
            if let (Some(csrf), Some(token)) = (confirm.input("csrf"), confirm.input("issue_token")) {
                let issued = admin.send_issue(at, &(csrf, token)).await;
                seen.push((format!("{} issue", at.name), issued.status));
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_processes_survive_losing_every_database_connection() {
    let Some(replicas) = Replicas::shared().await else {
        return;
    };
    let replicas = Arc::new(replicas);
    let (a, b) = (&replicas.a, &replicas.b);
    let admin = Browser::signed_in(a).await;
    let reader = replicas.enrol_reader("受付1");
    rotation_reaches_long_poll(&replicas.db, &admin, a, b, &reader).await;

    // Connections ended under load: requests in flight answer 503 at worst, never 500.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let busy: Vec<_> = (0..3)
        .map(|i| {
            let wrong_codes = replicas.enrol_reader(&format!("受付(誤入力{i})"));
            tokio::spawn(traffic(replicas.clone(), admin.clone(), wrong_codes, stopped.clone()))
        })
        .collect();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        terminate_connections(&replicas.db).await;
    }
    stop.send(true).expect("stop the traffic");
    let mut unavailable = 0;
    for task in busy {
        for (what, status) in task.await.expect("traffic") {
            assert!(
                [StatusCode::OK, StatusCode::SEE_OTHER, StatusCode::TOO_MANY_REQUESTS].contains(&status)
                    || status == StatusCode::SERVICE_UNAVAILABLE,
                "{what}: {status}"
            );
            unavailable += usize::from(status == StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    eprintln!("{unavailable} answers were 503 while connections were ended");

    let (etag, generation) = settled_state(&replicas.db, &reader, b).await;
    let waiting = hold_long_poll(&reader, b, &etag, WAIT_S).await;
    let killed = terminate_connections(&replicas.db).await;
    assert!(killed >= 2, "both processes' connections were ended ({killed})");

    // A rotation right away, while B's listener may still be reconnecting: it is not lost.
    let code = admin.issue_passcode(a).await;
    let (status, state, took) = waiting.await.expect("long-poll task");
    assert_eq!(status, StatusCode::OK, "after {took:?}: {state}");
    assert_eq!(state["generation"], generation + 1, "{state}");

    // Both listen again, and later rotations arrive as notifications.
    for portal in [a, b] {
        portal.wait_ready(StatusCode::OK, Duration::from_secs(15)).await;
    }
    rotation_reaches_long_poll(&replicas.db, &admin, a, b, &reader).await;
    let code_now = rotation_reaches_long_poll(&replicas.db, &admin, b, a, &reader).await;

    // Writes work again on both: a verification (with its attempt row) and a fresh sign-in.
    assert_ne!(code, code_now);
    let (status, _, answer) = reader.verify(b, &code_now).await;
    assert_eq!(
        (status, &answer["ok"]),
        (StatusCode::OK, &Value::Bool(true)),
        "{answer}"
    );
    Browser::signed_in(b).await;
}

/// Runs `$PORTAL_TEST_PG_CTL <action>` (pause or resume).
fn pg_ctl(command: &str, action: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{command} {action}"))
        .stdout(Stdio::null())
        .status()
        .expect("run PORTAL_TEST_PG_CTL");
    assert!(status.success(), "`{command} {action}` failed");
}

/// Brings the server back even when the test fails while it is down.
struct Outage(String);

impl Outage {
    fn begin(command: String) -> Self {
        pg_ctl(&command, "pause");
        Self(command)
    }

    fn end(self) {}
}

impl Drop for Outage {
    fn drop(&mut self) {
        pg_ctl(&self.0, "resume");
    }
}

#[tokio::test]
async fn both_processes_ride_out_a_database_restart() {
    let Some(admin_url) = admin_url() else {
        return;
    };
    let Some(pg_ctl) = std::env::var("PORTAL_TEST_PG_CTL").ok().filter(|c| !c.is_empty()) else {
        eprintln!("SKIPPED: set PORTAL_TEST_PG_CTL (e.g. \"bash $PWD/scripts/pg.sh\") to restart the server");
        return;
    };
    let replicas = Replicas::start(admin_url, ClusterUse::Alone(CLUSTER.write().await)).await;
    let (a, b) = (&replicas.a, &replicas.b);
    let admin = Browser::signed_in(a).await;
    let reader = replicas.enrol_reader("受付1");
    let code = rotation_reaches_long_poll(&replicas.db, &admin, a, b, &reader).await;
    // Forms opened before the outage, sent during it.
    let issue_form = admin.confirm_issue(a).await;
    let visitor = Browser::new();
    let sign_in_form = visitor.sign_in_form(b).await;
    let (_, etag, known) = reader.state(b).await;
    // A long-poll held through the whole outage (the longest wait there is).
    let held_through = hold_long_poll(&reader, b, &etag, 60).await;

    let outage = Outage::begin(pg_ctl);
    for portal in [a, b] {
        portal
            .wait_ready(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(15))
            .await;
    }
    for portal in [a, b] {
        // Reader polls are answered from memory.
        let (status, _, state) = reader.state(portal).await;
        assert_eq!(status, StatusCode::OK, "{}: {state}", portal.name);
        for field in ["generation", "active", "issued_at"] {
            assert_eq!(state[field], known[field], "{}: the state known before", portal.name);
        }
        let unchanged = reader.poll(portal, Some(&etag), None).await;
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED, "{}", portal.name);
        let waited = reader.poll(portal, Some(&etag), Some(1)).await;
        assert_eq!(
            waited.status(),
            StatusCode::NOT_MODIFIED,
            "{}: a long-poll",
            portal.name
        );
        // Writes answer 503 with Retry-After, never 500.
        let (status, headers, answer) = reader.verify(portal, &code).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: verify: {answer}",
            portal.name
        );
        assert_eq!(answer["error"], "unavailable", "{answer}");
        assert!(headers.contains_key("retry-after"), "{}: verify", portal.name);
    }
    let issue = admin.send_issue(a, &issue_form).await;
    assert_eq!(issue.status, StatusCode::SERVICE_UNAVAILABLE, "issue: {}", issue.body);
    assert!(issue.retry_after().is_some(), "issue: Retry-After");
    let sign_in = visitor.sign_in_with(b, &sign_in_form).await;
    assert_eq!(
        sign_in.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "sign-in: {}",
        sign_in.body
    );
    assert!(sign_in.retry_after().is_some(), "sign-in: Retry-After");
    let page = admin.get(b, &passcode_page()).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a signed-in page: {}",
        page.body
    );
    assert!(page.retry_after().is_some(), "a signed-in page: Retry-After");
    outage.end();

    // Back without anyone doing anything: ready, rotations reach the other process, writes work.
    let back = Instant::now();
    for portal in [a, b] {
        portal.wait_ready(StatusCode::OK, Duration::from_secs(30)).await;
    }
    eprintln!("both processes ready {:?} after the server was back", back.elapsed());
    let issued = admin.send_issue(a, &issue_form).await;
    assert_eq!(
        issued.status,
        StatusCode::OK,
        "the form sent during the outage works now: {}",
        issued.body
    );
    let (status, state, took) = held_through.await.expect("long-poll task");
    assert_eq!(
        status,
        StatusCode::OK,
        "the long-poll held through the outage, after {took:?}: {state}"
    );
    assert_eq!(
        state["generation"],
        known["generation"].as_i64().expect("generation") + 1,
        "{state}"
    );
    rotation_reaches_long_poll(&replicas.db, &admin, a, b, &reader).await;
    let code = rotation_reaches_long_poll(&replicas.db, &admin, b, a, &reader).await;
    let (status, _, answer) = reader.verify(b, &code).await;
    assert_eq!(
        (status, &answer["ok"]),
        (StatusCode::OK, &Value::Bool(true)),
        "{answer}"
    );
    let page = visitor.sign_in_with(b, &sign_in_form).await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "sign-in after the outage: {}",
        page.body
    );
}

/// Waits until `smtp` has `n` messages (at most 60 s), then 4 s more, longer than a sender's
/// poll, so that a message sent twice would show.
async fn all_received(smtp: &smtp::SmtpServer, n: usize) -> Vec<smtp::Mail> {
    let started = Instant::now();
    while smtp.received().len() < n && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    smtp.received()
}

fn count_by_recipient(received: &[smtp::Mail]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for m in received {
        *counts.entry(m.recipient().to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sending_one_outbox_deliver_each_message_exactly_once() {
    let port = smtp::free_port();
    let smtp = smtp::SmtpServer::start(port).await;
    let Some(replicas) = Replicas::mailing(port).await else {
        return;
    };
    // 120 messages at once, as a burst of events would leave them: both senders find them
    // (each looks every 3 s and takes 20 at a time) and claim with FOR UPDATE SKIP LOCKED.
    const N: usize = 120;
    replicas
        .db
        .execute(&format!(
            "INSERT INTO mail_outbox (recipient, language, kind, subject, body_text, body_html, next_attempt_at, created_at)
             SELECT 'r' || n || '@example.jp', 'ja', 'test', 'テスト ' || n, 'text', '<p>html</p>', 0, 0
             FROM generate_series(1, {N}) AS n"
        ))
        .await;
    let received = all_received(&smtp, N).await;
    let counts = count_by_recipient(&received);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(counts.len(), N, "every message arrived");
    assert_eq!(
        replicas
            .db
            .scalar("SELECT COUNT(*) FROM mail_outbox WHERE status = 'sent' AND attempts = 1")
            .await,
        N as i64
    );
    let sent_by = |portal: &Portal| {
        std::fs::read_to_string(&portal.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("mail sent"))
            .count()
    };
    eprintln!("sent by A: {}, by B: {}", sent_by(&replicas.a), sent_by(&replicas.b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_mail_a_stale_reader_once() {
    let port = smtp::free_port();
    let smtp = smtp::SmtpServer::start(port).await;
    let Some(replicas) = Replicas::mailing(port).await else {
        return;
    };
    // Ten readers go quiet at once; both processes look every second.
    for i in 0..10 {
        replicas.enrol_reader(&format!("受付{i}"));
    }
    replicas
        .db
        .execute(&format!(
            "UPDATE readers SET enrolled_at = {}",
            time::OffsetDateTime::now_utc().unix_timestamp() - 7200
        ))
        .await;
    let received = all_received(&smtp, 10).await;
    assert_eq!(received.len(), 10, "one notice per reader: {received:#?}");
    assert!(received.iter().all(|m| m.recipient() == ADMIN));
    let mut subjects: Vec<&str> = received.iter().map(|m| m.subject.as_str()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 10, "each reader named once: {subjects:?}");
    assert_eq!(
        replicas
            .db
            .scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'reader_stale'")
            .await,
        10
    );
}
