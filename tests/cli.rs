//! The `portal` command line, run as the real binary against a data directory.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{CLINIC_A, CLINIC_B, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

fn portal(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = common::portal_command(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portal");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("portal output")
}

fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn an_operator_sets_up_a_clinic_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let added = portal(
        d,
        &["clinic", "add", "--code", CLINIC_A, "--name", "さくら内科クリニック"],
        None,
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let user = portal(
        d,
        &[
            "user",
            "add",
            "--email",
            "admin@clinic-a.jp",
            "--role",
            "clinic-admin",
            "--clinic",
            CLINIC_A,
        ],
        Some("a long enough password\n"),
    );
    assert!(user.status.success(), "{}", String::from_utf8_lossy(&user.stderr));

    let reader = portal(
        d,
        &[
            "reader",
            "add",
            "--clinic",
            CLINIC_A,
            "--name",
            "受付1",
            "--install-type",
            "shared",
        ],
        None,
    );
    assert!(reader.status.success());
    let token = last_line(&reader);
    assert!(token.starts_with("rdr_") && token.len() == 68, "{token}");

    let issued = portal(d, &["passcode", "issue", "--clinic", CLINIC_A], None);
    assert!(issued.status.success());
    let code = last_line(&issued);
    assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    if common::engine() == common::Engine::Postgres {
        // There the pepper comes from PORTAL_PASSCODE_PEPPER only, and is never written down.
        assert!(!d.join("passcode-pepper").exists(), "no pepper file on PostgreSQL");
        return;
    }
    let pepper = std::fs::metadata(d.join("passcode-pepper")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(pepper.permissions().mode() & 0o777, 0o600);
    }
    #[cfg(not(unix))]
    let _ = pepper;
}

#[test]
fn bad_input_is_one_clear_line_and_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&[&str], Option<&str>, &str); 6] = [
        (
            &["clinic", "add", "--code", "0110113718", "--name", "x"],
            None,
            "check digit",
        ),
        (
            &["reader", "add", "--clinic", CLINIC_A, "--name", "受付1"],
            None,
            "no clinic has",
        ),
        (&["passcode", "issue", "--clinic", "123"], None, "10 digits"),
        (
            &["user", "add", "--email", "op@installer.jp", "--role", "operator"],
            Some("short\n"),
            "at least 12",
        ),
        (
            &["user", "add", "--email", "op@installer.jp", "--role", "boss"],
            Some("long enough password\n"),
            "--role",
        ),
        (
            &["user", "add", "--email", "admin@x.jp", "--role", "clinic-admin"],
            Some("long enough password\n"),
            "--clinic",
        ),
    ];
    for (args, stdin, expected) in cases {
        let output = portal(d, args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let added = portal(d, &["clinic", "add", "--code", CLINIC_A, "--name", "x"], None);
    assert!(added.status.success());
    let twice = portal(d, &["clinic", "add", "--code", CLINIC_A, "--name", "x"], None);
    assert_eq!(twice.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already exists"));
}

#[tokio::test]
async fn command_line_changes_reach_the_running_server_within_its_follow_interval() {
    let app = TestApp::spawn().await;
    let d = app.dir.path().to_owned();
    let clinic = tokio::task::spawn_blocking({
        let d = d.clone();
        move || {
            portal(
                &d,
                &["clinic", "add", "--code", CLINIC_A, "--name", "さくら内科クリニック"],
                None,
            )
        }
    });
    assert!(clinic.await.unwrap().status.success());
    let reader = tokio::task::spawn_blocking({
        let d = d.clone();
        move || portal(&d, &["reader", "add", "--clinic", CLINIC_A, "--name", "受付1"], None)
    });
    let token = last_line(&reader.await.unwrap());

    // The server never saw the reader being added, yet it learns the token from the event tail.
    let client = app.reader(&token);
    let mut first = client.poll(None).await;
    for _ in 0..50 {
        if first.status() == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        first = client.poll(None).await;
    }
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers().get("etag").unwrap().to_str().unwrap().to_owned();

    let waiting = tokio::spawn(client.poll_request(Some(&etag), Some(30)).send());
    app.held_long_polls(1).await;
    let issued = tokio::task::spawn_blocking(move || portal(&d, &["passcode", "issue", "--clinic", CLINIC_A], None))
        .await
        .unwrap();
    let code = last_line(&issued);
    let woken = waiting.await.unwrap().unwrap();
    assert_eq!(
        woken.status(),
        StatusCode::OK,
        "the held long-poll is woken by the CLI's issue"
    );
    assert_eq!(woken.json::<Value>().await.unwrap()["generation"], 1);

    // The code issued by the CLI verifies in the server (same pepper file).
    let answer: Value = client.verify(&code).await.json().await.unwrap();
    assert_eq!(answer["ok"], true);
    assert_eq!(
        portal::db::audit::count_action(app.store(), "passcode.issued")
            .await
            .unwrap(),
        1
    );
}

#[test]
fn the_server_logs_never_contain_an_issued_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        portal(d, &["clinic", "add", "--code", CLINIC_A, "--name", "さくら"], None)
            .status
            .success()
    );
    assert!(
        portal(
            d,
            &[
                "user",
                "add",
                "--email",
                "admin@clinic-a.jp",
                "--role",
                "clinic-admin",
                "--clinic",
                CLINIC_A
            ],
            Some("a long enough password\n")
        )
        .status
        .success()
    );
    let token = last_line(&portal(
        d,
        &["reader", "add", "--clinic", CLINIC_A, "--name", "受付1"],
        None,
    ));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let log_path = d.join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = common::portal_command(d)
        .args(["serve", "--addr", &addr.to_string()])
        // Debug for our code and the HTTP stack; sqlx timings and hyper byte counts would look like codes.
        .env("RUST_LOG", "debug,sqlx=warn,hyper=info,hyper_util=info")
        .env("NO_COLOR", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let codes = runtime.block_on(async {
        let browser = common::Browser::new(addr);
        for _ in 0..100 {
            if reqwest::get(format!("http://{addr}/healthz")).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            browser
                .login("admin@clinic-a.jp", "a long enough password")
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        let reader = common::ReaderClient {
            addr,
            token: token.clone(),
            http: reqwest::Client::new(),
        };
        let mut codes = Vec::new();
        for _ in 0..3 {
            let code = browser
                .issue_passcode(CLINIC_A)
                .await
                .element_text("new-passcode")
                .unwrap();
            reader.verify(&code).await;
            reader.verify(&common::other_code(&code)).await;
            codes.push(code);
        }
        codes
    });
    let _ = server.kill();
    let _ = server.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.contains("passcode issued"), "the issue itself is logged: {logs}");
    // A code would show as a run of exactly four digits; timestamps can contain the year.
    let runs: Vec<&str> = logs
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| r.len() == 4)
        .collect();
    for code in &codes {
        if code.starts_with("20") {
            continue;
        }
        assert!(!runs.contains(&code.as_str()), "code {code} appears in the logs");
    }
    assert!(!logs.contains(&token), "nor does the device token");
}

