//! Journeys through their server functions: a creator builds sections of questions and publishes;
//! a member saves drafts, submits with mistakes (every one named, nothing lost), submits for a
//! score; the creator reads the submission; the member's sequences hear of it.

use crate::billing::{checkout, ledger_total, pay, post_signed, stripe_event, stripe_invoice, sysadmin};
use crate::orgs::{create_org, join};
use crate::sequences::{bodies, conversation, save, say, step};
use crate::support::{Client, Failure, PASSWORD, TestApp, field_of};
use app::api::billing::{AdminBillingView, BusinessView, PayoutView, SalesView};
use app::api::journey_help::{ConciergeDesk, HelperView, MentorDesk, ReviewView, SessionView};
use app::api::journeys::{JourneySummary, JourneyView, SaveOutcome, TierPrice};
use app::api::sequences::PreferencesInput;
use app::domain::CapabilityRole;
use app::domain::billing::Interval;
use app::domain::journey::Tier;
use app::domain::journey::{Rating, Score};
use app::domain::sequence::{StepKind, Trigger, Visibility};
use app::dto::AuditEntryView;
use app::error::AppError;
use chrono::{SubsecRound, Timelike};
use serde_json::{Value, json};
use uuid::Uuid;

async fn setup() -> (TestApp, Client, Client) {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    let member = join(&app, &owner, org.id, "Mia Member", "mia@example.com", "viewer").await;
    (app, owner, member)
}

async fn journey(client: &Client, id: Uuid) -> Result<JourneyView, crate::support::Failure> {
    client.call_json("journey", json!({ "id": id })).await
}

async fn add_field(client: &Client, id: Uuid, revision: i64, field: Value) -> Result<i64, crate::support::Failure> {
    let field =
        json!({ "label": "", "kind": "short_text", "required": false, "help": "", "options": "", "scored": false })
            .as_object()
            .cloned()
            .map(|mut base| {
                base.extend(field.as_object().cloned().unwrap_or_default());
                Value::Object(base)
            })
            .unwrap();
    client
        .call_json("add_journey_field", json!({ "id": id, "revision": revision, "section": "s1", "field": field }))
        .await
}

async fn answer(
    client: &Client,
    id: Uuid,
    answers: Value,
    submit: bool,
) -> Result<SaveOutcome, crate::support::Failure> {
    client
        .call_json("save_journey_answers", json!({ "id": id, "section": "s1", "answers": answers, "submit": submit }))
        .await
}

/// A published journey with one section "Where you stand" of four questions; returns its id.
pub(crate) async fn published(owner: &Client) -> Uuid {
    let id: Uuid = owner
        .call_json("create_journey", json!({ "title": "Wedding plan", "description": "Step by step." }))
        .await
        .expect("create");
    let mut revision: i64 = owner
        .call_json(
            "add_journey_section",
            json!({ "id": id, "revision": 1, "title": "Where you stand", "description": "" }),
        )
        .await
        .expect("section");
    for field in [
        json!({ "label": "Your names", "required": true }),
        json!({ "label": "How ready do you feel?", "kind": "scale", "required": true, "scored": true }),
        json!({ "label": "Already booked", "kind": "multiple_choice", "options": "Venue | 3\nBand | 2\nFlowers", "scored": true }),
        json!({ "label": "Date", "kind": "date" }),
    ] {
        revision = add_field(owner, id, revision, field).await.expect("field");
    }
    owner
        .call_json::<i64>(
            "update_journey",
            json!({ "id": id, "revision": revision, "title": "Wedding plan", "description": "Step by step.", "published": true }),
        )
        .await
        .expect("publish");
    id
}

