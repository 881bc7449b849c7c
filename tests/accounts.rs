//! Sign-in, sessions, CSRF, first-run setup and throttling, through HTTP like a browser.

mod common;

use common::{Browser, CLINIC_A, PASSWORD, TestApp, behind_proxy, session_cookie};
use portal::domain::Role;
use reqwest::StatusCode;

#[tokio::test]
async fn a_fresh_portal_sends_people_to_first_run_setup_which_creates_the_operator() {
    let app = TestApp::spawn().await;
    let token = app.setup_token.clone().expect("a fresh database offers setup");
    let browser = app.browser();

    let login = browser.get("/login").await;
    assert_eq!(login.location(), Some("/setup"));

    let wrong = browser
        .submit(
            "/setup",
            "/setup",
            &[
                ("setup_token", "nope"),
                ("email", "op@installer.jp"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("セットアップ用トークンが正しくありません"));

    let short = browser
        .submit(
            "/setup",
            "/setup",
            &[
                ("setup_token", &token),
                ("email", "op@installer.jp"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let common = browser
        .submit(
            "/setup",
            "/setup",
            &[
                ("setup_token", &token),
                ("email", "op@installer.jp"),
                ("password", "Administrator"),
                ("password_confirm", "Administrator"),
            ],
        )
        .await;
    assert_eq!(common.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(common.body.contains("漏えいしたパスワードの一覧に載っています"));

    let done = browser
        .submit(
            "/setup",
            "/setup",
            &[
                ("setup_token", &token),
                ("email", "op@installer.jp"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), Some("/clinics"));
    // Signed in, and asked for the second factor operators must have before anything else.
    let clinics = browser.get("/clinics").await;
    assert_eq!(clinics.location(), Some("/account/mfa?next=%2Fclinics"));
    assert!(browser.get("/account/mfa").await.element_text("totp-secret").is_some());

    // The token is single-use: setup is gone once an account exists.
    assert_eq!(app.browser().get("/setup").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signing_in_rotates_the_session_id_and_signing_out_destroys_it() {
    let app = TestApp::spawn().await;
    app.add_clinic(CLINIC_A, "さくら内科クリニック").await;
    app.add_user("admin@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
        .await;
    let browser = app.browser();

    // The sign-in form needs no session: its CSRF token is a visitor cookie.
    let login_page = browser.get("/login").await;
    assert_eq!(
        session_cookie(&login_page),
        None,
        "looking at the form starts no session"
    );
    let signed_in = browser
        .post(
            "/login",
            &[
                ("csrf", &login_page.csrf()),
                ("email", "Admin@Clinic-A.jp"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let after = session_cookie(&signed_in).expect("sign-in sets the session cookie");
    // Signing in again from a browser that holds a session gives it a new id.
    let token = browser.get(&format!("/clinics/{CLINIC_A}")).await.csrf();
    let again = browser
        .post(
            "/login",
            &[("csrf", &token), ("email", "admin@clinic-a.jp"), ("password", PASSWORD)],
        )
        .await;
    let renewed = session_cookie(&again).expect("a new session id at sign-in");
    assert_ne!(renewed, after, "the session id must change at sign-in");
    let after = renewed;
    let cookie = signed_in
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        cookie.contains("httponly") && cookie.contains("samesite=lax"),
        "{cookie}"
    );

    // Home leads a clinic admin to their clinic, which links to the passcode page.
    let home = browser.get("/").await;
    assert_eq!(home.location(), Some(format!("/clinics/{CLINIC_A}").as_str()));
    let clinic = browser.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(clinic.body.contains(&format!("href=\"/clinics/{CLINIC_A}/passcode\"")));

    // A stolen copy of the cookie dies with sign-out.
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page_with = |cookie: String| {
        thief
            .get(app.url(&format!("/clinics/{CLINIC_A}")))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(page_with(after.clone()).await.unwrap().status(), StatusCode::OK);
    let csrf = clinic.csrf();
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/login"));
    assert_eq!(page_with(after).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("sign_out").await, 1);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_get_the_same_generic_answer() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;

    let wrong = app.browser().login("operator@installer.jp", "not the password!").await;
    let unknown = app.browser().login("nobody@installer.jp", PASSWORD).await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("メールアドレスまたはパスワードが正しくありません"));
    }
    // Same page apart from the echoed e-mail address and the CSRF token.
    let strip = |p: &common::Page, email: &str| p.body.replace(email, "").replace(&p.csrf(), "");
    assert_eq!(
        strip(&wrong, "operator@installer.jp"),
        strip(&unknown, "nobody@installer.jp")
    );
    assert_eq!(app.audit_count("sign_in.failed").await, 2);
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let browser = app.browser();
    for _ in 0..3 {
        assert_eq!(
            browser.login("operator@installer.jp", "guess guess guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = browser.login("operator@installer.jp", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(throttled.body.contains("ログインの試行が多すぎます"));

    // After the delay it announced, the right password works again.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(
        browser.login("operator@installer.jp", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn state_changing_forms_need_the_sessions_csrf_token() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let browser = Browser::signed_in(&app, "operator@installer.jp").await;

    let form = [("code", CLINIC_A), ("name", "さくら内科クリニック")];
    let missing = browser.post("/clinics", &form).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let forged = browser
        .post(
            "/clinics",
            &[("csrf", "0".repeat(64).as_str()), ("code", CLINIC_A), ("name", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        portal::db::clinics::all(app.store()).await.unwrap().is_empty(),
        "nothing may be written"
    );

    // A cross-site form post is refused before any handler, even with a valid token.
    let csrf = browser.get("/clinics").await.csrf();
    let cross_site = browser
        .http
        .post(app.url("/clinics"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str()), ("code", CLINIC_A), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    // Logging in needs the token too (no login CSRF).
    let login = app
        .browser()
        .post("/login", &[("email", "operator@installer.jp"), ("password", PASSWORD)])
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_need_a_signed_in_user_and_the_language_can_be_switched() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    assert_eq!(
        app.browser().get("/clinics").await.location(),
        Some("/login?next=%2Fclinics"),
        "sign-in comes back to the page"
    );

    let browser = Browser::signed_in(&app, "operator@installer.jp").await;
    let ja = browser.get("/clinics").await;
    assert!(ja.body.contains("<html lang=\"ja\">") && ja.body.contains("医療機関を登録"));
    let switched = browser
        .post("/lang", &[("csrf", &ja.csrf()), ("lang", "en"), ("next", "/clinics")])
        .await;
    assert_eq!(switched.location(), Some("/clinics"));
    let en = browser.get("/clinics").await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Register a clinic"));

    // The return path is local only.
    let evil = browser
        .post(
            "/lang",
            &[("csrf", &en.csrf()), ("lang", "ja"), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(evil.location(), Some("/"));
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let browser = Browser::signed_in(&app, "operator@installer.jp").await;
    let dir = app.stop().await;

    let app = TestApp::spawn_in(dir).await;
    let again = app.browser_with(browser.http.clone());
    assert_eq!(again.get("/clinics").await.status, StatusCode::OK);
}

/// Eleven failed sign-ins (for made-up accounts, so only the address limit is reached) from `client`.
async fn fail_eleven_times(browser: &Browser) {
    for i in 0..11 {
        let page = browser
            .login(&format!("nobody{i}@example.jp"), "guess guess guess")
            .await;
        assert!(
            page.status == StatusCode::UNAUTHORIZED || page.status == StatusCode::TOO_MANY_REQUESTS,
            "{}",
            page.status
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let attacker = behind_proxy(&app, "203.0.113.66");
    fail_eleven_times(&attacker).await;
    assert_eq!(
        attacker.login("operator@installer.jp", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address is throttled"
    );
    // Another clinic behind the same proxy is not.
    let clinic = behind_proxy(&app, "198.51.100.20");
    assert_eq!(
        clinic.login("operator@installer.jp", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let ip: Option<String> = sqlx::query_scalar("SELECT ip FROM audit_log WHERE action = 'sign_in' ORDER BY id DESC")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(ip.as_deref(), Some("198.51.100.20"), "the audit log names the client");
}

#[tokio::test]
async fn without_a_trusted_proxy_x_forwarded_for_is_ignored() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    fail_eleven_times(&behind_proxy(&app, "203.0.113.66")).await;
    // A forged header does not get the attacker a fresh address.
    assert_eq!(
        behind_proxy(&app, "198.51.100.20")
            .login("operator@installer.jp", PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The stored idle expiry of the only session (text: the same format each time, so two values
/// more than a second apart compare in time order; on PostgreSQL a TIMESTAMPTZ shown as text).
async fn session_expiry(app: &TestApp) -> String {
    let sql = format!("SELECT CAST(expiry_date AS TEXT) FROM {}", app.sessions_table());
    sqlx::query_scalar(&sql).fetch_one(app.pool()).await.unwrap()
}

#[tokio::test]
async fn page_views_do_not_rewrite_the_session_every_time() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let browser = Browser::signed_in(&app, "operator@installer.jp").await;
    browser.get("/clinics").await;
    let first = session_expiry(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(browser.get("/clinics").await.status, StatusCode::OK);
    assert_eq!(
        session_expiry(&app).await,
        first,
        "nothing written within the touch interval"
    );
}

#[tokio::test]
async fn activity_moves_the_idle_timeout() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| c.session_touch_s = 1).await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    let browser = Browser::signed_in(&app, "operator@installer.jp").await;
    browser.get("/clinics").await;
    let first = session_expiry(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(browser.get("/clinics").await.status, StatusCode::OK);
    assert!(
        session_expiry(&app).await > first,
        "the idle expiry moved with the page view"
    );
}

#[tokio::test]
async fn an_ipv6_client_cannot_escape_the_address_limit_by_changing_its_interface_id() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    // Eleven failures, each from a different address of one /64.
    for i in 0..11u32 {
        let browser = behind_proxy(&app, &format!("2001:db8:aa:bb:{i:x}::1"));
        let page = browser
            .login(&format!("nobody{i}@example.jp"), "guess guess guess")
            .await;
        assert!(matches!(
            page.status,
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        ));
    }
    assert_eq!(
        behind_proxy(&app, "2001:db8:aa:bb:ffff::99")
            .login("operator@installer.jp", PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "the whole /64 shares one allowance"
    );
    assert_eq!(
        behind_proxy(&app, "2001:db8:aa:cc::1")
            .login("operator@installer.jp", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER,
        "the next /64 is someone else"
    );
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_host_only_and_hsts_covers_subdomains() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| {
        c.public_url = Some("https://portal.example.jp".to_owned());
    })
    .await;
    app.add_user("operator@installer.jp", Role::Operator, None).await;
    // A client without a cookie jar: it sends back exactly what the test says.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http.get(app.url("/login")).send().await.unwrap();
    let hsts = login.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(hsts, "max-age=31536000; includeSubDomains");
    // Before sign-in the only cookie is the visitor's CSRF token, under the same rules.
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("__Host-portal_csrf="), "{set_cookie}");
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "host-only: {set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let body = login.text().await.unwrap();
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let switched = http
        .post(app.url("/lang"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf), ("lang", "en"), ("next", "/login")])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    let lang = switched.headers()["set-cookie"].to_str().unwrap();
    assert!(lang.starts_with("lang=en") && lang.contains("Secure"), "{lang}");

    // The session starts at sign-in, `__Host-`-prefixed.
    let signed_in = http
        .post(app.url("/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf),
            ("email", "operator@installer.jp"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-portal_session="))
        .expect("a __Host- session cookie")
        .to_owned();
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(!session.contains("Domain"), "host-only: {session}");
}

#[tokio::test]
async fn pages_and_ticket_api_answers_are_never_cached_but_static_files_are() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    for path in [
        "/clinics",
        &format!("/clinics/{CLINIC_A}"),
        "/users",
        "/guide/mokushi/A-1",
        "/login",
    ] {
        let page = operator.get(path).await;
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
    }
    let email = portal::domain::Email::parse("operator@installer.jp").unwrap();
    let token =
        portal::services::accounts::issue_api_token(app.store(), &portal::db::audit::Actor::CommandLine, &email, "x")
            .await
            .unwrap();
    let api = reqwest::Client::new()
        .get(app.url("/api/v1/tickets"))
        .bearer_auth(token.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store");
    let css = reqwest::get(app.url("/static/portal.css")).await.unwrap();
    assert!(css.headers()["cache-control"].to_str().unwrap().starts_with("public"));
}

#[tokio::test]
async fn a_setup_token_printed_by_one_process_finishes_setup_on_another_and_only_once() {
    let first = TestApp::spawn().await;
    let first_token = first.setup_token.clone().expect("a fresh database offers setup");
    // A second portal process on the same database, as behind a load balancer.
    let config = common::test_config(first.dir.path());
    let second = portal::build(config).await.expect("second process");
    let second_token = second.setup_token().expect("it offers setup too");
    assert_ne!(first_token, second_token);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second_addr = listener.local_addr().unwrap();
    tokio::spawn(second.serve(listener, std::future::pending()));
    let on_second = common::Browser::new(second_addr);
    assert_eq!(on_second.get("/setup").await.status, StatusCode::OK);

    // The token the second process printed works on the first.
    let form = |token: &str| {
        vec![
            ("setup_token", token.to_owned()),
            ("email", "op@installer.jp".to_owned()),
            ("password", PASSWORD.to_owned()),
            ("password_confirm", PASSWORD.to_owned()),
        ]
    };
    let fields = form(&second_token);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = first.browser().submit("/setup", "/setup", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // Setup is over everywhere, whichever token is tried.
    assert_eq!(on_second.get("/setup").await.status, StatusCode::NOT_FOUND);
    let csrf = on_second.get("/login").await.csrf();
    let fields = form(&first_token);
    let mut again: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    again.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    assert_eq!(on_second.post("/setup", &again).await.status, StatusCode::NOT_FOUND);
    let operators: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(first.pool())
        .await
        .unwrap();
    assert_eq!(operators, 1);
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM setup_tokens")
        .fetch_one(first.pool())
        .await
        .unwrap();
    assert_eq!(tokens, 0, "every token is gone with the first setup");
}
