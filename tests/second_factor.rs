//! The second factor (TOTP, issue 11) through HTTP as staff meet it: setting it up at
//! `/account/mfa`, the code step at sign-in, single use of codes and recovery codes, throttling,
//! the passcode re-check, operators' reset and policy. On SQLite and PostgreSQL.

mod common;

use common::{Browser, CLINIC_A, PASSWORD, TestApp, session_cookie};
use portal::auth::totp::code_at;
use portal::domain::Role;
use reqwest::StatusCode;

fn now() -> i64 {
    portal::db::now()
}

/// The recovery codes a page shows (inside `#recovery-codes`).
fn recovery_codes(body: &str) -> Vec<String> {
    let start = body.find("id=\"recovery-codes\"").expect("recovery codes on the page");
    let list = &body[start..body[start..].find("</ol>").map(|e| start + e).unwrap()];
    list.split("<code class=\"selectable\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect()
}

/// A six-digit code no step near now has.
fn wrong_code(secret: &str) -> String {
    let near: Vec<String> = (-2..=2).map(|k| code_at(secret, now() + 30 * k).unwrap()).collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// A new agent signed in with the password, on the set-up page: the browser, the page, its secret.
async fn on_the_set_up_page(app: &TestApp, email: &str) -> (Browser, common::Page, String) {
    app.add_user_without_second_factor(email, Role::Agent, None).await;
    let browser = app.browser();
    password_step(&browser, email).await;
    let page = browser.get("/account/mfa").await;
    let secret = page.element_text("totp-secret").unwrap();
    (browser, page, secret)
}

/// Signs in with the password only; returns where the answer points.
async fn password_step(browser: &Browser, email: &str) -> common::Page {
    browser
        .submit("/login", "/login", &[("email", email), ("password", PASSWORD)])
        .await
}

async fn code_step(browser: &Browser, code: &str) -> common::Page {
    browser.submit("/login/mfa", "/login/mfa", &[("code", code)]).await
}

#[tokio::test]
async fn an_operator_sets_up_the_second_factor_before_doing_anything_else() {
    let app = TestApp::spawn().await;
    app.add_user_without_second_factor("new-op@installer.jp", Role::Operator, None)
        .await;
    let browser = app.browser();
    let signed_in = password_step(&browser, "new-op@installer.jp").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let clinics = browser.get("/clinics").await;
    assert_eq!(clinics.status, StatusCode::SEE_OTHER);
    assert_eq!(clinics.location(), Some("/account/mfa?next=%2Fclinics"));

    let page = browser.get("/account/mfa?next=%2Fclinics").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["cache-control"].to_str().unwrap().contains("no-store"));
    assert!(page.body.contains("id=\"mfa-required\""), "says it is required");
    assert!(page.body.contains("<svg"), "a QR code");
    let secret = page.element_text("totp-secret").expect("the secret as text");
    assert_eq!(secret.len(), 32, "160 bits of base32: {secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    // The same secret until it is confirmed (a reload does not change what the app scanned).
    let again = browser.get("/account/mfa").await;
    assert_eq!(again.element_text("totp-secret").as_deref(), Some(secret.as_str()));
    let created_at = page.hidden("created_at").unwrap();

    let wrong = wrong_code(&secret);
    let refused = browser
        .submit(
            "/account/mfa",
            "/account/mfa/enable",
            &[("code", &wrong), ("created_at", &created_at)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"mfa-error\""));
    assert_eq!(
        browser.get("/clinics").await.status,
        StatusCode::SEE_OTHER,
        "still not on"
    );

    let code = code_at(&secret, now()).unwrap();
    let enabled = browser
        .submit(
            "/account/mfa",
            "/account/mfa/enable",
            &[("code", &code), ("created_at", &created_at), ("next", "/clinics")],
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    assert!(enabled.headers["cache-control"].to_str().unwrap().contains("no-store"));
    let codes = recovery_codes(&enabled.body);
    assert_eq!(codes.len(), 10);
    assert!(
        enabled.body.contains("href=\"/clinics\""),
        "goes on where the operator was going"
    );
    assert_eq!(browser.get("/clinics").await.status, StatusCode::OK);
    assert_eq!(app.audit_count("totp.enabled").await, 1);

    // On: the secret is never shown again, and the codes are kept only as hashes.
    let status = browser.get("/account/mfa").await;
    assert!(status.element_text("totp-secret").is_none());
    assert_eq!(status.element_text("recovery-left").as_deref(), Some("10"));
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM totp_recovery_codes")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(
        stored
            .iter()
            .all(|h| !codes.iter().any(|c| h.contains(&c.replace('-', ""))))
    );
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret FROM user_totp")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&secret), "sealed at rest");
    app.stop().await;
}

#[tokio::test]
async fn sign_in_asks_for_the_code_and_each_code_works_once() {
    let app = TestApp::spawn().await;
    app.add_user_without_second_factor("admin@clinic.jp", Role::Operator, None)
        .await;
    let secret = app.set_up_second_factor("admin@clinic.jp").await;

    let first = app.browser();
    let step = first
        .login_then("/login?next=%2Fusers", "admin@clinic.jp", PASSWORD, "/users")
        .await;
    // The harness answered with the next code: signed in, on to where the operator was going.
    assert_eq!(step.location(), Some("/users"));

    let browser = app.browser();
    let after_password = password_step(&browser, "admin@clinic.jp").await;
    assert_eq!(after_password.location(), Some("/login/mfa"));
    // Not signed in yet: the password alone opens nothing.
    assert_eq!(browser.get("/users").await.location(), Some("/login?next=%2Fusers"));
    let wrong = code_step(&browser, &wrong_code(&secret)).await;
    let code = code_at(&secret, now() + 30).unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("id=\"mfa-error\""));
    assert_eq!(app.audit_count("sign_in.totp_failed").await, 1);

    let ok = code_step(&browser, &code).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), Some("/"));
    assert_eq!(browser.get("/users").await.status, StatusCode::OK);

    // The same code again, from another browser with the password: refused.
    let other = app.browser();
    password_step(&other, "admin@clinic.jp").await;
    let reused = code_step(&other, &code).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    // An earlier step's code is refused too once a later one was used.
    let earlier = code_step(&other, &code_at(&secret, now()).unwrap()).await;
    assert_eq!(earlier.status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_new_codes_replace_the_old() {
    let app = TestApp::spawn().await;
    let (browser, page, secret) = on_the_set_up_page(&app, "agent@installer.jp").await;
    let created_at = page.hidden("created_at").unwrap();
    let code = code_at(&secret, now() - 30).unwrap();
    let enabled = browser
        .submit(
            "/account/mfa",
            "/account/mfa/enable",
            &[("code", &code), ("created_at", &created_at)],
        )
        .await;
    let codes = recovery_codes(&enabled.body);

    let lost_phone = app.browser();
    password_step(&lost_phone, "agent@installer.jp").await;
    // Typed in lower case with spaces: still the code.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let signed_in = code_step(&lost_phone, &typed).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("totp.recovery_code_used").await, 1);
    assert_eq!(
        lost_phone
            .get("/account/mfa")
            .await
            .element_text("recovery-left")
            .as_deref(),
        Some("9")
    );
    let again = app.browser();
    password_step(&again, "agent@installer.jp").await;
    assert_eq!(code_step(&again, &codes[3]).await.status, StatusCode::UNAUTHORIZED);

    // New codes (with a current code): every old one stops working.
    let renewed = lost_phone
        .submit(
            "/account/mfa",
            "/account/mfa/recovery-codes",
            &[("code", &code_at(&secret, now()).unwrap())],
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let fresh = recovery_codes(&renewed.body);
    assert_eq!(fresh.len(), 10);
    assert_eq!(code_step(&again, &codes[4]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(code_step(&again, &fresh[0]).await.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_account() {
    let app = TestApp::spawn().await;
    app.add_user_without_second_factor("op@installer.jp", Role::Operator, None)
        .await;
    let secret = app.set_up_second_factor("op@installer.jp").await;
    let browser = app.browser();
    password_step(&browser, "op@installer.jp").await;
    let right = code_at(&secret, now() + 30).unwrap();
    let wrong = wrong_code(&secret);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(code_step(&browser, &wrong).await.status);
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    // Someone has the password: its owner is told once, with the address, never a code.
    let notices: Vec<(String, String)> =
        sqlx::query_as("SELECT recipient, body_text FROM mail_outbox WHERE kind = 'security_wrong_codes'")
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].0, "op@installer.jp");
    assert!(notices[0].1.contains("127.0.0.1") && !notices[0].1.contains(&wrong));
    // While throttled even the right code is not looked at, from any browser.
    let other = app.browser();
    password_step(&other, "op@installer.jp").await;
    let throttled = code_step(&other, &right).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers.contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn issuing_a_passcode_asks_for_the_code_again_once_the_last_check_is_old() {
    let dir = tempfile::tempdir().unwrap();
    // Ten minutes in production; one second here, so the test need not wait.
    let app = TestApp::spawn_with(dir, |c| c.totp_recheck_s = 1).await;
    app.with_two_clinics().await;
    let secret = app.set_up_second_factor("admin-a@clinic-a.jp").await;
    let browser = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let confirm = format!("/clinics/{CLINIC_A}/passcode/issue");
    let action = format!("/clinics/{CLINIC_A}/passcode");
    // Just signed in with the code: no second ask.
    assert!(!browser.get(&confirm).await.body.contains("id=\"mfa-recheck\""));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let page = browser.get(&confirm).await;
    assert!(page.body.contains("id=\"mfa-recheck\""), "asks again");
    let token = page.hidden("issue_token").unwrap();
    let refused = browser
        .post(
            &action,
            &[
                ("csrf", &page.csrf()),
                ("issue_token", &token),
                ("code", &wrong_code(&secret)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"mfa-error\""));
    assert!(!refused.body.contains("id=\"new-passcode\""));
    let passcodes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passcodes")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(passcodes, 0, "nothing issued");

    let page = browser.get(&confirm).await;
    let token = page.hidden("issue_token").unwrap();
    let code = common::next_second_factor_code(&app.state.config.database_url, "admin-a@clinic-a.jp").unwrap();
    let issued = browser
        .post(
            &action,
            &[("csrf", &page.csrf()), ("issue_token", &token), ("code", &code)],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    assert!(issued.body.contains("id=\"new-passcode\""));
    app.stop().await;
}

#[tokio::test]
async fn an_operator_resets_a_lost_second_factor_and_the_user_is_told_by_mail() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    app.set_up_second_factor("agent@installer.jp").await;
    let agent_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'agent@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let users = Browser::signed_in(&app, "operator@installer.jp").await;
    let list = users.get("/users").await;
    assert!(list.body.contains(&format!("id=\"mfa-reset-{agent_id}\"")));
    // Only operators may.
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let denied = agent
        .submit("/account/mfa", &format!("/users/{agent_id}/mfa/reset"), &[])
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    // First a confirmation, which changes nothing.
    let asked = users
        .submit("/users", &format!("/users/{agent_id}/mfa/reset"), &[])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("agent@installer.jp") && asked.body.contains("name=\"confirm\""));
    assert_eq!(app.audit_count("totp.reset").await, 0);
    let reset = users
        .submit("/users", &format!("/users/{agent_id}/mfa/reset"), &[("confirm", "yes")])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("totp.reset").await, 1);
    // Confirmed again (a second tab): nothing more to reset, and nothing more mailed.
    let again = users
        .submit("/users", &format!("/users/{agent_id}/mfa/reset"), &[("confirm", "yes")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("totp.reset").await, 1);
    let (recipient, kind, text, html): (String, String, String, String) = sqlx::query_as(
        "SELECT recipient, kind, body_text, body_html FROM mail_outbox WHERE kind = 'security_mfa_reset'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (recipient.as_str(), kind.as_str()),
        ("agent@installer.jp", "security_mfa_reset")
    );
    assert!(text.contains("operator@installer.jp") && html.contains("operator@installer.jp"));
    // The agent signs in with the password alone again, and is asked to set it up.
    let again = app.browser();
    let page = password_step(&again, "agent@installer.jp").await;
    assert_eq!(page.location(), Some("/"));
    assert!(again.get("/desk").await.body.contains("id=\"mfa-nudge\""));
    app.stop().await;
}

#[tokio::test]
async fn operators_can_require_the_second_factor_of_every_role() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    // Asked, not required.
    let desk = agent.get("/desk").await;
    assert_eq!(desk.status, StatusCode::OK);
    assert!(desk.body.contains("id=\"mfa-nudge\""));

    let bad = operator
        .submit("/users", "/desk/settings/mfa", &[("required_for_all", "sometimes")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let saved = operator
        .submit("/users", "/desk/settings/mfa", &[("required_for_all", "all")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("totp.policy_changed").await, 1);
    let desk = agent.get("/desk").await;
    assert_eq!(desk.location(), Some("/account/mfa?next=%2Fdesk"));
    // What is left to them: the set-up page, the language, signing out.
    assert_eq!(agent.get("/account/mfa").await.status, StatusCode::OK);
    assert_eq!(agent.get("/account/password").await.status, StatusCode::SEE_OTHER);

    operator
        .submit("/users", "/desk/settings/mfa", &[("required_for_all", "operators")])
        .await;
    assert_eq!(agent.get("/desk").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_clinic_admin_may_turn_it_off_with_a_code_and_an_operator_may_not() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let secret = app.set_up_second_factor("admin-a@clinic-a.jp").await;
    let db = app.state.config.database_url.clone();
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let page = admin.get("/account/mfa").await;
    assert!(page.body.contains("action=\"/account/mfa/disable\""));
    let wrong = admin
        .submit(
            "/account/mfa",
            "/account/mfa/disable",
            &[("code", &wrong_code(&secret))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = common::next_second_factor_code(&db, "admin-a@clinic-a.jp").unwrap();
    let off = admin
        .submit("/account/mfa", "/account/mfa/disable", &[("code", &code)])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("totp.disabled").await, 1);
    assert!(
        admin.get("/account/mfa").await.element_text("totp-secret").is_some(),
        "can set up again"
    );

    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/account/mfa").await;
    assert!(!page.body.contains("action=\"/account/mfa/disable\""));
    let code = common::next_second_factor_code(&db, "operator@installer.jp").unwrap();
    let refused = operator
        .submit("/account/mfa", "/account/mfa/disable", &[("code", &code)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn a_code_for_an_older_page_of_the_set_up_does_not_turn_on_a_newer_secret() {
    let app = TestApp::spawn().await;
    let (browser, _, secret) = on_the_set_up_page(&app, "agent@installer.jp").await;
    let code = code_at(&secret, now()).unwrap();
    let stale = browser
        .submit(
            "/account/mfa",
            "/account/mfa/enable",
            &[("code", &code), ("created_at", "12345")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(app.audit_count("totp.enabled").await, 0);
    app.stop().await;
}

/// The last operator lost their phone and recovery codes: the command line (on the server's
/// machine) turns the factor off, audited and mailed like an operator's reset on the web.
#[tokio::test]
async fn the_command_line_turns_off_a_locked_out_operators_second_factor() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let dir = app.dir.path().to_owned();
    let run = |args: &'static [&'static str]| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || common::portal_command(&dir).args(args).output().unwrap())
    };
    let done = run(&["user", "reset-mfa", "--email", "operator@installer.jp"])
        .await
        .unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).contains("turned off"));
    assert_eq!(app.audit_count("totp.reset").await, 1);
    let mails: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'security_mfa_reset' AND recipient = 'operator@installer.jp'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(mails, 1);
    // Signing in again with the password leads to setting it up anew.
    let browser = app.browser();
    password_step(&browser, "operator@installer.jp").await;
    assert_eq!(
        browser.get("/clinics").await.location(),
        Some("/account/mfa?next=%2Fclinics")
    );
    let unknown = run(&["user", "reset-mfa", "--email", "nobody@installer.jp"])
        .await
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    app.stop().await;
}

#[tokio::test]
async fn the_code_must_follow_the_password_within_its_window() {
    let dir = tempfile::tempdir().unwrap();
    // Five minutes in production; one second here.
    let app = TestApp::spawn_with(dir, |c| c.totp_pending_s = 1).await;
    app.add_user("op@installer.jp", Role::Operator, None).await;
    let browser = app.browser();
    assert_eq!(
        password_step(&browser, "op@installer.jp").await.location(),
        Some("/login/mfa")
    );
    let csrf = browser.get("/login/mfa").await.csrf();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let code = common::next_second_factor_code(&app.state.config.database_url, "op@installer.jp").unwrap();
    let late = browser.post("/login/mfa", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!(late.location(), Some("/login"), "the password again");
    assert_eq!(browser.get("/login/mfa").await.location(), Some("/login"));
    assert_eq!(browser.get("/clinics").await.location(), Some("/login?next=%2Fclinics"));
    app.stop().await;
}

#[tokio::test]
async fn the_session_id_changes_at_the_code_step_and_the_half_signed_in_browser_reaches_nothing() {
    let app = TestApp::spawn().await;
    app.add_user_without_second_factor("op@installer.jp", Role::Operator, None)
        .await;
    let secret = app.set_up_second_factor("op@installer.jp").await;
    let browser = app.browser();
    let after_password = password_step(&browser, "op@installer.jp").await;
    let pending = session_cookie(&after_password).expect("the password step sets a session");

    // Between the two steps: no page, no form of a signed-in user.
    for path in ["/account/mfa", "/account/sessions", "/account/password", "/users"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location().unwrap().starts_with("/login"), "{path}");
    }
    let csrf = browser.get("/login/mfa").await.csrf();
    for path in ["/account/mfa/enable", "/account/password", "/account/mfa/disable"] {
        let refused = browser.post(path, &[("csrf", &csrf), ("code", "123456")]).await;
        assert!(
            refused.status == StatusCode::SEE_OTHER || refused.status == StatusCode::UNAUTHORIZED,
            "{path}: {}",
            refused.status
        );
        assert!(refused.location().is_none_or(|l| l.starts_with("/login")), "{path}");
    }
    // A forged token is refused at the code step itself.
    let forged = browser
        .post(
            "/login/mfa",
            &[("csrf", "forged"), ("code", &code_at(&secret, now()).unwrap())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let signed_in = code_step(&browser, &code_at(&secret, now()).unwrap()).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
    let after_code = session_cookie(&signed_in).expect("a new session id after the code");
    assert_ne!(after_code, pending, "the session id must change at the code step");
    assert_eq!(browser.get("/users").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn parallel_wrong_codes_tell_the_owner_exactly_once() {
    let app = TestApp::spawn().await;
    app.add_user_without_second_factor("op@installer.jp", Role::Operator, None)
        .await;
    let secret = app.set_up_second_factor("op@installer.jp").await;
    let wrong = wrong_code(&secret);
    let mut browsers = Vec::new();
    for _ in 0..6 {
        let browser = app.browser();
        assert_eq!(
            password_step(&browser, "op@installer.jp").await.location(),
            Some("/login/mfa")
        );
        let csrf = browser.get("/login/mfa").await.csrf();
        browsers.push((browser, csrf));
    }
    let attempts: Vec<_> = browsers
        .into_iter()
        .map(|(browser, csrf)| {
            let wrong = wrong.clone();
            tokio::spawn(async move {
                browser
                    .post("/login/mfa", &[("csrf", &csrf), ("code", &wrong)])
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(refused, 3, "three free wrong codes, the rest held back: {statuses:?}");
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'security_wrong_codes'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(notices, 1, "the owner is told once, however the wrong codes race");
    assert_eq!(app.audit_count("sign_in.totp_failed").await, 3);
    app.stop().await;
}

#[tokio::test]
async fn a_factor_reset_between_the_password_and_the_code_sends_the_user_back_to_the_password() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let secret = app.set_up_second_factor("agent@installer.jp").await;
    let browser = app.browser();
    assert_eq!(
        password_step(&browser, "agent@installer.jp").await.location(),
        Some("/login/mfa")
    );
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let agent_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'agent@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    operator
        .submit("/users", &format!("/users/{agent_id}/mfa/reset"), &[("confirm", "yes")])
        .await;
    let step = code_step(&browser, &code_at(&secret, now()).unwrap()).await;
    assert_eq!(step.status, StatusCode::SEE_OTHER);
    assert_eq!(step.location(), Some("/login"));
    assert_eq!(app.audit_count("sign_in.totp_failed").await, 0, "no wrong code counted");
    // The password alone now signs in.
    assert_eq!(
        password_step(&browser, "agent@installer.jp").await.location(),
        Some("/")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_passcode_form_sent_without_a_code_asks_for_it_without_counting_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir, |c| c.totp_recheck_s = 1).await;
    app.with_two_clinics().await;
    app.set_up_second_factor("admin-a@clinic-a.jp").await;
    let browser = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let confirm = format!("/clinics/{CLINIC_A}/passcode/issue");
    let page = browser.get(&confirm).await;
    assert!(page.body.contains("id=\"mfa-recheck\""), "asks again");
    let token = page.hidden("issue_token").unwrap();
    let action = format!("/clinics/{CLINIC_A}/passcode");
    for _ in 0..5 {
        let asked = browser
            .post(
                &action,
                &[("csrf", &page.csrf()), ("issue_token", &token), ("code", "")],
            )
            .await;
        assert_eq!(asked.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(asked.body.contains("id=\"mfa-recheck\""), "asks for the code");
        assert!(!asked.body.contains("id=\"mfa-error\""), "no wrong code was typed");
    }
    let failures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key LIKE 'totp:%'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(failures, 0);
    app.stop().await;
}
