//! The installer's own support desk: operators set it on the desk settings page (or from the
//! command line), and clinics see it where the manual says to call the installer, on the help
//! pages, in every page's footer and on error pages, with the phone number as a `tel:` link.

mod common;

use std::time::Duration;

use common::{Browser, CLINIC_A, TestApp};
use reqwest::StatusCode;

const TEL: &str = "href=\"tel:0120-123-456\"";

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    app
}

async fn set_desk(operator: &Browser, name: &str, phone: &str, hours: &str) -> common::Page {
    operator
        .submit(
            "/desk/settings",
            "/desk/settings/installer",
            &[("name", name), ("phone", phone), ("hours", hours)],
        )
        .await
}

#[tokio::test]
async fn before_an_operator_sets_the_desk_clinics_see_nothing_installer_specific_and_operators_a_reminder() {
    let app = app().await;
    let visitor = app.browser();
    let b7 = visitor.get("/guide/mokushi/B-7").await;
    assert!(!b7.body.contains("href=\"tel:") && !b7.body.contains("footer-installer"));
    assert!(b7.body.contains("設置した業者のサポート窓口へお願いします"));
    assert!(!b7.body.contains("未設定"), "clinics are not told about settings");
    assert!(!visitor.get("/nope").await.body.contains("error-installer"));

    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/guide/mokushi/B-7").await;
    assert!(page.body.contains("未設定") && page.body.contains("href=\"/desk/settings#installer-settings\""));
}

#[tokio::test]
async fn an_operator_sets_the_desk_and_the_guide_help_pages_footer_and_error_pages_show_it() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let saved = set_desk(&operator, " オプテック ", "0120-123-456", "平日 9:00～18:00").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("installer_desk.changed").await, 1);
    let settings = operator.get("/desk/settings").await;
    assert!(settings.body.contains("value=\"オプテック\"") && settings.body.contains("value=\"0120-123-456\""));

    let visitor = app.browser();
    // Where the manual says to call the installer: B-7 (cannot switch), C-3 (password screen).
    for step in ["B-7", "C-3"] {
        let page = visitor.get(&format!("/guide/mokushi/{step}")).await;
        let card = page.body.split("installer-card").nth(1).expect("the installer's card");
        assert!(
            card.contains(TEL) && card.contains("オプテック") && card.contains("平日 9:00～18:00"),
            "{step}"
        );
    }
    assert!(
        visitor
            .get("/guide/mokushi/B-7")
            .await
            .body
            .contains("この手順コードをお伝えください")
    );
    // The help page: "tell us this code on the phone" now says whom to call.
    let help = visitor.get("/guide/mokushi/B-4/help").await;
    assert!(
        help.body
            .split("installer-card")
            .nth(1)
            .is_some_and(|c| c.contains(TEL))
    );
    // The national centre stays where the manual names it.
    assert!(help.body.contains("href=\"tel:0800-080-4583\""));
    let a1 = visitor.get("/guide/mokushi/A-1").await;
    assert!(a1.body.contains("0800-080-4583") && !a1.body.contains("installer-card"));
    // Every page's footer, signed in or not.
    for path in ["/login", "/guide", "/guide/mokushi/D-1"] {
        let footer = visitor.get(path).await.body;
        let footer = footer.split("<footer").nth(1).expect("a footer");
        assert!(footer.contains(TEL) && footer.contains("オプテック"), "{path}");
    }
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let requests = admin.get(&format!("/clinics/{CLINIC_A}/requests")).await;
    assert!(requests.body.contains("お急ぎの場合はお電話ください") && requests.body.matches(TEL).count() >= 2);
    // Error pages, which are made without the page context.
    let missing = visitor.get("/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("id=\"error-installer\"") && missing.body.contains(TEL));
    let forbidden = admin.get("/desk/settings").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(forbidden.body.contains(TEL));

    // All fields empty clears it again.
    set_desk(&operator, "", "", "").await;
    assert!(!visitor.get("/guide/mokushi/B-7").await.body.contains(TEL));
}

#[tokio::test]
async fn a_phone_number_that_is_not_digits_and_hyphens_is_refused_keeping_what_was_typed() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let refused = set_desk(&operator, "オプテック", "0120 123 456 (代表)", "平日").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("電話番号は数字とハイフンで入力してください"));
    assert!(refused.body.contains("value=\"0120 123 456 (代表)\"") && refused.body.contains("value=\"オプテック\""));
    let long = set_desk(&operator, &"社".repeat(61), "0120-123-456", "").await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.audit_count("installer_desk.changed").await, 0);
    // Full-width digits typed with a Japanese input method are fine.
    set_desk(&operator, "オプテック", "０１２０－１２３－４５６", "").await;
    assert!(app.browser().get("/login").await.body.contains(TEL));
    // Only operators set it.
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let denied = agent
        .submit(
            "/guide",
            "/desk/settings/installer",
            &[("name", "x"), ("phone", "0120-000-000")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_desk_set_from_the_command_line_reaches_the_running_portal() {
    let app = app().await;
    let dir = app.dir.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        common::portal_command(&dir)
            .args(["installer", "set", "--name", "オプテック", "--phone", "0120-123-456"])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run portal")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The server did not make the change: it learns of it from the cache_events tail.
    let visitor = app.browser();
    let mut footer = String::new();
    for _ in 0..200 {
        footer = visitor.get("/login").await.body;
        if footer.contains(TEL) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(footer.contains(TEL), "the footer shows the desk set by another process");
    assert_eq!(app.audit_count("installer_desk.changed").await, 1);
}
