//! Comments on prompts: threads, @mentions that notify in the app and by email, editing and
//! deleting one's own, moderation by Admins, and who may see what.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp, field_of};
use app::dto::{CommentView, Me, NotificationView};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

async fn comment(client: &Client, prompt: Uuid, parent: Option<Uuid>, body: &str) -> CommentView {
    client
        .call_json("add_comment", json!({ "prompt_id": prompt, "parent_id": parent, "body": body }))
        .await
        .expect("comment")
}

async fn threads(client: &Client, prompt: Uuid) -> Vec<CommentView> {
    client.call_json("comments", json!({ "prompt_id": prompt })).await.expect("comments")
}

async fn inbox(client: &Client) -> Vec<NotificationView> {
    client.call_json("notifications", json!({})).await.expect("notifications")
}

/// Waits for the number of mails to `address` to reach `count`.
async fn mails_to(app: &TestApp, address: &str, count: usize) -> Vec<crate::support::smtp_sink::ReceivedMail> {
    for _ in 0..100 {
        let mails = app.mail.to(address);
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} mails to {address}, got {:#?}", app.mail.to(address));
}

#[tokio::test]
async fn members_discuss_a_prompt_and_mentions_notify() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith Editor", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor Viewer", "victor@example.com", "viewer").await;
    let prompt = editor.create_prompt("Welcome call", "Greet {{name}}.").await.expect("prompt");
    let mails_before = app.mail.to("victor@example.com").len();

    // A Viewer comments, mentioning someone by first name and someone by email name.
    let first = comment(&viewer, prompt, None, "Should we ask about **goals**? cc @olivia @edith").await;
    assert!(first.html.contains("<strong>goals</strong>"), "Markdown is rendered: {}", first.html);
    assert!(first.can_edit && first.can_delete);
    let edith_inbox = inbox(&editor).await;
    assert_eq!(edith_inbox.len(), 1, "a mention and the prompt's author are one notification: {edith_inbox:?}");
    assert_eq!(edith_inbox[0].kind, "mention");
    assert_eq!(edith_inbox[0].title, "Victor Viewer mentioned you on “Welcome call”");
    assert_eq!(edith_inbox[0].link, format!("/prompts/{prompt}#comment-{}", first.id));
    assert_eq!(inbox(&owner).await[0].kind, "mention");
    assert!(inbox(&viewer).await.is_empty(), "nobody is told about their own comment");
    let me: Me = editor.call("me", &[]).await.expect("me");
    assert_eq!(me.unread_notifications, 1);
    mails_to(&app, "edith@example.com", 2).await; // the invitation, then the mention
    mails_to(&app, "olivia@example.com", 1).await;
    assert_eq!(app.mail.to("victor@example.com").len(), mails_before);

    // A reply lands in the thread and tells the one replied to.
    let reply = comment(&editor, prompt, Some(first.id), "Yes, and about their **timeline**.").await;
    let reply_to_reply = comment(&owner, prompt, Some(reply.id), "Agreed.").await;
    let list = threads(&viewer, prompt).await;
    assert_eq!(list.len(), 1, "replies stay in their thread");
    assert_eq!(list[0].replies.iter().map(|r| r.id).collect::<Vec<_>>(), [reply.id, reply_to_reply.id]);
    assert!(!list[0].replies[0].can_edit && !list[0].replies[0].can_delete, "a Viewer moderates nothing");
    let victor = inbox(&viewer).await;
    assert_eq!(victor[0].kind, "reply", "{victor:?}");

    // Authors edit their own comments; others may not.
    let edited: CommentView =
        viewer.call_json("edit_comment", json!({ "id": first.id, "body": "Ask about goals." })).await.expect("edit");
    assert!(edited.edited_at.is_some());
    let denied = editor.call_json::<CommentView>("edit_comment", json!({ "id": first.id, "body": "Mine now" })).await;
    assert_eq!(denied.unwrap_err().status, 403);
    let blank = viewer.call_json::<CommentView>("edit_comment", json!({ "id": first.id, "body": "  " })).await;
    assert_eq!(field_of(&blank.unwrap_err()), "body");

    // Deleting keeps the thread: the first comment is gone, its replies stay.
    editor.call_json::<()>("delete_comment", json!({ "id": first.id })).await.unwrap_err();
    viewer.call_json::<()>("delete_comment", json!({ "id": first.id })).await.expect("delete own");
    let list = threads(&owner, prompt).await;
    assert!(list[0].deleted && list[0].body.is_empty() && list[0].html.is_empty());
    assert_eq!(list[0].replies.len(), 2);
    // Owners and Admins moderate anyone's comment.
    owner.call_json::<()>("delete_comment", json!({ "id": reply.id })).await.expect("moderate");
    assert_eq!(threads(&owner, prompt).await[0].replies.len(), 1);

    // Reading notifications.
    let read: u64 = editor.call_json("mark_notifications_read", json!({ "ids": null })).await.expect("read");
    assert!(read >= 1);
    let me: Me = editor.call("me", &[]).await.expect("me");
    assert_eq!(me.unread_notifications, 0);
    assert!(inbox(&editor).await.iter().all(|n| n.read));
}