#[tokio::test]
async fn a_journey_is_built_then_filled_in_saved_as_a_draft_and_submitted_for_a_score() {
    let (app, owner, member) = setup().await;

    // Building: Owners, Admins and Editors; a Viewer may not.
    let refused = member.call_json::<Uuid>("create_journey", json!({ "title": "Mine", "description": "" })).await;
    assert_eq!(refused.unwrap_err().status, 403);
    let blank = owner.call_json::<Uuid>("create_journey", json!({ "title": " ", "description": "" })).await;
    assert_eq!(field_of(&blank.unwrap_err()), "title");
    let id: Uuid = owner
        .call_json("create_journey", json!({ "title": "Wedding plan", "description": "Step by step." }))
        .await
        .expect("create");
    // A draft is the builder's alone.
    assert_eq!(journey(&member, id).await.unwrap_err().status, 404);
    let list: Vec<JourneySummary> = member.call_json("journeys", json!({})).await.expect("list");
    assert!(list.is_empty());
    let empty = owner
        .call_json::<i64>(
            "update_journey",
            json!({ "id": id, "revision": 1, "title": "Wedding plan", "description": "", "published": true }),
        )
        .await;
    assert_eq!(field_of(&empty.unwrap_err()), "published", "nothing to fill in yet");
    let revision: i64 = owner
        .call_json(
            "add_journey_section",
            json!({ "id": id, "revision": 1, "title": "Where you stand", "description": "" }),
        )
        .await
        .expect("section");
    let wrong_kind = add_field(&owner, id, revision, json!({ "label": "Essay", "kind": "essay" })).await;
    assert_eq!(field_of(&wrong_kind.unwrap_err()), "kind");
    let one_option =
        add_field(&owner, id, revision, json!({ "label": "Pick", "kind": "single_choice", "options": "Only" })).await;
    assert_eq!(field_of(&one_option.unwrap_err()), "options");
    let revision =
        add_field(&owner, id, revision, json!({ "label": "Your names", "required": true })).await.expect("f1");
    // A change made from an older revision (another tab) is refused, not merged unseen.
    let stale = add_field(&owner, id, revision - 1, json!({ "label": "Lost" })).await.unwrap_err();
    assert_eq!(stale.status, 409);
    owner.call_json::<()>("delete_journey", json!({ "id": id })).await.expect("delete");
    assert_eq!(journey(&owner, id).await.unwrap_err().status, 404);

    let id = published(&owner).await;
    let list: Vec<JourneySummary> = member.call_json("journeys", json!({})).await.expect("list");
    assert_eq!((list.len(), list[0].sections, list[0].submitted, list[0].can_edit), (1, 1, 0, false));
    assert_eq!(list[0].creator, "Olivia Owner");

    // A draft keeps whatever was typed, even what would not pass yet.
    let draft = answer(&member, id, json!({ "f1": "Mia & Sam", "f2": "eleven" }), false).await.expect("draft");
    assert!(draft.problems.is_empty() && draft.submitted_at.is_none());
    let seen = journey(&member, id).await.expect("view");
    assert_eq!(seen.sections[0].answers.get("f2").map(String::as_str), Some("eleven"));
    assert_eq!(seen.sections[0].saved_at, Some(draft.saved_at));

    // Submitting names every problem and keeps the answers as a draft.
    let refused = answer(&member, id, json!({ "f2": "11", "f3": "Venue\nCake", "f4": "next June" }), true)
        .await
        .expect("checked");
    let named: Vec<&str> = refused.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(named, ["f1", "f2", "f3", "f4"]);
    assert_eq!(refused.problems[1].label, "How ready do you feel?");
    assert!(refused.problems[1].message.contains("1 to 10"), "{:?}", refused.problems[1]);
    assert!(refused.submitted_at.is_none());
    let seen = journey(&member, id).await.expect("view");
    assert_eq!(seen.sections[0].answers.get("f4").map(String::as_str), Some("next June"));

    let done = answer(&member, id, json!({ "f1": " Mia & Sam ", "f2": "7", "f3": "Venue\nFlowers" }), true)
        .await
        .expect("submitted");
    assert!(done.problems.is_empty());
    assert_eq!(done.score, Score { points: 10, max: 15 });
    assert_eq!(done.submitted_at, Some(app.clock_now().trunc_subsecs(6)));
    // Submitted is final.
    let again = answer(&member, id, json!({ "f1": "Other" }), false).await.unwrap_err();
    assert!(matches!(again.error, AppError::Conflict { .. }), "{:?}", again.error);
    let seen = journey(&member, id).await.expect("view");
    assert_eq!(seen.score, Score { points: 10, max: 15 });
    assert_eq!(seen.sections[0].answers.get("f1").map(String::as_str), Some("Mia & Sam"));
    assert!(seen.submissions.is_empty(), "a client sees only their own answers");
    let list: Vec<JourneySummary> = member.call_json("journeys", json!({})).await.expect("list");
    assert_eq!(list[0].submitted, 1);

    // The creator reads the submission, question by question.
    let built = journey(&owner, id).await.expect("view");
    assert_eq!(built.submissions.len(), 1);
    let submission = &built.submissions[0];
    assert_eq!((submission.client.as_str(), submission.section.as_str()), ("Mia Member", "Where you stand"));
    assert_eq!(submission.answers[2], ("Already booked".to_owned(), "Venue\nFlowers".to_owned()));

    // A member may not change someone else's journey; an Editor who did not write it neither.
    let revision = built.revision;
    let meddling = json!({ "id": id, "revision": revision, "title": "Mine now", "description": "", "published": true });
    assert_eq!(member.call_json::<i64>("update_journey", meddling.clone()).await.unwrap_err().status, 403);
    let org = owner.me().await.expect("me").active_org.expect("org").id;
    let editor = join(&app, &owner, org, "Eddie Editor", "eddie@example.com", "editor").await;
    assert_eq!(editor.call_json::<i64>("update_journey", meddling).await.unwrap_err().status, 403);
    assert_eq!(editor.call_json::<()>("delete_journey", json!({ "id": id })).await.unwrap_err().status, 403);
    assert!(journey(&editor, id).await.expect("view").submissions.is_empty());

    // Another organization does not see it at all.
    let stranger = app.signed_up("Stan Stranger", "stan@example.com").await;
    assert_eq!(journey(&stranger, id).await.unwrap_err().status, 404);
    assert_eq!(answer(&stranger, id, json!({ "f1": "x" }), false).await.unwrap_err().status, 404);
}

#[tokio::test]
async fn submitting_a_section_moves_the_members_sequences_waiting_for_that_event() {
    let (app, owner, member) = setup().await;
    app.give_plan(&member, "premium").await;
    let journey_id = published(&owner).await;
    let sequence: Uuid =
        owner.call_json("create_sequence", json!({ "title": "Follow-up", "template": null })).await.expect("create");
    let steps = vec![
        app::domain::sequence::Step {
            trigger: Trigger::Event { name: app::api::journeys::SECTION_SUBMITTED.into() },
            ..say("hello", "Thanks for filling in your section!")
        },
        step("done", StepKind::End { outcome: "completed".into() }),
    ];
    assert_eq!(save(&owner, sequence, &steps, Visibility::Organization).await.expect("save"), vec![]);
    let _: i32 = owner.call_json("publish_sequence", json!({ "id": sequence })).await.expect("publish");
    let sub: Uuid = member
        .call_json(
            "subscribe",
            json!({ "id": sequence, "preferences": PreferencesInput { timezone: "UTC".into(), ..Default::default() } }),
        )
        .await
        .expect("subscribe");
    assert!(bodies(&conversation(&member, sub).await).is_empty());

    // A draft, or a submission with problems, is not a submitted section.
    answer(&member, journey_id, json!({ "f1": "Mia" }), false).await.expect("draft");
    assert!(!answer(&member, journey_id, json!({ "f1": "Mia" }), true).await.expect("checked").problems.is_empty());
    assert!(bodies(&conversation(&member, sub).await).is_empty());

    answer(&member, journey_id, json!({ "f1": "Mia", "f2": "9" }), true).await.expect("submit");
    assert_eq!(bodies(&conversation(&member, sub).await), ["Thanks for filling in your section!"]);
}

pub(crate) async fn set_prices(
    client: &Client,
    id: Uuid,
    prices: &[(&str, &str, &str)],
) -> Result<Vec<TierPrice>, Failure> {
    let prices: Vec<Value> = prices
        .iter()
        .map(|(tier, interval, amount)| json!({ "tier": tier, "interval": interval, "amount": amount }))
        .collect();
    client.call_json("set_journey_prices", json!({ "id": id, "prices": prices })).await
}

async fn set_helper(
    client: &Client,
    id: Uuid,
    role: &str,
    helper: app::domain::UserId,
    rate: &str,
) -> Result<Vec<HelperView>, Failure> {
    client.call_json("set_journey_helper", json!({ "id": id, "role": role, "helper": helper, "rate": rate })).await
}

async fn set_mentor(
    client: &Client,
    id: Uuid,
    mentor: app::domain::UserId,
    rate: &str,
) -> Result<Vec<HelperView>, Failure> {
    set_helper(client, id, "mentor", mentor, rate).await
}

