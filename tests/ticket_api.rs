//! The ticket API as an integration (a phone system) uses it, and its OpenAPI document.

mod common;

use std::collections::BTreeSet;

use common::{CLINIC_A, TestApp};
use portal::db::audit::Actor;
use portal::domain::Email;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    app: TestApp,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        app.with_two_clinics().await;
        let email = Email::parse("agent@installer.jp").unwrap();
        let issued =
            portal::services::accounts::issue_api_token(app.store(), &Actor::CommandLine, &email, "phone system")
                .await
                .unwrap();
        Self {
            token: issued.token.expose().clone(),
            app,
            http: reqwest::Client::new(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.app.url(path)).bearer_auth(&self.token)
    }

    /// GET with the token; the status and the JSON body.
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        (r.status(), r.json().await.unwrap())
    }

    async fn create(&self, body: Value) -> (StatusCode, Value) {
        let r = self
            .req(reqwest::Method::POST, "/api/v1/tickets")
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn an_integration_creates_a_ticket_with_defaults_and_reads_it_back() {
    let api = Api::new().await;
    let (status, ticket) = api
        .create(json!({"clinic_code": CLINIC_A, "summary": "パスコードを忘れた", "caller_name": "山田"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["number"], "SUP-000001");
    assert_eq!(ticket["clinic_code"], CLINIC_A);
    assert_eq!(ticket["channel"], "phone");
    assert_eq!(ticket["category"], "other");
    assert_eq!(ticket["priority"], "normal");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["assignee"], Value::Null);
    assert_eq!(ticket["version"], 1);
    assert!(
        time::OffsetDateTime::parse(
            ticket["due_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );

    let got = api.get("/api/v1/tickets/SUP-000001").await.1;
    assert_eq!(got, ticket);
    let (missing, body) = api.get("/api/v1/tickets/SUP-000999").await;
    assert_eq!(
        (missing, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_stable_error_code_and_nothing_is_saved() {
    let api = Api::new().await;
    for (body, code) in [
        (json!({"summary": "x"}), "invalid_json"),
        (json!({"clinic_code": "0110113718", "summary": "x"}), "invalid_field"),
        (json!({"clinic_code": CLINIC_A, "summary": ""}), "invalid_field"),
        (
            json!({"clinic_code": CLINIC_A, "summary": "x".repeat(201)}),
            "invalid_field",
        ),
        (
            json!({"clinic_code": CLINIC_A, "summary": "x", "priority": "asap"}),
            "invalid_field",
        ),
        (
            json!({"clinic_code": CLINIC_A, "summary": "x", "category": "nope"}),
            "invalid_field",
        ),
        (
            json!({"clinic_code": CLINIC_A, "summary": "x", "channel": "fax"}),
            "invalid_field",
        ),
        (
            json!({"clinic_code": CLINIC_A, "summary": "x", "assignee": "admin-a@clinic-a.jp"}),
            "invalid_change",
        ),
    ] {
        let (status, error) = api.create(body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert_eq!(error["error"], code, "{body}: {error}");
    }
    let no_type = api
        .req(reqwest::Method::POST, "/api/v1/tickets")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(api.app.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn tokens_are_required_and_only_for_the_desk() {
    let api = Api::new().await;
    let anonymous = reqwest::Client::new()
        .get(api.app.url("/api/v1/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<Value>().await.unwrap()["error"], "missing_token");
    let wrong = reqwest::Client::new()
        .get(api.app.url("/api/v1/tickets"))
        .bearer_auth("pat_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid_token");
    // A reader's device token is not an API token.
    let a = portal::db::clinics::by_code(api.app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap()
        .id;
    let reader = api.app.add_reader(a, "受付1").await;
    let as_reader = reqwest::Client::new()
        .get(api.app.url("/api/v1/tickets"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(as_reader.status(), StatusCode::UNAUTHORIZED);

    let admin = Email::parse("admin-a@clinic-a.jp").unwrap();
    let refused = portal::services::accounts::issue_api_token(api.app.store(), &Actor::CommandLine, &admin, "x").await;
    assert!(refused.is_err(), "clinic admins get no API token");

    // Revoked through the web UI: stops at once.
    let agent = common::Browser::signed_in(&api.app, "agent@installer.jp").await;
    let page = agent.get("/account/tokens").await;
    assert!(page.body.contains("phone system"));
    let question = agent.submit("/account/tokens", "/account/tokens/1/revoke", &[]).await;
    assert!(question.body.contains("このAPIトークンを失効させますか？"));
    assert!(question.body.contains("phone system"));
    let revoke = agent
        .submit("/account/tokens", "/account/tokens/1/revoke", &[("confirm", "yes")])
        .await;
    assert_eq!(revoke.status, StatusCode::SEE_OTHER);
    let after = api.req(reqwest::Method::GET, "/api/v1/tickets").send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn patch_checks_the_version_and_the_workflow() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "件名"})).await;
    let patch = |body: Value| {
        api.req(reqwest::Method::PATCH, "/api/v1/tickets/SUP-000001")
            .json(&body)
            .send()
    };

    let moved =
        patch(json!({"version": 1, "status": "in_progress", "assignee": "agent@installer.jp", "priority": "high"}))
            .await
            .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(
        (
            moved["status"].as_str(),
            moved["assignee"].as_str(),
            moved["version"].as_i64()
        ),
        (Some("in_progress"), Some("agent@installer.jp"), Some(2))
    );

    let stale = patch(json!({"version": 1, "priority": "low"})).await.unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(stale.json::<Value>().await.unwrap()["error"], "version_conflict");

    let bad = patch(json!({"version": 2, "status": "closed"})).await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"], "invalid_transition");
    assert!(bad["message"].as_str().unwrap().contains("in_progress"));

    let unassigned: Value = patch(json!({"version": 2, "assignee": null}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unassigned["assignee"], Value::Null);
    let unknown = patch(json!({"version": 3, "status": "sleeping"})).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn notes_and_calls_are_added_and_searchable() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "画面が切り替わらない"}))
        .await;
    let note = api
        .req(reqwest::Method::POST, "/api/v1/tickets/SUP-000001/notes")
        .json(&json!({"body": "切り替え機の電源を確認"}))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), StatusCode::CREATED);
    let call = api
        .req(reqwest::Method::POST, "/api/v1/tickets/SUP-000001/calls")
        .json(&json!({"duration_s": 180, "notes": "折返し済み", "started_at": "2026-11-26T01:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), StatusCode::CREATED);
    let bad_call = api
        .req(reqwest::Method::POST, "/api/v1/tickets/SUP-000001/calls")
        .json(&json!({"duration_s": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_call.status(), StatusCode::BAD_REQUEST);

    let found = api.get("/api/v1/tickets?q=電源").await.1;
    assert_eq!(found["total"], 1);
    assert_eq!(found["tickets"][0]["number"], "SUP-000001");
    let none = api.get("/api/v1/tickets?q=電源&status=closed").await.1;
    assert_eq!(none["total"], 0);
    let paged = api
        .req(reqwest::Method::GET, "/api/v1/tickets?per_page=500")
        .send()
        .await
        .unwrap();
    assert_eq!(paged.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_folds_the_query_like_the_text_and_refuses_unbounded_queries() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "ＰＣのﾊﾟｽｺｰﾄﾞ画面", "callback_phone": "011-231-4567"}))
        .await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "バスの時刻"}))
        .await;
    let numbers = |q: &str| {
        let request = api.req(reqwest::Method::GET, "/api/v1/tickets").query(&[("q", q)]);
        async move {
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            page["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["number"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    for q in ["ぱすこーど", "パスコード", "pcの", "０１１－２３１", "ぱす", "PC"] {
        assert_eq!(numbers(q).await, vec!["SUP-000001"], "{q}");
    }
    assert_eq!(numbers("ばす").await, vec!["SUP-000002"]);
    assert!(numbers("ハス").await.is_empty());

    for q in ["あ".repeat(201), "a".to_owned(), "ab ".repeat(9)] {
        let refused = api
            .req(reqwest::Method::GET, "/api/v1/tickets")
            .query(&[("q", &q)])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "invalid_query");
        assert!(
            body["message"].as_str().unwrap().is_ascii(),
            "the API answers in English"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_matches_the_api() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "件名"})).await;
    let doc: Value = reqwest::get(api.app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    // Every documented operation exists (not 404/405) when called with a real ticket.
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations.insert(format!("{} {path}", method.to_uppercase()));
            // The answers every operation can give are documented on every one of them.
            let documented = operation["responses"].as_object().unwrap();
            for status in ["401", "503"] {
                assert!(documented.contains_key(status), "{method} {path}: {status}");
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    documented.contains_key("413") && documented.contains_key("415"),
                    "{method} {path}"
                );
            }
            // Parameters sit where the handlers read them: path ones in the template, filters in the query.
            for param in operation["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                match param["in"].as_str().unwrap() {
                    "path" => assert!(path.contains(&format!("{{{name}}}")), "{path}: {name}"),
                    "query" | "header" => {}
                    other => panic!("{path}: {name} in {other}"),
                }
            }
            let url = path.replace("{number}", "SUP-000001");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = api
                .req(method.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {url}: {status}"
            );
        }
    }
    let expected: BTreeSet<String> = [
        "GET /api/v1/reader/passcode",
        "POST /api/v1/reader/verify",
        "POST /api/v1/tickets",
        "GET /api/v1/tickets",
        "GET /api/v1/tickets/{number}",
        "PATCH /api/v1/tickets/{number}",
        "POST /api/v1/tickets/{number}/notes",
        "POST /api/v1/tickets/{number}/calls",
        "GET /api/v1/tickets/{number}/entries",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(operations, expected);

    // The ticket schema names exactly the fields a real ticket has.
    let schema = &doc["components"]["schemas"]["TicketJson"];
    let documented: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let ticket = api.get("/api/v1/tickets/SUP-000001").await.1;
    let actual: BTreeSet<&str> = ticket.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(documented, actual);
    // So does the timeline entry schema.
    let entries = api.get("/api/v1/tickets/SUP-000001/entries").await.1;
    let entry: BTreeSet<&str> = entries["entries"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let entry_schema: BTreeSet<&str> = doc["components"]["schemas"]["EntryJson"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(entry_schema, entry);
    for field in [
        "number",
        "clinic_code",
        "caller_name",
        "callback_phone",
        "channel",
        "category",
        "priority",
        "summary",
        "description",
        "status",
        "assignee",
        "due_at",
        "version",
    ] {
        assert!(actual.contains(field), "{field}");
    }
}

#[tokio::test]
async fn an_integration_reads_the_timeline_back_oldest_first_in_pages() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "画面が切り替わらない"}))
        .await;
    let post = |path: &'static str, body: Value| {
        api.req(reqwest::Method::POST, &format!("/api/v1/tickets/SUP-000001/{path}"))
            .json(&body)
            .send()
    };
    post("notes", json!({"body": "切り替え機の電源を確認"})).await.unwrap();
    post(
        "notes",
        json!({"body": "電源を入れ直してください", "visibility": "clinic", "wait_on_clinic": true}),
    )
    .await
    .unwrap();
    let internal_wait = post("notes", json!({"body": "x", "wait_on_clinic": true}))
        .await
        .unwrap();
    assert_eq!(
        internal_wait.status(),
        StatusCode::BAD_REQUEST,
        "only a reply can set waiting"
    );
    post(
        "calls",
        json!({"duration_s": 180, "notes": "折返し済み", "started_at": "2026-11-26T01:00:00Z"}),
    )
    .await
    .unwrap();
    api.req(reqwest::Method::PATCH, "/api/v1/tickets/SUP-000001")
        .json(&json!({"version": 4, "assignee": "agent@installer.jp"}))
        .send()
        .await
        .unwrap();
    // The clinic admin answers on the web.
    let admin = common::Browser::signed_in(&api.app, "admin-a@clinic-a.jp").await;
    let mine = format!("/clinics/{CLINIC_A}/requests/SUP-000001");
    let replied = admin
        .submit(&mine, &format!("{mine}/reply"), &[("body", "直りました")])
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER);

    let page = |query: String| {
        let api = &api;
        async move {
            let r = api
                .req(
                    reqwest::Method::GET,
                    &format!("/api/v1/tickets/SUP-000001/entries{query}"),
                )
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let mut entries = Vec::new();
    let mut query = "?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, body) = page(query.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let got = body["entries"].as_array().unwrap();
        assert!(got.len() <= 3);
        entries.extend(got.iter().cloned());
        pages += 1;
        match body["next_after"].as_i64() {
            Some(after) => query = format!("?limit=3&after={after}"),
            None => break,
        }
    }
    let kinds: Vec<&str> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "note",
            "reply",
            "status_change",
            "call",
            "assignment_change",
            "clinic_reply",
            "status_change"
        ]
    );
    assert_eq!(pages, 3, "eight entries in pages of three");
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first, no repeats: {ids:?}");

    let (note, reply, call) = (&entries[1], &entries[2], &entries[4]);
    assert_eq!(
        (note["visibility"].as_str(), note["body"].as_str()),
        (Some("internal"), Some("切り替え機の電源を確認"))
    );
    assert_eq!(note["author"], "agent@installer.jp");
    assert_eq!(note["author_role"], "agent");
    assert_eq!(reply["visibility"], "clinic");
    assert_eq!(call["duration_s"], 180);
    assert_eq!(call["call_started_at"], "2026-11-26T01:00:00Z");
    assert_eq!(call["body"], "折返し済み");
    let change = &entries[3];
    assert_eq!(
        (change["field"].as_str(), change["from"].as_str(), change["to"].as_str()),
        (Some("status"), Some("new"), Some("waiting_on_clinic")),
        "the reply set waiting on the clinic in the same step"
    );
    assert_eq!(entries[5]["to"], "agent@installer.jp");
    let clinic = &entries[6];
    assert_eq!(
        (
            clinic["author"].as_str(),
            clinic["author_role"].as_str(),
            clinic["body"].as_str()
        ),
        (Some("admin-a@clinic-a.jp"), Some("clinic_admin"), Some("直りました"))
    );
    assert_eq!(entries[7]["to"], "in_progress", "the clinic's reply handed it back");
    assert!(entries.iter().all(|e| e["ticket"] == "SUP-000001"));

    // The default page holds them all; a bounded limit; stable error codes.
    let (_, all) = page(String::new()).await;
    assert_eq!(all["entries"].as_array().unwrap().len(), 8);
    assert_eq!(all["next_after"], Value::Null);
    for bad in [
        "?limit=0",
        "?limit=201",
        "?limit=x",
        "?after=-1",
        "?after=99999999999999999999",
    ] {
        let (status, body) = page(bad.to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"], "invalid_query", "{bad}");
    }
    let (status, body) = page("?after=999999".to_owned()).await;
    assert_eq!((status, body["entries"].as_array().unwrap().len()), (StatusCode::OK, 0));
    let (missing, body) = api.get("/api/v1/tickets/SUP-000999/entries").await;
    assert_eq!(
        (missing, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let anonymous = reqwest::Client::new()
        .get(api.app.url("/api/v1/tickets/SUP-000001/entries"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<Value>().await.unwrap()["error"], "missing_token");
}

#[tokio::test]
async fn a_merged_tickets_timeline_includes_the_duplicates_entries_with_their_number() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "一件目"})).await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "二件目"})).await;
    api.req(reqwest::Method::POST, "/api/v1/tickets/SUP-000002/notes")
        .json(&json!({"body": "重複の方のメモ"}))
        .send()
        .await
        .unwrap();
    let agent = common::Browser::signed_in(&api.app, "agent@installer.jp").await;
    let merged = agent
        .submit(
            "/desk/tickets/SUP-000002",
            "/desk/tickets/SUP-000002/merge",
            &[("version", "2"), ("into", "SUP-000001")],
        )
        .await;
    assert_eq!(merged.status, StatusCode::SEE_OTHER, "{}", merged.body);
    let body = api.get("/api/v1/tickets/SUP-000001/entries").await.1;
    let note = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["body"] == "重複の方のメモ")
        .expect("the duplicate's note");
    assert_eq!(note["ticket"], "SUP-000002");
    let kinds: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"merged"), "{kinds:?}");
}

