//! Billing with the built-in provider: plan limits and the upgrade they name, checkout with a
//! promo code, premium sequences bought and refunded, the creator's 70% share, quota boosts, plan
//! versions and payout batches — every movement of money checked against the ledger.

use crate::orgs::{create_org, join};
use crate::support::{Client, PASSWORD, TestApp, field_of};
use app::api::billing::{
    AdminBillingView, BillingSummary, BusinessView, CheckoutView, PayoutView, PriceView, SalesView,
};
use app::api::sequences::{PreferencesInput, SequenceDetail};
use app::domain::billing::{Limits, PlanStatus};
use app::domain::sequence::{SequenceMeta, Visibility};
use app::domain::{CapabilityRole, PlatformRole};
use app::error::AppError;
use serde_json::json;
use uuid::Uuid;

async fn new_sequence(client: &Client, title: &str) -> Result<Uuid, crate::support::Failure> {
    client.call_json("create_sequence", json!({ "title": title, "template": null })).await
}

pub(crate) async fn sysadmin(app: &TestApp) -> Client {
    let sam = app.signed_up("Sam Sysadmin", "sam@example.com").await;
    let id = sam.me().await.expect("me").user_id;
    app.state.services.store.grant_platform_role(id, PlatformRole::SystemAdmin).await.expect("grant");
    sam
}

pub(crate) async fn checkout(
    client: &Client,
    product: &str,
    interval: &str,
    code: &str,
) -> Result<CheckoutView, crate::support::Failure> {
    client.call_json("start_checkout", json!({ "product": product, "interval": interval, "promo_code": code })).await
}

pub(crate) async fn pay(client: &Client, id: Uuid) -> CheckoutView {
    client.call_json("pay_checkout", json!({ "id": id })).await.expect("pay")
}

pub(crate) async fn promo(admin: &Client, code: &str, percent: &str, products: &str, max: &str) {
    let input = json!({ "code": code, "kind": "percent", "value": percent, "duration": "once", "months": "",
        "valid_until": "", "max_redemptions": max, "first_time_only": false, "products": products });
    admin.call_json::<()>("admin_create_promo", json!({ "input": input })).await.expect("promo");
}

/// Chris, a creator with an organization of his own, publishes a premium sequence.
pub(crate) async fn premium_sequence(app: &TestApp, title: &str) -> (Client, app::domain::OrgId, Uuid) {
    let chris = app.signed_up("Chris Creator", "chris@example.com").await;
    let chris_id = chris.me().await.expect("me").user_id;
    app.state.services.store.grant_capability(chris_id, CapabilityRole::Creator).await.expect("creator");
    let org = create_org(&chris, "Chris Coaching").await.id;
    chris.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let id = new_sequence(&chris, title).await.expect("create");
    let detail: SequenceDetail = chris.call_json("sequence", json!({ "id": id })).await.expect("detail");
    let meta = SequenceMeta { visibility: Visibility::Premium, ..SequenceMeta::titled(title) };
    let _: serde_json::Value =
        chris.call_json("save_sequence", json!({ "id": id, "meta": meta, "steps": detail.steps })).await.expect("save");
    let _: i32 = chris.call_json("publish_sequence", json!({ "id": id })).await.expect("publish");
    (chris, org, id)
}

/// The sum of every ledger entry: zero when every transaction balanced.
pub(crate) async fn ledger_total(app: &TestApp) -> i64 {
    let sums = app.state.services.store.ledger_sums("").await.expect("ledger");
    sums.iter().map(|(_, s)| s).sum()
}

#[tokio::test]
async fn a_free_person_hits_the_limit_upgrades_with_a_code_and_gets_more_room() {
    let app = TestApp::spawn().await;
    let sam = sysadmin(&app).await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    for n in 1..=3 {
        new_sequence(&alice, &format!("Mine {n}")).await.expect("within the free plan");
    }
    let refused = new_sequence(&alice, "Mine 4").await.unwrap_err();
    assert_eq!(refused.status, 403);
    match &refused.error {
        AppError::PlanLimit { message, upgrade } => {
            assert!(message.contains("allows 3 sequences of your own"), "{message}");
            assert_eq!(upgrade.as_ref().map(|u| u.plan.as_str()), Some("premium"));
        }
        other => panic!("expected a plan limit, got {other:?}"),
    }

    promo(&sam, "launch25", "25", "plan:premium", "1").await;
    let bad = checkout(&alice, "plan:premium", "month", "NOPE").await.unwrap_err();
    assert_eq!(field_of(&bad), "promo_code");
    let wrong_plan = checkout(&alice, "plan:creator", "month", "LAUNCH25").await.unwrap_err();
    assert_eq!(field_of(&wrong_plan), "promo_code");
    let c = checkout(&alice, "plan:premium", "month", "launch25").await.expect("checkout");
    assert_eq!((c.price, c.discount, c.amount), (1_900, 475, 1_425));
    assert!(c.test_mode);
    assert_eq!(c.status, "open");

    // Someone else's checkout is not theirs to see or pay.
    let mallory = app.signed_up("Mallory", "mallory@example.com").await;
    let err = mallory.call_json::<CheckoutView>("pay_checkout", json!({ "id": c.id })).await.unwrap_err();
    assert_eq!(err.status, 404);

    assert_eq!(pay(&alice, c.id).await.status, "paid");
    assert_eq!(pay(&alice, c.id).await.status, "paid", "paying twice is harmless");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.plan_code, "premium");
    assert_eq!(summary.status, Some(PlanStatus::Active));
    assert!(summary.next.starts_with("Renews on"), "{}", summary.next);
    assert_eq!(summary.payments.len(), 1, "one payment for one checkout");
    assert_eq!(summary.payments[0].amount, 1_425);
    app.mail.wait_for("alice@example.com", "Your Cairn receipt").await;
    new_sequence(&alice, "Mine 4").await.expect("Premium allows 25");

    // The code allowed one redemption.
    let used_up = checkout(&mallory, "plan:premium", "month", "LAUNCH25").await.unwrap_err();
    assert_eq!(field_of(&used_up), "promo_code");

    // Cash in, platform revenue out, nothing lost.
    let store = &app.state.services.store;
    assert_eq!(store.ledger_sums("revenue:platform").await.unwrap(), vec![("revenue:platform".to_owned(), -1_425)]);
    assert_eq!(ledger_total(&app).await, 0);

    // Upgrading to Creator mid-period pays the prorated difference; cancelling keeps the plan
    // to the end of the period.
    app.clock.advance(chrono::Duration::days(10));
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let up = checkout(&alice, "plan:creator", "month", "").await.expect("upgrade");
    assert!(up.amount > 0 && up.amount < 3_000, "prorated: {}", up.amount);
    pay(&alice, up.id).await;
    alice.call_json::<()>("cancel_plan", json!({ "cancel": true })).await.expect("cancel");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.plan_code, "creator");
    assert!(summary.cancel_at_period_end && summary.next.starts_with("Ends on"), "{}", summary.next);
    app.clock.advance(chrono::Duration::days(40));
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.plan_code, "free");
}