async fn ask_review(client: &Client, id: Uuid, mentor: app::domain::UserId) -> Result<ReviewView, Failure> {
    client.call_json("request_review", json!({ "id": id, "section": "s1", "mentor": mentor })).await
}

/// Mentor reviews: the creator assigns a member with the mentor role at a rate per review; a
/// Guided client asks for a review of a submitted section (an Essentials one may not); the mentor
/// completes it with feedback the client reads, and is paid the rate less the journey fee out of
/// the creator's balance, to the cent, then in a payout batch.
#[tokio::test]
async fn a_guided_client_asks_a_mentor_for_a_review_and_the_mentor_is_paid_from_the_creators_share() {
    let (app, owner, member) = setup().await;
    let sam = sysadmin(&app).await;
    let id = published(&owner).await;
    let me = owner.me().await.expect("me");
    let (org, olivia) = (me.active_org.expect("org").id, me.user_id);
    let store = &app.state.services.store;
    store.grant_capability(olivia, CapabilityRole::Creator).await.expect("creator");
    set_prices(&owner, id, &[("essentials", "month", "19"), ("guided", "month", "49")]).await.expect("prices");
    let maya = join(&app, &owner, org, "Maya Mentor", "maya@example.com", "viewer").await;
    let maya_id = maya.me().await.expect("me").user_id;

    // Mentors are members with the mentor role, assigned by the journey's creator at a rate.
    assert_eq!(field_of(&set_mentor(&owner, id, maya_id, "20").await.unwrap_err()), "helper");
    store.grant_capability(maya_id, CapabilityRole::Mentor).await.expect("mentor role");
    let view = journey(&owner, id).await.expect("view");
    assert_eq!(view.help.mentor_candidates.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["Maya Mentor"]);
    for bad in ["", "20.001", "1000.01", "lots"] {
        let err = set_mentor(&owner, id, maya_id, bad).await.unwrap_err();
        assert_eq!(field_of(&err), "helper_rate", "{bad:?}");
    }
    assert_eq!(set_mentor(&member, id, maya_id, "20").await.unwrap_err().status, 403);
    let mentors = set_mentor(&owner, id, maya_id, "20").await.expect("mentor");
    assert_eq!(mentors, [HelperView { id: maya_id, name: "Maya Mentor".into(), rate: 2_000, rating: None }]);

    // An Essentials client fills the journey in but has no reviews.
    let kim = join(&app, &owner, org, "Kim Client", "kim@example.com", "viewer").await;
    let c = checkout(&kim, &format!("journey:{id}:essentials:month"), "", "").await.expect("checkout");
    pay(&kim, c.id).await;
    let submission = json!({ "f1": "Kim", "f2": "7", "f3": "Venue" });
    answer(&kim, id, submission.clone(), true).await.expect("submit");
    let seen = journey(&kim, id).await.expect("view");
    assert!(!seen.help.reviews && seen.help.mentors.is_empty() && seen.help.mentor_candidates.is_empty());
    let refused = ask_review(&kim, id, maya_id).await.unwrap_err();
    assert!(matches!(refused.error, AppError::PlanLimit { .. }), "{:?}", refused.error);

    // A Guided client sees the mentors (not their rates) and asks for a review once submitted.
    let c = checkout(&member, &format!("journey:{id}:guided:month"), "", "").await.expect("checkout");
    pay(&member, c.id).await;
    let seen = journey(&member, id).await.expect("view");
    assert!(seen.help.reviews && !seen.help.sessions_open, "Guided brings reviews, not sessions");
    assert_eq!(seen.help.mentors, [HelperView { id: maya_id, name: "Maya Mentor".into(), rate: 0, rating: None }]);
    assert_eq!(ask_review(&member, id, maya_id).await.unwrap_err().status, 409, "not submitted yet");
    answer(&member, id, json!({ "f1": "Mia", "f2": "9", "f3": "Band" }), true).await.expect("submit");
    assert_eq!(field_of(&ask_review(&member, id, olivia).await.unwrap_err()), "mentor", "not a mentor of it");
    let asked = ask_review(&member, id, maya_id).await.expect("ask");
    assert_eq!((asked.mentor.as_str(), asked.completed), ("Maya Mentor", false));
    assert_eq!(ask_review(&member, id, maya_id).await.unwrap_err().status, 409, "once per section");
    let rate = |stars: i64| json!({ "id": asked.id, "rating": stars });
    let early = member.call_json::<()>("rate_review", rate(5)).await.unwrap_err();
    assert_eq!(early.status, 409, "not completed yet");
    let section = &journey(&member, id).await.expect("view").sections[0];
    assert_eq!(section.review.as_ref().map(|r| r.id), Some(asked.id));

    // The mentor is told and sees the client's answers with what the review pays them.
    let notes = store.notifications(maya_id, 10).await.expect("notes");
    assert!(notes.iter().any(|n| n.kind == "journey_help" && n.link == "/reviews"), "{notes:?}");
    let desk: MentorDesk = maya.call_json("mentor_reviews", json!({})).await.expect("desk");
    assert_eq!((desk.pending.len(), desk.completed.len(), desk.earned), (1, 0, 0));
    let task = &desk.pending[0];
    assert_eq!((task.client.as_str(), task.section.as_str(), task.pay), ("Mia Member", "Where you stand", 1_700));
    assert_eq!(task.answers[0], ("Your names".to_owned(), "Mia".to_owned()));
    let nothing: MentorDesk = owner.call_json("mentor_reviews", json!({})).await.expect("desk");
    assert!(nothing.pending.is_empty(), "a desk shows one's own reviews only");

    // Only that mentor completes it, with feedback, once: of two completions at once, one pays.
    let complete = |feedback: &str| json!({ "id": asked.id, "feedback": feedback });
    assert_eq!(owner.call_json::<()>("complete_review", complete("Fine")).await.unwrap_err().status, 403);
    let blank = maya.call_json::<()>("complete_review", complete("  ")).await.unwrap_err();
    assert_eq!(field_of(&blank), "feedback");
    let feedback = complete("Book the band first.\nThen the venue.");
    let (first, second) = tokio::join!(
        maya.call_json::<()>("complete_review", feedback.clone()),
        maya.call_json::<()>("complete_review", feedback.clone()),
    );
    let refused: Vec<u16> = [first, second].into_iter().filter_map(|r| r.err().map(|e| e.status)).collect();
    assert_eq!(refused, [409], "one completion, one refusal");
    let again = maya.call_json::<()>("complete_review", complete("Twice")).await.unwrap_err();
    assert_eq!(again.status, 409);
    let review = journey(&member, id).await.expect("view").sections[0].review.clone().expect("review");
    assert!(review.completed && review.completed_at.is_some());
    assert_eq!(review.feedback.as_deref(), Some("Book the band first.\nThen the venue."));

    // The client rates it once, 1 to 5 stars; clients choosing a mentor see the average.
    assert_eq!(field_of(&member.call_json::<()>("rate_review", rate(6)).await.unwrap_err()), "rating");
    assert_eq!(kim.call_json::<()>("rate_review", rate(5)).await.unwrap_err().status, 403);
    member.call_json::<()>("rate_review", rate(4)).await.expect("rate");
    assert_eq!(member.call_json::<()>("rate_review", rate(5)).await.unwrap_err().status, 409, "rated once");
    let seen = journey(&member, id).await.expect("view");
    assert_eq!(seen.sections[0].review.as_ref().and_then(|r| r.rating), Some(4));
    assert_eq!(seen.help.mentors[0].rating, Some(Rating { tenths: 40, count: 1 }));
    let notes = store.notifications(member.me().await.expect("me").user_id, 10).await.expect("notes");
    assert!(notes.iter().any(|n| n.kind == "journey_help" && n.link == format!("/journeys/{id}")), "{notes:?}");

    // Money: Olivia keeps 85% of $49 and of $19, less the $20 review; Maya receives $17.
    let desk: MentorDesk = maya.call_json("mentor_reviews", json!({})).await.expect("desk");
    assert_eq!((desk.pending.len(), desk.completed.len(), desk.earned), (0, 1, 1_700));
    assert_eq!((desk.completed[0].rating, desk.rating), (Some(4), Some(Rating { tenths: 40, count: 1 })));
    let sales: SalesView = owner.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.balance, 4_165 + 1_615 - 2_000);
    let earned: SalesView = maya.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(earned.balance, 1_700, "paid once");
    assert_eq!(store.ledger_entries(&format!("review:{}", asked.id)).await.expect("ledger").len(), 1);
    assert_eq!(ledger_total(&app).await, 0);
    // The business dashboard counts the fee kept on the review as the platform's revenue.
    let business: BusinessView = sam.call_json("admin_business", json!({})).await.expect("dashboard");
    let help = business.figures.by_product.iter().find(|l| l.key == "help:review").expect("help line");
    assert_eq!((help.revenue, help.platform, help.payments), (0, 300, 0));
    assert_eq!(business.names.get("help:review").map(String::as_str), Some("Journey fees on mentor reviews"));
    let month = business.figures.months.last().expect("this month");
    assert_eq!(month.platform, 4_900 - 4_165 + 1_900 - 1_615 + 300);
    let minimum = json!({ "amount": "15" });
    assert_eq!(sam.call_json::<i64>("admin_set_minimum_payout", minimum).await.expect("minimum"), 1_500);
    let payouts: Vec<PayoutView> = sam.call_json("admin_payout_batch", json!({})).await.expect("batch");
    let mut paid: Vec<(&str, i64)> = payouts.iter().map(|p| (p.email.as_str(), p.amount)).collect();
    paid.sort_unstable();
    assert_eq!(paid, [("maya@example.com", 1_700), ("olivia@example.com", 3_780)]);

    // Taking a mentor off the journey leaves no one to ask.
    let left: Vec<HelperView> = owner
        .call_json("remove_journey_helper", json!({ "id": id, "role": "mentor", "helper": maya_id }))
        .await
        .expect("remove");
    assert!(left.is_empty());
    assert_eq!(ask_review(&kim, id, maya_id).await.unwrap_err().status, 403);

    // Both changes to the journey's helpers are in the organization's audit log.
    let log: Vec<AuditEntryView> = owner.call("audit_log", &[("org_id", &org.to_string())]).await.expect("audit");
    let entry = |action: &str| log.iter().find(|e| e.action == action).unwrap_or_else(|| panic!("{action} missing"));
    let assigned = entry("journey.helper");
    assert_eq!(
        (assigned.target.as_str(), assigned.actor.as_deref()),
        (id.to_string().as_str(), Some("olivia@example.com"))
    );
    let after = assigned.after.as_ref().expect("after");
    assert_eq!((after["role"].as_str(), after["rate"].as_i64()), (Some("mentor"), Some(2_000)));
    let removed = entry("journey.helper_removed").before.as_ref().expect("before");
    assert_eq!(removed["helper"], json!(maya_id));
}

