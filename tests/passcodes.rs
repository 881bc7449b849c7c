//! Issuing and rotating the passcode through the web UI, and what must never leak.

mod common;

use common::{Browser, CLINIC_A, CLINIC_B, TestApp, other_code};
use portal::domain::Role;
use reqwest::StatusCode;

async fn setup() -> (TestApp, i64, i64) {
    let app = TestApp::spawn().await;
    let (a, b) = app.with_two_clinics().await;
    (app, a, b)
}

#[tokio::test]
async fn a_clinic_admin_issues_a_code_that_is_shown_once_and_never_again() {
    let (app, _, _) = setup().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;

    let passcode_page = admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
    assert_eq!(passcode_page.status, StatusCode::OK);
    assert!(passcode_page.body.contains("未発行"));

    // The confirm step changes nothing by itself.
    let confirm = admin.get(&format!("/clinics/{CLINIC_A}/passcode/issue")).await;
    assert!(confirm.body.contains("発行"));
    assert_eq!(app.audit_count("passcode.issued").await, 0);

    let issued = admin.issue_passcode(CLINIC_A).await;
    assert_eq!(issued.status, StatusCode::OK);
    let code = issued
        .element_text("new-passcode")
        .expect("the code is in #new-passcode");
    assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
    assert!(issued.body.contains("二度と表示できません"));
    let cache = issued.headers.get("cache-control").unwrap().to_str().unwrap();
    assert!(cache.contains("no-store"), "{cache}");
    assert!(
        issued.location().is_none(),
        "the code is rendered, never redirected to a URL"
    );

    // Opening the pages again never shows it.
    for path in [
        format!("/clinics/{CLINIC_A}/passcode"),
        format!("/clinics/{CLINIC_A}"),
        "/".to_owned(),
    ] {
        let page = admin.get(&path).await;
        assert!(!page.body.contains("id=\"new-passcode\""), "{path}");
    }
    let page = admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
    assert!(
        page.body.contains("admin-a@clinic-a.jp"),
        "the history names who issued it"
    );
    assert_eq!(app.audit_count("passcode.issued").await, 1);
}

#[tokio::test]
async fn rotating_the_passcode_rejects_the_old_one_at_once() {
    let (app, a, _) = setup().await;
    let token = app.add_reader(a, "受付1").await;
    let reader = app.reader(&token);
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;

    let first = admin
        .issue_passcode(CLINIC_A)
        .await
        .element_text("new-passcode")
        .unwrap();
    let ok: serde_json::Value = reader.verify(&first).await.json().await.unwrap();
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["generation"], 1);

    let second = admin
        .issue_passcode(CLINIC_A)
        .await
        .element_text("new-passcode")
        .unwrap();
    assert_ne!(first, second, "a new code never equals the one it replaces");
    let old: serde_json::Value = reader.verify(&first).await.json().await.unwrap();
    assert_eq!(old["ok"], false);
    assert_eq!(old["generation"], 2);
    let new: serde_json::Value = reader.verify(&second).await.json().await.unwrap();
    assert_eq!(new["ok"], true);
    assert_eq!(new["generation"], 2);
}

#[tokio::test]
async fn consecutive_codes_always_differ() {
    let (app, a, _) = setup().await;
    let mut previous = app.issue_passcode(a).await;
    for _ in 0..25 {
        let next = app.issue_passcode(a).await;
        assert_ne!(previous, next);
        previous = next;
    }
    let current = portal::db::passcodes::current(app.store(), a).await.unwrap().unwrap();
    assert_eq!(current.generation, 26);
    let superseded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM passcodes WHERE clinic_id = $1 AND superseded_at IS NOT NULL")
            .bind(a)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(superseded, 25, "exactly one current generation");
}

/// The code may appear in the raw bytes only inside long random-looking runs (hashes, salts,
/// tokens); a stored plain code would stand alone or beside short text.
fn stands_alone_in(haystack: &[u8], code: &str) -> bool {
    let needle = code.as_bytes();
    let is_token_char =
        |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'$' || b == b'=' || b == b'_';
    haystack
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .any(|(i, _)| {
            let mut start = i;
            while start > 0 && is_token_char(haystack[start - 1]) {
                start -= 1;
            }
            let mut end = i + 4;
            while end < haystack.len() && is_token_char(haystack[end]) {
                end += 1;
            }
            end - start < 16
        })
}