#[test]
fn token_add_prints_a_working_api_token_as_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let user = portal(
        d,
        &["user", "add", "--email", "agent@installer.jp", "--role", "agent"],
        Some("a long enough password\n"),
    );
    assert!(user.status.success());
    let issued = portal(d, &["token", "add", "--email", "agent@installer.jp"], None);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let token = last_line(&issued);
    assert!(token.starts_with("pat_") && token.len() == 68, "{token}");
    let hash = portal::auth::device_token::hash(&token);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let holder = runtime.block_on(async {
        let pool = portal::db::connect(&common::database_url(d)).await.unwrap();
        portal::db::api_tokens::holder(&pool, &hash).await.unwrap()
    });
    assert_eq!(holder.unwrap().email, "agent@installer.jp");
    let unknown = portal(d, &["token", "add", "--email", "nobody@installer.jp"], None);
    assert_eq!(unknown.status.code(), Some(1));
}

#[tokio::test]
async fn a_backup_taken_while_the_portal_runs_restores_into_a_working_portal() {
    if common::engine() == common::Engine::Postgres {
        common::skipped_on_postgres(
            "`portal backup` is SQLite's VACUUM INTO a file restored by copying it into a data directory; \
             a PostgreSQL database is backed up with the server's own tools",
        );
        return;
    }
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    let code = app.issue_passcode(a).await;
    let backup_dir = tempfile::tempdir().unwrap();
    let target = backup_dir.path().join("portal-backup.db");

    // Writes keep going while the backup runs.
    let writer = {
        let reader = app.reader(&token);
        let wrong = common::other_code(&code);
        tokio::spawn(async move {
            for _ in 0..3 {
                reader.verify(&wrong).await;
            }
        })
    };
    let data = app.dir.path().to_owned();
    let target_arg = target.to_str().unwrap().to_owned();
    let output = tokio::task::spawn_blocking(move || portal(&data, &["backup", "--to", &target_arg], None))
        .await
        .unwrap();
    writer.await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("passcode-pepper")
            && String::from_utf8_lossy(&output.stdout).contains("audit-key"),
        "the pepper and the audit key are mentioned"
    );
    let again = {
        let data = app.dir.path().to_owned();
        let target_arg = target.to_str().unwrap().to_owned();
        tokio::task::spawn_blocking(move || portal(&data, &["backup", "--to", &target_arg], None))
            .await
            .unwrap()
    };
    assert_eq!(again.status.code(), Some(1), "an existing file is never overwritten");

    // Restore as the docs say: the backup becomes portal.db beside the same pepper and audit key.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&target, restored.path().join("portal.db")).unwrap();
    for secret in ["passcode-pepper", "audit-key"] {
        std::fs::copy(app.dir.path().join(secret), restored.path().join(secret)).unwrap();
    }
    drop(app);
    let app = TestApp::spawn_in(restored).await;
    let answer: Value = app.reader(&token).verify(&code).await.json().await.unwrap();
    assert_eq!(
        answer["ok"], true,
        "readers, passcodes and the pepper survive the round trip"
    );
    assert!(
        common::Browser::signed_in(&app, "admin-a@clinic-a.jp")
            .await
            .get("/")
            .await
            .status
            .is_redirection()
    );
}

