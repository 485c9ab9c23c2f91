//! Webhooks: prompt events reach a real HTTP receiver signed with HMAC-SHA256, failures are
//! retried with backoff and logged, deliveries live in the database (another instance or a
//! restarted one sends them; an expired lease is taken over), and only Owners and Admins manage
//! them.

use crate::orgs::{create_org, join};
use crate::support::hook_sink::{HookSink, Received};
use crate::support::{Client, PASSWORD, TestApp, field_of};
use app::dto::{DeliveryDetail, DeliveryView, WebhookSecret, WebhookView};
use app::security::sign_webhook;
use chrono::Duration;
use serde_json::json;
use server::webhooks::Sender;
use std::time::Duration as StdDuration;
use uuid::Uuid;

const ALL_EVENTS: [&str; 5] =
    ["prompt.created", "prompt.updated", "prompt.deleted", "prompt.version_published", "prompt.label_moved"];

async fn add_webhook(client: &Client, url: &str, events: &[&str]) -> WebhookSecret {
    client
        .call_json(
            "create_webhook",
            json!({ "input": { "url": url, "description": "", "events": events, "active": true } }),
        )
        .await
        .expect("create webhook")
}

async fn deliveries(client: &Client, webhook: Uuid) -> Vec<DeliveryView> {
    client.call_json("webhook_deliveries", json!({ "webhook_id": webhook })).await.expect("deliveries")
}

/// Waits until the webhook's newest delivery satisfies `done`.
async fn settled(client: &Client, webhook: Uuid, done: impl Fn(&[DeliveryView]) -> bool) -> Vec<DeliveryView> {
    for _ in 0..200 {
        let list = deliveries(client, webhook).await;
        if done(&list) {
            return list;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("deliveries never settled: {:#?}", deliveries(client, webhook).await);
}

/// Checks the signature the way a receiver should: recompute it from `t` and the raw body.
fn assert_signed(request: &Received, secret: &str) {
    let header = request.header("cairn-signature");
    let t: i64 = header.split(',').find_map(|p| p.strip_prefix("t=")).expect("t=").parse().expect("a timestamp");
    assert_eq!(header, sign_webhook(secret, t, &request.body), "signature of {}", request.body);
    assert!((chrono::Utc::now().timestamp() - t).abs() < 300, "the timestamp is now");
}

#[tokio::test]
async fn prompt_events_are_signed_and_delivered_to_the_webhooks_that_listen() {
    let app = TestApp::spawn().await;
    let sink = HookSink::start().await;
    let deletions = HookSink::start().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith Editor", "edith@example.com", "editor").await;
    let hook = add_webhook(&owner, &sink.url, &ALL_EVENTS).await;
    assert!(hook.secret.starts_with("whsec_"));
    add_webhook(&owner, &deletions.url, &["prompt.deleted"]).await;

    // Creating a published prompt is two events: created, and a published version.
    let input =
        json!({ "title": "Welcome call", "body": "Greet {{name}}.", "status": "published", "tags": "onboarding" });
    let id: Uuid = editor.call_json("create_prompt", json!({ "input": input })).await.expect("create");
    let received = sink.wait_for(2).await;
    let created = received.iter().find(|r| r.header("cairn-event") == "prompt.created").expect("prompt.created");
    assert_signed(created, &hook.secret);
    let body = created.json();
    assert_eq!(body["type"], "prompt.created");
    assert_eq!(body["organization_id"], json!(org.id));
    assert_eq!(body["data"]["prompt"]["id"], json!(id));
    assert_eq!(body["data"]["prompt"]["title"], "Welcome call");
    assert_eq!(body["data"]["prompt"]["status"], "published");
    assert_eq!(body["data"]["prompt"]["version"], 1);
    assert_eq!(body["data"]["prompt"]["url"], format!("{}/prompts/{id}", app.address));
    assert_eq!(created.header("cairn-event-id"), body["id"].as_str().unwrap());
    assert_eq!(created.header("content-type"), "application/json");
    assert!(received.iter().any(|r| r.json()["type"] == "prompt.version_published"));

    // A draft save is an update only; moving a label and deleting are their own events.
    let draft = json!({ "title": "Welcome call", "body": "Greet {{name}} warmly.", "status": "draft" });
    editor
        .call_json::<i32>("update_prompt", json!({ "id": id, "base_version": 1, "input": draft }))
        .await
        .expect("save");
    editor
        .call_json::<()>("set_prompt_label", json!({ "id": id, "label": "staging", "version": 2 }))
        .await
        .expect("label");
    editor.delete_prompt(id).await.expect("delete");
    let received = sink.wait_for(5).await;
    let types: Vec<String> = received.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(&types[2..], ["prompt.updated", "prompt.label_moved", "prompt.deleted"], "{types:?}");
    let moved = received[3].json();
    assert_eq!((moved["data"]["label"].clone(), moved["data"]["version"].clone()), (json!("staging"), json!(2)));
    assert_eq!(received[4].json()["data"]["prompt"]["title"], "Welcome call", "a deleted prompt is described");
    for request in &received {
        assert_signed(request, &hook.secret);
    }

    // The other webhook heard only the deletion.
    let only = deletions.wait_for(1).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(deletions.received().len(), 1, "{only:?}");
    assert_eq!(only[0].json()["type"], "prompt.deleted");

    // The delivery log: each delivered on the first attempt with the receiver's answer.
    let log = settled(&owner, hook.id, |l| l.len() == 5 && l.iter().all(|d| d.status == "delivered")).await;
    assert!(log.iter().all(|d| d.attempts == 1 && d.last_status_code == Some(200)));
    let detail: DeliveryDetail = owner.call_json("webhook_delivery", json!({ "id": log[0].id })).await.expect("detail");
    assert_eq!(detail.payload, received[4].body, "the log keeps the exact body sent");
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(detail.attempts[0].status_code, Some(200));
    assert_eq!(detail.attempts[0].response_excerpt, "thanks");
    let hooks: Vec<WebhookView> = owner.call_json("webhooks", json!({})).await.expect("list");
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].last_delivery.as_ref().map(|(s, _)| s.as_str()), Some("delivered"));
}