#[tokio::test]
async fn comments_follow_the_prompt_they_are_on() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith Editor", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor Viewer", "victor@example.com", "viewer").await;
    let private: Uuid = editor
        .call_json(
            "create_prompt",
            json!({ "input": { "title": "Draft idea", "body": "Mine.", "visibility": "private" } }),
        )
        .await
        .expect("private");

    // Someone who cannot see a private prompt can neither read nor write its comments, and a
    // mention does not tell them about it.
    assert_eq!(
        viewer.call_json::<Vec<CommentView>>("comments", json!({ "prompt_id": private })).await.unwrap_err().status,
        404
    );
    let c = comment(&editor, private, None, "Note to self and @victor and @olivia").await;
    assert!(inbox(&viewer).await.is_empty(), "Victor may not see the prompt");
    assert_eq!(inbox(&owner).await.len(), 1, "Owners see private prompts");
    assert_eq!(
        viewer
            .call_json::<CommentView>("add_comment", json!({ "prompt_id": private, "body": "Hi" }))
            .await
            .unwrap_err()
            .status,
        404
    );

    // A reply must be to a comment on the same prompt; an empty comment is refused by field.
    let public = editor.create_prompt("Open", "Shared.").await.expect("public");
    let wrong = viewer
        .call_json::<CommentView>("add_comment", json!({ "prompt_id": public, "parent_id": c.id, "body": "Hi" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&wrong), "parent_id");
    let empty =
        viewer.call_json::<CommentView>("add_comment", json!({ "prompt_id": public, "body": " " })).await.unwrap_err();
    assert_eq!(field_of(&empty), "body");

    // Another organization's members get nothing; signed-out callers are asked to sign in.
    let stranger = app.signed_up("Mallory", "mallory@example.com").await;
    assert_eq!(
        stranger.call_json::<Vec<CommentView>>("comments", json!({ "prompt_id": public })).await.unwrap_err().status,
        404
    );
    assert_eq!(
        app.client().call_json::<Vec<NotificationView>>("notifications", json!({})).await.unwrap_err().status,
        401
    );
    let others: u64 = stranger.call_json("mark_notifications_read", json!({ "ids": null })).await.expect("own only");
    assert_eq!(others, 0);
    assert_eq!(inbox(&owner).await.iter().filter(|n| !n.read).count(), 1, "nobody else marks my notifications read");

    // Deleting the prompt deletes its comments.
    editor.delete_prompt(public).await.expect("delete");
    assert_eq!(
        viewer.call_json::<Vec<CommentView>>("comments", json!({ "prompt_id": public })).await.unwrap_err().status,
        404
    );
}