#[tokio::test]
async fn the_reference_reader_fleet_sees_a_rotation_reach_every_reader() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let mut tokens = String::new();
    for i in 0..5 {
        tokens.push_str(&app.add_reader(a, &format!("受付{i}")).await);
        tokens.push('\n');
    }
    let tokens_file = app.dir.path().join("tokens.txt");
    std::fs::write(&tokens_file, tokens).unwrap();
    let rotate = format!(
        "{} --data-dir {} passcode issue --clinic {CLINIC_A}",
        env!("CARGO_BIN_EXE_portal"),
        app.dir.path().display()
    );
    let url = app.url("");
    // The rotate command runs in the simulator's environment: give it the portal's database.
    let database_env = common::portal_env(app.dir.path());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_portal"))
            .envs(database_env)
            .args([
                "reader-sim",
                "--url",
                &url,
                "--wait",
                "20",
                "fleet",
                "--rotations",
                "1",
                "--settle-s",
                "3",
            ])
            .arg("--tokens-file")
            .arg(&tokens_file)
            .args(["--rotate-cmd", &rotate])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("rotation 1: 5/5 readers updated"), "{stdout}");
    assert!(
        stdout.contains("1 of 1 rotations reached every reader; 0 failed requests"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_reference_reader_checks_typed_codes_like_the_staff_button_flow() {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    let code = app.issue_passcode(a).await;
    let url = app.url("");
    let wrong = common::other_code(&code);
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
            .args(["reader-sim", "--url", &url, "one", "--token", &token])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "12\n{wrong}\n{code}").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("REFUSED: enter exactly four digits"), "{stdout}");
    assert!(stdout.contains("WRONG: 4 attempts left"), "{stdout}");
    assert!(stdout.contains("ACCEPTED"), "{stdout}");
}