async fn ask_session(
    client: &Client,
    id: Uuid,
    concierge: app::domain::UserId,
    starts_at: &str,
    topic: &str,
) -> Result<SessionView, Failure> {
    let ask = json!({ "id": id, "concierge": concierge, "starts_at": starts_at, "topic": topic });
    client.call_json("request_session", ask).await
}

/// Concierge sessions: the creator assigns a concierge at a rate per session; a Premium client
/// (not a Guided one) asks for a session at a time in their own timezone; the concierge confirms
/// it, then completes it with notes the client reads, and is paid the rate less the journey fee
/// out of the creator's balance.
#[tokio::test]
async fn a_premium_client_books_a_concierge_session_and_the_concierge_is_paid_once_it_is_completed() {
    let (app, owner, member) = setup().await;
    let id = published(&owner).await;
    let me = owner.me().await.expect("me");
    let (org, olivia) = (me.active_org.expect("org").id, me.user_id);
    let store = &app.state.services.store;
    store.grant_capability(olivia, CapabilityRole::Creator).await.expect("creator");
    set_prices(&owner, id, &[("guided", "month", "49"), ("premium", "month", "99")]).await.expect("prices");
    let conrad = join(&app, &owner, org, "Conrad Concierge", "conrad@example.com", "viewer").await;
    let conrad_id = conrad.me().await.expect("me").user_id;
    assert_eq!(field_of(&set_helper(&owner, id, "concierge", conrad_id, "40").await.unwrap_err()), "helper");
    store.grant_capability(conrad_id, CapabilityRole::Concierge).await.expect("concierge role");
    assert_eq!(field_of(&set_helper(&owner, id, "creator", conrad_id, "40").await.unwrap_err()), "role");
    let concierges = set_helper(&owner, id, "concierge", conrad_id, "40").await.expect("concierge");
    assert_eq!(concierges, [HelperView { id: conrad_id, name: "Conrad Concierge".into(), rate: 4_000, rating: None }]);
    assert!(journey(&owner, id).await.expect("view").help.mentors.is_empty(), "a concierge is no mentor");

    // Sessions come with Premium, not Guided.
    let kim = join(&app, &owner, org, "Kim Client", "kim@example.com", "viewer").await;
    let c = checkout(&kim, &format!("journey:{id}:guided:month"), "", "").await.expect("checkout");
    pay(&kim, c.id).await;
    assert!(!journey(&kim, id).await.expect("view").help.sessions_open);
    let refused = ask_session(&kim, id, conrad_id, "2030-01-01T10:00", "Venues").await.unwrap_err();
    assert!(matches!(refused.error, AppError::PlanLimit { .. }), "{:?}", refused.error);

    // A Premium client in Tokyo asks for a time in three days, read in their timezone.
    let mia_id = member.me().await.expect("me").user_id;
    store.update_profile(mia_id, "Mia Member", "Asia/Tokyo").await.expect("timezone");
    let c = checkout(&member, &format!("journey:{id}:premium:month"), "", "").await.expect("checkout");
    pay(&member, c.id).await;
    let seen = journey(&member, id).await.expect("view");
    assert!(seen.help.sessions_open && seen.help.reviews, "Premium brings both");
    assert_eq!(
        seen.help.concierges,
        [HelperView { id: conrad_id, name: "Conrad Concierge".into(), rate: 0, rating: None }]
    );
    let now = app::ports::Clock::now(&app.clock);
    let later = now + chrono::Duration::days(3);
    let in_tokyo = (later + chrono::Duration::hours(9)).format("%Y-%m-%dT%H:%M").to_string();
    let past = (now - chrono::Duration::hours(1) + chrono::Duration::hours(9)).format("%Y-%m-%dT%H:%M").to_string();
    let bad = |e: Failure| field_of(&e).to_owned();
    assert_eq!(bad(ask_session(&member, id, conrad_id, "soon", "Venues").await.unwrap_err()), "starts_at");
    assert_eq!(bad(ask_session(&member, id, conrad_id, &past, "Venues").await.unwrap_err()), "starts_at");
    assert_eq!(bad(ask_session(&member, id, conrad_id, &in_tokyo, " ").await.unwrap_err()), "topic");
    assert_eq!(bad(ask_session(&member, id, olivia, &in_tokyo, "Venues").await.unwrap_err()), "concierge");
    let session = ask_session(&member, id, conrad_id, &in_tokyo, "Choosing a venue").await.expect("ask");
    assert_eq!(session.starts_at, later.trunc_subsecs(0) - chrono::Duration::seconds(i64::from(later.second())));
    assert_eq!((session.status.as_str(), session.concierge.as_str()), ("requested", "Conrad Concierge"));
    let notes = store.notifications(conrad_id, 10).await.expect("notes");
    assert!(notes.iter().any(|n| n.link == "/sessions"), "{notes:?}");

    // The concierge confirms, then completes with notes; only they, in that order, once.
    let desk: ConciergeDesk = conrad.call_json("concierge_sessions", json!({})).await.expect("desk");
    assert_eq!((desk.requested.len(), desk.requested[0].pay), (1, 3_400));
    assert_eq!(desk.requested[0].client, "Mia Member");
    let session_id = json!({ "id": session.id });
    let complete = |notes: &str| json!({ "id": session.id, "notes": notes });
    assert_eq!(conrad.call_json::<()>("complete_session", complete("Early")).await.unwrap_err().status, 409);
    assert_eq!(owner.call_json::<()>("confirm_session", session_id.clone()).await.unwrap_err().status, 403);
    conrad.call_json::<()>("confirm_session", session_id.clone()).await.expect("confirm");
    assert_eq!(conrad.call_json::<()>("confirm_session", session_id).await.unwrap_err().status, 409);
    assert_eq!(journey(&member, id).await.expect("view").help.sessions[0].status, "confirmed");
    assert_eq!(field_of(&conrad.call_json::<()>("complete_session", complete("")).await.unwrap_err()), "notes");
    conrad.call_json::<()>("complete_session", complete("Visit the two barns on Saturday.")).await.expect("done");
    assert_eq!(conrad.call_json::<()>("complete_session", complete("Again")).await.unwrap_err().status, 409);
    let mine = journey(&member, id).await.expect("view").help.sessions;
    assert_eq!(
        (mine[0].status.as_str(), mine[0].notes.as_deref()),
        ("completed", Some("Visit the two barns on Saturday."))
    );
    let rate = json!({ "id": session.id, "rating": 5 });
    assert_eq!(conrad.call_json::<()>("rate_session", rate.clone()).await.unwrap_err().status, 403, "the client rates");
    member.call_json::<()>("rate_session", rate.clone()).await.expect("rate");
    assert_eq!(member.call_json::<()>("rate_session", rate).await.unwrap_err().status, 409);

    // Money: Conrad receives $34; Olivia keeps 85% of $49 and $99, less the $40 session.
    let desk: ConciergeDesk = conrad.call_json("concierge_sessions", json!({})).await.expect("desk");
    assert_eq!((desk.requested.len(), desk.confirmed.len(), desk.completed.len(), desk.earned), (0, 0, 1, 3_400));
    assert_eq!(desk.rating, Some(Rating { tenths: 50, count: 1 }));
    let earned: SalesView = conrad.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(earned.balance, 3_400);
    let sales: SalesView = owner.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.balance, 4_165 + 8_415 - 4_000);
    assert_eq!(ledger_total(&app).await, 0);
}

