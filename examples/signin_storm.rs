//! Benchmark client (used by bench/storm.sh): a sign-in storm from many client addresses.
//! `accounts` tasks sign in again and again with the right password, each as its own account
//! (`storm{i}@clinic.jp`) from its own address 127.0.0.(10+i): argon2 work no throttle stops.
//! As many more try made-up accounts from addresses 127.0.0.(120+i), a new e-mail address each
//! time (a dummy argon2 verify each) until their address is throttled. Every attempt is a full
//! browser round: GET /login (a new session and CSRF token), then POST /login.
//!
//! cargo run --release --example signin_storm -- <port> <accounts> <password> <seconds>

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

async fn attempt(port: u16, from: u8, email: &str, password: &str) -> anyhow::Result<StatusCode> {
    // A fresh cookie jar per attempt: a new visitor each time, as a storm would be.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)))
        .build()?;
    let url = format!("http://127.0.0.1:{port}/login");
    let page = http.get(&url).send().await?.text().await?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let form = [("csrf", csrf.as_str()), ("email", email), ("password", password)];
    Ok(http.post(&url).form(&form).send().await?.status())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, accounts, password, seconds] = args.as_slice() else {
        anyhow::bail!("usage: signin_storm <port> <accounts> <password> <seconds>");
    };
    let port: u16 = port.parse()?;
    let accounts: u8 = accounts.parse()?;
    anyhow::ensure!((1..=100).contains(&accounts), "1 to 100 accounts");
    let deadline = Instant::now() + Duration::from_secs(seconds.parse()?);

    let mut tasks = Vec::new();
    for i in 0..accounts {
        for right in [true, false] {
            let password = if right {
                password.clone()
            } else {
                "wrong guess wrong guess".to_owned()
            };
            let from = if right { 10 + i } else { 120 + i };
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut throttled, mut refused, mut other) = (0u64, 0u64, 0u64, 0u64);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let email = if right {
                        format!("storm{i}@clinic.jp")
                    } else {
                        format!("nobody{i}-{n}@clinic.jp")
                    };
                    match attempt(port, from, &email, &password).await {
                        Ok(StatusCode::SEE_OTHER) => ok += 1,
                        Ok(StatusCode::TOO_MANY_REQUESTS) => throttled += 1,
                        Ok(StatusCode::UNAUTHORIZED) => refused += 1,
                        _ => other += 1,
                    }
                }
                (ok, throttled, refused, other)
            }));
        }
    }
    let (mut ok, mut throttled, mut refused, mut other) = (0, 0, 0, 0);
    for task in tasks {
        let (o, t, r, x) = task.await?;
        ok += o;
        throttled += t;
        refused += r;
        other += x;
    }
    println!(
        "sign-in storm: {ok} signed in, {refused} wrong passwords checked, {throttled} throttled (429), {other} other"
    );
    Ok(())
}
