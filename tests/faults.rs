//! Faults: a database that cannot be written answers 503 (page or JSON) instead of 500, the
//! reader poll keeps working from memory, and everything recovers when the cause goes away.

mod common;

use std::str::FromStr;

use common::{Browser, CLINIC_A, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;

#[tokio::test]
async fn a_locked_database_gives_503_and_the_portal_recovers_when_it_is_released() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    let code = app.issue_passcode(a).await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let confirm = format!("/clinics/{CLINIC_A}/passcode/issue");
    let csrf = admin.get(&confirm).await.csrf();

    // Another process takes SQLite's write lock and keeps it.
    let url = format!("sqlite://{}", app.dir.path().join("portal.db").display());
    let mut locker = sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut locker).await.unwrap();

    let page = admin
        .post(&format!("/clinics/{CLINIC_A}/passcode"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body);
    assert!(page.body.contains("一時的にご利用いただけません"));
    assert!(page.headers.get("retry-after").is_some());
    let verify = app.reader(&token).verify(&code).await;
    assert_eq!(verify.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(verify.json::<Value>().await.unwrap()["error"], "unavailable");
    // Polls are served from memory, so readers keep their state.
    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::OK);
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );

    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    let answer: Value = app.reader(&token).verify(&code).await.json().await.unwrap();
    assert_eq!(answer["ok"], true, "works again once the lock is gone");
    let issued = admin
        .post(&format!("/clinics/{CLINIC_A}/passcode"), &[("csrf", &csrf)])
        .await;
    assert_eq!(issued.status, StatusCode::OK);
    // Nothing half-written: still exactly one current generation.
    let current: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcodes WHERE superseded_at IS NULL")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(current, 1);
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
