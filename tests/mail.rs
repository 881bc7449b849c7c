//! Mail through a real SMTP server (Python's aiosmtpd, started on 127.0.0.1 by each test, saving
//! every message into a Maildir): passcode notices reach every clinic admin without the code, a
//! message made while the server is down arrives once it is up, the command line enqueues too.

mod common;
#[path = "support/smtp.rs"]
mod smtp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use portal::domain::{Role, Secret};
use reqwest::StatusCode;
use sqlx::Row;

/// A python3 that has aiosmtpd (Debian's `python3-aiosmtpd` lives under /usr/bin/python3, which a
/// pyenv shim on PATH may hide); installed when missing, as scripts/test.sh does.
fn python() -> String {
    let has = |py: &str| {
        Command::new(py)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for py in ["/usr/bin/python3", "python3"] {
        if has(py) {
            return py.to_owned();
        }
    }
    let _ = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
        .status();
    assert!(
        has("python3"),
        "aiosmtpd is missing: apt-get install python3-aiosmtpd (or pip install aiosmtpd)"
    );
    "python3".to_owned()
}

struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    async fn start(port: u16, dir: &Path) -> Self {
        // Maildir creates its new/cur/tmp only in a directory it makes itself.
        let maildir = dir.join("box");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, maildir }
    }

    /// The raw messages received so far.
    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for entry in entries.flatten() {
                    out.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn app_mailing_to(port: u16) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    TestApp::spawn_with(dir, |c| {
        c.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
        c.mail_from = "portal@installer.example.jp".to_owned();
        c.mail_retry_base_s = 1;
        c.mail_poll_ms = 200;
    })
    .await
}

fn recipient_of(raw: &str) -> String {
    raw.lines()
        .find_map(|l| l.strip_prefix("To: "))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

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
    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    let app = app_mailing_to(port).await;
    app.with_two_clinics().await;
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let issued = admin.issue_passcode(CLINIC_A).await;
    let code = issued.element_text("new-passcode").expect("the code is shown");

    let messages = smtp.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = if smtp.messages().len() > messages.len() {
        smtp.messages()
    } else {
        messages
    };
    let mut to: Vec<String> = messages.iter().map(|m| recipient_of(m)).collect();
    to.sort();
    assert_eq!(
        to,
        ["admin-a2@clinic-a.jp", "admin-a@clinic-a.jp"],
        "one mail per admin of the clinic"
    );
    for raw in &messages {
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
    let app = app_mailing_to(port).await;
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

    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1, "delivered once the server is up");
    assert_eq!(recipient_of(&messages[0]), "admin-a@clinic-a.jp");
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox(&app).await[0].1 != "sent" {
        assert!(Instant::now() < deadline, "marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
    assert_eq!(app.state.metrics.outbox_queued.get(), 0, "nothing left queued");
    let page = operator.get("/outbox").await;
    assert!(page.body.contains("送信済み"), "{}", page.body);
}

#[tokio::test]
async fn issuing_from_the_command_line_enqueues_the_notice_in_the_same_transaction() {
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    let app = app_mailing_to(port).await;
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
    assert_eq!(recipient_of(&messages[0]), "admin-a@clinic-a.jp");
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
    let server = smtp::SmtpServer::tls(port, kind, &cert, &key).await;
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
