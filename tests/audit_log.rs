//! The tamper-evident audit log: `portal audit verify` against rows edited, deleted or sealed
//! with another key behind the portal's back.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{Browser, CLINIC_A, Engine, TestApp};
use portal::db::audit::{self, Actor, Entry};
use sqlx::{AnyConnection, AnyPool, Connection};

const OTHER_KEY: &str = "an entirely different audit key of 40 chars";

fn portal(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = common::portal_command(data_dir);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run portal")
}

/// `portal audit verify` run as an operator would, beside the running server.
async fn verify(data_dir: &Path, env: &[(&'static str, &'static str)]) -> (bool, String, String) {
    let data_dir = data_dir.to_owned();
    let env = env.to_vec();
    let output = tokio::task::spawn_blocking(move || portal(&data_dir, &["audit", "verify"], &env))
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A connection of our own to the portal's database, as someone with write access has.
async fn behind_the_portals_back(data_dir: &Path) -> AnyConnection {
    common::any_connection(&common::database_url(data_dir)).await
}

/// Takes away the append-only triggers that stand in the way of an edit behind the portal's back.
/// Each engine names a trigger in its own way: SQLite's are global, PostgreSQL's per table (the
/// plpgsql functions behind them stay, unused).
async fn drop_triggers(db: &mut AnyConnection, table: &str, names: &[&str]) {
    for name in names {
        let statement = match common::engine() {
            Engine::Sqlite => format!("DROP TRIGGER {name}"),
            Engine::Postgres => format!("DROP TRIGGER {name} ON {table}"),
        };
        sqlx::query(&statement).execute(&mut *db).await.unwrap();
    }
}

/// A MAC of the wrong length and value, for rows given one behind the portal's back.
fn bogus_mac() -> Vec<u8> {
    vec![0]
}

/// Real actions: clinics and accounts, sign-ins, a passcode issued on the web, a reader checking
/// a wrong and the right code.
async fn a_morning_of_work(app: &TestApp) {
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    let admin = Browser::signed_in(app, "admin-a@clinic-a.jp").await;
    let issued = admin.issue_passcode(CLINIC_A).await;
    let code = issued.element_text("new-passcode").expect("the new code is shown");
    let reader = app.reader(&token);
    reader.verify(&common::other_code(&code)).await;
    reader.verify(&code).await;
    Browser::signed_in(app, "agent@installer.jp").await;
    let stranger = app.browser();
    stranger.login("admin-a@clinic-a.jp", "not the password at all").await;
}

async fn rows(pool: &AnyPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Position and id of a sealed row some way into the chain.
async fn sealed_row(pool: &AnyPool, position: i64) -> i64 {
    sqlx::query_scalar("SELECT id FROM audit_log WHERE chain_position = $1")
        .bind(position)
        .fetch_one(pool)
        .await
        .expect("a row sealed at that position")
}

#[tokio::test]
async fn verify_passes_after_real_actions_and_names_the_chains_head() {
    let app = TestApp::spawn().await;
    a_morning_of_work(&app).await;

    let (ok, stdout, stderr) = verify(app.dir.path(), &[]).await;

    assert!(ok, "{stdout}{stderr}");
    let total = rows(app.pool()).await;
    assert!(total >= 10, "the actions were audited: {total} rows");
    let first = stdout.lines().next().unwrap_or_default();
    // The server may add rows between the count and the walk; it never adds them to a closed chain.
    let sealed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE chain_position IS NOT NULL")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(first, format!("OK: {sealed} rows verified, last position {sealed}"));
    assert_eq!(sealed, total, "verify seals what is pending first");
}

#[tokio::test]
async fn a_row_edited_behind_the_portals_back_is_reported_by_its_position() {
    let app = TestApp::spawn().await;
    a_morning_of_work(&app).await;
    assert!(verify(app.dir.path(), &[]).await.0);
    let edited = sealed_row(app.pool(), 5).await;

    let mut db = behind_the_portals_back(app.dir.path()).await;
    drop_triggers(&mut db, "audit_log", &["audit_log_no_update"]).await;
    sqlx::query("UPDATE audit_log SET detail = '{\"note\":\"nothing happened\"}' WHERE id = $1")
        .bind(edited)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();

    let (ok, stdout, stderr) = verify(app.dir.path(), &[]).await;
    assert!(!ok, "an edited row fails verification: {stdout}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: audit log broken: position 5 (row id {edited}): MAC mismatch, the row was edited after it was sealed"
        )
    );
}

#[tokio::test]
async fn a_row_deleted_behind_the_portals_back_is_reported_as_the_gap_it_leaves() {
    let app = TestApp::spawn().await;
    a_morning_of_work(&app).await;
    assert!(verify(app.dir.path(), &[]).await.0);
    let deleted = sealed_row(app.pool(), 4).await;
    let next = sealed_row(app.pool(), 5).await;

    let mut db = behind_the_portals_back(app.dir.path()).await;
    drop_triggers(&mut db, "audit_log", &["audit_log_no_delete"]).await;
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(deleted)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();

    let (ok, _, stderr) = verify(app.dir.path(), &[]).await;
    assert!(!ok);
    assert_eq!(
        stderr.trim(),
        format!("error: audit log broken: position 4 is missing (before row id {next}): a row was deleted")
    );
}

#[tokio::test]
async fn renumbering_the_rows_after_a_deleted_one_does_not_hide_it() {
    let app = TestApp::spawn().await;
    a_morning_of_work(&app).await;
    assert!(verify(app.dir.path(), &[]).await.0);
    let deleted = sealed_row(app.pool(), 3).await;
    let moved = sealed_row(app.pool(), 4).await;

    let mut db = behind_the_portals_back(app.dir.path()).await;
    drop_triggers(&mut db, "audit_log", &["audit_log_no_update", "audit_log_no_delete"]).await;
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(deleted)
        .execute(&mut db)
        .await
        .unwrap();
    // Close the gap: every later row moves down one place (the unique index wants ascending order).
    let later: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM audit_log WHERE chain_position > 3 ORDER BY chain_position")
            .fetch_all(&mut db)
            .await
            .unwrap();
    for id in later {
        sqlx::query("UPDATE audit_log SET chain_position = chain_position - 1 WHERE id = $1")
            .bind(id)
            .execute(&mut db)
            .await
            .unwrap();
    }
    db.close().await.unwrap();

    let (ok, _, stderr) = verify(app.dir.path(), &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("position 3 (row id {moved}): MAC mismatch")),
        "{stderr}"
    );
}

