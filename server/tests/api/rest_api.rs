//! The REST API under /api/v1 with organization API keys: scopes, expiry, revocation, rate
//! limits with their headers, stable JSON errors, and tenant isolation.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp};
use app::dto::NewApiKey;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn new_key(client: &Client, scope: &str, days: &str) -> String {
    let key: NewApiKey = client
        .call("create_api_key", &[("name", "CI"), ("scope", scope), ("expires_in_days", days)])
        .await
        .expect("create key");
    assert!(key.secret.starts_with("cairn_"));
    key.secret
}

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn new(app: &TestApp, key: &str) -> Self {
        Self { http: reqwest::Client::new(), base: format!("{}/api/v1", app.address), key: key.to_owned() }
    }

    /// Calls a second instance of `app`: the same database and settings, its own request counts.
    async fn on_another_instance(app: &TestApp, key: &str) -> Self {
        let state = server::AppState::from(server::Shared { api_requests: Default::default(), ..(*app.state).clone() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr");
        tokio::spawn(server::serve(listener, state, std::future::pending()));
        Self { http: reqwest::Client::new(), base: format!("http://{address}/api/v1"), key: key.to_owned() }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {text:?}: {e}"))
        };
        (status, value, headers)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.send(reqwest::Method::GET, path, None).await;
        (s, v)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.send(reqwest::Method::POST, path, Some(body)).await;
        (s, v)
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.send(reqwest::Method::PUT, path, Some(body)).await;
        (s, v)
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.send(reqwest::Method::PATCH, path, Some(body)).await;
        (s, v)
    }
}

