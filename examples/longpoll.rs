//! Benchmark client (used by bench/poll.sh): holds N long-polls on one clinic, rotates its
//! passcode through the web UI as the clinic admin, and prints how long each held poll took
//! to see the new generation.
//!
//! cargo run --release --example longpoll -- <addr> <token or @tokens-file> <email> <password> <clinic> <n>
//!
//! A reader holds at most two long-polls, so N held polls need N/2 readers or more: with a
//! tokens file (one device token of the clinic per line) the polls take its tokens in turn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

#[path = "support/forms.rs"]
mod forms;
use forms::hidden_of;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, token, email, password, clinic, n] = args.as_slice() else {
        anyhow::bail!("usage: longpoll <addr> <token> <email> <password> <clinic> <n>");
    };
    let n: usize = n.parse()?;
    let tokens: Vec<String> = match token.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)?
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![token.clone()],
    };
    anyhow::ensure!(!tokens.is_empty(), "no tokens");
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(n + 10).build()?;

    let first = http
        .get(format!("{base}/api/v1/reader/passcode"))
        .bearer_auth(&tokens[0])
        .send()
        .await?;
    let etag = first
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();

    let start_gate = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut waiting = Vec::with_capacity(n);
    for i in 0..n {
        let http = http.clone();
        let token = tokens[i % tokens.len()].clone();
        let (base, etag, gate) = (base.clone(), etag.clone(), Arc::clone(&start_gate));
        waiting.push(tokio::spawn(async move {
            let request = http
                .get(format!("{base}/api/v1/reader/passcode?wait=60"))
                .bearer_auth(&token)
                .header("if-none-match", &etag)
                .send();
            gate.wait().await;
            let response = request.await;
            (Instant::now(), response.map(|r| r.status()))
        }));
    }
    start_gate.wait().await;
    // Let every request reach the server and park.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let browser = reqwest::Client::builder().cookie_store(true).build()?;
    let login_page = browser.get(format!("{base}/login")).send().await?.text().await?;
    let csrf = hidden_of(&login_page, "csrf")?;
    browser
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email.as_str()),
            ("password", password.as_str()),
        ])
        .send()
        .await?;
    let confirm = browser
        .get(format!("{base}/clinics/{clinic}/passcode/issue"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = hidden_of(&confirm, "csrf")?;
    let issue_token = hidden_of(&confirm, "issue_token")?;
    let sent = Instant::now();
    let issued = browser
        .post(format!("{base}/clinics/{clinic}/passcode"))
        .form(&[("csrf", csrf.as_str()), ("issue_token", issue_token.as_str())])
        .send()
        .await?;
    let answered = Instant::now();
    anyhow::ensure!(issued.status() == StatusCode::OK, "issue failed: {}", issued.status());

    let mut latencies = Vec::with_capacity(n);
    let mut failed = 0;
    for task in waiting {
        match task.await? {
            (at, Ok(StatusCode::OK)) => latencies.push(at.saturating_duration_since(sent)),
            _ => failed += 1,
        }
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "long-polls held: {n}, woken with the new generation: {}, failed: {failed}",
        latencies.len()
    );
    println!(
        "issue request (argon2 hash + commit + fan-out): {:.1} ms",
        (answered - sent).as_secs_f64() * 1000.0
    );
    println!(
        "time from issue request to each reader's answer: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