#[tokio::test]
async fn another_key_is_refused_at_start_and_named_by_verify() {
    let app = TestApp::spawn().await;
    let app_engine = app.engine();
    a_morning_of_work(&app).await;
    assert!(verify(app.dir.path(), &[]).await.0);
    let dir = app.stop().await;

    // The key file lost: the portal will not invent a new one for a sealed log. (On PostgreSQL
    // the key comes only from configuration: there is no file to lose.)
    let key_file = dir.path().join("audit-key");
    let mut config = common::test_config(dir.path());
    let kept = if app_engine == common::Engine::Sqlite {
        let kept = std::fs::read(&key_file).unwrap();
        std::fs::remove_file(&key_file).unwrap();
        let refused = portal::build(config.clone()).await.err().expect("refuses to start");
        assert!(format!("{refused:#}").contains("audit key"), "{refused:#}");
        assert!(!key_file.exists(), "no new key was written");
        let (ok, _, stderr) = verify(dir.path(), &[]).await;
        assert!(!ok);
        assert!(stderr.contains("audit key") && stderr.contains("missing"), "{stderr}");
        Some(kept)
    } else {
        None
    };

    // A different key from the environment: refused at start, and verify says so.
    config.audit_key = Some(portal::domain::Secret::new(OTHER_KEY.to_owned()));
    let refused = portal::build(config.clone()).await.err().expect("refuses to start");
    assert!(format!("{refused:#}").contains("key mismatch"), "{refused:#}");
    let (ok, _, stderr) = verify(dir.path(), &[("PORTAL_AUDIT_KEY", OTHER_KEY)]).await;
    assert!(!ok);
    assert!(stderr.contains("audit log broken: key mismatch"), "{stderr}");

    // Deleting the key's check value does not let another key in: it must seal the chain's head.
    let mut db = behind_the_portals_back(dir.path()).await;
    drop_triggers(&mut db, "audit_chain", &["audit_chain_no_delete"]).await;
    sqlx::query("DELETE FROM audit_chain").execute(&mut db).await.unwrap();
    sqlx::query("INSERT INTO audit_log (at, actor, action) VALUES (0, 'x', 'written behind the back')")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let refused = portal::build(config.clone()).await.err().expect("refuses to start");
    assert!(format!("{refused:#}").contains("key mismatch"), "{refused:#}");
    let (ok, _, stderr) = verify(dir.path(), &[("PORTAL_AUDIT_KEY", OTHER_KEY)]).await;
    assert!(!ok);
    assert!(stderr.contains("audit log broken: key mismatch"), "{stderr}");

    // The right key back: all is well again (its check value is written anew).
    if let Some(kept) = kept {
        std::fs::write(&key_file, kept).unwrap();
    }
    let (ok, stdout, stderr) = verify(dir.path(), &[]).await;
    assert!(ok, "{stdout}{stderr}");
}

