//! The scheduler's guarantees against a real database with a fake clock: a step's visit is
//! delivered once however often its job runs, a crashed worker's lease is taken over, overdue
//! firings are caught up in due order and very late ones skipped with a reason, failures are
//! retried with backoff and then recorded.

use crate::support::TestApp;
use app::api::engine;
use app::domain::schedule::Preferences;
use app::domain::sequence::{JobKind, SequenceMeta, Step, StepKind, SubscriptionStatus, Trigger};
use app::domain::{OrgId, UserId};
use app::ports::{SequenceRecord, SubscriptionRecord};
use chrono::{Duration, NaiveTime};
use server::scheduler::{Scheduler, SchedulerConfig};
use std::time::Duration as StdDuration;
use uuid::Uuid;

pub fn message(id: &str, text: &str, trigger: Trigger) -> Step {
    Step { id: id.into(), title: id.into(), trigger, kind: StepKind::Message { text: text.into() }, next: None }
}

/// A published sequence with `steps` in the person's organization.
pub async fn published(app: &TestApp, org: OrgId, creator: UserId, steps: Vec<Step>) -> Uuid {
    let store = &app.state.services.store;
    let now = app.clock_now();
    let id = Uuid::now_v7();
    let record = SequenceRecord {
        id,
        org_id: org,
        creator_id: creator,
        meta: SequenceMeta::titled("Test sequence"),
        draft: steps,
        draft_changed: true,
        published_version: None,
        is_template: false,
        created_at: now,
        updated_at: now,
    };
    store.create_sequence(&record).await.expect("create");
    assert_eq!(store.publish_sequence(org, id, None, creator, now).await.expect("publish"), 1);
    id
}

/// Subscribes `user` with `preferences`; returns the subscription id.
pub async fn subscribe(app: &TestApp, org: OrgId, sequence: Uuid, user: UserId, preferences: Preferences) -> Uuid {
    let store = &app.state.services.store;
    let now = app.clock_now();
    let steps = store.sequence_version(sequence, 1).await.expect("version").expect("published");
    let sub = SubscriptionRecord::new(org, sequence, 1, user, preferences, Default::default(), now);
    let first = engine::start(&sub, &steps, now).expect("start");
    store.create_subscription(&sub, &first).await.expect("subscribe");
    sub.id
}

pub fn worker(app: &TestApp) -> Scheduler {
    let config = SchedulerConfig { lease: StdDuration::from_secs(30), ..SchedulerConfig::default() };
    Scheduler::new(app.state.services.clone(), config, app.state.chat.clone())
}

async fn person(app: &TestApp, name: &str) -> (OrgId, UserId) {
    let client = app.signed_up(name, &format!("{}@example.com", name.to_lowercase())).await;
    let me = client.me().await.expect("me");
    (me.active_org.expect("org").id, me.user_id)
}

async fn bodies(app: &TestApp, sub: Uuid) -> Vec<String> {
    app.state.services.store.messages(sub).await.expect("messages").into_iter().map(|m| m.body).collect()
}

