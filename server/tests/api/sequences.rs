//! Sequences through their server functions: a creator builds, validates and publishes; a member
//! subscribes, the scheduler fires the steps, the member answers, the creator decides at a
//! checkpoint; pause, resume and leave; events posted to the REST API.

use crate::orgs::{create_org, join};
use crate::scheduler::worker;
use crate::support::{Client, PASSWORD, TestApp, field_of};
use app::api::sequences::{
    ConversationView, DecisionView, MigrationReport, PreferencesInput, SequenceDetail, SequenceSummary,
};
use app::domain::sequence::*;
use app::dto::NewApiKey;
use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

pub(crate) fn step(id: &str, kind: StepKind) -> Step {
    Step { id: id.into(), title: format!("Step {id}"), trigger: Trigger::Completion, kind, next: None }
}

pub(crate) fn say(id: &str, text: &str) -> Step {
    step(id, StepKind::Message { text: text.into() })
}

fn prefs(timezone: &str) -> PreferencesInput {
    PreferencesInput { timezone: timezone.into(), ..PreferencesInput::default() }
}

/// A three-step sequence with a branch and a checkpoint.
fn coaching() -> Vec<Step> {
    vec![
        say("hello", "Hi {{first_name}}, ready?"),
        step(
            "ask",
            StepKind::Question {
                text: "Did you sleep well?".into(),
                answer: AnswerKind::YesNo,
                variable: "slept".into(),
                remind_after_hours: None,
            },
        ),
        step(
            "route",
            StepKind::Branch {
                rules: vec![BranchRule {
                    all: true,
                    conditions: vec![Condition {
                        variable: "slept".into(),
                        test: Test::Equals { value: "yes".into() },
                    }],
                    next: "good".into(),
                }],
                otherwise: Some("coach".into()),
            },
        ),
        Step { next: Some("done".into()), ..say("good", "Great, keep it up.") },
        step(
            "coach",
            StepKind::Checkpoint {
                question: "{{first_name}} slept badly. Offer a session?".into(),
                decider: Decider::Creator,
                options: vec![],
                reject_next: Some("done".into()),
                deadline_hours: 24,
                default_option: None,
            },
        ),
        say("offer", "Your coach will call you this week."),
        step("done", StepKind::End { outcome: "completed".into() }),
    ]
}

async fn setup() -> (TestApp, Client, Client, Uuid) {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let member = join(&app, &owner, org.id, "Mia Member", "mia@example.com", "viewer").await;
    let id: Uuid =
        owner.call_json("create_sequence", json!({ "title": "Sleep better", "template": null })).await.expect("create");
    (app, owner, member, id)
}

pub(crate) async fn save(
    client: &Client,
    id: Uuid,
    steps: &[Step],
    visibility: Visibility,
) -> Result<Vec<StepProblem>, crate::support::Failure> {
    let meta = SequenceMeta { visibility, ..SequenceMeta::titled("Sleep better") };
    client.call_json("save_sequence", json!({ "id": id, "meta": meta, "steps": steps })).await
}

pub(crate) async fn conversation(client: &Client, id: Uuid) -> ConversationView {
    client.call_json("conversation", json!({ "id": id })).await.expect("conversation")
}

/// Moves the clock on; the member's session has expired by then, so they sign in again.
async fn later(app: &TestApp, member: &Client, by: Duration) {
    app.clock.advance(by);
    member.sign_in("mia@example.com", PASSWORD).await.expect("sign in");
}

pub(crate) fn bodies(c: &ConversationView) -> Vec<&str> {
    c.messages.iter().map(|m| m.body.as_str()).collect()
}