#[tokio::test]
async fn a_premium_sequence_is_bought_the_creator_earns_seventy_percent_and_a_refund_reverses_it() {
    let app = TestApp::spawn().await;
    let sam = sysadmin(&app).await;
    let (chris, org, id) = premium_sequence(&app, "Executive presence").await;
    let bad = chris
        .call_json::<Option<PriceView>>("set_sequence_price", json!({ "id": id, "amount": "12.345", "monthly": false }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad), "amount");
    let price: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");
    assert_eq!(price.map(|p| p.amount), Some(4_900));

    let victor = join(&app, &chris, org, "Victor Viewer", "victor@example.com", "viewer").await;
    victor.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(seen.locked);
    assert_eq!(seen.price.as_ref().map(|p| p.amount), Some(4_900));
    let prefs = PreferencesInput { timezone: "Europe/Berlin".into(), ..PreferencesInput::default() };
    let refused = victor.call_json::<Uuid>("subscribe", json!({ "id": id, "preferences": prefs })).await.unwrap_err();
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error.upgrade().map(|u| u.plan.as_str()), Some("premium"));
    // Someone else's server call cannot sell it: only its creator prices it.
    let err = victor
        .call_json::<Option<PriceView>>("set_sequence_price", json!({ "id": id, "amount": "1", "monthly": false }))
        .await
        .unwrap_err();
    assert_eq!(err.status, 403);

    let c = checkout(&victor, &format!("sequence:{id}"), "", "").await.expect("checkout");
    assert_eq!(c.amount, 4_900);
    pay(&victor, c.id).await;
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(!seen.locked, "bought");
    victor.call_json::<Uuid>("subscribe", json!({ "id": id, "preferences": prefs })).await.expect("subscribe");
    let again = checkout(&victor, &format!("sequence:{id}"), "", "").await.unwrap_err();
    assert_eq!(again.status, 409);

    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.sales.len(), 1);
    assert_eq!((sales.sales[0].gross, sales.sales[0].share, sales.sales[0].platform_fee), (4_900, 3_430, 1_470));
    assert_eq!(sales.balance, 3_430);
    assert_eq!(sales.share_bps, 7_000);

    // Only platform admins refund; a reason is required; the refund reverses the sale.
    let payment = sales.sales[0].id;
    assert_eq!(
        chris.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "x" })).await.unwrap_err().status,
        403
    );
    let no_reason = sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": " " })).await.unwrap_err();
    assert_eq!(field_of(&no_reason), "reason");
    sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "Bought by mistake" })).await.expect("refund");
    let twice = sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "again" })).await.unwrap_err();
    assert_eq!(twice.status, 409);
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.balance, sales.sales[0].status.as_str()), (0, "refunded"));
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(seen.locked, "a refund ends access");
    assert_eq!(ledger_total(&app).await, 0);

    // A second buyer; the payout batch pays Chris what the ledger says, once.
    let wendy = join(&app, &chris, org, "Wendy Buyer", "wendy@example.com", "viewer").await;
    wendy.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let c = checkout(&wendy, &format!("sequence:{id}"), "", "").await.expect("checkout");
    pay(&wendy, c.id).await;
    let view: AdminBillingView = sam.call_json("admin_billing", json!({})).await.expect("admin");
    let mut buyers: Vec<&str> = view.payments.iter().map(|p| p.buyer.as_str()).collect();
    buyers.sort_unstable();
    assert_eq!(buyers, ["victor@example.com", "wendy@example.com"], "each payment names its buyer");
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    let mut names: Vec<&str> = sales.sales.iter().map(|s| s.buyer.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Victor Viewer", "Wendy Buyer"], "each sale names its buyer");
    assert_eq!(view.balances.len(), 1);
    assert_eq!(view.balances[0].name, "Chris Creator");
    assert_eq!((view.balances[0].email.as_str(), view.balances[0].balance), ("chris@example.com", 3_430));
    assert_eq!(chris.call_json::<AdminBillingView>("admin_billing", json!({})).await.unwrap_err().status, 403);

    // The minimum payout is a platform setting: above Chris's balance, the batch leaves it to grow.
    assert_eq!((view.minimum_payout, sales.minimum_payout), (2_500, 2_500));
    let minimum = |amount: &str| json!({ "amount": amount });
    let refused = chris.call_json::<i64>("admin_set_minimum_payout", minimum("1")).await.unwrap_err();
    assert_eq!(refused.status, 403);
    for bad in ["0.50", "10001", "lots", ""] {
        let err = sam.call_json::<i64>("admin_set_minimum_payout", minimum(bad)).await.unwrap_err();
        assert_eq!(field_of(&err), "minimum_payout", "{bad:?}");
    }
    assert_eq!(sam.call_json::<i64>("admin_set_minimum_payout", minimum("$50")).await.expect("minimum"), 5_000);
    let none: Vec<PayoutView> = sam.call_json("admin_payout_batch", json!({})).await.expect("batch");
    assert!(none.is_empty(), "$34.30 is below the minimum");
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.minimum_payout, sales.balance), (5_000, 3_430));
    assert_eq!(sam.call_json::<i64>("admin_set_minimum_payout", minimum("34.30")).await.expect("minimum"), 3_430);
    let view: AdminBillingView = sam.call_json("admin_billing", json!({})).await.expect("admin");
    assert_eq!(view.minimum_payout, 3_430);
    let payouts: Vec<PayoutView> = sam.call_json("admin_payout_batch", json!({})).await.expect("batch");
    assert_eq!(payouts.len(), 1);
    assert_eq!((payouts[0].email.as_str(), payouts[0].amount), ("chris@example.com", 3_430));
    let none: Vec<PayoutView> = sam.call_json("admin_payout_batch", json!({})).await.expect("batch");
    assert!(none.is_empty(), "nobody is owed anything now");
    let csv: String = sam.call_json("admin_payout_csv", json!({ "batch": payouts[0].batch_id })).await.expect("csv");
    assert!(csv.contains("\"Chris Creator\",chris@example.com,34.30,usd,pending"), "{csv}");
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.balance, sales.payouts.len()), (0, 1));
    assert_eq!(ledger_total(&app).await, 0);
}

/// Each account's sum in the ledger, zero sums left out.
async fn ledger_accounts(app: &TestApp) -> Vec<(String, i64)> {
    let mut sums = app.state.services.store.ledger_sums("").await.expect("ledger");
    sums.retain(|(_, s)| *s != 0);
    sums
}

#[tokio::test]
async fn a_partial_refund_reverses_its_part_of_every_share_and_the_rest_ends_access() {
    let app = TestApp::spawn().await;
    let sam = sysadmin(&app).await;
    let (chris, org, id) = premium_sequence(&app, "Half refunds").await;
    let _: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");
    let victor = join(&app, &chris, org, "Victor Viewer", "victor@example.com", "viewer").await;
    victor.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let c = checkout(&victor, &format!("sequence:{id}"), "", "").await.expect("checkout");
    pay(&victor, c.id).await;
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    let payment = sales.sales[0].id;

    // Not more than was paid, not nothing, and money as people type it.
    for (amount, why) in [("49.01", "more than paid"), ("0", "nothing"), ("ten", "not money")] {
        let err = sam
            .call_json::<()>("admin_refund", json!({ "id": payment, "reason": "Partly unhappy", "amount": amount }))
            .await
            .unwrap_err();
        assert_eq!(field_of(&err), "amount", "{why}");
    }
    sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "Half the course", "amount": "24.50" }))
        .await
        .expect("half");
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.sales[0].status.as_str(), sales.sales[0].refunded), ("paid", 2_450));
    assert_eq!(sales.balance, 1_715, "half of the $34.30 share");
    let revenue = ledger_accounts(&app).await;
    assert!(revenue.contains(&("revenue:platform".to_owned(), -735)), "half of the $14.70 fee: {revenue:?}");
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(!seen.locked, "a partial refund keeps access");
    let err = sam
        .call_json::<()>("admin_refund", json!({ "id": payment, "reason": "More", "amount": "30" }))
        .await
        .unwrap_err();
    assert_eq!((field_of(&err), err.error.to_string().contains("$24.50")), ("amount", true));

    // Three cents, then the rest (no amount): everything is back where it was before the sale.
    sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "Rounding", "amount": "0.03" }))
        .await
        .expect("three cents");
    sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "The rest" })).await.expect("rest");
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.sales[0].status.as_str(), sales.sales[0].refunded, sales.balance), ("refunded", 4_900, 0));
    assert_eq!(ledger_accounts(&app).await, vec![], "every account back to zero");
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(seen.locked, "a full refund ends access");
    let receipt: app::api::billing::ReceiptView =
        victor.call_json("receipt", json!({ "id": payment })).await.expect("receipt");
    assert_eq!((receipt.status.as_str(), receipt.refunded), ("refunded", 4_900));
}

