//! What the desk sees around a ticket: replies that move it (and the clinic's unread ones), the
//! call screen's context on the chosen clinic, and card readers that stopped connecting.

mod common;

use common::{Browser, CLINIC_A, TestApp};
use reqwest::StatusCode;

const UNREAD: &str = "医療機関から返信（未読）";
const NOT_CONNECTED: &str = "reader-stale";

async fn desk() -> (TestApp, Browser) {
    let app = TestApp::spawn().await;
    app.with_two_clinics().await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    (app, agent)
}

/// Logs a call on the call screen; returns the new ticket's number.
async fn log_call(agent: &Browser, summary: &str) -> String {
    let saved = agent
        .submit(
            &format!("/desk/calls/new?clinic={CLINIC_A}"),
            "/desk/calls",
            &[("clinic", CLINIC_A), ("summary", summary), ("category", "passcode")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    saved
        .location()
        .unwrap()
        .trim_start_matches("/desk/tickets/")
        .to_owned()
}

async fn add_entry(agent: &Browser, number: &str, fields: &[(&str, &str)]) -> common::Page {
    agent
        .submit(
            &format!("/desk/tickets/{number}"),
            &format!("/desk/tickets/{number}/entries"),
            fields,
        )
        .await
}

async fn status(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT status FROM tickets WHERE id = 1")
        .fetch_one(app.pool())
        .await
        .unwrap()
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE ticket_id = 1")
        .fetch_one(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_agents_reply_can_leave_the_ticket_waiting_on_the_clinic_in_one_step() {
    let (app, agent) = desk().await;
    let number = log_call(&agent, "パスコードを忘れた").await;
    let form = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(
        form.body.contains("name=\"wait_on_clinic\""),
        "the reply form offers it"
    );

    let replied = add_entry(
        &agent,
        &number,
        &[
            ("kind", "reply"),
            ("body", "管理者様から折り返しください"),
            ("wait_on_clinic", "1"),
        ],
    )
    .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    assert_eq!(status(&app).await, "waiting_on_clinic");
    let page = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(page.body.contains("管理者様から折り返しください"));
    assert!(
        page.body.contains("状態: 新規 → 折返し待ち"),
        "the status change is on the timeline like any other"
    );
    let paused: Option<i64> = sqlx::query_scalar("SELECT paused_at FROM tickets WHERE id = 1")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(paused.is_some(), "waiting on the clinic stops the due clock");

    // Only a reply can do it; a refused combination saves neither the note nor the move.
    let before = event_count(&app).await;
    let note = add_entry(
        &agent,
        &number,
        &[("kind", "note"), ("body", "社内メモ"), ("wait_on_clinic", "1")],
    )
    .await;
    assert_eq!(note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(note.body.contains("医療機関への返信と同時のときだけ"), "{}", note.body);
    assert_eq!(event_count(&app).await, before);

    // A move the workflow refuses rolls the reply back with it.
    sqlx::query("UPDATE tickets SET status = 'closed', paused_at = NULL WHERE id = 1")
        .execute(app.pool())
        .await
        .unwrap();
    let refused = add_entry(
        &agent,
        &number,
        &[("kind", "reply"), ("body", "再開します"), ("wait_on_clinic", "1")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(event_count(&app).await, before, "the reply was not saved either");
    assert_eq!(status(&app).await, "closed");
}

#[tokio::test]
async fn a_clinic_reply_moves_a_waiting_ticket_back_and_is_marked_unread_until_the_desk_opens_it() {
    let (app, agent) = desk().await;
    let number = log_call(&agent, "リモート接続できません").await;
    add_entry(
        &agent,
        &number,
        &[
            ("kind", "reply"),
            ("body", "IPアドレスをご確認ください"),
            ("wait_on_clinic", "1"),
        ],
    )
    .await;
    let list = agent.get("/desk/tickets?view=open").await;
    assert!(list.body.contains(&number) && !list.body.contains(UNREAD));

    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let mine = format!("/clinics/{CLINIC_A}/requests/{number}");
    let reply = admin
        .submit(&mine, &format!("{mine}/reply"), &[("body", "確認しました")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app).await, "in_progress");
    let moved: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ticket_events WHERE field = 'status' AND old_value = 'waiting_on_clinic'
           AND new_value = 'in_progress' AND actor = 'admin-a@clinic-a.jp'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(moved, 1, "the move is on the timeline, by the clinic admin");

    // Marked with a text label on the desk's lists, and on the clinic page's list too.
    for list in [
        "/desk/tickets?view=open",
        "/desk/tickets",
        &format!("/clinics/{CLINIC_A}"),
    ] {
        let page = agent.get(list).await;
        assert!(page.body.contains(UNREAD), "{list}");
    }
    let call_screen = agent.get(&format!("/desk/calls/new?clinic={CLINIC_A}")).await;
    assert!(call_screen.body.contains(UNREAD));
    let dashboard = agent.get("/desk").await;
    assert_eq!(dashboard.element_text("unread-replies").as_deref(), Some("1"));
    let other = log_call(&agent, "別の件").await;
    let replied = agent.get("/desk/tickets?view=replied").await;
    assert!(replied.body.contains("未読の返信"), "the desk menu offers the view");
    assert!(replied.body.contains(&format!("/desk/tickets/{number}\"")));
    assert!(
        !replied.body.contains(&format!("/desk/tickets/{other}\"")),
        "only tickets the clinic replied on"
    );

    // The clinic admin's own view does not mark it (the marker is for the desk).
    assert!(!admin.get(&mine).await.body.contains(UNREAD));

    // Opening the ticket shows the reply as new once, then the marker is gone.
    let opened = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(opened.body.contains("id=\"unread-reply-notice\""));
    assert!(opened.body.contains("確認しました"));
    let list = agent.get("/desk/tickets?view=open").await;
    assert!(list.body.contains(&number) && !list.body.contains(UNREAD));
    let replied = agent.get("/desk/tickets?view=replied").await;
    assert!(!replied.body.contains(&format!("/desk/tickets/{number}\"")));
    assert_eq!(
        agent.get("/desk").await.element_text("unread-replies").as_deref(),
        Some("0")
    );
    let again = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(!again.body.contains("id=\"unread-reply-notice\""));

    // Any later clinic reply is marked again, even when the ticket was not waiting.
    admin
        .submit(&mine, &format!("{mine}/reply"), &[("body", "追加の質問です")])
        .await;
    assert_eq!(status(&app).await, "in_progress");
    assert!(agent.get("/desk/tickets").await.body.contains(UNREAD));
}

#[tokio::test]
async fn the_call_screen_shows_the_chosen_clinics_passcode_readers_and_open_tickets() {
    let (app, agent) = desk().await;
    let blank = agent.get("/desk/calls/new").await;
    assert!(
        !blank.body.contains("id=\"call-passcode-state\""),
        "no clinic, no context"
    );

    // Chosen by a plain GET parameter: no JavaScript needed.
    let page = agent.get(&format!("/desk/calls/new?clinic={CLINIC_A}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let context = page
        .body
        .split("id=\"context-heading\"")
        .nth(1)
        .expect("the context section");
    assert!(context.contains("未発行"), "no passcode yet");
    assert!(page.body.contains("id=\"call-no-open-tickets\""));
    assert!(page.body.contains("登録されたカードリーダーはありません"));

    let clinic = portal::db::clinics::by_code(app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap();
    let token = app.add_reader(clinic.id, "受付1").await;
    app.add_reader(clinic.id, "診察室").await;
    app.issue_passcode(clinic.id).await;
    let reader = app.reader(&token);
    assert_eq!(reader.poll(None).await.status(), StatusCode::OK);
    let number = log_call(&agent, "顔認証できない").await;

    let page = agent.get(&format!("/desk/calls/new?clinic={CLINIC_A}")).await;
    let context = page
        .body
        .split("id=\"context-heading\"")
        .nth(1)
        .expect("the context section");
    assert!(context.contains("✓ 有効"), "the passcode is active");
    assert!(context.contains("発行日時"), "with when it was issued");
    assert!(context.contains("受付1") && context.contains("診察室"));
    assert!(
        context.contains("✓ 最新"),
        "the reader that polled picked up the current passcode"
    );
    assert!(context.contains("未接続"), "the other one never polled");
    assert!(context.contains(&format!("/desk/tickets/{number}")) && context.contains("顔認証できない"));
    // The call form is still there beside it.
    assert!(page.body.contains("id=\"call-form\""));

    // A disabled passcode says so, with the time.
    sqlx::query("UPDATE passcodes SET disabled_at = 1764000000, disabled_reason = 'too_many_failures'")
        .execute(app.pool())
        .await
        .unwrap();
    let page = agent.get(&format!("/desk/calls/new?clinic={CLINIC_A}")).await;
    let context = page.body.split("id=\"context-heading\"").nth(1).unwrap();
    assert!(context.contains("⛔ 停止"), "{context}");

    // A locked reader shows as locked.
    let locked_until = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    sqlx::query("UPDATE readers SET locked_until = $1 WHERE name = '受付1'")
        .bind(locked_until)
        .execute(app.pool())
        .await
        .unwrap();
    let page = agent.get(&format!("/desk/calls/new?clinic={CLINIC_A}")).await;
    assert!(page.body.contains("入力ロック中"));
}

#[tokio::test]
async fn readers_silent_for_longer_than_the_threshold_show_as_not_connected_everywhere() {
    let (app, agent) = desk().await;
    let clinic = portal::db::clinics::by_code(app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap();
    let fresh = app.add_reader(clinic.id, "受付1").await;
    app.add_reader(clinic.id, "診察室").await;
    app.issue_passcode(clinic.id).await;
    assert_eq!(app.reader(&fresh).poll(None).await.status(), StatusCode::OK);
    // The second reader last polled 20 minutes ago.
    let twenty_minutes_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 20 * 60;
    sqlx::query("UPDATE readers SET last_seen_at = $1, last_seen_generation = 1 WHERE name = '診察室'")
        .bind(twenty_minutes_ago)
        .execute(app.pool())
        .await
        .unwrap();

    let pages = [
        format!("/clinics/{CLINIC_A}"),
        format!("/clinics/{CLINIC_A}/passcode"),
        format!("/desk/calls/new?clinic={CLINIC_A}"),
    ];
    for path in &pages {
        let page = agent.get(path).await;
        assert_eq!(
            page.body.matches(NOT_CONNECTED).count(),
            1,
            "{path}: only the silent reader is flagged"
        );
        assert!(
            page.body.contains("⚠ 未接続") && page.body.contains("最終接続"),
            "{path}"
        );
    }
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    assert!(
        admin.get(&pages[0]).await.body.contains("⚠ 未接続"),
        "the clinic admin sees it too"
    );

    // Operators set the threshold (default 10 minutes); with 30, twenty minutes is fine.
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let settings = operator.get("/desk/settings").await;
    assert!(settings.body.contains("name=\"minutes\"") && settings.body.contains("value=\"10\""));
    assert_eq!(
        agent
            .submit("/desk", "/desk/settings/readers", &[("minutes", "30")])
            .await
            .status,
        StatusCode::FORBIDDEN,
        "agents may not"
    );
    for bad in ["0", "abc", "10081", "", "1.5"] {
        let refused = operator
            .submit("/desk/settings", "/desk/settings/readers", &[("minutes", bad)])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(refused.body.contains("1から10080"), "{bad:?}");
    }
    assert_eq!(app.audit_count("reader_staleness.changed").await, 0);
    let saved = operator
        .submit("/desk/settings", "/desk/settings/readers", &[("minutes", "30")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("reader_staleness.changed").await, 1);
    assert!(operator.get("/desk/settings").await.body.contains("value=\"30\""));
    for path in &pages {
        assert_eq!(agent.get(path).await.body.matches(NOT_CONNECTED).count(), 0, "{path}");
    }

    // The threshold is stored in the database: it survives a restart.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir).await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let settings = Browser::signed_in(&app, "operator@installer.jp")
        .await
        .get("/desk/settings")
        .await;
    assert!(settings.body.contains("value=\"30\""));
    assert_eq!(agent.get(&pages[0]).await.body.matches(NOT_CONNECTED).count(), 0);
}

#[tokio::test]
async fn a_reader_that_just_polled_is_connected_even_before_its_poll_time_is_written() {
    // Last-seen times are batched in memory; the pages use the fresher value.
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| c.last_seen_flush_s = 3600).await;
    app.with_two_clinics().await;
    let agent = Browser::signed_in(&app, "agent@installer.jp").await;
    let clinic = portal::db::clinics::by_code(app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap();
    let token = app.add_reader(clinic.id, "受付1").await;
    sqlx::query("UPDATE readers SET enrolled_at = enrolled_at - 3600")
        .execute(app.pool())
        .await
        .unwrap();
    let page = agent.get(&format!("/clinics/{CLINIC_A}")).await;
    assert!(
        page.body.contains("一度も接続していません"),
        "enrolled an hour ago, never polled"
    );
    assert_eq!(page.body.matches(NOT_CONNECTED).count(), 1);

    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::OK);
    let written: Option<i64> = sqlx::query_scalar("SELECT last_seen_at FROM readers")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(written, None, "the poll time is still only in memory");
    let page = agent.get(&format!("/clinics/{CLINIC_A}")).await;
    assert_eq!(page.body.matches(NOT_CONNECTED).count(), 0);
}