#[tokio::test]
async fn a_step_is_delivered_once_even_when_two_workers_run_its_job() {
    let app = TestApp::spawn().await;
    let (org, user) = person(&app, "Ada").await;
    let steps = vec![
        message("hello", "Welcome aboard", Trigger::Completion),
        message("later", "A day later", Trigger::After { hours: 24 }),
    ];
    let sequence = published(&app, org, user, steps).await;
    let sub = subscribe(&app, org, sequence, user, Preferences::default()).await;

    // Worker A claims the first firing and "crashes" before finishing it.
    let (a, b) = (worker(&app), worker(&app));
    let held = a.claim().await.expect("claim");
    assert_eq!(held.len(), 1);
    assert!(b.claim().await.expect("claim").is_empty(), "a held lease is not taken");
    // Its lease runs out: B takes the job over within the lease (30 s) and delivers it.
    app.clock.advance(Duration::seconds(31));
    let taken = b.claim().await.expect("claim");
    assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), held.iter().map(|j| j.id).collect::<Vec<_>>());
    b.process(&taken[0]).await;
    // A wakes up and finishes its copy: nothing shows twice.
    a.process(&held[0]).await;
    assert_eq!(bodies(&app, sub).await, ["Welcome aboard"]);

    // The next step fires a day later, once, and the run completes.
    app.clock.advance(Duration::hours(23));
    assert_eq!(a.tick().await.expect("tick"), 0, "not due yet");
    app.clock.advance(Duration::hours(1));
    assert_eq!(a.tick().await.expect("tick"), 1);
    assert_eq!(b.tick().await.expect("tick"), 0);
    assert_eq!(bodies(&app, sub).await, ["Welcome aboard", "A day later"]);
    let done = app.state.services.store.subscription(sub).await.expect("load").expect("subscription");
    assert_eq!(done.status, SubscriptionStatus::Completed);
    assert!(done.completed_at.is_some());
}

#[tokio::test]
async fn overdue_firings_catch_up_in_due_order_and_very_late_ones_are_skipped() {
    let app = TestApp::spawn().await;
    let (org, user) = person(&app, "Bea").await;
    let steps = vec![
        message("first", "Due at the start", Trigger::Completion),
        message("second", "An hour after the first", Trigger::After { hours: 1 }),
    ];
    let sequence = published(&app, org, user, steps).await;
    let late = subscribe(&app, org, sequence, user, Preferences::default()).await;
    app.clock.advance(Duration::hours(20));
    let recent = subscribe(&app, org, sequence, user, Preferences::default()).await;

    // Thirty hours of downtime later: both first steps are overdue, the older one claimed first.
    app.clock.advance(Duration::hours(10));
    let w = worker(&app);
    let jobs = w.claim().await.expect("claim");
    assert_eq!(jobs.iter().map(|j| j.subscription_id).collect::<Vec<_>>(), [late, recent]);
    for job in &jobs {
        w.process(job).await;
    }
    // 30 h late is past the 24 h window: skipped, with the reason recorded; 10 h late is delivered.
    assert_eq!(bodies(&app, late).await, Vec::<String>::new());
    assert_eq!(bodies(&app, recent).await, ["Due at the start"]);
    let pool = match &app.state.db {
        server::db::Db::Postgres(server::db::Backend { pool, .. }) => {
            sqlx::query_scalar::<_, String>(
                "SELECT detail FROM sequence_events WHERE subscription_id = $1 AND kind = 'skipped'",
            )
            .bind(late)
            .fetch_all(pool)
            .await
        }
        server::db::Db::Sqlite(server::db::Backend { pool, .. }) => {
            sqlx::query_scalar::<_, String>(
                "SELECT detail FROM sequence_events WHERE subscription_id = $1 AND kind = 'skipped'",
            )
            .bind(late)
            .fetch_all(pool)
            .await
        }
    };
    assert_eq!(pool.expect("events"), ["30 h late; the window is 24 h"]);
    // The skipped run goes on from now, not from when it should have been.
    app.clock.advance(Duration::hours(1));
    w.tick().await.expect("tick");
    assert_eq!(bodies(&app, late).await, ["An hour after the first"]);
}

