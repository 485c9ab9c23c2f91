//! Organizing the library: nested collections, bulk changes (all or nothing), favorites,
//! duplicates, tags and custom categories; through server functions and the REST API.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp, field_of};
use app::dto::{BulkOutcome, CategoryView, CollectionView, PromptDetail, PromptPage, TagCount};
use serde_json::{Value, json};
use uuid::Uuid;

async fn collection(client: &Client, name: &str, parent: Option<Uuid>) -> CollectionView {
    client.call_json("create_collection", json!({ "name": name, "parent_id": parent })).await.expect("collection")
}

async fn list(client: &Client, params: Value) -> PromptPage {
    client.call_json("prompts", json!({ "params": params })).await.expect("list")
}

async fn bulk(
    client: &Client,
    ids: &[Uuid],
    action: &str,
    value: &str,
) -> Result<BulkOutcome, crate::support::Failure> {
    client.call_json("bulk_prompts", json!({ "ids": ids, "action": action, "value": value })).await
}

#[tokio::test]
async fn collections_nest_and_prompts_move_between_them() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;

    let clients = collection(&owner, "Clients", None).await;
    let onboarding = collection(&owner, "Onboarding", Some(clients.id)).await;
    assert_eq!((onboarding.path.as_str(), onboarding.depth), ("Clients / Onboarding", 1));
    let blank = owner.call_json::<CollectionView>("create_collection", json!({ "name": " " })).await.unwrap_err();
    assert_eq!(field_of(&blank), "name");
    let cycle = owner
        .call_json::<()>(
            "update_collection",
            json!({ "id": clients.id, "name": "Clients", "parent_id": onboarding.id }),
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&cycle), "parent_id");
    let refused = viewer.call_json::<CollectionView>("create_collection", json!({ "name": "Mine" })).await.unwrap_err();
    assert_eq!(refused.status, 403);

    let a = owner.create_prompt("Welcome call", "Greet {{name}}.").await.expect("a");
    let b = owner.create_prompt("First week", "Plan the first week.").await.expect("b");
    let c = owner.create_prompt("Unrelated", "Something else.").await.expect("c");
    assert_eq!(bulk(&owner, &[a, b], "move", &onboarding.id.to_string()).await.expect("move").changed, 2);
    let inside = list(&owner, json!({ "collection": onboarding.id })).await;
    let mut titles: Vec<&str> = inside.items.iter().map(|p| p.title.as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["First week", "Welcome call"]);
    assert!(inside.items.iter().all(|p| p.collection_id == Some(onboarding.id)));

    // A collection with something inside is not deleted; an empty one is.
    let busy = owner.call_json::<()>("delete_collection", json!({ "id": onboarding.id })).await.unwrap_err();
    assert_eq!(busy.status, 409);
    bulk(&owner, &[a, b], "move", "").await.expect("out of any collection");
    owner.call_json::<()>("delete_collection", json!({ "id": onboarding.id })).await.expect("delete");
    let left: Vec<CollectionView> = owner.call_json("collections", json!({})).await.expect("collections");
    assert_eq!(left.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Clients"]);

    // A collection of another organization is not a place to move to.
    let other = app.signed_up("Mallory", "mallory@example.com").await;
    let theirs = collection(&other, "Theirs", None).await;
    let foreign = bulk(&owner, &[c], "move", &theirs.id.to_string()).await.unwrap_err();
    assert_eq!(field_of(&foreign), "value");
}

