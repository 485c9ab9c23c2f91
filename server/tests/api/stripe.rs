//! Billing through Stripe, against a local fake Stripe API over HTTP: checkouts become Stripe
//! Checkout Sessions (a customer and a price made once, a promo code as a coupon, Cairn's
//! metadata on the subscription, idempotency keys from Cairn's own ids), the signed webhook
//! settles them, the Customer Portal opens for the customer, creators onboard to Connect and
//! payout batches become transfers that are never sent twice.

use crate::billing::{checkout, ledger_total, premium_sequence, promo, sysadmin};
use crate::orgs::join;
use crate::support::TestApp;
use crate::support::fake_stripe::FakeStripe;
use app::api::billing::{BillingSummary, PayoutView, PriceView, SalesView};
use serde_json::json;

const KEY: &str = "sk_test_cairn";
const SECRET: &str = "whsec_cairn";

async fn stripe_app() -> (TestApp, FakeStripe) {
    let stripe = FakeStripe::start(KEY).await;
    let base = stripe.base_url.clone();
    let app = TestApp::spawn_with(|c| {
        c.stripe_secret_key = Some(KEY.into());
        c.stripe_api_base = Some(base);
        c.stripe_webhook_secrets = vec![SECRET.into()];
    })
    .await;
    (app, stripe)
}

/// Delivers a signed Stripe event and applies it.
async fn deliver(app: &TestApp, kind: &str, object: serde_json::Value, extra: serde_json::Value) {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let body = crate::support::stripe_events::stripe_event(&id, kind, app.clock_now().timestamp(), object, extra);
    crate::billing::deliver(app, SECRET, &body).await;
}

