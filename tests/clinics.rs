//! Clinics, readers and accounts through the web UI, with authorization per role.

mod common;

use common::{Browser, CLINIC_A, CLINIC_B, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn an_operator_registers_clinics_and_invalid_codes_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", portal::domain::Role::Operator, None)
        .await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;

    let bad = operator
        .submit(
            "/clinics",
            "/clinics",
            &[("code", "0110113718"), ("name", "さくら内科クリニック")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("最後の桁（検証番号）が合いません"), "{}", bad.body);
    assert!(
        bad.body.contains("id=\"code-error\""),
        "the reason is next to the code field"
    );
    assert!(!bad.body.contains("check digit"), "no English on a Japanese page");
    assert!(
        bad.body.contains("value=\"さくら内科クリニック\""),
        "the form keeps what was typed"
    );
    let short = operator
        .submit("/clinics", "/clinics", &[("code", "01101137"), ("name", "x")])
        .await;
    assert!(short.body.contains("10桁の数字です"), "{}", short.body);

    let created = operator
        .submit(
            "/clinics",
            "/clinics",
            &[
                ("code", "01-1-0113719"),
                ("name", "さくら内科クリニック"),
                ("phone", "011-000-0000"),
            ],
        )
        .await;
    assert_eq!(created.location(), Some(format!("/clinics/{CLINIC_A}").as_str()));
    let page = operator.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(page.body.contains("さくら内科クリニック") && page.body.contains("011-000-0000"));

    let duplicate = operator
        .submit("/clinics", "/clinics", &[("code", CLINIC_A), ("name", "もう一つ")])
        .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.body.contains("すでに登録されています"), "{}", duplicate.body);
    assert_eq!(portal::db::clinics::all(app.store()).await.unwrap().len(), 1);

    // The same mistakes in English for an operator who chose English.
    operator
        .submit("/clinics", "/lang", &[("lang", "en"), ("next", "/clinics")])
        .await;
    let bad = operator
        .submit("/clinics", "/clinics", &[("code", "0110113718"), ("name", "x")])
        .await;
    assert!(bad.body.contains("check digit"), "{}", bad.body);
    let duplicate = operator
        .submit("/clinics", "/clinics", &[("code", CLINIC_A), ("name", "x")])
        .await;
    assert!(duplicate.body.contains("already registered"), "{}", duplicate.body);
}

#[tokio::test]
async fn clinic_admins_and_agents_cannot_manage_clinics_or_accounts() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    for email in ["admin-a@clinic-a.jp", "agent@installer.jp"] {
        let browser = Browser::signed_in(&app, email).await;
        let csrf = browser.get(&format!("/clinics/{CLINIC_A}")).await.csrf();
        let post = browser
            .post("/clinics", &[("csrf", &csrf), ("code", "2712345673"), ("name", "x")])
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{email}");
        assert_eq!(browser.get("/users").await.status, StatusCode::FORBIDDEN, "{email}");
        let post = browser
            .post(
                "/users",
                &[
                    ("csrf", &csrf),
                    ("email", "x@y.jp"),
                    ("role", "operator"),
                    ("password", common::PASSWORD),
                ],
            )
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{email}");
    }
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert_eq!(
        admin.get("/clinics").await.status,
        StatusCode::FORBIDDEN,
        "admins do not list other clinics"
    );
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let list = agent.get("/clinics").await;
    assert!(list.body.contains(CLINIC_A) && list.body.contains(CLINIC_B));
}

#[tokio::test]
async fn a_clinic_admin_enrolls_a_reader_whose_token_is_shown_once_and_works() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let clinic_page = format!("/clinics/{CLINIC_A}");
    let enrolled = admin.enroll_reader(CLINIC_A, "受付1", "shared").await;
    assert_eq!(enrolled.status, StatusCode::OK);
    assert!(
        enrolled
            .headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let token = enrolled.element_text("device-token").expect("token shown");
    assert!(token.starts_with("rdr_") && token.len() >= 36);
    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::OK);

    let page = admin.get(&clinic_page).await;
    assert!(page.body.contains("受付1") && page.body.contains("併設設置型"));
    assert!(!page.body.contains(&token), "the token is never shown again");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM readers")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 32, "only the SHA-256 is stored");

    let dup = admin.enroll_reader(CLINIC_A, "受付1", "standalone").await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_type = admin.enroll_reader(CLINIC_A, "受付2", "wireless").await;
    assert_eq!(bad_type.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Re-enrolling replaces the token: the old one stops working at once.
    let reader_id: i64 = sqlx::query_scalar("SELECT id FROM readers")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let reenroll = format!("/clinics/{CLINIC_A}/readers/{reader_id}/reenroll");
    // First the question, with nothing changed yet…
    let question = admin.submit(&clinic_page, &reenroll, &[]).await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("このカードリーダーを再登録しますか？"));
    assert!(question.body.contains("id=\"confirm-action\""));
    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::OK);
    // …then the confirmed form.
    let again = admin.submit(&clinic_page, &reenroll, &[("confirm", "yes")]).await;
    let new_token = again.element_text("device-token").unwrap();
    assert_ne!(new_token, token);
    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.reader(&new_token).poll(None).await.status(), StatusCode::OK);
    assert_eq!(app.audit_count("reader.reenrolled").await, 1);
}

