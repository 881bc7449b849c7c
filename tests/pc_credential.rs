//! The online eligibility PC's sign-in details: operators set an installer-wide default and
//! clinics' own on the desk settings page (or from the command line); the guide shows signed-in
//! users their clinic's own, else the default, only when they ask (audited); nothing else ever
//! shows the password, and the repository no longer holds one.

mod common;

use common::{Browser, CLINIC_A, TestApp};
use reqwest::StatusCode;

const DEFAULT_USER: &str = "PcDefaultUser";
const DEFAULT_PASSWORD: &str = "default pass 7-Ω";
const CLINIC_USER: &str = "SakuraPc";
const CLINIC_PASSWORD: &str = "sakura-only-pass 42";
const SETTINGS: &str = "/desk/settings";
const SET: &str = "/desk/settings/pc-credential";

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    app
}

async fn set_default(operator: &Browser, username: &str, password: &str) -> common::Page {
    operator
        .submit(SETTINGS, SET, &[("username", username), ("password", password)])
        .await
}

async fn set_for_clinic(operator: &Browser, clinic: &str, username: &str, password: &str) -> common::Page {
    operator
        .submit(
            SETTINGS,
            SET,
            &[("clinic", clinic), ("username", username), ("password", password)],
        )
        .await
}

async fn reveal(browser: &Browser) -> common::Page {
    browser
        .submit("/guide/mokushi/C-1", "/guide/mokushi/C-1/reveal", &[])
        .await
}

/// (username, password) as the reveal answer shows them.
fn shown(page: &common::Page) -> (Option<String>, Option<String>) {
    (page.element_text("pc-username"), page.element_text("pc-password"))
}

fn pair(username: &str, password: &str) -> (Option<String>, Option<String>) {
    (Some(username.to_owned()), Some(password.to_owned()))
}

/// Every audit entry's detail, for checking what was written.
async fn audit_details(app: &TestApp, action: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_default_an_operator_sets_is_what_a_clinic_admin_reveals() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let saved = set_default(&operator, &format!(" {DEFAULT_USER} "), DEFAULT_PASSWORD).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/desk/settings#pc-credential-settings"));
    assert!(operator.get(SETTINGS).await.body.contains("保存しました"));

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let masked = admin.get("/guide/mokushi/C-1").await;
    assert!(masked.body.contains("id=\"reveal-credential\""));
    assert!(!masked.body.contains(DEFAULT_PASSWORD) && !masked.body.contains(DEFAULT_USER));
    let revealed = reveal(&admin).await;
    assert_eq!(revealed.status, StatusCode::OK);
    assert_eq!(shown(&revealed), pair(DEFAULT_USER, DEFAULT_PASSWORD));
    assert!(revealed.headers["cache-control"].to_str().unwrap().contains("no-store"));
    let reveals = audit_details(&app, "guide.credential_revealed").await;
    assert_eq!(reveals.len(), 1);
    assert!(reveals[0].contains("\"source\":\"default\""), "{}", reveals[0]);
    // Operators and agents, bound to no clinic, see the default too.
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    assert_eq!(shown(&reveal(&agent).await), pair(DEFAULT_USER, DEFAULT_PASSWORD));
}

