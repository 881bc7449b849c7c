//! The authorization matrix: every route in the route table × every kind of caller, with the
//! expected outcome. The routes are read from `src/routes/mod.rs`, so a new route without an
//! entry in `expected` fails this test until someone decides who may use it.

mod common;

use common::{Browser, CLINIC_A, TestApp};
use portal::db::audit::Actor;
use portal::domain::Email;
use reqwest::{Method, StatusCode};

/// (method, path) for every `.route(...)` in the route table.
fn route_table() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes/mod.rs")).unwrap();
    let mut routes = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        // The call's arguments, up to its matching parenthesis.
        let mut depth = 1;
        let end = chunk
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .unwrap();
        let call = &chunk[..end];
        let path = call.split('"').nth(1).unwrap().to_owned();
        for method in ["get", "post", "patch", "put", "delete"] {
            let calls_it = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0 || !call.as_bytes()[i - 1].is_ascii_alphanumeric() && call.as_bytes()[i - 1] != b'_'
            });
            if calls_it {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    AdminA,
    AdminB,
    Agent,
    Operator,
    Reader,
    RevokedReader,
    ApiToken,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::AdminA,
    Caller::AdminB,
    Caller::Agent,
    Caller::Operator,
    Caller::Reader,
    Caller::RevokedReader,
    Caller::ApiToken,
];

/// Who may use each route (for clinic-scoped routes, on clinic A).
fn expected(method: &str, path: &str, caller: Caller) -> bool {
    use Caller::*;
    let browser_signed_in = matches!(caller, AdminA | AdminB | Agent | Operator);
    // Token clients are not browsers: they never carry a session's CSRF token for form posts.
    if matches!(caller, Reader | RevokedReader | ApiToken) && method != "GET" && !path.starts_with("/api/") {
        return false;
    }
    let desk = matches!(caller, Agent | Operator);
    match (method, path) {
        (
            _,
            "/login"
            | "/setup"
            | "/lang"
            | "/logout"
            | "/healthz"
            | "/readyz"
            | "/api/v1/openapi.json"
            | "/static/{*path}"
            | "/favicon.ico"
            // Reached from a mailed link or by someone who cannot sign in: open to everyone (an
            // unknown link's page is 410, which is no denial; the token is the authorization).
            | "/invite/{token}"
            | "/invite"
            | "/password/forgot"
            | "/password/reset/{token}"
            | "/password/reset",
        ) => true,
        (_, p) if p.starts_with("/guide") => match (method, p) {
            ("GET", "/guide/{id}/stats") => caller == Operator,
            ("POST", "/guide/{id}/{code}/reveal") => browser_signed_in,
            // Any clinic admin may ask for help for their own clinic from any step.
            ("POST", "/guide/{id}/{code}/help") => matches!(caller, AdminA | AdminB),
            _ => true,
        },
        ("GET", "/") | (_, "/account/password") | ("GET", "/account/sessions") => browser_signed_in,
        // The code step exists only after a right password: anyone else is sent to sign in
        // (and a signed-in browser home).
        ("GET", "/login/mfa") => browser_signed_in,
        ("POST", "/login/mfa") => false,
        // Operators must keep their second factor.
        ("POST", "/account/mfa/disable") => browser_signed_in && caller != Operator,
        (_, p) if p.starts_with("/account/mfa") => browser_signed_in,
        // Each user's own settings; nobody else's can be reached (tests/notifications.rs).
        (_, "/account/notifications") => browser_signed_in,
        // Asked with a session id no caller owns: 404 for everyone (ending one's own is in
        // tests/sessions_list.rs, which also shows another user's is refused).
        ("POST", "/account/sessions/{id}/end") => false,
        ("GET", "/clinics") => desk,
        ("POST", "/clinics") => caller == Operator,
        ("GET", "/clinics/{code}" | "/clinics/{code}/passcode") => desk || caller == AdminA,
        ("POST", "/clinics/{code}/passcode") | ("GET", "/clinics/{code}/passcode/issue") => caller == AdminA,
        (_, p) if p.starts_with("/clinics/{code}/readers") => caller == Operator || caller == AdminA,
        (_, p) if p.starts_with("/clinics/{code}/requests") => caller == AdminA,
        (_, p) if p.starts_with("/desk/settings") => caller == Operator,
        (_, p) if p.starts_with("/desk") || p.starts_with("/account/tokens") => desk,
        (_, p) if p.starts_with("/users") => caller == Operator,
        // The outbox and its retry action (a failing message back in the queue): operators only.
        (_, p) if p.starts_with("/outbox") => caller == Operator,
        (_, p) if p.starts_with("/api/v1/reader/") => caller == Reader,
        (_, p) if p.starts_with("/api/v1/tickets") => caller == ApiToken,
        _ => panic!("no authorization expectation for {method} {path}: add one to `expected`"),
    }
}

