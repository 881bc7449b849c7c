//! Race tests for the invariants that hold because writers are serialised (docs/invariants.md):
//! each sends truly parallel requests over HTTP, released together by a barrier, and then checks
//! the invariant from the answers and the database. Existing parallel tests are not repeated
//! here: the sign-in throttle and the clinic-wide guess bound are in tests/brute_force.rs, a
//! double-clicked issue form in tests/passcodes.rs.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::{Browser, CLINIC_A, TestApp, other_code};
use portal::db::audit::Actor;
use portal::domain::{Email, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

/// Runs every future on its own task, all released at once by a barrier; answers in order.
async fn all_at_once<T, F>(jobs: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                job.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.expect("task"));
    }
    answers
}

/// A cookie-keeping browser whose connections come from 127.0.0.`n`, so per-address limits
/// do not get in the way of a test about something else.
fn browser_from(app: &TestApp, n: u8) -> Browser {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .expect("client");
    app.browser_with(http)
}

async fn scalar(app: &TestApp, sql: &str, clinic_id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(clinic_id)
        .fetch_one(app.pool())
        .await
        .expect("query")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_issues_by_two_admins_leave_one_current_passcode_and_contiguous_generations() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;
    let admins = [
        Browser::signed_in(&app, "admin-a@clinic-a.jp").await,
        Browser::signed_in(&app, "admin-a2@clinic-a.jp").await,
    ];
    let action = format!("/clinics/{CLINIC_A}/passcode");
    let mut issued = 0;
    for round in 0..3 {
        // Each send is its own confirmed form (its own single-use token), three per admin.
        let mut sends = Vec::new();
        for i in 0..6 {
            let admin = admins[i % 2].clone();
            let (csrf, issue_token) = admin.confirm_issue(CLINIC_A).await;
            let action = action.clone();
            sends.push(async move {
                admin
                    .post(&action, &[("csrf", &csrf), ("issue_token", &issue_token)])
                    .await
            });
        }
        let pages = all_at_once(sends).await;
        for page in &pages {
            assert_eq!(page.status, StatusCode::OK, "round {round}: {}", page.body);
            assert!(
                page.element_text("new-passcode").is_some(),
                "every confirmed form issues"
            );
        }
        issued += pages.len() as i64;

        let current = scalar(
            &app,
            "SELECT COUNT(*) FROM passcodes WHERE clinic_id = $1 AND superseded_at IS NULL",
            a,
        )
        .await;
        assert_eq!(current, 1, "round {round}: one current passcode");
        let generations: Vec<i64> =
            sqlx::query_scalar("SELECT generation FROM passcodes WHERE clinic_id = $1 ORDER BY generation")
                .bind(a)
                .fetch_all(app.pool())
                .await
                .unwrap();
        assert_eq!(
            generations,
            (1..=issued).collect::<Vec<_>>(),
            "round {round}: 1..{issued}"
        );
        let newest = scalar(
            &app,
            "SELECT generation FROM passcodes WHERE clinic_id = $1 AND superseded_at IS NULL",
            a,
        )
        .await;
        assert_eq!(newest, issued, "the current one is the newest");
        assert_eq!(app.audit_count("passcode.issued").await, issued);
    }
    // The code shown for the newest generation is the one that works.
    let token = app.add_reader(a, "受付").await;
    let answer: Value = app.reader(&token).verify("0000").await.json().await.unwrap();
    assert_eq!(answer["generation"], issued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_codes_from_several_readers_disable_the_generation_exactly_at_the_threshold() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let threshold = portal::db::passcodes::failures_before_disable(app.store())
        .await
        .unwrap();
    let mut readers = Vec::new();
    for i in 0..4 {
        readers.push(app.add_reader(a, &format!("受付{i}")).await);
    }
    for round in 1..=2 {
        let code = app.issue_passcode(a).await;
        let wrong = other_code(&code);
        // 4 readers × 5 wrong codes: enough to reach the threshold before every reader locks.
        let mut guesses = Vec::new();
        for token in &readers {
            for _ in 0..5 {
                let reader = app.reader(token);
                let wrong = wrong.clone();
                guesses.push(async move {
                    let answer = reader.verify(&wrong).await;
                    let status = answer.status();
                    (status, answer.json::<Value>().await.unwrap_or_default())
                });
            }
        }
        let answers = all_at_once(guesses).await;
        let rejected = answers
            .iter()
            .filter(|(s, b)| *s == StatusCode::OK && b["attempts_left"].is_i64())
            .count() as i64;
        let disabling = answers
            .iter()
            .filter(|(_, b)| b["reason"] == "passcode_disabled" && b["attempts_left"].is_i64())
            .count();
        for (status, body) in &answers {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::TOO_MANY_REQUESTS,
                "round {round}: {status} {body}"
            );
        }
        assert_eq!(
            rejected, threshold,
            "round {round}: exactly the threshold's codes are checked"
        );
        assert_eq!(disabling, 1, "round {round}: one answer disables the generation");
        let (failed, disabled): (i64, Option<i64>) = sqlx::query_as(
            "SELECT failed_attempts, disabled_at FROM passcodes WHERE clinic_id = $1 AND superseded_at IS NULL",
        )
        .bind(a)
        .fetch_one(app.pool())
        .await
        .unwrap();
        assert_eq!(failed, threshold, "round {round}: the count stops at the threshold");
        assert!(disabled.is_some(), "round {round}: the generation is disabled");
        let rows = scalar(
            &app,
            "SELECT COUNT(*) FROM passcode_attempts WHERE clinic_id = $1 AND result = 'rejected' AND generation = \
             (SELECT passcode_generation FROM clinics WHERE id = $1)",
            a,
        )
        .await;
        assert_eq!(rows, threshold, "round {round}: one attempt row per checked code");
        assert_eq!(app.audit_count("passcode.disabled").await, round);
        // The right code no longer works, from any reader.
        let answer: Value = app
            .reader(&readers[3])
            .verify(&code)
            .await
            .json()
            .await
            .unwrap_or_default();
        assert_ne!(answer["ok"], true, "round {round}");
        // Clear the readers' own locks for the next round (a right code would, but none works).
        sqlx::query("UPDATE readers SET failed_attempts = 0, lockouts = 0, locked_until = NULL")
            .execute(app.pool())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_codes_at_one_reader_lock_it_after_exactly_the_allowed_failures() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付").await;
    let allowed = portal::domain::lockout::READER_FAILURES_BEFORE_LOCK;
    for round in 1..=3 {
        // A fresh generation each round, so the clinic-wide count never gets in the way.
        let code = app.issue_passcode(a).await;
        let wrong = other_code(&code);
        let guesses: Vec<_> = (0..16)
            .map(|_| {
                let reader = app.reader(&token);
                let wrong = wrong.clone();
                async move { reader.verify(&wrong).await.status() }
            })
            .collect();
        let statuses = all_at_once(guesses).await;
        let checked = statuses.iter().filter(|s| **s == StatusCode::OK).count() as i64;
        let locked = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count() as i64;
        assert_eq!(
            (checked, locked),
            (allowed, 16 - allowed),
            "round {round}: {statuses:?}"
        );
        let (failed, lockouts, until): (i64, i64, Option<i64>) =
            sqlx::query_as("SELECT failed_attempts, lockouts, locked_until FROM readers WHERE clinic_id = $1")
                .bind(a)
                .fetch_one(app.pool())
                .await
                .unwrap();
        assert!(until.is_some(), "round {round}: the reader is locked");
        assert_eq!(
            lockouts, round,
            "round {round}: one lockout per burst ({failed} failures)"
        );
        let rejected = scalar(
            &app,
            "SELECT COUNT(*) FROM passcode_attempts WHERE clinic_id = $1 AND result = 'rejected' AND generation = \
             (SELECT passcode_generation FROM clinics WHERE id = $1)",
            a,
        )
        .await;
        assert_eq!(rejected, allowed, "round {round}: one row per checked code");
        // Wait out the lock without waiting: move it into the past (the count of lockouts stays).
        sqlx::query("UPDATE readers SET locked_until = 0, failed_attempts = 0")
            .execute(app.pool())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_first_run_setups_with_the_token_create_exactly_one_operator() {
    let app = TestApp::spawn().await;
    let token = app.setup_token.clone().expect("a fresh database offers setup");
    let mut sends = Vec::new();
    for n in 2..10u8 {
        let browser = browser_from(&app, n);
        let csrf = browser.get("/setup").await.csrf();
        let token = token.clone();
        sends.push(async move {
            let email = format!("operator{n}@installer.jp");
            browser
                .post(
                    "/setup",
                    &[
                        ("csrf", csrf.as_str()),
                        ("setup_token", token.as_str()),
                        ("email", email.as_str()),
                        ("password", common::PASSWORD),
                        ("password_confirm", common::PASSWORD),
                    ],
                )
                .await
                .status
        });
    }
    let statuses = all_at_once(sends).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::NOT_FOUND),
        "the others find setup closed: {statuses:?}"
    );
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(users, 1, "exactly one operator");
    assert_eq!(browser_from(&app, 20).get("/setup").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_ticket_creations_get_distinct_numbers_and_parallel_edits_of_one_version_one_winner() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let email = Email::parse("agent@installer.jp").unwrap();
    let issued = portal::services::accounts::issue_api_token(app.store(), &Actor::CommandLine, &email, "race")
        .await
        .unwrap();
    let token = issued.token.expose().clone();
    let http = reqwest::Client::new();

    let creates: Vec<_> = (0..12)
        .map(|i| {
            let request = http
                .post(app.url("/api/v1/tickets"))
                .bearer_auth(&token)
                .json(&json!({"clinic_code": CLINIC_A, "summary": format!("同時の電話 {i}")}));
            async move {
                let answer = request.send().await.expect("create");
                (i, answer.status(), answer.json::<Value>().await.unwrap_or_default())
            }
        })
        .collect();
    let answers = all_at_once(creates).await;
    let mut numbers = BTreeSet::new();
    for (i, status, ticket) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{ticket}");
        let number = ticket["number"].as_str().expect("a number").to_owned();
        // The number leads back to this very ticket, not to a neighbour's.
        let (_, read) = {
            let r = http
                .get(app.url(&format!("/api/v1/tickets/{number}")))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        };
        assert_eq!(read["summary"], format!("同時の電話 {i}"));
        numbers.insert(number);
    }
    assert_eq!(numbers.len(), 12, "every ticket has a number of its own: {numbers:?}");

    // Six edits of one ticket, all made from version 1: one applies, five are told it changed.
    let number = numbers.first().unwrap().clone();
    let edits: Vec<_> = ["low", "high", "urgent", "low", "high", "urgent"]
        .into_iter()
        .map(|priority| {
            let request = http
                .patch(app.url(&format!("/api/v1/tickets/{number}")))
                .bearer_auth(&token)
                .json(&json!({"version": 1, "priority": priority}));
            async move { request.send().await.expect("edit").status() }
        })
        .collect();
    let statuses = all_at_once(edits).await;
    let applied = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    // An edit that changes nothing (same priority as the stored one) answers 200 without a
    // new version; "normal" is the default, so each of these is a change.
    assert_eq!((applied, refused), (1, 5), "{statuses:?}");
    let version: i64 = sqlx::query_scalar("SELECT version FROM tickets WHERE id = $1")
        .bind(portal::domain::ticket::TicketNumber::parse(&number).unwrap().id())
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(version, 2, "one edit, one new version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seals_running_in_parallel_with_writes_keep_the_audit_chain_whole() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let key = Arc::new(
        portal::auth::audit_key::load_or_create(app.state.config.audit_key.as_ref(), app.dir.path(), true)
            .expect("audit key"),
    );
    let token = app.add_reader(a, "受付").await;
    let code = app.issue_passcode(a).await;

    // Writes that audit (denied looks at another clinic, reader answers) beside four sealers at
    // once, and the server's own sealer ticking every second.
    let mut jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> = Vec::new();
    for n in 2..6u8 {
        let browser = browser_from(&app, n);
        assert_eq!(
            browser.login("admin-a@clinic-a.jp", common::PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        jobs.push(Box::pin(async move {
            for _ in 0..8 {
                let page = browser.get(&format!("/clinics/{}", common::CLINIC_B)).await;
                assert_eq!(page.status, StatusCode::NOT_FOUND);
            }
        }));
    }
    for _ in 0..4 {
        let pool = app.store().clone();
        let key = key.clone();
        jobs.push(Box::pin(async move {
            for _ in 0..10 {
                portal::services::audit_chain::seal(&pool, &key).await.expect("seal");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    let reader = app.reader(&token);
    jobs.push(Box::pin(async move {
        for _ in 0..10 {
            reader.verify(&code).await;
        }
    }));
    all_at_once(jobs).await;
    portal::services::audit_chain::seal(app.store(), &key)
        .await
        .expect("seal");

    let (count, highest, distinct): (i64, i64, i64) =
        sqlx::query_as("SELECT COUNT(*), MAX(chain_position), COUNT(DISTINCT chain_position) FROM audit_log")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        (highest, distinct),
        (count, count),
        "positions 1..{count}, no hole, none twice"
    );
    let verified = portal::services::audit_chain::verify(app.store(), &key, portal::db::now())
        .await
        .unwrap()
        .expect("the chain verifies");
    assert_eq!(verified.rows as i64, count);
}

/// Whether the in-memory caches say what the database says: every clinic's passcode state and
/// every enrolled reader's token.
async fn caches_match_the_database(app: &TestApp) -> Result<(), String> {
    for row in portal::db::passcodes::all_states(app.store()).await.unwrap() {
        let cached = app
            .state
            .live
            .current(row.clinic_id)
            .ok_or(format!("clinic {} not cached", row.clinic_id))?;
        let active = row.has_current && row.disabled_at.is_none();
        if (cached.generation, cached.active) != (row.generation, active) {
            return Err(format!(
                "clinic {}: cached generation {} active {}, stored {} {}",
                row.clinic_id, cached.generation, cached.active, row.generation, active
            ));
        }
    }
    for row in portal::db::readers::active_tokens(app.store()).await.unwrap() {
        let hash = portal::auth::device_token::TokenHash::try_from(row.token_hash.as_slice()).unwrap();
        match app.state.live.reader(&hash) {
            Some(entry) if entry.reader_id == row.id => {}
            _ => return Err(format!("reader {} not cached", row.id)),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_writes_from_the_web_and_from_elsewhere_all_reach_the_caches() {
    let app = TestApp::spawn().await;
    let (a, b) = app.with_two_clinics().await;
    let admins = [
        Browser::signed_in(&app, "admin-a@clinic-a.jp").await,
        Browser::signed_in(&app, "admin-b@clinic-b.jp").await,
    ];
    let clinics = [(a, CLINIC_A), (b, common::CLINIC_B)];
    for round in 0..3 {
        let mut jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> = Vec::new();
        for (i, admin) in admins.iter().enumerate() {
            let (_, code) = clinics[i];
            // The web: issues and enrolments, each handler syncing its own process's caches.
            for k in 0..2 {
                let admin = admin.clone();
                jobs.push(Box::pin(async move {
                    let page = admin.issue_passcode(code).await;
                    assert_eq!(page.status, StatusCode::OK);
                    let page = admin
                        .enroll_reader(code, &format!("web {round}-{k}"), "standalone")
                        .await;
                    assert!(
                        page.status.is_success() || page.status.is_redirection(),
                        "{}",
                        page.body
                    );
                }));
            }
        }
        // Elsewhere (as the command line would): only the follower loop tells the caches.
        for (clinic_id, _) in clinics {
            for k in 0..3 {
                let pool = app.store().clone();
                let hasher = app.hasher().clone();
                jobs.push(Box::pin(async move {
                    portal::services::passcodes::issue_unconfirmed(
                        &pool,
                        &hasher,
                        &Actor::CommandLine,
                        clinic_id,
                        None,
                    )
                    .await
                    .expect("issue");
                    portal::services::readers::enroll(
                        &pool,
                        &Actor::CommandLine,
                        clinic_id,
                        &format!("cli {round}-{k}"),
                        portal::domain::InstallType::Standalone,
                        None,
                    )
                    .await
                    .expect("enroll");
                }));
            }
        }
        all_at_once(jobs).await;
        // Bounded wait for the follower (every 100 ms here); nothing else syncs now.
        let mut last = Err(String::new());
        for _ in 0..100 {
            last = caches_match_the_database(&app).await;
            if last.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(last, Ok(()), "round {round}");
    }
}

/// Invariant: a second-factor code's step is accepted once (`db::totp::use_step`, a conditional
/// UPDATE that needs no lock), so one code sent at once from six browsers that all passed the
/// password signs in exactly one of them.
#[tokio::test]
async fn one_code_sent_at_once_from_six_browsers_signs_in_one() {
    let app = TestApp::spawn().await;
    app.add_user_without_second_factor("op2@installer.jp", Role::Operator, None)
        .await;
    let secret = app.set_up_second_factor("op2@installer.jp").await;
    let mut jobs = Vec::new();
    let code = portal::auth::totp::code_at(&secret, portal::db::now() + 30).unwrap();
    for n in 0..6 {
        let browser = browser_from(&app, 60 + n);
        let after_password = browser
            .submit(
                "/login",
                "/login",
                &[("email", "op2@installer.jp"), ("password", common::PASSWORD)],
            )
            .await;
        assert_eq!(after_password.location(), Some("/login/mfa"));
        let csrf = browser.get("/login/mfa").await.csrf();
        let code = code.clone();
        jobs.push(async move {
            browser
                .post("/login/mfa", &[("csrf", &csrf), ("code", &code)])
                .await
                .status
        });
    }
    let answers = all_at_once(jobs).await;
    let signed_in = answers.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    assert_eq!(signed_in, 1, "{answers:?}");
}

/// Invariant: one pending invitation per address (`UNIQUE(email)`; on PostgreSQL the INSERT
/// replaces a row a parallel transaction committed after this one's DELETE), so two operators
/// inviting one address at once both get an answer and one link works.
#[tokio::test]
async fn parallel_invitations_of_one_address_leave_one_working_link() {
    // Mail on (nothing listens there: the mails wait), or the invite form is refused.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::spawn_with(dir, |c| {
        c.smtp_url = Some(portal::domain::Secret::new(format!("smtp://127.0.0.1:{port}")));
        c.public_url = Some("http://portal.example.jp".to_owned());
    })
    .await;
    app.with_two_clinics().await;
    // One operator's browser, four tabs sending at once (two operators race the same way).
    let browser = Browser::signed_in(&app, "operator@installer.jp").await;
    let csrf = browser.get("/users").await.csrf();
    let mut jobs = Vec::new();
    for _ in 0..4 {
        let (operator, csrf) = (browser.clone(), csrf.clone());
        jobs.push(async move {
            operator
                .post(
                    "/users/invitations",
                    &[
                        ("csrf", csrf.as_str()),
                        ("email", "racing@installer.jp"),
                        ("role", "agent"),
                        ("clinic", ""),
                    ],
                )
                .await
                .status
        });
    }
    let answers = all_at_once(jobs).await;
    assert!(answers.iter().all(|s| *s == StatusCode::SEE_OTHER), "{answers:?}");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations WHERE email = 'racing@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(pending, 1);
}