#[tokio::test]
async fn admins_boost_quotas_with_a_reason_and_plan_changes_are_new_versions() {
    let app = TestApp::spawn().await;
    let sam = sysadmin(&app).await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    for n in 1..=3 {
        new_sequence(&alice, &format!("Mine {n}")).await.expect("free");
    }
    assert_eq!(new_sequence(&alice, "Mine 4").await.unwrap_err().status, 403);
    let boost = |email: &str, extra: &str, reason: &str| json!({ "email": email, "quota": "personal_sequences", "extra": extra, "days": "7", "reason": reason });
    let err = sam.call_json::<()>("admin_boost_quota", boost("nobody@example.com", "2", "Pilot")).await.unwrap_err();
    assert_eq!(field_of(&err), "email");
    let err = sam.call_json::<()>("admin_boost_quota", boost("alice@example.com", "zero", "Pilot")).await.unwrap_err();
    assert_eq!(field_of(&err), "extra");
    let err = sam.call_json::<()>("admin_boost_quota", boost("alice@example.com", "2", "")).await.unwrap_err();
    assert_eq!(field_of(&err), "reason");
    assert_eq!(
        alice.call_json::<()>("admin_boost_quota", boost("alice@example.com", "2", "me")).await.unwrap_err().status,
        403
    );
    sam.call_json::<()>("admin_boost_quota", boost("alice@example.com", "2", "Pilot cohort")).await.expect("boost");
    new_sequence(&alice, "Mine 4").await.expect("boosted");
    new_sequence(&alice, "Mine 5").await.expect("boosted");
    assert_eq!(new_sequence(&alice, "Mine 6").await.unwrap_err().status, 403);
    app.clock.advance(chrono::Duration::days(8));
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    sam.sign_in("sam@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    let personal = summary.usage.iter().find(|u| u.label == "sequences of your own").expect("usage");
    assert_eq!((personal.used, personal.limit), (5, Some(3)), "the boost expired");

    // Alice subscribes to Premium; a later change to Premium does not touch her version.
    let c = checkout(&alice, "plan:premium", "year", "").await.expect("checkout");
    assert_eq!(c.amount, 19_000, "yearly");
    pay(&alice, c.id).await;
    let limits = Limits { max_personal_sequences: Some(1), ..Limits::default() };
    let bad = sam
        .call_json::<i32>("admin_save_plan", json!({ "code": "premium", "name": "Premium", "monthly_price": "abc", "annual_price": "", "limits": limits }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad), "monthly_price");
    let version: i32 = sam
        .call_json("admin_save_plan", json!({ "code": "premium", "name": "Premium", "monthly_price": "29", "annual_price": "290", "limits": limits }))
        .await
        .expect("save plan");
    assert_eq!(version, 2);
    new_sequence(&alice, "Mine 6").await.expect("still on premium version 1");
    let view: AdminBillingView = sam.call_json("admin_billing", json!({})).await.expect("admin");
    let premium = view.plans.iter().find(|p| p.code == "premium").expect("premium");
    assert_eq!((premium.version, premium.config.monthly_price), (2, 2_900));
    // A newcomer buys version 2 at its price.
    let bob = app.signed_up("Bob New", "bob@example.com").await;
    assert_eq!(checkout(&bob, "plan:premium", "month", "").await.expect("checkout").amount, 2_900);
}

#[tokio::test]
async fn built_in_plans_renew_each_period_with_the_codes_discount_and_end_when_canceled() {
    let app = TestApp::spawn().await;
    let services = &app.state.services;
    let sam = sysadmin(&app).await;
    let input = json!({ "code": "HALF2", "kind": "percent", "value": "50", "duration": "repeating", "months": "2",
        "valid_until": "", "max_redemptions": "", "first_time_only": true, "products": "plan:premium" });
    sam.call_json::<()>("admin_create_promo", json!({ "input": input })).await.expect("promo");
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    let c = checkout(&alice, "plan:premium", "month", "half2").await.expect("checkout");
    assert_eq!(c.amount, 950);
    pay(&alice, c.id).await;
    assert_eq!(app::api::billing::renew_due(services).await.expect("renew"), 0, "nothing is due yet");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert!(summary.next.ends_with("for $9.50 (promo code HALF2)."), "{}", summary.next);

    let amounts = |summary: &BillingSummary| summary.payments.iter().map(|p| p.amount).rev().collect::<Vec<_>>();
    app.clock.advance(chrono::Duration::days(31));
    // Two instances renewing at once move the period once.
    let (a, b) = tokio::join!(app::api::billing::renew_due(services), app::api::billing::renew_due(services));
    assert_eq!(a.expect("renew") + b.expect("renew"), 1);
    app.clock.advance(chrono::Duration::days(31));
    assert_eq!(app::api::billing::renew_due(services).await.expect("renew"), 1);
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(amounts(&summary), vec![950, 950, 1_900], "half price for two months, then the full price");
    assert!(summary.next.ends_with("for $19.00."), "{}", summary.next);
    assert_eq!(summary.plan_code, "premium");
    let period_end = summary.period_end.expect("period end");
    assert!(period_end > app.clock_now(), "the current period runs on");
    app.mail.wait_for("alice@example.com", "renewal").await;

    alice.call_json::<()>("cancel_plan", json!({ "cancel": true })).await.expect("cancel");
    app.clock.advance(chrono::Duration::days(31));
    assert_eq!(app::api::billing::renew_due(services).await.expect("end"), 1);
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.payments.len()), ("free", 3), "ended, and not charged again");
    let revenue = services.store.ledger_sums("revenue:platform").await.expect("ledger");
    assert_eq!(revenue, vec![("revenue:platform".to_owned(), -3_800)]);
    // MRR is what each period costs: half while the code lasts, then the move to the full price.
    let history = services.store.plan_history().await.expect("history");
    let moves: Vec<_> = history.iter().map(|c| (c.mrr_before, c.mrr_after, c.reason.as_str())).collect();
    assert_eq!(
        moves,
        [(0, 950, "checkout"), (950, 1_900, "repriced"), (1_900, 1_900, "canceled"), (1_900, 0, "ended")]
    );
    assert_eq!(ledger_total(&app).await, 0);
}