#[tokio::test]
async fn bulk_changes_are_all_or_nothing_and_respect_ownership() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let mine = editor.create_prompt("Mine", "Text.").await.expect("mine");
    let also_mine = editor.create_prompt("Also mine", "Text.").await.expect("also");
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let theirs = owner.create_prompt("The owner's", "Text.").await.expect("theirs");

    let refused = bulk(&editor, &[mine, theirs], "tag", "urgent").await.unwrap_err();
    assert_eq!(field_of(&refused), "ids");
    let detail: PromptDetail = editor.call_json("prompt", json!({ "id": mine })).await.expect("detail");
    assert!(detail.fields.tags.is_empty(), "nothing changed");

    assert_eq!(bulk(&editor, &[mine, also_mine], "tag", "urgent").await.expect("tag").changed, 2);
    assert_eq!(bulk(&editor, &[mine, also_mine], "tag", "urgent").await.expect("again").changed, 0);
    let tagged = list(&editor, json!({ "tags": "urgent" })).await;
    assert_eq!(tagged.items.len(), 2);
    let found = list(&editor, json!({ "q": "urgent" })).await;
    assert_eq!(found.items.len(), 2, "new tags are searchable");
    assert_eq!(bulk(&editor, &[mine], "untag", "urgent").await.expect("untag").changed, 1);
    let tags: Vec<TagCount> = editor.call_json("prompt_tags", json!({})).await.expect("tags");
    assert_eq!(tags, [TagCount { tag: "urgent".into(), prompts: 1 }]);
    let two = bulk(&editor, &[mine], "tag", "a, b").await.unwrap_err();
    assert_eq!(field_of(&two), "value");

    assert_eq!(bulk(&owner, &[mine, theirs], "archive", "").await.expect("archive").changed, 2);
    let archived = list(&owner, json!({ "status": "archived" })).await;
    assert_eq!(archived.items.len(), 2);
    let versions: Vec<app::dto::VersionView> =
        owner.call_json("prompt_versions", json!({ "id": mine })).await.expect("versions");
    assert_eq!(versions.len(), 1, "tags and status are not versioned content");
    let empty = bulk(&owner, &[], "archive", "").await.unwrap_err();
    assert_eq!(field_of(&empty), "ids");
}