#[tokio::test]
async fn a_plan_is_bought_through_stripe_checkout_and_managed_in_the_portal() {
    let (app, stripe) = stripe_app().await;
    let sam = sysadmin(&app).await;
    promo(&sam, "LAUNCH20", "20", "plan:premium", "").await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    let alice_id = alice.me().await.expect("me").user_id;
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert!(!summary.test_mode, "payments are real with a Stripe key");
    assert!(!summary.stripe_customer);
    let none = alice.call_json::<String>("billing_portal", json!({})).await.unwrap_err();
    assert_eq!(none.status, 409, "no portal before Stripe bills anything");

    let c = checkout(&alice, "plan:premium", "month", "launch20").await.expect("checkout");
    assert_eq!((c.price, c.discount, c.amount), (1_900, 380, 1_520));
    let pay_url = c.pay_url.clone().expect("paid at Stripe");
    assert!(pay_url.starts_with(&format!("{}/pay/cs_test_", stripe.base_url)), "{pay_url}");
    assert!(!c.test_mode);
    let refused = alice.call_json::<serde_json::Value>("pay_checkout", json!({ "id": c.id })).await.unwrap_err();
    assert_eq!(refused.status, 409, "a Stripe checkout is not paid on Cairn's test page");

    let customers = stripe.requests_to("/v1/customers");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].idempotency_key.as_deref(), Some(format!("customer-{}", alice_id.0).as_str()));
    assert_eq!(customers[0].param("email"), Some("alice@example.com"));
    let prices = stripe.requests_to("/v1/prices");
    assert_eq!(prices.iter().filter(|r| r.method == "POST").count(), 1);
    let made = prices.iter().find(|r| r.method == "POST").expect("price made");
    assert_eq!(made.param("lookup_key"), Some("cairn_plan_premium_v1_month"));
    assert_eq!((made.param("unit_amount"), made.param("recurring[interval]")), (Some("1900"), Some("month")));
    let coupon = &stripe.requests_to("/v1/coupons")[0];
    assert_eq!((coupon.param("amount_off"), coupon.param("duration")), (Some("380"), Some("once")));
    let session = &stripe.requests_to("/v1/checkout/sessions")[0];
    assert_eq!(session.idempotency_key.as_deref(), Some(format!("checkout-{}", c.id).as_str()));
    assert_eq!(session.param("mode"), Some("subscription"));
    assert_eq!(session.param("client_reference_id"), Some(c.id.to_string().as_str()));
    assert!(session.param("customer").is_some_and(|c| c.starts_with("cus_")));
    assert!(session.param("line_items[0][price]").is_some_and(|p| p.starts_with("price_")));
    assert!(session.param("discounts[0][coupon]").is_some_and(|p| p.starts_with("coupon_")));
    assert_eq!(session.param("subscription_data[metadata][cairn_plan]"), Some("premium"));
    assert_eq!(session.param("subscription_data[metadata][cairn_user]"), Some(alice_id.0.to_string().as_str()));
    assert!(session.param("subscription_data[metadata][cairn_org]").is_some());
    assert_eq!(
        session.param("success_url"),
        Some(format!("{}/billing/checkout/{}", app.address, c.id).as_str()),
        "back to Cairn's page, which waits for Stripe's word"
    );

    // A second checkout reuses the customer and the price.
    let again = checkout(&alice, "plan:premium", "month", "").await.expect("checkout");
    assert_eq!(stripe.requests_to("/v1/customers").len(), 1);
    assert_eq!(stripe.requests_to("/v1/prices").iter().filter(|r| r.method == "POST").count(), 1);
    assert_ne!(again.id, c.id);

    // Stripe's word that the first was paid settles it.
    let session_id = pay_url.rsplit('/').next().expect("session id").to_owned();
    let completed = json!({ "id": session_id, "object": "checkout.session", "client_reference_id": c.id,
        "amount_total": 1_520, "currency": "usd", "mode": "subscription", "payment_status": "paid",
        "status": "complete", "subscription": "sub_1Alice", "customer": session.param("customer") });
    deliver(&app, "checkout.session.completed", completed, json!({})).await;
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert_eq!((summary.plan_code.as_str(), summary.payments.len()), ("premium", 1));
    assert_eq!(summary.payments[0].amount, 1_520);
    assert!(summary.stripe_customer);
    assert_eq!(ledger_total(&app).await, 0);

    // A Stripe-billed plan changes in the portal, not through a new checkout.
    let upgrade = checkout(&alice, "plan:creator", "month", "").await.unwrap_err();
    assert_eq!(upgrade.status, 409);
    let portal: String = alice.call_json("billing_portal", json!({})).await.expect("portal");
    assert!(portal.starts_with(&format!("{}/portal/bps_", stripe.base_url)), "{portal}");
    let asked = &stripe.requests_to("/v1/billing_portal/sessions")[0];
    assert_eq!(asked.param("customer"), session.param("customer"));
    assert_eq!(asked.param("return_url"), Some(format!("{}/billing", app.address).as_str()));
}