#[tokio::test]
async fn the_code_is_absent_from_the_database_files() {
    let (app, a, _) = setup().await;
    let token = app.add_reader(a, "受付1").await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let code = admin
        .issue_passcode(CLINIC_A)
        .await
        .element_text("new-passcode")
        .unwrap();
    // Verify it (right and wrong) so attempts are written too.
    app.reader(&token).verify(&code).await;
    app.reader(&token).verify(&other_code(&code)).await;

    let stored: String = sqlx::query_scalar("SELECT code_hash FROM passcodes WHERE clinic_id = $1")
        .bind(a)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");

    let engine = app.engine();
    let dir = app.stop().await;
    let mut bytes = Vec::new();
    match engine {
        common::Engine::Sqlite => {
            for name in ["portal.db", "portal.db-wal"] {
                if let Ok(b) = std::fs::read(dir.path().join(name)) {
                    bytes.extend(b);
                }
            }
        }
        common::Engine::Postgres => {
            // The files of the portal's own relations (objects made after initdb: tables,
            // indexes, TOAST), written out by a checkpoint and read by the server for us.
            let pool = common::any_pool(&common::database_url(dir.path()));
            sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
            let files: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT pg_read_binary_file(pg_relation_filepath(oid)) FROM pg_class
                 WHERE oid >= 16384 AND pg_relation_filepath(oid) IS NOT NULL",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            bytes.extend(files.into_iter().flatten());
        }
    }
    assert!(!bytes.is_empty());
    assert!(
        !stands_alone_in(&bytes, &code),
        "the plain code {code} is stored somewhere"
    );
    // The detector itself finds a plainly stored code.
    assert!(stands_alone_in(b"\x15\x01admin1234\x00", "1234"));
}

