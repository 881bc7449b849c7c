//! The support desk over HTTP: call intake, queues and search, workflow, conflicts, merge, and
//! clinic admins' requests.

mod common;

use common::{Browser, CLINIC_A, CLINIC_B, TestApp};
use reqwest::StatusCode;

async fn desk() -> (TestApp, Browser) {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    sqlx::query("UPDATE clinics SET phone = '011-555-0100' WHERE code = $1")
        .bind(CLINIC_A)
        .execute(app.pool())
        .await
        .unwrap();
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    (app, agent)
}

/// Logs a call through the intake screen; returns the new ticket's number.
async fn log_call(agent: &Browser, clinic: &str, summary: &str, notes: &str) -> String {
    let intake = format!("/desk/calls/new?clinic={clinic}");
    let saved = agent
        .submit(
            &intake,
            "/desk/calls",
            &[
                ("clinic", clinic),
                ("caller_name", "山田 花子"),
                ("callback_phone", "011-555-0100"),
                ("category", "passcode"),
                ("priority", "high"),
                ("channel", "phone"),
                ("summary", summary),
                ("description", "目視モードに切り替えられない"),
                ("notes", notes),
                (
                    "call_started_at",
                    &(time::OffsetDateTime::now_utc().unix_timestamp() - 125).to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    saved
        .location()
        .unwrap()
        .trim_start_matches("/desk/tickets/")
        .to_owned()
}

#[tokio::test]
async fn an_agent_finds_the_clinic_and_logs_a_call_as_a_ticket() {
    let (app, agent) = desk().await;
    // Partial Japanese name, then phone number without hyphens.
    let by_name = agent.get(&format!("/desk/calls/new?clinic_q={}", "さくら")).await;
    assert!(
        by_name.body.contains("name=\"clinic\" value=\"0110113719\""),
        "one match is picked at once"
    );
    let by_phone = agent.get("/desk/calls/new?clinic_q=0115550100").await;
    assert!(by_phone.body.contains("さくら内科クリニック"));
    let none = agent.get(&format!("/desk/calls/new?clinic_q={}", "存在しない")).await;
    assert!(none.body.contains("該当する医療機関がありません"));

    let number = log_call(&agent, CLINIC_A, "パスコードを忘れた", "管理者が不在。折返し希望").await;
    assert_eq!(number, "SUP-000001");
    let page = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(page.body.contains("パスコードを忘れた") && page.body.contains("山田 花子"));
    assert!(
        page.body.contains("管理者が不在。折返し希望"),
        "call notes are on the timeline"
    );
    assert!(
        page.body.contains("通話時間: 2 分"),
        "the call length is measured: {}",
        page.body
    );

    // A second call on the same issue goes onto the existing ticket.
    let intake = format!("/desk/calls/new?clinic={CLINIC_A}");
    let page = agent.get(&intake).await;
    assert!(
        page.body.contains(&format!("value=\"{number}\"")),
        "open tickets are offered"
    );
    let again = agent
        .submit(
            &intake,
            "/desk/calls",
            &[("clinic", CLINIC_A), ("ticket", &number), ("notes", "再度の電話")],
        )
        .await;
    assert_eq!(again.location(), Some(format!("/desk/tickets/{number}").as_str()));
    let calls: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE kind = 'call'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(calls, 2);
}

#[tokio::test]
async fn intake_refuses_bad_input_without_saving_anything() {
    let (app, agent) = desk().await;
    let intake = format!("/desk/calls/new?clinic={CLINIC_A}");
    for (field, value) in [
        ("summary", ""),
        ("priority", "whenever"),
        ("category", "nope"),
        ("channel", "portal"),
    ] {
        let mut form = vec![
            ("clinic", CLINIC_A),
            ("summary", "件名"),
            ("category", "other"),
            ("priority", "normal"),
        ];
        form.retain(|(k, _)| *k != field);
        form.push((field, value));
        let page = agent.submit(&intake, "/desk/calls", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: the reason is next to the field"
        );
        assert!(
            page.body.contains("件名") || field == "summary",
            "typed values are kept"
        );
    }
    let long = "あ".repeat(201);
    let page = agent
        .submit(&intake, "/desk/calls", &[("clinic", CLINIC_A), ("summary", &long)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A clinic that does not exist: the reason is shown where the clinic is chosen.
    let page = agent
        .submit(&intake, "/desk/calls", &[("clinic", "9999999999"), ("summary", "件名")])
        .await;
    assert!(page.body.contains("id=\"clinic_q-error\""), "{}", page.body);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn search_finds_tickets_by_japanese_words_in_any_field_combined_with_filters() {
    let (_app, agent) = desk().await;
    let first = log_call(
        &agent,
        CLINIC_A,
        "リモートデスクトップがつながらない",
        "併設設置型のIPを案内",
    )
    .await;
    let second = log_call(&agent, CLINIC_B, "切り替えスイッチの場所", "画面切替の説明").await;

    let found = |q: &str| {
        let agent = &agent;
        let q = q.to_owned();
        async move { agent.get(&format!("/desk/tickets?q={}", urlencode(&q))).await.body }
    };
    let body = found("デスクトップ").await;
    assert!(body.contains(&first) && !body.contains(&second));
    let body = found("併設設置型").await;
    assert!(body.contains(&first), "notes are searched");
    let body = found("スイッチ").await;
    assert!(body.contains(&second) && !body.contains(&first));
    let body = found("切替").await;
    assert!(body.contains(&second), "two-character words work too");
    let body = found("みどり").await;
    assert!(body.contains(&second), "the clinic name is searched");
    let body = found(&second).await;
    assert!(
        body.contains(&second) && !body.contains(&first),
        "the number is searched"
    );

    let body = agent
        .get(&format!("/desk/tickets?q={}&clinic={CLINIC_A}", urlencode("画面")))
        .await
        .body;
    assert!(!body.contains(&second), "filters narrow the search");
    let bad = agent.get("/desk/tickets?status=sleeping").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("「sleeping」という状態はありません"), "{}", bad.body);
}

async fn found(agent: &Browser, q: &str) -> common::Page {
    agent.get(&format!("/desk/tickets?q={}", urlencode(q))).await
}

#[tokio::test]
async fn search_ignores_width_kana_and_case_in_the_text_and_the_query_alike() {
    let (_app, agent) = desk().await;
    let passcode = log_call(
        &agent,
        CLINIC_A,
        "ﾊﾟｽｺｰﾄﾞを忘れた",
        "ＰＣの電源は入る。折返し０１１－２３１－４５６７",
    )
    .await;
    let bus = log_call(&agent, CLINIC_B, "ばすの時刻表", "時刻表を確認").await;

    for q in [
        "ぱすこーど",
        "ﾊﾟｽｺｰﾄﾞ",
        "パスコード",
        "011-231",
        "０１１－２３１",
        "pcの",
        "PCの電源",
    ] {
        let page = found(&agent, q).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&passcode), "{q} finds the passcode ticket");
        assert!(!page.body.contains(&bus), "{q} does not find the bus ticket");
    }
    let body = found(&agent, "パス").await.body;
    assert!(body.contains(&passcode) && !body.contains(&bus), "パス is not バス");
    assert!(
        body.contains("ひらがな・カタカナ"),
        "the page says what the search ignores"
    );
    let body = found(&agent, "バス").await.body;
    assert!(
        body.contains(&bus) && !body.contains(&passcode),
        "バス is neither パス nor ハス"
    );
    let body = found(&agent, "ハス").await.body;
    assert!(!body.contains(&bus) && !body.contains(&passcode), "ハス is neither");
    let body = found(&agent, "バスコード").await.body;
    assert!(!body.contains(&passcode), "a voiced mark makes another word");
    let body = found(&agent, "ぱすこーど ばす").await.body;
    assert!(
        !body.contains(&passcode) && !body.contains(&bus),
        "every word must match"
    );
}

#[tokio::test]
async fn a_search_too_long_or_with_one_character_words_is_refused_in_the_pages_language() {
    let (_app, agent) = desk().await;
    let long = found(&agent, &"あ".repeat(201)).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(long.body.contains("200文字以内"), "{}", long.body);
    let short = found(&agent, "パスコード の").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("2文字以上"));
    let many = found(&agent, &"ab ".repeat(9)).await;
    assert_eq!(many.status, StatusCode::BAD_REQUEST);
    assert!(many.body.contains("8語以内"));

    let page = agent.get("/desk/tickets").await;
    agent
        .post(
            "/lang",
            &[("csrf", &page.csrf()), ("lang", "en"), ("next", "/desk/tickets")],
        )
        .await;
    let short = found(&agent, "a").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("Each search word needs at least 2 characters."));
}

#[tokio::test]
async fn a_database_from_before_the_folding_is_upgraded_and_its_tickets_are_found() {
    // A database as migration 0005 left it, with a ticket indexed the old way (not folded).
    let dir = tempfile::tempdir().unwrap();
    let (migrations, url, search_row) = match common::engine() {
        common::Engine::Sqlite => {
            let url = portal::config::Config::for_data_dir(dir.path()).database_url;
            ("migrations/sqlite", format!("{url}?mode=rwc"), "rowid")
        }
        common::Engine::Postgres => ("migrations/postgres", common::database_url(dir.path()), "ticket_id"),
    };
    let old_migrations = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(migrations).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name.to_string_lossy().as_ref() < "0006" {
            std::fs::copy(&path, old_migrations.path().join(name)).unwrap();
        }
    }
    let old = common::any_pool(&url);
    sqlx::migrate::Migrator::new(old_migrations.path())
        .await
        .unwrap()
        .run(&old)
        .await
        .unwrap();
    // The search row is keyed by FTS5's rowid on SQLite, by a column of its own on PostgreSQL.
    let old_rows = format!(
        "INSERT INTO clinics (id, code, name, created_at) VALUES (1, '0110113719', 'さくら内科', 0);
         INSERT INTO tickets (id, clinic_id, channel, category_id, priority, summary, status, created_at,
             updated_at, response_due_at, resolution_due_at)
         VALUES (1, 1, 'phone', 1, 'normal', 'ﾘﾓｰﾄﾃﾞｽｸﾄｯﾌﾟに接続できない', 'new', 0, 0, 0, 0);
         INSERT INTO ticket_search ({search_row}, body) VALUES (1, 'SUP-000001 0110113719 さくら内科 ﾘﾓｰﾄﾃﾞｽｸﾄｯﾌﾟに接続できない');"
    );
    sqlx::raw_sql(&old_rows).execute(&old).await.unwrap();
    old.close().await;

    let app = TestApp::spawn_in(dir).await;
    app.add_user("agent@installer.jp", portal::domain::Role::Agent, None)
        .await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    for q in ["りもーと", "リモートデスクトップ", "ﾘﾓｰﾄ", "sup-000001", "接続"] {
        assert!(
            found(&agent, q).await.body.contains("SUP-000001"),
            "{q} finds the old ticket"
        );
    }
    let stale: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_search_stale")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(stale, 0, "every ticket was indexed at start-up");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn update(agent: &Browser, number: &str, fields: &[(&str, &str)]) -> common::Page {
    let page = agent.get(&format!("/desk/tickets/{number}")).await;
    let version = version_of(&page);
    let mut form = vec![("version", version.as_str())];
    form.extend_from_slice(fields);
    agent
        .submit(
            &format!("/desk/tickets/{number}"),
            &format!("/desk/tickets/{number}/update"),
            &form,
        )
        .await
}