#[tokio::test]
async fn an_admin_discounts_a_plan_for_some_months_with_a_reason() {
    let app = TestApp::spawn().await;
    let services = &app.state.services;
    let sam = sysadmin(&app).await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    let c = checkout(&alice, "plan:premium", "month", "").await.expect("checkout");
    pay(&alice, c.id).await;
    let give = |percent: &str, months: &str, reason: &str| json!({ "email": "alice@example.com", "percent": percent, "months": months, "reason": reason });
    for (args, field) in [
        (give("0", "2", "Loyalty"), "percent"),
        (give("101", "2", "Loyalty"), "percent"),
        (give("50", "0", "Loyalty"), "months"),
        (give("50", "two", "Loyalty"), "months"),
        (give("50", "2", " "), "reason"),
    ] {
        assert_eq!(field_of(&sam.call_json::<()>("admin_discount", args).await.unwrap_err()), field);
    }
    let nobody = json!({ "email": "nobody@example.com", "percent": "50", "months": "2", "reason": "x" });
    assert_eq!(field_of(&sam.call_json::<()>("admin_discount", nobody).await.unwrap_err()), "email");
    assert_eq!(alice.call_json::<()>("admin_discount", give("50", "2", "Me")).await.unwrap_err().status, 403);
    sam.call_json::<()>("admin_discount", give("50%", "2", "Service outage in March")).await.expect("discount");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert!(summary.next.contains("for $9.50 (50% off until"), "{}", summary.next);

    // The next two monthly renewals are half price, the third is full.
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::days(31));
        assert_eq!(app::api::billing::renew_due(services).await.expect("renew"), 1);
    }
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    let amounts: Vec<i64> = summary.payments.iter().map(|p| p.amount).rev().collect();
    assert_eq!(amounts, vec![1_900, 950, 950, 1_900]);
    assert!(summary.next.ends_with("for $19.00."), "{}", summary.next);
    assert_eq!(ledger_total(&app).await, 0);
    let history = services.store.plan_history().await.expect("history");
    let moves: Vec<_> = history.iter().map(|c| (c.mrr_before, c.mrr_after, c.reason.as_str())).collect();
    assert_eq!(
        moves,
        [(0, 1_900, "checkout"), (1_900, 950, "repriced"), (950, 1_900, "repriced")],
        "MRR follows the discount"
    );

    let me = alice.me().await.expect("me");
    let personal = me.orgs.iter().find(|o| o.kind == app::domain::OrgKind::Personal).expect("personal").id;
    let log = services.store.audit_log(personal, None, 50).await.expect("audit");
    let entry = log.iter().find(|e| e.action == "billing.discount").expect("audited");
    assert_eq!(entry.actor.as_deref(), Some("sam@example.com"));
    assert_eq!(entry.after.as_ref().map(|a| a["reason"].clone()), Some(json!("Service outage in March")));
}

#[tokio::test]
async fn an_admin_gives_a_plan_for_a_while_with_a_reason() {
    let app = TestApp::spawn().await;
    let sam = sysadmin(&app).await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    let give = |plan: &str, days: &str, reason: &str| json!({ "email": "alice@example.com", "plan": plan, "days": days, "reason": reason });
    assert_eq!(
        field_of(&sam.call_json::<()>("admin_set_plan", give("team", "30", "Pilot")).await.unwrap_err()),
        "plan"
    );
    assert_eq!(
        field_of(&sam.call_json::<()>("admin_set_plan", give("creator", "0", "Pilot")).await.unwrap_err()),
        "days"
    );
    assert_eq!(
        field_of(&sam.call_json::<()>("admin_set_plan", give("creator", "30", "")).await.unwrap_err()),
        "reason"
    );
    assert_eq!(alice.call_json::<()>("admin_set_plan", give("creator", "30", "me")).await.unwrap_err().status, 403);
    sam.call_json::<()>("admin_set_plan", give("creator", "30", "Launch partner")).await.expect("give");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.plan_code, "creator");
    assert!(summary.payments.is_empty(), "no payment");
    let keep = alice.call_json::<()>("cancel_plan", json!({ "cancel": false })).await.unwrap_err();
    assert_eq!(keep.status, 409, "a given plan cannot be made permanent");
    app.clock.advance(chrono::Duration::days(31));
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.plan_code, "free", "it ended by itself");
    // While someone pays for a plan, an admin does not replace it.
    let c = checkout(&alice, "plan:premium", "month", "").await.expect("checkout");
    pay(&alice, c.id).await;
    sam.sign_in("sam@example.com", PASSWORD).await.expect("sign in again");
    assert_eq!(sam.call_json::<()>("admin_set_plan", give("creator", "30", "Pilot")).await.unwrap_err().status, 409);
}

pub(crate) async fn post_stripe(client: &Client, body: &str, signature: &str) -> (u16, serde_json::Value) {
    let response = client
        .http
        .post(format!("{}/webhooks/stripe", client.base))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// Posts a Stripe event signed with `secret` at the test clock's time and expects it accepted.
pub(crate) async fn post_signed(app: &TestApp, secret: &str, body: &str) {
    let signature = app::security::sign_webhook(secret, app.clock_now().timestamp(), body);
    let (status, answer) = post_stripe(&app.client(), body, &signature).await;
    assert_eq!(status, 200, "{body}: {answer}");
}

/// [`post_signed`], then applies the events that are due: how many were.
pub(crate) async fn deliver(app: &TestApp, secret: &str, body: &str) -> usize {
    post_signed(app, secret, body).await;
    app::api::billing::process_stripe_events(&app.state.services).await.expect("process")
}

#[tokio::test]
async fn stripe_webhooks_are_verified_stored_once_and_applied_in_any_order() {
    let secret = "whsec_test_secret";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec!["whsec_old".into(), secret.into()]).await;
    let services = &app.state.services;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    let c = checkout(&alice, "plan:premium", "month", "").await.expect("checkout");
    let now = app.clock_now().timestamp();
    let completed = stripe_event(
        "evt_1Completed",
        "checkout.session.completed",
        now,
        json!({ "id": "cs_test_a1", "object": "checkout.session", "client_reference_id": c.id,
            "amount_total": 1_900, "currency": "usd", "mode": "payment", "payment_status": "paid",
            "payment_intent": "pi_3Test", "status": "complete" }),
    );
    let refunded = stripe_event(
        "evt_2Refunded",
        "charge.refunded",
        now + 1,
        json!({ "id": "ch_3Test", "object": "charge", "amount": 1_900, "amount_refunded": 1_900,
            "currency": "usd", "payment_intent": "pi_3Test", "refunded": true }),
    );
    let client = app.client();
    let sign = |body: &str, t: i64, key: &str| app::security::sign_webhook(key, t, body);

    // Forged, stale and mutated deliveries are refused and leave nothing behind.
    for (body, signature) in [
        (completed.clone(), sign(&completed, now, "whsec_attacker")),
        (completed.clone(), sign(&completed, now - 301, secret)),
        (completed.replace("1900", "1"), sign(&completed, now, secret)),
        (completed.clone(), String::new()),
    ] {
        let (status, answer) = post_stripe(&client, &body, &signature).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_signature")), "{signature}");
    }
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 0);

    // The refund arrives before the payment it refunds: kept, and retried later.
    let (status, _) = post_stripe(&client, &refunded, &sign(&refunded, now, secret)).await;
    assert_eq!(status, 200);
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 0);

    // The payment's event, delivered three times at once, is stored and applied once.
    let signature = sign(&completed, now, secret);
    let (a, b, d) = tokio::join!(
        post_stripe(&client, &completed, &signature),
        post_stripe(&client, &completed, &signature),
        post_stripe(&client, &completed, &signature)
    );
    let duplicates = [a, b, d].iter().filter(|(s, v)| *s == 200 && v["duplicate"] == json!(true)).count();
    assert_eq!(duplicates, 2);
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 1);
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.payments.len()), ("premium", 1));
    let fees = services.store.ledger_sums("expenses:processor_fees").await.expect("ledger");
    assert_eq!(fees, vec![("expenses:processor_fees".to_owned(), 85)], "2.9% + 30¢ of $19.00");

    // Once its backoff has passed, the refund applies: the payment is reversed and the plan ends.
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 1);
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.payments[0].status.as_str()), ("free", "refunded"));
    assert_eq!(ledger_total(&app).await, 0);
    app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 0, "nothing left");

    // Without a signing secret the endpoint is off.
    let off = TestApp::spawn().await;
    let (status, _) = post_stripe(&off.client(), &completed, &sign(&completed, now, secret)).await;
    assert_eq!(status, 404);
}