#[tokio::test]
async fn a_write_key_manages_prompts_end_to_end() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let api = Api::new(&app, &new_key(&owner, "write", "30").await);

    let (status, created) = api
        .post("/prompts", json!({ "title": "Summary", "content": "Summarise {{topic}} in {{words}} words.", "tags": ["docs", "summary"],
            "variables": [{ "name": "words", "kind": "number", "default": "50" }] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["version"], 1);
    assert_eq!(created["fields"]["tags"], json!(["docs", "summary"]));

    // PATCH changes only what it names: the variable definitions stay.
    let (status, updated) = api
        .patch(
            &format!("/prompts/{id}"),
            json!({ "body": "Summarise {{topic}} briefly in {{words}} words.", "base_version": 1 }),
        )
        .await;
    assert_eq!(updated["fields"]["title"], "Summary", "{updated}");
    assert_eq!((status, updated["version"].clone()), (StatusCode::OK, json!(2)), "{updated}");
    let (status, conflict) =
        api.put(&format!("/prompts/{id}"), json!({ "title": "x", "body": "y", "base_version": 1 })).await;
    assert_eq!((status, conflict["code"].clone()), (StatusCode::CONFLICT, json!("conflict")));

    let (_, versions) = api.get(&format!("/prompts/{id}/versions")).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    let (status, v1) = api.get(&format!("/prompts/{id}/versions/1")).await;
    assert_eq!((status, v1["body"].clone()), (StatusCode::OK, json!("Summarise {{topic}} in {{words}} words.")));

    let (status, labelled) = api.put(&format!("/prompts/{id}/labels/production"), json!({ "version": 1 })).await;
    assert_eq!((status, labelled["number"].clone()), (StatusCode::OK, json!(1)), "{labelled}");
    let (_, by_label) = api.get(&format!("/prompts/{id}/labels/production")).await;
    assert_eq!(by_label["number"], 1);

    let (status, rendered) = api
        .post(&format!("/prompts/{id}/render"), json!({ "label": "production", "values": { "topic": "tides" } }))
        .await;
    assert_eq!((status, rendered["text"].clone()), (StatusCode::OK, json!("Summarise tides in 50 words.")));
    let (status, problems) = api.post(&format!("/prompts/{id}/render"), json!({ "values": { "words": "lots" } })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problems["code"], "validation");
    let names: Vec<&str> =
        problems["problems"].as_array().expect("problems").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["topic", "words"]);

    let (status, list) = api.get("/prompts?q=summarise&limit=10").await;
    assert_eq!((status, list["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));

    // Stable JSON errors.
    let (status, invalid) = api.post("/prompts", json!({ "title": "", "body": "x" })).await;
    assert_eq!(
        (status, invalid["code"].clone(), invalid["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("validation"), json!("title"))
    );
    let (status, bad_json) = api.post("/prompts", json!({ "title": 5 })).await;
    assert_eq!((status, bad_json["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_json")));
    let (status, missing) = api.get("/prompts/not-a-uuid").await;
    assert_eq!((status, missing["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    let (status, nowhere) = api.get("/nothing-here").await;
    assert_eq!((status, nowhere["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    let (status, bad_limit) = api.get("/prompts?limit=1000").await;
    assert_eq!((status, bad_limit["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("limit")));

    let (status, _, _) = api.send(reqwest::Method::DELETE, &format!("/prompts/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.get(&format!("/prompts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn keys_are_scoped_expire_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");

    // Only Owners and Admins manage keys.
    let denied = editor
        .call::<NewApiKey>("create_api_key", &[("name", "x"), ("scope", "read"), ("expires_in_days", "0")])
        .await
        .unwrap_err();
    assert_eq!(denied.status, 403);
    let bad_scope = owner
        .call::<NewApiKey>("create_api_key", &[("name", "x"), ("scope", "admin"), ("expires_in_days", "0")])
        .await
        .unwrap_err();
    assert_eq!(crate::support::field_of(&bad_scope), "scope");

    let read = Api::new(&app, &new_key(&owner, "read", "0").await);
    let (status, _) = read.get("/prompts").await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = read.post("/prompts", json!({ "title": "t", "body": "b" })).await;
    assert_eq!((status, refused["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));

    // No key, a wrong key: 401 with a JSON error.
    let anonymous = Api::new(&app, "cairn_wrong");
    let (status, wrong) = anonymous.get("/prompts").await;
    assert_eq!((status, wrong["code"].clone()), (StatusCode::UNAUTHORIZED, json!("unauthenticated")));
    let plain = reqwest::get(format!("{}/api/v1/prompts", app.address)).await.expect("get");
    assert_eq!(plain.status(), StatusCode::UNAUTHORIZED);

    // Expiry.
    let expiring = Api::new(&app, &new_key(&owner, "read", "1").await);
    app.clock.advance(Duration::days(2));
    let (status, expired) = expiring.get("/prompts").await;
    assert_eq!((status, expired["message"].clone()), (StatusCode::UNAUTHORIZED, json!("That API key has expired.")));

    // Revocation, effective at once; the list shows it. (The jump above ended the owner's session.)
    owner.sign_in("olivia@example.com", crate::support::PASSWORD).await.expect("sign in again");
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let keys: Vec<app::dto::ApiKeyView> = owner.call("api_keys", &[]).await.expect("keys");
    let read_key = keys.iter().find(|k| !k.can_write && k.expires_at.is_none()).expect("read key");
    assert!(read_key.last_used_at.is_some(), "use is recorded");
    owner.call::<()>("revoke_api_key", &[("id", &read_key.id.to_string())]).await.expect("revoke");
    let (status, _) = read.get("/prompts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Keys are remembered for a second between requests; a change of their creator's membership
/// still applies to the very next request.
#[tokio::test]
async fn a_key_acts_with_its_creators_role_of_the_moment() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let admin = join(&app, &owner, org.id, "Adam", "adam@example.com", "admin").await;
    admin.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let api = Api::new(&app, &new_key(&admin, "write", "0").await);
    let (status, _) = api.post("/prompts", json!({ "title": "By Adam's key", "body": "b" })).await;
    assert_eq!(status, StatusCode::CREATED);

    let (org_id, adam) = (org.id.to_string(), admin.me().await.expect("me").user_id.to_string());
    owner
        .call::<()>("change_role", &[("org_id", &org_id), ("user_id", &adam), ("role", "viewer")])
        .await
        .expect("demote");
    let (status, refused) = api.post("/prompts", json!({ "title": "Again", "body": "b" })).await;
    assert_eq!((status, refused["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
    let (status, _) = api.get("/prompts").await;
    assert_eq!(status, StatusCode::OK, "a viewer still reads");

    owner.call::<()>("remove_member", &[("org_id", &org_id), ("user_id", &adam)]).await.expect("remove");
    let (status, gone) = api.get("/prompts").await;
    assert_eq!(
        (status, gone["message"].clone()),
        (StatusCode::UNAUTHORIZED, json!("The person who created this key has left the organization."))
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_headers() {
    let app = TestApp::spawn_with(|c| c.api_rate_limit = 3).await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let api = Api::new(&app, &new_key(&owner, "read", "0").await);
    for remaining in ["2", "1", "0"] {
        let (status, _, headers) = api.send(reqwest::Method::GET, "/prompts", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["ratelimit-limit"], "3");
        assert_eq!(headers["ratelimit-remaining"], remaining);
    }
    let (status, body, headers) = api.send(reqwest::Method::GET, "/prompts", None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::TOO_MANY_REQUESTS, json!("rate_limited")));
    let retry: i64 = headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=3600).contains(&retry));
    // The next window starts fresh.
    app.clock.advance(Duration::hours(1));
    let (status, _) = api.get("/prompts").await;
    assert_eq!(status, StatusCode::OK);
}

/// The organization's plan limits its keys too: prompts (403 `plan_limit`) and requests a day
/// (429 `quota_exhausted`), each naming the plan that allows more; the next day starts afresh.
#[tokio::test]
async fn the_plan_s_prompt_and_daily_request_quotas_apply_to_keys() {
    let app = TestApp::spawn().await;
    let sam = crate::billing::sysadmin(&app).await;
    let limits = app::domain::billing::Limits {
        max_prompts: Some(1),
        api_requests_per_day: Some(4),
        ..app::domain::billing::Limits::default()
    };
    let _: i32 = sam
        .call_json(
            "admin_save_plan",
            json!({ "code": "free", "name": "Free", "monthly_price": "0", "annual_price": "0", "limits": limits }),
        )
        .await
        .expect("save plan");
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let api = Api::new(&app, &new_key(&owner, "write", "0").await);
    let prompt = json!({ "title": "One", "body": "Hello" });
    assert_eq!(api.post("/prompts", prompt.clone()).await.0, StatusCode::CREATED);
    let (status, body) = api.post("/prompts", prompt).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("plan_limit")), "{body}");
    assert_eq!(body["upgrade"]["plan"], json!("premium"), "{body}");
    for _ in 0..2 {
        assert_eq!(api.get("/prompts").await.0, StatusCode::OK);
    }
    let (status, body) = api.get("/prompts").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("quota_exhausted")), "{body}");
    assert_eq!(body["upgrade"]["plan"], json!("premium"), "{body}");
    // In the pages too: the organization's prompts against the plan's.
    let summary: app::api::billing::BillingSummary =
        owner.call_json("billing_overview", json!({})).await.expect("overview");
    let prompts = summary.usage.iter().find(|u| u.quota == app::domain::billing::Quota::Prompts).expect("prompts");
    assert_eq!((prompts.used, prompts.limit), (1, Some(1)));
    // The four admitted requests are the organization's metered usage (usage events, written
    // with the key's counts); the refused fifth is not.
    app.state.api_requests.flush(app.state.services.store.as_ref(), app.clock_now()).await;
    let summary: app::api::billing::BillingSummary =
        owner.call_json("billing_overview", json!({})).await.expect("overview");
    let requests =
        summary.usage.iter().find(|u| u.quota == app::domain::billing::Quota::ApiRequestsPerDay).expect("requests");
    assert_eq!((requests.used, requests.limit), (4, Some(4)));
    app.clock.advance(Duration::days(1));
    assert_eq!(api.get("/prompts").await.0, StatusCode::OK, "a new day");
}

/// Instances count in memory and add their counts to the shared row at most once a second, and
/// every second when the limit is near: one instance limits exactly, several see each other's
/// requests within a second there.
#[tokio::test]
async fn instances_share_a_key_s_limit() {
    let app = TestApp::spawn_with(|c| c.api_rate_limit = 4).await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let secret = new_key(&owner, "read", "0").await;
    let first = Api::new(&app, &secret);
    let second = Api::on_another_instance(&app, &secret).await;
    let remaining = |headers: &reqwest::header::HeaderMap| headers["ratelimit-remaining"].to_str().map(str::to_owned);

    for expected in ["3", "2"] {
        let (status, _, headers) = first.send(reqwest::Method::GET, "/prompts", None).await;
        assert_eq!((status, remaining(&headers).expect("header")), (StatusCode::OK, expected.into()));
    }
    // The second instance's first request reads the shared count: the first instance has written
    // its first request, the second is still in its memory.
    let (status, _, headers) = second.send(reqwest::Method::GET, "/prompts", None).await;
    assert_eq!((status, remaining(&headers).expect("header")), (StatusCode::OK, "2".into()));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, headers) = first.send(reqwest::Method::GET, "/prompts", None).await;
    assert_eq!((status, remaining(&headers).expect("header")), (StatusCode::OK, "0".into()));
    let (status, body, _) = second.send(reqwest::Method::GET, "/prompts", None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::TOO_MANY_REQUESTS, json!("rate_limited")));
}

/// Far from its limits, a key's count is not written every second: a second instance sees the
/// first one's later requests only once they are written (at the latest after 30 seconds, or at
/// shutdown), and the count is then whole.
#[tokio::test]
async fn a_key_far_from_its_limit_is_counted_in_memory_and_written_later() {
    let app = TestApp::spawn_with(|c| c.api_rate_limit = 10_000).await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let secret = new_key(&owner, "read", "0").await;
    let remaining = async |api: &Api| {
        let (status, _, headers) = api.send(reqwest::Method::GET, "/prompts", None).await;
        assert_eq!(status, StatusCode::OK);
        headers["ratelimit-remaining"].to_str().expect("ascii").parse::<i64>().expect("a number")
    };

    let first = Api::new(&app, &secret);
    assert_eq!(remaining(&first).await, 9_999, "the window's first request is written");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for left in [9_998, 9_997] {
        assert_eq!(remaining(&first).await, left);
    }
    // A second instance writes its first request and reads the first instance's first alone.
    assert_eq!(remaining(&Api::on_another_instance(&app, &secret).await).await, 9_998);
    // Written at shutdown (or after 30 seconds): a third instance then reads every request.
    app.state.api_requests.flush(app.state.services.store.as_ref(), app.clock_now()).await;
    assert_eq!(remaining(&Api::on_another_instance(&app, &secret).await).await, 9_995, "three, one and this one");
}

#[tokio::test]
async fn a_key_sees_only_its_own_organization() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up("Alice", "alice@example.com").await;
    let bob = app.signed_up("Bob", "bob@example.com").await;
    let secret = bob.create_prompt("Bob's", "Private to Bob's org").await.expect("prompt");
    let api = Api::new(&app, &new_key(&alice, "write", "0").await);
    let (status, _) = api.get(&format!("/prompts/{secret}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.put(&format!("/prompts/{secret}"), json!({ "title": "x", "body": "y" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api.send(reqwest::Method::DELETE, &format!("/prompts/{secret}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = api.get("/prompts").await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn the_openapi_document_and_reference_need_no_key_and_bad_bodies_get_json_errors() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/api/v1/openapi.json", app.address))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    let page = http.get(format!("{}/api/v1/docs", app.address)).send().await.expect("docs");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("<code>POST /api/v1/prompts/{id}/render</code>"), "{html}");

    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let api = Api::new(&app, &new_key(&owner, "write", "0").await);
    // NUL characters are refused with the field named, on SQLite as on PostgreSQL (which cannot store them).
    let (status, nul) =
        api.post("/prompts", json!({ "title": "Nul", "body": "a\u{0}b", "tags": ["ok", "x\u{0}"] })).await;
    assert_eq!((status, nul["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("body")), "{nul}");
    let (status, nul) = api.post("/prompts", json!({ "title": "Nul", "body": "ab", "tags": ["ok", "x\u{0}"] })).await;
    assert_eq!((status, nul["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("tags.1")), "{nul}");
    let (status, search) = api.get("/prompts?q=a%00b").await;
    assert!(status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY, "{status}: {search}");
    // A body that is not UTF-8 text is a JSON error, not plain text.
    let response = api
        .http
        .post(format!("{}/import?format=csv", api.base))
        .bearer_auth(&api.key)
        .body(vec![0xff_u8, 0xfe, 0x00])
        .send()
        .await
        .expect("import");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json error");
    assert_eq!(body["code"], "invalid_body");
}