#[tokio::test]
async fn other_clinics_passcode_pages_are_not_found_and_audited() {
    let (app, _, b) = setup().await;
    let admin_a = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    for path in [
        format!("/clinics/{CLINIC_B}"),
        format!("/clinics/{CLINIC_B}/passcode"),
        format!("/clinics/{CLINIC_B}/passcode/issue"),
    ] {
        assert_eq!(admin_a.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let csrf = admin_a.get(&format!("/clinics/{CLINIC_A}")).await.csrf();
    let post = admin_a
        .post(&format!("/clinics/{CLINIC_B}/passcode"), &[("csrf", &csrf)])
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    assert!(
        portal::db::passcodes::current(app.store(), b).await.unwrap().is_none(),
        "nothing issued for B"
    );
    assert_eq!(app.audit_count("access.denied").await, 4);
}

#[tokio::test]
async fn only_the_clinics_own_admin_issues_on_the_web() {
    let (app, a, _) = setup().await;
    for email in ["operator@installer.jp", "agent@installer.jp"] {
        let browser = Browser::signed_in(&app, email).await;
        let page = browser.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
        assert_eq!(page.status, StatusCode::OK, "{email} may see the history");
        assert!(!page.body.contains("/passcode/issue\""), "{email} gets no issue button");
        let csrf = page.csrf();
        let post = browser
            .post(&format!("/clinics/{CLINIC_A}/passcode"), &[("csrf", &csrf)])
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{email}");
    }
    assert!(portal::db::passcodes::current(app.store(), a).await.unwrap().is_none());
}

#[tokio::test]
async fn the_admin_sees_why_a_passcode_was_disabled() {
    let (app, a, _) = setup().await;
    let code = app.issue_passcode(a).await;
    let wrong = other_code(&code);
    let readers = [app.add_reader(a, "受付1").await, app.add_reader(a, "受付2").await];
    for token in &readers {
        for _ in 0..5 {
            app.reader(token).verify(&wrong).await;
        }
    }
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let page = admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
    assert!(page.body.contains("パスコードは停止されています"), "{}", page.body);
    assert!(page.body.contains("上限の回数に達したため"));
    assert!(
        page.body.contains("合わせて10回になると"),
        "the rule with the real number"
    );

    // Issuing a new one brings the clinic back.
    let fresh = admin
        .issue_passcode(CLINIC_A)
        .await
        .element_text("new-passcode")
        .unwrap();
    app.state.sync_live().await;
    let third = app.add_reader(a, "受付3").await;
    let answer: serde_json::Value = app.reader(&third).verify(&fresh).await.json().await.unwrap();
    assert_eq!(answer["ok"], true);
}

#[tokio::test]
async fn sending_the_confirmed_form_again_issues_no_second_code() {
    let (app, clinic_a, _) = setup().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let (csrf, issue_token) = admin.confirm_issue(CLINIC_A).await;
    let form = [("csrf", csrf.as_str()), ("issue_token", issue_token.as_str())];
    let action = format!("/clinics/{CLINIC_A}/passcode");

    let first = admin.post(&action, &form).await;
    assert_eq!(first.status, StatusCode::OK);
    let code = first.element_text("new-passcode").expect("the code is shown");

    // A reload (the browser resends the same form) and a double click.
    for _ in 0..2 {
        let again = admin.post(&action, &form).await;
        assert_eq!(again.status, StatusCode::OK);
        assert!(again.body.contains("id=\"already-issued\""), "{}", again.body);
        assert!(again.element_text("new-passcode").is_none(), "no code on a replay");
        assert!(
            !stands_alone_in(again.body.as_bytes(), &code),
            "the code is not shown again"
        );
        assert!(
            again.body.contains(&format!("/clinics/{CLINIC_A}/passcode/issue")),
            "offers a new issue"
        );
    }
    assert_eq!(
        app.audit_count("passcode.issued").await,
        1,
        "exactly one code was issued"
    );
    // And the code written down still works at a reader.
    let reader = app.reader(&app.add_reader(clinic_a, "受付").await);
    assert_eq!(reader.verify(&code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_double_click_sent_in_parallel_issues_exactly_one_code() {
    let (app, _, _) = setup().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let (csrf, issue_token) = admin.confirm_issue(CLINIC_A).await;
    let action = format!("/clinics/{CLINIC_A}/passcode");
    let sends: Vec<_> = (0..6)
        .map(|_| {
            let (tab, action, csrf, issue_token) = (admin.clone(), action.clone(), csrf.clone(), issue_token.clone());
            tokio::spawn(async move {
                tab.post(&action, &[("csrf", &csrf), ("issue_token", &issue_token)])
                    .await
            })
        })
        .collect();
    let mut pages = Vec::new();
    for send in sends {
        pages.push(send.await.expect("send"));
    }
    let shown = pages
        .iter()
        .filter(|p| p.element_text("new-passcode").is_some())
        .count();
    assert_eq!(shown, 1, "one send shows the code, the others say it was issued");
    assert!(pages.iter().all(|p| p.status == StatusCode::OK));
    assert_eq!(app.audit_count("passcode.issued").await, 1);
}

#[tokio::test]
async fn an_issue_token_works_only_for_its_own_user_and_is_required() {
    let (app, _, _) = setup().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let action = format!("/clinics/{CLINIC_A}/passcode");
    // No token, or a made-up one: nothing is issued; the confirmation is asked again.
    let csrf = admin.get(&format!("/clinics/{CLINIC_A}/passcode/issue")).await.csrf();
    for token in ["", "0123456789abcdef"] {
        let page = admin.post(&action, &[("csrf", &csrf), ("issue_token", token)]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.element_text("new-passcode").is_none());
        assert!(page.body.contains("name=\"issue_token\""), "asks to confirm again");
    }
    // Another admin of the same clinic cannot use this admin's confirmation.
    app.add_user("admin-a2@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;
    let (_, token) = admin.confirm_issue(CLINIC_A).await;
    let colleague = Browser::signed_in(&app, "admin-a2@clinic-a.jp").await;
    let csrf = colleague
        .get(&format!("/clinics/{CLINIC_A}/passcode/issue"))
        .await
        .csrf();
    let page = colleague
        .post(&action, &[("csrf", &csrf), ("issue_token", &token)])
        .await;
    assert!(page.element_text("new-passcode").is_none());
    assert_eq!(app.audit_count("passcode.issued").await, 0);
}
