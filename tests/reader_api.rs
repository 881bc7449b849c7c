//! Reader API v1, as a card reader uses it: bearer token, ETag polls, long-polls, verify.

mod common;

use std::time::{Duration, Instant};

use common::{Browser, CLINIC_A, TestApp, other_code};
use reqwest::StatusCode;
use serde_json::Value;

async fn clinic_with_reader() -> (TestApp, i64, String) {
    let app = TestApp::spawn().await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    (app, a, token)
}

#[tokio::test]
async fn missing_unknown_and_revoked_tokens_get_401_with_a_json_error() {
    let (app, a, token) = clinic_with_reader().await;
    let http = reqwest::Client::new();
    let url = app.url("/api/v1/reader/passcode");

    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "missing_token");
    assert!(body["message"].is_string());

    let unknown = http.get(&url).bearer_auth("rdr_0000").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "invalid_token");

    assert_eq!(app.reader(&token).poll(None).await.status(), StatusCode::OK);
    let reader_id: i64 = sqlx::query_scalar("SELECT id FROM readers WHERE clinic_id = $1")
        .bind(a)
        .fetch_one(app.pool())
        .await
        .unwrap();
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    let csrf = operator.get(&format!("/clinics/{CLINIC_A}")).await.csrf();
    let revoked = operator
        .post(
            &format!("/clinics/{CLINIC_A}/readers/{reader_id}/revoke"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);

    let after = app.reader(&token).poll(None).await;
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked token stops working at once"
    );
    assert_eq!(after.json::<Value>().await.unwrap()["error"], "invalid_token");
    assert_eq!(
        app.reader(&token).verify("1234").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_poll_reports_state_without_the_code_and_answers_304_to_a_matching_etag() {
    let (app, a, token) = clinic_with_reader().await;
    let reader = app.reader(&token);

    let none = reader.poll(None).await;
    assert_eq!(none.status(), StatusCode::OK);
    let etag = none.headers().get("etag").unwrap().to_str().unwrap().to_owned();
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["generation"], 0);
    assert_eq!(body["active"], false);
    assert!(body["issued_at"].is_null());
    assert!(body["poll_after_s"].as_u64().unwrap() >= 1);

    let same = reader.poll(Some(&etag)).await;
    assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
    assert!(same.bytes().await.unwrap().is_empty());

    let code = app.issue_passcode(a).await;
    let changed = reader.poll(Some(&etag)).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers().get("etag").unwrap().to_str().unwrap(), etag);
    let text = changed.text().await.unwrap();
    assert!(!text.contains(&code), "the reader never receives the code: {text}");
    assert!(!text.contains("argon2"), "nor its hash");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["generation"], 1);
    assert_eq!(body["active"], true);
    let issued_at = body["issued_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(issued_at, &time::format_description::well_known::Rfc3339).is_ok(),
        "{issued_at}"
    );
}

#[tokio::test]
async fn a_held_long_poll_is_woken_by_a_rotation() {
    let (app, a, token) = clinic_with_reader().await;
    let reader = app.reader(&token);
    let etag = reader.current_etag().await;

    let waiting = tokio::spawn(reader.poll_request(Some(&etag), Some(30)).send());
    app.held_long_polls(1).await;
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    admin.issue_passcode(CLINIC_A).await;
    // Held for up to 30 s: a 200 with the new generation means the rotation woke it.
    // (How fast is measured by bench/poll.sh, not asserted here.)
    let response = waiting.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["generation"], 1);

    // The clinic page then shows the reader has picked the new generation up.
    let _ = a;
    let page = admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
    assert!(page.body.contains("✓"), "reader shown as up to date");
}

