//! What the portal mails (issue 11), through a real SMTP server (aiosmtpd, decoding each message):
//! every kind reaches the right people in their own language and holds no secret; a kind turned
//! off is not sent; security notices cannot be turned off; the notifications page; time-based
//! notices once per episode; mail off; an SMTP server that refuses. Runs on both engines.

mod common;
#[path = "support/smtp.rs"]
mod smtp;

use std::time::{Duration, Instant};

use common::*;
use portal::domain::Role;
use portal::domain::notification::Kind;
use reqwest::StatusCode;
use smtp::{Mail, SmtpServer, free_port};
use sqlx::Row;

/// tests/common's `app_mailing_to`, with the time-based notices checked every 300 ms.
async fn app_mailing_to(port: Option<u16>, adjust: impl FnOnce(&mut portal::PortalConfig)) -> TestApp {
    common::app_mailing_to(port, |c| {
        c.notice_check_ms = 300;
        adjust(c);
    })
    .await
}

/// The outbox rows as (kind, recipient, language, status).
async fn outbox(app: &TestApp) -> Vec<(String, String, String, String)> {
    sqlx::query("SELECT kind, recipient, language, status FROM mail_outbox ORDER BY id")
        .fetch_all(app.pool())
        .await
        .expect("outbox")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

async fn kinds_to(app: &TestApp, recipient: &str) -> Vec<String> {
    outbox(app)
        .await
        .into_iter()
        .filter(|(_, to, _, _)| to == recipient)
        .map(|(kind, ..)| kind)
        .collect()
}

/// Saves the notifications form: `language`, and every kind kept on except `off`.
async fn save_preferences(browser: &Browser, language: &str, off: &[Kind]) -> Page {
    let keep: Vec<String> = Kind::ALL
        .into_iter()
        .filter(|k| !off.contains(k))
        .map(|k| format!("receive_{}", k.as_str()))
        .collect();
    let mut form: Vec<(&str, &str)> = keep.iter().map(|k| (k.as_str(), "on")).collect();
    form.push(("language", language));
    browser
        .submit("/account/notifications", "/account/notifications", &form)
        .await
}

async fn ticket_id(app: &TestApp, summary: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM tickets WHERE summary = $1")
        .bind(summary)
        .fetch_one(app.pool())
        .await
        .expect("ticket")
}

async fn version(app: &TestApp, id: i64) -> String {
    let v: i64 = sqlx::query_scalar("SELECT version FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .expect("version");
    v.to_string()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(app.pool())
        .await
        .expect("user")
}

fn number(id: i64) -> String {
    format!("SUP-{id:06}")
}

/// Whether `code` stands alone in `text` (not part of a longer number such as the clinic code).
fn contains_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_some_and(|c| c.is_ascii_digit());
        let after = text[i + code.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit());
        !before && !after
    })
}

/// The message is in `lang` only: its footer in that language, not the other's.
fn assert_language(m: &Mail, lang: &str) {
    let ja = m.text.contains("通知設定") || m.text.contains("止めることはできません");
    let en = m.text.contains("Notifications in the portal") || m.text.contains("cannot be turned off");
    assert_eq!(
        (ja, en),
        (lang == "ja", lang == "en"),
        "{} expected in {lang}: {m:?}",
        m.recipient()
    );
    assert!(m.html.contains(&format!("<html lang=\"{lang}\">")), "{m:?}");
}

