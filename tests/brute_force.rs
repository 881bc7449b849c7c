//! Parallel guessing from many addresses: how many guesses actually get checked. Passwords: the
//! account's free attempts and what its doubling delay lets through meanwhile, no more; passcodes: ten per generation across the clinic, no more.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{TestApp, other_code};
use portal::domain::Role;
use reqwest::StatusCode;

/// A browser-like client whose connections come from 127.0.0.`n`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

/// The CSRF token of the form on `path`, as this client's browser session sees it.
async fn form_token(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let page = client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_parallel_password_attack_from_many_addresses_is_held_to_the_account_limit() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let started = std::time::Instant::now();
    let mut attacks = Vec::new();
    for n in 2..12u8 {
        for _ in 0..6 {
            let client = client_from(n);
            let url = app.url("/login");
            attacks.push(tokio::spawn(async move {
                let page = client.get(&url).send().await.unwrap().text().await.unwrap();
                let csrf = page
                    .split("name=\"csrf\" value=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned();
                let guess = [
                    ("csrf", csrf.as_str()),
                    ("email", "operator@installer.jp"),
                    ("password", "guess guess guess"),
                ];
                client.post(&url).form(&guess).send().await.unwrap().status()
            }));
        }
    }
    let mut statuses = Vec::new();
    for attack in attacks {
        statuses.push(attack.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let checked = app.audit_count("sign_in.failed").await;
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(statuses.len(), 60);
    // Three free guesses, then one more after each doubling delay (1 s, 2 s, 4 s, …) that has
    // fully passed while the attack ran: a slow machine may legitimately let one or two more in.
    let allowed = 3 + (1..).take_while(|k| f64::from((1u32 << k) - 1) <= elapsed).count();
    assert!(
        checked as usize <= allowed,
        "{checked} of 60 parallel guesses reached the password check in {elapsed:.1} s (allowed {allowed})"
    );
    // Each address sent 6 guesses, under its own limit of 10 free failures: every refusal came
    // from the per-account limit, which an attacker cannot escape by changing address.
    assert_eq!(checked as usize + throttled, 60);
}

#[tokio::test]
async fn a_parallel_passcode_attack_through_many_readers_gets_ten_guesses_at_most() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let code = app.issue_passcode(a).await;
    let mut readers = Vec::new();
    for i in 0..4 {
        readers.push(app.add_reader(a, &format!("受付{i}")).await);
    }
    let mut guesses = Vec::new();
    for (i, token) in readers.iter().enumerate() {
        for g in 0..30u32 {
            let reader = app.reader(token);
            // Distinct wrong codes, never the right one.
            let mut guess = format!("{:04}", (i as u32 * 1000 + g * 7) % 10_000);
            if guess == code {
                guess = other_code(&code);
            }
            guesses.push(tokio::spawn(async move { reader.verify(&guess).await.status() }));
        }
    }
    for guess in guesses {
        let status = guess.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    let checked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM passcode_attempts WHERE result IN ('rejected', 'accepted')")
            .fetch_one(app.pool())
            .await
            .unwrap();
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcode_attempts")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(
        checked <= 10,
        "{checked} of 120 parallel guesses were checked against the code"
    );
    // Every checked code is recorded; refusals that checked nothing once a minute per reader
    // and kind (locked, disabled).
    assert!(
        recorded >= checked && recorded <= checked + 4 * 2,
        "{recorded} rows for {checked} checked"
    );
    // The generation is disabled: the right code no longer works until a new one is issued.
    let answer: serde_json::Value = app
        .reader(&readers[0])
        .verify(&code)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_ne!(answer["ok"], true);
}

#[tokio::test]
async fn throttled_sign_ins_with_huge_addresses_add_a_bounded_amount_to_the_audit_log() {
    let app = TestApp::spawn().await;
    let huge = format!("{}@example.jp", "x".repeat(50_000));
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let csrf = form_token(&client, &app, "/login").await;
    let mut throttled = 0;
    for _ in 0..300 {
        let answer = client
            .post(app.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", huge.as_str()),
                ("password", "guess guess guess"),
            ])
            .send()
            .await
            .unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    assert!(throttled > 250, "{throttled} of 300 were throttled");
    let (rows, bytes): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(length(detail)), 0) AS BIGINT) FROM audit_log")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert!(rows <= 20, "{rows} audit rows for 300 attempts from one address");
    assert!(bytes <= 20 * 1_100, "{bytes} bytes of audit detail");
    let longest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(length(key)), 0) FROM login_failures")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(longest <= 300, "throttling keys are bounded too: {longest}");
}