#[tokio::test]
async fn the_workflow_is_enforced_and_stale_edits_are_refused() {
    let (app, agent) = desk().await;
    let number = log_call(&agent, CLINIC_A, "件名", "").await;

    let closed = update(&agent, &number, &[("status", "closed")]).await;
    assert_eq!(closed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        closed.body.contains("「新規」から「クローズ」には変更できません"),
        "{}",
        closed.body
    );
    assert_eq!(
        update(&agent, &number, &[("status", "in_progress")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        update(&agent, &number, &[("status", "resolved")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        update(&agent, &number, &[("status", "closed")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        update(&agent, &number, &[("status", "in_progress")]).await.status,
        StatusCode::SEE_OTHER,
        "reopen"
    );

    // Two agents load the same version; the second save is refused, not merged silently.
    let other = Browser::signed_in(&app, "operator@installer.jp").await;
    let page = agent.get(&format!("/desk/tickets/{number}")).await;
    let csrf = page.csrf();
    let version = version_of(&page);
    let first = other
        .submit(
            &format!("/desk/tickets/{number}"),
            &format!("/desk/tickets/{number}/update"),
            &[("version", &version), ("priority", "urgent")],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let stale = agent
        .post(
            &format!("/desk/tickets/{number}/update"),
            &[("csrf", &csrf), ("version", &version), ("priority", "low")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale.body.contains("再読み込みして最新の内容を確認してから"),
        "{}",
        stale.body
    );
    let priority: String = sqlx::query_scalar("SELECT priority FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(priority, "urgent");

    // Every change is on the timeline with who made it.
    let page = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(page.body.contains("状態: 新規 → 対応中"));
    assert!(page.body.contains("優先度: 高 → 緊急"));
    assert!(page.body.contains("operator@installer.jp"));
}

#[tokio::test]
async fn waiting_on_the_clinic_stops_the_due_clock() {
    let (app, agent) = desk().await;
    let number = log_call(&agent, CLINIC_A, "件名", "").await;
    let due = |app: &TestApp| {
        let pool = app.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT resolution_due_at FROM tickets")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let before = due(&app).await;
    update(&agent, &number, &[("status", "waiting_on_clinic")]).await;
    let page = agent.get("/desk/tickets?view=waiting").await;
    assert!(page.body.contains(&number));
    // Pretend the ticket waited two weeks.
    sqlx::query("UPDATE tickets SET paused_at = paused_at - 14 * 86400")
        .execute(app.pool())
        .await
        .unwrap();
    update(&agent, &number, &[("status", "in_progress")]).await;
    let after = due(&app).await;
    let paused: i64 = sqlx::query_scalar("SELECT paused_minutes FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(
        paused >= 9 * 60 * 8,
        "two weeks hold at least eight business days: {paused}"
    );
    assert!(
        after > before + 7 * 86400,
        "the due time moves by the paused business time"
    );
}

#[tokio::test]
async fn overdue_and_assignment_views() {
    let (app, agent) = desk().await;
    let late = log_call(&agent, CLINIC_A, "古い件", "").await;
    let fresh = log_call(&agent, CLINIC_A, "新しい件", "").await;
    sqlx::query("UPDATE tickets SET resolution_due_at = 1000 WHERE id = 1")
        .execute(app.pool())
        .await
        .unwrap();
    let overdue = agent.get("/desk/tickets?view=overdue").await;
    assert!(overdue.body.contains(&late) && !overdue.body.contains(&fresh));

    let agent_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'agent@installer.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    update(&agent, &fresh, &[("assignee", &agent_id.to_string())]).await;
    let mine = agent.get("/desk/tickets?view=mine").await;
    assert!(mine.body.contains(&fresh) && !mine.body.contains(&late));
    let unassigned = agent.get("/desk/tickets?view=unassigned").await;
    assert!(unassigned.body.contains(&late) && !unassigned.body.contains(&fresh));
    // Clinic admins cannot be assignees.
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin-a@clinic-a.jp'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(
        update(&agent, &late, &[("assignee", &admin_id.to_string())])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn a_duplicate_is_merged_and_its_timeline_kept() {
    let (app, agent) = desk().await;
    let survivor = log_call(&agent, CLINIC_A, "元の件", "最初の電話").await;
    let duplicate = log_call(&agent, CLINIC_A, "同じ件", "二度目の電話").await;
    let other_clinic = log_call(&agent, CLINIC_B, "別の医院", "").await;

    let page = agent.get(&format!("/desk/tickets/{duplicate}")).await;
    let version = version_of(&page);
    let cross = agent
        .post(
            &format!("/desk/tickets/{duplicate}/merge"),
            &[("csrf", &page.csrf()), ("version", &version), ("into", &other_clinic)],
        )
        .await;
    assert_eq!(cross.status, StatusCode::UNPROCESSABLE_ENTITY);
    let merged = agent
        .post(
            &format!("/desk/tickets/{duplicate}/merge"),
            &[("csrf", &page.csrf()), ("version", &version), ("into", &survivor)],
        )
        .await;
    assert_eq!(merged.location(), Some(format!("/desk/tickets/{survivor}").as_str()));

    let page = agent.get(&format!("/desk/tickets/{survivor}")).await;
    assert!(
        page.body.contains("最初の電話") && page.body.contains("二度目の電話"),
        "both timelines"
    );
    let dup = agent.get(&format!("/desk/tickets/{duplicate}")).await;
    assert!(
        dup.body.contains(&format!("href=\"/desk/tickets/{survivor}\"")),
        "the duplicate points to the survivor"
    );
    let (status, into): (String, Option<i64>) = sqlx::query_as("SELECT status, merged_into FROM tickets WHERE id = 2")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!((status.as_str(), into), ("closed", Some(1)));
}

#[tokio::test]
async fn clinic_admins_open_requests_and_see_replies_but_not_internal_notes() {
    let (app, agent) = desk().await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert_eq!(admin.get("/desk/tickets").await.status, StatusCode::FORBIDDEN);
    let requests = format!("/clinics/{CLINIC_A}/requests");
    let created = admin
        .submit(
            &requests,
            &requests,
            &[
                ("category", "remote_desktop"),
                ("summary", "リモート接続できません"),
                ("description", "Opt.one機から接続エラー"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let mine = created.location().unwrap().to_owned();
    let number = mine.rsplit('/').next().unwrap().to_owned();

    let queue = agent.get("/desk/tickets?view=unassigned").await;
    assert!(queue.body.contains(&number) && queue.body.contains("リモート接続できません"));
    let ticket = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(ticket.body.contains("ポータル"), "channel = portal");

    let entry = |kind: &'static str, body: &'static str| {
        let agent = &agent;
        let number = number.clone();
        async move {
            agent
                .submit(
                    &format!("/desk/tickets/{number}"),
                    &format!("/desk/tickets/{number}/entries"),
                    &[("kind", kind), ("body", body)],
                )
                .await
        }
    };
    assert_eq!(entry("note", "社内だけのメモ").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        entry("reply", "IPアドレスをご確認ください").await.status,
        StatusCode::SEE_OTHER
    );
    update(&agent, &number, &[("status", "waiting_on_clinic")]).await;

    let view = admin.get(&mine).await;
    assert!(view.body.contains("IPアドレスをご確認ください"));
    assert!(
        !view.body.contains("社内だけのメモ"),
        "internal notes never reach the clinic"
    );
    // The clinic's answer hands the ticket back to the desk.
    let reply = admin
        .submit(&mine, &format!("{mine}/reply"), &[("body", "確認しました")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let status: String = sqlx::query_scalar("SELECT status FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(status, "in_progress");

    // Another clinic's admin gets 404s, and so do unknown numbers.
    let other = Browser::signed_in(&app, "admin-b@clinic-b.jp").await;
    assert_eq!(other.get(&mine).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .get(&format!("/clinics/{CLINIC_B}/requests/{number}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .get(&format!("/clinics/{CLINIC_A}/requests/SUP-000999"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_filtered_list_exports_as_csv_that_japanese_excel_opens_safely() {
    let (_app, agent) = desk().await;
    log_call(&agent, CLINIC_A, "=HYPERLINK(\"http://evil.example\")", "").await;
    let quoted = log_call(&agent, CLINIC_A, "改行と\"引用符\", カンマ", "").await;
    log_call(&agent, CLINIC_B, "別の医院の件", "").await;

    let response = agent
        .http
        .get(agent_url(&agent, &format!("/desk/tickets.csv?clinic={CLINIC_A}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"tickets-")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 with BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut lines = text.split("\r\n");
    assert!(lines.next().unwrap().starts_with("番号,医療機関コード,医療機関名"));
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""),
        "formula neutralised and quoted: {text}"
    );
    assert!(text.contains("\"改行と\"\"引用符\"\", カンマ\""), "RFC 4180 quoting");
    assert!(text.contains(&quoted));
    assert!(!text.contains("別の医院の件"), "the export follows the filter");
    // A records count check: header + 2 tickets + trailing empty piece.
    assert_eq!(text.split("\r\n").count(), 4);
}

fn agent_url(agent: &Browser, path: &str) -> String {
    format!("http://{}{}", agent.addr, path)
}

#[tokio::test]
async fn the_dashboard_counts_open_overdue_and_todays_calls() {
    let (app, agent) = desk().await;
    log_call(&agent, CLINIC_A, "一件目", "").await;
    let second = log_call(&agent, CLINIC_A, "二件目", "").await;
    sqlx::query("UPDATE tickets SET resolution_due_at = 1000 WHERE id = 1")
        .execute(app.pool())
        .await
        .unwrap();
    update(&agent, &second, &[("status", "in_progress")]).await;
    update(&agent, &second, &[("status", "resolved")]).await;

    let page = agent.get("/desk").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.element_text("open-count").as_deref(), Some("1"));
    assert_eq!(page.element_text("overdue-count").as_deref(), Some("1"));
    assert_eq!(page.element_text("calls-today").as_deref(), Some("2"));
    assert!(page.body.contains("パスコード"), "open tickets by category");
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert_eq!(admin.get("/desk").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/desk/tickets.csv").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operators_manage_categories_and_closed_days() {
    let (app, agent) = desk().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    assert_eq!(agent.get("/desk/settings").await.status, StatusCode::FORBIDDEN);

    let added = operator
        .submit(
            "/desk/settings",
            "/desk/settings/categories",
            &[("slug", "network"), ("name_ja", "ネットワーク"), ("name_en", "Network")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let bad = operator
        .submit(
            "/desk/settings",
            "/desk/settings/categories",
            &[("slug", "Bad Slug"), ("name_ja", "x"), ("name_en", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let dup = operator
        .submit(
            "/desk/settings",
            "/desk/settings/categories",
            &[("slug", "network"), ("name_ja", "x"), ("name_en", "x")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    let intake = format!("/desk/calls/new?clinic={CLINIC_A}");
    assert!(agent.get(&intake).await.body.contains("value=\"network\""));

    operator
        .submit("/desk/settings", "/desk/settings/categories/network/retire", &[])
        .await;
    assert!(
        !agent.get(&intake).await.body.contains("value=\"network\""),
        "retired categories are not offered"
    );
    let refused = agent
        .submit(
            &intake,
            "/desk/calls",
            &[("clinic", CLINIC_A), ("summary", "x"), ("category", "network")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = operator
        .submit("/desk/settings", "/desk/settings/categories/other/retire", &[])
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "the default stays");

    // A closure covering the next 60 days pushes new due times past it.
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+9))
        .date();
    let until = today + time::Duration::days(60);
    let closed = operator
        .submit(
            "/desk/settings",
            "/desk/settings/closures",
            &[
                ("label", "臨時休業"),
                ("start_date", &today.to_string()),
                ("end_date", &until.to_string()),
            ],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    log_call(&agent, CLINIC_A, "休業中の件", "").await;
    let due: i64 = sqlx::query_scalar("SELECT response_due_at FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(due > time::OffsetDateTime::now_utc().unix_timestamp() + 59 * 86_400);
    let backwards = operator
        .submit(
            "/desk/settings",
            "/desk/settings/closures",
            &[("label", "x"), ("start_date", "2027-01-05"), ("end_date", "2027-01-01")],
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn operators_set_the_desk_hours_that_due_times_count_in() {
    let (app, agent) = desk().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let hours = |opens: &'static str, closes: &'static str| [("opens", opens), ("closes", closes)];
    assert_eq!(
        agent
            .submit("/desk", "/desk/settings/hours", &hours("10:00", "16:00"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for (opens, closes) in [
        ("16:00", "10:00"),
        ("10:00", "10:00"),
        ("25:00", "26:00"),
        ("", "16:00"),
    ] {
        let bad = operator
            .submit("/desk/settings", "/desk/settings/hours", &hours(opens, closes))
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{opens}–{closes}");
        assert!(bad.body.contains("終了は開始より後にしてください"));
    }
    let saved = operator
        .submit("/desk/settings", "/desk/settings/hours", &hours("19:15", "23:30"))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = operator.get("/desk/settings").await;
    assert!(page.body.contains("value=\"19:15\"") && page.body.contains("value=\"23:30\""));
    assert_eq!(app.audit_count("desk_hours.changed").await, 1);

    // New due times fall inside the new hours (which share no minute with the standard 9:00–18:00),
    // whenever the call comes in.
    log_call(&agent, CLINIC_A, "受付時間の確認", "").await;
    let (response, resolution): (i64, i64) = sqlx::query_as("SELECT response_due_at, resolution_due_at FROM tickets")
        .fetch_one(app.pool())
        .await
        .unwrap();
    for due in [response, resolution] {
        let local = time::OffsetDateTime::from_unix_timestamp(due)
            .unwrap()
            .to_offset(time::macros::offset!(+9))
            .time();
        assert!(
            local >= time::macros::time!(19:15) && local <= time::macros::time!(23:30),
            "due at {local}"
        );
    }
}

#[tokio::test]
async fn operators_set_the_targets_that_due_times_are_counted_from() {
    let (app, agent) = desk().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let form = |urgent: (&'static str, &'static str)| {
        vec![
            ("urgent_response", urgent.0),
            ("urgent_resolution", urgent.1),
            ("high_response", "1"),
            ("high_resolution", "9"),
            ("normal_response", "4"),
            ("normal_resolution", "27"),
            ("low_response", "9"),
            ("low_resolution", "45"),
        ]
    };
    for bad in [("3", "2"), ("0", "4"), ("x", "4"), ("1", "541")] {
        let refused = operator
            .submit("/desk/settings", "/desk/settings/targets", &form(bad))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    let mut missing = form(("2", "6"));
    missing.pop();
    let refused = operator
        .submit("/desk/settings", "/desk/settings/targets", &missing)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "every priority is needed"
    );
    assert_eq!(app.audit_count("desk_targets.changed").await, 0);

    let saved = operator
        .submit("/desk/settings", "/desk/settings/targets", &form(("2", "6.5")))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = operator.get("/desk/settings").await;
    assert!(
        page.body
            .contains("name=\"urgent_resolution\" type=\"number\" min=\"0.25\" step=\"0.25\" required value=\"6.5\"")
    );

    // An urgent ticket is now due 2 and 6.5 hours of desk time after it came in.
    let number = log_call(&agent, CLINIC_A, "至急の件", "").await;
    update(&agent, &number, &[("priority", "urgent")]).await;
    let (created, response, resolution): (i64, i64, i64) =
        sqlx::query_as("SELECT created_at, response_due_at, resolution_due_at FROM tickets")
            .fetch_one(app.pool())
            .await
            .unwrap();
    let rules = portal::services::tickets::desk_rules(app.store()).await.unwrap();
    let from = time::OffsetDateTime::from_unix_timestamp(created).unwrap();
    assert_eq!(response, rules.calendar.add_minutes(from, 120).unix_timestamp());
    assert_eq!(resolution, rules.calendar.add_minutes(from, 390).unix_timestamp());
}

#[tokio::test]
async fn the_clinic_page_shows_agents_the_clinics_tickets() {
    let (app, agent) = desk().await;
    let number = log_call(&agent, CLINIC_A, "クリニックの件", "").await;
    let page = agent.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(page.body.contains(&number) && page.body.contains("クリニックの件"));
    assert!(page.body.contains(&format!("/desk/calls/new?clinic={CLINIC_A}")));
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let own = admin.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(
        !own.body.contains("/desk/tickets/"),
        "clinic admins do not get desk links"
    );
}

/// The version an edit form on the ticket page carries.
fn version_of(page: &common::Page) -> String {
    page.body
        .split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_database_failure_in_the_list_filters_is_a_server_error_not_the_users_mistake() {
    let (app, agent) = desk().await;
    let email = portal::domain::Email::parse("agent@installer.jp").unwrap();
    let api_token =
        portal::services::accounts::issue_api_token(app.store(), &portal::db::audit::Actor::CommandLine, &email, "x")
            .await
            .unwrap();
    // The clinic lookup behind the clinic filter now fails inside the database.
    sqlx::query("ALTER TABLE clinics RENAME TO clinics_gone")
        .execute(app.pool())
        .await
        .unwrap();
    for path in [
        format!("/desk/tickets?clinic={CLINIC_A}"),
        format!("/desk/tickets.csv?clinic={CLINIC_A}"),
    ] {
        let page = agent.get(&path).await;
        assert!(page.status.is_server_error(), "{path}: {} {}", page.status, page.body);
        assert!(
            !page.body.contains("no such table") && !page.body.contains("does not exist"),
            "{path} shows no database message"
        );
        assert!(
            page.body.contains("サーバー") || page.body.contains("一時的"),
            "{path}: bilingual error page"
        );
    }
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/tickets?clinic={CLINIC_A}")))
        .bearer_auth(api_token.token.expose())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_server_error(), "{}", response.status());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_ne!(body["error"], "invalid_query");
    let message = body["message"].as_str().unwrap_or("");
    assert!(
        !message.contains("no such table") && !message.contains("does not exist"),
        "{message}"
    );
}

#[tokio::test]
async fn a_wrong_filter_is_explained_in_the_pages_language() {
    let (_app, agent) = desk().await;
    let page = agent.get("/desk/tickets?clinic=9999999999").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body
            .contains("医療機関コード 9999999999 の医療機関は登録されていません"),
        "{}",
        page.body
    );
    let page = agent.get("/desk/tickets?from=12/01").await;
    assert!(page.body.contains("2026-12-01 のように"), "{}", page.body);
}