#[tokio::test]
async fn time_of_day_steps_respect_timezone_quiet_hours_and_days() {
    let app = TestApp::spawn().await;
    let (org, user) = person(&app, "Cy").await;
    let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("time");
    let steps =
        vec![message("morning", "Good morning", Trigger::TimeOfDay { time: nine, days: vec![0, 1, 2, 3, 4, 5, 6] })];
    let sequence = published(&app, org, user, steps).await;
    let prefs = Preferences {
        timezone: "Asia/Tokyo".into(),
        preferred_time: Some(NaiveTime::from_hms_opt(6, 30, 0).expect("time")),
        quiet: Some((
            NaiveTime::from_hms_opt(22, 0, 0).expect("time"),
            NaiveTime::from_hms_opt(7, 0, 0).expect("time"),
        )),
        ..Preferences::default()
    };
    subscribe(&app, org, sequence, user, prefs).await;
    let now = app.clock_now();
    let w = worker(&app);
    // Preferred 06:30 falls in quiet hours until 07:00 Tokyo time (UTC+9): due at 22:00 UTC.
    app.clock.advance(Duration::days(2));
    let jobs = w.claim().await.expect("claim");
    assert_eq!(jobs.len(), 1);
    // 06:30 in Tokyo is 21:30 UTC: the next one after the subscription (tomorrow's when the test
    // runs between 21:30 and midnight UTC), moved on to 07:00 there.
    let today = now.date_naive().and_time(NaiveTime::from_hms_opt(21, 30, 0).expect("time")).and_utc();
    let preferred = if today > now { today } else { today + Duration::days(1) };
    let due = jobs[0].due_at;
    assert_eq!(due, preferred + Duration::minutes(30), "{now} → {due}");
    assert_eq!(jobs[0].kind, JobKind::Fire);
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_marked_failed_with_its_error() {
    let app = TestApp::spawn_with(|c| {
        c.default_model = Some(app::ports::ModelEndpoint {
            // Nothing listens here: every call fails.
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "none".into(),
            api_key: None,
        })
    })
    .await;
    let (org, user) = person(&app, "Dee").await;
    let steps = vec![Step {
        id: "talk".into(),
        title: "Talk".into(),
        trigger: Trigger::Completion,
        kind: StepKind::Conversation {
            goal: "Find one goal".into(),
            persona: "A coach".into(),
            opening: "What would you like to work on?".into(),
            max_turns: 3,
            variable: None,
        },
        next: None,
    }];
    let sequence = published(&app, org, user, steps).await;
    let sub = subscribe(&app, org, sequence, user, Preferences::default()).await;
    let w = worker(&app);
    w.tick().await.expect("tick");
    assert_eq!(bodies(&app, sub).await, ["What would you like to work on?"]);
    // The subscriber answers (as the reply server function does): an AI turn is queued.
    let store = &app.state.services.store;
    let current = store.subscription(sub).await.expect("load").expect("sub");
    let reply = Uuid::now_v7();
    let mut change = engine::step(
        &current,
        &store.sequence_version(sequence, 1).await.unwrap().unwrap(),
        app::domain::sequence::Input::Answer("Sleep better".into()),
        app.clock_now(),
    )
    .expect("answer");
    change.messages.insert(0, engine::reply_message(&current, reply, user, "Sleep better", app.clock_now()));
    assert!(store.apply_run(&change).await.expect("apply"));
    let mut waits = vec![];
    for _ in 0..server::scheduler::MAX_ATTEMPTS {
        let jobs = w.claim().await.expect("claim");
        assert_eq!(jobs.len(), 1, "the AI turn is due again");
        let before = app.clock_now();
        w.process(&jobs[0]).await;
        // Not due again right away: the next attempt waits, longer each time.
        assert!(w.claim().await.expect("claim").is_empty());
        app.clock.advance(Duration::hours(2));
        waits.push(before);
    }
    assert!(w.claim().await.expect("claim").is_empty(), "failed for good");
    let failed = store.failed_jobs(org, 10).await.expect("failed");
    assert_eq!(failed.len(), 1);
    assert!(!failed[0].1.is_empty(), "the error is recorded");
    assert_eq!(bodies(&app, sub).await, ["What would you like to work on?", "Sleep better"]);
}

#[tokio::test]
async fn the_test_clock_moves_only_on_a_server_started_with_it() {
    // A normal server has no clock control.
    let app = TestApp::spawn().await;
    let client = app.signed_up("Cleo", "cleo@example.com").await;
    let refused = client.call_json::<serde_json::Value>("advance_clock", serde_json::json!({ "minutes": 60 })).await;
    assert_eq!(refused.expect_err("refused").status, 404);

    // With the test clock: the caller's next due step is reached, and bad moves are refused by field.
    let app = TestApp::spawn_with(|config| config.test_clock = true).await;
    let client = app.signed_up("Dora", "dora@example.com").await;
    let me = client.me().await.expect("me");
    let (org, user) = (me.active_org.expect("org").id, me.user_id);
    let anonymous = app.client();
    let anonymous =
        anonymous.call_json::<serde_json::Value>("advance_clock", serde_json::json!({ "minutes": 5 })).await;
    assert_eq!(anonymous.expect_err("signed in only").status, 401);
    let nothing = client.call_json::<serde_json::Value>("advance_clock", serde_json::json!({ "to_next_due": true }));
    assert_eq!(crate::support::field_of(&nothing.await.expect_err("nothing due")), "to_next_due");
    let backwards = client.call_json::<serde_json::Value>("advance_clock", serde_json::json!({ "minutes": -5 }));
    assert_eq!(crate::support::field_of(&backwards.await.expect_err("forward only")), "minutes");

    let steps = vec![
        message("hello", "Hello", Trigger::Completion),
        message("tomorrow", "A day later", Trigger::After { hours: 24 }),
    ];
    let sequence = published(&app, org, user, steps).await;
    let sub = subscribe(&app, org, sequence, user, Preferences::default()).await;
    let scheduler = worker(&app);
    assert_eq!(scheduler.tick().await.expect("tick"), 1);
    let before = app.clock_now();
    let moved: serde_json::Value =
        client.call_json("advance_clock", serde_json::json!({ "to_next_due": true })).await.expect("advance");
    let now: chrono::DateTime<chrono::Utc> = serde_json::from_value(moved["now"].clone()).expect("now");
    assert_eq!(now, app.clock_now());
    assert!(now - before >= Duration::hours(24) - Duration::seconds(1), "moved to the due step: {before} → {now}");
    assert_eq!(scheduler.tick().await.expect("tick"), 1);
    assert_eq!(bodies(&app, sub).await, ["Hello", "A day later"]);
}

#[tokio::test]
async fn delivered_messages_count_as_unread_until_the_conversation_is_shown() {
    let app = TestApp::spawn().await;
    let client = app.signed_up("Esme", "esme@example.com").await;
    let me = client.me().await.expect("me");
    let (org, user) = (me.active_org.expect("org").id, me.user_id);
    let steps = vec![message("one", "First", Trigger::Completion), message("two", "Second", Trigger::Completion)];
    let sequence = published(&app, org, user, steps).await;
    let sub = subscribe(&app, org, sequence, user, Preferences::default()).await;
    assert_eq!(client.call_json::<i64>("unread_count", serde_json::json!({})).await.expect("count"), 0);
    let scheduler = worker(&app);
    while scheduler.tick().await.expect("tick") > 0 {}

    assert_eq!(client.call_json::<i64>("unread_count", serde_json::json!({})).await.expect("count"), 2);
    assert_eq!(client.me().await.expect("me").unread_messages, 2, "the badge comes with the page");
    let inbox: serde_json::Value = client.call_json("inbox", serde_json::json!({})).await.expect("inbox");
    assert_eq!(inbox[0]["unread"], 2);
    // Someone else's count is their own.
    let other = app.signed_up("Finn", "finn@example.com").await;
    assert_eq!(other.call_json::<i64>("unread_count", serde_json::json!({})).await.expect("count"), 0);

    let _: serde_json::Value = client.call_json("conversation", serde_json::json!({ "id": sub })).await.expect("open");
    assert_eq!(client.call_json::<i64>("unread_count", serde_json::json!({})).await.expect("count"), 0);
    let inbox: serde_json::Value = client.call_json("inbox", serde_json::json!({})).await.expect("inbox");
    assert_eq!(inbox[0]["unread"], 0);
}

#[tokio::test]
async fn no_answer_after_a_reminder_and_an_undecided_checkpoint_reach_the_creator() {
    let app = TestApp::spawn().await;
    let (org, creator) = person(&app, "Cora").await;
    let (_, member) = person(&app, "Milo").await;
    app.state
        .services
        .store
        .add_member(org, member, app::domain::OrgRole::Viewer, app.clock_now())
        .await
        .expect("join");
    let ask = Step {
        id: "ask".into(),
        title: "Ask".into(),
        trigger: Trigger::Completion,
        kind: StepKind::Question {
            text: "How did it go?".into(),
            answer: app::domain::sequence::AnswerKind::Text,
            variable: "how".into(),
            remind_after_hours: Some(24),
        },
        next: None,
    };
    let sequence = published(&app, org, creator, vec![ask, message("bye", "Thanks", Trigger::Completion)]).await;
    let sub = subscribe(&app, org, sequence, member, Preferences::default()).await;
    let scheduler = worker(&app);
    let notices = |user| {
        let store = app.state.services.store.clone();
        async move {
            let list = store.notifications(user, 10).await.expect("notifications");
            list.into_iter().map(|n| (n.title, n.body, n.link)).collect::<Vec<_>>()
        }
    };
    while scheduler.tick().await.expect("tick") > 0 {}
    // A day without an answer: the reminder, to the member, in the conversation.
    app.clock.advance(Duration::hours(24));
    while scheduler.tick().await.expect("tick") > 0 {}
    assert_eq!(bodies(&app, sub).await, ["How did it go?", "A gentle reminder: How did it go?"]);
    assert!(notices(creator).await.is_empty());
    // Another day: the creator is told, with a link to the conversation; the question stays open.
    app.clock.advance(Duration::hours(24));
    while scheduler.tick().await.expect("tick") > 0 {}
    assert_eq!(
        notices(creator).await,
        [(
            "Needs you: Test sequence".to_owned(),
            "Milo: No answer, even after a reminder.".to_owned(),
            format!("/sequences/{sequence}/people/{sub}")
        )]
    );
    let run = app.state.services.store.subscription(sub).await.expect("load").expect("subscription");
    assert_eq!(run.status, SubscriptionStatus::Active);
    assert_eq!(bodies(&app, sub).await.len(), 2, "nothing more is said to the member");
    app.clock.advance(Duration::days(7));
    assert_eq!(scheduler.tick().await.expect("tick"), 0, "escalated once");

    // A checkpoint for the creator: reminded half way to the deadline, told at the deadline.
    let gate = Step {
        id: "gate".into(),
        title: "Gate".into(),
        trigger: Trigger::Completion,
        kind: StepKind::Checkpoint {
            question: "Go on?".into(),
            decider: app::domain::sequence::Decider::Creator,
            options: vec![],
            reject_next: None,
            deadline_hours: 2,
            default_option: None,
        },
        next: None,
    };
    let sequence = published(&app, org, creator, vec![gate, message("after", "On we go", Trigger::Completion)]).await;
    subscribe(&app, org, sequence, member, Preferences::default()).await;
    while scheduler.tick().await.expect("tick") > 0 {}
    app.clock.advance(Duration::hours(1));
    while scheduler.tick().await.expect("tick") > 0 {}
    let latest = notices(creator).await;
    assert_eq!(
        latest[0],
        (
            "Reminder: Test sequence".to_owned(),
            "Milo: A decision is waiting: Go on?".to_owned(),
            "/decisions".to_owned()
        )
    );
    app.clock.advance(Duration::hours(1));
    while scheduler.tick().await.expect("tick") > 0 {}
    let latest = notices(creator).await;
    assert_eq!(latest.len(), 3);
    assert_eq!(
        latest[0],
        (
            "Needs you: Test sequence".to_owned(),
            "Milo: The decision's deadline passed.".to_owned(),
            "/decisions".to_owned()
        )
    );
}