/// The server's "listening" line in either log format (on PostgreSQL the change listener logs
/// "listening for other processes' changes" too, which is not it).
fn is_listening_line(line: &str) -> bool {
    line.contains("listening addr=") || line.contains(r#""message":"listening""#)
}

/// Starts `portal serve` on a free port and returns its first log lines (up to "listening").
fn first_log_lines(data_dir: &Path, extra: &[&str]) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut child = common::portal_command(data_dir)
        .args(extra)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portal");
    let mut lines = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines().take(50) {
        let line = line.unwrap();
        let done = is_listening_line(&line);
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines
}

#[test]
fn logs_have_no_colour_codes_in_a_file_and_are_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let text = first_log_lines(dir.path(), &[]);
    assert!(text.iter().any(|l| is_listening_line(l)), "{text:?}");
    assert!(
        text.iter().all(|l| !l.contains('\u{1b}')),
        "no ANSI escapes when stderr is a pipe: {text:?}"
    );

    let json = first_log_lines(dir.path(), &["--log-format", "json"]);
    let listening = json.iter().find(|l| is_listening_line(l)).expect("a listening line");
    let event: serde_json::Value = serde_json::from_str(listening).expect("one JSON object per line");
    assert_eq!(event["message"], "listening");
    assert_eq!(event["level"], "INFO");
    assert!(event["addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(
        json.iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{json:?}"
    );
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_the_database_are_private_to_the_portals_user() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let out = portal(
        &data,
        &["clinic", "add", "--code", CLINIC_A, "--name", "さくら内科"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    if common::engine() == common::Engine::Postgres {
        // The database lives on the server: there is no file here to keep private.
        assert!(
            !data.join("portal.db").exists(),
            "no SQLite file beside a PostgreSQL database"
        );
        return;
    }
    assert_eq!(mode(&data.join("portal.db")), 0o600, "the database");
    for companion in ["portal.db-wal", "portal.db-shm"] {
        let path = data.join(companion);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{companion}");
        }
    }
    // A database left readable by others (an older portal, a restore) is tightened at start.
    std::fs::set_permissions(data.join("portal.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = portal(
        &data,
        &["clinic", "add", "--code", CLINIC_B, "--name", "みどり歯科"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&data.join("portal.db")), 0o600);
}

#[test]
fn the_server_logs_each_seal_with_the_position_and_mac_that_verify_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for code in [CLINIC_A, CLINIC_B] {
        let added = portal(d, &["clinic", "add", "--code", code, "--name", "さくら"], None);
        assert!(added.status.success());
    }

    // The two rows the command line wrote are sealed when the server starts.
    let lines = first_log_lines(d, &["--log-format", "json"]);
    let sealed: Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["message"] == "audit log sealed")
        .unwrap_or_else(|| panic!("a seal is logged: {lines:?}"));
    assert_eq!(sealed["level"], "INFO");
    assert_eq!(sealed["last_position"], 2);
    let prefix = sealed["mac_prefix"].as_str().unwrap().to_owned();
    assert_eq!(prefix.len(), 16, "{prefix}");
    let key = common::audit_key(d);
    assert!(lines.iter().all(|l| !l.contains(key.trim())), "the key is never logged");

    let verified = portal(d, &["audit", "verify"], None);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(stdout.starts_with("OK: 2 rows verified, last position 2\n"), "{stdout}");
    assert!(stdout.contains(&format!("last MAC begins {prefix}")), "{stdout}");
}

/// Runs the binary on a blocking thread, so the portal under test keeps serving meanwhile.
async fn portal_async(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let (dir, args, stdin) = (
        data_dir.to_owned(),
        args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
        stdin.map(str::to_owned),
    );
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        portal(&dir, &args, stdin.as_deref())
    })
    .await
    .unwrap()
}

async fn revealed(browser: &common::Browser) -> (Option<String>, Option<String>) {
    let page = browser
        .submit("/guide/mokushi/C-1", "/guide/mokushi/C-1/reveal", &[])
        .await;
    (page.element_text("pc-username"), page.element_text("pc-password"))
}