#[tokio::test]
async fn favorites_duplicates_and_categories() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let folder = collection(&owner, "Sales", None).await;
    let pitch = owner.create_prompt("Pitch", "Pitch {{product}}.").await.expect("pitch");
    let other = owner.create_prompt("Other", "Text.").await.expect("other");
    bulk(&owner, &[pitch], "move", &folder.id.to_string()).await.expect("move");

    // Viewers favorite; the list marks and filters by it; popularity counts it.
    viewer.call_json::<()>("set_favorite", json!({ "id": pitch, "on": true })).await.expect("favorite");
    viewer.call_json::<()>("set_favorite", json!({ "id": pitch, "on": true })).await.expect("twice is fine");
    let favorites = list(&viewer, json!({ "favorites": true })).await;
    assert_eq!(
        favorites.items.iter().map(|p| (p.id, p.favorite, p.favorite_count)).collect::<Vec<_>>(),
        [(pitch, true, 1)]
    );
    let popular = list(&owner, json!({ "sort": "popularity" })).await;
    assert_eq!(popular.items.first().map(|p| (p.id, p.favorite)), Some((pitch, false)), "marked for the caller only");
    let detail: PromptDetail = viewer.call_json("prompt", json!({ "id": pitch })).await.expect("detail");
    assert!(detail.favorite);
    let theirs: PromptDetail = owner.call_json("prompt", json!({ "id": pitch })).await.expect("detail");
    assert!(!theirs.favorite, "the detail marks it for the caller only");
    viewer.call_json::<()>("set_favorite", json!({ "id": pitch, "on": false })).await.expect("unfavorite");
    assert!(list(&viewer, json!({ "favorites": true })).await.items.is_empty());
    let detail: PromptDetail = viewer.call_json("prompt", json!({ "id": pitch })).await.expect("detail");
    assert!(!detail.favorite);
    let _ = other;

    // Duplicates: a new draft by the caller, version 1, same collection, no labels.
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": pitch, "label": "production", "version": 1 }))
        .await
        .expect("label");
    let copy: Uuid = editor.call_json("duplicate_prompt", json!({ "id": pitch })).await.expect("duplicate");
    let copied: PromptDetail = editor.call_json("prompt", json!({ "id": copy })).await.expect("copy");
    assert_eq!(copied.fields.title, "Copy of Pitch");
    assert_eq!((copied.version, copied.labels.len(), copied.collection_id), (1, 0, Some(folder.id)));
    assert_eq!(copied.author_name, "Edith");
    assert!(copied.can_edit, "the copy is the editor's own");
    let refused = viewer.call_json::<Uuid>("duplicate_prompt", json!({ "id": pitch })).await.unwrap_err();
    assert_eq!(refused.status, 403);

    // Categories: predefined plus the organization's own; only Owners and Admins add them.
    owner
        .call_json::<()>("save_category", json!({ "name": "Coaching", "color": "#0E7490", "icon": "🧭" }))
        .await
        .expect("category");
    let bad =
        owner.call_json::<()>("save_category", json!({ "name": "X", "color": "teal", "icon": "" })).await.unwrap_err();
    assert_eq!(field_of(&bad), "color");
    let predefined = owner
        .call_json::<()>("save_category", json!({ "name": "sales", "color": "#000000", "icon": "" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&predefined), "name");
    let denied = editor
        .call_json::<()>("save_category", json!({ "name": "Mine", "color": "#000000", "icon": "" }))
        .await
        .unwrap_err();
    assert_eq!(denied.status, 403);
    let all: Vec<CategoryView> = viewer.call_json("categories", json!({})).await.expect("categories");
    let names: Vec<(&str, bool)> = all.iter().map(|c| (c.name.as_str(), c.custom)).collect();
    assert_eq!(
        names,
        [("Marketing", false), ("Engineering", false), ("Sales", false), ("Support", false), ("Coaching", true)]
    );
    assert_eq!(all[4].color, "#0e7490");
    owner.call_json::<()>("delete_category", json!({ "name": "Coaching" })).await.expect("delete category");
    let gone = owner.call_json::<()>("delete_category", json!({ "name": "Coaching" })).await.unwrap_err();
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn the_rest_api_serves_collections_tags_and_categories() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let key: app::dto::NewApiKey = owner
        .call("create_api_key", &[("name", "CI"), ("scope", "write"), ("expires_in_days", "0")])
        .await
        .expect("key");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}/api/v1{path}", app.address);

    let created = http
        .post(url("/collections"))
        .bearer_auth(&key.secret)
        .json(&json!({ "name": "Support" }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let created: CollectionView = created.json().await.expect("json");
    let child = http
        .post(url("/collections"))
        .bearer_auth(&key.secret)
        .json(&json!({ "name": "Refunds", "parent_id": created.id }))
        .send()
        .await
        .expect("post");
    let child: CollectionView = child.json().await.expect("json");
    assert_eq!(child.path, "Support / Refunds");

    let id = owner.create_prompt("Refund reply", "Reply about a refund.").await.expect("prompt");
    bulk(&owner, &[id], "move", &child.id.to_string()).await.expect("move");
    bulk(&owner, &[id], "tag", "refunds").await.expect("tag");
    let page: Value = http
        .get(url(&format!("/prompts?collection={}", child.id)))
        .bearer_auth(&key.secret)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));

    let renamed = http
        .patch(url(&format!("/collections/{}", child.id)))
        .bearer_auth(&key.secret)
        .json(&json!({ "name": "Refunds & returns", "parent_id": created.id }))
        .send()
        .await
        .expect("patch");
    assert_eq!(renamed.status(), 204);
    let busy =
        http.delete(url(&format!("/collections/{}", child.id))).bearer_auth(&key.secret).send().await.expect("delete");
    assert_eq!(busy.status(), 409);
    let body: Value = busy.json().await.expect("json");
    assert_eq!(body["code"], "conflict");

    let tags: Value =
        http.get(url("/tags")).bearer_auth(&key.secret).send().await.expect("tags").json().await.expect("json");
    assert_eq!(tags, json!([{ "tag": "refunds", "prompts": 1 }]));
    let categories: Value =
        http.get(url("/categories")).bearer_auth(&key.secret).send().await.expect("get").json().await.expect("json");
    assert_eq!(categories.as_array().map(Vec::len), Some(4));
    let collections: Value =
        http.get(url("/collections")).bearer_auth(&key.secret).send().await.expect("get").json().await.expect("json");
    let paths: Vec<&str> = collections.as_array().expect("list").iter().filter_map(|c| c["path"].as_str()).collect();
    assert_eq!(paths, ["Support", "Support / Refunds & returns"]);
}

