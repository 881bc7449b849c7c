//! Tokens can be carried: the pages that show a reader's device token or an API token once have
//! a copy button (a JavaScript enhancement; without it the token is selectable text), and the
//! device token is also a QR code, generated in the portal. Still shown once and never stored.

mod common;

use common::{Browser, CLINIC_A, TestApp};
use reqwest::StatusCode;

/// No inline script or style: the page's Content-Security-Policy forbids them.
fn assert_csp_clean(body: &str) {
    assert!(!body.contains(" style="), "no inline style");
    for script in body.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains("src=\"/static/"), "no inline script: <script{tag}>");
    }
}

#[tokio::test]
async fn a_new_reader_token_comes_with_a_copy_button_and_a_qr_code_of_exactly_that_token() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let clinic_page = format!("/clinics/{CLINIC_A}");
    let enrolled = admin.enroll_reader(CLINIC_A, "受付1", "standalone").await;
    assert_eq!(enrolled.status, StatusCode::OK);
    assert!(enrolled.headers["cache-control"].to_str().unwrap().contains("no-store"));
    let token = enrolled.element_text("device-token").expect("the token as text");
    // Selectable text without JavaScript; the button is shown by the script.
    assert!(
        enrolled
            .body
            .contains("<code id=\"device-token\" class=\"selectable\">")
    );
    let button = enrolled
        .body
        .split("id=\"copy-device-token\"")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    assert!(button.contains("data-copy=\"device-token\"") && button.contains(" hidden"));
    assert!(
        enrolled
            .body
            .contains("<script src=\"/static/copy.js\" defer></script>")
    );
    assert_csp_clean(&enrolled.body);

    // The QR code is the token itself, drawn by the portal.
    let qr = enrolled.body.split("class=\"token-qr\"").nth(1).expect("a QR code");
    let svg = &qr[qr.find("<svg").unwrap()..qr.find("</svg>").unwrap() + 6];
    let expected = qrcode::QrCode::with_error_correction_level(token.as_bytes(), qrcode::EcLevel::M)
        .unwrap()
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .build();
    assert!(expected.ends_with(svg), "the QR code encodes the device token");
    assert!(qr.contains("role=\"img\""));

    let again = admin.get(&clinic_page).await;
    assert!(
        !again.body.contains(&token) && !again.body.contains("token-qr"),
        "shown once"
    );
    let js = reqwest::get(app.url("/static/copy.js")).await.unwrap();
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
}

#[tokio::test]
async fn a_new_api_token_comes_with_a_copy_button_and_stays_out_of_caches() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let created = agent
        .submit("/account/tokens", "/account/tokens", &[("name", "電話システム")])
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.headers["cache-control"].to_str().unwrap().contains("no-store"));
    let token = created.element_text("api-token").expect("the token as text");
    assert!(created.body.contains("<code id=\"api-token\" class=\"selectable\">"));
    assert!(created.body.contains("data-copy=\"api-token\""));
    assert!(created.body.contains("<script src=\"/static/copy.js\" defer></script>"));
    assert_csp_clean(&created.body);
    let list = agent.get("/account/tokens").await;
    assert!(
        !list.body.contains(&token) && !list.body.contains("copy.js"),
        "shown once"
    );
}