/// Stripe says how much of a charge is refunded in all; a dispute, how much it takes. Each takes
/// its part once, whatever order the refunds arrive in, and the last cent ends the plan.
#[tokio::test]
async fn stripe_partial_refunds_and_disputes_take_their_part_once() {
    let secret = "whsec_test_secret";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec![secret.into()]).await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    let c = checkout(&alice, "plan:premium", "month", "").await.expect("checkout");
    let now = app.clock_now().timestamp();
    let event = |id: &str, kind: &str, object: serde_json::Value| stripe_event(id, kind, now, object);
    let charge = |refunded: i64| {
        json!({ "id": "ch_3Part", "object": "charge", "amount": 1_900, "amount_refunded": refunded,
            "currency": "usd", "payment_intent": "pi_3Part", "refunded": refunded == 1_900 })
    };
    let deliveries = [
        event(
            "evt_paid",
            "checkout.session.completed",
            json!({ "id": "cs_test_p", "object": "checkout.session",
            "client_reference_id": c.id, "amount_total": 1_900, "currency": "usd", "mode": "payment",
            "payment_status": "paid", "payment_intent": "pi_3Part", "status": "complete" }),
        ),
        // $5.00 refunded, then an older event that said $3.00 arrives late: it changes nothing.
        event("evt_refund_500", "charge.refunded", charge(500)),
        event("evt_refund_300", "charge.refunded", charge(300)),
    ];
    for body in &deliveries {
        deliver(&app, secret, body).await;
    }
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    let p = &summary.payments[0];
    assert_eq!((summary.plan_code.as_str(), p.status.as_str(), p.refunded), ("premium", "paid", 500));
    let cash = |sums: Vec<(String, i64)>| sums.into_iter().find(|(a, _)| a == "assets:cash").map(|(_, s)| s);
    // $19.00 less Stripe's 85¢, less the refund's share of both ($5.00 of $19.00: $4.78 of cash).
    assert_eq!(cash(ledger_accounts(&app).await), Some(1_900 - 85 - 478));

    // A dispute for the other $14.00: all of it is back, and the plan paid by it ends.
    let dispute = event(
        "evt_dispute",
        "charge.dispute.created",
        json!({ "id": "dp_1", "object": "dispute",
        "amount": 1_400, "charge": "ch_3Part", "currency": "usd", "payment_intent": "pi_3Part",
        "reason": "fraudulent", "status": "needs_response" }),
    );
    assert_eq!(deliver(&app, secret, &dispute).await, 1);
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    let p = &summary.payments[0];
    assert_eq!((summary.plan_code.as_str(), p.status.as_str(), p.refunded), ("free", "refunded", 1_900));
    assert_eq!(ledger_accounts(&app).await, vec![], "the charge, its fee and its revenue all reversed");
}

/// A dispute won gives back exactly what it took, and the access with it; a dispute lost keeps
/// it. Closing events apply once, and not before the dispute they close.
#[tokio::test]
async fn a_dispute_won_gives_back_what_it_took_and_a_lost_one_keeps_it() {
    let secret = "whsec_test_secret";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec![secret.into()]).await;
    let services = &app.state.services;
    let (chris, org, id) = premium_sequence(&app, "Disputed course").await;
    let _: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");
    let victor = join(&app, &chris, org, "Victor Viewer", "victor@example.com", "viewer").await;
    victor.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let c = checkout(&victor, &format!("sequence:{id}"), "", "").await.expect("checkout");
    let now = app.clock_now().timestamp();
    let post = async |event: String| post_signed(&app, secret, &event).await;
    let dispute = |id: &str, status: &str| {
        json!({ "id": id, "object": "dispute", "amount": 4_000, "charge": "ch_3Disp", "currency": "usd",
            "payment_intent": "pi_3Disp", "reason": "product_not_received", "status": status })
    };
    let process = || async { app::api::billing::process_stripe_events(services).await.expect("process") };
    let state = || async {
        let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
        let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
        (sales.sales[0].status.clone(), sales.sales[0].refunded, seen.locked)
    };

    post(stripe_event(
        "evt_paid",
        "checkout.session.completed",
        now,
        json!({ "id": "cs_test_d", "object": "checkout.session", "client_reference_id": c.id,
            "amount_total": 4_900, "currency": "usd", "mode": "payment", "payment_status": "paid",
            "payment_intent": "pi_3Disp", "status": "complete" }),
    ))
    .await;
    post(stripe_event(
        "evt_refund",
        "charge.refunded",
        now + 1,
        json!({ "id": "ch_3Disp", "object": "charge", "amount": 4_900, "amount_refunded": 900,
            "currency": "usd", "payment_intent": "pi_3Disp", "refunded": false }),
    ))
    .await;
    assert_eq!(process().await, 2);
    let refunded_nine = ledger_accounts(&app).await;

    // The dispute's closing arrives before its opening: it waits for it.
    post(stripe_event("evt_won", "charge.dispute.closed", now + 3, dispute("dp_won", "won"))).await;
    assert_eq!(process().await, 0);
    post(stripe_event("evt_opened", "charge.dispute.created", now + 2, dispute("dp_won", "needs_response"))).await;
    assert_eq!(process().await, 1);
    assert_eq!(state().await, ("refunded".to_owned(), 4_900, true), "the dispute took the other $40.00");
    assert_eq!(ledger_accounts(&app).await, vec![], "every account back to zero");

    // Won: the $40.00 and the access are back, the ledger as it was after the $9.00 refund alone.
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(process().await, 1);
    assert_eq!(state().await, ("paid".to_owned(), 900, false));
    assert_eq!(ledger_accounts(&app).await, refunded_nine);
    // Stripe also says the funds were reinstated, and repeats the opening: nothing more happens.
    post(stripe_event("evt_reinstated", "charge.dispute.funds_reinstated", now + 4, dispute("dp_won", "won"))).await;
    post(stripe_event("evt_opened_again", "charge.dispute.created", now + 5, dispute("dp_won", "needs_response")))
        .await;
    assert_eq!(process().await, 2);
    assert_eq!(ledger_accounts(&app).await, refunded_nine);

    // A second dispute, lost: what it took stays taken.
    post(stripe_event("evt_opened_2", "charge.dispute.created", now + 6, dispute("dp_lost", "needs_response"))).await;
    post(stripe_event("evt_lost", "charge.dispute.closed", now + 7, dispute("dp_lost", "lost"))).await;
    assert_eq!(process().await, 2);
    assert_eq!(state().await, ("refunded".to_owned(), 4_900, true));
    assert_eq!(ledger_accounts(&app).await, vec![]);
    let closed = services.store.dispute("dp_lost").await.expect("dispute").expect("recorded");
    assert_eq!((closed.status.as_str(), closed.amount), ("lost", 4_000));
}