#[tokio::test]
async fn a_long_poll_without_a_change_answers_304_after_the_wait() {
    let (app, _, token) = clinic_with_reader().await;
    let reader = app.reader(&token);
    let etag = reader.current_etag().await;
    let started = Instant::now();
    let response = reader.poll_request(Some(&etag), Some(1)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(started.elapsed() >= Duration::from_millis(900), "held for the wait");

    // A stale ETag with wait answers at once with the new state.
    let stale = reader.poll_request(Some("\"g99-a\""), Some(30)).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_clinics_rotations_do_not_wake_a_reader() {
    let (app, _, token) = clinic_with_reader().await;
    let b = portal::db::clinics::by_code(app.store(), common::CLINIC_B)
        .await
        .unwrap()
        .unwrap()
        .id;
    let reader = app.reader(&token);
    let etag = reader.current_etag().await;
    let waiting = tokio::spawn(reader.poll_request(Some(&etag), Some(2)).send());
    app.held_long_polls(1).await;
    app.issue_passcode(b).await;
    assert_eq!(waiting.await.unwrap().unwrap().status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn bad_wait_values_are_refused_with_a_json_error() {
    let (app, _, token) = clinic_with_reader().await;
    for wait in ["0", "61", "abc", "-1", "1.5"] {
        let response = reqwest::Client::new()
            .get(app.url(&format!("/api/v1/reader/passcode?wait={wait}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "wait={wait}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_wait");
    }
}

#[tokio::test]
async fn verify_accepts_the_right_code_and_refuses_anything_but_four_digits() {
    let (app, a, token) = clinic_with_reader().await;
    let reader = app.reader(&token);
    let none: Value = reader.verify("1234").await.json().await.unwrap();
    assert_eq!(none["ok"], false);
    assert_eq!(none["reason"], "no_passcode");

    let code = app.issue_passcode(a).await;
    let ok: Value = reader.verify(&code).await.json().await.unwrap();
    assert_eq!(ok, serde_json::json!({"ok": true, "generation": 1}));
    let wrong: Value = reader.verify(&other_code(&code)).await.json().await.unwrap();
    assert_eq!(wrong["ok"], false);
    assert_eq!(wrong["reason"], "wrong_passcode");

    let url = app.url("/api/v1/reader/verify");
    let http = reqwest::Client::new();
    for body in [
        serde_json::json!({"passcode": "123"}),
        serde_json::json!({"passcode": "12345"}),
        serde_json::json!({"passcode": "12a4"}),
        serde_json::json!({"passcode": "１２３４"}),
        serde_json::json!({"passcode": 1234}),
        serde_json::json!({"code": "1234"}),
    ] {
        let response = http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_passcode",
            "{body}"
        );
    }
    let malformed = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"passcode\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json::<Value>().await.unwrap()["error"], "invalid_json");
    let not_json = http
        .post(&url)
        .bearer_auth(&token)
        .body("passcode=1234")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(not_json.json::<Value>().await.unwrap()["error"].is_string());
    let huge = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"passcode\": \"{}\"}}", "1".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Malformed requests are not counted as guesses: the right code still works.
    let ok: Value = reader.verify(&code).await.json().await.unwrap();
    assert_eq!(ok["ok"], true);
}

#[tokio::test]
async fn five_wrong_codes_lock_the_reader_with_retry_after() {
    let (app, a, token) = clinic_with_reader().await;
    let code = app.issue_passcode(a).await;
    let wrong = other_code(&code);
    let reader = app.reader(&token);
    for left in (0..5).rev() {
        let answer: Value = reader.verify(&wrong).await.json().await.unwrap();
        assert_eq!(answer["ok"], false);
        assert_eq!(answer["attempts_left"], left);
    }
    let locked = reader.verify(&code).await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits out the lock"
    );
    let retry: u64 = locked
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(locked.json::<Value>().await.unwrap()["error"], "reader_locked");

    // Another reader of the clinic is not locked.
    let other = app.add_reader(a, "受付2").await;
    let ok: Value = app.reader(&other).verify(&code).await.json().await.unwrap();
    assert_eq!(ok["ok"], true);

    // Every attempt is recorded, never the digits.
    let results: Vec<String> = sqlx::query_scalar("SELECT result FROM passcode_attempts ORDER BY id")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(
        results,
        [
            "rejected", "rejected", "rejected", "rejected", "rejected", "locked", "accepted"
        ]
    );
}

#[tokio::test]
async fn a_lock_grows_when_wrong_codes_continue_after_it() {
    let (app, a, token) = clinic_with_reader().await;
    let code = app.issue_passcode(a).await;
    let reader = app.reader(&token);
    for _ in 0..5 {
        reader.verify(&other_code(&code)).await;
    }
    // Let the first lock run out without waiting 30 s.
    let reader_id: i64 = sqlx::query_scalar("SELECT id FROM readers WHERE clinic_id = $1")
        .bind(a)
        .fetch_one(app.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE readers SET locked_until = 0 WHERE id = $1")
        .bind(reader_id)
        .execute(app.pool())
        .await
        .unwrap();
    let again: Value = reader.verify(&other_code(&code)).await.json().await.unwrap();
    assert_eq!(again["retry_after_s"], 60);
    let locked = reader.verify(&code).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 30, "{retry}");
}

#[tokio::test]
async fn ten_wrong_codes_across_the_clinic_disable_the_generation_until_reissued() {
    let (app, a, token) = clinic_with_reader().await;
    let token2 = app.add_reader(a, "受付2").await;
    let code = app.issue_passcode(a).await;
    let wrong = other_code(&code);
    let etag = app.reader(&token).current_etag().await;
    let mut last = Value::Null;
    for t in [&token, &token2] {
        for _ in 0..5 {
            last = app.reader(t).verify(&wrong).await.json().await.unwrap();
        }
    }
    assert_eq!(last["reason"], "passcode_disabled");
    let token3 = app.add_reader(a, "受付3").await;
    let refused: Value = app.reader(&token3).verify(&code).await.json().await.unwrap();
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["reason"], "passcode_disabled");

    let poll = app.reader(&token3).poll(Some(&etag)).await;
    assert_eq!(
        poll.status(),
        StatusCode::OK,
        "readers learn the passcode is no longer active"
    );
    let body: Value = poll.json().await.unwrap();
    assert_eq!(body["active"], false);
    assert_eq!(body["generation"], 1);
    assert_eq!(app.audit_count("passcode.disabled").await, 1);

    let fresh = app.issue_passcode(a).await;
    let ok: Value = app.reader(&token3).verify(&fresh).await.json().await.unwrap();
    assert_eq!(ok["ok"], true);
}

#[tokio::test]
async fn a_right_code_does_not_reset_the_generations_count_of_wrong_codes() {
    let (app, a, token) = clinic_with_reader().await;
    let token2 = app.add_reader(a, "受付2").await;
    let code = app.issue_passcode(a).await;
    let wrong = other_code(&code);
    for _ in 0..4 {
        app.reader(&token).verify(&wrong).await;
    }
    let ok: Value = app.reader(&token).verify(&code).await.json().await.unwrap();
    assert_eq!(ok["ok"], true);
    // Six more wrong codes make ten in this generation, a right one in between or not.
    for _ in 0..3 {
        app.reader(&token).verify(&wrong).await;
        app.reader(&token2).verify(&wrong).await;
    }
    let after: Value = app.reader(&token2).verify(&code).await.json().await.unwrap();
    assert_eq!(after["ok"], false, "the generation is disabled: {after}");
    assert_eq!(app.audit_count("passcode.disabled").await, 1);
    // A new issue starts the count again.
    let fresh = app.issue_passcode(a).await;
    let ok: Value = app.reader(&token2).verify(&fresh).await.json().await.unwrap();
    assert_eq!(ok["ok"], true);
}

#[tokio::test]
async fn operators_set_how_many_wrong_codes_disable_a_passcode() {
    let (app, a, token) = clinic_with_reader().await;
    let operator = Browser::signed_in(&app, "operator@installer.jp").await;
    for bad in ["2", "101", "x"] {
        let refused = operator
            .submit("/desk/settings", "/desk/settings/passcodes", &[("failures", bad)])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let saved = operator
        .submit("/desk/settings", "/desk/settings/passcodes", &[("failures", "3")])
        .await;
    assert_eq!(saved.location(), Some("/desk/settings"));
    assert_eq!(app.audit_count("passcode_policy.changed").await, 1);
    let admin = Browser::signed_in(&app, "admin-a@clinic-a.jp").await;
    let rule = admin.get(&format!("/clinics/{CLINIC_A}/passcode")).await;
    assert!(
        rule.body.contains("合わせて3回になると"),
        "the page states the real number"
    );
    let code = app.issue_passcode(a).await;
    let wrong = other_code(&code);
    for _ in 0..3 {
        app.reader(&token).verify(&wrong).await;
    }
    let disabled: Value = app.reader(&token).poll(None).await.json().await.unwrap();
    assert_eq!(disabled["inactive_reason"], "disabled");
}

#[tokio::test]
async fn last_poll_times_reach_the_database_in_batches_and_on_shutdown() {
    let (app, a, token) = clinic_with_reader().await;
    app.issue_passcode(a).await;
    app.reader(&token).poll(None).await;
    let dir = app.stop().await;
    let pool = common::any_pool(&common::database_url(dir.path()));
    let (seen, generation): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT last_seen_at, last_seen_generation FROM readers")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(seen.is_some());
    assert_eq!(generation, Some(1));
}

#[tokio::test]
async fn beyond_the_long_poll_limit_readers_get_503_with_retry_after() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |config| config.max_long_polls = 1).await;
    let (a, _) = app.with_two_clinics().await;
    let token = app.add_reader(a, "受付1").await;
    let reader = app.reader(&token);
    let etag = reader.current_etag().await;
    let held = tokio::spawn(reader.poll_request(Some(&etag), Some(5)).send());
    app.held_long_polls(1).await;

    let refused = reader.poll_request(Some(&etag), Some(5)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().get("retry-after").is_some());
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "too_many_waiting");
    // Short polls are not limited.
    assert_eq!(reader.poll(Some(&etag)).await.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(held.await.unwrap().unwrap().status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn shutdown_answers_held_long_polls_at_once() {
    let (app, _, token) = clinic_with_reader().await;
    let reader = app.reader(&token);
    let etag = reader.current_etag().await;
    let held = tokio::spawn(reader.poll_request(Some(&etag), Some(60)).send());
    app.held_long_polls(1).await;
    // A hang guard, not a speed check: without the shutdown signal this would wait 60 s.
    let stopped = tokio::time::timeout(Duration::from_secs(30), async {
        app.stop().await;
        held.await.unwrap().unwrap()
    })
    .await
    .expect("shutdown must not wait for held long-polls");
    assert_eq!(stopped.status(), StatusCode::NOT_MODIFIED);
}

/// The follower that applies other processes' changes runs only once an hour here.
async fn app_that_follows_slowly() -> (TestApp, i64) {
    let app = TestApp::spawn_with(tempfile::tempdir().expect("dir"), |c| c.follow_interval_ms = 3_600_000).await;
    let (a, _) = app.with_two_clinics().await;
    (app, a)
}

#[tokio::test]
async fn a_reader_enrolled_by_another_process_is_accepted_on_its_first_poll() {
    let (app, a) = app_that_follows_slowly().await;
    app.issue_passcode(a).await;
    let token = app.add_reader_elsewhere(a, "受付2").await;
    let reader = app.reader(&token);
    let response = reader.poll(None).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let body: Value = reader.poll(None).await.json().await.expect("json");
    assert_eq!(body["active"], true);
}

#[tokio::test]
async fn unknown_tokens_cost_a_bounded_number_of_database_syncs() {
    let (app, _) = app_that_follows_slowly().await;
    let before = app.state.live.miss_syncs();
    let started = Instant::now();
    let polls: Vec<_> = (0..200)
        .map(|n| {
            let reader = app.reader(&format!("rdr_{n:064x}"));
            tokio::spawn(async move { reader.poll(None).await.status() })
        })
        .collect();
    for poll in polls {
        assert_eq!(poll.await.expect("poll"), StatusCode::UNAUTHORIZED);
    }
    let syncs = app.state.live.miss_syncs() - before;
    // One sync may start at once and then at most one per 100 ms for all misses together.
    let allowed = started.elapsed().as_millis() as u64 / 100 + 2;
    assert!(
        syncs <= allowed,
        "{syncs} syncs for 200 unknown tokens (allowed {allowed})"
    );
    assert!(syncs >= 1, "an unknown token makes the cache catch up first");
}

#[tokio::test]
async fn one_reader_cannot_take_every_long_poll_slot() {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| c.max_long_polls = 6).await;
    let (a, b) = app.with_two_clinics().await;
    let greedy = app.add_reader(a, "受付1").await;
    let other = app.add_reader(b, "受付").await;
    app.issue_passcode(a).await;
    app.issue_passcode(b).await;
    let etag = app.reader(&greedy).current_etag().await;
    // The same token asks for ten long-polls, one after the other.
    let mut polls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = app.reader(&greedy).poll_request(Some(&etag), Some(30));
        polls.spawn(async move { request.send().await.unwrap().status() });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Eight of them (the older ones) are answered at once (304): it holds two slots at most.
    for _ in 0..8 {
        let status = tokio::time::timeout(Duration::from_secs(20), polls.join_next())
            .await
            .expect("answered")
            .unwrap()
            .unwrap();
        assert_eq!(status, StatusCode::NOT_MODIFIED);
    }
    app.held_long_polls(2).await;
    assert_eq!(app.state.long_polls.held(), 2, "two slots held by the greedy reader");
    // Another clinic's reader still gets a slot.
    let other_etag = app.reader(&other).current_etag().await;
    let waiting = app.reader(&other).poll_request(Some(&other_etag), Some(30));
    let waiting = tokio::spawn(async move { waiting.send().await.unwrap().status() });
    app.held_long_polls(3).await;
    app.issue_passcode(b).await;
    let status = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK, "woken by its clinic's rotation");
    assert_eq!(polls.len(), 2, "the greedy reader's newest two are still held");
    polls.abort_all();
}

/// Clinic A with `a_readers` readers and clinic B with one, both with a passcode, on a portal
/// holding `slots` long-polls.
async fn two_clinics_sharing(
    slots: usize,
    a_readers: usize,
    b_readers: usize,
) -> (TestApp, i64, Vec<String>, Vec<String>) {
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), |c| c.max_long_polls = slots).await;
    let (a, b) = app.with_two_clinics().await;
    app.issue_passcode(a).await;
    app.issue_passcode(b).await;
    let mut a_tokens = Vec::new();
    for n in 0..a_readers {
        a_tokens.push(app.add_reader(a, &format!("A受付{n}")).await);
    }
    let mut b_tokens = Vec::new();
    for n in 0..b_readers {
        b_tokens.push(app.add_reader(b, &format!("B受付{n}")).await);
    }
    (app, b, a_tokens, b_tokens)
}

#[tokio::test]
async fn a_clinic_gets_its_fair_share_of_long_polls_when_another_clinic_holds_every_slot() {
    let (app, b, a_tokens, b_tokens) = two_clinics_sharing(10, 10, 1).await;
    let a_etag = app.reader(&a_tokens[0]).current_etag().await;
    let mut a_polls = tokio::task::JoinSet::new();
    for token in &a_tokens {
        let request = app.reader(token).poll_request(Some(&a_etag), Some(60));
        a_polls.spawn(async move { request.send().await.unwrap().status() });
    }
    app.held_long_polls(10).await;

    // Clinic B's reader is held, not refused, although every slot was taken.
    let other = app.reader(&b_tokens[0]);
    let b_etag = other.current_etag().await;
    let waiting = other.poll_request(Some(&b_etag), Some(60));
    let waiting = tokio::spawn(async move { waiting.send().await.unwrap().status() });
    // One of A's polls gives up its slot with the ordinary "no change" answer, long before its
    // 60 s wait (the bound is a hang guard).
    let evicted = tokio::time::timeout(Duration::from_secs(20), a_polls.join_next())
        .await
        .expect("one of clinic A's polls answers early")
        .unwrap()
        .unwrap();
    assert_eq!(evicted, StatusCode::NOT_MODIFIED);
    assert_eq!(app.state.long_polls.held_by_clinic(b), 1, "clinic B's poll is held");
    assert_eq!(app.state.long_polls.held(), 10);
    assert_eq!(a_polls.len(), 9, "clinic A keeps its other nine");

    app.issue_passcode(b).await;
    let status = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "the held poll is woken by its clinic's rotation"
    );
    a_polls.abort_all();
}