#[tokio::test]
async fn a_sequence_is_built_published_and_run_to_the_end_with_a_branch_and_a_checkpoint() {
    let (app, owner, member, id) = setup().await;
    // A new sequence starts from a valid starter; a broken draft saves but says what is wrong.
    let detail: SequenceDetail = owner.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(detail.can_edit && detail.problems.is_empty() && !detail.steps.is_empty());
    let mut broken = coaching();
    broken[3].next = Some("nowhere".into());
    let problems = save(&owner, id, &broken, Visibility::Organization).await.expect("save");
    assert_eq!(
        problems,
        vec![StepProblem {
            step: Some("good".into()),
            message: "Goes to a step that does not exist: “nowhere”.".into()
        }]
    );
    let refused = owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect_err("invalid");
    assert_eq!((refused.status, field_of(&refused)), (422, "step:good"));
    // Members do not see drafts.
    let seen: Vec<SequenceSummary> = member.call_json("sequences", json!({})).await.expect("list");
    assert!(seen.is_empty());

    assert_eq!(save(&owner, id, &coaching(), Visibility::Organization).await.expect("save"), vec![]);
    let version: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    assert_eq!(version, 1);
    let again = owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect_err("unchanged");
    assert_eq!(again.status, 422);

    // The member sees it, may not edit it, and subscribes.
    let seen: Vec<SequenceSummary> = member.call_json("sequences", json!({})).await.expect("list");
    assert_eq!(seen.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
    let denied = save(&member, id, &coaching(), Visibility::Organization).await.expect_err("not the creator");
    assert_eq!(denied.status, 403);
    let bad = member
        .call_json::<Uuid>("subscribe", json!({ "id": id, "preferences": prefs("Mars/Base") }))
        .await
        .expect_err("timezone");
    assert_eq!((bad.status, field_of(&bad)), (422, "timezone"));
    let sub: Uuid = member
        .call_json("subscribe", json!({ "id": id, "preferences": prefs("Europe/Berlin") }))
        .await
        .expect("subscribe");
    let twice = member
        .call_json::<Uuid>("subscribe", json!({ "id": id, "preferences": prefs("Europe/Berlin") }))
        .await
        .expect_err("twice");
    assert_eq!(twice.status, 409);

    // The scheduler fires the first steps: the greeting and the question.
    worker(&app).tick().await.expect("tick");
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c), ["Hi Mia, ready?", "Did you sleep well?"]);
    assert_eq!(c.asks, Some(AnswerKind::YesNo));
    assert!(c.scripted);
    // Someone else cannot read or answer it.
    let other =
        owner.call_json::<ConversationView>("conversation", json!({ "id": sub })).await.expect_err("not theirs");
    assert_eq!(other.status, 404);

    // A bad answer is refused next to the field and changes nothing; "no" takes the checkpoint path.
    let wrong = member.call_json::<()>("reply", json!({ "id": sub, "text": "maybe" })).await.expect_err("not yes/no");
    assert_eq!((wrong.status, field_of(&wrong)), (422, "text"));
    member.call_json::<()>("reply", json!({ "id": sub, "text": "No" })).await.expect("reply");
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c), ["Hi Mia, ready?", "Did you sleep well?", "No"]);
    assert_eq!(c.subscription.waiting_for.as_deref(), Some("decision"));
    assert!(c.asks.is_none());

    // The creator decides from the queue; the member does not see the creator's decision.
    let none: Vec<DecisionView> = member.call_json("decision_queue", json!({})).await.expect("queue");
    assert!(none.is_empty());
    let queue: Vec<DecisionView> = owner.call_json("decision_queue", json!({})).await.expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].question, "Mia slept badly. Offer a session?");
    assert_eq!(queue[0].options, ["Approve", "Reject"]);
    let stolen = member
        .call_json::<()>("decide", json!({ "id": queue[0].id, "choice": "Approve", "note": "" }))
        .await
        .expect_err("not theirs");
    assert_eq!(stolen.status, 404);
    owner
        .call_json::<()>("decide", json!({ "id": queue[0].id, "choice": "Approve", "note": "Call on Tuesday" }))
        .await
        .expect("decide");
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c).last(), Some(&"Your coach will call you this week."));
    assert_eq!(c.subscription.status, SubscriptionStatus::Completed);
    assert_eq!(c.subscription.percent, 100);
    let empty: Vec<DecisionView> = owner.call_json("decision_queue", json!({})).await.expect("queue");
    assert!(empty.is_empty());
}

#[tokio::test]
async fn pausing_holds_the_next_step_and_resuming_delivers_it_leaving_stops_everything() {
    let (app, owner, member, id) = setup().await;
    let steps = vec![
        say("one", "Day one"),
        Step { trigger: Trigger::After { hours: 24 }, ..say("two", "Day two") },
        Step { trigger: Trigger::After { hours: 24 }, ..say("three", "Day three") },
    ];
    save(&owner, id, &steps, Visibility::Organization).await.expect("save");
    owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect("publish");
    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    let w = worker(&app);
    w.tick().await.expect("tick");
    member
        .call_json::<()>("set_subscription_status", json!({ "id": sub, "status": "paused", "until": null }))
        .await
        .expect("pause");
    later(&app, &member, Duration::hours(30)).await;
    w.tick().await.expect("tick");
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c), ["Day one"]);
    assert_eq!(c.subscription.status, SubscriptionStatus::Paused);
    // Resumed after the step was due: delivered now (not skipped as late).
    member
        .call_json::<()>("set_subscription_status", json!({ "id": sub, "status": "active", "until": null }))
        .await
        .expect("resume");
    w.tick().await.expect("tick");
    assert_eq!(bodies(&conversation(&member, sub).await), ["Day one", "Day two"]);
    // Leaving ends it: nothing more arrives.
    member
        .call_json::<()>("set_subscription_status", json!({ "id": sub, "status": "canceled", "until": null }))
        .await
        .expect("leave");
    later(&app, &member, Duration::hours(30)).await;
    w.tick().await.expect("tick");
    assert_eq!(bodies(&conversation(&member, sub).await), ["Day one", "Day two"]);
    let ended = member
        .call_json::<()>("set_subscription_status", json!({ "id": sub, "status": "active", "until": null }))
        .await
        .expect_err("ended");
    assert_eq!(ended.status, 422);
}

#[tokio::test]
async fn pausing_until_a_date_moves_the_next_step_after_it() {
    let (app, owner, member, id) = setup().await;
    let steps = vec![say("one", "Day one"), Step { trigger: Trigger::After { hours: 24 }, ..say("two", "Day two") }];
    save(&owner, id, &steps, Visibility::Organization).await.expect("save");
    owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect("publish");
    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    let w = worker(&app);
    w.tick().await.expect("tick");
    let until = app.clock_now() + Duration::days(3);
    member
        .call_json::<()>("set_subscription_status", json!({ "id": sub, "status": "paused", "until": until }))
        .await
        .expect("pause");
    later(&app, &member, Duration::days(2)).await;
    w.tick().await.expect("tick");
    assert_eq!(bodies(&conversation(&member, sub).await), ["Day one"]);
    later(&app, &member, Duration::days(1) + Duration::minutes(1)).await;
    w.tick().await.expect("tick");
    assert_eq!(bodies(&conversation(&member, sub).await), ["Day one", "Day two"]);
}

