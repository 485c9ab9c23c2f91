//! The Owner/Admin/Editor/Viewer matrix of the prompt library, as a table, checked through the
//! server functions every page uses and through the REST API with keys of each kind.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
enum Attempt {
    ReadPrompts,
    Render,
    Comment,
    CreatePrompt,
    EditOthersPrompt,
    DeleteOthersPrompt,
    MoveProduction,
    ManageCategories,
    ManageApiKeys,
    ManageWebhooks,
    ManageAiModel,
    Export,
    Import,
    ViewAuditLog,
}

use Attempt::*;

/// Who may: Owner, Admin, Editor, Viewer (Prompt Vault, 4.2).
const MATRIX: [(Attempt, [bool; 4]); 14] = [
    (ReadPrompts, [true, true, true, true]),
    (Render, [true, true, true, true]),
    (Comment, [true, true, true, true]),
    (CreatePrompt, [true, true, true, false]),
    (EditOthersPrompt, [true, true, false, false]),
    (DeleteOthersPrompt, [true, true, false, false]),
    (MoveProduction, [true, true, false, false]),
    (ManageCategories, [true, true, false, false]),
    (ManageApiKeys, [true, true, false, false]),
    (ManageWebhooks, [true, true, false, false]),
    (ManageAiModel, [true, true, false, false]),
    (Export, [true, true, false, false]),
    (Import, [true, true, false, false]),
    (ViewAuditLog, [true, true, false, false]),
];

/// Tries one thing as `client`; true when it was allowed (a 403 is a refusal; anything else
/// unexpected fails the test).
async fn allowed(client: &Client, attempt: Attempt, org: Uuid, others: Uuid, victim: Uuid) -> bool {
    let outcome: Result<Value, crate::support::Failure> = match attempt {
        ReadPrompts => client.call_json("prompts", json!({ "params": {} })).await,
        Render => {
            client
                .call_json("render_prompt", json!({ "id": others, "version": null, "values": { "name": "Ada" } }))
                .await
        }
        Comment => {
            client.call_json("add_comment", json!({ "prompt_id": others, "parent_id": null, "body": "Hi" })).await
        }
        CreatePrompt => client.call_json("create_prompt", json!({ "input": { "title": "Mine", "body": "B" } })).await,
        EditOthersPrompt => {
            let current: Value = client.call_json("prompt", json!({ "id": others })).await.expect("readable");
            let input = json!({ "title": "Others", "body": "Hello {{name}}, edited." });
            let args = json!({ "id": others, "base_version": current["version"], "input": input });
            client.call_json("update_prompt", args).await
        }
        DeleteOthersPrompt => client.call_json("delete_prompt", json!({ "id": victim })).await,
        MoveProduction => {
            client.call_json("set_prompt_label", json!({ "id": others, "label": "production", "version": 1 })).await
        }
        ManageCategories => {
            client.call_json("save_category", json!({ "name": "Legal", "color": "#112233", "icon": "" })).await
        }
        ManageApiKeys => client.call("api_keys", &[]).await,
        ManageWebhooks => client.call_json("webhooks", json!({})).await,
        ManageAiModel => {
            client
                .call("save_ai_model", &[("base_url", "http://127.0.0.1:9/v1"), ("model", "m"), ("api_key", "")])
                .await
        }
        Export => {
            let status = client.get(&format!("/orgs/{org}/prompts.json")).await.status().as_u16();
            assert!(status == 200 || status == 403, "export answered {status}");
            return status == 200;
        }
        Import => client.call_json("preview_import", json!({ "format": "csv", "text": "title,content\nA,B\n" })).await,
        ViewAuditLog => client.call("audit_log", &[("org_id", &org.to_string())]).await,
    };
    match outcome {
        Ok(_) => true,
        Err(failure) if failure.status == 403 => false,
        // An edit refused for lack of the right to move `production` is a validation error.
        Err(failure) if failure.status == 422 && matches!(attempt, MoveProduction) => false,
        Err(failure) => panic!("{attempt:?}: unexpected {failure:?}"),
    }
}

#[tokio::test]
async fn each_role_may_do_exactly_what_the_matrix_says_through_server_functions() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let admin = join(&app, &owner, org.id, "Adam Admin", "adam@example.com", "admin").await;
    let editor = join(&app, &owner, org.id, "Edith Editor", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor Viewer", "victor@example.com", "viewer").await;
    // A prompt by someone else for everyone: the Owner's own is checked with the Admin's.
    let by_admin = admin.create_prompt("Others", "Hello {{name}}.").await.expect("prompt");
    let by_owner = owner.create_prompt("Others", "Hello {{name}}.").await.expect("prompt");

    let roles = [("Owner", &owner), ("Admin", &admin), ("Editor", &editor), ("Viewer", &viewer)];
    let mut wrong = Vec::new();
    for (column, (role, client)) in roles.iter().enumerate() {
        let others = if *role == "Owner" { by_admin } else { by_owner };
        for (attempt, expected) in MATRIX {
            let victim = owner.create_prompt("Victim", "Delete me.").await.expect("victim");
            let victim =
                if *role == "Owner" { admin.create_prompt("Victim", "x").await.expect("victim") } else { victim };
            let got = allowed(client, attempt, org.id.0, others, victim).await;
            if got != expected[column] {
                wrong.push(format!("{role} {attempt:?}: allowed {got}, the matrix says {}", expected[column]));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn api_keys_act_with_their_creators_role_or_as_a_viewer() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let admin = join(&app, &owner, org.id, "Adam Admin", "adam@example.com", "admin").await;
    let key = |client: &Client, scope: &'static str| {
        let client = Client { http: client.http.clone(), base: client.base.clone() };
        async move {
            let key: app::dto::NewApiKey = client
                .call("create_api_key", &[("name", scope), ("scope", scope), ("expires_in_days", "0")])
                .await
                .expect("key");
            key.secret
        }
    };
    let keys = [
        ("owner write", key(&owner, "write").await),
        ("admin write", key(&admin, "write").await),
        ("read", key(&owner, "read").await),
    ];
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}/api/v1{path}", app.address);

    // (method, path builder, body, expected status per key: owner write, admin write, read)
    for (name, secret) in &keys {
        let writes = !name.starts_with("read");
        let target = owner.create_prompt("Target", "Hello {{name}}.").await.expect("prompt");
        let checks: [(reqwest::Method, String, Value, u16); 6] = [
            (reqwest::Method::GET, "/prompts".into(), Value::Null, 200),
            (
                reqwest::Method::POST,
                "/prompts".into(),
                json!({ "title": "T", "body": "B" }),
                if writes { 201 } else { 403 },
            ),
            (
                reqwest::Method::PATCH,
                format!("/prompts/{target}"),
                json!({ "body": "Changed" }),
                if writes { 200 } else { 403 },
            ),
            (
                reqwest::Method::PUT,
                format!("/prompts/{target}/labels/production"),
                json!({ "version": 1 }),
                if writes { 200 } else { 403 },
            ),
            (reqwest::Method::GET, "/export".into(), Value::Null, if writes { 200 } else { 403 }),
            (reqwest::Method::DELETE, format!("/prompts/{target}"), Value::Null, if writes { 204 } else { 403 }),
        ];
        for (method, path, body, expected) in checks {
            let mut request = http.request(method.clone(), url(&path)).bearer_auth(secret);
            if !body.is_null() {
                request = request.json(&body);
            }
            let status = request.send().await.expect("request").status().as_u16();
            assert_eq!(status, expected, "{name} key: {method} {path}");
        }
    }
}
