//! Exports of a selection, comments in the JSON export, and the Markdown export: a ZIP read back
//! by an independent reader (Python's zipfile) with one front-matter file per prompt.

use crate::orgs::create_org;
use crate::support::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

/// Reads a ZIP with Python's `zipfile` (checking every CRC): file name → text.
fn unzip(bytes: &[u8]) -> serde_json::Map<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    std::fs::write(&path, bytes).unwrap();
    let script = "import json, sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None, 'a CRC does not match'\n\
                  print(json.dumps({n: z.read(n).decode('utf-8') for n in z.namelist()}))";
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().expect("python3 runs");
    assert!(out.status.success(), "zipfile refused the archive: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_object().unwrap().clone()
}

#[tokio::test]
async fn owners_export_a_selection_as_json_csv_and_markdown() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let sales: app::dto::CollectionView =
        owner.call_json("create_collection", json!({ "name": "Sales", "parent_id": null })).await.expect("collection");
    let input = json!({ "title": "Welcome call", "body": "Greet {{name}}.", "tags": "onboarding, calls", "status": "published" });
    let welcome: Uuid = owner.call_json("create_prompt", json!({ "input": input })).await.expect("create");
    owner
        .call_json::<Value>(
            "bulk_prompts",
            json!({ "ids": [welcome], "action": "move", "value": sales.id.to_string() }),
        )
        .await
        .expect("move");
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": welcome, "label": "production", "version": 1 }))
        .await
        .expect("label");
    owner
        .call_json::<Value>(
            "add_comment",
            json!({ "prompt_id": welcome, "parent_id": null, "body": "Ask about goals." }),
        )
        .await
        .expect("comment");
    let refund = owner.create_prompt("Refund policy: short/long?", "Explain refunds.").await.expect("create");
    owner.create_prompt("Not exported", "Left out.").await.expect("create");
    let ids = format!("{welcome},{refund}");

    let export: Value =
        owner.get(&format!("/orgs/{}/prompts.json?ids={ids}", org.id)).await.json().await.expect("json");
    let prompts = export["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 2, "only the selection");
    let first = prompts.iter().find(|p| p["id"] == json!(welcome)).unwrap();
    assert_eq!(first["comments"][0]["body"], "Ask about goals.");
    assert_eq!(first["comments"][0]["author"], "Olivia");

    let csv = owner.get(&format!("/orgs/{}/prompts.csv?ids={ids}", org.id)).await.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 3, "header and two rows: {csv}");
    assert!(!csv.contains("Not exported"));

    let answer = owner.get(&format!("/orgs/{}/prompts.zip?ids={ids}", org.id)).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/zip");
    assert!(answer.headers()["content-disposition"].to_str().unwrap().contains("prompts.zip"));
    let files = unzip(&answer.bytes().await.unwrap());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let welcome_md = files["Sales/welcome-call.md"].as_str().unwrap();
    assert!(welcome_md.starts_with(&format!("---\nid: \"{welcome}\"\ntitle: \"Welcome call\"\n")), "{welcome_md}");
    for line in [
        "status: \"published\"",
        "tags: [\"onboarding\",\"calls\"]",
        "collection: \"Sales\"",
        "labels: {\"production\":1}",
    ] {
        assert!(welcome_md.contains(&format!("\n{line}\n")), "{line} in {welcome_md}");
    }
    assert!(welcome_md.ends_with("---\n\nGreet {{name}}.\n"), "{welcome_md}");
    assert!(files.contains_key("refund-policy-short-long.md"), "{names:?}");

    // Everything when nothing is selected; a wrong selection exports nothing and says why.
    let all = unzip(&owner.get(&format!("/orgs/{}/prompts.zip", org.id)).await.bytes().await.unwrap());
    assert_eq!(all.len(), 3);
    let gone = owner.get(&format!("/orgs/{}/prompts.zip?ids={welcome},{}", org.id, Uuid::now_v7())).await;
    assert_eq!(gone.status(), 422);
    let error: app::error::AppError = gone.json().await.unwrap();
    assert!(matches!(&error, app::error::AppError::Validation { field, .. } if field == "ids"), "{error:?}");
    let bad = owner.get(&format!("/orgs/{}/prompts.csv?ids=nope", org.id)).await;
    assert_eq!(bad.status(), 422);

    // The REST API exports Markdown too.
    let key: app::dto::NewApiKey = owner
        .call("create_api_key", &[("name", "Backup"), ("scope", "write"), ("expires_in_days", "0")])
        .await
        .expect("key");
    let rest = reqwest::Client::new()
        .get(format!("{}/api/v1/export?format=markdown&ids={refund}", app.address))
        .bearer_auth(&key.secret)
        .send()
        .await
        .expect("export");
    assert_eq!(rest.status(), 200);
    let files = unzip(&rest.bytes().await.unwrap());
    assert_eq!(files.keys().collect::<Vec<_>>(), ["refund-policy-short-long.md"]);
}