#[tokio::test]
async fn events_posted_to_the_api_move_waiting_subscriptions_on() {
    let (app, owner, member, id) = setup().await;
    let steps = vec![
        say("start", "Log a workout when you have done one."),
        step(
            "wait",
            StepKind::Wait {
                until: WaitUntil::Event { name: "workout_logged".into() },
                timeout_hours: Some(48),
                nudge: Some("Still on it?".into()),
                timeout_next: None,
            },
        ),
        say("praise", "Nice work!"),
    ];
    save(&owner, id, &steps, Visibility::Organization).await.expect("save");
    owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect("publish");
    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    worker(&app).tick().await.expect("tick");
    assert_eq!(conversation(&member, sub).await.subscription.waiting_for.as_deref(), Some("event"));

    let key = |scope: &'static str| {
        let owner = &owner;
        async move {
            let key: NewApiKey = owner
                .call("create_api_key", &[("name", "events"), ("scope", scope), ("expires_in_days", "0")])
                .await
                .expect("key");
            key.secret
        }
    };
    let http = reqwest::Client::new();
    let post = |secret: String, body: serde_json::Value| {
        let http = http.clone();
        let url = format!("{}/api/v1/events", app.address);
        async move {
            let response = http.post(url).bearer_auth(secret).json(&body).send().await.expect("post");
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.expect("json"))
        }
    };
    let (status, body) = post(key("read").await, json!({ "event": "workout_logged", "user": "mia@example.com" })).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let write = key("write").await;
    let (status, body) = post(write.clone(), json!({ "event": "workout_logged", "user": "nobody@example.com" })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("user")));
    let (status, body) = post(write.clone(), json!({ "event": "something_else", "user": "mia@example.com" })).await;
    assert_eq!((status, body["moved"].as_i64()), (202, Some(0)));
    let (status, body) = post(write, json!({ "event": "workout_logged", "user": "MIA@example.com" })).await;
    assert_eq!((status, body["moved"].as_i64()), (202, Some(1)));
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c), ["Log a workout when you have done one.", "Nice work!"]);
    assert_eq!(c.subscription.status, SubscriptionStatus::Completed);
}

#[tokio::test]
async fn templates_start_valid_sequences_and_private_ones_stay_private() {
    let (_app, owner, member, _) = setup().await;
    for template in app::domain::templates::TEMPLATES.iter() {
        let id: Uuid =
            owner.call_json("create_sequence", json!({ "title": "", "template": template.id })).await.expect("create");
        let detail: SequenceDetail = owner.call_json("sequence", json!({ "id": id })).await.expect("detail");
        assert_eq!(detail.meta.title, template.title);
        assert!(detail.problems.is_empty(), "{}: {:?}", template.id, detail.problems);
        let version: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
        assert_eq!(version, 1);
        // Private by default: the member does not see it.
        let hidden = member.call_json::<SequenceDetail>("sequence", json!({ "id": id })).await.expect_err("private");
        assert_eq!(hidden.status, 404);
    }
    let unknown = owner
        .call_json::<Uuid>("create_sequence", json!({ "title": "", "template": "nope" }))
        .await
        .expect_err("template");
    assert_eq!((unknown.status, field_of(&unknown)), (422, "template"));
    let untitled = owner
        .call_json::<Uuid>("create_sequence", json!({ "title": "  ", "template": null }))
        .await
        .expect_err("title");
    assert_eq!((untitled.status, field_of(&untitled)), (422, "title"));
}

#[tokio::test]
async fn subscribers_move_to_a_new_version_by_step_id_and_those_who_cannot_are_reported() {
    let (app, owner, member, id) = setup().await;
    let question = |id: &str, text: &str, variable: &str| {
        step(
            id,
            StepKind::Question {
                text: text.into(),
                answer: AnswerKind::Text,
                variable: variable.into(),
                remind_after_hours: None,
            },
        )
    };
    let v1 = vec![
        question("q1", "First question?", "a"),
        question("q2", "Second question?", "b"),
        say("bye", "Thanks, {{a}}."),
    ];
    save(&owner, id, &v1, Visibility::Organization).await.expect("save");
    owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect("publish");
    // The member waits at the first question, the owner at the second.
    let mine: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    let theirs: Uuid =
        owner.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    worker(&app).tick().await.expect("tick");
    owner.call_json::<()>("reply", json!({ "id": theirs, "text": "one" })).await.expect("reply");
    assert_eq!(bodies(&conversation(&owner, theirs).await).last(), Some(&"Second question?"));

    // Version 2 drops the second question; nothing moves until the creator says so.
    let v2 = vec![question("q1", "First question?", "a"), say("bye", "Thanks, {{a}}, see you.")];
    save(&owner, id, &v2, Visibility::Organization).await.expect("save");
    assert_eq!(owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect("publish"), 2);
    assert_eq!(conversation(&member, mine).await.subscription.version, 1);
    let refused = member
        .call_json::<MigrationReport>("migrate_subscribers", json!({ "id": id }))
        .await
        .expect_err("not the creator");
    assert_eq!(refused.status, 403);
    let report: MigrationReport = owner.call_json("migrate_subscribers", json!({ "id": id })).await.expect("migrate");
    assert_eq!(report.version, 2);
    assert_eq!(report.moved, 1);
    assert_eq!(report.not_moved.len(), 1);
    assert_eq!(report.not_moved[0].subscriber, "Olivia Owner");
    assert_eq!(report.not_moved[0].reason, "It is at “Step q2”, which the new version does not have.");

    // The moved run goes on with version 2's steps; the other stays on version 1.
    member.call_json::<()>("reply", json!({ "id": mine, "text": "ready" })).await.expect("reply");
    let c = conversation(&member, mine).await;
    assert_eq!(c.subscription.version, 2);
    assert_eq!(bodies(&c).last(), Some(&"Thanks, ready, see you."));
    assert_eq!(c.subscription.status, SubscriptionStatus::Completed);
    owner.call_json::<()>("reply", json!({ "id": theirs, "text": "two" })).await.expect("reply");
    assert_eq!(bodies(&conversation(&owner, theirs).await).last(), Some(&"Thanks, one."));
}

