//! 「パスワードをお忘れの方」 through a real SMTP server (aiosmtpd): the same answer whether or
//! not an account has the address, a single-use link valid 30 minutes, limits per account and
//! per client address, every session of the account ended, and a notice without any link.

mod common;
#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use smtp::{SmtpServer, free_port, token_of};

const PUBLIC_URL: &str = "http://portal.example.jp";
const ADMIN: &str = "admin-a@clinic-a.jp";
const NEW_PASSWORD: &str = "a brand new pass phrase";

async fn started() -> (SmtpServer, TestApp) {
    let smtp = SmtpServer::start(free_port()).await;
    let app = app_mailing_to(Some(smtp.port), |c| c.public_url = Some(PUBLIC_URL.to_owned())).await;
    app.with_two_clinics().await;
    (smtp, app)
}

async fn ask(browser: &Browser, email: &str) -> Page {
    browser
        .submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await
}

/// The page with its (per-browser) CSRF tokens left out, to compare answers.
fn without_tokens(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("name=\"csrf\" value=\"") {
        let start = at + "name=\"csrf\" value=\"".len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = &rest[rest.find('"').unwrap_or(0)..];
    }
    out.push_str(rest);
    out
}

/// Waits for the `n`-th mail to `to` and returns the token of its reset link.
async fn reset_token(smtp: &SmtpServer, to: &str, n: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mails: Vec<_> = smtp
            .received()
            .into_iter()
            .filter(|m| m.to == to && m.link("/password/reset/").is_some())
            .collect();
        if mails.len() >= n {
            return token_of(&mails[n - 1].link("/password/reset/").unwrap());
        }
        assert!(std::time::Instant::now() < deadline, "no reset mail reached {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_password(browser: &Browser, token: &str, password: &str, confirm: &str) -> Page {
    let csrf = browser.get("/login").await.csrf();
    browser
        .post(
            "/password/reset",
            &[
                ("csrf", &csrf),
                ("token", token),
                ("password", password),
                ("password_confirm", confirm),
            ],
        )
        .await
}

#[tokio::test]
async fn the_answer_is_the_same_for_known_unknown_and_disabled_addresses() {
    let (smtp, app) = started().await;
    sqlx::query("UPDATE users SET disabled_at = 1 WHERE email = 'admin-b@clinic-b.jp'")
        .execute(app.pool())
        .await
        .unwrap();
    let login = app.browser().get("/login").await;
    assert!(login.body.contains("href=\"/password/forgot\"") && login.body.contains("パスワードをお忘れの方"));

    let mut answers = Vec::new();
    for email in ["nobody@clinic-a.jp", "admin-b@clinic-b.jp", ADMIN, "not an address"] {
        let page = ask(&app.browser(), email).await;
        assert!(page.body.contains("id=\"forgot-sent\""), "{}", page.body);
        answers.push((page.status, without_tokens(&page.body)));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, StatusCode::OK);

    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "only the active account is mailed");
    assert_eq!(mails[0].to, ADMIN);
    assert!(
        mails[0]
            .subject
            .starts_with("【目視モード サポートポータル】パスワードの再設定")
    );
    assert!(!mails[0].html.is_empty());
    assert!(
        mails[0]
            .link("/password/reset/")
            .unwrap()
            .starts_with(&format!("{PUBLIC_URL}/password/reset/"))
    );
    assert_eq!(app.audit_count("password.reset_requested").await, 4);
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let (smtp, app) = started().await;
    let elsewhere = Browser::signed_in(&app, ADMIN).await;
    assert_eq!(elsewhere.get("/account/password").await.status, StatusCode::OK);

    // The link comes from --public-url, whatever Host the request names.
    let browser = app.browser();
    let csrf = browser.get("/password/forgot").await.csrf();
    let response = browser
        .http
        .post(app.url("/password/forgot"))
        .header("host", "attacker.example")
        .form(&[("csrf", csrf.as_str()), ("email", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let token = reset_token(&smtp, ADMIN, 1).await;
    assert!(!smtp.received()[0].raw.contains("attacker.example"));

    for _ in 0..2 {
        let page = browser.get(&format!("/password/reset/{token}")).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "opening the link does not use it: {}",
            page.body
        );
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert!(page.headers["cache-control"].to_str().unwrap().contains("no-store"));
    }
    let weak = set_password(&browser, &token, "123456789012", "123456789012").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mismatch = set_password(&browser, &token, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.browser().login(ADMIN, PASSWORD).await.status, StatusCode::SEE_OTHER);

    let done = set_password(&browser, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/login"));
    assert!(browser.get("/login").await.body.contains("パスワードを設定しました"));

    // Every session of the account ended: the browser signed in before is signed out.
    let after = elsewhere.get("/account/password").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(
        after.location().is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        after.location()
    );
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 AND s.ended_at IS NULL",
    )
    .bind(ADMIN)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(live, 0);
    assert_eq!(
        app.browser().login(ADMIN, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser().login(ADMIN, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.audit_count("password.reset").await, 1);

    // Single use.
    assert_eq!(
        browser.get(&format!("/password/reset/{token}")).await.status,
        StatusCode::GONE
    );
    let again = set_password(
        &app.browser(),
        &token,
        "yet another pass phrase",
        "yet another pass phrase",
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("id=\"link-invalid\""));
    assert_eq!(
        app.browser().login(ADMIN, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // The notice: the password changed, with no link and no secret in it.
    let mails = smtp.wait_for(2).await;
    let notice = mails
        .iter()
        .find(|m| m.subject.contains("パスワードが変更されました"))
        .expect("the security notice arrives");
    assert_eq!(notice.to, ADMIN);
    assert!(!notice.has_any_link(), "{notice:?}");
    for part in [&notice.text, &notice.html, &notice.raw] {
        assert!(!part.contains(NEW_PASSWORD) && !part.contains(&token));
    }
    assert!(notice.text.contains("Your password was changed") || notice.text.contains("was changed"));

    // The outbox forgot the link once the mail went; its page shows no bodies.
    let (status, text): (String, String) =
        sqlx::query_as("SELECT status, body_text FROM mail_outbox WHERE kind = 'password_reset'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(status, "sent");
    assert!(!text.contains(&token), "{text}");
}

#[tokio::test]
async fn a_reset_link_expires_after_30_minutes_and_a_newer_one_replaces_it() {
    let (smtp, app) = started().await;
    ask(&app.browser(), ADMIN).await;
    let first = reset_token(&smtp, ADMIN, 1).await;
    let (created, expires): (i64, i64) = sqlx::query_as("SELECT created_at, expires_at FROM password_resets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(expires - created, 30 * 60);

    ask(&app.browser(), ADMIN).await;
    let second = reset_token(&smtp, ADMIN, 2).await;
    let browser = app.browser();
    assert_eq!(
        browser.get(&format!("/password/reset/{first}")).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        set_password(&browser, &first, NEW_PASSWORD, NEW_PASSWORD).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        browser.get(&format!("/password/reset/{second}")).await.status,
        StatusCode::OK
    );

    sqlx::query("UPDATE password_resets SET expires_at = $1")
        .bind(portal::db::now() - 1)
        .execute(app.pool())
        .await
        .unwrap();
    assert_eq!(
        browser.get(&format!("/password/reset/{second}")).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        set_password(&browser, &second, NEW_PASSWORD, NEW_PASSWORD).await.status,
        StatusCode::GONE
    );
    assert_eq!(app.browser().login(ADMIN, PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("password.reset").await, 0);
}

#[tokio::test]
async fn reset_mails_are_limited_to_three_an_hour_per_account() {
    let (smtp, app) = started().await;
    let mut answers = Vec::new();
    for n in 1..=5 {
        let page = ask(&app.browser(), ADMIN).await;
        answers.push((page.status, without_tokens(&page.body)));
        // Each mail goes before the next request (a newer request withdraws an older unsent one).
        if n <= 3 {
            smtp.wait_for(n).await;
        }
    }
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "a throttled request gets the same answer"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.received().len(), 3, "three mails an hour for one account");
    // Another account is not held up by it.
    ask(&app.browser(), "admin-b@clinic-b.jp").await;
    let mails = smtp.wait_for(4).await;
    assert_eq!(mails.iter().filter(|m| m.to == "admin-b@clinic-b.jp").count(), 1);
}

#[tokio::test]
async fn a_stranger_asking_for_someones_resets_does_not_keep_the_owner_from_theirs() {
    let smtp = SmtpServer::start(free_port()).await;
    let app = app_mailing_to(Some(smtp.port), |c| {
        c.public_url = Some(PUBLIC_URL.to_owned());
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.with_two_clinics().await;
    let stranger = behind_proxy(&app, "203.0.113.66");
    for n in 1..=5 {
        ask(&stranger, ADMIN).await;
        if n <= 3 {
            smtp.wait_for(n).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 3, "the stranger's share is three an hour");

    // The owner, from their own address, still gets a link that works.
    let owner = behind_proxy(&app, "198.51.100.20");
    ask(&owner, ADMIN).await;
    let token = reset_token(&smtp, ADMIN, 4).await;
    let page = set_password(&owner, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // Strangers at several addresses together reach the account's overall limit of ten.
    for address in ["203.0.113.67", "203.0.113.68", "203.0.113.69"] {
        for _ in 0..3 {
            ask(&behind_proxy(&app, address), ADMIN).await;
        }
    }
    let mailed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'password.reset_requested' AND detail LIKE '%mailed%'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        mailed, 10,
        "ten reset mails an hour for one account in all, whoever asks"
    );
}

#[tokio::test]
async fn reset_requests_are_limited_to_ten_an_hour_per_client_address() {
    let (smtp, app) = started().await;
    for i in 0..10 {
        ask(&app.browser(), &format!("nobody{i}@clinic-a.jp")).await;
    }
    let page = ask(&app.browser(), ADMIN).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"forgot-sent\""));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        smtp.received().len(),
        0,
        "the eleventh request from one address mails nothing"
    );
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn reset_forms_without_the_csrf_token_are_refused() {
    let (smtp, app) = started().await;
    let browser = app.browser();
    browser.get("/password/forgot").await;
    let forged = browser
        .post("/password/forgot", &[("csrf", "forged"), ("email", ADMIN)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    ask(&browser, ADMIN).await;
    let token = reset_token(&smtp, ADMIN, 1).await;
    let forged = browser
        .post(
            "/password/reset",
            &[
                ("csrf", "forged"),
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(smtp.wait_for(1).await.len(), 1, "one request got through");
    assert_eq!(app.browser().login(ADMIN, PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_mail_the_forgot_page_says_to_ask_an_operator() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let browser = app.browser();
    let page = browser.get("/password/forgot").await;
    assert!(page.body.contains("id=\"forgot-mail-off\""), "{}", page.body);
    let csrf = page.csrf();
    let answer = browser
        .post("/password/forgot", &[("csrf", &csrf), ("email", ADMIN)])
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("id=\"forgot-mail-off\""));
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn two_racing_resets_with_one_link_set_the_password_once() {
    let (smtp, app) = started().await;
    ask(&app.browser(), ADMIN).await;
    let token = reset_token(&smtp, ADMIN, 1).await;
    let (a, b) = (app.browser(), app.browser());
    let csrf_a = a.get(&format!("/password/reset/{token}")).await.csrf();
    let csrf_b = b.get(&format!("/password/reset/{token}")).await.csrf();
    let form = |csrf: String, password: &str| {
        vec![
            ("csrf", csrf),
            ("token", token.clone()),
            ("password", password.to_owned()),
            ("password_confirm", password.to_owned()),
        ]
    };
    let (fa, fb) = (form(csrf_a, NEW_PASSWORD), form(csrf_b, "the other racing pass phrase"));
    let (ra, rb) = tokio::join!(
        a.http.post(app.url("/password/reset")).form(&fa).send(),
        b.http.post(app.url("/password/reset")).form(&fb).send(),
    );
    let mut statuses = [ra.unwrap().status(), rb.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE], "exactly one wins");
    assert_eq!(app.audit_count("password.reset").await, 1);
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_changed'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(notices, 1);
}

/// `portal serve` at debug level through a whole reset: the link's token is in no log line.
#[tokio::test]
async fn the_link_token_never_reaches_the_server_log() {
    use std::io::Write;
    use std::process::Stdio;
    let smtp = SmtpServer::start(free_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let mut add = portal_command(&d)
        .args(["user", "add", "--email", ADMIN, "--role", "agent"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let log_path = d.join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = portal_command(&d)
        .args(["serve", "--addr", &addr.to_string(), "--public-url", PUBLIC_URL])
        .args(["--smtp-url", &format!("smtp://127.0.0.1:{}", smtp.port)])
        .env("RUST_LOG", "debug,sqlx=warn,hyper=info,hyper_util=info")
        .env("NO_COLOR", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if reqwest::get(format!("http://{addr}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let browser = Browser::new(addr);
    assert_eq!(ask(&browser, ADMIN).await.status, StatusCode::OK);
    let token = reset_token(&smtp, ADMIN, 1).await;
    assert_eq!(
        browser.get(&format!("/password/reset/{token}")).await.status,
        StatusCode::OK
    );
    let done = set_password(&browser, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.get(&format!("/password/reset/{token}")).await.status,
        StatusCode::GONE
    );
    let _ = server.kill();
    let _ = server.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("uri=/password/reset/…"),
        "requests are logged, the token cut off: {logs}"
    );
    assert!(!logs.contains(&token), "the link's token is in the log");
}

#[tokio::test]
async fn a_reset_lifts_the_sign_in_delay_of_the_account() {
    let (smtp, app) = started().await;
    // Strangers' guesses have the account at its hourly cap.
    for _ in 0..100 {
        sqlx::query("INSERT INTO login_failures (key, failed_at) VALUES ($1, $2)")
            .bind(format!("account:{ADMIN}"))
            .bind(portal::db::now())
            .execute(app.pool())
            .await
            .unwrap();
    }
    assert_eq!(
        app.browser().login(ADMIN, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    ask(&app.browser(), ADMIN).await;
    let token = reset_token(&smtp, ADMIN, 1).await;
    let done = set_password(&app.browser(), &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser().login(ADMIN, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_password_changed_another_way_retires_the_unused_reset_link() {
    let (smtp, app) = started().await;
    ask(&app.browser(), ADMIN).await;
    let token = reset_token(&smtp, ADMIN, 1).await;
    // The owner remembers their password after all and changes it while signed in.
    let owner = Browser::signed_in(&app, ADMIN).await;
    let changed = owner
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let browser = app.browser();
    assert_eq!(
        browser.get(&format!("/password/reset/{token}")).await.status,
        StatusCode::GONE
    );
    let later = set_password(&browser, &token, "someone else's choice", "someone else's choice").await;
    assert_eq!(later.status, StatusCode::GONE);
    assert_eq!(
        app.browser().login(ADMIN, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}
