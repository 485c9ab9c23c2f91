//! Seats: an organization holds as many people — members and pending invitations — as its plan
//! allows (the free plan's five, or the seats it pays for); its owner buys a plan by the seat,
//! adds and removes seats, and cancels it.

use crate::orgs::{create_org, join};
use crate::support::{Client, Failure, PASSWORD, TestApp, field_of};
use app::api::billing::{CheckoutView, OrgPlanView};
use app::domain::OrgId;
use app::domain::billing::{Boost, Quota};
use app::dto::{InvitationView, OrgSummary};
use app::error::AppError;
use chrono::Duration;
use serde_json::json;

async fn invite(client: &Client, org: OrgId, email: &str) -> Result<InvitationView, Failure> {
    client.call("invite", &[("org_id", &org.to_string()), ("email", email), ("role", "viewer")]).await
}

async fn plan_of(client: &Client, org: OrgId) -> OrgPlanView {
    client.call_json("org_plan", json!({ "org_id": org })).await.expect("org plan")
}

async fn choose(client: &Client, org: OrgId, plan: &str, seats: &str) -> Result<Option<CheckoutView>, Failure> {
    client
        .call_json("choose_org_plan", json!({ "org_id": org, "plan": plan, "seats": seats, "interval": "month" }))
        .await
}

async fn pay(client: &Client, c: &CheckoutView) {
    let paid: CheckoutView = client.call_json("pay_checkout", json!({ "id": c.id })).await.expect("pay");
    assert_eq!(paid.status, "paid");
}

fn plan_limit(failure: &Failure) -> (&str, Option<&str>) {
    assert_eq!(failure.status, 403, "{:?}", failure.error);
    match &failure.error {
        AppError::PlanLimit { message, upgrade } => (message, upgrade.as_ref().map(|u| u.plan.as_str())),
        other => panic!("expected a plan limit, got {other:?}"),
    }
}