/// Either side calls a session off: the client until it begins, the concierge until they
/// complete it; the other side is told, and a canceled session is neither confirmed nor paid. A
/// client has at most three sessions of a journey open at a time.
#[tokio::test]
async fn either_side_cancels_a_session_and_a_client_keeps_at_most_three_open() {
    let (app, owner, member) = setup().await;
    let id = published(&owner).await;
    let me = owner.me().await.expect("me");
    let (org, olivia) = (me.active_org.expect("org").id, me.user_id);
    let store = &app.state.services.store;
    store.grant_capability(olivia, CapabilityRole::Creator).await.expect("creator");
    let conrad = join(&app, &owner, org, "Conrad Concierge", "conrad@example.com", "viewer").await;
    let conrad_id = conrad.me().await.expect("me").user_id;
    store.grant_capability(conrad_id, CapabilityRole::Concierge).await.expect("concierge role");
    set_helper(&owner, id, "concierge", conrad_id, "40").await.expect("concierge");
    let mia_id = member.me().await.expect("me").user_id;

    // On a free journey every member may ask; three open sessions at most.
    let now = app::ports::Clock::now(&app.clock);
    let at = |days: i64| (now + chrono::Duration::days(days)).format("%Y-%m-%dT%H:%M").to_string();
    let mut asked = Vec::new();
    for (day, topic) in [(1, "Venues"), (2, "Budget"), (3, "Guests")] {
        asked.push(ask_session(&member, id, conrad_id, &at(day), topic).await.expect("ask"));
    }
    assert!(asked.iter().all(|s| s.can_cancel && s.canceled_by.is_none()));
    let fourth = ask_session(&member, id, conrad_id, &at(4), "Music").await.unwrap_err();
    assert_eq!(fourth.status, 409, "{:?}", fourth.error);
    assert!(fourth.error.to_string().contains("cancel one"), "{}", fourth.error);

    // Only the client or the concierge calls a session off.
    let cancel = |id: Uuid| json!({ "id": id });
    assert_eq!(owner.call_json::<()>("cancel_session", cancel(asked[0].id)).await.unwrap_err().status, 403);
    assert_eq!(member.call_json::<()>("cancel_session", cancel(Uuid::now_v7())).await.unwrap_err().status, 404);

    // The client cancels one: the concierge is told, and the client may ask again.
    member.call_json::<()>("cancel_session", cancel(asked[0].id)).await.expect("client cancels");
    assert_eq!(member.call_json::<()>("cancel_session", cancel(asked[0].id)).await.unwrap_err().status, 409);
    let notes = store.notifications(conrad_id, 10).await.expect("notes");
    assert!(notes.iter().any(|n| n.title == "A session was canceled" && n.link == "/sessions"), "{notes:?}");
    let confirm = conrad.call_json::<()>("confirm_session", cancel(asked[0].id)).await.unwrap_err();
    assert_eq!((confirm.status, confirm.error.to_string().contains("canceled")), (409, true), "{}", confirm.error);
    // Room for one more: of two requests at once, one is stored.
    let fourth_day = at(4);
    let (first, second) = tokio::join!(
        ask_session(&member, id, conrad_id, &fourth_day, "Music"),
        ask_session(&member, id, conrad_id, &fourth_day, "Music"),
    );
    let refused: Vec<u16> = [&first, &second].iter().filter_map(|r| r.as_ref().err().map(|e| e.status)).collect();
    assert_eq!(refused, [409], "one stored, one refused");
    asked.push(first.or(second).expect("room for one more"));

    // The concierge declines one and cancels a confirmed one; the client is told each time.
    conrad.call_json::<()>("cancel_session", cancel(asked[1].id)).await.expect("concierge declines");
    conrad.call_json::<()>("confirm_session", cancel(asked[2].id)).await.expect("confirm");
    conrad.call_json::<()>("cancel_session", cancel(asked[2].id)).await.expect("concierge cancels");
    let complete = json!({ "id": asked[2].id, "notes": "Too late" });
    assert_eq!(conrad.call_json::<()>("complete_session", complete).await.unwrap_err().status, 409);
    let notes = store.notifications(mia_id, 10).await.expect("notes");
    let rate = json!({ "id": asked[1].id, "rating": 3 });
    assert_eq!(member.call_json::<()>("rate_session", rate).await.unwrap_err().status, 409, "nothing to rate");
    let told = notes.iter().filter(|n| n.title == "Your session was canceled").count();
    assert_eq!(told, 2, "{notes:?}");

    let mine = journey(&member, id).await.expect("view").help.sessions;
    let seen: Vec<(&str, &str, Option<&str>, bool)> =
        mine.iter().map(|s| (s.topic.as_str(), s.status.as_str(), s.canceled_by.as_deref(), s.can_cancel)).collect();
    assert_eq!(
        seen,
        [
            ("Venues", "canceled", Some("you"), false),
            ("Budget", "canceled", Some("Conrad Concierge"), false),
            ("Guests", "canceled", Some("Conrad Concierge"), false),
            ("Music", "requested", None, true),
        ]
    );
    let desk: ConciergeDesk = conrad.call_json("concierge_sessions", json!({})).await.expect("desk");
    let canceled: Vec<(&str, Option<&str>)> =
        desk.canceled.iter().map(|t| (t.topic.as_str(), t.canceled_by.as_deref())).collect();
    assert_eq!(canceled, [("Guests", Some("you")), ("Budget", Some("you")), ("Venues", Some("Mia Member"))]);
    assert_eq!((desk.requested.len(), desk.confirmed.len(), desk.completed.len(), desk.earned), (1, 0, 0, 0));

    // Once a session has begun, only the concierge calls it off.
    conrad.call_json::<()>("confirm_session", cancel(asked[3].id)).await.expect("confirm");
    // Before it begins the client moves it: asked for again, the concierge told to confirm it.
    let later = (now + chrono::Duration::days(4) + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M").to_string();
    let move_to = |at: &str| json!({ "id": asked[3].id, "starts_at": at });
    assert_eq!(conrad.call_json::<SessionView>("move_session", move_to(&later)).await.unwrap_err().status, 403);
    let past = member.call_json::<SessionView>("move_session", move_to(&at(-1))).await.unwrap_err();
    assert_eq!(field_of(&past), "starts_at");
    let moved: SessionView = member.call_json("move_session", move_to(&later)).await.expect("move");
    assert_eq!(
        (moved.status.as_str(), moved.starts_at - asked[3].starts_at),
        ("requested", chrono::Duration::hours(3))
    );
    let notes = store.notifications(conrad_id, 10).await.expect("notes");
    assert!(notes.iter().any(|n| n.title == "A session was moved" && n.link == "/sessions"), "{notes:?}");
    conrad.call_json::<()>("confirm_session", cancel(asked[3].id)).await.expect("confirm the new time");
    app.clock.advance(chrono::Duration::days(5));
    for (client, email) in [(&member, "mia@example.com"), (&conrad, "conrad@example.com")] {
        // Five idle days ended their sign-ins.
        client.sign_in(email, PASSWORD).await.expect("sign in");
        client.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    }
    let begun = journey(&member, id).await.expect("view").help.sessions;
    assert!(!begun[3].can_cancel);
    let late = member.call_json::<()>("cancel_session", cancel(asked[3].id)).await.unwrap_err();
    assert_eq!(late.status, 409);
    let late_move = member.call_json::<SessionView>("move_session", move_to(&at(7))).await.unwrap_err();
    assert_eq!(late_move.status, 409, "begun");
    conrad.call_json::<()>("cancel_session", cancel(asked[3].id)).await.expect("no-show");
    assert_eq!(ledger_total(&app).await, 0);
}

#[tokio::test]
async fn a_creator_sells_a_journey_in_tiers_and_the_platform_keeps_the_journey_fee() {
    let (app, owner, member) = setup().await;
    let sam = sysadmin(&app).await;
    let id = published(&owner).await;
    let org = owner.me().await.expect("me").active_org.expect("org").id;

    // Selling needs creator tools (the Creator role or a plan with them).
    let refused = set_prices(&owner, id, &[("essentials", "month", "19")]).await.unwrap_err();
    assert_eq!(refused.status, 403);
    let olivia = owner.me().await.expect("me").user_id;
    app.state.services.store.grant_capability(olivia, CapabilityRole::Creator).await.expect("creator");
    // Every price is checked before any is stored; each problem is named on its own field.
    let bad = set_prices(&owner, id, &[("essentials", "month", "19"), ("guided", "year", "12.345")]).await.unwrap_err();
    assert_eq!(field_of(&bad), "price_guided_year");
    let too_low = set_prices(&owner, id, &[("premium", "month", "0.50")]).await.unwrap_err();
    assert_eq!(field_of(&too_low), "price_premium_month");
    assert!(journey(&owner, id).await.expect("view").prices.is_empty());
    // Someone else cannot sell it, even through a direct call.
    assert_eq!(set_prices(&member, id, &[("essentials", "month", "1")]).await.unwrap_err().status, 403);
    let prices = set_prices(
        &owner,
        id,
        &[("essentials", "month", "19"), ("guided", "month", "29"), ("guided", "year", "290"), ("premium", "year", "")],
    )
    .await
    .expect("prices");
    let sold: Vec<(Tier, Interval, i64)> = prices.iter().map(|p| (p.tier, p.interval, p.amount)).collect();
    assert_eq!(
        sold,
        [
            (Tier::Essentials, Interval::Month, 1_900),
            (Tier::Guided, Interval::Month, 2_900),
            (Tier::Guided, Interval::Year, 29_000)
        ]
    );
    let owner_view = journey(&owner, id).await.expect("view");
    assert!(owner_view.access && owner_view.is_seller);
    assert_eq!(owner_view.fee_bps, 1_500);

    // A member who has not bought a tier sees the tiers, not the questions' answers form.
    let list: Vec<JourneySummary> = member.call_json("journeys", json!({})).await.expect("list");
    assert_eq!(list[0].from_price, Some(1_900));
    let seen = journey(&member, id).await.expect("view");
    assert!(!seen.access && !seen.is_seller);
    assert_eq!(seen.prices.len(), 3);
    let locked = answer(&member, id, json!({ "f1": "Mia" }), false).await.unwrap_err();
    assert_eq!(locked.status, 403);
    assert!(matches!(locked.error, AppError::PlanLimit { .. }), "{:?}", locked.error);
    let unsold = checkout(&member, &format!("journey:{id}:premium:month"), "", "").await.unwrap_err();
    assert_eq!(field_of(&unsold), "product");
    assert_eq!(checkout(&owner, &format!("journey:{id}:guided:year"), "", "").await.unwrap_err().status, 409);

    let c = checkout(&member, &format!("journey:{id}:guided:year"), "", "").await.expect("checkout");
    assert_eq!((c.amount, c.interval, c.return_to.clone()), (29_000, Some(Interval::Year), format!("/journeys/{id}")));
    pay(&member, c.id).await;
    assert!(journey(&member, id).await.expect("view").access, "bought");
    answer(&member, id, json!({ "f1": "Mia" }), false).await.expect("draft");
    let again = checkout(&member, &format!("journey:{id}:essentials:month"), "", "").await.unwrap_err();
    assert_eq!(again.status, 409, "one tier is enough");

    // The creator receives all but the 15% journey fee (the built-in provider charges nothing).
    let sales: SalesView = owner.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.sales[0].gross, sales.sales[0].share, sales.sales[0].platform_fee), (29_000, 24_650, 4_350));

    // A platform admin sets the fee; sales from then on are split at it.
    let fee = json!({ "percent": "10" });
    assert_eq!(owner.call_json::<u32>("admin_set_journey_fee", fee.clone()).await.unwrap_err().status, 403);
    let over = sam.call_json::<u32>("admin_set_journey_fee", json!({ "percent": "60" })).await.unwrap_err();
    assert_eq!(field_of(&over), "journey_fee");
    assert_eq!(sam.call_json::<u32>("admin_set_journey_fee", fee).await.expect("fee"), 1_000);
    let admin: AdminBillingView = sam.call_json("admin_billing", json!({})).await.expect("admin");
    assert_eq!(admin.journey_fee_bps, 1_000);
    let kim = join(&app, &owner, org, "Kim Client", "kim@example.com", "viewer").await;
    let c = checkout(&kim, &format!("journey:{id}:essentials:month"), "", "").await.expect("checkout");
    pay(&kim, c.id).await;
    let sales: SalesView = owner.call_json("my_sales", json!({})).await.expect("sales");
    let kims = sales.sales.iter().find(|s| s.gross == 1_900).expect("kim's sale");
    assert_eq!((kims.share, kims.platform_fee), (1_710, 190));
    assert_eq!(sales.balance, 24_650 + 1_710);
    assert_eq!(ledger_total(&app).await, 0);

    // Access lasts the period bought: a month for Kim, a year for Mia.
    app.clock.advance(chrono::Duration::days(40));
    kim.sign_in("kim@example.com", PASSWORD).await.expect("sign in again");
    member.sign_in("mia@example.com", PASSWORD).await.expect("sign in again");
    assert!(!journey(&kim, id).await.expect("view").access, "the month is over");
    assert!(journey(&member, id).await.expect("view").access, "the year is not");
}