#[tokio::test]
async fn creators_onboard_to_connect_and_payouts_are_transferred_once() {
    let (app, stripe) = stripe_app().await;
    let sam = sysadmin(&app).await;
    let (chris, org, id) = premium_sequence(&app, "Executive presence").await;
    let chris_id = chris.me().await.expect("me").user_id;
    let _: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");
    let victor = join(&app, &chris, org, "Victor Viewer", "victor@example.com", "viewer").await;
    victor.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let c = checkout(&victor, &format!("sequence:{id}"), "", "").await.expect("checkout");
    let session = stripe.requests_to("/v1/checkout/sessions").pop().expect("session");
    assert_eq!(session.param("mode"), Some("payment"), "a one-time purchase");
    assert_eq!(session.param("metadata[cairn_product]"), Some(format!("sequence:{id}").as_str()));
    let price = stripe.requests_to("/v1/prices").into_iter().rfind(|r| r.method == "POST").expect("price");
    assert_eq!(price.param("lookup_key"), Some(format!("cairn_sequence_{id}_4900_once").as_str()));
    assert_eq!(price.param("recurring[interval]"), None, "a one-time price");
    let completed = json!({ "id": "cs_test_victor", "object": "checkout.session", "client_reference_id": c.id,
        "amount_total": 4_900, "currency": "usd", "mode": "payment", "payment_status": "paid",
        "status": "complete", "payment_intent": "pi_Victor" });
    deliver(&app, "checkout.session.completed", completed, json!({})).await;
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    // 70% of $49.00, less his part of Stripe's fee.
    let owed = sales.balance;
    assert_eq!(owed, 3_310);
    assert!(sales.payout_account.stripe && !sales.payout_account.connected);

    // Nobody to transfer to yet: the payout waits, with the reason.
    let payouts: Vec<PayoutView> = sam.call_json("admin_payout_batch", json!({})).await.expect("batch");
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0].status, "pending");
    assert!(payouts[0].error.as_deref().is_some_and(|e| e.contains("not set up")), "{:?}", payouts[0].error);
    assert!(stripe.requests_to("/v1/transfers").is_empty());
    let batch = payouts[0].batch_id;

    // Chris onboards: one Express account, a fresh link each time.
    let link: String = chris.call_json("payout_onboarding", json!({})).await.expect("onboarding");
    assert!(link.starts_with(&format!("{}/onboarding/acct_", stripe.base_url)), "{link}");
    let _: String = chris.call_json("payout_onboarding", json!({})).await.expect("onboarding again");
    let accounts = stripe.requests_to("/v1/accounts");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].param("type"), Some("express"));
    assert_eq!(accounts[0].idempotency_key.as_deref(), Some(format!("connect-{}", chris_id.0).as_str()));
    assert_eq!(stripe.requests_to("/v1/account_links").len(), 2);
    let account = link.rsplit('/').next().expect("account").to_owned();
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert!(sales.payout_account.connected && !sales.payout_account.payouts_enabled);

    // Still not ready: sending again keeps it pending.
    let still: Vec<PayoutView> = sam.call_json("admin_send_payouts", json!({ "batch": batch })).await.expect("send");
    assert!(still[0].error.as_deref().is_some_and(|e| e.contains("onboarding")), "{:?}", still[0].error);
    // Stripe says the account is ready; Stripe refuses the first transfer, then takes it.
    deliver(
        &app,
        "account.updated",
        json!({ "id": account, "object": "account", "details_submitted": true, "payouts_enabled": true,
            "charges_enabled": true }),
        json!({ "account": account }),
    )
    .await;
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert!(sales.payout_account.payouts_enabled);
    stripe.fail_transfers(true);
    let failed: Vec<PayoutView> = sam.call_json("admin_send_payouts", json!({ "batch": batch })).await.expect("send");
    assert_eq!(failed[0].status, "pending");
    assert!(failed[0].error.as_deref().is_some_and(|e| e.contains("capabilities")), "{:?}", failed[0].error);
    stripe.fail_transfers(false);
    let paid: Vec<PayoutView> = sam.call_json("admin_send_payouts", json!({ "batch": batch })).await.expect("send");
    assert_eq!((paid[0].status.as_str(), paid[0].error.as_deref()), ("paid", None));
    let transfers = stripe.requests_to("/v1/transfers");
    assert_eq!(transfers.len(), 2, "the refused one and the one that went through");
    // Stripe replays a key's first answer: after a refusal the next try needs a new key.
    let keys: Vec<_> = transfers.iter().map(|t| t.idempotency_key.clone().unwrap_or_default()).collect();
    assert_eq!(keys, [format!("payout-{}", payouts[0].id), format!("payout-{}-1", payouts[0].id)]);
    assert_eq!(
        (transfers[1].param("amount"), transfers[1].param("destination")),
        (Some(owed.to_string().as_str()), Some(account.as_str()))
    );
    let _: Vec<PayoutView> = sam.call_json("admin_send_payouts", json!({ "batch": batch })).await.expect("send");
    assert_eq!(stripe.requests_to("/v1/transfers").len(), 2, "a paid payout is not sent again");
    assert_eq!(
        chris.call_json::<Vec<PayoutView>>("admin_send_payouts", json!({ "batch": batch })).await.unwrap_err().status,
        403
    );

    // Stripe reports the payout to Chris's bank.
    deliver(
        &app,
        "payout.paid",
        json!({ "id": "po_1", "object": "payout", "amount": owed, "currency": "usd", "status": "paid" }),
        json!({ "account": account }),
    )
    .await;
    let sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.payout_account.last_payout_status.as_deref(), Some("paid"));
    assert_eq!(ledger_total(&app).await, 0);
}