/// A transaction of the tests' own with an audit row written in it as the portal writes its
/// entries, not committed yet; returns the row's id.
async fn unsealed_row_in_a_transaction(app: &TestApp) -> (sqlx::Transaction<'static, sqlx::Any>, i64) {
    let mut tx = app.pool().begin().await.unwrap();
    let fresh: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, detail) VALUES (0, 'anonymous', 'test.entry', '') RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    (tx, fresh)
}

#[tokio::test]
async fn rows_of_a_transaction_that_rolls_back_leave_no_hole_in_the_chain() {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let entry = |detail: &'static str| Entry {
        actor: &Actor::CommandLine,
        action: "test.entry",
        clinic_id: None,
        detail,
        ip: None,
    };

    // Rows written inside a transaction that is held past a sealer tick, then rolled back.
    let mut tx = portal::db::begin_write(app.store()).await.unwrap();
    for detail in ["rolled back 1", "rolled back 2", "rolled back 3"] {
        audit::record(&mut tx, entry(detail)).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    tx.rollback().await.unwrap();
    for detail in ["kept 1", "kept 2"] {
        audit::record(app.store(), entry(detail)).await.unwrap();
    }

    let (ok, stdout, stderr) = verify(app.dir.path(), &[]).await;
    assert!(ok, "{stdout}{stderr}");
    let (count, highest, distinct): (i64, i64, i64) =
        sqlx::query_as("SELECT COUNT(*), MAX(chain_position), COUNT(DISTINCT chain_position) FROM audit_log")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((highest, distinct), (count, count), "positions 1..{count}, no hole");
    assert_eq!(app.audit_count("test.entry").await, 2);
    assert!(stdout.starts_with(&format!("OK: {count} rows verified, last position {count}")));
}

