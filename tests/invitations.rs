//! Invitations by mail, through a real SMTP server (aiosmtpd): an operator invites an address
//! with a role and a clinic, the invitee follows the mailed link and chooses their own password.
//! The link works once, for 72 hours, survives being fetched, and stops working when replaced or
//! revoked; only operators invite; two racing acceptances create one account.

mod common;
#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use common::*;
use portal::domain::Role;
use reqwest::StatusCode;
use smtp::{Mail, SmtpServer, free_port, token_of};
use sqlx::Row;

const PUBLIC_URL: &str = "http://portal.example.jp";
const INVITEE: &str = "new-admin@clinic-a.jp";
const CHOSEN: &str = "a pass phrase of my own";

async fn started() -> (SmtpServer, TestApp, Browser) {
    let smtp = SmtpServer::start(free_port()).await;
    let app = app_mailing_to(Some(smtp.port), |c| c.public_url = Some(PUBLIC_URL.to_owned())).await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    (smtp, app, operator)
}

async fn invite(operator: &Browser, email: &str, role: &str, clinic: &str) -> Page {
    operator
        .submit(
            "/users",
            "/users/invitations",
            &[("email", email), ("role", role), ("clinic", clinic)],
        )
        .await
}

/// The mails to `to` received so far.
fn mails_to(smtp: &SmtpServer, to: &str) -> Vec<Mail> {
    smtp.received().into_iter().filter(|m| m.to == to).collect()
}

