//! A reference card-reader client (`portal reader-sim`): what a reader's firmware should do
//! against the reader API, and a fleet of them for load and fan-out measurements.
//!
//! Behaviour (see docs/reader-api.md): long-poll with the last ETag; on 503/429 wait the
//! `Retry-After`; on errors or while the server is down back off exponentially (1 s doubling to
//! 60 s) with full jitter, and resume by itself when the server is back.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;

#[derive(Args, Debug)]
pub struct SimArgs {
    /// The portal's base URL.
    #[arg(long, env = "PORTAL_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Seconds each long-poll may be held (1–60).
    #[arg(long, default_value_t = 30)]
    pub wait: u64,
    #[command(subcommand)]
    pub mode: SimMode,
}

#[derive(Subcommand, Debug)]
pub enum SimMode {
    /// One reader: follows the passcode state and lets you type codes as staff would.
    One {
        /// The reader's device token (or set PORTAL_READER_TOKEN).
        #[arg(long, env = "PORTAL_READER_TOKEN")]
        token: String,
    },
    /// Many readers in one process (one token per line in the file); reports how fast each
    /// passcode change reached all of them.
    Fleet {
        #[arg(long)]
        tokens_file: std::path::PathBuf,
        /// A shell command that rotates a passcode (e.g. `portal passcode issue --clinic …`),
        /// run this many times; the fan-out is measured from each command's start.
        #[arg(long)]
        rotate_cmd: Option<String>,
        #[arg(long, default_value_t = 3)]
        rotations: u32,
        /// Seconds to let every reader park its long-poll before rotating.
        #[arg(long, default_value_t = 5)]
        settle_s: u64,
    },
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PasscodeState {
    pub generation: i64,
    pub active: bool,
    pub poll_after_s: u64,
}

/// One poll's outcome, as the loop acts on it.
enum Polled {
    Changed(PasscodeState, String),
    Unchanged,
    RetryAfter(Duration),
}

fn jitter(max: Duration) -> Duration {
    let mut byte = [0u8; 2];
    let fraction = if getrandom::fill(&mut byte).is_ok() {
        f64::from(u16::from_le_bytes(byte)) / 65_535.0
    } else {
        0.5
    };
    max.mul_f64(fraction)
}

fn retry_after(response: &reqwest::Response) -> Duration {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(5);
    Duration::from_secs(seconds.clamp(1, 3600))
}

async fn poll(http: &reqwest::Client, url: &str, token: &str, etag: Option<&str>, wait: u64) -> anyhow::Result<Polled> {
    let mut request = http.get(format!("{url}/api/v1/reader/passcode")).bearer_auth(token);
    if let Some(etag) = etag {
        request = request
            .query(&[("wait", wait)])
            .header(reqwest::header::IF_NONE_MATCH, etag);
    }
    let response = request.timeout(Duration::from_secs(wait + 15)).send().await?;
    match response.status() {
        StatusCode::OK => {
            let etag = response
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            Ok(Polled::Changed(response.json().await?, etag))
        }
        StatusCode::NOT_MODIFIED => Ok(Polled::Unchanged),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
            Ok(Polled::RetryAfter(retry_after(&response)))
        }
        StatusCode::UNAUTHORIZED => bail!("the device token was refused (revoked or unknown): re-enroll this reader"),
        other => bail!("unexpected answer {other}"),
    }
}

