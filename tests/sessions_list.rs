//! Every signed-in user sees where they are signed in (browser, address, last used) and ends
//! any of those sessions; signing out and a password change keep the list true.

mod common;

use common::{Browser, PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";

async fn signed_in_with(app: &TestApp, email: &str, user_agent: &str) -> Browser {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    let browser = app.browser_with(http);
    assert_eq!(browser.login(email, PASSWORD).await.status, StatusCode::SEE_OTHER);
    browser
}

/// The ids in the page's "end this session" forms.
fn endable(body: &str) -> Vec<i64> {
    body.match_indices("action=\"/account/sessions/")
        .filter_map(|(at, m)| {
            let rest = &body[at + m.len()..];
            rest[..rest.find('/')?].parse().ok()
        })
        .collect()
}

#[tokio::test]
async fn a_user_sees_their_sessions_and_ends_another_one() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let here = signed_in_with(&app, "agent@installer.jp", FIREFOX).await;
    let there = signed_in_with(&app, "agent@installer.jp", EDGE).await;
    let someone_else = signed_in_with(&app, "operator@installer.jp", FIREFOX).await;

    let list = here.get("/account/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Firefox · Linux"), "{}", list.body);
    assert!(list.body.contains("Edge · Windows"));
    assert!(list.body.contains("127.0.0.1"), "the address is shown");
    assert_eq!(list.body.matches("この端末（いま使用中）").count(), 1);
    let others = endable(&list.body);
    assert_eq!(others.len(), 1, "only the other browser can be ended from here");
    let theirs = endable(&someone_else.get("/account/sessions").await.body);
    assert!(theirs.is_empty(), "another user's sessions are not listed: {theirs:?}");

    // Another user's session (the operator's other browser would be one): no such session here.
    let own_of_operator = {
        let second = signed_in_with(&app, "operator@installer.jp", EDGE).await;
        let ids = endable(&someone_else.get("/account/sessions").await.body);
        assert_eq!(ids.len(), 1);
        (second, ids[0])
    };
    let csrf = here.get("/account/sessions").await.csrf();
    let refused = here
        .post(
            &format!("/account/sessions/{}/end", own_of_operator.1),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        own_of_operator.0.get("/desk").await.status,
        StatusCode::OK,
        "still signed in"
    );
    let forged = here
        .post(&format!("/account/sessions/{}/end", others[0]), &[("csrf", "nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "CSRF is checked");
    assert_eq!(there.get("/desk").await.status, StatusCode::OK);

    let ended = here
        .post(&format!("/account/sessions/{}/end", others[0]), &[("csrf", &csrf)])
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(ended.location(), Some("/account/sessions"));
    let after = here.get("/account/sessions").await;
    assert!(after.body.contains("そのセッションを終了しました"));
    assert!(!after.body.contains("Edge · Windows"), "gone from the list");
    assert_eq!(
        there.get("/desk").await.location(),
        Some("/login?next=%2Fdesk"),
        "the ended browser is signed out at its next request"
    );
    assert_eq!(here.get("/desk").await.status, StatusCode::OK, "this one is not");
    let again = here
        .post(&format!("/account/sessions/{}/end", others[0]), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "an ended session cannot be ended twice"
    );

    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.ended'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn signing_out_and_a_password_change_end_the_listed_sessions() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let here = signed_in_with(&app, "agent@installer.jp", FIREFOX).await;
    let leaving = signed_in_with(&app, "agent@installer.jp", EDGE).await;
    assert_eq!(endable(&here.get("/account/sessions").await.body).len(), 1);

    let csrf = leaving.get("/desk").await.csrf();
    leaving.post("/logout", &[("csrf", &csrf)]).await;
    assert!(
        endable(&here.get("/account/sessions").await.body).is_empty(),
        "a signed-out browser leaves the list"
    );

    let _other = signed_in_with(&app, "agent@installer.jp", EDGE).await;
    assert_eq!(endable(&here.get("/account/sessions").await.body).len(), 1);
    let changed = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a pass phrase of my own"),
                ("new_password_confirm", "a pass phrase of my own"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let list = here.get("/account/sessions").await;
    assert!(
        endable(&list.body).is_empty(),
        "a password change ends the others: {}",
        list.body
    );
    assert_eq!(
        list.body.matches("この端末（いま使用中）").count(),
        1,
        "this one stays listed"
    );
}
