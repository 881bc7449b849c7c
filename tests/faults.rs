//! Faults: a database that is locked, full or read-only answers 503 (page or JSON) instead of
//! 500, pages that only read and the reader poll keep working, and everything recovers when the
//! cause goes away. Slow clients are cut off.

mod common;

use std::str::FromStr;

use common::{Browser, CLINIC_A, Engine, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;

#[tokio::test]
async fn a_locked_database_gives_503_and_the_portal_recovers_when_it_is_released() {
    if common::engine() == Engine::Postgres {
        common::skipped_on_postgres(
            "SQLite's database-wide write lock, held by another process, has no PostgreSQL counterpart \
             (writers there wait for the rows they touch only)",
        );
        return;
    }
    let app = TestApp::spawn().await;
    let scene = Scene::new(&app).await;

    // Another process takes SQLite's write lock and keeps it.
    let url = format!("sqlite://{}", app.dir.path().join("portal.db").display());
    let mut locker = sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut locker).await.unwrap();
    scene.assert_writes_get_503(&app, "locked").await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    scene.assert_recovered(&app).await;
}

#[tokio::test]
async fn a_client_that_trickles_its_body_is_answered_and_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| c.body_deadline_s = 1).await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/reader/verify HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"passcode\":",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Then nothing more: the server must not wait for ever. (A hang guard, not a speed check.)
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read(&mut answer)).await;
    let n = read.expect("the server answers a stalled body").unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 4"), "{text}");
    // Nothing was recorded for the half-sent guess.
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcode_attempts")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0);
}