#[tokio::test]
async fn a_clinics_own_details_are_shown_to_that_clinics_users_and_no_one_else() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    set_default(&operator, DEFAULT_USER, DEFAULT_PASSWORD).await;
    let saved = set_for_clinic(&operator, CLINIC_A, CLINIC_USER, CLINIC_PASSWORD).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let settings = operator.get(SETTINGS).await;
    let rows: Vec<&str> = settings.body.split("class=\"pc-override\"").skip(1).collect();
    assert_eq!(rows.len(), 1, "one clinic has its own");
    assert!(rows[0].contains(CLINIC_A) && rows[0].contains("operator@installer.jp"));

    let admin_a = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let admin_b = Browser::signed_in(&app, "admin-b@clinic-b.jp").await;
    assert_eq!(shown(&reveal(&admin_a).await), pair(CLINIC_USER, CLINIC_PASSWORD));
    assert_eq!(shown(&reveal(&admin_b).await), pair(DEFAULT_USER, DEFAULT_PASSWORD));
    assert_eq!(shown(&reveal(&operator).await), pair(DEFAULT_USER, DEFAULT_PASSWORD));
    let reveals = audit_details(&app, "guide.credential_revealed").await;
    let sources: Vec<bool> = reveals.iter().map(|d| d.contains("\"source\":\"clinic\"")).collect();
    assert_eq!(sources, [true, false, false], "{reveals:?}");
    // Clinic A's admins see the change in their clinic's history, in words, without the values.
    let clinic_page = admin_a.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(clinic_page.body.contains("PCログイン情報の設定"));
    assert!(!clinic_page.body.contains(CLINIC_PASSWORD) && !clinic_page.body.contains(CLINIC_USER));
}

#[tokio::test]
async fn before_anything_is_set_the_step_says_to_call_the_installers_desk() {
    let app = app().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let step = admin.get("/guide/mokushi/C-1").await;
    assert!(step.body.contains("id=\"credential-unset\"") && step.body.contains("設置業者のサポート窓口へ"));
    assert!(!step.body.contains("id=\"reveal-credential\""), "nothing to reveal");
    assert!(
        !step.body.contains("#pc-credential-settings"),
        "clinics are not sent to settings"
    );
    // A reveal sent anyway answers the same, and records nothing.
    let answer = reveal(&admin).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("id=\"credential-unset\"") && answer.element_text("pc-password").is_none());
    assert_eq!(app.audit_count("guide.credential_revealed").await, 0);
    // Operators are told where to set it.
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = operator.get("/guide/mokushi/C-1").await;
    assert!(page.body.contains("href=\"/desk/settings#pc-credential-settings\""));
    assert!(
        operator
            .get(SETTINGS)
            .await
            .body
            .contains("既定のログイン情報が未設定です")
    );
    // Once only clinic A has its own, clinic B is still told to call.
    set_for_clinic(&operator, CLINIC_A, CLINIC_USER, CLINIC_PASSWORD).await;
    let admin_b = Browser::signed_in(&app, "admin-b@clinic-b.jp").await;
    assert!(
        admin_b
            .get("/guide/mokushi/C-1")
            .await
            .body
            .contains("id=\"credential-unset\"")
    );
    assert!(
        admin
            .get("/guide/mokushi/C-1")
            .await
            .body
            .contains("id=\"reveal-credential\"")
    );
}

#[tokio::test]
async fn anonymous_visitors_see_only_the_sign_in_prompt() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    set_default(&operator, DEFAULT_USER, DEFAULT_PASSWORD).await;
    let visitor = app.browser();
    let step = visitor.get("/guide/mokushi/C-1").await;
    assert!(step.body.contains("ログインした医療機関の方にだけ表示します"));
    assert!(!step.body.contains("reveal-credential") && !step.body.contains("credential-unset"));
    for path in ["/guide/mokushi/C-1", "/guide/mokushi/print", "/guide/mokushi/C-1/help"] {
        let page = visitor.get(path).await;
        assert!(
            !page.body.contains(DEFAULT_PASSWORD) && !page.body.contains(DEFAULT_USER),
            "{path}"
        );
    }
    let refused = reveal(&visitor).await;
    assert_eq!(refused.location(), Some("/login"));
    assert_eq!(app.audit_count("guide.credential_revealed").await, 0);
}

