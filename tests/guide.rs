//! The interactive guide over HTTP: walking branches, what anonymous users never see, help
//! requests with context, and the operator's statistics.

mod common;

use common::{Browser, CLINIC_A, TestApp};
use portal::domain::InstallType;
use reqwest::StatusCode;

// The PC sign-in details the operators set (tests/pc_credential.rs covers setting them).
const USERNAME: &str = "GuidePcUser";
const PASSWORD: &str = "guide pc pass 1";

/// The figures of one step's row on the statistics page: reached, left there, help requests.
fn step_figures(body: &str, code: &str) -> Vec<String> {
    let row = body
        .split(&format!("{code}</a>"))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_default();
    row.split("class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap_or_default().to_owned())
        .collect()
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    app
}

async fn with_pc_credential(app: &TestApp) {
    let operator = Browser::signed_in(app, "operator@installer.jp").await;
    let saved = operator
        .submit(
            "/desk/settings",
            "/desk/settings/pc-credential",
            &[("username", USERNAME), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
}

#[tokio::test]
async fn anyone_can_walk_the_guide_through_branch_three_to_the_end() {
    let app = app().await;
    let visitor = app.browser();
    assert!(visitor.get("/guide").await.body.contains("/guide/mokushi"));
    let intro = visitor.get("/guide/mokushi").await;
    assert_eq!(intro.status, StatusCode::OK);
    assert!(intro.body.contains("0800-080-4583"));

    let start = visitor.get("/guide/mokushi/A-1").await;
    assert_eq!(start.element_text("step-code").as_deref(), Some("A-1"));
    assert!(start.body.contains("href=\"/guide/mokushi/B-1?path=A-1\""));
    let b1 = visitor.get("/guide/mokushi/B-1?path=A-1").await;
    assert!(b1.body.contains("href=\"/guide/mokushi/B-4?path=A-1,B-1\""), "choice ③");
    let b4 = visitor.get("/guide/mokushi/B-4?path=A-1,B-1").await;
    assert!(b4.body.contains("10.51.1.2:53389") && b4.body.contains("172.31.10.10:53389"));
    assert!(
        b4.body.contains("href=\"/guide/mokushi/B-1?path=A-1\" rel=\"prev\""),
        "back goes to the previous step"
    );
    assert!(b4.body.contains("A-1 目視確認モードとは"), "the path so far");
    let mut path = "A-1,B-1,B-4".to_owned();
    let mut code = "C-1".to_owned();
    // Follow "next" to the end of section 2 and through section 3.
    for expected in ["C-2", "C-3", "C-4", "C-5", "C-6", "C-7", "D-1", "D-2"] {
        let page = visitor.get(&format!("/guide/mokushi/{code}?path={path}")).await;
        assert_eq!(page.status, StatusCode::OK, "{code}");
        assert!(
            page.body
                .contains(&format!("/guide/mokushi/{expected}?path={path},{code}")),
            "{code} → {expected}"
        );
        path = format!("{path},{code}");
        code = expected.to_owned();
    }
    let end = visitor.get("/guide/mokushi/D-4?path=A-1").await;
    assert!(end.body.contains("解決しましたか"));
    let yes = visitor
        .submit(
            "/guide/mokushi/D-4",
            "/guide/mokushi/D-4/resolved",
            &[("answer", "yes")],
        )
        .await;
    assert!(yes.body.contains("解決してよかったです"));
    let no = visitor
        .submit(
            "/guide/mokushi/D-4",
            "/guide/mokushi/D-4/resolved",
            &[("answer", "no"), ("path", "A-1,D-1")],
        )
        .await;
    assert_eq!(no.location(), Some("/guide/mokushi/D-4/help?path=A-1,D-1"));

    assert_eq!(visitor.get("/guide/mokushi/Z-9").await.status, StatusCode::NOT_FOUND);
    assert_eq!(visitor.get("/guide/other/A-1").await.status, StatusCode::NOT_FOUND);
    // Unknown codes in the path are dropped, not echoed.
    let odd = visitor.get("/guide/mokushi/B-1?path=A-1,<script>").await;
    assert!(!odd.body.contains("<script>"));
}

#[tokio::test]
async fn the_pc_credential_never_reaches_anonymous_users() {
    let app = app().await;
    with_pc_credential(&app).await;
    let visitor = app.browser();
    for path in [
        "/guide/mokushi/C-1",
        "/guide/mokushi/print",
        "/guide/mokushi/overview",
        "/guide/mokushi/C-1/help",
    ] {
        let page = visitor.get(path).await;
        assert!(!page.body.contains(USERNAME) && !page.body.contains(PASSWORD), "{path}");
    }
    let reveal = visitor
        .submit("/guide/mokushi/C-1", "/guide/mokushi/C-1/reveal", &[])
        .await;
    assert_eq!(reveal.location(), Some("/login"));

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let masked = admin.get("/guide/mokushi/C-1").await;
    assert!(!masked.body.contains(PASSWORD), "masked until revealed");
    assert!(masked.body.contains("id=\"reveal-credential\""));
    assert!(
        !admin.get("/guide/mokushi/print").await.body.contains(PASSWORD),
        "not in print either"
    );
    let no_csrf = admin.post("/guide/mokushi/C-1/reveal", &[]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let revealed = admin
        .submit(
            "/guide/mokushi/C-1",
            "/guide/mokushi/C-1/reveal",
            &[("path", "A-1,B-1,B-2")],
        )
        .await;
    assert_eq!(revealed.element_text("pc-username").as_deref(), Some(USERNAME));
    assert_eq!(revealed.element_text("pc-password").as_deref(), Some(PASSWORD));
    assert!(revealed.headers["cache-control"].to_str().unwrap().contains("no-store"));
    assert_eq!(app.audit_count("guide.credential_revealed").await, 1);
    // Only the step that carries the credential can reveal it.
    assert_eq!(
        admin
            .submit("/guide/mokushi/C-1", "/guide/mokushi/B-1/reveal", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_signed_in_admins_readers_pick_the_remote_desktop_address() {
    let app = app().await;
    let a = portal::db::clinics::by_code(app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap()
        .id;
    portal::services::readers::enroll(
        app.store(),
        &portal::db::audit::Actor::CommandLine,
        a,
        "受付1",
        InstallType::Shared,
        None,
    )
    .await
    .unwrap();
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let page = admin.get("/guide/mokushi/B-4").await;
    let shared_row = page
        .body
        .split("<tr class=\"yours\">")
        .nth(1)
        .expect("a highlighted row");
    assert!(shared_row.split("</tr>").next().unwrap().contains("172.31.10.10:53389"));
    assert_eq!(page.body.matches("class=\"yours\"").count(), 1);
    // Anonymous: no highlight, a hint instead.
    let anonymous = app.browser().get("/guide/mokushi/B-4").await;
    assert!(!anonymous.body.contains("class=\"yours\""));
    // The portal step links signed-in admins to their passcode page.
    let p1 = admin.get("/guide/mokushi/P-1").await;
    assert!(p1.body.contains(&format!("href=\"/clinics/{CLINIC_A}/passcode\"")));
}

#[tokio::test]
async fn stuck_on_a_step_a_clinic_admin_files_a_request_that_links_the_desk_to_that_step() {
    let app = app().await;
    let anonymous = app.browser().get("/guide/mokushi/B-4/help?path=A-1,B-1").await;
    assert!(anonymous.body.contains("0800-080-4583") && !anonymous.body.contains("id=\"send-help\""));

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    admin.get("/guide/mokushi/A-1").await;
    admin.get("/guide/mokushi/B-1?path=A-1").await;
    admin.get("/guide/mokushi/B-4?path=A-1,B-1").await;
    let help = "/guide/mokushi/B-4/help?path=A-1,B-1";
    let sent = admin
        .submit(
            help,
            "/guide/mokushi/B-4/help",
            &[
                ("path", "A-1,B-1"),
                ("message", "接続ボタンが押せない"),
                ("callback_phone", "０１１－５５５－０１９９"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let request = sent.location().unwrap().to_owned();
    assert!(request.starts_with(&format!("/clinics/{CLINIC_A}/requests/SUP-")));
    let mine = admin.get(&request).await;
    assert!(mine.body.contains("接続ボタンが押せない") && mine.body.contains("B-4"));

    let (step, path, version): (String, String, String) =
        sqlx::query_as("SELECT guide_step, guide_path, guide_version FROM tickets")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        (step.as_str(), path.as_str(), version.as_str()),
        ("B-4", "A-1,B-1", "2025-03.2")
    );
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let number = request.rsplit('/').next().unwrap();
    let ticket = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(
        ticket.body.contains("href=\"/guide/mokushi/B-4?path=A-1,B-1\""),
        "the agent's view links to the step"
    );
    assert!(
        ticket.body.contains("011-555-0199"),
        "the desk has the number to call back"
    );

    // Operators see per-step figures; nothing there names anyone.
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let stats = operator.get("/guide/mokushi/stats").await;
    assert_eq!(stats.status, StatusCode::OK);
    assert_eq!(
        step_figures(&stats.body, "B-4"),
        ["1", "0", "1"],
        "reached once, asked for help once"
    );
    assert!(!stats.body.contains("admin-a@clinic-a.jp"));
    assert_eq!(agent.get("/guide/mokushi/stats").await.status, StatusCode::FORBIDDEN);
    // Agents and operators cannot file clinic requests from the guide.
    let csrf = agent.get(help).await.csrf();
    assert_eq!(
        agent.post("/guide/mokushi/B-4/help", &[("csrf", &csrf)]).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_printable_view_and_the_overview_show_every_step_in_both_languages() {
    let app = app().await;
    let visitor = app.browser();
    let print = visitor.get("/guide/mokushi/print").await;
    let overview = visitor.get("/guide/mokushi/overview").await;
    let guide = portal::domain::guide::load_all().unwrap().remove(0);
    for step in &guide.steps {
        assert!(
            print.body.contains(&format!("id=\"step-{}\"", step.code)),
            "{}",
            step.code
        );
        assert!(
            overview
                .body
                .contains(&format!("href=\"/guide/mokushi/{}\"", step.code)),
            "{}",
            step.code
        );
    }
    assert!(print.body.contains("10.51.1.2:53389") && print.body.contains("172.31.10.10:53389"));

    let csrf = print.csrf();
    visitor
        .post("/lang", &[("csrf", &csrf), ("lang", "en"), ("next", "/")])
        .await;
    let english = visitor.get("/guide/mokushi/B-3").await;
    assert!(english.body.contains("Press the Ctrl key twice in a row"));
    assert!(english.body.contains("Stuck here?"));
    let contact = visitor.get("/guide/mokushi/A-1").await;
    assert!(contact.body.contains("Open now") || contact.body.contains("Closed now"));
}

#[tokio::test]
async fn a_help_request_needs_a_number_to_call_back_and_keeps_what_was_typed() {
    let app = app().await;
    sqlx::query("UPDATE clinics SET phone = '011-555-0100' WHERE code = $1")
        .bind(CLINIC_A)
        .execute(app.pool())
        .await
        .unwrap();
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let help = "/guide/mokushi/B-4/help?path=A-1,B-1";
    let form = admin.get(help).await;
    assert!(
        form.body.contains("value=\"011-555-0100\""),
        "starts as the clinic's number"
    );
    let refused = admin
        .submit(
            help,
            "/guide/mokushi/B-4/help",
            &[
                ("path", "A-1,B-1"),
                ("message", "画面が固まった"),
                ("callback_phone", "あとで"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"callback_phone-error\""),
        "the error is next to the field"
    );
    assert!(
        refused.body.contains(">画面が固まった</textarea>"),
        "the message is kept"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn signing_in_from_a_guide_page_comes_back_to_the_step() {
    let app = app().await;
    let visitor = app.browser();
    let help = visitor.get("/guide/mokushi/B-4/help?path=A-1,B-1").await;
    let link = help
        .body
        .split("id=\"help-sign-in\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|href| href.split('"').next())
        .expect("a sign-in link")
        .replace("&amp;", "&");
    assert!(
        link.starts_with("/login?next=%2Fguide%2Fmokushi%2FB-4%2Fhelp"),
        "{link}"
    );
    let login = visitor.get(&link).await;
    let sign_in_form = login.body.split("action=\"/login\"").nth(1).expect("the sign-in form");
    let next = sign_in_form
        .split("name=\"next\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .expect("the sign-in form carries where to go")
        .replace("&amp;", "&");
    assert_eq!(next, "/guide/mokushi/B-4/help?path=A-1,B-1");
    let signed_in = visitor
        .login_then(&link, "admin-a@clinic-a.jp", common::PASSWORD, &next)
        .await;
    assert_eq!(signed_in.location(), Some("/guide/mokushi/B-4/help?path=A-1,B-1"));
}

#[tokio::test]
async fn sign_in_and_the_language_switch_never_send_anyone_off_the_site() {
    let app = app().await;
    for evil in [
        "//evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/\n/evil.example",
    ] {
        let visitor = app.browser();
        let signed_in = visitor
            .login_then("/login", "admin-a@clinic-a.jp", common::PASSWORD, evil)
            .await;
        assert_eq!(signed_in.location(), Some("/"), "sign-in next {evil:?}");
        let csrf = visitor.get("/guide").await.csrf();
        let switched = visitor
            .post("/lang", &[("csrf", &csrf), ("lang", "en"), ("next", evil)])
            .await;
        assert_eq!(switched.location(), Some("/"), "language next {evil:?}");
    }
}

#[tokio::test]
async fn a_page_that_needs_signing_in_comes_back_after_it() {
    let app = app().await;
    let visitor = app.browser();
    let passcode = format!("/clinics/{CLINIC_A}/passcode");
    let sent = visitor.get(&passcode).await;
    assert_eq!(
        sent.location(),
        Some(format!("/login?next=%2Fclinics%2F{CLINIC_A}%2Fpasscode").as_str())
    );
    let login_path = sent.location().unwrap().to_owned();
    assert!(visitor.get(&login_path).await.body.contains("action=\"/login\""));
    let signed_in = visitor
        .login_then(&login_path, "admin-a@clinic-a.jp", common::PASSWORD, &passcode)
        .await;
    assert_eq!(signed_in.location(), Some(passcode.as_str()));
}

/// The value of the step page's progress bar.
fn progress(body: &str) -> u32 {
    body.split("class=\"guide-progress\" max=\"100\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|v| v.parse().ok())
        .expect("a progress bar")
}

/// The step links a page offers forwards (its choices or its "next"), as URLs.
fn forward_links(body: &str) -> Vec<String> {
    let links = body
        .split("<ul class=\"guide-choices\">")
        .nth(1)
        .map(|ul| ul.split("</ul>").next().unwrap_or("").to_owned())
        .or_else(|| {
            body.split("id=\"next-step\" href=\"")
                .nth(1)
                .map(|rest| format!("href=\"{rest}"))
        })
        .unwrap_or_default();
    links
        .split("href=\"")
        .skip(1)
        .take(if body.contains("id=\"next-step\"") {
            1
        } else {
            usize::MAX
        })
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn following_any_choice_from_any_step_never_moves_the_progress_bar_back() {
    let app = app().await;
    let visitor = app.browser();
    let guide = portal::domain::guide::load_all().unwrap().remove(0);
    let edges: usize = guide.steps.iter().map(|s| s.successors().len()).sum();
    // Walk breadth-first from the start, every edge once, each time as a browser would: the
    // page reached by clicking the link, carrying its path.
    let mut seen = std::collections::HashSet::new();
    let mut queue = std::collections::VecDeque::from(["/guide/mokushi/A-1".to_owned()]);
    let mut followed = 0;
    while let Some(url) = queue.pop_front() {
        let page = visitor.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}");
        let here = progress(&page.body);
        let code = page.element_text("step-code").unwrap();
        if !seen.insert(code.clone()) {
            continue;
        }
        for link in forward_links(&page.body) {
            let next = visitor.get(&link).await;
            let there = progress(&next.body);
            assert!(there >= here, "{url} ({here} %) → {link} ({there} %)");
            followed += 1;
            queue.push_back(link);
        }
        if guide.step(&code).unwrap().end {
            assert_eq!(here, 100, "{code} is an end");
        }
    }
    assert_eq!(seen.len(), guide.steps.len());
    assert_eq!(followed, edges, "every choice was followed once");
    // The walk reported in issue 8: B-2 showed 60 % and C-1 then 28 %.
    let b2 = progress(&visitor.get("/guide/mokushi/B-2?path=A-1,B-1").await.body);
    let c1 = progress(&visitor.get("/guide/mokushi/C-1?path=A-1,B-1,B-2").await.body);
    assert!(c1 > b2, "{b2} % then {c1} %");
}

#[tokio::test]
async fn idle_walks_fold_into_totals_that_show_the_same_figures() {
    let app = app().await;
    for steps in [&["A-1", "B-1", "B-4"][..], &["A-1", "B-1"], &["A-1", "B-1"]] {
        let visitor = app.browser();
        for (i, code) in steps.iter().enumerate() {
            let page = visitor
                .get(&format!("/guide/mokushi/{code}?path={}", steps[..i].join(",")))
                .await;
            assert_eq!(page.status, StatusCode::OK);
        }
    }
    // A client that keeps no cookies is not counted at all.
    let crawler = reqwest::Client::new();
    for _ in 0..20 {
        crawler
            .get(app.url("/guide/mokushi/B-1?path=A-1"))
            .send()
            .await
            .unwrap();
    }
    // Half an hour later the walks are idle: two stopped at B-1, one at B-4.
    sqlx::query("UPDATE guide_journeys SET last_at = last_at - 3600")
        .execute(app.pool())
        .await
        .unwrap();
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let open = operator.get("/guide/mokushi/stats").await.body;
    assert_eq!(step_figures(&open, "B-1"), ["3", "2", "0"]);
    assert_eq!(step_figures(&open, "B-4"), ["1", "1", "0"]);

    portal::housekeeping(&app.state, &portal::db::session_store(app.store()).await.unwrap()).await;
    let walks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guide_journeys")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(walks, 0, "idle walks are folded away");
    let folded = operator.get("/guide/mokushi/stats").await.body;
    for code in ["A-1", "B-1", "B-4"] {
        assert_eq!(step_figures(&folded, code), step_figures(&open, code), "{code}");
    }

    // Beyond the cap on open walks the oldest fold at once.
    for steps in [&["A-1", "B-1"][..], &["A-1", "B-3"]] {
        let visitor = app.browser();
        for (i, code) in steps.iter().enumerate() {
            visitor
                .get(&format!("/guide/mokushi/{code}?path={}", steps[..i].join(",")))
                .await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let folded = portal::db::guide::fold_walks(app.store(), portal::db::now(), 1)
        .await
        .unwrap();
    assert_eq!(folded, 1, "one walk over the cap of one");
    let open_step: String = sqlx::query_scalar("SELECT last_step FROM guide_journeys")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(open_step, "B-3", "the newest walk stays open");
}
