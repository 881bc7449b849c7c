//! Mail through a real SMTP server (Python's aiosmtpd, started on 127.0.0.1 by each test:
//! tests/support/smtp.rs): passcode notices reach every clinic admin without the code, a
//! message made while the server is down arrives once it is up, the command line enqueues too.
//! The outbox holds up: a slow relay with two senders, a long outage, a server that is down
//! (one try per round), an operator's retry, out-of-date notices, pruning, the page's counts.

mod common;
#[path = "support/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use portal::domain::{Role, Secret};
use reqwest::StatusCode;
use smtp::{SmtpServer, free_port};
use sqlx::Row;

/// The outbox rows as (recipient, status, attempts, last error, subject, text, html).
async fn outbox(app: &TestApp) -> Vec<(String, String, i64, Option<String>, String, String, String)> {
    sqlx::query(
        "SELECT recipient, status, attempts, last_error, subject, body_text, body_html FROM mail_outbox ORDER BY id",
    )
    .fetch_all(app.pool())
    .await
    .expect("outbox")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
    .collect()
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

#[tokio::test]
async fn issuing_a_passcode_on_the_web_mails_every_clinic_admin_without_the_code() {
    let port = free_port();
    let smtp = SmtpServer::start(port).await;
    let app = app_mailing_to(Some(port), |_| {}).await;
    app.with_two_clinics().await;
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let issued = admin.issue_passcode(CLINIC_A).await;
    let code = issued.element_text("new-passcode").expect("the code is shown");

    // Waits 700 ms past the second message, so that a third would be counted.
    let messages = smtp.wait_for(2).await;
    let mut to: Vec<String> = messages.iter().map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["admin-a2@clinic-a.jp", "admin-a@clinic-a.jp"],
        "one mail per admin of the clinic"
    );
    for m in &messages {
        let raw = &m.raw;
        assert!(raw.contains("From: portal@installer.example.jp"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "plain text and HTML: {raw}"
        );
    }
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 2);
    for (_, status, attempts, _, subject, text, html) in &rows {
        assert_eq!((status.as_str(), *attempts), ("sent", 1));
        assert!(
            subject.starts_with("【目視確認用パスコード】"),
            "Japanese subject first: {subject}"
        );
        assert!(text.contains("発行者: admin-a@clinic-a.jp"), "{text}");
        assert!(text.contains("ポータル（Web）"), "{text}");
        assert!(text.contains("（日本時間）"), "{text}");
        // The year (e.g. 2026) is the one other 4-digit number: leave it out of the check.
        let year = time::OffsetDateTime::now_utc().year().to_string();
        for part in [subject, text, html] {
            let part = part.replace(&year, "");
            assert!(
                !contains_code(&part, &code),
                "the code {code} is in the message: {part}"
            );
        }
    }
}

#[tokio::test]
async fn a_message_made_while_the_smtp_server_is_down_arrives_once_it_is_up() {
    let port = free_port();
    let app = app_mailing_to(Some(port), |_| {}).await;
    let (clinic_a, _) = app.with_two_clinics().await;

    app.issue_passcode(clinic_a).await;
    app.state.mail_wake.notify_one();
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let rows = outbox(&app).await;
        if rows.first().is_some_and(|r| r.2 >= 1) {
            break rows;
        }
        assert!(Instant::now() < deadline, "no attempt was made: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed[0].1, "queued", "a failed attempt is retried");
    assert!(
        failed[0].3.as_deref().is_some_and(|e| !e.is_empty()),
        "the error is kept"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.metrics.outbox_queued.get() != 1 {
        assert!(Instant::now() < deadline, "the outbox gauge counts the queued message");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("admin-a@clinic-a.jp") && page.body.contains("送信待ち"),
        "{}",
        page.body
    );
    assert!(page.body.contains("SMTP"), "the last error is shown: {}", page.body);
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert_eq!(admin.get("/outbox").await.status, StatusCode::FORBIDDEN);
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    assert_eq!(agent.get("/outbox").await.status, StatusCode::FORBIDDEN);

    let smtp = SmtpServer::start(port).await;
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1, "delivered once the server is up");
    assert_eq!(messages[0].to, "admin-a@clinic-a.jp");
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox(&app).await[0].1 != "sent" {
        assert!(Instant::now() < deadline, "marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(smtp.received().len(), 1, "sent once");
    assert_eq!(app.state.metrics.outbox_queued.get(), 0, "nothing left queued");
    let page = operator.get("/outbox").await;
    assert!(page.body.contains("送信済み"), "{}", page.body);
}

#[tokio::test]
async fn issuing_from_the_command_line_enqueues_the_notice_in_the_same_transaction() {
    let port = free_port();
    let smtp = SmtpServer::start(port).await;
    let app = app_mailing_to(Some(port), |_| {}).await;
    app.with_two_clinics().await;

    let dir = app.dir.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        portal_command(&dir)
            .args(["passcode", "issue", "--clinic", CLINIC_A])
            .output()
            .expect("run portal")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let code = stdout.lines().last().unwrap().trim().to_owned();

    // The command line does not send: the server's sender finds the row on its next poll.
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, "admin-a@clinic-a.jp");
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].5.contains("コマンドライン"), "{}", rows[0].5);
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(!contains_code(&rows[0].5.replace(&year, ""), &code));
}