/// Waits for `n` outbox rows.
async fn wait_rows(app: &TestApp, n: usize) -> Vec<(String, String, String, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = outbox(app).await;
        if rows.len() >= n || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_kind_reaches_its_recipients_in_their_language_without_secrets() {
    let port = free_port();
    let smtp = SmtpServer::start(port).await;
    let app = app_mailing_to(Some(port), |_| {}).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;
    app.add_user("agent2@installer.jp", Role::Agent, None).await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let admin2 = Browser::signed_in(&app, "admin-a2@clinic-a.jp").await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let agent2 = Browser::signed_in(&app, "agent2@installer.jp").await;
    // English by the notifications page for one, by the UI language switch for the other.
    assert_eq!(save_preferences(&admin, "en", &[]).await.status, StatusCode::SEE_OTHER);
    let switched = agent2
        .submit("/desk", "/lang", &[("lang", "en"), ("next", "/desk")])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);

    // Clinic admins: passcode issued (on the web), readers locked, passcode disabled.
    let issued = admin.issue_passcode(CLINIC_A).await;
    let code = issued.element_text("new-passcode").expect("the code is shown");
    let wrong = other_code(&code);
    let tokens = [
        app.add_reader(clinic_a, "受付1").await,
        app.add_reader(clinic_a, "受付2").await,
    ];
    for token in &tokens {
        for _ in 0..5 {
            app.reader(token).verify(&wrong).await;
        }
    }
    // The desk: a new request, a desk reply, a clinic reply, assignment; the agent assigning
    // the ticket to themselves is not mailed.
    ask_for_help(&admin, "受付のリーダーが動きません").await;
    let ticket = ticket_id(&app, "受付のリーダーが動きません").await;
    let desk_page = format!("/desk/tickets/{}", number(ticket));
    let replied = agent
        .submit(
            &desk_page,
            &format!("{desk_page}/entries"),
            &[("kind", "reply"), ("body", "再起動してください")],
        )
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    let request_page = format!("/clinics/{CLINIC_A}/requests/{}", number(ticket));
    let answered = admin2
        .submit(
            &request_page,
            &format!("{request_page}/reply"),
            &[("body", "直りません")],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    let agent_id = user_id(&app, "agent@installer.jp").await.to_string();
    let agent2_id = user_id(&app, "agent2@installer.jp").await.to_string();
    for assignee in [&agent_id, &agent2_id] {
        let v = version(&app, ticket).await;
        let assigned = agent
            .submit(
                &desk_page,
                &format!("{desk_page}/update"),
                &[("version", &v), ("assignee", assignee)],
            )
            .await;
        assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    }
    // Assigned now: the clinic's next reply goes to the assignee only.
    admin2
        .submit(&request_page, &format!("{request_page}/reply"), &[("body", "まだです")])
        .await;
    // Time-based: a reader not seen for longer than the threshold, the ticket 10 minutes
    // before its due time.
    let long_ago = portal::db::now() - 7200;
    app.add_reader(clinic_a, "診察室").await;
    sqlx::query("UPDATE readers SET enrolled_at = $1 WHERE name = '診察室'")
        .bind(long_ago)
        .execute(app.pool())
        .await
        .unwrap();
    let soon = portal::db::now() + 600;
    sqlx::query("UPDATE tickets SET response_due_at = $1, resolution_due_at = $1 WHERE id = $2")
        .bind(soon)
        .bind(ticket)
        .execute(app.pool())
        .await
        .unwrap();
    // Security: the agent changes their own password; an operator resets admin B's.
    let new_password = "a brand new passphrase for the agent";
    let changed = agent
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    // An operator's typed reset: with mail on the users page offers a mailed link instead (so
    // the web refuses it here), but one typed while mail was off is still told once mail is on.
    let operator_id = user_id(&app, "operator@installer.jp").await;
    let admin_b = user_id(&app, "admin-b@clinic-b.jp").await;
    let temporary = portal::domain::Password::parse("a temporary passphrase for admin b").unwrap();
    portal::services::accounts::reset_password(
        app.store(),
        &app.state.hasher,
        &portal::db::audit::Actor::User {
            id: operator_id,
            email: "operator@installer.jp".to_owned(),
        },
        admin_b,
        &temporary,
    )
    .await
    .unwrap();

    let expected: Vec<(&str, &str, &str)> = vec![
        ("passcode_issued", "admin-a@clinic-a.jp", "en"),
        ("passcode_issued", "admin-a2@clinic-a.jp", "ja"),
        ("reader_locked", "admin-a@clinic-a.jp", "en"),
        ("reader_locked", "admin-a2@clinic-a.jp", "ja"),
        ("reader_locked", "admin-a@clinic-a.jp", "en"),
        ("reader_locked", "admin-a2@clinic-a.jp", "ja"),
        ("passcode_disabled", "admin-a@clinic-a.jp", "en"),
        ("passcode_disabled", "admin-a2@clinic-a.jp", "ja"),
        ("request_new", "agent2@installer.jp", "en"),
        ("request_new", "agent@installer.jp", "ja"),
        ("desk_reply", "admin-a@clinic-a.jp", "en"),
        ("desk_reply", "admin-a2@clinic-a.jp", "ja"),
        ("clinic_reply", "agent2@installer.jp", "en"),
        ("clinic_reply", "agent@installer.jp", "ja"),
        ("ticket_assigned", "agent2@installer.jp", "en"),
        ("clinic_reply", "agent2@installer.jp", "en"),
        ("reader_stale", "admin-a@clinic-a.jp", "en"),
        ("reader_stale", "admin-a2@clinic-a.jp", "ja"),
        ("ticket_due_soon", "agent2@installer.jp", "en"),
        ("security_password_changed", "agent@installer.jp", "ja"),
        ("security_password_reset", "admin-b@clinic-b.jp", "ja"),
    ];
    let received = smtp.wait_for(expected.len()).await;
    let rows = outbox(&app).await;
    let mut got: Vec<(String, String, String)> = rows
        .iter()
        .map(|(k, to, l, _)| (k.clone(), to.clone(), l.clone()))
        .collect();
    let mut want: Vec<(String, String, String)> = expected
        .iter()
        .map(|(k, to, l)| (k.to_string(), to.to_string(), l.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "who was mailed which kind in which language");
    let covered: std::collections::HashSet<&str> = expected.iter().map(|(k, _, _)| *k).collect();
    for kind in Kind::ALL {
        assert!(
            covered.contains(kind.as_str()) || matches!(kind, Kind::SecurityMfaReset | Kind::SecurityWrongCodes),
            "{kind:?} is not exercised (the second factor's are, in tests/second_factor.rs)"
        );
    }
    assert_eq!(received.len(), expected.len(), "each message arrived once");
    let rows_by_recipient = |to: &str| rows.iter().filter(|r| r.1 == to).count();
    let year = time::OffsetDateTime::now_utc().year().to_string();
    for m in &received {
        let lang = rows.iter().find(|r| r.1 == m.recipient()).map(|r| r.2.clone()).unwrap();
        assert_language(m, &lang);
        assert!(received.iter().filter(|r| r.recipient() == m.recipient()).count() == rows_by_recipient(m.recipient()));
        assert_eq!(m.mail_from, "portal@installer.example.jp");
        let all = m.all().replace(&year, "");
        assert!(!contains_code(&all, &code), "the passcode {code} is in {m:?}");
        assert!(!contains_code(&all, &wrong), "a typed code is in {m:?}");
        for secret in [PASSWORD, new_password, temporary.expose(), &tokens[0], &tokens[1]] {
            assert!(!all.contains(secret), "a secret is in {m:?}");
        }
        // Replies are announced, not quoted.
        assert!(
            !all.contains("再起動してください") && !all.contains("直りません"),
            "{m:?}"
        );
    }
    let issued_en = received
        .iter()
        .find(|m| m.recipient() == "admin-a@clinic-a.jp" && m.subject.contains("passcode was issued"))
        .or_else(|| {
            received
                .iter()
                .find(|m| m.recipient() == "admin-a@clinic-a.jp" && m.subject.contains("passcode"))
        })
        .expect("the English passcode notice");
    assert!(
        issued_en.text.contains("Issued by: admin-a@clinic-a.jp"),
        "{issued_en:?}"
    );
    assert!(issued_en.text.contains("the portal (web)"), "{issued_en:?}");
    let issued_ja = received
        .iter()
        .find(|m| {
            m.recipient() == "admin-a2@clinic-a.jp"
                && m.subject.starts_with("【目視確認用パスコード】")
                && m.text.contains("発行者")
        })
        .expect("the Japanese passcode notice");
    assert!(issued_ja.text.contains("（日本時間）"), "{issued_ja:?}");
    let assigned = received
        .iter()
        .find(|m| m.subject.starts_with("[Assigned]"))
        .expect("the assignment");
    assert!(assigned.subject.contains(&number(ticket)), "{assigned:?}");
}

#[tokio::test]
async fn a_kind_turned_off_is_not_sent_and_the_others_still_are() {
    let app = app_mailing_to(None, |_| {}).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;
    let admin2 = Browser::signed_in(&app, "admin-a2@clinic-a.jp").await;
    assert_eq!(
        save_preferences(&admin2, "ja", &[Kind::PasscodeIssued]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = admin2.get("/account/notifications").await;
    assert!(
        !page
            .body
            .contains("id=\"receive-passcode_issued\" name=\"receive_passcode_issued\" value=\"on\" checked"),
        "shown as off: {}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"receive-reader_locked\" name=\"receive_reader_locked\" value=\"on\" checked")
    );

    let code = app.issue_passcode(clinic_a).await;
    let token = app.add_reader(clinic_a, "受付1").await;
    for _ in 0..5 {
        app.reader(&token).verify(&other_code(&code)).await;
    }
    assert_eq!(
        kinds_to(&app, "admin-a@clinic-a.jp").await,
        ["passcode_issued", "reader_locked"]
    );
    assert_eq!(
        kinds_to(&app, "admin-a2@clinic-a.jp").await,
        ["reader_locked"],
        "exactly the kind turned off is missing"
    );
}

#[tokio::test]
async fn security_notices_cannot_be_turned_off() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let page = agent.get("/account/notifications").await;
    for kind in [
        "security_password_changed",
        "security_password_reset",
        "security_mfa_reset",
    ] {
        assert!(
            page.body.contains(&format!(
                "id=\"receive-{kind}\" name=\"receive_{kind}\" value=\"on\" checked disabled aria-describedby=\"reason-{kind}\""
            )),
            "{kind} shown on and disabled: {}",
            page.body
        );
        assert!(page.body.contains(&format!("id=\"reason-{kind}\"")), "with its reason");
    }
    assert!(
        !page.body.contains("receive-reader_locked"),
        "only the agent's own kinds are listed"
    );

    // Everything unticked, and a security kind sent as if turned off: none of them is stored.
    let saved = agent
        .submit(
            "/account/notifications",
            "/account/notifications",
            &[("language", "ja")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let id = user_id(&app, "agent@installer.jp").await;
    let mut stored: Vec<String> = sqlx::query_scalar("SELECT kind FROM notification_optouts WHERE user_id = $1")
        .bind(id)
        .fetch_all(app.pool())
        .await
        .unwrap();
    stored.sort();
    assert_eq!(
        stored,
        ["clinic_reply", "request_new", "ticket_assigned", "ticket_due_soon"]
    );
    let refused = sqlx::query(
        "INSERT INTO notification_optouts (user_id, kind, created_at) VALUES ($1, 'security_password_changed', 0)",
    )
    .bind(id)
    .execute(app.pool())
    .await;
    assert!(refused.is_err(), "the table itself refuses a security kind");

    let new_password = "a brand new passphrase for the agent";
    let changed = agent
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(
        kinds_to(&app, "agent@installer.jp").await,
        ["security_password_changed"]
    );

    // The helper the other account notices use refuses a kind that is not a security notice.
    let mut tx = portal::db::begin_write(app.store()).await.unwrap();
    let sent = portal::services::mail::security_notice(
        &mut tx,
        id,
        Kind::SecurityMfaReset,
        portal::db::now(),
        Some("192.0.2.7"),
    )
    .await
    .unwrap();
    assert_eq!(sent, 1);
    assert!(
        portal::services::mail::security_notice(&mut tx, id, Kind::ReaderStale, 0, None)
            .await
            .is_err()
    );
    tx.commit().await.unwrap();
    assert_eq!(
        kinds_to(&app, "agent@installer.jp").await,
        ["security_password_changed", "security_mfa_reset"]
    );
}

#[tokio::test]
async fn the_notifications_page_is_each_users_own_and_its_form_needs_csrf() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    let anonymous = app.browser();
    let page = anonymous.get("/account/notifications").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().is_some_and(|l| l.starts_with("/login")));

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let shown = admin.get("/account/notifications").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.contains("href=\"/account/notifications\""),
        "linked beside the account pages"
    );
    assert!(
        shown
            .body
            .contains("id=\"language-ja\" name=\"language\" value=\"ja\" checked")
    );
    let forged = admin
        .post("/account/notifications", &[("csrf", "forged"), ("language", "en")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bad = admin
        .submit(
            "/account/notifications",
            "/account/notifications",
            &[("language", "fr")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let id = user_id(&app, "admin-a@clinic-a.jp").await;
    let language = |app: &TestApp| {
        let pool = app.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT language FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(language(&app).await, "ja", "refused forms change nothing");
    assert_eq!(app.audit_count("notifications.changed").await, 0);

    let saved = save_preferences(&admin, "en", &[Kind::ReaderStale]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(language(&app).await, "en");
    assert_eq!(app.audit_count("notifications.changed").await, 1);
    // Nobody else's settings changed.
    let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notification_optouts WHERE user_id <> $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(others, 0);
    // The UI language switch stores the mail language too.
    let switched = admin
        .submit("/account/notifications", "/lang", &[("lang", "ja"), ("next", "/")])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(language(&app).await, "ja");
}

#[tokio::test]
async fn a_stale_reader_is_mailed_once_per_episode() {
    let app = app_mailing_to(None, |_| {}).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    let token = app.add_reader(clinic_a, "受付1").await;
    let make_stale = || async {
        sqlx::query("UPDATE readers SET enrolled_at = $1, last_seen_at = $1 WHERE name = '受付1'")
            .bind(portal::db::now() - 3600)
            .execute(app.pool())
            .await
            .unwrap();
    };
    make_stale().await;
    let rows = wait_rows(&app, 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("reader_stale", "admin-a@clinic-a.jp")
    );
    // Many more rounds: still one notice for this episode.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(outbox(&app).await.len(), 1, "one notice per episode");

    // Seen again (its poll reaches the database with the next flush), then quiet again.
    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cleared: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM readers WHERE name = '受付1' AND stale_notified_at IS NULL")
                .fetch_one(app.pool())
                .await
                .unwrap();
        if cleared == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "seeing the reader ends the episode");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    make_stale().await;
    let rows = wait_rows(&app, 2).await;
    assert_eq!(rows.len(), 2, "a new episode gets a new notice: {rows:?}");
}

#[tokio::test]
async fn with_mail_off_messages_wait_queued_and_the_outbox_page_says_so() {
    let app = app_mailing_to(None, |_| {}).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.issue_passcode(clinic_a).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let row: (String, i64) = sqlx::query_as("SELECT status, attempts FROM mail_outbox")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(row, ("queued".to_owned(), 0), "nothing tries to send it");
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/outbox").await;
    assert!(page.body.contains("メール送信はオフです"), "{}", page.body);
    assert!(page.body.contains("送信待ち"), "{}", page.body);
}

#[tokio::test]
async fn a_refusing_smtp_server_leaves_the_message_failing_with_its_last_error() {
    let port = free_port();
    let smtp = SmtpServer::refusing(port).await;
    let app = app_mailing_to(Some(port), |c| c.mail_retry_base_s = 0).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.issue_passcode(clinic_a).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, attempts, error) = loop {
        let row: (String, i64, Option<String>) = sqlx::query_as("SELECT status, attempts, last_error FROM mail_outbox")
            .fetch_one(app.pool())
            .await
            .unwrap();
        if row.0 != "queued" || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "failing");
    assert_eq!(
        attempts,
        portal::mail::MAX_REJECTIONS,
        "given up after the refusal limit"
    );
    let error = error.expect("the last error is kept");
    assert!(error.contains("550") || error.contains("refused"), "{error}");
    assert!(smtp.received().is_empty());
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/outbox").await;
    assert!(page.body.contains("class=\"outbox-failing\""), "{}", page.body);
    assert!(page.body.contains("refused by the test server"), "{}", page.body);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM mail_outbox")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(attempts, portal::mail::MAX_REJECTIONS, "not tried again");
}

#[tokio::test]
async fn a_ticket_is_mailed_thirty_minutes_before_its_due_time_and_not_earlier() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    for summary in ["31 分後が期限", "29 分後が期限", "期限切れ"] {
        let made = admin
            .submit(
                &format!("/clinics/{CLINIC_A}/requests"),
                &format!("/clinics/{CLINIC_A}/requests"),
                &[("summary", summary), ("category", "other")],
            )
            .await;
        assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    }
    let now = portal::db::now();
    for (summary, due) in [
        ("31 分後が期限", now + 31 * 60),
        ("29 分後が期限", now + 29 * 60),
        ("期限切れ", now - 60),
    ] {
        sqlx::query("UPDATE tickets SET response_due_at = $1 WHERE summary = $2")
            .bind(due)
            .bind(summary)
            .execute(app.pool())
            .await
            .unwrap();
    }
    let due_soon = || async {
        sqlx::query_scalar::<_, String>("SELECT subject FROM mail_outbox WHERE kind = 'ticket_due_soon'")
            .fetch_all(app.pool())
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while due_soon().await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let soon = ticket_id(&app, "29 分後が期限").await;
    assert_eq!(
        due_soon().await,
        [format!("【期限間近】{} の期限が 30 分以内です", number(soon))],
        "only the ticket within 30 minutes, once; a missed one is not 'about to miss'"
    );
}

#[tokio::test]
async fn an_assignment_through_the_ticket_api_mails_the_assignee_and_not_the_one_assigning_themselves() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    app.add_user("agent2@installer.jp", Role::Agent, None).await;
    let email = portal::domain::Email::parse("agent@installer.jp").unwrap();
    let token = portal::services::accounts::issue_api_token(
        app.store(),
        &portal::db::audit::Actor::CommandLine,
        &email,
        "phone system",
    )
    .await
    .unwrap()
    .token
    .expose()
    .clone();
    let http = reqwest::Client::new();
    let created = http
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"clinic_code": CLINIC_A, "summary": "電話で受けた件"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = ticket_id(&app, "電話で受けた件").await;
    for assignee in ["agent@installer.jp", "agent2@installer.jp"] {
        let v: i64 = version(&app, id).await.parse().unwrap();
        let patched = http
            .patch(app.url(&format!("/api/v1/tickets/{}", number(id))))
            .bearer_auth(&token)
            .json(&serde_json::json!({"version": v, "assignee": assignee}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
    }
    assert_eq!(
        kinds_to(&app, "agent@installer.jp").await,
        Vec::<String>::new(),
        "not for assigning oneself, nor for a call the desk logs"
    );
    assert_eq!(kinds_to(&app, "agent2@installer.jp").await, ["ticket_assigned"]);
}

#[tokio::test]
async fn a_clinic_reply_on_a_ticket_whose_assignee_left_reaches_every_agent() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    app.add_user("agent2@installer.jp", Role::Agent, None).await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    ask_for_help(&admin, "担当者が退職したチケット").await;
    let ticket = ticket_id(&app, "担当者が退職したチケット").await;
    let desk_page = format!("/desk/tickets/{}", number(ticket));
    let agent2 = user_id(&app, "agent2@installer.jp").await;
    let v = version(&app, ticket).await;
    agent
        .submit(
            &desk_page,
            &format!("{desk_page}/update"),
            &[("version", &v), ("assignee", &agent2.to_string())],
        )
        .await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let disabled = operator
        .submit("/users", &format!("/users/{agent2}/disable"), &[("confirm", "yes")])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);

    let request_page = format!("/clinics/{CLINIC_A}/requests/{}", number(ticket));
    let answered = admin
        .submit(
            &request_page,
            &format!("{request_page}/reply"),
            &[("body", "まだ直りません")],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    assert!(
        kinds_to(&app, "agent@installer.jp")
            .await
            .contains(&"clinic_reply".to_owned()),
        "the desk hears of it"
    );
    assert!(
        !kinds_to(&app, "agent2@installer.jp")
            .await
            .contains(&"clinic_reply".to_owned())
    );
}

#[tokio::test]
async fn a_due_soon_notice_is_not_claimed_for_a_ticket_answered_since_it_was_found() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    ask_for_help(&admin, "解決済みになった").await;
    let id = ticket_id(&app, "解決済みになった").await;
    let due = portal::db::now() + 20 * 60;
    sqlx::query("UPDATE tickets SET response_due_at = $1, status = 'resolved' WHERE id = $2")
        .bind(due)
        .bind(id)
        .execute(app.pool())
        .await
        .unwrap();
    // Found by a scan a moment before it was resolved: the claim looks again.
    let mut tx = portal::db::begin_write(app.store()).await.unwrap();
    let claimed = portal::db::notifications::claim_due_soon(&mut tx, id, due)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!claimed, "a resolved ticket is not about to miss anything");
}

#[tokio::test]
async fn what_people_typed_is_escaped_in_the_html_part() {
    let smtp = SmtpServer::start(free_port()).await;
    let app = app_mailing_to(Some(smtp.port), |_| {}).await;
    app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let summary = "<img src=x onerror=alert(1)> & \"引用\"";
    ask_for_help(&admin, summary).await;
    let mails = smtp.wait_for(1).await;
    let mail = mails
        .iter()
        .find(|m| m.to == "agent@installer.jp")
        .expect("the agent hears of the request");
    assert!(!mail.html.contains("<img"), "{}", mail.html);
    assert!(
        mail.html.contains("&#60;img") || mail.html.contains("&lt;img"),
        "{}",
        mail.html
    );
    // The plain-text part says it as typed: it is not HTML.
    assert!(mail.text.contains("<img src=x"), "{}", mail.text);
}
