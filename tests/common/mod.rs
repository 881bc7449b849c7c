//! Shared test harness: starts the real portal on 127.0.0.1:0 with a fresh data directory,
//! and drives it over HTTP like a browser (cookies, CSRF tokens) or a reader (bearer token).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use portal::auth::Hasher;
use portal::config::Config;
use portal::db::audit::Actor;
use portal::domain::{ClinicCode, Email, InstallType, Password, Role};
use portal::services::{accounts, passcodes, readers};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";
pub const CLINIC_A: &str = "0110113719";
pub const CLINIC_B: &str = "1310000003";

pub struct TestApp {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub state: portal::state::AppState,
    pub setup_token: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_in(dir).await
    }

    pub async fn spawn_in(dir: tempfile::TempDir) -> Self {
        Self::spawn_with(dir, |_| {}).await
    }

    /// Starts with the test defaults, then `adjust` (for limits a test wants to reach).
    pub async fn spawn_with(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_data_dir(dir.path());
        config.passcode_pepper = None;
        config.audit_key = None;
        config.follow_interval_ms = 100;
        config.last_seen_flush_s = 1;
        adjust(&mut config);
        let portal = portal::build(config).await.expect("build portal");
        let state = portal.state().clone();
        let setup_token = portal.setup_token();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(portal.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            dir,
            state,
            setup_token,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Graceful shutdown; returns the data directory so a test can start again on it.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Waits until the server holds `n` long-polls, so a test acts only once its reader is
    /// really waiting (a fixed sleep is a race on a loaded CI machine).
    pub async fn held_long_polls(&self, n: usize) {
        for _ in 0..600 {
            if self.state.long_polls.held() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never held {n} long-polls");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The SQLite pool underneath the store, for the tests' own SQL.
    pub fn pool(&self) -> &sqlx::SqlitePool {
        self.state.pool.sqlite()
    }

    /// The store, for calling the portal's own functions.
    pub fn store(&self) -> &portal::db::Pool {
        &self.state.pool
    }

    pub fn hasher(&self) -> &Hasher {
        &self.state.hasher
    }

    pub async fn add_clinic(&self, code: &str, name: &str) -> i64 {
        let code = ClinicCode::parse(code).expect("valid code");
        let input = accounts::ClinicInput {
            code: &code,
            name,
            phone: "",
            address: "",
            contact_name: "",
        };
        let id = accounts::create_clinic(self.store(), &Actor::CommandLine, &input)
            .await
            .expect("clinic");
        self.state.sync_live().await;
        id
    }

    pub async fn add_user(&self, email: &str, role: Role, clinic: Option<&str>) {
        let email = Email::parse(email).expect("email");
        let password = Password::parse(PASSWORD).expect("password");
        let clinic = clinic.map(|c| ClinicCode::parse(c).expect("code"));
        let input = accounts::UserInput {
            email: &email,
            password: &password,
            role,
            clinic: clinic.as_ref(),
            temporary: false,
        };
        accounts::create_user(self.store(), self.hasher(), &Actor::CommandLine, &input)
            .await
            .expect("user");
    }

    /// Enrolls a reader and returns its device token.
    pub async fn add_reader(&self, clinic_id: i64, name: &str) -> String {
        let token = self.add_reader_elsewhere(clinic_id, name).await;
        self.state.sync_live().await;
        token
    }

    /// Enrolls a reader as another process (the command line) would: the running server's
    /// caches learn of it only by following the database.
    pub async fn add_reader_elsewhere(&self, clinic_id: i64, name: &str) -> String {
        let enrolled = readers::enroll(
            self.store(),
            &Actor::CommandLine,
            clinic_id,
            name,
            InstallType::Standalone,
            None,
        )
        .await
        .expect("reader");
        enrolled.token.expose().clone()
    }

    /// Issues a passcode as the command line would; returns the code.
    pub async fn issue_passcode(&self, clinic_id: i64) -> String {
        let issued = passcodes::issue_unconfirmed(self.store(), self.hasher(), &Actor::CommandLine, clinic_id, None)
            .await
            .expect("issue");
        self.state.sync_live().await;
        issued.code.expose().to_owned()
    }

    /// Clinic A with its admin, clinic B with its admin, an operator and an agent.
    pub async fn with_two_clinics(&self) -> (i64, i64) {
        let a = self.add_clinic(CLINIC_A, "さくら内科クリニック").await;
        let b = self.add_clinic(CLINIC_B, "みどり歯科医院").await;
        self.add_user("admin-a@clinic-a.jp", Role::ClinicAdmin, Some(CLINIC_A))
            .await;
        self.add_user("admin-b@clinic-b.jp", Role::ClinicAdmin, Some(CLINIC_B))
            .await;
        self.add_user("operator@installer.jp", Role::Operator, None).await;
        self.add_user("agent@installer.jp", Role::Agent, None).await;
        (a, b)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self.addr)
    }

    pub fn reader(&self, token: &str) -> ReaderClient {
        ReaderClient {
            addr: self.addr,
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        portal::db::audit::count_action(self.store(), action)
            .await
            .expect("audit count")
    }
}

/// A cookie-keeping client that does not follow redirects, so tests see each 303. Clones share
/// the cookies (one browser, several tabs or a double click).
#[derive(Clone)]
pub struct Browser {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn csrf(&self) -> String {
        self.hidden("csrf").expect("page has a CSRF token")
    }

    /// Value of the first hidden (or other) input with this name.
    pub fn hidden(&self, name: &str) -> Option<String> {
        extract_attr(&self.body, &format!("name=\"{name}\" value=\""))
    }

    /// Text of the element with this id (simple markup only).
    pub fn element_text(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[start..];
        let open_end = rest.find('>')? + 1;
        let close = rest[open_end..].find('<')?;
        Some(rest[open_end..open_end + close].trim().to_owned())
    }
}

fn extract_attr(body: &str, prefix: &str) -> Option<String> {
    let start = body.find(prefix)? + prefix.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client");
        Self { addr, http }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        Self::page(response).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self.http.post(self.url(path)).form(form).send().await.expect("POST");
        Self::page(response).await
    }

    /// Fetches `page_path` for its CSRF token, then posts the form with it.
    pub async fn submit(&self, page_path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(page_path).await.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Page { status, headers, body }
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.submit("/login", "/login", &[("email", email), ("password", password)])
            .await
    }

    /// Posts the sign-in form as the page at `login_path` renders it, with `next` (where to go
    /// afterwards), and returns the answer.
    pub async fn login_then(&self, login_path: &str, email: &str, password: &str, next: &str) -> Page {
        let csrf = self.get(login_path).await.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }

    /// Signs in and checks it worked.
    pub async fn signed_in(app: &TestApp, email: &str) -> Self {
        let browser = app.browser();
        let page = browser.login(email, PASSWORD).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in of {email} failed: {}",
            page.body
        );
        browser
    }

    /// Enrolls a reader from the clinic page as its admin or an operator would; returns the answer
    /// (the page showing the token, or the refusal).
    pub async fn enroll_reader(&self, clinic: &str, name: &str, install_type: &str) -> Page {
        self.submit(
            &format!("/clinics/{clinic}"),
            &format!("/clinics/{clinic}/readers"),
            &[("name", name), ("install_type", install_type)],
        )
        .await
    }

    /// Issues the clinic's passcode through the web UI; returns the page showing it.
    pub async fn issue_passcode(&self, clinic: &str) -> Page {
        let (csrf, issue_token) = self.confirm_issue(clinic).await;
        self.post(
            &format!("/clinics/{clinic}/passcode"),
            &[("csrf", &csrf), ("issue_token", &issue_token)],
        )
        .await
    }

    /// Opens the issue confirmation page; returns its CSRF and single-use issue tokens.
    pub async fn confirm_issue(&self, clinic: &str) -> (String, String) {
        let confirm = self.get(&format!("/clinics/{clinic}/passcode/issue")).await;
        assert_eq!(confirm.status, StatusCode::OK, "confirmation page: {}", confirm.body);
        let token = confirm
            .hidden("issue_token")
            .expect("the confirmation carries an issue token");
        (confirm.csrf(), token)
    }
}

pub struct ReaderClient {
    pub addr: SocketAddr,
    pub token: String,
    pub http: reqwest::Client,
}

impl ReaderClient {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn poll_request(&self, etag: Option<&str>, wait: Option<u64>) -> reqwest::RequestBuilder {
        let path = match wait {
            Some(w) => format!("/api/v1/reader/passcode?wait={w}"),
            None => "/api/v1/reader/passcode".to_owned(),
        };
        let mut request = self
            .http
            .get(self.url(&path))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(90));
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        request
    }

    pub async fn poll(&self, etag: Option<&str>) -> reqwest::Response {
        self.poll_request(etag, None).send().await.expect("poll")
    }

    /// The ETag of the clinic's current passcode state, from a fresh poll.
    pub async fn current_etag(&self) -> String {
        let response = self.poll(None).await;
        assert_eq!(response.status(), StatusCode::OK, "poll for the ETag");
        response.headers()["etag"].to_str().expect("etag").to_owned()
    }

    pub async fn verify(&self, passcode: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/reader/verify"))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "passcode": passcode }))
            .send()
            .await
            .expect("verify")
    }
}

/// A wrong code that differs from `code`.
pub fn other_code(code: &str) -> String {
    let n: u32 = code.parse().expect("four digits");
    format!("{:04}", (n + 1) % 10_000)
}
