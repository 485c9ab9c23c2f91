//! Recent and saved searches: remembered per member, shareable with the organization, scoped to it.

use crate::orgs::{create_org, join};
use crate::support::{TestApp, field_of};
use app::dto::SearchView;
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn searches_are_remembered_saved_and_shared() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;
    editor.create_prompt("Welcome email", "Hello {{name}}").await.expect("prompt");

    // Each search in the list is remembered, the newest first, once each; paging is not a search.
    for q in ["welcome", "promt", "welcome"] {
        app.clock.advance(Duration::seconds(1));
        let _: app::dto::PromptPage =
            editor.call_json("prompts", json!({ "params": { "q": q, "status": "draft" } })).await.expect("search");
    }
    let _: app::dto::PromptPage = editor.call_json("prompts", json!({ "params": {} })).await.expect("all");
    let recent: Vec<SearchView> = editor.call("recent_searches", &[]).await.expect("recent");
    let queries: Vec<&str> = recent.iter().map(|s| s.query.as_str()).collect();
    assert_eq!(queries, ["q=welcome&status=draft", "q=promt&status=draft"]);
    assert_eq!(recent[0].description, "“welcome” · status: draft");
    let others: Vec<SearchView> = viewer.call("recent_searches", &[]).await.expect("recent");
    assert!(others.is_empty(), "recent searches are each member's own");
    // Only the last ten are kept.
    for i in 0..12 {
        app.clock.advance(Duration::seconds(1));
        let _: app::dto::PromptPage =
            editor.call_json("prompts", json!({ "params": { "q": format!("word{i}") } })).await.expect("search");
    }
    let recent: Vec<SearchView> = editor.call("recent_searches", &[]).await.expect("recent");
    assert_eq!(recent.len(), 10);
    assert_eq!(recent[0].query, "q=word11");

    // Saved: private or shared; names are checked and unique per member.
    let save = |name: &'static str, query: &'static str, shared: bool| {
        editor.call_json::<SearchView>("save_search", json!({ "name": name, "query": query, "shared": shared }))
    };
    let mine = save("My drafts", "status=draft&sort=updated", false).await.expect("save");
    assert_eq!(mine.description, "status: draft · recently updated first");
    let team = save("Onboarding", "q=onboarding&tags=email", true).await.expect("save shared");
    assert_eq!(field_of(&save("My drafts", "q=x", false).await.unwrap_err()), "name");
    assert_eq!(field_of(&save(" ", "q=x", false).await.unwrap_err()), "name");
    assert_eq!(field_of(&save("Nothing", "unknown=1", false).await.unwrap_err()), "query");

    let seen: Vec<SearchView> = viewer.call("saved_searches", &[]).await.expect("saved");
    let names: Vec<&str> = seen.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Onboarding"], "the viewer sees only the shared one");
    assert!(!seen[0].can_delete && !seen[0].mine);
    // A shared search is a link anyone in the organization can open: its filters, read back
    // from the link, find the same prompts (the end-to-end test opens the page itself).
    let params = app::api::searches::parse_query(&seen[0].query);
    assert_eq!((params.q.as_str(), params.tags.as_str()), ("onboarding", "email"));

    // Deleting: one's own; Owners and Admins also shared ones; nobody another's private one.
    let refused = viewer.call_json::<()>("delete_saved_search", json!({ "id": team.id })).await.unwrap_err();
    assert_eq!(refused.status, 403);
    let hidden = owner.call_json::<()>("delete_saved_search", json!({ "id": mine.id })).await.unwrap_err();
    assert_eq!(hidden.status, 404);
    owner.call_json::<()>("delete_saved_search", json!({ "id": team.id })).await.expect("admin removes shared");
    editor.call_json::<()>("delete_saved_search", json!({ "id": mine.id })).await.expect("own");
    let left: Vec<SearchView> = editor.call("saved_searches", &[]).await.expect("saved");
    assert!(left.is_empty());

    // Another organization sees none of it.
    let stranger = app.signed_up("Sam", "sam@example.com").await;
    let theirs: Vec<SearchView> = stranger.call("saved_searches", &[]).await.expect("saved");
    assert!(theirs.is_empty());
}