struct World {
    app: TestApp,
    browsers: Vec<(Caller, Browser)>,
    reader_token: String,
    revoked_token: String,
    api_token: String,
    victim_reader: i64,
    victim_user: i64,
    token_id: i64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let reader_token = app.add_reader(a, "受付1").await;
    let revoked_token = app.add_reader(a, "受付2").await;
    app.add_reader(a, "victim").await;
    sqlx::query("UPDATE readers SET token_hash = NULL, revoked_at = 1 WHERE name = '受付2'")
        .execute(app.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO cache_events (kind, entity_id, at) SELECT 'reader', id, 0 FROM readers WHERE name = '受付2'",
    )
    .execute(app.pool())
    .await
    .unwrap();
    app.state.sync_live().await;
    let victim_reader = sqlx::query_scalar("SELECT id FROM readers WHERE name = 'victim'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    app.add_user("victim@installer.jp", portal::domain::Role::Agent, None)
        .await;
    let victim_user = sqlx::query_scalar("SELECT id FROM users WHERE email = 'victim@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    app.issue_passcode(a).await;
    let agent = Email::parse("agent@installer.jp").unwrap();
    let api = portal::services::accounts::issue_api_token(app.store(), &Actor::CommandLine, &agent, "matrix")
        .await
        .unwrap();
    // A ticket of clinic A, opened by its admin.
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let requests = format!("/clinics/{CLINIC_A}/requests");
    admin.submit(&requests, &requests, &[("summary", "件名")]).await;
    let mut browsers = vec![(Caller::Anonymous, app.browser()), (Caller::AdminA, admin)];
    browsers.push((Caller::AdminB, Browser::signed_in(&app, "admin-b@clinic-b.jp").await));
    browsers.push((Caller::Agent, Browser::signed_in(&app, "agent@installer.jp").await));
    browsers.push((
        Caller::Operator,
        Browser::signed_in(&app, "operator@installer.jp").await,
    ));
    // One more token for each desk member to revoke as "their own" (not the one the matrix uses).
    let spare = portal::services::accounts::issue_api_token(app.store(), &Actor::CommandLine, &agent, "spare")
        .await
        .unwrap();
    let operator = Email::parse("operator@installer.jp").unwrap();
    portal::services::accounts::issue_api_token(app.store(), &Actor::CommandLine, &operator, "spare")
        .await
        .unwrap();
    World {
        app,
        browsers,
        reader_token,
        revoked_token,
        api_token: api.token.expose().clone(),
        victim_reader,
        victim_user,
        token_id: spare.id,
    }
}

fn concrete(world: &World, caller: Caller, path: &str) -> String {
    let token_id = if caller == Caller::Operator {
        world.token_id + 1
    } else {
        world.token_id
    };
    let path = if path.starts_with("/guide") {
        path.replace("{id}", "mokushi").replace("{code}", "C-1")
    } else {
        path.replace("{code}", CLINIC_A)
    };
    let id = if path.starts_with("/users") {
        world.victim_user
    } else if path.starts_with("/desk/settings/closures") {
        1
    } else if path.starts_with("/account/tokens") {
        token_id
    } else if path.starts_with("/account/sessions") {
        i64::from(i32::MAX)
    } else {
        world.victim_reader
    };
    path.replace("{id}", &id.to_string())
        .replace("{number}", "SUP-000001")
        .replace("{slug}", "pc_login")
        .replace("{token}", &"0".repeat(64))
        .replace("{*path}", "portal.css")
}

/// Denied means: a 401/403/404, or a page that sends the browser to sign in.
fn was_denied(status: StatusCode, location: Option<&str>) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ) || (status == StatusCode::SEE_OTHER && location.is_some_and(|l| l == "/login" || l.starts_with("/login?next=")))
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_policy_says() {
    let world = world().await;
    let mut routes = route_table();
    assert!(routes.len() > 40, "the route table was read: {routes:?}");
    // Signing out last keeps the sessions alive for the other rows.
    routes.sort_by_key(|(_, path)| path == "/logout");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, path) in &routes {
        for caller in CALLERS {
            let allowed = expected(method, path, caller);
            let url = concrete(&world, caller, path);
            let (status, location) = send(&world, caller, method, &url).await;
            checked += 1;
            let denied = was_denied(status, location.as_deref());
            // /setup is gone once accounts exist (404 for everyone), which is not a denial of a right.
            if path == "/setup" {
                continue;
            }
            // Routes open to every browser may still refuse the request itself (a failed sign-in
            // is 401, signing out sends to /login): only 403 and 404 count as denials there.
            let public = CALLERS[..5].iter().all(|c| expected(method, path, *c));
            let denied = if public && !matches!(caller, Caller::Reader | Caller::RevokedReader | Caller::ApiToken) {
                matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
            } else {
                denied
            };
            if allowed == denied || status.is_server_error() {
                failures.push(format!(
                    "{caller:?} {method} {url}: {status} {location:?} (expected {})",
                    if allowed { "allowed" } else { "denied" }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        world.app.audit_count("access.denied").await > 0,
        "cross-clinic attempts are audited"
    );
}

async fn send(world: &World, caller: Caller, method: &str, url: &str) -> (StatusCode, Option<String>) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let full = world.app.url(url);
    let request = match caller {
        Caller::Reader | Caller::RevokedReader | Caller::ApiToken => {
            let token = match caller {
                Caller::Reader => &world.reader_token,
                Caller::RevokedReader => &world.revoked_token,
                _ => &world.api_token,
            };
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let request = client.request(method.clone(), &full).bearer_auth(token);
            // Each kind of route gets the body it parses, so the answer is about the caller.
            if url.starts_with("/api/") {
                request.json(&serde_json::json!({}))
            } else {
                request.form(&[("name", "x")])
            }
        }
        _ => {
            let browser = &world.browsers.iter().find(|(c, _)| *c == caller).unwrap().1;
            if method == Method::GET {
                browser.http.get(&full)
            } else {
                // A valid CSRF token, so the check is about who, not about forgery.
                let csrf = browser.get("/guide").await.csrf();
                browser
                    .http
                    .request(method.clone(), &full)
                    .form(&[("csrf", csrf.as_str())])
            }
        }
    };
    let response = request.send().await.unwrap();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status(), location)
}

#[test]
fn the_route_table_reader_finds_methods_and_paths() {
    let routes = route_table();
    assert!(routes.contains(&("POST".into(), "/clinics/{code}/passcode".into())));
    assert!(routes.contains(&("PATCH".into(), "/api/v1/tickets/{number}".into())));
    assert!(routes.contains(&("GET".into(), "/healthz".into())));
    for (method, path) in &routes {
        for caller in CALLERS {
            expected(method, path, caller);
        }
    }
}
