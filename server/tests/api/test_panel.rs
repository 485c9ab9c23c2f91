//! The test panel: the organization's AI model, saved test cases, and "Run" streaming the
//! answer of a local OpenAI-compatible server over real HTTP.

use crate::orgs::{create_org, join};
use crate::support::fake_llm::FakeLlm;
use crate::support::{Client, TestApp, field_of};
use app::domain::model::RunEvent;
use app::dto::{AiModelView, ModelSource, TestCaseView};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

async fn set_model(
    client: &Client,
    base_url: &str,
    model: &str,
    key: &str,
) -> Result<AiModelView, crate::support::Failure> {
    client.call("save_ai_model", &[("base_url", base_url), ("model", model), ("api_key", key)]).await
}

/// Runs a prompt; the status and the streamed events (or the JSON error).
async fn run(client: &Client, id: Uuid, values: Value) -> (StatusCode, Vec<RunEvent>, Value) {
    let response = client
        .http
        .post(format!("{}/prompts/{id}/run", client.base))
        .json(&json!({ "values": values }))
        .send()
        .await
        .expect("run");
    let status = response.status();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("body");
    if content_type.starts_with("application/x-ndjson") {
        let events = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
        (status, events, Value::Null)
    } else {
        (status, Vec::new(), serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn answer(events: &[RunEvent]) -> String {
    events.iter().filter_map(|e| if let RunEvent::Delta { text } = e { Some(text.as_str()) } else { None }).collect()
}

#[tokio::test]
async fn run_streams_the_answer_of_the_organizations_model() {
    let app = TestApp::spawn().await;
    let llm = FakeLlm::start(Some("sk-test")).await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;
    let id: Uuid = editor
        .call_json(
            "create_prompt",
            json!({ "input": { "title": "Greet", "body": "Say hello to {{name}}.", "model": { "model": "", "temperature": 0.2, "max_tokens": 50 } } }),
        )
        .await
        .expect("prompt");

    // No model yet: the panel says so and a run is refused with the reason.
    let none: AiModelView = viewer.call("ai_model", &[]).await.expect("ai_model");
    assert_eq!((none.source, none.can_manage), (ModelSource::None, false));
    let (status, _, error) = run(&viewer, id, json!({ "name": "Ada" })).await;
    assert_eq!((status, error["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("model")), "{error}");

    // Only Owners and Admins set it; the key is never shown back.
    let refused = set_model(&editor, &llm.base_url, "gpt-test", "sk-test").await.unwrap_err();
    assert_eq!(refused.status, 403);
    let bad = set_model(&owner, "ftp://models", "gpt-test", "").await.unwrap_err();
    assert_eq!(field_of(&bad), "base_url");
    let set =
        set_model(&owner, &format!("{}/chat/completions", llm.base_url), "gpt-test", "sk-test").await.expect("set");
    assert_eq!(
        (set.source, set.base_url.as_str(), set.has_key),
        (ModelSource::Organization, llm.base_url.as_str(), true)
    );
    let seen: AiModelView = viewer.call("ai_model", &[]).await.expect("ai_model");
    assert_eq!(
        (seen.model.as_str(), seen.base_url.as_str()),
        ("gpt-test", ""),
        "members see the model, not the address"
    );

    // Missing variables are reported before anything is sent.
    let (status, _, problems) = run(&viewer, id, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problems["problems"][0]["name"], "name");
    assert!(llm.requests().is_empty());

    // A Viewer runs it: the answer streams back piece by piece, with token usage.
    let (status, events, _) = run(&viewer, id, json!({ "name": "Ada" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events.first(), Some(&RunEvent::Started { model: "gpt-test".into() }));
    assert_eq!(answer(&events), "Echo: Say hello to Ada.");
    assert!(events.iter().filter(|e| matches!(e, RunEvent::Delta { .. })).count() > 1, "{events:?}");
    let Some(RunEvent::Done { usage: Some(usage) }) = events.last() else { panic!("{events:?}") };
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (4, 5));
    let (headers, body) = llm.requests().pop().expect("a request");
    assert_eq!(headers["authorization"], "Bearer sk-test");
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["messages"], json!([{ "role": "user", "content": "Say hello to Ada." }]));

    // Saving without a key keeps the stored one; a wrong key comes back as the server's message.
    set_model(&owner, &llm.base_url, "gpt-test", "").await.expect("keep key");
    let (_, events, _) = run(&viewer, id, json!({ "name": "Ada" })).await;
    assert!(matches!(events.last(), Some(RunEvent::Done { .. })), "{events:?}");
    set_model(&owner, &llm.base_url, "gpt-test", "sk-wrong").await.expect("wrong key");
    let (status, events, _) = run(&viewer, id, json!({ "name": "Ada" })).await;
    assert_eq!(status, StatusCode::OK);
    let Some(RunEvent::Error { message }) = events.last() else { panic!("{events:?}") };
    assert!(message.contains("401") && message.contains("Incorrect API key"), "{message}");

    // Runs are in the audit log with their model and tokens (cost tracking).
    let audit: Vec<app::dto::AuditEntryView> =
        owner.call("audit_log", &[("org_id", &org.id.to_string())]).await.expect("audit");
    let runs: Vec<_> = audit.iter().filter(|e| e.action == "prompt.run").collect();
    assert_eq!(runs.len(), 3, "{audit:#?}");
    assert!(audit.iter().any(|e| e.action == "ai_model.set"));

    // Removing the organization's model leaves none (no instance default here).
    let cleared: AiModelView = owner.call("clear_ai_model", &[]).await.expect("clear");
    assert_eq!(cleared.source, ModelSource::None);
}

#[tokio::test]
async fn the_instance_model_applies_and_private_addresses_can_be_refused() {
    let llm = FakeLlm::start(None).await;
    let base_url = llm.base_url.clone();
    let app = TestApp::spawn_with(move |config| {
        config.webhook_allow_private = false;
        config.default_model = Some(app::ports::ModelEndpoint { base_url, model: "llama-local".into(), api_key: None });
    })
    .await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let id = owner.create_prompt("Hi", "Hello {{name}}").await.expect("prompt");
    let model: AiModelView = owner.call("ai_model", &[]).await.expect("ai_model");
    assert_eq!((model.source, model.model.as_str()), (ModelSource::Instance, "llama-local"));
    // The operator's own endpoint may be local; an organization's may not.
    let (status, events, _) = run(&owner, id, json!({ "name": "Ada" })).await;
    assert_eq!((status, answer(&events)), (StatusCode::OK, "Echo: Hello Ada".to_owned()), "{events:?}");
    let refused = set_model(&owner, &llm.base_url, "x", "").await.unwrap_err();
    assert_eq!(field_of(&refused), "base_url");
}

async fn save(client: &Client, id: Uuid, name: &str, values: Value) -> Result<TestCaseView, crate::support::Failure> {
    client.call_json("save_test_case", json!({ "prompt_id": id, "name": name, "values": values })).await
}

#[tokio::test]
async fn test_cases_are_saved_by_name_for_those_who_may_edit() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;
    let id = editor.create_prompt("Greet", "Hello {{name}} from {{city}}").await.expect("prompt");

    let first = save(&editor, id, "Berlin", json!({ "name": "Ada", "city": "Berlin" })).await.expect("save");
    save(&editor, id, "Paris", json!({ "name": "Bo", "city": "Paris" })).await.expect("save");
    // The same name replaces the values and keeps the case.
    let again = save(&editor, id, "Berlin", json!({ "name": "Cy", "city": "Berlin" })).await.expect("save");
    assert_eq!(again.id, first.id);
    assert_eq!(field_of(&save(&editor, id, " ", json!({})).await.unwrap_err()), "name");
    assert_eq!(save(&viewer, id, "Mine", json!({})).await.unwrap_err().status, 403);

    let cases: Vec<TestCaseView> =
        viewer.call_json("prompt_test_cases", json!({ "prompt_id": id })).await.expect("list");
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Berlin", "Paris"]);
    assert_eq!(cases[0].values["name"], "Cy");

    let refused = viewer.call_json::<()>("delete_test_case", json!({ "prompt_id": id, "id": first.id })).await;
    assert_eq!(refused.unwrap_err().status, 403);
    owner.call_json::<()>("delete_test_case", json!({ "prompt_id": id, "id": first.id })).await.expect("admin deletes");
    let cases: Vec<TestCaseView> =
        editor.call_json("prompt_test_cases", json!({ "prompt_id": id })).await.expect("list");
    assert_eq!(cases.len(), 1);

    // Another organization sees nothing of them.
    let stranger = app.signed_up("Sam", "sam@example.com").await;
    let hidden = stranger.call_json::<Vec<TestCaseView>>("prompt_test_cases", json!({ "prompt_id": id })).await;
    assert_eq!(hidden.unwrap_err().status, 404);
}

/// Runs count against the organization's AI tokens for the month: metered once per run (an
/// idempotency key makes a repeated recording count once), shown against the plan's limit, and
/// over it a run is refused with the plan that allows more.
#[tokio::test]
async fn runs_count_against_the_monthly_ai_tokens_of_the_plan() {
    use app::domain::billing::{Limits, Metric, month_start};
    // $2,500 per million tokens: a run of 9 tokens costs 2.25¢.
    let app = TestApp::spawn_with(|c| c.ai_cost_per_million_tokens = 250_000).await;
    let services = &app.state.services;
    let llm = FakeLlm::start(Some("sk-test")).await;
    let sam = app.signed_up("Sam", "sam@example.com").await;
    let sam_id = sam.me().await.expect("me").user_id;
    services.store.grant_platform_role(sam_id, app::domain::PlatformRole::SystemAdmin).await.expect("grant");
    let limits = Limits { ai_tokens_per_month: Some(10), ..Limits::default() };
    let _: i32 = sam
        .call_json(
            "admin_save_plan",
            json!({ "code": "free", "name": "Free", "monthly_price": "0", "annual_price": "", "limits": limits }),
        )
        .await
        .expect("free plan with 10 AI tokens");

    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    set_model(&owner, &llm.base_url, "gpt-test", "sk-test").await.expect("model");
    let id: Uuid = owner
        .call_json("create_prompt", json!({ "input": { "title": "Greet", "body": "Say hello to {{name}}.", "model": { "model": "", "temperature": 0.2, "max_tokens": 50 } } }))
        .await
        .expect("prompt");
    let (status, events, _) = run(&owner, id, json!({ "name": "Ada" })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(matches!(events.last(), Some(RunEvent::Done { usage: Some(_) })), "{events:?}");
    let since = month_start(app.clock_now());
    let totals = services.store.usage_totals(org.id, Metric::AiTokens, since).await.expect("usage");
    assert_eq!((totals.count, totals.sum, totals.max, totals.unique_users), (1, 9, 9, 1), "4 prompt + 5 completion");
    let cost = services.store.usage_totals(org.id, Metric::AiCost, since).await.expect("cost");
    assert_eq!((cost.count, cost.sum), (1, 9 * 250_000), "in millionths of a cent");

    let event = |key: &str| app::ports::UsageEventRecord {
        id: Uuid::now_v7(),
        idempotency_key: key.into(),
        org_id: org.id,
        user_id: None,
        metric: Metric::AiTokens,
        quantity: 0,
        at: app.clock_now(),
    };
    assert!(services.store.record_usage(&event("retried")).await.expect("record"));
    assert!(!services.store.record_usage(&event("retried")).await.expect("record"), "counted once");

    let (status, _, _) = run(&owner, id, json!({ "name": "Bo" })).await;
    assert_eq!(status, StatusCode::OK, "9 of 10 used: one more run");
    let (status, _, error) = run(&owner, id, json!({ "name": "Cy" })).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("quota_exhausted")), "{error}");
    assert_eq!(error["upgrade"]["plan"], "premium", "{error}");
    assert_eq!(llm.requests().len(), 2, "the refused run never reached the model");
    let totals = services.store.usage_totals(org.id, Metric::AiTokens, since).await.expect("usage");
    assert_eq!((totals.count, totals.sum), (3, 18));
    // The business dashboard: the month's tokens and their cost, 2.25¢ twice rounded once (5¢).
    let business: app::api::billing::BusinessView = sam.call_json("admin_business", json!({})).await.expect("business");
    let month = business.figures.months.last().expect("this month");
    assert_eq!((month.ai_tokens, month.ai_cost), (18, 5));
}