#[tokio::test]
async fn a_client_that_trickles_its_request_head_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| c.header_read_timeout_s = 1).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // Half a request head, then a byte now and then, never the blank line that ends it.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: portal\r\n")
        .await
        .unwrap();
    // True when the server closed the connection (a write fails), false if it never did.
    let mut cut_off = false;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if stream.write_all(b"X").await.is_err() {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the server kept a trickling request head open for 20 s");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 4"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
    // The server itself keeps answering.
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

/// A small tmpfs mounted over a temporary directory, unmounted on drop. Mounting needs root
/// (CI runs as root); elsewhere the disk tests say so and skip.
struct SmallDisk {
    dir: Option<tempfile::TempDir>,
    path: std::path::PathBuf,
}

fn mount(args: &[&str], path: &std::path::Path) -> bool {
    std::process::Command::new("mount")
        .args(args)
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        if !mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], &path) {
            eprintln!("skipped: mounting a tmpfs needs root (CI runs this test as root)");
            return None;
        }
        Some(Self { dir: Some(dir), path })
    }

    /// Writes a filler file until the file system is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write(&block).is_ok_and(|n| n > 0) {}
        filler
    }

    /// The mounted directory, for [`TestApp::spawn_in`].
    fn take_dir(&mut self) -> tempfile::TempDir {
        self.dir.take().unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A clinic with a reader and an issued passcode, its admin signed in on the issue form.
struct Scene {
    admin: Browser,
    csrf: String,
    token: String,
    code: String,
}

impl Scene {
    async fn new(app: &TestApp) -> Self {
        let (a, _) = app.with_two_clinics().await;
        let token = app.add_reader(a, "受付1").await;
        let code = app.issue_passcode(a).await;
        let admin = Browser::signed_in(app, "admin-a@clinic-a.jp").await;
        let csrf = admin.get(&format!("/clinics/{CLINIC_A}/passcode/issue")).await.csrf();
        Self {
            admin,
            csrf,
            token,
            code,
        }
    }

    async fn issue(&self) -> common::Page {
        self.admin
            .post(&format!("/clinics/{CLINIC_A}/passcode"), &[("csrf", &self.csrf)])
            .await
    }

    /// While a fault lasts: the passcode POST gets the 503 page, a reader's verify 503 JSON;
    /// pages that only read and the reader's poll keep working.
    async fn assert_writes_get_503(&self, app: &TestApp, fault: &str) {
        let page = self.issue().await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{fault}: {}", page.body);
        assert!(page.body.contains("一時的にご利用いただけません"), "{fault}");
        assert!(page.headers.get("retry-after").is_some(), "{fault}");
        // The session's refresh is let go, so reading still works.
        let read = self.admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
        assert_eq!(read.status, StatusCode::OK, "{fault}: {}", read.body);
        let verify = app.reader(&self.token).verify(&self.code).await;
        assert_eq!(verify.status(), StatusCode::SERVICE_UNAVAILABLE, "{fault}");
        assert!(verify.headers().get("retry-after").is_some(), "{fault}");
        assert_eq!(verify.json::<Value>().await.unwrap()["error"], "unavailable");
        assert_eq!(
            app.reader(&self.token).poll(None).await.status(),
            StatusCode::OK,
            "{fault}"
        );
        // A new visitor's session cannot be stored: a page, never an empty 500.
        let fresh = app.browser().get("/login").await;
        assert!(
            fresh.status == StatusCode::OK || fresh.status == StatusCode::SERVICE_UNAVAILABLE,
            "{fault}: {}",
            fresh.status
        );
        assert!(!fresh.body.is_empty(), "{fault}");
    }

    /// After the fault: the passcode works, a new one can be issued, and the data is intact.
    async fn assert_recovered(&self, app: &TestApp) {
        let answer: Value = app.reader(&self.token).verify(&self.code).await.json().await.unwrap();
        assert_eq!(answer["ok"], true, "works again once the cause is gone");
        assert_eq!(self.issue().await.status, StatusCode::OK);
        if app.engine() == Engine::Sqlite {
            let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(app.pool())
                .await
                .unwrap();
            assert_eq!(integrity, "ok");
        }
        let current: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcodes WHERE superseded_at IS NULL")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(current, 1, "exactly one current generation");
    }
}

#[tokio::test]
async fn a_full_disk_gives_503_and_the_portal_recovers_when_space_is_freed() {
    if common::engine() == Engine::Postgres {
        common::skipped_on_postgres(
            "the database is not in the data directory but on the server, whose disk a test cannot fill",
        );
        return;
    }
    let Some(mut disk) = SmallDisk::mount("16m") else {
        return;
    };
    let app = TestApp::spawn_in(disk.take_dir()).await;
    let scene = Scene::new(&app).await;
    let filler = disk.fill();
    scene.assert_writes_get_503(&app, "disk full").await;
    std::fs::remove_file(filler).unwrap();
    scene.assert_recovered(&app).await;
    app.stop().await;
}

/// Makes the portal's database read-only, or writable again.
///
/// SQLite: `query_only` on every connection of the portal's pool: each write then fails with
/// SQLITE_READONLY, exactly as when the database file or its file system has become read-only (a
/// running tmpfs cannot be remounted read-only while the database is open for writing, so the
/// error is produced at the SQLite level). Only the portal's own connections can be reached so.
///
/// PostgreSQL: the database's `default_transaction_read_only`, then every other session on it
/// ended, so the portal's pool comes back with new connections, which take the setting: each
/// write then fails with `read_only_sql_transaction` (25006), as on a standby server.
async fn set_read_only(app: &TestApp, on: bool) {
    match app.engine() {
        Engine::Sqlite => set_sqlite_query_only(app.store().sqlite(), on).await,
        Engine::Postgres => {
            let database: String = sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)")
                .fetch_one(app.pool())
                .await
                .unwrap();
            let setting = if on { "on" } else { "off" };
            sqlx::query(&format!(
                "ALTER DATABASE {database} SET default_transaction_read_only = {setting}"
            ))
            .execute(app.pool())
            .await
            .unwrap();
            sqlx::query(
                "SELECT CAST(COUNT(pg_terminate_backend(pid)) AS BIGINT) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .execute(app.pool())
            .await
            .unwrap();
        }
    }
}

async fn set_sqlite_query_only(pool: &sqlx::SqlitePool, on: bool) {
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        let mut connection = pool.acquire().await.unwrap();
        let pragma = if on {
            "PRAGMA query_only = ON"
        } else {
            "PRAGMA query_only = OFF"
        };
        sqlx::query(pragma).execute(&mut *connection).await.unwrap();
        held.push(connection);
    }
}

#[tokio::test]
async fn a_read_only_database_gives_503_and_the_portal_recovers_when_it_is_writable_again() {
    let app = TestApp::spawn().await;
    let scene = Scene::new(&app).await;
    set_read_only(&app, true).await;
    scene.assert_writes_get_503(&app, "read-only").await;
    set_read_only(&app, false).await;
    scene.assert_recovered(&app).await;
}

#[test]
fn starting_on_a_read_only_data_directory_fails_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    // Make a database first, then see the directory read-only through a bind mount.
    let created = common::portal_command(data.path())
        .args(["clinic", "add", "--code", CLINIC_A, "--name", "さくら"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let view = tempfile::tempdir().unwrap();
    if !mount(&["--bind", &data.path().display().to_string()], view.path()) {
        eprintln!("skipped: a read-only bind mount needs root (CI runs this test as root)");
        return;
    }
    let remounted = mount(&["-o", "remount,ro,bind"], view.path());
    // The same database (on PostgreSQL it is keyed by the data directory, not by this view of it).
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg("--data-dir")
        .arg(view.path())
        .envs(common::portal_env(data.path()))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    let _ = std::process::Command::new("umount").arg("-l").arg(view.path()).status();
    assert!(remounted, "remount read-only");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("cannot be written"), "{stderr}");
    assert!(stderr.to_lowercase().contains("read-only"), "{stderr}");
}
