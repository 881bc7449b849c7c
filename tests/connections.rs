//! The connection cap, over real TCP: beyond it a few connections serve only health checks and
//! the rest get a quick 503, and long-polls at their cap leave room for health checks.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use portal::limits::HEALTH_RESERVE;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A portal serving at most `connections` connections; idle ones are not cut off during a test.
async fn app_with_connections(connections: usize) -> TestApp {
    TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| {
        c.max_connections = Some(connections);
        c.header_read_timeout_s = 60;
    })
    .await
}

/// Opens `n` connections that send nothing. The server accepts in order, so once a later
/// connection is answered these have taken their places.
async fn idle_connections(app: &TestApp, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for _ in 0..n {
        streams.push(TcpStream::connect(app.addr).await.unwrap());
    }
    streams
}

/// One `GET` on a new connection; the whole answer as text ("" if the server just closed).
/// The bound is a hang guard for answers that must come at once.
async fn get(app: &TestApp, path: &str) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(app.addr).await?;
        let head = format!("GET {path} HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .expect("answered within 2 s, not left waiting")
        .unwrap_or_default()
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn assert_busy(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    let retry: u64 = header(answer, "retry-after").expect("Retry-After").parse().unwrap();
    assert!((5..=15).contains(&retry), "Retry-After {retry}");
    assert_eq!(header(answer, "connection"), Some("close"));
    assert!(answer.contains("\"error\":\"too_many_connections\""), "{answer:?}");
}

#[tokio::test]
async fn beyond_the_connection_cap_and_its_health_reserve_a_new_connection_gets_503_at_once() {
    let app = app_with_connections(4).await;
    let mut held = idle_connections(&app, 4 + HEALTH_RESERVE).await;

    assert_busy(&get(&app, "/healthz").await);
    assert_busy(&get(&app, "/login").await);

    // Room comes back when served connections close (the first four): a request works again.
    held.drain(..2);
    let started = Instant::now();
    let answer = loop {
        let answer = get(&app, "/api/v1/openapi.json").await;
        if answer.starts_with("HTTP/1.1 200") || started.elapsed() > Duration::from_secs(10) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    drop(held);
}

#[tokio::test]
async fn health_checks_are_answered_from_the_reserve_when_every_connection_is_taken() {
    let app = app_with_connections(4).await;
    let _held = idle_connections(&app, 4).await;

    let health = get(&app, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health:?}");
    let ready = get(&app, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready:?}");
    // The reserve serves nothing else.
    assert_busy(&get(&app, "/login").await);
    assert_busy(&get(&app, "/api/v1/reader/passcode").await);
}

#[tokio::test]
async fn with_long_polls_at_their_cap_health_checks_still_answer() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| {
        c.max_connections = Some(4);
        c.max_long_polls = 100;
    })
    .await;
    assert_eq!(
        app.state.caps.max_long_polls, 3,
        "long-polls are clamped below the connections"
    );
    let (a, _) = app.with_two_clinics().await;
    app.issue_passcode(a).await;
    // Read from memory, so that the long-polls below are the only connections.
    let etag = app.state.live.current(a).unwrap().etag().to_str().unwrap().to_owned();
    let mut polls = tokio::task::JoinSet::new();
    for n in 0..3 {
        let request = app
            .reader(&app.add_reader(a, &format!("受付{n}")).await)
            .poll_request(Some(&etag), Some(60));
        polls.spawn(async move { request.send().await.unwrap().status() });
    }
    app.held_long_polls(3).await;

    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(polls.len(), 3, "the long-polls are still held");
    polls.abort_all();
}

#[tokio::test]
async fn the_portal_starts_with_caps_that_fit_under_its_open_file_limit() {
    let app = TestApp::spawn().await;
    let caps = app.state.caps;
    let soft = soft_open_file_limit();
    assert!(
        (caps.max_connections + caps.margin) as u64 <= soft,
        "{caps:?} under {soft}"
    );
    assert!(caps.max_long_polls < caps.max_connections);
}

/// The process's soft open-file limit now (after the portal raised it), as Linux reports it.
fn soft_open_file_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(u64::MAX)
}