/// A monthly premium sequence bought through Stripe renews through Stripe's invoices: each
/// renewal is a sale shared with the creator and extends access to the end of its period, once.
#[tokio::test]
async fn a_monthly_sequence_bought_through_stripe_renews_with_the_creators_share() {
    let secret = "whsec_test_secret";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec![secret.into()]).await;
    let services = &app.state.services;
    let (chris, org, id) = premium_sequence(&app, "Monthly mastermind").await;
    let _: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "10", "monthly": true }))
        .await
        .expect("price");
    let victor = join(&app, &chris, org, "Victor Viewer", "victor@example.com", "viewer").await;
    victor.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let c = checkout(&victor, &format!("sequence:{id}"), "", "").await.expect("checkout");
    let now = app.clock_now().timestamp();
    let post = async |event: String| post_signed(&app, secret, &event).await;
    let metadata = json!({ "cairn_checkout": c.id, "cairn_product": format!("sequence:{id}"),
        "cairn_org": org, "cairn_user": "00000000-0000-0000-0000-000000000000" });
    let mut renewal = stripe_invoice("in_renewal", "sub_seq", &metadata, "subscription_cycle", 1_000);
    renewal["lines"] = json!({ "object": "list", "data": [{ "id": "il_1", "object": "line_item", "amount": 1_000,
        "period": { "start": now + 30 * 86_400, "end": now + 60 * 86_400 } }] });

    // The renewal arrives before the first payment it renews: it waits for it.
    post(stripe_event("evt_renewed", "invoice.paid", now + 2, renewal.clone())).await;
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 0);
    post(stripe_event(
        "evt_paid",
        "checkout.session.completed",
        now,
        json!({ "id": "cs_test_m", "object": "checkout.session", "client_reference_id": c.id,
            "amount_total": 1_000, "currency": "usd", "mode": "subscription", "payment_status": "paid",
            "payment_intent": null, "subscription": "sub_seq", "status": "complete" }),
    ))
    .await;
    let first = stripe_invoice("in_first", "sub_seq", &metadata, "subscription_create", 1_000);
    post(stripe_event("evt_first_invoice", "invoice.paid", now + 1, first)).await;
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 2);
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 1);
    // Delivered again under another event id: still one renewal.
    post(stripe_event("evt_renewed_again", "invoice.paid", now + 3, renewal)).await;
    assert_eq!(app::api::billing::process_stripe_events(services).await.expect("process"), 1);

    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.sales.len(), 2, "the first month and one renewal");
    assert!(sales.sales.iter().all(|s| s.gross == 1_000 && s.status == "paid"));
    // Each $10.00 less Stripe's 59¢, 70% of the rest: $6.59 twice.
    assert_eq!(sales.balance, 2 * 659);
    // Five weeks on, the first month is over; the renewal's period is not.
    app.clock.advance(chrono::Duration::days(35));
    victor.sign_in("victor@example.com", PASSWORD).await.expect("sign in again");
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(!seen.locked, "the renewal extends access");
    app.clock.advance(chrono::Duration::days(30));
    victor.sign_in("victor@example.com", PASSWORD).await.expect("sign in again");
    let seen: SequenceDetail = victor.call_json("sequence", json!({ "id": id })).await.expect("detail");
    assert!(seen.locked, "no renewal after it: access ends with its period");
}

/// The business dashboard against a scenario worked by hand: three plans bought, an upgrade, a
/// premium sequence sold, a cancellation that ends a month later, a refund.
#[tokio::test]
async fn the_business_dashboard_adds_up_to_a_hand_computed_scenario() {
    let app = TestApp::spawn().await;
    let services = &app.state.services;
    let sam = sysadmin(&app).await;
    let buy = |client: Client, product: String, interval: &'static str| async move {
        let c = checkout(&client, &product, interval, "").await.expect("checkout");
        pay(&client, c.id).await;
        (client, c.amount)
    };
    let (alice, _) = buy(app.signed_up("Alice", "alice@example.com").await, "plan:premium".into(), "month").await;
    let (bob, _) = buy(app.signed_up("Bob", "bob@example.com").await, "plan:creator".into(), "month").await;
    let (_, yearly) = buy(app.signed_up("Carol", "carol@example.com").await, "plan:premium".into(), "year").await;
    assert_eq!(yearly, 19_000);
    // Alice upgrades within her month: the prorated difference now, 3,000 more MRR.
    let (_, upgrade) = buy(alice, "plan:creator".into(), "month").await;
    assert!(upgrade > 0 && upgrade <= 3_000, "prorated: {upgrade}");
    bob.call_json::<()>("cancel_plan", json!({ "cancel": true })).await.expect("cancel");

    let (chris, org, id) = premium_sequence(&app, "Executive presence").await;
    let _: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");
    let victor = join(&app, &chris, org, "Victor Viewer", "victor@example.com", "viewer").await;
    victor.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let (_, sale) = buy(victor, format!("sequence:{id}"), "").await;
    assert_eq!(sale, 4_900);

    // A month on: Alice renews at 49, Bob's plan ends, Carol's year is refunded.
    app.clock.advance(chrono::Duration::days(31));
    assert_eq!(app::api::billing::renew_due(services).await.expect("renew"), 2);
    sam.sign_in("sam@example.com", PASSWORD).await.expect("sign in again");
    chris.sign_in("chris@example.com", PASSWORD).await.expect("sign in again");
    let view: AdminBillingView = sam.call_json("admin_billing", json!({})).await.expect("admin");
    let carol = view.payments.iter().find(|p| p.amount == 19_000).expect("carol's payment").id;
    sam.call_json::<()>("admin_refund", json!({ "id": carol, "reason": "Changed her mind" })).await.expect("refund");

    let b: BusinessView = sam.call_json("admin_business", json!({})).await.expect("dashboard");
    let f = &b.figures;
    assert_eq!((f.mrr, f.arr, f.subscribers, f.arpu), (4_900, 58_800, 1, 4_900));
    // Paying 30 days ago: Alice, Bob, Carol; since then Bob and Carol left.
    assert_eq!(f.churn_bps, Some(6_666));
    assert_eq!(f.ltv, Some(4_900 * 10_000 / 6_666));
    let sum = |pick: fn(&app::domain::business::MonthFigures) -> i64| f.months.iter().map(pick).sum::<i64>();
    assert_eq!(sum(|m| m.new), 1_900 + 4_900 + 19_000 / 12);
    assert_eq!(sum(|m| m.expansion), 3_000);
    assert_eq!(sum(|m| m.contraction), 0);
    assert_eq!(sum(|m| m.churn), 4_900 + 19_000 / 12);
    assert_eq!(sum(|m| m.net()), f.mrr);
    assert_eq!(sum(|m| m.revenue), 1_900 + 4_900 + 19_000 + upgrade + 4_900 + 4_900 - 19_000);
    assert_eq!(sum(|m| m.refunds), 19_000);
    assert_eq!(f.months.last().map(|m| m.mrr), Some(4_900));
    assert_eq!(f.active_plans.len(), 1);
    assert_eq!((f.active_plans[0].plan.as_str(), f.active_plans[0].subscribers), ("creator", 1));
    let line = |lines: &[app::domain::business::RevenueLine], key: &str| {
        lines.iter().find(|l| l.key == key).map(|l| (l.revenue, l.payments)).unwrap_or_default()
    };
    assert_eq!(line(&f.by_plan, "premium"), (1_900, 1), "Carol's year refunded");
    assert_eq!(line(&f.by_plan, "creator"), (4_900 + upgrade + 4_900, 3));
    assert_eq!(line(&f.by_product, &format!("sequence:{id}")), (4_900, 1));
    assert_eq!(f.by_creator.len(), 1);
    assert_eq!((f.by_creator[0].revenue, f.by_creator[0].seller_share), (4_900, 3_430));
    assert_eq!(b.name(&f.by_creator[0].key), "Chris Creator");
    assert_eq!(b.name(&format!("sequence:{id}")), "Executive presence");
    assert_eq!((b.owed, b.owed_parties, b.pending_payouts), (3_430, 1, 0));
    // The revenue the dashboard shows is what the ledger booked as the platform's and Chris's.
    let platform: i64 = sum(|m| m.platform);
    let booked = -services.store.ledger_sums("revenue:platform").await.expect("ledger")[0].1
        - services.store.ledger_sums("expenses:processor_fees").await.expect("ledger").first().map_or(0, |s| s.1);
    assert_eq!(platform, booked);

    let csv: String = sam.call_json("admin_business_csv", json!({})).await.expect("csv");
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some(
            "month,mrr,new,expansion,contraction,churn,net,subscribers,revenue,refunds,platform_revenue,ai_tokens,ai_cost"
        )
    );
    assert!(rows.last().is_some_and(|r| r.contains(",49.00,")), "{csv}");
    assert_eq!(chris.call_json::<BusinessView>("admin_business", json!({})).await.unwrap_err().status, 403);
    assert_eq!(chris.call_json::<String>("admin_business_csv", json!({})).await.unwrap_err().status, 403);
}

