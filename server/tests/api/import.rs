//! Importing prompts: a JSON export imported into an empty organization reproduces it; CSV rows
//! become prompts; a file with problems lists every one of them and writes nothing.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp, field_of};
use app::dto::{CollectionView, ImportOutcome, ImportPreview, OrgSummary};
use serde_json::{Value, json};
use uuid::Uuid;

async fn preview(client: &Client, format: &str, text: &str) -> ImportPreview {
    client.call_json("preview_import", json!({ "format": format, "text": text })).await.expect("preview")
}

async fn export(client: &Client, org: &OrgSummary) -> Value {
    client.get(&format!("/orgs/{}/prompts.json", org.id)).await.json().await.expect("export")
}

/// What must survive an export and import: everything but ids, authors and the time of the import.
fn essence(export: &Value) -> Value {
    let paths: std::collections::HashMap<String, String> = {
        let folders = export["collections"].as_array().unwrap();
        let name = |id: &Value| folders.iter().find(|c| &c["id"] == id).cloned();
        folders
            .iter()
            .map(|c| {
                let mut path = vec![c["name"].as_str().unwrap().to_owned()];
                let mut at = c.clone();
                while let Some(parent) = name(&at["parent_id"]) {
                    path.insert(0, parent["name"].as_str().unwrap().to_owned());
                    at = parent;
                }
                (c["id"].to_string(), path.join(" / "))
            })
            .collect()
    };
    let mut prompts: Vec<Value> = export["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!({
                "title": p["title"], "description": p["description"], "content": p["content"],
                "status": p["status"], "visibility": p["visibility"], "category": p["category"],
                "tags": p["tags"], "variables": p["variables"], "model": p["model"], "version": p["version"],
                "labels": p["labels"], "created_at": p["created_at"], "updated_at": p["updated_at"],
                "collection": paths.get(&p["collection_id"].to_string()),
                "versions": p["versions"].as_array().unwrap().iter().map(|v| json!({
                    "number": v["number"], "title": v["title"], "content": v["content"],
                    "variables": v["variables"], "change_note": v["change_note"], "created_at": v["created_at"],
                })).collect::<Vec<_>>(),
                "comments": comment_essence(p),
            })
        })
        .collect();
    prompts.sort_by_key(|p| p["title"].to_string());
    let mut collections: Vec<&String> = paths.values().collect();
    collections.sort();
    json!({ "prompts": prompts, "collections": collections, "categories": export["categories"] })
}

/// A prompt's comments without ids: who, what, when, deleted or not, and which one a reply answers.
fn comment_essence(prompt: &Value) -> Vec<Value> {
    let comments = prompt["comments"].as_array().unwrap();
    comments
        .iter()
        .map(|c| {
            json!({
                "author": c["author"], "body": c["body"], "created_at": c["created_at"],
                "edited_at": c["edited_at"], "deleted": !c["deleted_at"].is_null(),
                "reply_to": comments.iter().position(|o| o["id"] == c["parent_id"]),
            })
        })
        .collect()
}