#[tokio::test]
async fn failed_deliveries_back_off_then_fail_and_can_be_redelivered() {
    let app = TestApp::spawn().await;
    let sink = HookSink::start().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let hook = add_webhook(&owner, &sink.url, &["prompt.created"]).await;

    // The first answer is a 500: the delivery waits ~30 s (±20 %) for its second attempt.
    sink.answer_with(&[500]);
    let started = app.clock_now();
    owner.create_prompt("Retry me", "Body").await.expect("prompt");
    let log = settled(&owner, hook.id, |l| l.first().is_some_and(|d| d.attempts == 1)).await;
    let first = &log[0];
    assert_eq!((first.status.as_str(), first.last_status_code), ("pending", Some(500)));
    assert_eq!(first.last_error.as_deref(), Some("The receiver answered HTTP 500."));
    // (PostgreSQL keeps microseconds, so a wait of exactly 24 s may read a hair shorter.)
    let wait = first.next_attempt_at.expect("a next attempt") - started;
    let (shortest, longest) = (Duration::seconds(24) - Duration::milliseconds(1), Duration::seconds(37));
    assert!(wait >= shortest && wait <= longest, "{wait:?}");
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(sink.received().len(), 1, "nothing is retried before it is due");

    app.clock.advance(Duration::seconds(40));
    app.state.services.jobs.notify_one();
    let log = settled(&owner, hook.id, |l| l[0].status == "delivered").await;
    assert_eq!((log[0].attempts, log[0].last_status_code), (2, Some(200)));
    let received = sink.wait_for(2).await;
    assert_eq!(received[0].body, received[1].body, "a retry sends the same event");
    assert_eq!(received[0].header("cairn-delivery"), received[1].header("cairn-delivery"));

    // A receiver that keeps failing: eight attempts, a day apart at most, then failed.
    // (Days pass on the test clock, so the log is read from the store: sessions would expire.)
    sink.answer_with(&[503; 8]);
    owner.create_prompt("Doomed", "Body").await.expect("prompt");
    for attempt in 1..=8 {
        for _ in 0..200 {
            let log = app.state.services.store.deliveries(org.id, hook.id, 1).await.unwrap();
            if log[0].attempts == attempt {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        app.clock.advance(Duration::days(1));
        app.state.services.jobs.notify_one();
    }
    owner.sign_in("olivia@example.com", PASSWORD).await.expect("sign in again");
    let log = settled(&owner, hook.id, |l| l[0].status == "failed").await;
    assert_eq!((log[0].attempts, log[0].next_attempt_at), (8, None));
    let detail: DeliveryDetail = owner.call_json("webhook_delivery", json!({ "id": log[0].id })).await.expect("detail");
    assert_eq!(detail.attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(), vec![Some(503); 8]);
    assert_eq!(detail.attempts[0].response_excerpt, "receiver is unwell");

    // Redeliver: a new delivery of the same event, sent at once.
    let again: DeliveryView =
        owner.call_json("redeliver", json!({ "delivery_id": log[0].id })).await.expect("redeliver");
    assert_eq!(again.event_id, log[0].event_id);
    assert_ne!(again.id, log[0].id);
    let log = settled(&owner, hook.id, |l| l[0].id == again.id && l[0].status == "delivered").await;
    assert_eq!(log[1].status, "failed", "the failed delivery stays in the log");
    let last = sink.wait_for(11).await.pop().unwrap();
    assert_eq!(last.header("cairn-event-id"), again.event_id.to_string());
}

#[tokio::test]
async fn test_events_secrets_validation_and_permissions() {
    let app = TestApp::spawn().await;
    let sink = HookSink::start().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let admin = join(&app, &owner, org.id, "Adam Admin", "adam@example.com", "admin").await;
    let editor = join(&app, &owner, org.id, "Edith Editor", "edith@example.com", "editor").await;

    // Bad input names its field and stores nothing.
    let bad = |url: &str, events: serde_json::Value| json!({ "input": { "url": url, "description": "", "events": events, "active": true } });
    let failure =
        admin.call_json::<WebhookSecret>("create_webhook", bad("ftp://x", json!(ALL_EVENTS))).await.unwrap_err();
    assert_eq!(field_of(&failure), "url");
    let failure = admin.call_json::<WebhookSecret>("create_webhook", bad(&sink.url, json!([]))).await.unwrap_err();
    assert_eq!(field_of(&failure), "events");
    let failure = admin
        .call_json::<WebhookSecret>("create_webhook", bad(&sink.url, json!(["prompt.exploded"])))
        .await
        .unwrap_err();
    assert_eq!(field_of(&failure), "events");
    assert!(admin.call_json::<Vec<WebhookView>>("webhooks", json!({})).await.unwrap().is_empty());

    // Editors and Viewers neither see nor manage webhooks.
    let hook = add_webhook(&admin, &sink.url, &["prompt.created"]).await;
    assert_eq!(editor.call_json::<Vec<WebhookView>>("webhooks", json!({})).await.unwrap_err().status, 403);
    let refused = editor.call_json::<WebhookSecret>("create_webhook", bad(&sink.url, json!(ALL_EVENTS))).await;
    assert_eq!(refused.unwrap_err().status, 403);
    for (endpoint, args) in [
        ("reveal_webhook_secret", json!({ "id": hook.id })),
        ("send_test_event", json!({ "webhook_id": hook.id })),
        ("webhook_deliveries", json!({ "webhook_id": hook.id })),
        ("delete_webhook", json!({ "id": hook.id })),
    ] {
        let failure = editor.call_json::<serde_json::Value>(endpoint, args).await.unwrap_err();
        assert_eq!(failure.status, 403, "{endpoint}");
    }
    // Another organization's Owner cannot reach it either.
    let stranger = app.signed_up("Sam Stranger", "sam@example.com").await;
    create_org(&stranger, "Elsewhere").await;
    let failure = stranger.call_json::<WebhookSecret>("reveal_webhook_secret", json!({ "id": hook.id })).await;
    assert_eq!(failure.unwrap_err().status, 404);

    // "Send test event" reaches even a paused webhook, signed with the current secret.
    let update = json!({ "id": hook.id, "input": { "url": sink.url, "description": "CI", "events": ["prompt.created"], "active": false } });
    let paused: WebhookView = admin.call_json("update_webhook", update).await.expect("pause");
    assert!(!paused.active);
    owner.create_prompt("Unheard", "Body").await.expect("prompt");
    let rotated: WebhookSecret =
        owner.call_json("rotate_webhook_secret", json!({ "id": hook.id })).await.expect("rotate");
    assert_ne!(rotated.secret, hook.secret);
    let revealed: WebhookSecret =
        owner.call_json("reveal_webhook_secret", json!({ "id": hook.id })).await.expect("reveal");
    assert_eq!(revealed.secret, rotated.secret);
    let ping: DeliveryView = owner.call_json("send_test_event", json!({ "webhook_id": hook.id })).await.expect("ping");
    assert_eq!(ping.event_type, "ping");
    let received = sink.wait_for(1).await;
    assert_eq!(received.len(), 1, "the paused webhook got no prompt event");
    assert_eq!(received[0].json()["type"], "ping");
    assert_signed(&received[0], &rotated.secret);

    // Deleting a webhook deletes its log.
    owner.call_json::<()>("delete_webhook", json!({ "id": hook.id })).await.expect("delete");
    let gone = owner.call_json::<Vec<DeliveryView>>("webhook_deliveries", json!({ "webhook_id": hook.id })).await;
    assert_eq!(gone.unwrap_err().status, 404);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let app = TestApp::spawn_with(|config| config.webhook_allow_private = false).await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    create_org(&owner, "Acme").await;
    for url in
        ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/hook", "http://169.254.169.254/latest"]
    {
        let input = json!({ "input": { "url": url, "description": "", "events": ["prompt.created"], "active": true } });
        let failure = owner.call_json::<WebhookSecret>("create_webhook", input).await.unwrap_err();
        assert_eq!(field_of(&failure), "url", "{url}");
    }
}

#[tokio::test]
async fn deliveries_are_durable_and_an_expired_lease_is_taken_over() {
    // No sender in the app itself: deliveries wait in the database.
    let app = TestApp::spawn_with(|config| config.webhook_sender = false).await;
    let sink = HookSink::start().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    create_org(&owner, "Acme").await;
    let hook = add_webhook(&owner, &sink.url, &["prompt.created"]).await;
    for n in 0..12 {
        owner.create_prompt(&format!("Prompt {n}"), "Body").await.expect("prompt");
    }
    let log = deliveries(&owner, hook.id).await;
    assert_eq!(log.len(), 12);
    assert!(log.iter().all(|d| d.status == "pending" && d.attempts == 0));

    // A sender claims one batch and dies before sending: its lease keeps others off for 60 s.
    let now = app.clock_now();
    let crashed = Uuid::now_v7();
    let taken = app.state.services.store.claim_deliveries(crashed, now, now + Duration::seconds(60), 5).await.unwrap();
    assert_eq!(taken.len(), 5);

    // Two fresh instances (their own connection pools, as after a restart or on another machine)
    // share the rest without sending anything twice.
    let instance = || async {
        let (mut services, _db) = server::services(&app.state.config).await.expect("services");
        services.clock = app.state.services.clock.clone();
        Sender::new(services, true)
    };
    let (one, two) = (instance().await, instance().await);
    let (a, b) = tokio::join!(one.run_once(), two.run_once());
    assert_eq!(a.unwrap() + b.unwrap(), 7);
    assert_eq!(one.run_once().await.unwrap(), 0, "the crashed sender's lease still holds");

    // Once the lease has run out, its deliveries are taken over; the dead sender cannot write.
    app.clock.advance(Duration::seconds(61));
    assert_eq!(one.run_once().await.unwrap(), 5);
    let attempt = app::ports::AttemptRecord {
        number: 1,
        at: app.clock_now(),
        status_code: Some(200),
        error: None,
        duration_ms: 1,
        response_excerpt: String::new(),
    };
    let late = app.state.services.store.record_attempt(
        crashed,
        taken[0].delivery.id,
        &attempt,
        app::ports::DeliveryStatus::Delivered,
        None,
    );
    assert!(!late.await.unwrap(), "a lost lease records nothing");

    let received = sink.wait_for(12).await;
    let mut ids: Vec<&str> = received.iter().map(|r| r.header("cairn-delivery")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((received.len(), ids.len()), (12, 12), "each delivery sent exactly once");
    assert!(deliveries(&owner, hook.id).await.iter().all(|d| d.status == "delivered" && d.attempts == 1));
}

#[tokio::test]
async fn bulk_changes_and_imports_send_an_event_per_prompt() {
    let app = TestApp::spawn().await;
    let sink = HookSink::start().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    create_org(&owner, "Acme").await;
    let a = owner.create_prompt("Alpha", "A").await.expect("prompt");
    let b = owner.create_prompt("Beta", "B").await.expect("prompt");
    add_webhook(&owner, &sink.url, &ALL_EVENTS).await;

    owner
        .call_json::<serde_json::Value>("bulk_prompts", json!({ "ids": [a, b], "action": "tag", "value": "q3" }))
        .await
        .expect("bulk");
    let received = sink.wait_for(2).await;
    let mut updated: Vec<(String, Vec<String>)> = received
        .iter()
        .map(|r| r.json())
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_owned(),
                serde_json::from_value(b["data"]["prompt"]["tags"].clone()).unwrap(),
            )
        })
        .collect();
    updated.sort();
    assert_eq!(updated, vec![("prompt.updated".to_owned(), vec!["q3".to_owned()]); 2]);

    // An import: each prompt is created; the published one also publishes a version.
    let csv = "title,content,status\nGamma,G,published\nDelta,D,draft\n";
    owner
        .call_json::<serde_json::Value>("import_prompts", json!({ "format": "csv", "text": csv }))
        .await
        .expect("import");
    let received = sink.wait_for(5).await;
    let mut imported: Vec<(String, String)> = received[2..]
        .iter()
        .map(|r| r.json())
        .map(|b| (b["type"].as_str().unwrap().to_owned(), b["data"]["prompt"]["title"].as_str().unwrap().to_owned()))
        .collect();
    imported.sort();
    assert_eq!(
        imported,
        [
            ("prompt.created".to_owned(), "Delta".to_owned()),
            ("prompt.created".to_owned(), "Gamma".to_owned()),
            ("prompt.version_published".to_owned(), "Gamma".to_owned()),
        ]
    );
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 5, "nothing else was sent");
}
