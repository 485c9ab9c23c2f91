//! Activity feeds: per organization and per prompt, readable by every member, without the
//! private prompts a reader may not see, paged newest first.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp};
use app::dto::ActivityPage;
use serde_json::json;
use uuid::Uuid;

async fn feed(client: &Client, prompt: Option<Uuid>, before: Option<Uuid>) -> ActivityPage {
    client.call_json("activity", json!({ "prompt_id": prompt, "before": before })).await.expect("activity")
}

fn lines(page: &ActivityPage) -> Vec<String> {
    page.items.iter().map(|i| format!("{} {}", i.actor_name, i.summary)).collect()
}

#[tokio::test]
async fn members_follow_what_happens_to_the_prompts_they_may_see() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith Editor", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor Viewer", "victor@example.com", "viewer").await;

    let welcome = editor.create_prompt("Welcome", "Hello {{name}}.").await.expect("create");
    editor.update_prompt(welcome, 1, "Welcome", "Hello {{name}}, welcome.").await.expect("v2");
    editor
        .call_json::<()>("set_prompt_label", json!({ "id": welcome, "label": "staging", "version": 2 }))
        .await
        .expect("label");
    owner
        .call_json::<serde_json::Value>(
            "add_comment",
            json!({ "prompt_id": welcome, "parent_id": null, "body": "Nice." }),
        )
        .await
        .expect("comment");
    let private = json!({ "title": "Secret plan", "body": "Hush.", "visibility": "private" });
    let secret: Uuid = editor.call_json("create_prompt", json!({ "input": private })).await.expect("private");

    let seen = lines(&feed(&viewer, None, None).await);
    assert_eq!(
        seen,
        [
            "Olivia Owner commented on “Welcome”",
            "Edith Editor pointed staging at version 2 of “Welcome”",
            "Edith Editor saved version 2 of “Welcome”",
            "Edith Editor created “Welcome”",
        ],
        "newest first, no private prompt of someone else"
    );
    assert!(lines(&feed(&owner, None, None).await).contains(&"Edith Editor created “Secret plan”".to_owned()));
    let own = feed(&editor, Some(secret), None).await;
    assert_eq!(lines(&own), ["Edith Editor created “Secret plan”"]);
    assert_eq!(own.items[0].link.as_deref(), Some(format!("/prompts/{secret}").as_str()));
    let hidden = viewer.call_json::<ActivityPage>("activity", json!({ "prompt_id": secret, "before": null })).await;
    assert_eq!(hidden.unwrap_err().status, 404);
    assert_eq!(feed(&viewer, Some(welcome), None).await.items.len(), 4, "one prompt's feed");

    // A deleted prompt stays in the feed, without a link; a deleted private one stays hidden.
    editor.delete_prompt(welcome).await.expect("delete");
    editor.delete_prompt(secret).await.expect("delete");
    let after = feed(&viewer, None, None).await;
    assert_eq!(lines(&after)[0], "Edith Editor deleted “Welcome”");
    assert_eq!(after.items[0].link, None);
    assert!(!lines(&after).iter().any(|l| l.contains("Secret plan")));

    // Pages of 30, newest first, until the beginning.
    for n in 0..30 {
        owner.create_prompt(&format!("Prompt {n}"), "Body").await.expect("create");
    }
    let first = feed(&viewer, None, None).await;
    assert_eq!(first.items.len(), 30);
    assert_eq!(first.items[0].summary, "created “Prompt 29”");
    let second = feed(&viewer, None, first.next).await;
    assert_eq!(lines(&second)[0], "Edith Editor deleted “Welcome”");
    assert_eq!(second.items.len(), 5);
    assert_eq!(second.next, None);
}