/// A monthly tier bought through Stripe renews through Stripe's invoices: each renewal is a sale
/// split at the journey fee and extends access to the end of its period, once.
#[tokio::test]
async fn a_journey_tier_bought_through_stripe_renews_with_the_creators_share() {
    let secret = "whsec_journey";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec![secret.into()]).await;
    let services = &app.state.services;
    let owner = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await.id;
    owner.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let member = join(&app, &owner, org, "Mia Member", "mia@example.com", "viewer").await;
    let olivia = owner.me().await.expect("me").user_id;
    services.store.grant_capability(olivia, CapabilityRole::Creator).await.expect("creator");
    let id = published(&owner).await;
    set_prices(&owner, id, &[("essentials", "month", "10")]).await.expect("prices");
    let product = format!("journey:{id}:essentials:month");
    let c = checkout(&member, &product, "", "").await.expect("checkout");

    let now = app.clock_now().timestamp();
    let deliver = async |event: String| post_signed(&app, secret, &event).await;
    let process = || async { app::api::billing::process_stripe_events(services).await.expect("process") };
    let metadata = json!({ "cairn_checkout": c.id, "cairn_product": product,
        "cairn_org": org, "cairn_user": "00000000-0000-0000-0000-000000000000" });
    deliver(stripe_event(
        "evt_paid",
        "checkout.session.completed",
        now,
        json!({ "id": "cs_test_j", "object": "checkout.session", "client_reference_id": c.id,
            "amount_total": 1_000, "currency": "usd", "mode": "subscription", "payment_status": "paid",
            "payment_intent": null, "subscription": "sub_journey", "status": "complete" }),
    ))
    .await;
    let first = stripe_invoice("in_first", "sub_journey", &metadata, "subscription_create", 1_000);
    deliver(stripe_event("evt_first_invoice", "invoice.paid", now + 1, first)).await;
    assert_eq!(process().await, 2);
    assert!(journey(&member, id).await.expect("view").access, "bought");

    let mut renewal = stripe_invoice("in_renewal", "sub_journey", &metadata, "subscription_cycle", 1_000);
    renewal["lines"] = json!({ "object": "list", "data": [{ "id": "il_1", "object": "line_item", "amount": 1_000,
        "period": { "start": now + 30 * 86_400, "end": now + 60 * 86_400 } }] });
    deliver(stripe_event("evt_renewed", "invoice.paid", now + 2, renewal.clone())).await;
    // Delivered again under another event id: still one renewal.
    deliver(stripe_event("evt_renewed_again", "invoice.paid", now + 3, renewal)).await;
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(process().await, 2);

    let sales: SalesView = owner.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.sales.len(), 2, "the first month and one renewal");
    // Each $10.00 less Stripe's 59¢, 85% of the rest: $8.00 twice (rounded to the cent, never lost).
    for sale in &sales.sales {
        assert_eq!((sale.gross, sale.share, sale.status.as_str()), (1_000, 800, "paid"));
    }
    assert_eq!(sales.balance, 2 * 800);
    assert_eq!(ledger_total(&app).await, 0);
    // Five weeks on, the first month is over; the renewal's period is not.
    app.clock.advance(chrono::Duration::days(35));
    member.sign_in("mia@example.com", PASSWORD).await.expect("sign in again");
    assert!(journey(&member, id).await.expect("view").access, "the renewal extends access");
    app.clock.advance(chrono::Duration::days(30));
    member.sign_in("mia@example.com", PASSWORD).await.expect("sign in again");
    assert!(!journey(&member, id).await.expect("view").access, "access ends with the renewal's period");
}