/// The database's size in bytes: on SQLite its used pages, with the write-ahead log folded in
/// first; on PostgreSQL the portal's own tables with their indexes and TOAST (objects made after
/// initdb, so not the catalogs, which statistics runs grow by themselves).
async fn database_bytes(app: &TestApp) -> i64 {
    let pool = app.pool();
    match app.engine() {
        common::Engine::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .unwrap();
            let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(pool).await.unwrap();
            let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
                .fetch_one(pool)
                .await
                .unwrap();
            let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(pool).await.unwrap();
            (pages - free) * size
        }
        common::Engine::Postgres => sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(pg_total_relation_size(oid)), 0) AS BIGINT) FROM pg_class
             WHERE oid >= 16384 AND relkind IN ('r', 'm')",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
    }
}

#[tokio::test]
async fn what_strangers_send_grows_the_database_by_well_under_two_megabytes() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let before = database_bytes(&app).await;

    // 300 throttled sign-ins with 50 KB addresses, from one browser.
    let huge = format!("{}@example.jp", "y".repeat(50_000));
    let browser = client_from(1);
    let csrf = form_token(&browser, &app, "/login").await;
    for _ in 0..300 {
        browser
            .post(app.url("/login"))
            .form(&[("csrf", csrf.as_str()), ("email", huge.as_str()), ("password", "guess")])
            .send()
            .await
            .unwrap();
    }
    // 300 guide views: half by a browser keeping its cookies (a real walk), half by a client
    // that keeps none; then 300 other anonymous page views.
    let steps = ["A-1", "B-1", "B-3", "C-1", "C-2", "D-1"];
    let walker = client_from(2);
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for i in 0..150 {
        let step = steps[i % steps.len()];
        let path = steps[..i % steps.len()].join(",");
        for client in [&walker, &plain] {
            let answer = client
                .get(app.url(&format!("/guide/mokushi/{step}?path={path}")))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::OK);
        }
    }
    for i in 0..300 {
        let path = ["/", "/login", "/guide", "/guide/mokushi/print", "/no-such-page"][i % 5];
        plain.get(app.url(path)).send().await.unwrap();
    }

    // Looking at pages made no session; the walk left a few rows only.
    let sessions: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", app.sessions_table()))
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(sessions, 0, "anonymous views and failed sign-ins create no session");
    let walks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guide_journeys")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(walks <= 30, "{walks} walks for one browser and one cookie-less client");
    let grown = database_bytes(&app).await - before;
    eprintln!("grown by {grown} bytes ({walks} walks)");
    assert!(grown < 500_000, "the database grew by {grown} bytes");
}

#[tokio::test]
async fn a_reader_that_knows_the_code_adds_one_row_a_minute() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付").await;
    let code = app.issue_passcode(a).await;
    let reader = app.reader(&token);
    for _ in 0..60 {
        assert_eq!(reader.verify(&code).await.status(), StatusCode::OK);
    }
    let (rows, answers): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(count) AS BIGINT) FROM passcode_attempts WHERE result = 'accepted'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(answers, 60, "every answer is counted");
    assert!(rows <= 2, "{rows} rows for 60 answers");
    // A wrong code is still a row of its own, shown on the clinic's page with the count.
    reader.verify(&other_code(&code)).await;
    reader.verify(&other_code(&code)).await;
    let wrong: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcode_attempts WHERE result = 'rejected'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(wrong, 2);
    let admin = common::Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let page = admin.get(&format!("/clinics/{}", common::CLINIC_A)).await;
    assert!(page.body.contains("（1分間に"), "{}", page.body);
}