#[tokio::test]
async fn a_clinic_at_its_fair_share_is_refused_with_503_when_every_slot_is_taken() {
    let (app, b, a_tokens, b_tokens) = two_clinics_sharing(4, 4, 3).await;
    let a_etag = app.reader(&a_tokens[0]).current_etag().await;
    let b_etag = app.reader(&b_tokens[0]).current_etag().await;
    let mut polls = tokio::task::JoinSet::new();
    for token in &a_tokens {
        let request = app.reader(token).poll_request(Some(&a_etag), Some(60));
        polls.spawn(async move { request.send().await.unwrap().status() });
    }
    app.held_long_polls(4).await;
    for token in &b_tokens[..2] {
        let request = app.reader(token).poll_request(Some(&b_etag), Some(60));
        polls.spawn(async move { request.send().await.unwrap().status() });
    }
    for _ in 0..600 {
        if app.state.long_polls.held_by_clinic(b) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.state.long_polls.held_by_clinic(b),
        2,
        "two of four slots moved to clinic B"
    );

    // Level at two each: a third from B would only swap the imbalance, so it is refused.
    let refused = app
        .reader(&b_tokens[2])
        .poll_request(Some(&b_etag), Some(60))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().get("retry-after").is_some());
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "too_many_waiting");
    polls.abort_all();
}