/// Every ordering of `items`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

/// A Stripe event as Stripe sends it: the test's fields over complete objects
/// (`support::stripe_events`).
pub(crate) fn stripe_event(id: &str, kind: &str, created: i64, object: serde_json::Value) -> String {
    crate::support::stripe_events::stripe_event(id, kind, created, object, json!({}))
}

fn stripe_subscription(
    id: &str,
    metadata: &serde_json::Value,
    status: &str,
    start: i64,
    cancel: bool,
) -> serde_json::Value {
    json!({ "id": id, "object": "subscription", "status": status, "cancel_at_period_end": cancel,
        "customer": "cus_1", "metadata": metadata,
        "items": { "object": "list", "data": [{ "id": "si_1", "object": "subscription_item", "quantity": 1,
            "current_period_start": start, "current_period_end": start + 30 * 86_400,
            "price": { "id": "price_premium", "object": "price", "unit_amount": 1_900, "currency": "usd",
                "recurring": { "interval": "month", "interval_count": 1 } } }] } })
}

pub(crate) fn stripe_invoice(
    id: &str,
    subscription: &str,
    metadata: &serde_json::Value,
    reason: &str,
    amount: i64,
) -> serde_json::Value {
    let failed = reason == "failed";
    json!({ "id": id, "object": "invoice", "billing_reason": if failed { "subscription_cycle" } else { reason },
        "amount_paid": if failed { 0 } else { amount }, "amount_due": amount,
        "amount_remaining": if failed { amount } else { 0 }, "total": amount, "subtotal": amount, "currency": "usd",
        "customer": "cus_1", "status": if failed { "open" } else { "paid" },
        "parent": { "type": "subscription_details",
            "subscription_details": { "subscription": subscription, "metadata": metadata } } })
}

/// A subscription's lifecycle through Stripe (paid at checkout, renewed, canceled at period end,
/// deleted) ends in the same state whatever order the events arrive in; a failed renewal
/// leaves the plan through the grace period, then the account is on free.
#[tokio::test]
async fn a_stripe_subscription_ends_the_same_whatever_order_its_events_arrive_in() {
    let secret = "whsec_lifecycle";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec![secret.into()]).await;
    let services = &app.state.services;
    let now = app.clock_now().timestamp();
    let post = async |body: String| {
        deliver(&app, secret, &body).await;
    };
    // 0 checkout completed, 1 subscription created, 2 renewal paid, 3 cancel at period end, 4 deleted.
    let orders: Vec<Vec<usize>> = permutations(&[1, 2, 3, 4])
        .into_iter()
        .enumerate()
        .map(|(n, mut order)| {
            order.insert(n % 5, 0);
            order
        })
        .collect();
    for (n, order) in orders.iter().enumerate() {
        let email = format!("buyer{n}@example.com");
        let buyer = app.signed_up("Buyer", &email).await;
        let me = buyer.me().await.expect("me");
        let org = me.active_org.expect("personal workspace").id;
        let c = checkout(&buyer, "plan:premium", "month", "").await.expect("checkout");
        let sub = format!("sub_{n}");
        let metadata =
            json!({ "cairn_org": org, "cairn_user": me.user_id, "cairn_plan": "premium", "cairn_plan_version": "1" });
        let events = [
            stripe_event(
                &format!("evt_{n}_0"),
                "checkout.session.completed",
                now,
                json!({ "id": format!("cs_{n}"),
                "object": "checkout.session", "client_reference_id": c.id, "amount_total": 1_900, "currency": "usd",
                "mode": "subscription", "payment_status": "paid", "payment_intent": null, "subscription": sub, "status": "complete" }),
            ),
            stripe_event(
                &format!("evt_{n}_1"),
                "customer.subscription.created",
                now + 1,
                stripe_subscription(&sub, &metadata, "active", now, false),
            ),
            stripe_event(
                &format!("evt_{n}_2"),
                "invoice.paid",
                now + 30 * 86_400,
                stripe_invoice(&format!("in_{n}_2"), &sub, &metadata, "subscription_cycle", 1_900),
            ),
            stripe_event(
                &format!("evt_{n}_3"),
                "customer.subscription.updated",
                now + 30 * 86_400 + 1,
                stripe_subscription(&sub, &metadata, "active", now + 30 * 86_400, true),
            ),
            stripe_event(
                &format!("evt_{n}_4"),
                "customer.subscription.deleted",
                now + 60 * 86_400,
                stripe_subscription(&sub, &metadata, "canceled", now + 30 * 86_400, true),
            ),
        ];
        for &i in order {
            post(events[i].clone()).await;
        }
        let state = services.store.plan_subscriptions(&[org]).await.expect("subscription").pop().expect("a row");
        assert_eq!(
            (state.status, state.provider_ref.as_deref(), state.cancel_at_period_end, state.period_start.timestamp()),
            (PlanStatus::Canceled, Some(sub.as_str()), true, now + 30 * 86_400),
            "order {order:?}"
        );
        let summary: BillingSummary = buyer.call_json("billing_overview", json!({})).await.expect("overview");
        assert_eq!(summary.plan_code, "free", "order {order:?}");
        let mut paid: Vec<i64> = summary.payments.iter().map(|p| p.amount).collect();
        paid.sort_unstable();
        assert_eq!(paid, [1_900, 1_900], "the checkout and one renewal, once each: order {order:?}");
    }
    assert_eq!(ledger_total(&app).await, 0);

    // A renewal fails: the plan stays through the grace period, the payer hears what happens
    // next, and then the account is on free.
    let dana = app.signed_up("Dana", "dana@example.com").await;
    let me = dana.me().await.expect("me");
    let org = me.active_org.expect("personal").id;
    let metadata =
        json!({ "cairn_org": org, "cairn_user": me.user_id, "cairn_plan": "premium", "cairn_plan_version": "1" });
    let start = now - 30 * 86_400;
    post(stripe_event(
        "evt_d1",
        "customer.subscription.created",
        start,
        stripe_subscription("sub_d", &metadata, "active", start, false),
    ))
    .await;
    post(stripe_event(
        "evt_d2",
        "invoice.payment_failed",
        now,
        stripe_invoice("in_d2", "sub_d", &metadata, "failed", 1_900),
    ))
    .await;
    post(stripe_event(
        "evt_d3",
        "customer.subscription.updated",
        now + 1,
        stripe_subscription("sub_d", &metadata, "past_due", start, false),
    ))
    .await;
    app.mail.wait_for("dana@example.com", "Your Premium payment failed").await;
    let summary: BillingSummary = dana.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.status), ("premium", Some(PlanStatus::PastDue)));
    assert!(summary.next.starts_with("The last payment failed."), "{}", summary.next);
    assert_eq!(app::api::billing::renew_due(services).await.expect("renew"), 0, "still in the grace period");
    app.clock.advance(chrono::Duration::days(app::domain::billing::GRACE_DAYS + 1));
    let (a, b) = tokio::join!(app::api::billing::renew_due(services), app::api::billing::renew_due(services));
    assert_eq!(a.expect("lapse") + b.expect("lapse"), 1, "lapses once");
    dana.sign_in("dana@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = dana.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.plan_code, "free");
    let history = services.store.plan_history().await.expect("history");
    let dana_changes: Vec<(i64, String)> =
        history.iter().filter(|c| c.org_id == org).map(|c| (c.mrr_after, c.reason.clone())).collect();
    assert_eq!(
        dana_changes,
        [(1_900, "stripe: active".into()), (1_900, "stripe: past_due".into()), (0, "lapsed".into())]
    );
}

