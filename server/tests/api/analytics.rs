//! Prompt analytics: uses over time, most used and viewed prompts, activity by member,
//! categories, the CSV download, and who may see them.

use crate::orgs::{create_org, join};
use crate::support::{TestApp, field_of};
use app::dto::AnalyticsView;
use app::ports::PromptCounter;
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn analytics_count_uses_views_and_members_per_day() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let used: uuid::Uuid = editor
        .call_json(
            "create_prompt",
            json!({ "input": { "title": "Cold email, short", "body": "Hi {{name}}", "category": "Sales" } }),
        )
        .await
        .expect("prompt");
    let viewed = editor.create_prompt("Welcome", "Hello").await.expect("prompt");
    for name in ["Ada", "Bo", "Cy"] {
        let _: app::dto::RenderOutcome = editor
            .call_json("render_prompt", json!({ "id": used, "version": null, "values": { "name": name } }))
            .await
            .expect("render");
    }
    for _ in 0..2 {
        let _: app::dto::PromptDetail = owner.call_json("prompt", json!({ "id": viewed })).await.expect("view");
    }
    let _: app::dto::CommentView = editor
        .call_json("add_comment", json!({ "prompt_id": viewed, "parent_id": null, "body": "Nice" }))
        .await
        .expect("comment");
    // Two uses two days ago, counted the way renders count them. None of it is written yet (the
    // server writes its counts once a second): the report writes them before it reads.
    let services = &app.state.services;
    for _ in 0..2 {
        services.prompt_counts.count(org.id, used, PromptCounter::Use, app.clock_now() - Duration::days(2));
    }

    let report: AnalyticsView = owner.call("analytics", &[("days", "7")]).await.expect("analytics");
    assert_eq!(report.series.len(), 7);
    let today = report.series.last().expect("today");
    assert_eq!((today.day.as_str(), today.uses, today.views), (report.to.as_str(), 3, 2));
    assert_eq!(report.series[4].uses, 2, "{:?}", report.series);
    assert_eq!(report.series.iter().map(|d| d.uses).sum::<i64>(), 5);
    assert_eq!((report.most_used[0].title.as_str(), report.most_used[0].uses), ("Cold email, short", 5));
    assert_eq!(report.most_used.len(), 1, "prompts nobody used are not ranked");
    assert_eq!((report.most_viewed[0].title.as_str(), report.most_viewed[0].views), ("Welcome", 2));
    let edith = report.members.iter().find(|m| m.name == "Edith").expect("Edith's activity");
    assert_eq!((edith.created, edith.comments), (2, 1));
    let categories: Vec<(&str, i64)> = report.categories.iter().map(|c| (c.category.as_str(), c.prompts)).collect();
    assert!(categories.contains(&("Sales", 1)) && categories.contains(&("Uncategorized", 1)), "{categories:?}");

    // The last 7 days hold them; a period the page does not offer is refused; Editors see none of it.
    assert_eq!(field_of(&owner.call::<AnalyticsView>("analytics", &[("days", "5")]).await.unwrap_err()), "days");
    assert_eq!(editor.call::<AnalyticsView>("analytics", &[("days", "30")]).await.unwrap_err().status, 403);

    let csv = owner.get(&format!("/orgs/{}/analytics.csv?days=7", org.id)).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    let text = csv.text().await.expect("csv");
    assert!(text.contains("Most used prompt,Category,Uses,Views\n\"Cold email, short\",Sales,5,0\n"), "{text}");
    assert!(text.contains(&format!("{},2,3\n", report.to)), "{text}");
    assert_eq!(editor.get(&format!("/orgs/{}/analytics.csv?days=7", org.id)).await.status(), 403);
}

#[tokio::test]
async fn views_and_uses_counted_by_several_instances_add_up_when_written() {
    use app::ports::PromptCountBuffer;
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let kept = owner.create_prompt("Kept", "Hello").await.expect("prompt");
    let gone = owner.create_prompt("Gone", "Bye").await.expect("prompt");
    let store = app.state.services.store.as_ref();
    let (one, two) = (PromptCountBuffer::default(), PromptCountBuffer::default());
    let now = app.clock_now();
    for _ in 0..3 {
        one.count(org.id, kept, PromptCounter::View, now);
    }
    one.count(org.id, kept, PromptCounter::Use, now - Duration::days(1));
    two.count(org.id, kept, PromptCounter::View, now);
    two.count(org.id, gone, PromptCounter::Use, now);
    let _: () = owner.call_json("delete_prompt", json!({ "id": gone })).await.expect("delete");

    assert_eq!(one.flush(store).await.expect("flush"), 2, "two prompt-days");
    assert_eq!(two.flush(store).await.expect("flush"), 2);
    assert_eq!(one.flush(store).await.expect("nothing left"), 0);
    let detail: app::dto::PromptDetail = owner.call_json("prompt", json!({ "id": kept })).await.expect("detail");
    assert_eq!((detail.view_count, detail.use_count), (4 + 1, 1), "four counted, one for this read");
    let report: AnalyticsView = owner.call("analytics", &[("days", "7")]).await.expect("analytics");
    let days: Vec<(i64, i64)> = report.series.iter().rev().take(2).map(|d| (d.views, d.uses)).collect();
    assert_eq!(
        days,
        [(5, 0), (0, 1)],
        "four views and the read above today, yesterday's use; the deleted prompt's use is dropped"
    );
}

#[tokio::test]
async fn a_flush_of_more_prompts_than_one_statement_holds_writes_each_its_own_counts() {
    use app::ports::PromptCountBuffer;
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let user = owner.me().await.expect("me").user_id;
    app.give_org_plan(org.id, user, "enterprise", 5).await;
    let mut ids = Vec::new();
    for i in 0..130 {
        ids.push(owner.create_prompt(&format!("Prompt {i}"), "Hello").await.expect("prompt"));
    }
    let store = app.state.services.store.as_ref();
    let buffer = PromptCountBuffer::default();
    let now = app.clock_now();
    for (i, id) in ids.iter().enumerate() {
        for _ in 0..=i % 7 {
            buffer.count(org.id, *id, PromptCounter::View, now);
        }
        buffer.count(org.id, *id, PromptCounter::Use, now - Duration::days(1));
    }
    assert_eq!(buffer.flush(store).await.expect("flush"), 260, "two days of each prompt");
    for (i, id) in ids.iter().enumerate() {
        let prompt = store.prompt(org.id, *id).await.expect("read").expect("the prompt");
        assert_eq!((prompt.view_count, prompt.use_count), (i as i64 % 7 + 1, 1), "prompt {i}");
    }
    let report: AnalyticsView = owner.call("analytics", &[("days", "7")]).await.expect("analytics");
    let days: Vec<(i64, i64)> = report.series.iter().rev().take(2).map(|d| (d.views, d.uses)).collect();
    let views: i64 = (0..130).map(|i| i % 7 + 1).sum();
    assert_eq!(days, [(views, 0), (0, 130)]);
}