#[tokio::test]
async fn a_sequence_saved_as_a_template_starts_new_ones_and_shared_templates_reach_the_organization() {
    let (_app, owner, member, id) = setup().await;
    assert_eq!(save(&owner, id, &coaching(), Visibility::Organization).await.expect("save"), vec![]);
    // Only the creator saves a sequence as a template.
    let denied = member.call_json::<Uuid>("save_as_template", json!({ "id": id })).await.expect_err("not theirs");
    assert_eq!(denied.status, 404);
    let template: Uuid = owner.call_json("save_as_template", json!({ "id": id })).await.expect("template");
    let choices: Vec<app::api::sequences::TemplateChoice> =
        member.call_json("sequence_templates", json!({})).await.expect("templates");
    let ours = choices.iter().find(|c| !c.builtin).expect("the organization's template");
    assert_eq!((ours.id.clone(), ours.title.as_str()), (format!("org:{template}"), "Sleep better"));
    assert_eq!(choices.iter().filter(|c| c.builtin).count(), app::domain::templates::TEMPLATES.len());
    // Templates are not sequences: not listed, never published.
    let listed: Vec<SequenceSummary> = owner.call_json("sequences", json!({})).await.expect("list");
    assert!(listed.iter().all(|s| s.id != template));
    let publish = owner.call_json::<i32>("publish_sequence", json!({ "id": template })).await.expect_err("template");
    assert_eq!(field_of(&publish), "steps");

    // A member starts their own (private) sequence from it, with its steps.
    let copy: Uuid = member
        .call_json("create_sequence", json!({ "title": "My sleep plan", "template": ours.id }))
        .await
        .expect("from template");
    let detail: SequenceDetail = member.call_json("sequence", json!({ "id": copy })).await.expect("detail");
    assert_eq!(detail.meta.title, "My sleep plan");
    assert_eq!(detail.meta.visibility, Visibility::Private);
    assert_eq!(detail.steps, coaching());
    assert!(detail.can_edit && !detail.is_template);

    // A private sequence's template is its creator's alone.
    let private: Uuid =
        member.call_json("create_sequence", json!({ "title": "Secret", "template": null })).await.expect("create");
    let hidden: Uuid = member.call_json("save_as_template", json!({ "id": private })).await.expect("template");
    let owners: Vec<app::api::sequences::TemplateChoice> =
        owner.call_json("sequence_templates", json!({})).await.expect("templates");
    assert!(owners.iter().all(|c| c.id != format!("org:{hidden}")));
    let refused = owner
        .call_json::<Uuid>("create_sequence", json!({ "title": "", "template": format!("org:{hidden}") }))
        .await
        .expect_err("private template");
    assert_eq!(field_of(&refused), "template");
}

