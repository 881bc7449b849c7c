//! Every signed-in user changes their own password; an operator-set one is temporary.

mod common;

use common::{Browser, CLINIC_A, PASSWORD, TestApp};
use reqwest::StatusCode;

const NEW: &str = "a pass phrase of my own";

async fn change(browser: &Browser, current: &str, new: &str, again: &str) -> common::Page {
    browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("new_password_confirm", again),
            ],
        )
        .await
}

#[tokio::test]
async fn a_user_changes_their_password_and_is_signed_out_everywhere_else() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let here = Browser::signed_in(&app, "agent@installer.jp").await;
    let elsewhere = Browser::signed_in(&app, "agent@installer.jp").await;

    let wrong = change(&here, "not my password at all", NEW, NEW).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("id=\"current_password-error\""),
        "error next to the field"
    );
    assert!(wrong.body.contains("現在のパスワードが正しくありません"));
    let mismatch = change(&here, PASSWORD, NEW, "a pass phrase of my owm").await;
    assert!(mismatch.body.contains("id=\"new_password_confirm-error\""));
    let short = change(&here, PASSWORD, "short", "short").await;
    assert!(short.body.contains("id=\"new_password-error\""));
    // Long enough, but on the shipped list of common and breached passwords, in any case.
    let common = change(&here, PASSWORD, "Qwertyuiop123", "Qwertyuiop123").await;
    assert_eq!(common.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(common.body.contains("id=\"new_password-error\""));
    assert!(
        common.body.contains("漏えいしたパスワードの一覧に載っています"),
        "{}",
        common.body
    );
    let same = change(&here, PASSWORD, PASSWORD, PASSWORD).await;
    assert!(same.body.contains("現在のものと別にしてください"));
    assert!(!same.body.contains(PASSWORD), "passwords are never echoed");

    let done = change(&here, PASSWORD, NEW, NEW).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let landing = here.get("/desk").await;
    assert_eq!(landing.status, StatusCode::OK, "this session stays signed in");
    assert!(
        landing.body.contains("パスワードを変更しました"),
        "the page says what happened"
    );
    assert!(
        !here.get("/desk").await.body.contains("パスワードを変更しました"),
        "once"
    );
    assert_eq!(
        elsewhere.get("/desk").await.location(),
        Some("/login?next=%2Fdesk"),
        "other sessions end"
    );
    assert_eq!(
        app.browser().login("agent@installer.jp", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser().login("agent@installer.jp", NEW).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.audit_count("user.password_changed").await, 1);
}

#[tokio::test]
async fn a_password_an_operator_set_must_be_changed_before_anything_else() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin-a@clinic-a.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let reset = operator
        .submit(
            "/users",
            &format!("/users/{admin_id}/password"),
            &[("password", "temporary pass phrase")],
        )
        .await;
    assert_eq!(reset.location(), Some("/users"));
    assert!(
        operator
            .get("/users")
            .await
            .body
            .contains("仮のパスワードを設定しました")
    );
    assert_eq!(
        admin.get("/").await.location(),
        Some("/login"),
        "a reset ends the user's sessions"
    );

    let admin = app.browser();
    let signed_in = admin.login("admin-a@clinic-a.jp", "temporary pass phrase").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let passcode = format!("/clinics/{CLINIC_A}/passcode");
    let held = admin.get(&passcode).await;
    assert_eq!(
        held.location(),
        Some(format!("/account/password?next=%2Fclinics%2F{CLINIC_A}%2Fpasscode").as_str())
    );
    let csrf = admin.get("/account/password").await.csrf();
    let refused = admin
        .post(&format!("/clinics/{CLINIC_A}/passcode"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "no form acts before the change");
    assert_eq!(app.audit_count("passcode.issued").await, 0);
    let form = admin
        .get(&format!("/account/password?next=%2Fclinics%2F{CLINIC_A}%2Fpasscode"))
        .await;
    assert!(form.body.contains("id=\"password-required\""));
    let changed = admin
        .post(
            "/account/password",
            &[
                ("csrf", &form.csrf()),
                ("current_password", "temporary pass phrase"),
                ("new_password", NEW),
                ("new_password_confirm", NEW),
                ("next", &passcode),
            ],
        )
        .await;
    assert_eq!(
        changed.location(),
        Some(passcode.as_str()),
        "back to where they were going"
    );
    assert_eq!(admin.get(&passcode).await.status, StatusCode::OK);
}

#[tokio::test]
async fn guessing_the_current_password_from_an_open_session_is_throttled() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let browser = Browser::signed_in(&app, "agent@installer.jp").await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        statuses.push(
            change(&browser, &format!("guess number {n} wrong"), NEW, NEW)
                .await
                .status,
        );
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}
