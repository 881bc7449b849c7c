//! Benchmark client for bench/replicas.sh: readers held on several portal processes, a rotation
//! made through one of them, and the wall-clock time at which each reader saw it. Processes
//! compare times through the system clock (all on one machine), so a holder per portal process
//! keeps each client within the open-file limit.
//!
//! replicas hold <addr> <tokens-file> <polls> <ramp-s> <deadline-s> <out-file>
//!     holds <polls> long-polls (wait=60, the clinic's current ETag) on <addr>, two per token of
//!     the file, opened over <ramp-s> seconds; each poll answered 304 is sent again; on its 200
//!     it writes "<unix ns> <generation>" to <out-file>. Ends when every poll has seen a new
//!     generation or at <deadline-s>, and prints what it counted.
//! replicas issue <addr> <email> <password> <clinic>
//!     signs in as the clinic's admin and issues its passcode through the web (confirm page,
//!     then its single-use form); prints "<sent unix ns> <answered unix ns>".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;

#[path = "support/forms.rs"]
mod forms;
use forms::hidden_of;

fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("hold") => {
            let [_, addr, tokens, polls, ramp_s, deadline_s, out] = args.as_slice() else {
                anyhow::bail!("usage: replicas hold <addr> <tokens-file> <polls> <ramp-s> <deadline-s> <out-file>");
            };
            hold(addr, tokens, polls.parse()?, ramp_s.parse()?, deadline_s.parse()?, out).await
        }
        Some("issue") => {
            let [_, addr, email, password, clinic] = args.as_slice() else {
                anyhow::bail!("usage: replicas issue <addr> <email> <password> <clinic>");
            };
            issue(addr, email, password, clinic).await
        }
        _ => anyhow::bail!("usage: replicas hold … | replicas issue …"),
    }
}

#[derive(Default)]
struct Counts {
    not_modified: AtomicU64,
    refused: AtomicU64,
    errors: AtomicU64,
    /// The first error, to say what the errors were.
    first_error: std::sync::Mutex<Option<String>>,
}

async fn hold(addr: &str, tokens: &str, polls: usize, ramp_s: f64, deadline_s: u64, out: &str) -> anyhow::Result<()> {
    let tokens: Vec<String> = std::fs::read_to_string(tokens)?
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!tokens.is_empty(), "no tokens");
    let url = format!("http://{addr}/api/v1/reader/passcode");
    // The portal closes a connection idle for 10 s: never send on one that old.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(polls + 10)
        .pool_idle_timeout(Duration::from_secs(5))
        .build()?;
    let first = http.get(&url).bearer_auth(&tokens[0]).send().await?;
    anyhow::ensure!(
        first.status() == StatusCode::OK,
        "first poll answered {}",
        first.status()
    );
    let etag = first
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();

    let counts = Arc::new(Counts::default());
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(u128, i64)>();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(deadline_s);
    for i in 0..polls {
        // Two polls per reader, the most a reader may hold.
        let token = tokens[(i / 2) % tokens.len()].clone();
        let (http, url, etag, counts, seen) =
            (http.clone(), url.clone(), etag.clone(), counts.clone(), seen_tx.clone());
        let start = Duration::from_secs_f64(ramp_s * i as f64 / polls as f64);
        tokio::spawn(async move {
            tokio::time::sleep(start).await;
            while tokio::time::Instant::now() < deadline {
                let answer = http
                    .get(&url)
                    .query(&[("wait", 60)])
                    .bearer_auth(&token)
                    .header("if-none-match", &etag)
                    .timeout(Duration::from_secs(75))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == StatusCode::OK => {
                        let at = unix_ns();
                        let generation = r
                            .json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|v| v["generation"].as_i64())
                            .unwrap_or(-1);
                        let _ = seen.send((at, generation));
                        return;
                    }
                    Ok(r) if r.status() == StatusCode::NOT_MODIFIED => {
                        counts.not_modified.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {
                        counts.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    other => {
                        if counts.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            let what = match other {
                                Ok(r) => format!("answer {}", r.status()),
                                Err(e) => format!("{e:?}"),
                            };
                            *counts.first_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
    drop(seen_tx);
    println!("holder {addr}: {polls} long-polls opening over {ramp_s} s");
    let mut seen = Vec::with_capacity(polls);
    while seen.len() < polls {
        match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
            Ok(Some(s)) => seen.push(s),
            Ok(None) | Err(_) => break,
        }
    }
    let lines: String = seen.iter().map(|(at, g)| format!("{at} {g}\n")).collect();
    std::fs::write(out, lines)?;
    println!(
        "holder {addr}: {} of {polls} saw a new generation; 304 answers {}, 503 answers {}, errors {}",
        seen.len(),
        counts.not_modified.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed)
    );
    if let Some(first) = counts.first_error.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        println!("holder {addr}: first error: {first}");
    }
    // Clock ticks this process has run (user + system), for the script's CPU accounting.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let ticks: u64 = stat
        .rsplit(')')
        .next()
        .map(|rest| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    println!("holder {addr}: cpu ticks {ticks}");
    // The polls still open end with the process.
    std::process::exit(0)
}

async fn issue(addr: &str, email: &str, password: &str, clinic: &str) -> anyhow::Result<()> {
    let base = format!("http://{addr}");
    let browser = reqwest::Client::builder().cookie_store(true).build()?;
    let login = browser.get(format!("{base}/login")).send().await?.text().await?;
    let signed_in = browser
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", hidden_of(&login, "csrf")?.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        signed_in.status().is_success(),
        "sign-in answered {}",
        signed_in.status()
    );
    let confirm = browser
        .get(format!("{base}/clinics/{clinic}/passcode/issue"))
        .send()
        .await?
        .text()
        .await?;
    let form = [
        ("csrf", hidden_of(&confirm, "csrf")?),
        ("issue_token", hidden_of(&confirm, "issue_token")?),
    ];
    let sent = unix_ns();
    let issued = browser
        .post(format!("{base}/clinics/{clinic}/passcode"))
        .form(&form)
        .send()
        .await?;
    let answered = unix_ns();
    anyhow::ensure!(issued.status() == StatusCode::OK, "issue answered {}", issued.status());
    anyhow::ensure!(
        issued.text().await?.contains("new-passcode"),
        "the issue page shows no code"
    );
    println!("{sent} {answered}");
    Ok(())
}