#[tokio::test]
async fn the_creator_sees_per_step_completion_and_drop_off() {
    let (app, owner, member, id) = setup().await;
    let starter = app::domain::templates::starter();
    assert_eq!(save(&owner, id, &starter, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    let mine: Uuid =
        owner.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("owner");
    let theirs: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("member");
    let scheduler = worker(&app);
    while scheduler.tick().await.expect("tick") > 0 {}
    // The owner leaves before the question; the member answers it and completes.
    owner
        .call_json::<()>("set_subscription_status", json!({ "id": mine, "status": "canceled", "until": null }))
        .await
        .expect("leave");
    app.clock.advance(Duration::minutes(2));
    while scheduler.tick().await.expect("tick") > 0 {}
    member.call_json::<()>("reply", json!({ "id": theirs, "text": "Sleep eight hours" })).await.expect("answer");
    while scheduler.tick().await.expect("tick") > 0 {}

    let denied =
        member.call_json::<serde_json::Value>("sequence_stats", json!({ "id": id })).await.expect_err("creator");
    assert_eq!(denied.status, 403);
    let stats: app::api::sequences::SequenceFunnel =
        owner.call_json("sequence_stats", json!({ "id": id })).await.expect("stats");
    assert_eq!((stats.subscribers, stats.active, stats.completed, stats.left), (2, 0, 1, 1));
    let row = |step: &str| {
        let s = stats.steps.iter().find(|s| s.id == step).expect("step");
        (s.reached, s.completed, s.here_now, s.left_here)
    };
    assert_eq!(row("welcome"), (2, 2, 0, 0));
    assert_eq!(row("goal"), (1, 1, 0, 1), "one answered, one left before it");
}

#[tokio::test]
async fn the_creator_takes_a_conversation_over_replies_as_themselves_and_hands_it_back() {
    let (app, owner, member, id) = setup().await;
    let steps = vec![
        step(
            "chat",
            StepKind::Conversation {
                goal: "Find one habit to change".into(),
                persona: "A warm coach".into(),
                opening: "What would you like to change?".into(),
                max_turns: 3,
                variable: None,
            },
        ),
        step("done", StepKind::End { outcome: "completed".into() }),
    ];
    assert_eq!(save(&owner, id, &steps, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    let scheduler = worker(&app);
    while scheduler.tick().await.expect("tick") > 0 {}

    // Only the creator reads it; replying needs taking it over first.
    let denied = member.call_json::<serde_json::Value>("coach_conversation", json!({ "id": sub })).await;
    assert_eq!(denied.expect_err("not the creator").status, 404);
    let early = owner.call_json::<()>("coach_reply", json!({ "id": sub, "text": "Hi" })).await.expect_err("not yet");
    assert_eq!(field_of(&early), "text");
    owner.call_json::<()>("take_over", json!({ "id": sub, "take": true })).await.expect("take over");

    // The member writes; the AI waits while the creator answers as themselves.
    member.call_json::<()>("reply", json!({ "id": sub, "text": "Sleep earlier" })).await.expect("reply");
    while scheduler.tick().await.expect("tick") > 0 {}
    owner.call_json::<()>("coach_reply", json!({ "id": sub, "text": "Good choice. What time?" })).await.expect("coach");
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c), ["What would you like to change?", "Sleep earlier", "Good choice. What time?"]);
    assert_eq!(c.coach.as_deref(), Some("Olivia Owner"));
    assert_eq!(c.messages[2].sender, Sender::Creator);
    let view: app::api::coach::CoachView =
        owner.call_json("coach_conversation", json!({ "id": sub })).await.expect("view");
    assert!(view.by_me);
    assert_eq!(view.subscriber, "Mia Member");

    // Handed back: the AI's held turn runs (scripted here: it thanks and the goal is met).
    owner.call_json::<()>("take_over", json!({ "id": sub, "take": false })).await.expect("hand back");
    while scheduler.tick().await.expect("tick") > 0 {}
    let c = conversation(&member, sub).await;
    assert_eq!(c.coach, None);
    assert_eq!(bodies(&c).last(), Some(&"Thank you, noted."));
    assert_eq!(c.subscription.status, SubscriptionStatus::Completed);
}

#[tokio::test]
async fn what_a_member_does_in_one_sequence_moves_their_other_sequences_waiting_for_cairns_events() {
    let (app, owner, member, first) = setup().await;
    // Four sequences at once: more than the free plan runs.
    app.give_plan(&member, "premium").await;
    let waiting_for = |event: &str, text: &str| {
        vec![
            Step { trigger: Trigger::Event { name: event.into() }, ..say("hello", text) },
            step("done", StepKind::End { outcome: "completed".into() }),
        ]
    };
    let publish = |steps: Vec<Step>| {
        let owner = &owner;
        async move {
            let id: Uuid = owner
                .call_json("create_sequence", json!({ "title": "Follow-up", "template": null }))
                .await
                .expect("create");
            assert_eq!(save(owner, id, &steps, Visibility::Organization).await.expect("save"), vec![]);
            let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
            id
        }
    };
    let on_subscribed = publish(waiting_for("cairn.subscribed", "Welcome to another program!")).await;
    let on_step = publish(waiting_for("cairn.step_completed", "You finished a step elsewhere.")).await;
    let on_done = publish(waiting_for("cairn.sequence_completed", "You completed a sequence!")).await;
    let main = vec![
        step(
            "ask",
            StepKind::Question {
                text: "Ready?".into(),
                answer: AnswerKind::YesNo,
                variable: "ready".into(),
                remind_after_hours: None,
            },
        ),
        // A minute later: the end fires in the scheduler.
        Step {
            trigger: Trigger::CompletionGap { min_gap_minutes: 1 },
            ..step("end", StepKind::End { outcome: "completed".into() })
        },
    ];
    assert_eq!(save(&owner, first, &main, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": first })).await.expect("publish");

    let subscribe = |id: Uuid| {
        let member = &member;
        async move {
            member
                .call_json::<Uuid>("subscribe", json!({ "id": id, "preferences": prefs("UTC") }))
                .await
                .expect("subscribe")
        }
    };
    // Subscribing to one sequence moves another waiting for "cairn.subscribed".
    let a = subscribe(on_subscribed).await;
    let main = subscribe(first).await;
    assert_eq!(bodies(&conversation(&member, a).await), ["Welcome to another program!"]);
    while worker(&app).tick().await.expect("tick") > 0 {}
    let (b, c) = (subscribe(on_step).await, subscribe(on_done).await);
    assert!(bodies(&conversation(&member, b).await).is_empty(), "asking is not completing");
    // Answering completes a step; the sequence completes when its end fires.
    member.call_json::<()>("reply", json!({ "id": main, "text": "yes" })).await.expect("answer");
    assert_eq!(bodies(&conversation(&member, b).await), ["You finished a step elsewhere."]);
    assert!(bodies(&conversation(&member, c).await).is_empty(), "a step is not the whole sequence");
    app.clock.advance(Duration::minutes(2));
    while worker(&app).tick().await.expect("tick") > 0 {}
    assert_eq!(bodies(&conversation(&member, c).await), ["You completed a sequence!"]);

    // Cairn's own names cannot be posted through the API.
    let key: NewApiKey = owner
        .call("create_api_key", &[("name", "events"), ("scope", "write"), ("expires_in_days", "0")])
        .await
        .expect("key");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/events", app.address))
        .bearer_auth(key.secret)
        .json(&json!({ "event": "cairn.subscribed", "user": "mia@example.com" }))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 422);
}

#[tokio::test]
async fn an_inactivity_step_fires_only_after_days_without_a_reply_anywhere_in_the_organization() {
    let (app, owner, member, check_in) = setup().await;
    app.give_plan(&member, "premium").await;
    let question = |id: &str, text: &str| {
        step(
            id,
            StepKind::Question {
                text: text.into(),
                answer: AnswerKind::Text,
                variable: id.into(),
                remind_after_hours: None,
            },
        )
    };
    let end = || step("end", StepKind::End { outcome: "completed".into() });
    let steps = vec![
        question("mood", "How are you?"),
        Step { trigger: Trigger::Inactive { days: 3 }, ..say("miss", "We have not heard from you in a while.") },
        end(),
    ];
    assert_eq!(save(&owner, check_in, &steps, Visibility::Organization).await.expect("save"), vec![]);
    owner.call_json::<i32>("publish_sequence", json!({ "id": check_in })).await.expect("publish");
    let journal: Uuid =
        owner.call_json("create_sequence", json!({ "title": "Journal", "template": null })).await.expect("create");
    assert_eq!(
        save(&owner, journal, &[question("entry", "What happened today?"), end()], Visibility::Organization)
            .await
            .expect("save"),
        vec![]
    );
    owner.call_json::<i32>("publish_sequence", json!({ "id": journal })).await.expect("publish");

    let subscribe = |id: Uuid| {
        let member = &member;
        async move {
            member
                .call_json::<Uuid>("subscribe", json!({ "id": id, "preferences": prefs("UTC") }))
                .await
                .expect("subscribe")
        }
    };
    let (check_in, journal) = (subscribe(check_in).await, subscribe(journal).await);
    let w = worker(&app);
    w.tick().await.expect("tick");
    member.call_json::<()>("reply", json!({ "id": check_in, "text": "Fine" })).await.expect("answer");
    let missed = |c: &ConversationView| bodies(c).contains(&"We have not heard from you in a while.");

    // A reply in another of their sequences two days later counts as activity…
    later(&app, &member, Duration::days(2)).await;
    member.call_json::<()>("reply", json!({ "id": journal, "text": "A long walk" })).await.expect("entry");
    later(&app, &member, Duration::days(1) + Duration::hours(1)).await;
    w.tick().await.expect("tick");
    assert!(!missed(&conversation(&member, check_in).await), "they replied a day ago");
    // …so the step waits for three quiet days after that reply, then fires once.
    later(&app, &member, Duration::days(1)).await;
    w.tick().await.expect("tick");
    assert!(!missed(&conversation(&member, check_in).await), "two quiet days are not three");
    later(&app, &member, Duration::days(1)).await;
    while w.tick().await.expect("tick") > 0 {}
    let c = conversation(&member, check_in).await;
    assert_eq!(bodies(&c).iter().filter(|b| **b == "We have not heard from you in a while.").count(), 1);
    assert_eq!(c.subscription.status, SubscriptionStatus::Completed);
}

#[tokio::test]
async fn new_messages_reach_the_email_and_chat_webhook_the_member_chose() {
    let (app, owner, member, id) = setup().await;
    let steps = vec![
        say("hello", "Time for your evening check-in."),
        step("end", StepKind::End { outcome: "completed".into() }),
    ];
    assert_eq!(save(&owner, id, &steps, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");

    let nothing: app::dto::MessageChannels = member.call_json("message_channels", json!({})).await.expect("channels");
    assert_eq!(nothing, app::dto::MessageChannels::default());
    let bad = member
        .call_json::<()>(
            "save_message_channels",
            json!({ "email": true, "digest": false, "webhook_url": "hooks.slack.com/x" }),
        )
        .await
        .expect_err("not a URL");
    assert_eq!(field_of(&bad), "webhook_url");
    let slack = crate::support::hook_sink::HookSink::start().await;
    member
        .call_json::<()>("save_message_channels", json!({ "email": true, "digest": false, "webhook_url": slack.url }))
        .await
        .expect("save");
    let saved: app::dto::MessageChannels = member.call_json("message_channels", json!({})).await.expect("channels");
    assert_eq!((saved.email, saved.webhook_url.as_deref()), (true, Some(slack.url.as_str())));

    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    while worker(&app).tick().await.expect("tick") > 0 {}
    let mail = app.mail.wait_for("mia@example.com", "Time for your evening check-in.").await;
    assert!(mail.data.contains("Sleep better: a new message"), "{}", mail.data);
    assert!(mail.data.contains(&format!("/inbox/{sub}")), "a reply link: {}", mail.data);
    let posted = slack.wait_for(1).await;
    let text = posted[0].json()["text"].as_str().expect("text").to_owned();
    assert!(text.contains("Time for your evening check-in.") && text.contains(&format!("/inbox/{sub}")), "{text}");
    // The owner chose nothing: no mail for them.
    assert!(app.mail.to("olivia@example.com").iter().all(|m| !m.data.contains("evening check-in")));
}

#[tokio::test]
async fn new_messages_are_pushed_encrypted_to_the_browsers_the_member_turned_on() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (app, owner, member, id) = setup().await;
    let steps = vec![
        say("hello", "Time for your evening check-in."),
        step("end", StepKind::End { outcome: "completed".into() }),
    ];
    assert_eq!(save(&owner, id, &steps, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");

    // The server's VAPID key, made on first start: what a browser subscribes with.
    let status: app::dto::PushStatus = member.call_json("push_settings", json!({})).await.expect("push settings");
    let public = URL_SAFE_NO_PAD.decode(&status.public_key).expect("base64url");
    assert_eq!((public.len(), public[0], status.devices), (65, 4, 0));

    // A browser's push subscription: its own key pair and secret, an endpoint at its push service.
    let (browser, secret) = ece::generate_keypair_and_auth_secret().expect("browser keys");
    let browser = browser.raw_components().expect("key components");
    let service = crate::support::hook_sink::HookSink::start().await;
    let endpoint = format!("{}/device-1", service.url);
    let device =
        |p256dh: &str| json!({ "endpoint": endpoint, "p256dh": p256dh, "auth": URL_SAFE_NO_PAD.encode(secret) });
    let bad = member.call_json::<()>("add_push_device", device("not-a-key")).await.expect_err("a bad key");
    assert_eq!(field_of(&bad), "p256dh");
    member
        .call_json::<()>("add_push_device", device(&URL_SAFE_NO_PAD.encode(browser.public_key())))
        .await
        .expect("add");
    // Someone else cannot remove it.
    owner.call_json::<()>("remove_push_device", json!({ "endpoint": endpoint })).await.expect("remove nothing");
    let status: app::dto::PushStatus = member.call_json("push_settings", json!({})).await.expect("push settings");
    assert_eq!(status.devices, 1);

    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    while worker(&app).tick().await.expect("tick") > 0 {}
    let pushes = service.wait_for(1).await;
    let push = &pushes[0];
    assert_eq!(push.path, "/hooks/cairn/device-1");
    assert_eq!((push.header("content-encoding"), push.header("ttl")), ("aes128gcm", "86400"));
    // Signed with the server's key for the push service's origin (RFC 8292).
    let authorization = push.header("authorization");
    let (token, key) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .unwrap_or_else(|| panic!("a VAPID authorization: {authorization}"));
    assert_eq!(key, status.public_key);
    let verifier = jwt_simple::prelude::ES256PublicKey::from_bytes(&public).expect("a P-256 key");
    let claims = jwt_simple::prelude::ECDSAP256PublicKeyLike::verify_token::<jwt_simple::prelude::NoCustomClaims>(
        &verifier, token, None,
    )
    .expect("a valid VAPID signature");
    let origin = service.url.trim_end_matches("/hooks/cairn");
    assert!(claims.audiences.expect("aud").contains(&std::collections::HashSet::from([origin.to_owned()])));
    // Only the browser can read it (RFC 8291).
    let plain = ece::decrypt(&browser, &secret, &push.bytes).expect("decrypts with the browser's keys");
    let notice: serde_json::Value = serde_json::from_slice(&plain).expect("JSON");
    assert_eq!(notice["title"], "Sleep better");
    assert_eq!(notice["body"], "Time for your evening check-in.");
    assert!(notice["link"].as_str().expect("link").ends_with(&format!("/inbox/{sub}")), "{notice}");

    // The push service forgot the browser (410): the device is dropped.
    service.answer_with(&[410]);
    let sent: app::dto::PushTestResult = member.call_json("send_test_push", json!({})).await.expect("test push");
    assert_eq!((sent.devices, sent.delivered), (1, 0));
    let status: app::dto::PushStatus = member.call_json("push_settings", json!({})).await.expect("push settings");
    assert_eq!(status.devices, 0);
    assert_eq!(service.received().len(), 2);
}

#[tokio::test]
async fn a_daily_digest_replaces_the_email_for_each_message() {
    let (app, owner, member, id) = setup().await;
    let steps = vec![
        say("one", "First thought of the day."),
        say("two", "Second thought of the day."),
        Step { trigger: Trigger::After { hours: 24 }, ..say("three", "Tomorrow's thought.") },
        step("end", StepKind::End { outcome: "completed".into() }),
    ];
    assert_eq!(save(&owner, id, &steps, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    member
        .call_json::<()>("save_message_channels", json!({ "email": true, "digest": true, "webhook_url": "" }))
        .await
        .expect("save");
    let _: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    let scheduler = worker(&app);
    while scheduler.tick().await.expect("tick") > 0 {}
    let digests = || {
        app.mail.to("mia@example.com").into_iter().filter(|m| m.data.contains("Your Cairn digest")).collect::<Vec<_>>()
    };
    assert!(app.mail.to("mia@example.com").iter().all(|m| !m.data.contains("First thought")), "no email per message");

    // One digest with both messages; not again the same day.
    assert_eq!(scheduler.digests().await, 1);
    let first = app.mail.wait_for("mia@example.com", "Your Cairn digest").await;
    assert!(first.data.contains("First thought of the day.") && first.data.contains("Second thought of the day."));
    assert_eq!(scheduler.digests().await, 0);

    // A day later: the next digest has only what came since.
    app.clock.advance(Duration::hours(25));
    while scheduler.tick().await.expect("tick") > 0 {}
    assert_eq!(scheduler.digests().await, 1);
    for _ in 0..100 {
        if digests().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let all = digests();
    assert_eq!(all.len(), 2);
    let second = &all[1].data;
    assert!(second.contains("Tomorrow's thought.") && !second.contains("First thought"), "{second}");
}

#[tokio::test]
async fn an_assigned_coach_decides_coach_checkpoints_and_may_follow_the_conversation() {
    let (app, owner, member, id) = setup().await;
    let org = owner.me().await.expect("me").active_org.expect("org").id;
    let coach = join(&app, &owner, org, "Maya Mentor", "maya@example.com", "viewer").await;
    let maya = coach.me().await.expect("me").user_id;
    let steps = vec![
        say("hello", "Your coach will look at your plan."),
        step(
            "review",
            StepKind::Checkpoint {
                question: "Is the plan realistic?".into(),
                decider: Decider::Coach,
                options: vec![],
                reject_next: None,
                deadline_hours: 48,
                default_option: None,
            },
        ),
        say("go", "Your coach approved it."),
        step("end", StepKind::End { outcome: "completed".into() }),
    ];
    assert_eq!(save(&owner, id, &steps, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");

    // Only the creator appoints the coach, from the organization, not the subscriber themselves.
    let mia = member.me().await.expect("me").user_id;
    let own = owner.call_json::<()>("assign_coach", json!({ "id": sub, "coach": mia })).await.expect_err("self");
    assert_eq!(field_of(&own), "coach");
    let denied = coach.call_json::<()>("assign_coach", json!({ "id": sub, "coach": maya })).await.expect_err("creator");
    assert_eq!(denied.status, 404);
    let hidden = coach.call_json::<serde_json::Value>("coach_conversation", json!({ "id": sub })).await;
    assert_eq!(hidden.expect_err("not yet the coach").status, 404);
    owner.call_json::<()>("assign_coach", json!({ "id": sub, "coach": maya })).await.expect("appoint");

    while worker(&app).tick().await.expect("tick") > 0 {}
    // The coach, not the creator, decides; the coach may read the conversation.
    let owners: Vec<DecisionView> = owner.call_json("decision_queue", json!({})).await.expect("queue");
    assert!(owners.is_empty());
    let queue: Vec<DecisionView> = coach.call_json("decision_queue", json!({})).await.expect("queue");
    assert_eq!(queue.len(), 1);
    let view: app::api::coach::CoachView =
        coach.call_json("coach_conversation", json!({ "id": sub })).await.expect("coach reads");
    assert_eq!(view.coach.map(|(_, name)| name).as_deref(), Some("Maya Mentor"));
    assert!(view.coach_choices.is_empty(), "only the creator chooses the coach");
    coach
        .call_json::<()>("decide", json!({ "id": queue[0].id, "choice": "Approve", "note": "" }))
        .await
        .expect("decide");
    while worker(&app).tick().await.expect("tick") > 0 {}
    let c = conversation(&member, sub).await;
    assert_eq!(bodies(&c), ["Your coach will look at your plan.", "Your coach approved it."]);
    assert_eq!(c.subscription.status, SubscriptionStatus::Completed);
}

#[tokio::test]
async fn steps_use_vault_prompts_by_label_or_version_frozen_when_published() {
    let (app, owner, member, id) = setup().await;
    let prompt =
        owner.create_prompt("Evening reflection", "What went well today, {{first_name}}?").await.expect("prompt");
    owner
        .update_prompt(prompt, 1, "Evening reflection", "Name one thing that went well today, {{first_name}}.")
        .await
        .expect("v2");
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": prompt, "label": "production", "version": 1 }))
        .await
        .expect("label");
    let steps = |text: String| {
        vec![
            say("ask", &text),
            say("again", &format!("{{{{prompt:{prompt}@v2}}}}")),
            step("end", StepKind::End { outcome: "completed".into() }),
        ]
    };

    // A label the prompt does not have refuses publishing, on the step.
    assert_eq!(
        save(&owner, id, &steps(format!("{{{{prompt:{prompt}@staging}}}}")), Visibility::Organization)
            .await
            .expect("save"),
        vec![]
    );
    let refused = owner.call_json::<i32>("publish_sequence", json!({ "id": id })).await.expect_err("no such label");
    assert_eq!(field_of(&refused), "step:ask");
    // By label (production → version 1) and by number (version 2).
    assert_eq!(
        save(&owner, id, &steps(format!("{{{{prompt:{prompt}}}}}")), Visibility::Organization).await.expect("save"),
        vec![]
    );
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    // Moving the label later does not change the published version.
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": prompt, "label": "production", "version": 2 }))
        .await
        .expect("move label");
    let sub: Uuid =
        member.call_json("subscribe", json!({ "id": id, "preferences": prefs("UTC") })).await.expect("subscribe");
    while worker(&app).tick().await.expect("tick") > 0 {}
    assert_eq!(
        bodies(&conversation(&member, sub).await),
        ["What went well today, Mia?", "Name one thing that went well today, Mia."]
    );
    // The draft keeps the reference.
    let detail: SequenceDetail = owner.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(matches!(&detail.steps[0].kind, StepKind::Message { text } if text.starts_with("{{prompt:")));
}