#[tokio::test]
async fn the_bearer_scheme_is_accepted_in_any_case_on_both_apis() {
    let api = Api::new().await;
    let tickets = reqwest::Client::new()
        .get(api.app.url("/api/v1/tickets"))
        .header("authorization", format!("BEARER {}", api.token))
        .send()
        .await
        .unwrap();
    assert_eq!(tickets.status(), StatusCode::OK);
    let clinic = portal::db::clinics::by_code(api.app.store(), CLINIC_A)
        .await
        .unwrap()
        .unwrap();
    let reader = api.app.add_reader(clinic.id, "受付1").await;
    let poll = reqwest::Client::new()
        .get(api.app.url("/api/v1/reader/passcode"))
        .header("authorization", format!("bEaReR  {reader}"))
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_calls_time_must_be_a_real_recent_past() {
    let api = Api::new().await;
    api.create(json!({"clinic_code": CLINIC_A, "summary": "通話の記録"}))
        .await;
    let far_future = (time::OffsetDateTime::now_utc() + time::Duration::days(400))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for started_at in ["1970-01-01T00:00:00Z", "2000-01-01T00:00:00Z", far_future.as_str()] {
        let response = api
            .req(reqwest::Method::POST, "/api/v1/tickets/SUP-000001/calls")
            .json(&json!({"started_at": started_at, "duration_s": 60}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{started_at}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_field");
    }
    let ten_minutes_ago = (time::OffsetDateTime::now_utc() - time::Duration::minutes(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let fine = api
        .req(reqwest::Method::POST, "/api/v1/tickets/SUP-000001/calls")
        .json(&json!({"started_at": ten_minutes_ago, "duration_s": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_disabled_accounts_tokens_stay_revoked_when_it_is_enabled_again() {
    let api = Api::new().await;
    let agent_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'agent@installer.jp'")
        .fetch_one(api.app.pool())
        .await
        .unwrap();
    let operator = Actor::CommandLine;
    portal::services::accounts::set_disabled(api.app.store(), &operator, agent_id, true)
        .await
        .unwrap();
    assert_eq!(api.get("/api/v1/tickets").await.0, StatusCode::UNAUTHORIZED);
    portal::services::accounts::set_disabled(api.app.store(), &operator, agent_id, false)
        .await
        .unwrap();
    let (status, body) = api.get("/api/v1/tickets").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}