#[tokio::test]
async fn readers_of_another_clinic_cannot_be_touched() {
    let app = TestApp::spawn().await;
    let (_, b) = app.with_two_clinics().await;
    let token_b = app.add_reader(b, "受付1").await;
    let reader_b: i64 = sqlx::query_scalar("SELECT id FROM readers")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let admin_a = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let csrf = admin_a.get(&format!("/clinics/{CLINIC_A}")).await.csrf();

    // Through B's URL: not found. Through A's URL with B's reader id: not found either.
    for path in [
        format!("/clinics/{CLINIC_B}/readers/{reader_b}/revoke"),
        format!("/clinics/{CLINIC_A}/readers/{reader_b}/revoke"),
        format!("/clinics/{CLINIC_A}/readers/{reader_b}/reenroll"),
    ] {
        // Neither the question nor the confirmed action.
        for confirm in ["", "yes"] {
            assert_eq!(
                admin_a
                    .post(&path, &[("csrf", &csrf), ("confirm", confirm)])
                    .await
                    .status,
                StatusCode::NOT_FOUND,
                "{path} {confirm}"
            );
        }
    }
    assert_eq!(app.reader(&token_b).poll(None).await.status(), StatusCode::OK);

    // An agent sees readers but does not manage them.
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let csrf = agent.get(&format!("/clinics/{CLINIC_B}")).await.csrf();
    let post = agent
        .post(
            &format!("/clinics/{CLINIC_B}/readers/{reader_b}/revoke"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert_eq!(app.reader(&token_b).poll(None).await.status(), StatusCode::OK);

    // B's own admin is asked first; only the confirmed form revokes.
    let admin_b = Browser::signed_in(&app, "admin-b@clinic-b.jp").await;
    let clinic_b = format!("/clinics/{CLINIC_B}");
    let revoke = format!("/clinics/{CLINIC_B}/readers/{reader_b}/revoke");
    let question = admin_b.submit(&clinic_b, &revoke, &[]).await;
    assert!(question.body.contains("このカードリーダーを無効にしますか？"));
    assert!(question.body.contains("受付1"));
    assert_eq!(app.reader(&token_b).poll(None).await.status(), StatusCode::OK);
    let done = admin_b.submit(&clinic_b, &revoke, &[("confirm", "yes")]).await;
    assert_eq!(done.location(), Some(clinic_b.as_str()));
    assert_eq!(app.reader(&token_b).poll(None).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_operator_creates_accounts_and_a_new_clinic_admin_can_sign_in() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;

    let missing_clinic = operator
        .submit(
            "/users",
            "/users",
            &[
                ("email", "new@clinic-a.jp"),
                ("role", "clinic-admin"),
                ("clinic", ""),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(missing_clinic.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing_clinic.body.contains("id=\"clinic-error\""),
        "the reason is next to the clinic field"
    );
    assert!(
        missing_clinic.body.contains("value=\"new@clinic-a.jp\""),
        "the form keeps what was typed"
    );
    assert!(
        !missing_clinic.body.contains(common::PASSWORD),
        "passwords are never echoed"
    );
    let short = operator
        .submit(
            "/users",
            "/users",
            &[
                ("email", "new@clinic-a.jp"),
                ("role", "clinic-admin"),
                ("clinic", CLINIC_A),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);

    let created = operator
        .submit(
            "/users",
            "/users",
            &[
                ("email", "new@clinic-a.jp"),
                ("role", "clinic-admin"),
                ("clinic", CLINIC_A),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.location(), Some("/users"));
    let newcomer = Browser::signed_in(&app, "new@clinic-a.jp").await;
    // The operator typed that password: the newcomer must choose their own first.
    assert_eq!(newcomer.get("/").await.location(), Some("/account/password?next=%2F"));
    let changed = newcomer
        .submit(
            "/account/password?next=%2F",
            "/account/password",
            &[
                ("current_password", common::PASSWORD),
                ("new_password", "my very own pass phrase"),
                ("new_password_confirm", "my very own pass phrase"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(changed.location(), Some("/"));
    assert_eq!(
        newcomer.get("/").await.location(),
        Some(format!("/clinics/{CLINIC_A}").as_str())
    );
    assert_eq!(
        newcomer.get(&format!("/clinics/{CLINIC_B}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_and_malformed_clinic_urls_are_not_found_pages() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    for path in [
        "/clinics/2712345673",
        "/clinics/not-a-code/passcode",
        "/clinics/0110113718",
        "/nope",
    ] {
        let page = operator.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let page = operator.get("/clinics/2712345673").await;
    assert!(page.body.contains("ページが見つかりません") && page.body.contains("Page not found"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(app.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        http.get(app.url("/readyz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    app.state.pool.close().await;
    assert_eq!(
        http.get(app.url("/readyz")).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        http.get(app.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_operator_disables_an_account_whose_session_then_stops_and_resets_passwords() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert_eq!(admin.get(&format!("/clinics/{CLINIC_A}")).await.status, StatusCode::OK);
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin-a@clinic-a.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;

    let question = operator
        .submit("/users", &format!("/users/{admin_id}/disable"), &[])
        .await;
    assert!(question.body.contains("このアカウントを無効にしますか？"));
    assert!(question.body.contains("admin-a@clinic-a.jp"));
    assert_eq!(
        admin.get(&format!("/clinics/{CLINIC_A}")).await.status,
        StatusCode::OK,
        "nothing changes before the confirmation"
    );
    let disabled = operator
        .submit("/users", &format!("/users/{admin_id}/disable"), &[("confirm", "yes")])
        .await;
    assert_eq!(disabled.location(), Some("/users"));
    assert_eq!(
        admin.get(&format!("/clinics/{CLINIC_A}")).await.location(),
        Some(format!("/login?next=%2Fclinics%2F{CLINIC_A}").as_str()),
        "signed out at once"
    );
    assert_eq!(
        app.browser()
            .login("admin-a@clinic-a.jp", common::PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    operator
        .submit("/users", &format!("/users/{admin_id}/enable"), &[])
        .await;
    let short = operator
        .submit(
            "/users",
            &format!("/users/{admin_id}/password"),
            &[("password", "short")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reset = operator
        .submit(
            "/users",
            &format!("/users/{admin_id}/password"),
            &[("password", "a brand new pass phrase")],
        )
        .await;
    assert_eq!(reset.location(), Some("/users"));
    assert_eq!(
        app.browser()
            .login("admin-a@clinic-a.jp", common::PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser()
            .login("admin-a@clinic-a.jp", "a brand new pass phrase")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.audit_count("user.password_reset").await, 1);

    // Operators cannot lock themselves out, and others cannot manage accounts at all.
    let me: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'operator@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    let self_disable = operator.submit("/users", &format!("/users/{me}/disable"), &[]).await;
    assert_eq!(self_disable.status, StatusCode::UNPROCESSABLE_ENTITY);
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let csrf = agent.get("/clinics").await.csrf();
    assert_eq!(
        agent
            .post(&format!("/users/{admin_id}/disable"), &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        operator.submit("/users", "/users/9999/disable", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn static_files_are_served_from_the_binary_with_their_types() {
    let app = TestApp::spawn().await;
    let css = reqwest::get(app.url("/static/portal.css")).await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let svg = reqwest::get(app.url("/static/guide/ctrl-twice.svg")).await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(
        reqwest::get(app.url("/static/../Cargo.toml")).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reqwest::get(app.url("/static/nope.css")).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_page_links_the_svg_favicon_which_the_portal_serves() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    for path in ["/login", "/guide/mokushi", "/no/such/page"] {
        let page = app.browser().get(path).await;
        assert!(
            page.body
                .contains("<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"),
            "{path}"
        );
    }
    for path in ["/static/favicon.svg", "/favicon.ico"] {
        let icon = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(icon.status(), StatusCode::OK, "{path}");
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        assert!(icon.text().await.unwrap().starts_with("<svg"));
    }
}

#[tokio::test]
async fn unknown_urls_get_the_404_page_or_a_json_error_under_the_api() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("ページが見つかりません"));
    let api = reqwest::get(app.url("/api/v1/nothing")).await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.json::<serde_json::Value>().await.unwrap()["error"], "not_found");
}

#[tokio::test]
async fn the_clinic_history_reads_in_the_pages_language() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let first = app.add_reader(a, "受付1").await;
    let second = app.add_reader(a, "受付2").await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let issued = admin.issue_passcode(CLINIC_A).await;
    let code = issued.element_text("new-passcode").unwrap();
    // Ten wrong codes in a row across the clinic disable it; the reader that made it happen is named.
    let wrong = common::other_code(&code);
    for token in [&first, &second] {
        for _ in 0..5 {
            app.reader(token).verify(&wrong).await;
        }
    }

    let ja = admin.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(
        ja.body
            .contains("1回目に発行したパスコード：誤ったパスコードが10回続いたため停止"),
        "{}",
        ja.body
    );
    assert!(ja.body.contains("\">カードリーダー 受付2</td>"));
    assert!(ja.body.contains("1回目の発行（ポータルから）"), "{}", ja.body);
    assert!(ja.body.contains("受付1（単独設置型）"));
    assert!(ja.body.contains("\">コマンドライン</td>"), "{}", ja.body);
    assert!(!ja.body.contains("{&quot;"), "no raw fields on the page");

    let csrf = ja.csrf();
    admin
        .post("/lang", &[("csrf", &csrf), ("lang", "en"), ("next", "/")])
        .await;
    let en = admin.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(en.body.contains("Issue no. 1 (from the portal)"), "{}", en.body);
    assert!(en.body.contains("受付1 (Standalone installation)"));
    assert!(en.body.contains("Command line"), "the reader was added with the CLI");
    assert!(
        en.body
            .contains("Passcode no. 1: disabled after 10 wrong codes in a row")
    );
    assert!(en.body.contains("\">Card reader 受付2</td>"));
}

#[tokio::test]
async fn the_clinic_pages_histories_are_paged() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    app.add_reader(a, "受付1").await;
    // 25 entries at the reader and 25 audited actions (beyond what enrolling already wrote).
    for n in 0..25 {
        sqlx::query(
            "INSERT INTO passcode_attempts (clinic_id, reader_id, generation, at, result)
             SELECT $1, id, 1, $2, 'rejected' FROM readers WHERE clinic_id = $3",
        )
        .bind(a)
        .bind(1_700_000_000 + n)
        .bind(a)
        .execute(app.pool())
        .await
        .unwrap();
        portal::db::audit::record(
            app.store(),
            portal::db::audit::Entry {
                actor: &portal::db::audit::Actor::CommandLine,
                action: "passcode.issued",
                clinic_id: Some(a),
                detail: "",
                ip: None,
            },
        )
        .await
        .unwrap();
    }
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let clinic = format!("/clinics/{CLINIC_A}");
    let first = operator.get(&clinic).await;
    let rows_in = |body: &str, heading: &str| -> usize {
        let section = body.split(heading).nth(1).unwrap().split("</section>").next().unwrap();
        section.matches("<tr>").count().saturating_sub(1) // the header row
    };
    assert_eq!(rows_in(&first.body, "id=\"attempts-heading\""), 20);
    assert_eq!(rows_in(&first.body, "id=\"audit-heading\""), 20);
    let older = first
        .body
        .split("id=\"attempts-older\"")
        .next()
        .and_then(|b| b.rsplit("href=\"").next())
        .and_then(|h| h.split('"').next())
        .unwrap()
        .to_owned();
    let second = operator.get(&older).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        rows_in(&second.body, "id=\"attempts-heading\""),
        5,
        "the last five entries"
    );
    assert!(!second.body.contains("id=\"attempts-older\""), "nothing older");
    assert!(second.body.contains("最新の記録に戻る"));
    // Bad paging values are ignored rather than refused.
    assert_eq!(
        operator.get(&format!("{clinic}?audit_before=x")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn names_that_hide_their_reading_order_are_refused() {
    let app = TestApp::spawn().await;
    app.add_user("operator@installer.jp", portal::domain::Role::Operator, None)
        .await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    // "さくら" followed by a right-to-left override: it would display reversed text after it.
    let page = operator
        .submit(
            "/clinics",
            "/clinics",
            &[("code", CLINIC_A), ("name", "さくら\u{202E}cilc")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"name-error\""));
    assert!(portal::db::clinics::all(app.store()).await.unwrap().is_empty());
}