#[tokio::test]
async fn racing_long_polls_from_two_clinics_never_exceed_the_cap() {
    let (app, b, a_tokens, b_tokens) = two_clinics_sharing(10, 16, 4).await;
    let a_etag = app.reader(&a_tokens[0]).current_etag().await;
    let b_etag = app.reader(&b_tokens[0]).current_etag().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = tokio::task::JoinSet::new();
    for (token, etag) in a_tokens
        .iter()
        .map(|t| (t, &a_etag))
        .chain(b_tokens.iter().map(|t| (t, &b_etag)))
    {
        let reader = app.reader(token);
        let etag = etag.clone();
        let stop = stop.clone();
        // Each reader re-polls at once after every answer, as fast as it can.
        readers.spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = reader.poll_request(Some(&etag), Some(1)).send().await.unwrap().status();
                statuses.push(status);
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            statuses
        });
    }
    let (mut most, mut b_held) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        most = most.max(app.state.long_polls.held());
        b_held = b_held.max(app.state.long_polls.held_by_clinic(b));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answers = Vec::new();
    while let Some(statuses) = readers.join_next().await {
        answers.extend(statuses.unwrap());
    }
    assert!(most <= 10, "{most} long-polls held with 10 slots");
    assert_eq!(most, 10, "the slots were all in use at some point");
    assert!(
        b_held >= 1,
        "clinic B held long-polls while clinic A's sixteen readers raced"
    );
    assert!(
        answers
            .iter()
            .all(|s| [StatusCode::NOT_MODIFIED, StatusCode::SERVICE_UNAVAILABLE].contains(s)),
        "only 304 (held or preempted) and 503 (refused): {answers:?}"
    );
    assert_eq!(app.state.long_polls.held(), 0, "every slot given back");
}