#[tokio::test]
async fn only_operators_set_or_clear_the_details_and_only_with_the_forms_token() {
    let app = app().await;
    for email in ["admin-a@clinic-a.jp", "agent@installer.jp"] {
        let browser = Browser::signed_in(&app, email).await;
        let form = [("username", "x"), ("password", "stolen")];
        assert_eq!(
            browser.submit("/guide", SET, &form).await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        let own = [("clinic", CLINIC_A), ("username", "x"), ("password", "stolen")];
        assert_eq!(browser.submit("/guide", SET, &own).await.status, StatusCode::FORBIDDEN);
        let clear = format!("/desk/settings/pc-credential/clinics/{CLINIC_A}/clear");
        assert_eq!(
            browser.submit("/guide", &clear, &[("confirm", "yes")]).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let forged = operator
        .post(SET, &[("username", DEFAULT_USER), ("password", DEFAULT_PASSWORD)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
    let wrong = operator
        .post(
            SET,
            &[
                ("csrf", "0000"),
                ("username", DEFAULT_USER),
                ("password", DEFAULT_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "a wrong CSRF token");
    assert_eq!(app.audit_count("pc_credential.set").await, 0);
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert!(admin.get("/guide/mokushi/C-1").await.body.contains("credential-unset"));
}

#[tokio::test]
async fn invalid_input_is_explained_beside_its_field_and_the_username_is_kept() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;

    let no_password = set_default(&operator, DEFAULT_USER, "").await;
    assert_eq!(no_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_password.body.contains("id=\"pc_password-error\""));
    assert!(
        no_password
            .body
            .contains("まだ設定されていないので、パスワードを入力してください")
    );
    assert!(no_password.body.contains(&format!("value=\"{DEFAULT_USER}\"")));

    let long_name = set_default(&operator, &"u".repeat(65), DEFAULT_PASSWORD).await;
    assert_eq!(long_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long_name.body.contains("id=\"pc_username-error\""));
    assert!(long_name.body.contains("ユーザー名を64文字以内で入力してください"));
    assert!(
        !long_name.body.contains(DEFAULT_PASSWORD),
        "a typed password is never sent back"
    );

    let hidden = set_default(&operator, DEFAULT_USER, "pass\u{202E}word").await;
    assert!(hidden.body.contains("id=\"pc_password-error\""));
    let too_long = set_default(&operator, DEFAULT_USER, &"p".repeat(129)).await;
    assert!(too_long.body.contains("id=\"pc_password-error\""));
    let spaces = set_default(&operator, "PcUser", "   ").await;
    assert!(spaces.body.contains("id=\"pc_password-error\""));

    let unknown = set_for_clinic(&operator, "9999999999", CLINIC_USER, CLINIC_PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("id=\"pc_clinic-error\""));
    assert!(
        unknown.body.contains("value=\"9999999999\"") && unknown.body.contains(&format!("value=\"{CLINIC_USER}\""))
    );
    set_default(&operator, DEFAULT_USER, DEFAULT_PASSWORD).await;
    let clinic_name = set_for_clinic(&operator, CLINIC_A, "a\u{0007}b", CLINIC_PASSWORD).await;
    assert!(
        clinic_name.body.contains(&format!(
            "id=\"pc_username\" name=\"username\" maxlength=\"64\" autocomplete=\"off\" value=\"{DEFAULT_USER}\""
        )),
        "the default's form still shows what is stored"
    );
    assert!(clinic_name.body.contains("id=\"pc_clinic_username-error\""));
    assert!(
        !clinic_name.body.contains("id=\"pc_username-error\""),
        "beside the form that was sent"
    );

    assert_eq!(
        app.audit_count("pc_credential.set").await,
        1,
        "only the default was saved"
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pc_credentials")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn the_password_appears_on_no_page_but_the_reveal_and_an_empty_field_keeps_it() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    set_default(&operator, DEFAULT_USER, DEFAULT_PASSWORD).await;
    set_for_clinic(&operator, CLINIC_A, CLINIC_USER, CLINIC_PASSWORD).await;

    let settings = operator.get(SETTINGS).await;
    let status = settings.element_text("pc-default-status").unwrap();
    assert!(
        status.contains("設定日時") && status.contains("operator@installer.jp"),
        "{status}"
    );
    assert!(
        settings
            .body
            .contains("空欄のままなら、保存済みのパスワードを変更しません")
    );
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let pages = [
        (&operator, SETTINGS),
        (&operator, "/guide/mokushi/C-1"),
        (&operator, &format!("/clinics/{CLINIC_A}") as &str),
        (&admin, "/guide/mokushi/C-1"),
        (&admin, "/guide/mokushi/print"),
        (&admin, &format!("/clinics/{CLINIC_A}")),
    ];
    for (browser, path) in pages {
        let body = browser.get(path).await.body;
        assert!(
            !body.contains(DEFAULT_PASSWORD) && !body.contains(CLINIC_PASSWORD),
            "{path}"
        );
    }
    // Not in the audit log, and not in the database as typed (it is sealed).
    let details: Vec<String> = sqlx::query_scalar("SELECT detail || actor FROM audit_log")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert!(
        details
            .iter()
            .all(|d| !d.contains(DEFAULT_PASSWORD) && !d.contains(CLINIC_PASSWORD))
    );
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT password_sealed FROM pc_credentials")
        .fetch_all(app.pool())
        .await
        .unwrap();
    for value in &sealed {
        assert!(
            !value
                .windows(7)
                .any(|w| w == &DEFAULT_PASSWORD.as_bytes()[..7] || w == &CLINIC_PASSWORD.as_bytes()[..7])
        );
    }
    let set = audit_details(&app, "pc_credential.set").await;
    assert!(set[0].contains("\"scope\":\"default\"") && set[1].contains(&format!("\"scope\":\"{CLINIC_A}\"")));

    // A new username with the password field left empty keeps the password.
    let renamed = set_default(&operator, "PcRenamed", "").await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let admin_b = Browser::signed_in(&app, "admin-b@clinic-b.jp").await;
    assert_eq!(shown(&reveal(&admin_b).await), pair("PcRenamed", DEFAULT_PASSWORD));
    let last = audit_details(&app, "pc_credential.set").await.pop().unwrap();
    assert!(last.contains("\"username_change\":\"changed\"") && last.contains("\"password_change\":\"unchanged\""));
    set_for_clinic(&operator, CLINIC_A, CLINIC_USER, "a new clinic pass").await;
    let last = audit_details(&app, "pc_credential.set").await.pop().unwrap();
    assert!(last.contains("\"username_change\":\"unchanged\"") && last.contains("\"password_change\":\"changed\""));
    assert_eq!(shown(&reveal(&admin).await), pair(CLINIC_USER, "a new clinic pass"));
    // The operators' history says what changed in words.
    let history = operator.get(&format!("/clinics/{CLINIC_A}")).await.body;
    assert!(
        history.contains("ユーザー名は変更なし、パスワードは変更"),
        "the audit sentence"
    );
}

#[tokio::test]
async fn clearing_asks_first_and_then_the_clinic_falls_back_to_the_default() {
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    set_default(&operator, DEFAULT_USER, DEFAULT_PASSWORD).await;
    set_for_clinic(&operator, CLINIC_A, CLINIC_USER, CLINIC_PASSWORD).await;
    let clear_a = format!("/desk/settings/pc-credential/clinics/{CLINIC_A}/clear");
    let question = operator.submit(SETTINGS, &clear_a, &[]).await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("id=\"confirm-action\"") && question.body.contains("さくら内科クリニック"));
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert_eq!(
        shown(&reveal(&admin).await),
        pair(CLINIC_USER, CLINIC_PASSWORD),
        "nothing changed yet"
    );

    let cleared = operator.submit(SETTINGS, &clear_a, &[("confirm", "yes")]).await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    assert_eq!(shown(&reveal(&admin).await), pair(DEFAULT_USER, DEFAULT_PASSWORD));
    let cleared = operator
        .submit(SETTINGS, "/desk/settings/pc-credential/clear", &[("confirm", "yes")])
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    assert!(admin.get("/guide/mokushi/C-1").await.body.contains("credential-unset"));
    let details = audit_details(&app, "pc_credential.cleared").await;
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details[0].contains(CLINIC_A) && details[1].contains("default"));
    // Clearing what is not set changes nothing and records nothing.
    operator
        .submit(SETTINGS, "/desk/settings/pc-credential/clear", &[("confirm", "yes")])
        .await;
    assert_eq!(app.audit_count("pc_credential.cleared").await, 2);
}

/// SHA-256 of the sign-in details that used to be in the guide's content file (the values
/// themselves must not come back into the repository, not even in this test).
const OLD_VALUE_HASHES: [&str; 2] = [
    "1f53ed9e9660c1da070659fc2b5648ce3cabd65b30b8b37d6b9b2aae52454443",
    "eb12529295e9d1448294fcdb67dedca28a2d32e6f65b58630627f603dcde7a73",
];

/// Whether `bytes` holds one of the old values as a word (both are 9 characters of letters,
/// digits and `_`).
fn holds_old_value(bytes: &[u8]) -> bool {
    use sha2::Digest;
    bytes
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|word| word.len() == 9)
        .any(|word| OLD_VALUE_HASHES.contains(&hex::encode(sha2::Sha256::digest(word)).as_str()))
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("node_modules") {
                files_under(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn the_old_sign_in_details_are_gone_from_the_repository_and_the_binary() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in ["content", "docs", "src", "templates", "tests", "scripts", "migrations"] {
        files_under(&root.join(dir), &mut files);
    }
    let holding: Vec<_> = files
        .iter()
        .filter(|f| holds_old_value(&std::fs::read(f).unwrap()))
        .collect();
    assert!(holding.is_empty(), "{holding:?}");
    let binary = std::fs::read(env!("CARGO_BIN_EXE_portal")).unwrap();
    assert!(!holds_old_value(&binary), "the portal binary");
    // And the guide's content format has no place for them any more.
    let with_login = format!(
        "{}\n[pc_login]\nusername = \"u\"\npassword = \"p\"\n",
        portal::domain::guide::SOURCES[0].1
    );
    assert!(portal::domain::guide::Guide::parse(&with_login).is_err());
}

#[tokio::test]
async fn a_lost_pepper_is_not_replaced_while_sealed_passwords_are_stored() {
    if common::engine() == common::Engine::Postgres {
        common::skipped_on_postgres(
            "there the pepper comes from configuration only: there is no pepper file to lose and replace",
        );
        return;
    }
    let app = app().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    set_default(&operator, DEFAULT_USER, DEFAULT_PASSWORD).await;
    let dir = app.stop().await;
    std::fs::remove_file(dir.path().join(portal::auth::pepper::FILE_NAME)).unwrap();
    let mut config = portal::config::Config::for_data_dir(dir.path());
    config.passcode_pepper = None;
    let refused = portal::build(config).await.err().expect("no start with a new pepper");
    assert!(format!("{refused:#}").contains("PC sign-in passwords"), "{refused:#}");
}

#[tokio::test]
async fn the_clinics_history_says_which_details_were_shown_and_older_entries_still_read_well() {
    let app = app().await;
    let clinic_a = portal::db::clinics::by_code(app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap()
        .id;
    // An entry written before reveals named their source.
    let old = portal::db::audit::fields(&[("guide", "mokushi"), ("step", "C-1")]);
    let entry = portal::db::audit::Entry {
        actor: &portal::db::audit::Actor::CommandLine,
        action: "guide.credential_revealed",
        clinic_id: Some(clinic_a),
        detail: &old,
        ip: None,
    };
    portal::db::audit::record(app.store(), entry).await.unwrap();
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    set_for_clinic(&operator, CLINIC_A, CLINIC_USER, CLINIC_PASSWORD).await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    reveal(&admin).await;
    let history = admin.get(&format!("/clinics/{CLINIC_A}")).await.body;
    assert!(
        history.contains("ガイドのステップ C-1（この医療機関専用）"),
        "the new entry"
    );
    assert!(
        history.contains("ガイドのステップ C-1</td>"),
        "the old entry, without a placeholder"
    );
    assert!(!history.contains("{source}"));
}