#[tokio::test]
async fn without_a_stripe_key_payouts_and_the_portal_say_so() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up("Alice Free", "alice@example.com").await;
    assert_eq!(alice.call_json::<String>("billing_portal", json!({})).await.unwrap_err().status, 409);
    assert_eq!(alice.call_json::<String>("payout_onboarding", json!({})).await.unwrap_err().status, 409);
    let summary: BillingSummary = alice.call_json("billing_overview", json!({})).await.expect("overview");
    assert!(summary.test_mode);
}

#[tokio::test]
async fn a_bad_stripe_address_stops_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = server::config::Config::for_tests(format!("sqlite://{}", dir.path().join("cairn.db").display()));
    config.stripe_secret_key = Some(KEY.into());
    config.stripe_api_base = Some("not a url".into());
    let err = server::services(&config).await.err().expect("refused");
    assert!(err.to_string().starts_with("stripe: "), "{err}");
}

/// An organization's seats are the quantity of its Stripe line item, each at the plan's price;
/// Stripe's subscription, when it arrives, says how many seats the organization holds, and its
/// seats change in the Customer Portal from then on.
#[tokio::test]
async fn an_organizations_seats_are_the_quantity_of_its_stripe_subscription() {
    use app::api::billing::{CheckoutView, OrgPlanView};
    let (app, stripe) = stripe_app().await;
    let olivia = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = crate::orgs::create_org(&olivia, "Acme").await.id;
    let choose = |seats: &'static str| {
        let olivia = &olivia;
        async move {
            olivia
                .call_json::<Option<CheckoutView>>(
                    "choose_org_plan",
                    json!({ "org_id": org, "plan": "team", "seats": seats, "interval": "month" }),
                )
                .await
        }
    };
    let c = choose("7").await.expect("choose").expect("a checkout");
    assert_eq!(c.amount, 8_400);
    assert!(c.pay_url.is_some_and(|u| u.starts_with(&stripe.base_url)));
    let made = stripe.requests_to("/v1/prices").into_iter().find(|r| r.method == "POST").expect("price made");
    assert_eq!((made.param("lookup_key"), made.param("unit_amount")), (Some("cairn_plan_team_v1_month"), Some("1200")));
    let session = &stripe.requests_to("/v1/checkout/sessions")[0];
    assert_eq!(session.param("line_items[0][quantity]"), Some("7"));
    assert_eq!(session.param("subscription_data[metadata][cairn_org]"), Some(org.0.to_string().as_str()));
    assert_eq!(session.param("cancel_url"), Some(format!("{}/org/members", app.address).as_str()));

    let metadata = json!({ "cairn_org": org.0.to_string(), "cairn_plan": "team", "cairn_plan_version": "1" });
    let start = app.clock_now().timestamp();
    let subscription = json!({ "id": "sub_acme", "object": "subscription", "status": "active",
        "cancel_at_period_end": false, "customer": "cus_1", "metadata": metadata,
        "items": { "object": "list", "data": [{ "id": "si_1", "object": "subscription_item", "quantity": 7,
            "current_period_start": start, "current_period_end": start + 30 * 86_400,
            "price": { "id": "price_team", "object": "price", "unit_amount": 1_200, "currency": "usd",
                "recurring": { "interval": "month", "interval_count": 1 } } }] } });
    deliver(&app, "customer.subscription.created", subscription, json!({})).await;
    let plan: OrgPlanView = olivia.call_json("org_plan", json!({ "org_id": org })).await.expect("org plan");
    assert_eq!(
        (plan.plan_code.as_str(), plan.seats, plan.limit, plan.billed_by_stripe),
        ("team", Some(7), Some(7), true)
    );
    assert!(plan.next.ends_with("for $84.00."), "{}", plan.next);
    assert_eq!(choose("9").await.unwrap_err().status, 409, "seats change in the portal");
}