#[tokio::test]
async fn owners_export_the_library_as_json_and_csv() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let folder = collection(&owner, "Sales", None).await;
    let id = owner.create_prompt("Pitch, short", "Pitch {{product}}.").await.expect("create");
    owner.update_prompt(id, 1, "Pitch, short", "Pitch {{product}} in one line.").await.expect("v2");
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": id, "label": "production", "version": 1 }))
        .await
        .expect("label");
    bulk(&owner, &[id], "move", &folder.id.to_string()).await.expect("move");
    owner.create_prompt("=HYPERLINK(\"x\")", "Formula title.").await.expect("formula");

    let answer = owner.get(&format!("/orgs/{}/prompts.json", org.id)).await;
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-disposition"].to_str().unwrap().contains("prompts.json"));
    let export: Value = answer.json().await.expect("json");
    assert_eq!(export["format"], "cairn.prompts/1");
    assert_eq!(export["collections"][0]["name"], "Sales");
    let pitch = export["prompts"].as_array().unwrap().iter().find(|p| p["id"] == json!(id)).expect("pitch");
    assert_eq!(pitch["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(pitch["versions"][0]["content"], "Pitch {{product}}.", "oldest version first, as it was");
    assert_eq!(pitch["labels"], json!([{ "label": "production", "version": 1 }]));
    assert_eq!(pitch["collection_id"], json!(folder.id));
    assert_eq!(pitch["variables"][0]["name"], "product");

    let csv = owner.get(&format!("/orgs/{}/prompts.csv", org.id)).await.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,title,description,status,visibility,category,tags,collection,version,author,updated_at,content")
    );
    assert!(csv.contains("\"Pitch, short\""), "a comma is quoted: {csv}");
    assert!(csv.contains(",Sales,2,Olivia,"), "collection path, version and author: {csv}");
    assert!(csv.contains("'=HYPERLINK"), "formulas are defused: {csv}");

    // Editors may not export; other organizations' members get nothing.
    assert_eq!(editor.get(&format!("/orgs/{}/prompts.json", org.id)).await.status(), 403);
    let stranger = app.signed_up("Mallory", "mallory@example.com").await;
    assert_eq!(stranger.get(&format!("/orgs/{}/prompts.csv", org.id)).await.status(), 404);
    assert_eq!(app.client().get(&format!("/orgs/{}/prompts.csv", org.id)).await.status(), 401);

    // The REST API exports too.
    let key: app::dto::NewApiKey = owner
        .call("create_api_key", &[("name", "Backup"), ("scope", "write"), ("expires_in_days", "0")])
        .await
        .expect("key");
    let http = reqwest::Client::new();
    let rest: Value = http
        .get(format!("{}/api/v1/export", app.address))
        .bearer_auth(&key.secret)
        .send()
        .await
        .expect("export")
        .json()
        .await
        .expect("json");
    assert_eq!(rest["prompts"].as_array().map(Vec::len), Some(2));
    let bad =
        http.get(format!("{}/api/v1/export?format=xml", app.address)).bearer_auth(&key.secret).send().await.expect("x");
    assert_eq!(bad.status(), 422);
    let log: Vec<app::dto::AuditEntryView> =
        owner.call("audit_log", &[("org_id", &org.id.to_string())]).await.expect("audit");
    assert!(log.iter().any(|e| e.action == "prompts.exported"));
}