/// Mail over TLS to an aiosmtpd whose certificate a test CA signed: delivered with the CA given
/// by `--smtp-ca-file`, refused (certificate error kept) without it.
async fn tls_delivery(scheme: &str, kind: &str) {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = smtp::test_certificates(certs.path());
    let port = free_port();
    let server = SmtpServer::tls(port, kind, &cert, &key).await;
    let untrusting = {
        let dir = tempfile::tempdir().expect("temp dir");
        TestApp::spawn_with(dir, |c| {
            c.smtp_url = Some(Secret::new(format!("{scheme}://127.0.0.1:{port}")));
            c.mail_retry_base_s = 60;
            c.mail_poll_ms = 200;
        })
        .await
    };
    let (clinic_a, _) = untrusting.with_two_clinics().await;
    untrusting.issue_passcode(clinic_a).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        let rows = outbox(&untrusting).await;
        if let Some(error) = rows.first().and_then(|r| r.3.clone()) {
            break error;
        }
        assert!(Instant::now() < deadline, "no attempt was made: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(error.to_lowercase().contains("certificate"), "{scheme}: {error}");
    assert!(server.received().is_empty(), "nothing sent to an unverified server");
    drop(untrusting);

    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::spawn_with(dir, |c| {
        c.smtp_url = Some(Secret::new(format!("{scheme}://127.0.0.1:{port}")));
        c.smtp_ca_file = Some(ca.clone());
        c.mail_poll_ms = 200;
    })
    .await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.issue_passcode(clinic_a).await;
    let received = server.wait_for(1).await;
    assert_eq!(received.len(), 1, "{scheme}: {:?}", outbox(&app).await);
    assert_eq!(received[0].recipient(), "admin-a@clinic-a.jp");
}

#[tokio::test]
async fn mail_goes_over_implicit_tls_to_a_server_whose_certificate_is_trusted() {
    tls_delivery("smtps", "smtps").await;
}

#[tokio::test]
async fn mail_goes_over_starttls_to_a_server_whose_certificate_is_trusted() {
    tls_delivery("smtp+starttls", "starttls").await;
}

/// Three clinic admins of clinic A (so one passcode issue mails three messages); returns its id.
async fn clinic_with_three_admins(app: &TestApp) -> i64 {
    let (clinic_a, _) = app.with_two_clinics().await;
    for email in ["admin-a2@clinic-a.jp", "admin-a3@clinic-a.jp"] {
        app.add_user(email, Role::ClinicAdmin, Some(CLINIC_A)).await;
    }
    clinic_a
}

/// Waits (at most `within`) until `done` holds of the outbox rows; returns them.
async fn outbox_until(
    app: &TestApp,
    within: Duration,
    what: &str,
    done: impl Fn(&[(String, String, i64, Option<String>, String, String, String)]) -> bool,
) -> Vec<(String, String, i64, Option<String>, String, String, String)> {
    let deadline = Instant::now() + within;
    loop {
        let rows = outbox(app).await;
        if done(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{what}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_a_slow_relay_two_senders_send_each_message_once() {
    let port = free_port();
    // 2 s per message against a 4 s lease: a batch of three outlives its first claim.
    let smtp = SmtpServer::slow(port, 2.0).await;
    let app = app_mailing_to(Some(port), |c| c.mail_lease_s = 4).await;
    let clinic_a = clinic_with_three_admins(&app).await;
    // A second sender on the same outbox, as another portal process runs one.
    let second = tokio::spawn(portal::mail::run(
        app.store().clone(),
        app.state.mailer.clone().expect("mail on"),
        Arc::new(tokio::sync::Notify::new()),
        portal::mail::Sending {
            poll: Duration::from_millis(200),
            retry_base_s: 1,
            lease_s: 4,
        },
        Default::default(),
    ));

    app.issue_passcode(clinic_a).await;
    outbox_until(&app, Duration::from_secs(40), "all three sent", |rows| {
        rows.len() == 3 && rows.iter().all(|r| r.1 == "sent")
    })
    .await;
    // Longer than one send: a second copy under way would arrive now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    second.abort();
    let mut to: Vec<String> = smtp.received().iter().map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["admin-a2@clinic-a.jp", "admin-a3@clinic-a.jp", "admin-a@clinic-a.jp"],
        "each message once"
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_tried_once_a_round_not_once_per_message() {
    // Nothing listens on the port: every connection is refused.
    let port = free_port();
    let app = app_mailing_to(Some(port), |c| c.mail_retry_base_s = 30).await;
    let clinic_a = clinic_with_three_admins(&app).await;
    // Not woken: the poll finds them (a wake during the round would rightly start another).
    app.issue_passcode(clinic_a).await;
    outbox_until(&app, Duration::from_secs(20), "an attempt", |rows| {
        rows.iter().any(|r| r.2 > 0)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let attempts: Vec<i64> = outbox(&app).await.iter().map(|r| r.2).collect();
    assert_eq!(
        attempts.iter().sum::<i64>(),
        1,
        "one try, then the round ends: {attempts:?}"
    );
    let claimed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE claimed_by IS NOT NULL")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(claimed, 0, "the others are given back, not held for the lease");
}

#[tokio::test]
async fn an_outage_is_retried_past_ten_attempts_and_given_up_only_after_three_days() {
    let port = free_port();
    let app = app_mailing_to(Some(port), |c| c.mail_retry_base_s = 0).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.issue_passcode(clinic_a).await;
    let many = portal::mail::MAX_REJECTIONS + 2;
    let rows = outbox_until(&app, Duration::from_secs(30), "many attempts", |rows| {
        rows.first().is_some_and(|r| r.2 >= many || r.1 != "queued")
    })
    .await;
    assert_eq!(
        rows[0].1, "queued",
        "a refused connection is not a refusal of the message: {rows:?}"
    );

    // Three days into the outage.
    sqlx::query("UPDATE mail_outbox SET created_at = created_at - $1")
        .bind(portal::mail::GIVE_UP_AFTER_S)
        .execute(app.pool())
        .await
        .unwrap();
    let rows = outbox_until(&app, Duration::from_secs(10), "given up", |rows| rows[0].1 == "failing").await;
    assert!(rows[0].3.as_deref().is_some_and(|e| e.contains("SMTP")), "{rows:?}");
}

#[tokio::test]
async fn an_operator_puts_a_failing_message_back_and_it_is_sent() {
    let port = free_port();
    let refusing = SmtpServer::refusing(port).await;
    let app = app_mailing_to(Some(port), |c| c.mail_retry_base_s = 0).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.issue_passcode(clinic_a).await;
    outbox_until(&app, Duration::from_secs(30), "given up", |rows| {
        rows.first().is_some_and(|r| r.1 == "failing")
    })
    .await;
    drop(refusing);
    let smtp = SmtpServer::start(port).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM mail_outbox")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let action = format!("/outbox/{id}/retry");

    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/outbox").await;
    assert!(
        page.body.contains(&format!("action=\"{action}\"")) && page.body.contains("再送"),
        "{}",
        page.body
    );
    let forged = operator.post(&action, &[("csrf", "not-the-token")]).await;
    assert_ne!(forged.status, StatusCode::SEE_OTHER, "{}", forged.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(outbox(&app).await[0].1, "failing", "a forged form changes nothing");
    assert!(smtp.received().is_empty());

    let done = operator.submit("/outbox", &action, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let received = smtp.wait_for(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, "admin-a@clinic-a.jp");
    outbox_until(&app, Duration::from_secs(5), "marked sent", |rows| rows[0].1 == "sent").await;
    assert_eq!(app.audit_count("mail.requeued").await, 1, "the retry is audited");

    // A second click finds nothing failing, and says so.
    let again = operator.submit("/outbox", &action, &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let page = operator.get("/outbox").await;
    assert!(page.body.contains("送信失敗の状態ではありません"), "{}", page.body);
    assert_eq!(app.audit_count("mail.requeued").await, 1);
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn a_due_soon_notice_whose_due_time_passed_in_an_outage_is_dropped_not_sent() {
    let port = free_port();
    let app = app_mailing_to(Some(port), |c| c.notice_check_ms = 300).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    ask_for_help(&admin, "まもなく期限").await;
    sqlx::query("UPDATE tickets SET response_due_at = $1")
        .bind(portal::db::now() + 29 * 60)
        .execute(app.pool())
        .await
        .unwrap();
    let kind_count = |kind: &'static str| {
        let pool = app.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mail_outbox WHERE kind = $1")
                .bind(kind)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while kind_count("ticket_due_soon").await == 0 {
        assert!(
            Instant::now() < deadline,
            "no due-soon notice: {:?}",
            outbox(&app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server stays down past the due time: the notice was written over 30 minutes ago.
    sqlx::query(
        "UPDATE mail_outbox SET created_at = created_at - 31 * 60, next_attempt_at = 0 WHERE kind = 'ticket_due_soon'",
    )
    .execute(app.pool())
    .await
    .unwrap();
    let smtp = SmtpServer::start(port).await;
    app.issue_passcode(clinic_a).await;
    app.state.mail_wake.notify_one();
    // The request's own notice (to the agent) and the passcode notice still go out.
    smtp.wait_for(2).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while kind_count("ticket_due_soon").await > 0 {
        assert!(
            Instant::now() < deadline,
            "the notice is still there: {:?}",
            outbox(&app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let subjects: Vec<String> = smtp.received().iter().map(|m| m.subject.clone()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects.iter().any(|s| s.contains("パスコードが発行されました")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().all(|s| !s.contains("期限間近")),
        "never sent late: {subjects:?}"
    );
}

#[tokio::test]
async fn housekeeping_deletes_sent_mail_after_thirty_days_and_nothing_else() {
    let port = free_port();
    let smtp = SmtpServer::start(port).await;
    let app = app_mailing_to(Some(port), |_| {}).await;
    let (clinic_a, _) = app.with_two_clinics().await;
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;
    app.issue_passcode(clinic_a).await;
    smtp.wait_for(2).await;
    outbox_until(&app, Duration::from_secs(10), "both sent", |rows| {
        rows.len() == 2 && rows.iter().all(|r| r.1 == "sent")
    })
    .await;
    drop(smtp);
    let old = portal::db::now() - portal::SENT_MAIL_RETENTION_S - 60;
    sqlx::query("UPDATE mail_outbox SET sent_at = $1, created_at = $1 WHERE recipient = 'admin-a@clinic-a.jp'")
        .bind(old)
        .execute(app.pool())
        .await
        .unwrap();
    // An old message that never went out stays (an operator must see it).
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, language, kind, subject, body_text, body_html, status, attempts, next_attempt_at, created_at)
         VALUES ('old@clinic-a.jp', 'ja', 'passcode_issued', 's', 't', 'h', 'failing', 10, $1, $1)",
    )
    .bind(old)
    .execute(app.pool())
    .await
    .unwrap();

    portal::housekeeping(&app.state, &portal::db::session_store(app.store()).await.unwrap()).await;
    let left: Vec<(String, String)> = outbox(&app).await.into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        left,
        [
            ("admin-a2@clinic-a.jp".to_owned(), "sent".to_owned()),
            ("old@clinic-a.jp".to_owned(), "failing".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_outbox_page_counts_each_status_and_shows_old_failing_mail_before_newer_sent_mail() {
    let app = app_mailing_to(None, |_| {}).await;
    app.with_two_clinics().await;
    let now = portal::db::now();
    let insert = |recipient: String, status: &'static str, at: i64| {
        let pool = app.pool().clone();
        async move {
            sqlx::query(
                "INSERT INTO mail_outbox (recipient, language, kind, subject, body_text, body_html, status, attempts, next_attempt_at, created_at, sent_at)
                 VALUES ($1, 'ja', 'passcode_issued', $2, 't', 'h', $3, 1, $4, $4, CASE WHEN $3 = 'sent' THEN $4 END)",
            )
            .bind(&recipient)
            .bind(format!("subject of {recipient}"))
            .bind(status)
            .bind(at)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    // The oldest row fails; 260 newer ones were sent; two wait.
    insert("failing-first@clinic-a.jp".to_owned(), "failing", now - 7200).await;
    for i in 0..260 {
        insert(format!("sent-{i:03}@clinic-a.jp"), "sent", now - 3600 + i).await;
    }
    insert("queued-1@clinic-a.jp".to_owned(), "queued", now).await;
    insert("queued-2@clinic-a.jp".to_owned(), "queued", now).await;

    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.element_text("count-failing").as_deref(), Some("1"));
    assert_eq!(page.element_text("count-queued").as_deref(), Some("2"));
    assert_eq!(page.element_text("count-sent").as_deref(), Some("260"));
    let at = |needle: &str| {
        page.body
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing: {}", page.body))
    };
    assert!(at("failing-first@clinic-a.jp") < at("queued-1@clinic-a.jp"));
    assert!(
        at("queued-2@clinic-a.jp") < at("sent-259@clinic-a.jp"),
        "newest sent first, after the waiting ones"
    );
    assert!(
        !page.body.contains("sent-209@clinic-a.jp"),
        "sent mail a page at a time"
    );

    // Every sent message is reachable, page by page.
    let mut seen = std::collections::HashSet::new();
    let mut path = "/outbox".to_owned();
    for _ in 0..10 {
        let page = operator.get(&path).await;
        for i in 0..260 {
            if page.body.contains(&format!("sent-{i:03}@clinic-a.jp")) {
                seen.insert(i);
            }
        }
        // The link to older mail (the language switch also names the page's own address).
        let Some(at) = page.body.find("href=\"/outbox?sent_before=") else {
            break;
        };
        let at = at + "href=\"".len();
        let end = page.body[at..].find('"').unwrap() + at;
        path = page.body[at..end].replace("#outbox-sent", "");
    }
    assert_eq!(seen.len(), 260);
}

#[tokio::test]
async fn a_database_error_marking_one_message_does_not_stop_the_round() {
    let port = free_port();
    let smtp = SmtpServer::start(port).await;
    let app = app_mailing_to(Some(port), |_| {}).await;
    let clinic_a = clinic_with_three_admins(&app).await;
    // The database refuses to mark the first message sent.
    let refuse = match app.engine() {
        Engine::Sqlite => {
            "CREATE TRIGGER refuse_first_mark BEFORE UPDATE OF status ON mail_outbox
             WHEN NEW.status = 'sent' AND OLD.id = (SELECT MIN(id) FROM mail_outbox)
             BEGIN SELECT RAISE(ABORT, 'the test refuses this write'); END"
        }
        Engine::Postgres => {
            "CREATE FUNCTION refuse_first_mark() RETURNS trigger AS $$
             BEGIN
               IF NEW.status = 'sent' AND OLD.id = (SELECT MIN(id) FROM mail_outbox) THEN
                 RAISE EXCEPTION 'the test refuses this write';
               END IF;
               RETURN NEW;
             END $$ LANGUAGE plpgsql;
             CREATE TRIGGER refuse_first_mark BEFORE UPDATE ON mail_outbox
               FOR EACH ROW EXECUTE FUNCTION refuse_first_mark()"
        }
    };
    sqlx::raw_sql(refuse).execute(app.pool()).await.unwrap();

    app.issue_passcode(clinic_a).await;
    app.state.mail_wake.notify_one();
    let received = smtp.wait_for(3).await;
    assert_eq!(
        received.len(),
        3,
        "the round went on after the failed write: {:?}",
        outbox(&app).await
    );
    let statuses: Vec<String> = outbox(&app).await.into_iter().map(|r| r.1).collect();
    assert_eq!(
        statuses,
        ["queued", "sent", "sent"],
        "the first stays claimed, to be sent again"
    );
}