#[tokio::test]
async fn an_organization_holds_the_seats_of_its_plan_and_its_owner_buys_more() {
    let app = TestApp::spawn().await;
    let olivia = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&olivia, "Acme").await.id;
    let adam = join(&app, &olivia, org, "Adam Admin", "adam@example.com", "admin").await;

    // The free plan seats five, and a member boost one more for a day: two members and four
    // invitations fill them.
    let now = app.clock_now();
    let boost = app::ports::BoostRecord {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        boost: Boost { quota: Quota::Members, extra: 1 },
        reason: "a workshop".into(),
        expires_at: now + Duration::days(1),
        created_by: None,
        created_at: now,
    };
    app.state.services.store.add_boost(&boost).await.expect("boost");
    for n in 1..=4 {
        invite(&adam, org, &format!("guest{n}@example.com")).await.expect("invite");
    }
    let free = plan_of(&adam, org).await;
    assert_eq!((free.plan_code.as_str(), free.seats, free.limit), ("free", None, Some(6)));
    assert_eq!((free.members, free.pending), (2, 4));
    assert!(!free.may_manage, "an admin manages members, not billing");
    let full = invite(&adam, org, "guest5@example.com").await.unwrap_err();
    let (message, upgrade) = plan_limit(&full);
    assert!(message.starts_with("All 6 seats of Acme are taken (2 members, 4 pending invitations)"), "{message}");
    assert_eq!(upgrade, Some("team"));

    // The boost ends: those invited may join while seats are free, then no more.
    app.clock.advance(Duration::days(2));
    olivia.sign_in("olivia@example.com", PASSWORD).await.expect("sign in again");
    adam.sign_in("adam@example.com", PASSWORD).await.expect("sign in again");
    let mut guests = Vec::new();
    for n in 1..=4 {
        let email = format!("guest{n}@example.com");
        let token = app.mail.token_for(&email, "invite?token=").await;
        let guest = app.signed_up(&format!("Guest {n}"), &email).await;
        let accepted = guest.call::<OrgSummary>("accept_invitation", &[("token", &token)]).await;
        guests.push((guest, token, accepted));
    }
    assert!(guests[..3].iter().all(|(_, _, accepted)| accepted.is_ok()));
    let refused = guests[3].2.as_ref().unwrap_err();
    assert_eq!(plan_limit(refused).0, "Acme has no free seat for you: ask its owner to add seats.");

    // Only the owner buys seats, of a plan sold by the seat, within its range.
    assert_eq!(choose(&adam, org, "team", "8").await.unwrap_err().status, 403);
    let outsider = app.signed_up("Oscar Outsider", "oscar@example.com").await;
    assert_eq!(choose(&outsider, org, "team", "8").await.unwrap_err().status, 404);
    assert_eq!(outsider.call_json::<OrgPlanView>("org_plan", json!({ "org_id": org })).await.unwrap_err().status, 404);
    for (plan, seats, field) in [
        ("premium", "8", "plan"),
        ("team", "4", "seats"),
        ("team", "51", "seats"),
        ("team", "eight", "seats"),
        ("enterprise", "50", "seats"),
    ] {
        assert_eq!(field_of(&choose(&olivia, org, plan, seats).await.unwrap_err()), field, "{plan}, {seats} seats");
    }

    // Eight seats of Team: $12 each a month, paid through the checkout.
    let c = choose(&olivia, org, "team", "8").await.expect("choose").expect("a checkout");
    assert_eq!((c.amount, c.return_to.as_str()), (9_600, "/org/members"));
    pay(&olivia, &c).await;
    let team = plan_of(&olivia, org).await;
    assert_eq!((team.plan_code.as_str(), team.seats, team.limit, team.members), ("team", Some(8), Some(8), 5));
    assert!(team.next.starts_with("Renews on") && team.next.ends_with("for $96.00."), "{}", team.next);
    assert!(team.may_manage && !team.given_by_admin && !team.billed_by_stripe);
    let (guest4, token, _) = &guests[3];
    guest4.call::<OrgSummary>("accept_invitation", &[("token", token)]).await.expect("a seat is free now");
    for n in 5..=6 {
        invite(&adam, org, &format!("guest{n}@example.com")).await.expect("invite");
    }
    plan_limit(&invite(&adam, org, "guest7@example.com").await.unwrap_err());

    // Not fewer seats than people, nor the same again; more pay the difference for the rest of
    // the period (all of it: the clock has not moved since).
    assert_eq!(field_of(&choose(&olivia, org, "team", "7").await.unwrap_err()), "seats");
    assert_eq!(field_of(&choose(&olivia, org, "team", "8").await.unwrap_err()), "seats");
    let more = choose(&olivia, org, "team", "10").await.expect("choose").expect("a checkout");
    assert_eq!(more.amount, 2_400);
    pay(&olivia, &more).await;
    assert_eq!(plan_of(&olivia, org).await.limit, Some(10));
    invite(&adam, org, "guest7@example.com").await.expect("room again");

    // Fewer seats take effect at once, with nothing to pay; the renewal charges for them.
    assert_eq!(choose(&olivia, org, "team", "9").await.expect("fewer seats"), None);
    let nine = plan_of(&olivia, org).await;
    assert_eq!((nine.seats, nine.limit, nine.members, nine.pending), (Some(9), Some(9), 6, 3));
    assert!(nine.next.ends_with("for $108.00."), "{}", nine.next);

    // The owner cancels at the end of the period; then the free plan holds no newcomer.
    let cancel = json!({ "cancel": true, "org_id": org });
    assert_eq!(adam.call_json::<()>("cancel_plan", cancel.clone()).await.unwrap_err().status, 403);
    olivia.call_json::<()>("cancel_plan", cancel).await.expect("cancel");
    let ending = plan_of(&olivia, org).await;
    assert!(ending.cancel_at_period_end && ending.next.starts_with("Ends on"), "{}", ending.next);
    app.clock.advance(Duration::days(32));
    app::api::billing::renew_due(&app.state.services).await.expect("renewals");
    olivia.sign_in("olivia@example.com", PASSWORD).await.expect("sign in again");
    let ended = plan_of(&olivia, org).await;
    assert_eq!((ended.plan_code.as_str(), ended.limit, ended.members, ended.pending), ("free", Some(5), 6, 0));
    let late = invite(&olivia, org, "late@example.com").await.unwrap_err();
    let (message, _) = plan_limit(&late);
    assert!(message.starts_with("All 5 seats of Acme are taken (6 members, 0 pending invitations)"), "{message}");
}