/// A webhook endpoint created before API version 2025-03-31 gets the older shapes: the period on
/// the subscription itself, an invoice's subscription and its metadata at the invoice's top.
/// Cairn reads them too. (Sent as such, unchecked: async-stripe speaks the current version.)
#[tokio::test]
async fn stripe_events_of_an_older_api_version_are_read_too() {
    let secret = "whsec_older";
    let app = TestApp::spawn_with(|c| c.stripe_webhook_secrets = vec![secret.into()]).await;
    let services = &app.state.services;
    let now = app.clock_now().timestamp();
    let dana = app.signed_up("Dana", "dana@example.com").await;
    let me = dana.me().await.expect("me");
    let org = me.active_org.expect("personal").id;
    let metadata =
        json!({ "cairn_org": org, "cairn_user": me.user_id, "cairn_plan": "premium", "cairn_plan_version": "1" });
    let start = now - 10 * 86_400;
    let event = |id: &str, kind: &str, created: i64, object: serde_json::Value| {
        json!({ "id": id, "object": "event", "api_version": "2024-06-20", "created": created, "livemode": false,
            "pending_webhooks": 1, "request": { "id": null, "idempotency_key": null }, "type": kind,
            "data": { "object": object } })
        .to_string()
    };
    let subscription = json!({ "id": "sub_old", "object": "subscription", "status": "active",
        "cancel_at_period_end": false, "current_period_start": start, "current_period_end": start + 30 * 86_400,
        "customer": "cus_old", "metadata": metadata,
        "items": { "object": "list", "data": [{ "id": "si_old", "object": "subscription_item", "quantity": 1,
            "price": { "id": "price_old", "object": "price", "unit_amount": 1_900, "currency": "usd",
                "recurring": { "interval": "month", "interval_count": 1 } } }] } });
    let failed = json!({ "id": "in_old", "object": "invoice", "subscription": "sub_old",
        "billing_reason": "subscription_cycle", "amount_paid": 0, "amount_due": 1_900, "currency": "usd",
        "customer": "cus_old", "status": "open", "subscription_details": { "metadata": metadata } });
    for body in [
        event("evt_old_1", "customer.subscription.created", start, subscription),
        event("evt_old_2", "invoice.payment_failed", now, failed),
    ] {
        deliver(&app, secret, &body).await;
    }
    let state = services.store.plan_subscriptions(&[org]).await.expect("subscription").pop().expect("a row");
    assert_eq!(
        (state.plan_code.as_str(), state.status, state.period_start.timestamp(), state.period_end.timestamp()),
        ("premium", PlanStatus::Active, start, start + 30 * 86_400)
    );
    app.mail.wait_for("dana@example.com", "Your Premium payment failed").await;
}

/// A free trial: no payment until it ends, then the first payment (MRR starts then); canceled
/// during the trial it ends without a charge. Once per person.
#[tokio::test]
async fn a_free_trial_converts_when_it_ends_unless_canceled() {
    let app = TestApp::spawn().await;
    let services = &app.state.services;
    let alice = app.signed_up("Alice", "alice@example.com").await;
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert!(summary.trial_available);
    let none = alice.call_json::<()>("start_trial", json!({ "plan": "free" })).await.unwrap_err();
    assert_eq!(field_of(&none), "plan");
    alice.call_json::<()>("start_trial", json!({ "plan": "premium" })).await.expect("trial");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.status), ("premium", Some(PlanStatus::Trialing)));
    assert!(summary.next.starts_with("Your trial ends on"), "{}", summary.next);
    assert!(summary.payments.is_empty() && !summary.trial_available);
    assert_eq!(alice.call_json::<()>("start_trial", json!({ "plan": "creator" })).await.unwrap_err().status, 409);

    let bob = app.signed_up("Bob", "bob@example.com").await;
    bob.call_json::<()>("start_trial", json!({ "plan": "premium" })).await.expect("trial");
    bob.call_json::<()>("cancel_plan", json!({ "cancel": true })).await.expect("cancel");

    app.clock.advance(chrono::Duration::days(15));
    assert_eq!(app::api::billing::renew_due(services).await.expect("renew"), 2);
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!(summary.status, Some(PlanStatus::Active));
    assert_eq!(summary.payments.iter().map(|p| p.amount).collect::<Vec<_>>(), [1_900]);
    bob.sign_in("bob@example.com", PASSWORD).await.expect("sign in again");
    let summary: BillingSummary = bob.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.payments.len()), ("free", 0), "ended without a charge");

    // Revenue starts at conversion: Alice is the only paying subscriber.
    let history = services.store.plan_history().await.expect("history");
    let mut mrr: Vec<(i64, &str)> = history.iter().map(|c| (c.mrr_after, c.reason.as_str())).collect();
    mrr.sort_unstable();
    assert_eq!(mrr, [(0, "canceled"), (0, "ended"), (0, "trial"), (0, "trial"), (1_900, "converted")]);
}