#[tokio::test]
async fn old_passcode_answers_are_deleted_after_the_retention_period() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付").await;
    let code = app.issue_passcode(a).await;
    app.reader(&token).verify(&other_code(&code)).await;
    app.reader(&token).verify(&code).await;
    sqlx::query("UPDATE passcode_attempts SET at = at - $1 WHERE result = 'rejected'")
        .bind(portal::ATTEMPT_RETENTION_S + 60)
        .execute(app.pool())
        .await
        .unwrap();
    portal::housekeeping(&app.state, &portal::db::session_store(app.store()).await.unwrap()).await;
    let left: Vec<String> = sqlx::query_scalar("SELECT result FROM passcode_attempts")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(left, ["accepted"]);
}

/// Signs in through the form as a browser would; returns the answer's status.
async fn sign_in(client: &reqwest::Client, app: &TestApp, email: &str, password: &str) -> StatusCode {
    let csrf = form_token(client, app, "/login").await;
    client
        .post(app.url("/login"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn sign_out(client: &reqwest::Client, app: &TestApp) {
    let csrf = form_token(client, app, "/account/password").await;
    let out = client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn strangers_guessing_at_an_account_cannot_keep_its_owner_out_of_a_browser_used_before() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let email = "admin-a@clinic-a.jp";
    let own = client_from(10);
    assert_eq!(
        sign_in(&own, &app, email, common::PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    sign_out(&own, &app).await;

    // Strangers, each from an address of their own, guess until the account is held back.
    let mut held = false;
    for n in 20..40 {
        if sign_in(&client_from(n), &app, email, "wrong guess").await == StatusCode::TOO_MANY_REQUESTS {
            held = true;
            break;
        }
    }
    assert!(held, "unknown browsers are throttled per account");
    // A new browser with the right password is held back too, as before...
    assert_eq!(
        sign_in(&client_from(50), &app, email, common::PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...but the browser the owner signed in from before gets in at once.
    assert_eq!(
        sign_in(&own, &app, email, common::PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    sign_out(&own, &app).await;

    // The known browser has an allowance of its own: its typos are throttled too, and do not
    // count against the account.
    let mut typos = 0;
    while sign_in(&own, &app, email, "typo").await == StatusCode::UNAUTHORIZED {
        typos += 1;
        assert!(typos <= 5, "a known browser's free failures are bounded");
    }
    assert_eq!(typos, 5, "five free failures for a known browser");
}

#[tokio::test]
async fn a_device_cookie_stops_counting_after_a_password_change_or_when_forged() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let email = "admin-a@clinic-a.jp";
    let own = client_from(11);
    assert_eq!(
        sign_in(&own, &app, email, common::PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    sign_out(&own, &app).await;
    // The password is reset elsewhere (an operator, the command line): the generation moves on.
    sqlx::query("UPDATE users SET session_generation = session_generation + 1 WHERE email = $1")
        .bind(email)
        .execute(app.pool())
        .await
        .unwrap();
    for n in 60..80 {
        if sign_in(&client_from(n), &app, email, "wrong guess").await == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(
        sign_in(&own, &app, email, common::PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the old cookie no longer vouches for the account"
    );
    // A cookie made up by a stranger is no better than none.
    let forger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 90)))
        .build()
        .unwrap();
    let form = forger.get(app.url("/login")).send().await.unwrap();
    let visitor = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portal_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let csrf = visitor.trim_start_matches("portal_csrf=").to_owned();
    let forged = format!("{visitor}; portal_device=3.1.{}.{}", "ab".repeat(16), "00".repeat(32));
    let answer = forger
        .post(app.url("/login"))
        .header("cookie", forged)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
}