#[tokio::test]
async fn guide_credential_set_reads_the_password_from_standard_input_and_the_running_portal_shows_it_at_once() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let d = app.dir.path().to_owned();
    let admin_a = common::Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let admin_b = common::Browser::signed_in(&app, "admin-b@clinic-b.jp").await;

    // The password never goes on the command line, where `ps` shows it.
    let on_argv = portal_async(
        &d,
        &[
            "guide-credential",
            "set",
            "--username",
            "CliPc",
            "--password",
            "cli pass 1",
        ],
        Some("cli pass 1\n"),
    )
    .await;
    assert!(!on_argv.status.success());
    let no_stdin = portal_async(&d, &["guide-credential", "set", "--username", "CliPc"], None).await;
    assert!(!no_stdin.status.success());
    assert!(String::from_utf8_lossy(&no_stdin.stderr).contains("standard input"));
    let long_name = "u".repeat(65);
    let bad = portal_async(&d, &["guide-credential", "set", "--username", &long_name], Some("p\n")).await;
    assert!(!bad.status.success());
    assert_eq!(String::from_utf8_lossy(&bad.stderr).lines().count(), 1);
    let unknown = portal_async(
        &d,
        &["guide-credential", "set", "--clinic", "9999999999", "--username", "x"],
        Some("p\n"),
    )
    .await;
    assert!(!unknown.status.success());
    assert_eq!(revealed(&admin_a).await, (None, None), "nothing was set");

    let set = portal_async(
        &d,
        &["guide-credential", "set", "--username", "CliPc"],
        Some("cli pass 1\n"),
    )
    .await;
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert!(!String::from_utf8_lossy(&set.stdout).contains("cli pass 1"));
    let own = portal_async(
        &d,
        &[
            "guide-credential",
            "set",
            "--clinic",
            CLINIC_A,
            "--username",
            "CliSakura",
        ],
        Some("sakura pass 2\r\n"),
    )
    .await;
    assert!(own.status.success(), "{}", String::from_utf8_lossy(&own.stderr));
    // No cache to wait for: a reveal reads the database.
    let pair = |u: &str, p: &str| (Some(u.to_owned()), Some(p.to_owned()));
    assert_eq!(revealed(&admin_a).await, pair("CliSakura", "sakura pass 2"));
    assert_eq!(revealed(&admin_b).await, pair("CliPc", "cli pass 1"));
    let actors: Vec<String> = sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'pc_credential.set'")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(actors, ["cli", "cli"]);

    let cleared = portal_async(&d, &["guide-credential", "clear", "--clinic", CLINIC_A], None).await;
    assert!(cleared.status.success());
    assert_eq!(revealed(&admin_a).await, pair("CliPc", "cli pass 1"));
    let cleared = portal_async(&d, &["guide-credential", "clear"], None).await;
    assert!(cleared.status.success());
    assert_eq!(revealed(&admin_b).await, (None, None));
    assert_eq!(
        portal::db::audit::count_action(app.store(), "pc_credential.cleared")
            .await
            .unwrap(),
        2
    );
}

/// A process started with another pepper than the database's first one refuses to start (on
/// PostgreSQL that is another portal process with a different PORTAL_PASSCODE_PEPPER), and says
/// why, instead of issuing passcodes the others cannot verify.
#[test]
fn a_different_pepper_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let with_pepper = |pepper: &str, args: &[&str]| {
        common::portal_command(dir.path())
            .env(portal::config::PEPPER_ENV, pepper)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run portal")
    };
    let first = "the first pepper of this database, long enough";
    let add = with_pepper(
        first,
        &["clinic", "add", "--code", CLINIC_A, "--name", "さくら内科クリニック"],
    );
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let issued = with_pepper(first, &["passcode", "issue", "--clinic", CLINIC_A]);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));

    let other = "another pepper, as a misconfigured second process has";
    for args in [
        &["passcode", "issue", "--clinic", CLINIC_A][..],
        &["serve", "--addr", "127.0.0.1:0"],
    ] {
        let refused = with_pepper(other, args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?} must not run: {stderr}");
        assert!(
            stderr.contains("is not the one this database's passcodes are keyed by"),
            "{stderr}"
        );
        assert!(
            !stderr.contains(other) && !stderr.contains(first),
            "no secret in the message"
        );
    }
    let again = with_pepper(first, &["passcode", "issue", "--clinic", CLINIC_A]);
    assert!(again.status.success(), "the right pepper still works");
}