/// A platform admin's overrides name an organization by a person in it: a member boost adds
/// seats, a plan sold by the seat is given with a seat for everyone (the owner cannot buy over
/// it), and a discount takes its part off the organization's renewals.
#[tokio::test]
async fn a_platform_admin_boosts_gives_and_discounts_an_organizations_plan() {
    let app = TestApp::spawn().await;
    let sam = crate::billing::sysadmin(&app).await;
    let olivia = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&olivia, "Acme").await.id;
    let boost = |organization: &str| {
        json!({ "email": "olivia@example.com", "quota": "members", "extra": "3", "days": "30",
            "reason": "Pilot", "organization": organization })
    };
    let wrong = sam.call_json::<()>("admin_boost_quota", boost("Acne")).await.unwrap_err();
    assert_eq!(field_of(&wrong), "organization");
    assert_eq!(olivia.call_json::<()>("admin_boost_quota", boost("Acme")).await.unwrap_err().status, 403);
    sam.call_json::<()>("admin_boost_quota", boost(" acme ")).await.expect("boost");
    assert_eq!(plan_of(&olivia, org).await.limit, Some(8), "the free plan's five and three more");

    let give = |plan: &str| json!({ "email": "olivia@example.com", "plan": plan, "days": "90", "reason": "Pilot", "organization": "Acme" });
    assert_eq!(field_of(&sam.call_json::<()>("admin_set_plan", give("premium")).await.unwrap_err()), "plan");
    sam.call_json::<()>("admin_set_plan", give("team")).await.expect("give");
    let given = plan_of(&olivia, org).await;
    assert_eq!((given.plan_code.as_str(), given.seats, given.limit), ("team", Some(5), Some(8)), "Team's minimum of 5");
    assert!(given.given_by_admin && given.next.starts_with("An administrator gave this plan until"), "{}", given.next);
    assert_eq!(choose(&olivia, org, "team", "10").await.unwrap_err().status, 409);
    let audit: Vec<app::dto::AuditEntryView> =
        olivia.call("audit_log", &[("org_id", &org.to_string())]).await.expect("audit log");
    assert!(audit.iter().any(|e| e.action == "billing.plan_overridden" && e.target == format!("org:{}", org.0)));

    // Discounts apply to the renewals of a plan the organization pays for.
    let paying = app.signed_up("Paula Payer", "paula@example.com").await;
    let other = create_org(&paying, "Paula's Practice").await.id;
    // A promo code limited to Team takes its part off the seats (a code for another plan does not).
    crate::billing::promo(&sam, "teams20", "20", "plan:team", "").await;
    crate::billing::promo(&sam, "solo20", "20", "plan:premium", "").await;
    let with =
        |code: &str| json!({ "org_id": other, "plan": "team", "seats": "5", "interval": "month", "promo_code": code });
    let wrong = paying.call_json::<Option<CheckoutView>>("choose_org_plan", with("solo20")).await.unwrap_err();
    assert_eq!(field_of(&wrong), "promo_code");
    let c: CheckoutView = paying
        .call_json::<Option<CheckoutView>>("choose_org_plan", with("TEAMS20"))
        .await
        .expect("choose")
        .expect("a checkout");
    assert_eq!((c.price, c.discount, c.amount, c.promo_code.as_deref()), (6_000, 1_200, 4_800, Some("TEAMS20")));
    pay(&paying, &c).await;
    let discount = json!({ "email": "paula@example.com", "percent": "50", "months": "3", "reason": "Outage",
        "organization": "Paula's Practice" });
    sam.call_json::<()>("admin_discount", discount).await.expect("discount");
    let discounted = plan_of(&paying, other).await;
    assert!(discounted.next.contains("for $30.00 (50% off until"), "{}", discounted.next);
}

/// Seats are checked and taken in one transaction: invitations sent at once never overfill an
/// organization, and an expired invitation sent again needs a seat like a new one.
#[tokio::test]
async fn invitations_sent_at_once_take_only_the_free_seats() {
    let app = TestApp::spawn().await;
    let olivia = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = create_org(&olivia, "Acme").await.id;

    // The free plan's five seats: Olivia holds one, so four of eight invitations go out.
    let emails: Vec<String> = (1..=8).map(|n| format!("guest{n}@example.com")).collect();
    let sent = futures_util::future::join_all(emails.iter().map(|email| invite(&olivia, org, email))).await;
    let (ok, refused): (Vec<_>, Vec<_>) = sent.into_iter().partition(Result::is_ok);
    assert_eq!((ok.len(), refused.len()), (4, 4));
    for failure in refused.iter().map(|r| r.as_ref().unwrap_err()) {
        plan_limit(failure);
    }
    let full = plan_of(&olivia, org).await;
    assert_eq!((full.members, full.pending, full.limit), (1, 4, Some(5)));

    // A week on the invitations have expired and hold no seat: a new one takes one, and then
    // only three of the four expired ones can be sent again.
    app.clock.advance(Duration::days(8));
    olivia.sign_in("olivia@example.com", PASSWORD).await.expect("sign in again");
    invite(&olivia, org, "newcomer@example.com").await.expect("a seat is free again");
    let expired: Vec<InvitationView> = ok.into_iter().map(Result::unwrap).collect();
    let mut resent = 0;
    for invitation in &expired {
        let id = invitation.id.to_string();
        match olivia.call::<()>("resend_invitation", &[("org_id", &org.to_string()), ("invitation_id", &id)]).await {
            Ok(()) => resent += 1,
            Err(failure) => assert!(plan_limit(&failure).0.starts_with("All 5 seats of Acme are taken")),
        }
    }
    assert_eq!(resent, 3);
    assert_eq!(plan_of(&olivia, org).await.pending, 4);
}