/// Waits for the `n`-th mail to `to` and returns the token of its invitation link.
async fn invitation_token(smtp: &SmtpServer, to: &str, n: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mails = mails_to(smtp, to);
        if mails.len() >= n {
            let link = mails[n - 1].link("/invite/").expect("the mail has an invitation link");
            return token_of(&link);
        }
        assert!(std::time::Instant::now() < deadline, "no invitation mail reached {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn accept(browser: &Browser, token: &str, password: &str, confirm: &str) -> Page {
    let csrf = browser.get("/login").await.csrf();
    browser
        .post(
            "/invite",
            &[
                ("csrf", &csrf),
                ("token", token),
                ("password", password),
                ("password_confirm", confirm),
            ],
        )
        .await
}

async fn users_with_email(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invitation_mails_a_link_that_creates_the_account_once() {
    let (smtp, app, operator) = started().await;

    // The link is built from --public-url, whatever Host the request names.
    let csrf = operator.get("/users").await.csrf();
    let response = operator
        .http
        .post(app.url("/users/invitations"))
        .header("host", "attacker.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", INVITEE),
            ("role", "clinic-admin"),
            ("clinic", CLINIC_A),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let users = operator.get("/users").await;
    assert!(users.body.contains("招待しました"), "{}", users.body);
    assert!(users.body.contains("id=\"pending-invitations\""), "{}", users.body);
    assert!(users.body.contains(INVITEE) && users.body.contains("operator@installer.jp"));

    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "one mail, to the invitee");
    let mail = &mails[0];
    assert_eq!(mail.to, INVITEE);
    assert!(
        mail.subject
            .starts_with("【目視モード サポートポータル】アカウントへの招待"),
        "{}",
        mail.subject
    );
    assert!(
        !mail.html.is_empty() && mail.text.contains("医療機関管理者"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Clinic admin") && mail.text.contains("さくら内科クリニック"));
    let link = mail.link("/invite/").expect("a link");
    assert!(link.starts_with(&format!("{PUBLIC_URL}/invite/")), "{link}");
    assert!(!mail.raw.contains("attacker.example"), "the Host header is not used");
    let token = token_of(&link);
    assert_eq!(token.len(), 64);
    assert!(mail.html.contains(&token), "the HTML part has the link too");

    // Opening the link (a mail scanner, then the person) does not use it up.
    let invitee = app.browser();
    for _ in 0..2 {
        let page = invitee.get(&format!("/invite/{token}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert!(page.headers["cache-control"].to_str().unwrap().contains("no-store"));
        assert!(page.body.contains(INVITEE) && page.body.contains("さくら内科クリニック"));
    }

    for (weak, confirm) in [
        ("short", "short"),
        ("123456789012", "123456789012"),
        (CHOSEN, "another pass phrase"),
    ] {
        let refused = accept(&invitee, &token, weak, confirm).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        assert!(refused.body.contains("field-error"), "{}", refused.body);
        assert_eq!(users_with_email(&app, INVITEE).await, 0);
    }

    let accepted = accept(&invitee, &token, CHOSEN, CHOSEN).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(accepted.location(), Some("/login"));
    let login = invitee.get("/login").await;
    assert!(
        login.body.contains("アカウントを作成しました"),
        "sent to sign in, not signed in: {}",
        login.body
    );
    let row = sqlx::query(
        "SELECT u.role, c.code, CASE WHEN u.must_change_password THEN 1 ELSE 0 END
         FROM users u LEFT JOIN clinics c ON c.id = u.clinic_id WHERE u.email = $1",
    )
    .bind(INVITEE)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>(0), "clinic_admin");
    assert_eq!(row.get::<Option<String>, _>(1).as_deref(), Some(CLINIC_A));
    assert_eq!(row.get::<i32, _>(2), 0, "the invitee's own password is not temporary");

    // Used up: the page and the form both refuse it, with the one page for bad links.
    let again = invitee.get(&format!("/invite/{token}")).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("id=\"link-invalid\""));
    assert_eq!(
        accept(&app.browser(), &token, CHOSEN, CHOSEN).await.status,
        StatusCode::GONE
    );
    assert_eq!(users_with_email(&app, INVITEE).await, 1);

    // The invitee signs in with the password they chose, and lands on their clinic.
    let signed_in = app.browser().login(INVITEE, CHOSEN).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
    assert_eq!(app.audit_count("user.invited").await, 1);
    assert_eq!(app.audit_count("invitation.accepted").await, 1);
    assert!(!operator.get("/users").await.body.contains("id=\"pending-invitations\""));

    // The outbox no longer holds the link once the mail is sent; its page never shows bodies.
    let (status, text, html): (String, String, String) =
        sqlx::query_as("SELECT status, body_text, body_html FROM mail_outbox WHERE kind = 'invitation'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(status, "sent");
    assert!(!text.contains(&token) && !html.contains(&token), "{text}");
    assert!(!operator.get("/outbox").await.body.contains("/invite/"));
}

#[tokio::test]
async fn an_expired_invitation_link_is_refused() {
    let (smtp, app, operator) = started().await;
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    let token = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    let (created, expires): (i64, i64) = sqlx::query_as("SELECT created_at, expires_at FROM invitations")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(expires - created, 72 * 3600, "valid for 72 hours");
    assert_eq!(
        app.browser().get(&format!("/invite/{token}")).await.status,
        StatusCode::OK
    );

    sqlx::query("UPDATE invitations SET expires_at = $1")
        .bind(portal::db::now() - 1)
        .execute(app.pool())
        .await
        .unwrap();
    let invitee = app.browser();
    assert_eq!(invitee.get(&format!("/invite/{token}")).await.status, StatusCode::GONE);
    assert_eq!(accept(&invitee, &token, CHOSEN, CHOSEN).await.status, StatusCode::GONE);
    assert_eq!(users_with_email(&app, "agent2@installer.jp").await, 0);
    assert!(!operator.get("/users").await.body.contains("id=\"pending-invitations\""));
    // An unknown token gets the same page.
    let unknown = invitee.get(&format!("/invite/{}", "0".repeat(64))).await;
    assert_eq!(
        (unknown.status, unknown.body.contains("id=\"link-invalid\"")),
        (StatusCode::GONE, true)
    );
    assert_eq!(invitee.get("/invite/not-a-token").await.status, StatusCode::GONE);
}

#[tokio::test]
async fn inviting_the_same_address_again_replaces_the_pending_invitation() {
    let (smtp, app, operator) = started().await;
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    let first = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    let again = invite(&operator, "agent2@installer.jp", "operator", "").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let second = invitation_token(&smtp, "agent2@installer.jp", 2).await;
    assert_ne!(first, second);

    let invitee = app.browser();
    assert_eq!(invitee.get(&format!("/invite/{first}")).await.status, StatusCode::GONE);
    assert_eq!(accept(&invitee, &first, CHOSEN, CHOSEN).await.status, StatusCode::GONE);
    let page = operator.get("/users").await;
    assert_eq!(page.body.matches("agent2@installer.jp").count(), 1, "one pending row");
    assert_eq!(
        accept(&invitee, &second, CHOSEN, CHOSEN).await.status,
        StatusCode::SEE_OTHER
    );
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE email = 'agent2@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(role, "operator", "the newer invitation's role");
}

#[tokio::test]
async fn a_revoked_invitation_link_is_refused() {
    let (smtp, app, operator) = started().await;
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    let token = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM invitations")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let path = format!("/users/invitations/{id}/revoke");
    let revoked = operator.submit("/users", &path, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(operator.get("/users").await.body.contains("招待を取り消しました"));
    assert_eq!(
        app.browser().get(&format!("/invite/{token}")).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        accept(&app.browser(), &token, CHOSEN, CHOSEN).await.status,
        StatusCode::GONE
    );
    assert_eq!(app.audit_count("invitation.revoked").await, 1);
    // A second click finds nothing to revoke, and says so.
    operator.submit("/users", &path, &[]).await;
    assert!(operator.get("/users").await.body.contains("この招待はもうありません"));
    assert_eq!(app.audit_count("invitation.revoked").await, 1);
}

#[tokio::test]
async fn only_operators_invite_or_revoke() {
    let (smtp, app, operator) = started().await;
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    invitation_token(&smtp, "agent2@installer.jp", 1).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM invitations")
        .fetch_one(app.pool())
        .await
        .unwrap();
    for email in ["admin-a@clinic-a.jp", "agent@installer.jp"] {
        let browser = Browser::signed_in(&app, email).await;
        let csrf = browser.get("/guide").await.csrf();
        let invited = browser
            .post(
                "/users/invitations",
                &[("csrf", &csrf), ("email", "x@clinic-a.jp"), ("role", "operator")],
            )
            .await;
        assert_eq!(invited.status, StatusCode::FORBIDDEN, "{email}");
        let revoked = browser
            .post(&format!("/users/invitations/{id}/revoke"), &[("csrf", &csrf)])
            .await;
        assert_eq!(revoked.status, StatusCode::FORBIDDEN, "{email}");
        assert_eq!(browser.get("/users").await.status, StatusCode::FORBIDDEN);
    }
    let anonymous = app.browser();
    let csrf = anonymous.get("/login").await.csrf();
    let invited = anonymous
        .post(
            "/users/invitations",
            &[("csrf", &csrf), ("email", "x@clinic-a.jp"), ("role", "operator")],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    assert!(invited.location().is_some_and(|l| l.starts_with("/login")));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(count, 1, "nothing invited, nothing revoked");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let (smtp, app, operator) = started().await;
    let forged = operator
        .post(
            "/users/invitations",
            &[("csrf", "forged"), ("email", "agent2@installer.jp"), ("role", "agent")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    let token = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    let invitee = app.browser();
    invitee.get(&format!("/invite/{token}")).await;
    let forged = invitee
        .post(
            "/invite",
            &[
                ("csrf", "forged"),
                ("token", &token),
                ("password", CHOSEN),
                ("password_confirm", CHOSEN),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(users_with_email(&app, "agent2@installer.jp").await, 0);
    assert_eq!(invitee.get(&format!("/invite/{token}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn two_racing_acceptances_create_one_account() {
    let (smtp, app, operator) = started().await;
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    let token = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    // Two browsers (each its own CSRF cookie), both with the page open, submit at once.
    let (a, b) = (app.browser(), app.browser());
    let csrf_a = a.get(&format!("/invite/{token}")).await.csrf();
    let csrf_b = b.get(&format!("/invite/{token}")).await.csrf();
    let form = |csrf: String| {
        vec![
            ("csrf", csrf),
            ("token", token.clone()),
            ("password", CHOSEN.to_owned()),
            ("password_confirm", CHOSEN.to_owned()),
        ]
    };
    let (fa, fb) = (form(csrf_a), form(csrf_b));
    let (ra, rb) = tokio::join!(
        a.http.post(app.url("/invite")).form(&fa).send(),
        b.http.post(app.url("/invite")).form(&fb).send(),
    );
    let mut statuses = [ra.unwrap().status(), rb.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE], "exactly one wins");
    assert_eq!(users_with_email(&app, "agent2@installer.jp").await, 1);
    assert_eq!(app.audit_count("invitation.accepted").await, 1);
}

#[tokio::test]
async fn an_address_with_an_account_is_not_invited_and_a_clinic_admin_needs_a_clinic() {
    let (smtp, app, operator) = started().await;
    let taken = invite(&operator, "admin-a@clinic-a.jp", "agent", "").await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("id=\"invite-email-error\""), "{}", taken.body);
    let no_clinic = invite(&operator, "x@clinic-a.jp", "clinic-admin", "").await;
    assert_eq!(no_clinic.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_clinic.body.contains("id=\"invite-clinic-error\""),
        "{}",
        no_clinic.body
    );
    let bad = invite(&operator, "not an address", "agent", "").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An agent belongs to no clinic: a clinic picked by mistake is not kept.
    assert_eq!(
        invite(&operator, "agent2@installer.jp", "agent", CLINIC_A).await.status,
        StatusCode::SEE_OTHER
    );
    let token = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    assert_eq!(
        accept(&app.browser(), &token, CHOSEN, CHOSEN).await.status,
        StatusCode::SEE_OTHER
    );
    let clinic: Option<i64> = sqlx::query_scalar("SELECT clinic_id FROM users WHERE email = 'agent2@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(clinic, None);
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'invitation'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(queued, 1, "refused invitations mail nothing");
}

#[tokio::test]
async fn without_mail_the_invite_form_says_so_and_refuses() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/users").await;
    assert!(page.body.contains("id=\"invite-mail-off\""), "{}", page.body);
    assert!(!page.body.contains("id=\"invite-form\""));
    let refused = invite(&operator, "agent2@installer.jp", "agent", "").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"invite-error\"") && refused.body.contains("--smtp-url"));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
    // The command line's and the create form's way stays.
    app.add_user("agent2@installer.jp", Role::Agent, None).await;
}

#[tokio::test]
async fn an_invitation_revoked_while_the_smtp_server_is_down_is_never_sent() {
    // Nothing listens on this port: the invitation's mail waits in the outbox.
    let app = app_mailing_to(Some(free_port()), |c| c.public_url = Some(PUBLIC_URL.to_owned())).await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    invite(&operator, "agent2@installer.jp", "agent", "").await;
    let waiting = app
        .number("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'invitation'")
        .await;
    assert_eq!(waiting, 1);
    let id = app.number("SELECT id FROM invitations").await;
    let revoked = operator
        .submit("/users", &format!("/users/invitations/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    // Its mail is withdrawn with it: the outbox holds no working link, and nothing goes out later.
    let left = app
        .number("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'invitation'")
        .await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn disabling_an_operator_revokes_the_invitations_they_sent() {
    let (smtp, app, operator) = started().await;
    app.add_user("second-op@installer.jp", Role::Operator, None).await;
    let second = Browser::signed_in(&app, "second-op@installer.jp").await;
    invite(&second, "agent2@installer.jp", "operator", "").await;
    let token = invitation_token(&smtp, "agent2@installer.jp", 1).await;
    invite(&operator, "agent3@installer.jp", "agent", "").await;
    let kept = invitation_token(&smtp, "agent3@installer.jp", 1).await;

    let id = app
        .number("SELECT id FROM users WHERE email = 'second-op@installer.jp'")
        .await;
    let disabled = operator
        .submit("/users", &format!("/users/{id}/disable"), &[("confirm", "yes")])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    // The let-go operator's link no longer makes an account; the other operator's still does.
    assert_eq!(
        app.browser().get(&format!("/invite/{token}")).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        accept(&app.browser(), &token, CHOSEN, CHOSEN).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        accept(&app.browser(), &kept, CHOSEN, CHOSEN).await.status,
        StatusCode::SEE_OTHER
    );
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'user.disabled'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(detail.contains("\"invitations_revoked\":\"1\""), "{detail}");
}

#[tokio::test]
async fn with_mail_on_operators_never_type_a_password_for_someone() {
    let (smtp, app, operator) = started().await;
    let page = operator.get("/users").await;
    assert!(page.body.contains("id=\"invite-form\""));
    assert!(
        !page.body.contains("id=\"create-account\""),
        "no form with a typed password"
    );
    assert!(!page.body.contains("name=\"password\""), "no password field at all");
    let created = operator
        .submit(
            "/users",
            "/users",
            &[
                ("email", "typed@installer.jp"),
                ("role", "agent"),
                ("clinic", ""),
                ("password", "a typed pass phrase"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY);
    let none = app
        .number("SELECT COUNT(*) FROM users WHERE email = 'typed@installer.jp'")
        .await;
    assert_eq!(none, 0);

    // A forgotten password: the operator mails a reset link instead of typing one.
    let admin_id = app
        .number("SELECT id FROM users WHERE email = 'admin-a@clinic-a.jp'")
        .await;
    assert!(page.body.contains(&format!("id=\"reset-link-{admin_id}\"")));
    let typed = operator
        .submit(
            "/users",
            &format!("/users/{admin_id}/password"),
            &[("password", "a typed pass phrase")],
        )
        .await;
    assert_eq!(typed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.browser()
            .login("admin-a@clinic-a.jp", "a typed pass phrase")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let sent = operator
        .submit("/users", &format!("/users/{admin_id}/password-link"), &[])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert!(
        operator
            .get("/users")
            .await
            .body
            .contains("再設定のリンクを本人にメールで送りました")
    );
    assert_eq!(app.audit_count("password.reset_link_sent").await, 1);
    let mail = loop {
        if let Some(m) = mails_to(&smtp, "admin-a@clinic-a.jp")
            .into_iter()
            .find(|m| m.link("/password/reset/").is_some())
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let token = token_of(&mail.link("/password/reset/").unwrap());
    let browser = app.browser();
    let csrf = browser.get(&format!("/password/reset/{token}")).await.csrf();
    let set = browser
        .post(
            "/password/reset",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", CHOSEN),
                ("password_confirm", CHOSEN),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert_eq!(
        app.browser().login("admin-a@clinic-a.jp", CHOSEN).await.status,
        StatusCode::SEE_OTHER,
        "the password the user chose, not a temporary one"
    );
}

#[tokio::test]
async fn a_mailed_link_opened_while_a_password_change_is_due_is_not_carried_in_next() {
    let (_smtp, app, _operator) = started().await;
    let browser = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    sqlx::query("UPDATE users SET must_change_password = (1 = 1) WHERE email = 'admin-a@clinic-a.jp'")
        .execute(app.pool())
        .await
        .unwrap();
    let token = "ab".repeat(32);
    for path in [format!("/invite/{token}"), format!("/password/reset/{token}")] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        let location = page.location().unwrap();
        assert!(location.starts_with("/account/password"), "{location}");
        assert!(!location.contains(&token), "the token travels on in {location}");
    }
}