#[tokio::test]
async fn a_json_export_imported_into_an_empty_organization_reproduces_it() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let acme = create_org(&owner, "Acme").await;
    let sales: CollectionView =
        owner.call_json("create_collection", json!({ "name": "Sales" })).await.expect("collection");
    let scripts: CollectionView = owner
        .call_json("create_collection", json!({ "name": "Scripts", "parent_id": sales.id }))
        .await
        .expect("nested");
    owner
        .call_json::<()>("save_category", json!({ "name": "Legal", "color": "#123456", "icon": "⚖" }))
        .await
        .expect("category");
    let pitch: Uuid = owner
        .call_json(
            "create_prompt",
            json!({ "input": {
                "title": "Pitch", "body": "Pitch {{product}} to {{who}}.", "tags": "sales, short",
                "category": "Legal", "status": "published",
                "variables": [{ "name": "who", "kind": "select", "options": ["a CEO", "a CTO"], "required": true }],
                "model": { "model": "gpt-4o", "temperature": 0.3, "max_tokens": 200 },
            } }),
        )
        .await
        .expect("create");
    owner.update_prompt(pitch, 1, "Pitch", "Pitch {{product}} to {{who}}, briefly.").await.expect("v2");
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": pitch, "label": "production", "version": 1 }))
        .await
        .expect("label");
    owner
        .call_json::<Value>("bulk_prompts", json!({ "ids": [pitch], "action": "move", "value": scripts.id }))
        .await
        .expect("move");
    owner.create_prompt("Plain", "No variables here.").await.expect("plain");
    let editor = crate::orgs::join(&app, &owner, acme.id, "Edith", "edith@example.com", "editor").await;
    let question: app::dto::CommentView = editor
        .call_json("add_comment", json!({ "prompt_id": pitch, "parent_id": null, "body": "Which **product**?" }))
        .await
        .expect("comment");
    let _: app::dto::CommentView = owner
        .call_json("add_comment", json!({ "prompt_id": pitch, "parent_id": question.id, "body": "Any of them." }))
        .await
        .expect("reply");
    let gone: app::dto::CommentView = owner
        .call_json("add_comment", json!({ "prompt_id": pitch, "parent_id": null, "body": "Never mind." }))
        .await
        .expect("comment");
    owner.call_json::<()>("delete_comment", json!({ "id": gone.id })).await.expect("delete");
    let original = export(&owner, &acme).await;
    assert_eq!(
        original["prompts"].as_array().unwrap().iter().map(|p| p["comments"].as_array().unwrap().len()).sum::<usize>(),
        3
    );

    let copy = create_org(&owner, "Acme copy").await;
    let text = original.to_string();
    let plan = preview(&owner, "json", &text).await;
    assert!(plan.is_clean(), "{plan:?}");
    assert_eq!((plan.prompts, plan.versions), (2, 3));
    assert_eq!(plan.new_collections, ["Sales", "Sales / Scripts"]);
    assert_eq!(plan.new_categories, ["Legal"]);
    assert!(export(&owner, &copy).await["prompts"].as_array().unwrap().is_empty(), "a preview writes nothing");

    let done: ImportOutcome =
        owner.call_json("import_prompts", json!({ "format": "json", "text": text })).await.expect("import");
    assert_eq!((done.prompts, done.versions, done.collections, done.categories), (2, 3, 2, 1));
    let imported = export(&owner, &copy).await;
    assert_eq!(essence(&imported), essence(&original));

    // The imported prompt works like any other: its label resolves, search finds it.
    let page: app::dto::PromptPage =
        owner.call_json("prompts", json!({ "params": { "q": "briefly" } })).await.expect("search");
    assert_eq!(page.items.len(), 1);
    let detail: app::dto::PromptDetail =
        owner.call_json("prompt", json!({ "id": page.items[0].id })).await.expect("detail");
    assert_eq!(detail.labels.iter().map(|l| (l.label.as_str(), l.version)).collect::<Vec<_>>(), [("production", 1)]);

    // Importing again reuses the collections and categories it already has.
    let again = preview(&owner, "json", &text).await;
    assert!(again.new_collections.is_empty() && again.new_categories.is_empty(), "{again:?}");
    let log: Vec<app::dto::AuditEntryView> =
        owner.call("audit_log", &[("org_id", &copy.id.to_string())]).await.expect("audit");
    assert!(log.iter().any(|e| e.action == "prompts.imported"));
}