#[tokio::test]
async fn the_triggers_let_through_only_the_sealing_update() {
    let app = TestApp::spawn().await;
    a_morning_of_work(&app).await;
    assert!(verify(app.dir.path(), &[]).await.0);
    let sealed = sealed_row(app.pool(), 2).await;
    // `$1` is the sealed row's id, `$2` (where used) a MAC.
    let refused = |sql: &'static str| {
        let pool = app.pool().clone();
        async move {
            let mut query = sqlx::query(sql).bind(sealed);
            if sql.contains("$2") {
                query = query.bind(bogus_mac());
            }
            let error = query.execute(&pool).await.expect_err(sql).to_string();
            assert!(error.contains("audit_log"), "{sql}: {error}");
        }
    };
    refused("UPDATE audit_log SET detail = 'changed' WHERE id = $1").await;
    refused("UPDATE audit_log SET chain_position = 999 WHERE id = $1").await;
    refused("UPDATE audit_log SET chain_mac = $2 WHERE id = $1").await;
    refused("DELETE FROM audit_log WHERE id = $1").await;
    refused(
        "INSERT INTO audit_log (at, actor, action, detail, chain_position, chain_mac)
         VALUES (0, 'x', 'x', CAST($1 AS TEXT), 1000, $2)",
    )
    .await;

    // An unsealed row, written as the portal writes its entries and never committed: sealing
    // it may not change anything else at the same time.
    let (mut tx, fresh) = unsealed_row_in_a_transaction(&app).await;
    let changed = sqlx::query("UPDATE audit_log SET chain_position = 5000, chain_mac = $1, detail = 'x' WHERE id = $2")
        .bind(bogus_mac())
        .bind(fresh)
        .execute(&mut *tx)
        .await;
    assert!(changed.is_err(), "a seal that also edits is refused");
    // A refused statement aborts a PostgreSQL transaction: try the seal on a fresh one.
    tx.rollback().await.unwrap();
    let (mut tx, fresh) = unsealed_row_in_a_transaction(&app).await;
    sqlx::query("UPDATE audit_log SET chain_position = 5000, chain_mac = $1 WHERE id = $2")
        .bind(bogus_mac())
        .bind(fresh)
        .execute(&mut *tx)
        .await
        .expect("the sealing update itself is allowed");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn an_upgraded_database_has_its_old_rows_sealed_at_the_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, migrations) = match common::engine() {
        Engine::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display()),
            "./migrations/sqlite",
        ),
        Engine::Postgres => (common::database_url(dir.path()), "./migrations/postgres"),
    };
    {
        // The schema before the chain (migrations up to 0012), with rows written back then.
        let mut migrator = sqlx::migrate::Migrator::new(Path::new(migrations)).await.unwrap();
        migrator.migrations = migrator
            .migrations
            .iter()
            .filter(|m| m.version <= 12)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        let pool = common::any_pool(&url);
        migrator.run(&pool).await.unwrap();
        for i in 0..25 {
            sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, 'cli', 'old.entry', $2)")
                .bind(1_700_000_000_i64 + i)
                .bind(format!("entry {i}"))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }

    let app = TestApp::spawn_in(dir).await;

    let (unsealed, highest): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*) FILTER (WHERE chain_position IS NULL), MAX(chain_position) FROM audit_log")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        (unsealed, highest),
        (0, 25),
        "the old rows are sealed in id order at start"
    );
    let (ok, stdout, stderr) = verify(app.dir.path(), &[]).await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.starts_with("OK: 25 rows verified, last position 25"), "{stdout}");
}

#[tokio::test]
async fn a_row_given_a_mac_but_no_place_is_reported_and_does_not_stop_the_sealing() {
    let app = TestApp::spawn().await;
    a_morning_of_work(&app).await;
    assert!(verify(app.dir.path(), &[]).await.0);

    let mut db = behind_the_portals_back(app.dir.path()).await;
    let planted: i64 =
        sqlx::query_scalar("INSERT INTO audit_log (at, actor, action) VALUES (0, 'x', 'planted') RETURNING id")
            .fetch_one(&mut db)
            .await
            .unwrap();
    drop_triggers(&mut db, "audit_log", &["audit_log_no_update"]).await;
    sqlx::query("UPDATE audit_log SET chain_mac = $1 WHERE id = $2")
        .bind(bogus_mac())
        .bind(planted)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    audit::record(
        app.store(),
        Entry {
            actor: &Actor::CommandLine,
            action: "test.entry",
            clinic_id: None,
            detail: "written after the planted row",
            ip: None,
        },
    )
    .await
    .unwrap();

    let (ok, _, stderr) = verify(app.dir.path(), &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("row id {planted} has a MAC but no chain position")),
        "{stderr}"
    );
    let later_unsealed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'test.entry' AND chain_position IS NULL")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(later_unsealed, 0, "the rows after it are still sealed");
}