#[tokio::test]
async fn a_locked_reader_hammering_verify_adds_no_row_per_request() {
    let (app, a, token) = clinic_with_reader().await;
    let code = app.issue_passcode(a).await;
    let wrong = other_code(&code);
    let reader = app.reader(&token);
    for _ in 0..5 {
        reader.verify(&wrong).await;
    }
    for _ in 0..100 {
        assert_eq!(reader.verify(&wrong).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let rows: Vec<String> = sqlx::query_scalar("SELECT result FROM passcode_attempts ORDER BY id")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 6, "five checked codes and one 'locked' a minute: {rows:?}");
    assert_eq!(rows.last().map(String::as_str), Some("locked"));
}

/// Serves the metrics router on a port of its own, as `--metrics-addr` does, and returns a
/// function that scrapes it.
async fn metrics_of(app: &TestApp) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = String>>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, portal::metrics::router(app.state.clone())).into_future());
    move || {
        Box::pin(async move {
            reqwest::get(format!("http://{addr}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    }
}

/// The value of one sample line of the OpenMetrics text, e.g. `portal_reader_polls_total{answer="200"}`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_polls_verifications_and_the_rotation_fan_out_on_their_own_address() {
    let (app, a, token) = clinic_with_reader().await;
    let scrape = metrics_of(&app).await;
    let reader = app.reader(&token);
    let etag = reader.current_etag().await;
    assert_eq!(reader.poll(Some(&etag)).await.status(), StatusCode::NOT_MODIFIED);

    let waiting = tokio::spawn(reader.poll_request(Some(&etag), Some(30)).send());
    app.held_long_polls(1).await;
    let held = scrape().await;
    assert_eq!(sample(&held, "portal_long_polls_held"), Some(1.0), "{held}");
    let code = app.issue_passcode(a).await;
    assert_eq!(waiting.await.unwrap().unwrap().status(), StatusCode::OK);
    reader.verify(&code).await;
    reader.verify(&other_code(&code)).await;

    let text = scrape().await;
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    assert_eq!(
        sample(&text, "portal_reader_polls_total{answer=\"200\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, "portal_reader_polls_total{answer=\"304\"}"), Some(1.0));
    assert_eq!(
        sample(&text, "portal_rotation_fanout_seconds_count"),
        Some(1.0),
        "one woken poll"
    );
    assert_eq!(
        sample(&text, "portal_passcode_verifications_total{outcome=\"accepted\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "portal_passcode_verifications_total{outcome=\"rejected\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&text, "portal_long_polls_held"), Some(0.0));
    assert!(sample(&text, "portal_db_pool_connections{state=\"idle\"}").is_some());
    // Never on the public port.
    assert_eq!(
        reqwest::get(app.url("/metrics")).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