#[tokio::test]
async fn a_file_with_problems_lists_every_one_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;

    let file = json!({
        "format": "cairn.prompts/1",
        "prompts": [
            { "title": "Good one", "content": "Fine." },
            { "title": " ", "content": "No title", "status": "live" },
            { "title": "Bad label", "content": "Text.", "labels": [{ "label": "production", "version": 9 }],
              "versions": [{ "number": 1, "title": "Bad label", "content": "Text." }] },
            { "title": "Not an object's shape", "tags": "oops" },
        ],
    })
    .to_string();
    let plan = preview(&owner, "json", &file).await;
    let problems: Vec<(&str, &str, usize)> =
        plan.rows.iter().map(|r| (r.place.as_str(), r.title.as_str(), r.problems.len())).collect();
    assert_eq!(problems, [("prompt 2", "", 2), ("prompt 3", "Bad label", 1), ("prompt 4", "Not an object's shape", 1)]);
    assert!(plan.rows[0].problems[0].starts_with("title:"), "{:?}", plan.rows[0]);
    assert!(plan.rows[1].problems[0].contains("no version 9"), "{:?}", plan.rows[1]);
    assert_eq!(plan.prompts, 1, "the good prompt is counted");

    let refused = owner.call_json::<ImportOutcome>("import_prompts", json!({ "format": "json", "text": file })).await;
    let refused = refused.unwrap_err();
    assert_eq!((refused.status, field_of(&refused)), (422, "file"));
    assert!(owner.prompts().await.expect("list").is_empty(), "all or nothing: not even the good prompt");

    for broken in ["", "{ not json", r#"{"format": "other/2", "prompts": []}"#] {
        let plan = preview(&owner, "json", broken).await;
        assert_eq!(plan.file_problems.len(), 1, "{broken:?}: {plan:?}");
    }

    // CSV: the export's columns; only title and content are required.
    let csv = "title,content,status,tags,collection\n\
               Welcome,\"Hello {{name}}, welcome.\",published,\"onboarding, email\",Clients / Onboarding\n\
               Broken,,live,,\n\
               Follow-up,Checking in.,,,Clients\n";
    let plan = preview(&owner, "csv", csv).await;
    assert_eq!(plan.rows.len(), 1);
    assert_eq!((plan.rows[0].place.as_str(), plan.rows[0].problems.len()), ("line 3", 2), "{plan:?}");
    let fixed = csv.replace("Broken,,live", "Fixed,Now with text.,draft");
    let plan = preview(&owner, "csv", &fixed).await;
    assert!(plan.is_clean(), "{plan:?}");
    assert_eq!(plan.new_collections, ["Clients", "Clients / Onboarding"]);
    let done: ImportOutcome =
        owner.call_json("import_prompts", json!({ "format": "csv", "text": fixed })).await.expect("import");
    assert_eq!((done.prompts, done.collections), (3, 2));
    let welcome = owner.prompts().await.expect("list").into_iter().find(|p| p.title == "Welcome").expect("welcome");
    assert_eq!(welcome.tags, ["onboarding", "email"]);
    let missing_column = preview(&owner, "csv", "name,text\nA,B\n").await;
    assert!(missing_column.file_problems[0].contains("title"), "{missing_column:?}");

    // Only Owners and Admins import.
    let denied = editor.call_json::<ImportPreview>("preview_import", json!({ "format": "csv", "text": fixed })).await;
    assert_eq!(denied.unwrap_err().status, 403);
}

#[tokio::test]
async fn the_rest_api_imports_with_a_dry_run_first() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    create_org(&owner, "Acme").await;
    let key: app::dto::NewApiKey = owner
        .call("create_api_key", &[("name", "Sync"), ("scope", "write"), ("expires_in_days", "0")])
        .await
        .expect("key");
    let http = reqwest::Client::new();
    let post = |query: &str, body: &str| {
        http.post(format!("{}/api/v1/import?{query}", app.address))
            .bearer_auth(&key.secret)
            .header("content-type", "text/csv")
            .body(body.to_owned())
            .send()
    };
    let csv = "title,content\nOne,First text.\nTwo,Second text.\n";
    let dry = post("format=csv&dry_run=true", csv).await.expect("dry run");
    assert_eq!(dry.status(), 200);
    let plan: ImportPreview = dry.json().await.expect("preview");
    assert_eq!(plan.prompts, 2);
    assert!(owner.prompts().await.expect("list").is_empty());

    let bad = post("format=csv", "title,content\n,\n").await.expect("bad");
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["code"], "import_invalid");
    assert_eq!(body["preview"]["rows"][0]["place"], "line 2");

    let done = post("format=csv", csv).await.expect("import");
    assert_eq!(done.status(), 201);
    assert_eq!(owner.prompts().await.expect("list").len(), 2);
    assert_eq!(post("format=xml", csv).await.expect("xml").status(), 422);
}