#[tokio::test]
async fn questions_and_sections_are_changed_and_reordered_and_answers_stay_with_their_question() {
    let (_app, owner, member) = setup().await;
    let id = published(&owner).await;
    answer(&member, id, json!({ "f1": "Mia & Sam" }), false).await.expect("draft");
    let revision = journey(&owner, id).await.expect("view").revision;
    let edit = |revision: i64, field: &str, input: Value| {
        let base =
            json!({ "label": "", "kind": "short_text", "required": false, "help": "", "options": "", "scored": false });
        let mut merged = base.as_object().cloned().unwrap();
        merged.extend(input.as_object().cloned().unwrap());
        json!({ "id": id, "revision": revision, "section": "s1", "field": field, "question": merged })
    };

    // A bad change names its field and changes nothing.
    let bad = owner
        .call_json::<i64>(
            "update_journey_field",
            edit(revision, "f1", json!({ "label": "Names", "kind": "dropdown", "options": "One" })),
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad), "options");
    assert_eq!(
        member
            .call_json::<i64>("update_journey_field", edit(revision, "f1", json!({ "label": "Mine" })))
            .await
            .unwrap_err()
            .status,
        403
    );
    let missing = owner.call_json::<i64>("update_journey_field", edit(revision, "f9", json!({ "label": "X" }))).await;
    assert_eq!(missing.unwrap_err().status, 404);
    let revision: i64 = owner
        .call_json(
            "update_journey_field",
            edit(
                revision,
                "f1",
                json!({ "label": "Both your names", "required": true, "help": "As on the invitation." }),
            ),
        )
        .await
        .expect("edit");
    let seen = journey(&member, id).await.expect("view");
    let f1 = &seen.sections[0].section.fields[0];
    assert_eq!(
        (f1.id.as_str(), f1.label.as_str(), f1.help.as_str()),
        ("f1", "Both your names", "As on the invitation.")
    );
    assert_eq!(seen.sections[0].answers.get("f1").map(String::as_str), Some("Mia & Sam"), "the answer stays");

    // Questions move within their section, sections within the journey; past an end nothing moves.
    let shift = |revision: i64, section: &str, field: Option<&str>, up: bool| json!({ "id": id, "revision": revision, "section": section, "field": field, "up": up });
    let revision: i64 =
        owner.call_json("move_journey_item", shift(revision, "s1", Some("f1"), false)).await.expect("down");
    let revision: i64 =
        owner.call_json("move_journey_item", shift(revision, "s1", Some("f4"), false)).await.expect("end");
    let stale = owner.call_json::<i64>("move_journey_item", shift(revision - 1, "s1", Some("f2"), true)).await;
    assert_eq!(stale.unwrap_err().status, 409);
    assert_eq!(
        member.call_json::<i64>("move_journey_item", shift(revision, "s1", None, true)).await.unwrap_err().status,
        403
    );
    let revision: i64 = owner
        .call_json(
            "add_journey_section",
            json!({ "id": id, "revision": revision, "title": "The day", "description": "" }),
        )
        .await
        .expect("section");
    owner.call_json::<i64>("move_journey_item", shift(revision, "s2", None, true)).await.expect("up");
    let seen = journey(&member, id).await.expect("view");
    let order: Vec<&str> = seen.sections.iter().map(|s| s.section.id.as_str()).collect();
    assert_eq!(order, ["s2", "s1"]);
    let fields: Vec<&str> = seen.sections[1].section.fields.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(fields, ["f2", "f1", "f3", "f4"]);
    assert_eq!(seen.sections[1].answers.get("f1").map(String::as_str), Some("Mia & Sam"));
}
