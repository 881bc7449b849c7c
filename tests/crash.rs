//! SIGKILL in the middle of rotations and verifications, several times over: the data stays
//! consistent, sessions survive, and readers are back in sync without anyone doing anything.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Browser, CLINIC_A};
use reqwest::StatusCode;
use serde_json::Value;

fn portal(data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = common::portal_command(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

fn start(data: &Path, addr: std::net::SocketAddr) -> Child {
    common::portal_command(data)
        .args(["serve", "--addr", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(addr: std::net::SocketAddr) {
    for _ in 0..200 {
        if reqwest::get(format!("http://{addr}/readyz"))
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the portal did not come up");
}

#[tokio::test]
async fn killing_the_portal_mid_rotation_leaves_consistent_data_and_readers_resync() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    portal(data, &["clinic", "add", "--code", CLINIC_A, "--name", "さくら"], None);
    portal(
        data,
        &[
            "user",
            "add",
            "--email",
            "admin@clinic-a.jp",
            "--role",
            "clinic-admin",
            "--clinic",
            CLINIC_A,
        ],
        Some("a long enough password\n"),
    );
    let token = portal(data, &["reader", "add", "--clinic", CLINIC_A, "--name", "受付1"], None);
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };

    let mut server = start(data, addr);
    wait_ready(addr).await;
    let admin = Browser::new(addr);
    assert_eq!(
        admin.login("admin@clinic-a.jp", "a long enough password").await.status,
        StatusCode::SEE_OTHER
    );
    let reader = common::ReaderClient {
        addr,
        token: token.clone(),
        http: reqwest::Client::new(),
    };

    for round in 0..4 {
        // Rotations and verifications in flight…
        let confirm = format!("/clinics/{CLINIC_A}/passcode/issue");
        let csrf = admin.get(&confirm).await.csrf();
        let issuing = {
            let http = admin.http.clone();
            let csrf = csrf.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    let _ = http
                        .post(format!("http://{addr}/clinics/{CLINIC_A}/passcode"))
                        .form(&[("csrf", csrf.as_str())])
                        .send()
                        .await;
                }
            })
        };
        let verifying = {
            let http = reader.http.clone();
            let token = token.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    let _ = http
                        .post(format!("http://{addr}/api/v1/reader/verify"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({"passcode": "0000"}))
                        .send()
                        .await;
                }
            })
        };
        // …and the process dies without any warning.
        tokio::time::sleep(Duration::from_millis(150 + 120 * round)).await;
        server.kill().unwrap();
        server.wait().unwrap();
        issuing.abort();
        verifying.abort();

        server = start(data, addr);
        wait_ready(addr).await;

        let url = common::database_url(data);
        let store = portal::db::connect(&url).await.unwrap();
        let pool = common::any_pool(&url);
        // A killed PostgreSQL client only ends its session; a killed SQLite writer could tear the file.
        if common::engine() == common::Engine::Sqlite {
            let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(integrity, "ok", "round {round}");
        }
        let current: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcodes WHERE superseded_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
        let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcodes")
            .fetch_one(&pool)
            .await
            .unwrap();
        let generation: i64 = sqlx::query_scalar("SELECT passcode_generation FROM clinics")
            .fetch_one(&pool)
            .await
            .unwrap();
        let audited: i64 = portal::db::audit::count_action(&store, "passcode.issued")
            .await
            .unwrap();
        assert_eq!(
            current,
            i64::from(issued > 0),
            "round {round}: exactly one current generation"
        );
        assert_eq!(generation, issued, "round {round}: the counter matches the rows");
        assert_eq!(
            audited, issued,
            "round {round}: every committed issue has its audit entry"
        );
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcode_attempts")
            .fetch_one(&pool)
            .await
            .unwrap();
        eprintln!("round {round}: {issued} issued, {attempts} attempts recorded");
        pool.close().await;
        store.close().await;

        // The same browser session still works, and the reader sees the committed generation.
        let page = admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
        assert_eq!(page.status, StatusCode::OK, "round {round}: the session survived");
        let state: Value = reader.poll(None).await.json().await.unwrap();
        assert_eq!(state["generation"], generation, "round {round}: the reader is in sync");
    }
    server.kill().unwrap();
    let _ = server.wait();
}