/// Follows the clinic's passcode state for ever, calling `on_change` with each new state.
async fn follow(
    http: reqwest::Client,
    url: String,
    token: String,
    wait: u64,
    mut on_change: impl FnMut(&PasscodeState),
    mut on_trouble: impl FnMut(&str, Duration),
) -> anyhow::Result<()> {
    let mut etag: Option<String> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        match poll(&http, &url, &token, etag.as_deref(), wait).await {
            Ok(Polled::Changed(state, new_etag)) => {
                backoff = Duration::from_secs(1);
                on_change(&state);
                etag = Some(new_etag);
            }
            Ok(Polled::Unchanged) => backoff = Duration::from_secs(1),
            Ok(Polled::RetryAfter(pause)) => {
                let pause = pause + jitter(Duration::from_secs(2));
                on_trouble("the server asked to wait", pause);
                tokio::time::sleep(pause).await;
            }
            Err(e) if e.to_string().contains("device token was refused") => return Err(e),
            Err(e) => {
                let pause = jitter(backoff).max(Duration::from_millis(200));
                on_trouble(&format!("{e:#}"), pause);
                tokio::time::sleep(pause).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    if !(1..=60).contains(&args.wait) {
        bail!("--wait must be 1 to 60 seconds");
    }
    let url = args.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder().pool_max_idle_per_host(20_000).build()?;
    match args.mode {
        SimMode::One { token } => one(http, url, token, args.wait).await,
        SimMode::Fleet {
            tokens_file,
            rotate_cmd,
            rotations,
            settle_s,
        } => {
            let tokens: Vec<String> = std::fs::read_to_string(&tokens_file)
                .with_context(|| format!("cannot read {}", tokens_file.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if tokens.is_empty() {
                bail!("{} holds no tokens", tokens_file.display());
            }
            fleet(http, url, tokens, args.wait, rotate_cmd, rotations, settle_s).await
        }
    }
}

#[derive(Deserialize)]
struct VerifyAnswer {
    ok: bool,
    reason: Option<String>,
    attempts_left: Option<i64>,
    retry_after_s: Option<u64>,
}

/// The 職員用ボタン flow in a terminal.
async fn one(http: reqwest::Client, url: String, token: String, wait: u64) -> anyhow::Result<()> {
    println!("reader simulator: following {url}. Type a 4-digit passcode and Enter to check it (Ctrl-D to quit).");
    let follower = tokio::spawn(follow(
        http.clone(),
        url.clone(),
        token.clone(),
        wait,
        |s| {
            let state = if s.active { "active" } else { "not active" };
            println!("[reader] passcode generation {} is {state}", s.generation);
        },
        |why, pause| eprintln!("[reader] {why}; retrying in {:.1} s", pause.as_secs_f64()),
    ));
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<String>(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    loop {
        print!("職員用ボタン > passcode: ");
        std::io::stdout().flush()?;
        let Some(line) = lines.recv().await else { break };
        let response = http
            .post(format!("{url}/api/v1/reader/verify"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "passcode": line.trim() }))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                println!(
                    "LOCKED: too many wrong codes; try again in {} s",
                    retry_after(&r).as_secs()
                );
            }
            Ok(r) if r.status() == StatusCode::BAD_REQUEST => println!("REFUSED: enter exactly four digits"),
            Ok(r) if r.status().is_success() => {
                let answer: VerifyAnswer = r.json().await?;
                match (answer.ok, answer.reason.as_deref()) {
                    (true, _) => println!("ACCEPTED: check the card photo by eye, then continue"),
                    (false, Some("passcode_disabled")) => {
                        println!("REFUSED: the passcode is disabled; the clinic admin must issue a new one")
                    }
                    (false, Some("no_passcode")) => println!("REFUSED: no passcode has been issued yet"),
                    (false, _) => match answer.retry_after_s {
                        Some(s) => println!("WRONG: reader locked for {s} s"),
                        None => println!("WRONG: {} attempts left", answer.attempts_left.unwrap_or(0)),
                    },
                }
            }
            Ok(r) => println!("ERROR: the server answered {}", r.status()),
            Err(e) => println!("ERROR: cannot reach the server ({e})"),
        }
    }
    follower.abort();
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Observation {
    generation: i64,
    at: Instant,
}

#[allow(clippy::too_many_arguments)]
async fn fleet(
    http: reqwest::Client,
    url: String,
    tokens: Vec<String>,
    wait: u64,
    rotate_cmd: Option<String>,
    rotations: u32,
    settle_s: u64,
) -> anyhow::Result<()> {
    let readers = tokens.len();
    let seen: Arc<Mutex<Vec<Observation>>> = Arc::default();
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(readers);
    for token in tokens {
        let seen = Arc::clone(&seen);
        let failures = Arc::clone(&failures);
        let (http, url) = (http.clone(), url.clone());
        // Spread the start so the first polls do not arrive in one burst.
        let delay = jitter(Duration::from_millis(2_000));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
            let record = tokio::spawn(async move {
                while let Some(generation) = rx.recv().await {
                    seen.lock().await.push(Observation {
                        generation,
                        at: Instant::now(),
                    });
                }
            });
            let result = follow(
                http,
                url,
                token,
                wait,
                move |s| {
                    let _ = tx.send(s.generation);
                },
                move |_, _| {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                },
            )
            .await;
            record.abort();
            result
        }));
    }
    println!("fleet: {readers} readers following {url} (long-poll wait {wait} s)");
    tokio::time::sleep(Duration::from_secs(settle_s)).await;
    let Some(command) = rotate_cmd else {
        println!("no --rotate-cmd: watching only; Ctrl-C to stop");
        futures_wait(tasks).await;
        return Ok(());
    };
    let mut rows = Vec::new();
    for round in 1..=rotations {
        let before = seen.lock().await.len();
        let started = Instant::now();
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .stdout(std::process::Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("the rotate command failed ({status})");
        }
        // Wait for every reader to report the new generation (or give up after 30 s).
        let deadline = started + Duration::from_secs(30);
        let latencies = loop {
            let observations = seen.lock().await;
            let new: Vec<&Observation> = observations[before..].iter().collect();
            let newest = new.iter().map(|o| o.generation).max();
            let arrived: Vec<Duration> = new
                .iter()
                .filter(|o| Some(o.generation) == newest)
                .map(|o| o.at.saturating_duration_since(started))
                .collect();
            if arrived.len() >= readers || Instant::now() > deadline {
                break arrived;
            }
            drop(observations);
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut sorted = latencies.clone();
        sorted.sort();
        let line = format!(
            "rotation {round}: {}/{readers} readers updated; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms after the command started",
            sorted.len(),
            percentile(&sorted, 0.5).as_secs_f64() * 1000.0,
            percentile(&sorted, 0.99).as_secs_f64() * 1000.0,
            sorted.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
        );
        println!("{line}");
        rows.push(sorted.len() == readers);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!(
        "fleet done: {} of {rotations} rotations reached every reader; {} failed requests",
        rows.iter().filter(|r| **r).count(),
        failures.load(std::sync::atomic::Ordering::Relaxed)
    );
    for task in tasks {
        task.abort();
    }
    Ok(())
}

async fn futures_wait(tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>) {
    for task in tasks {
        match task.await {
            Ok(Err(e)) => eprintln!("reader stopped: {e:#}"),
            Err(e) => eprintln!("reader task failed: {e}"),
            Ok(Ok(())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_secs(4)) <= Duration::from_secs(4));
        }
    }
}
