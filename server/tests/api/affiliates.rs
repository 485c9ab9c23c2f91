//! Affiliates: a creator pays a commission on a premium sequence; a member gets a link (one per
//! person and product), a click on it leaves a cookie for the attribution window, a sign-up
//! through it is remembered, and a purchase it brought pays the affiliate their commission in
//! the ledger — reversed by a refund, paid out with the rest. A journey's affiliate program
//! covers every tier it sells.

use crate::billing::{checkout, ledger_total, premium_sequence, sysadmin};
use crate::support::{Client, PASSWORD, TestApp, field_of};
use app::api::billing::{AffiliateLinkView, CheckoutView, PayoutView, PriceView, SalesView};
use app::api::journeys::JourneyView;
use app::domain::{CapabilityRole, OrgId};
use app::dto::{InvitationView, OrgSummary};
use serde_json::json;

async fn pay(client: &Client, id: uuid::Uuid) -> CheckoutView {
    client.call_json("pay_checkout", json!({ "id": id })).await.expect("pay")
}

async fn set_rate(client: &Client, id: uuid::Uuid, percent: &str) -> Result<u32, crate::support::Failure> {
    client.call_json("set_affiliate_rate", json!({ "id": id, "percent": percent })).await
}

/// Follows an affiliate link the way a browser does (the client keeps the cookie).
async fn click(client: &Client, url: &str) -> reqwest::Response {
    client.http.get(url).send().await.expect("click")
}

/// Signs `client` up as a new person and into `org` by invitation.
async fn sign_up_and_join(app: &TestApp, owner: &Client, org: OrgId, client: &Client, name: &str, email: &str) {
    owner
        .call::<InvitationView>("invite", &[("org_id", &org.to_string()), ("email", email), ("role", "viewer")])
        .await
        .expect("invite");
    let invite = app.mail.token_for(email, "invite?token=").await;
    client.sign_up(name, email, PASSWORD).await.expect("sign up");
    let token = app.mail.token_for(email, "verify-email?token=").await;
    client.call::<serde_json::Value>("verify_email", &[("token", &token)]).await.expect("verify");
    client.call::<OrgSummary>("accept_invitation", &[("token", &invite)]).await.expect("accept");
    client.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
}

#[tokio::test]
async fn an_affiliate_link_brings_a_sign_up_and_a_sale_and_earns_its_commission() {
    let app = TestApp::spawn().await;
    let sam = sysadmin(&app).await;
    let (chris, org, id) = premium_sequence(&app, "Executive presence").await;
    let product = format!("sequence:{id}");
    // Six people join Chris's organization, one more than the free plan seats: a boost (not a
    // plan, whose premium sequences would spare the buyers their purchase) makes room.
    let boost = app::ports::BoostRecord {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        boost: app::domain::billing::Boost { quota: app::domain::billing::Quota::Members, extra: 5 },
        reason: "room for the buyers".into(),
        expires_at: app.clock_now() + chrono::Duration::days(365),
        created_by: None,
        created_at: app.clock_now(),
    };
    app.state.services.store.add_boost(&boost).await.expect("boost");
    assert_eq!(set_rate(&chris, id, "10").await.unwrap_err().status, 404, "no price yet");
    let _: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");

    let alice = app.client();
    sign_up_and_join(&app, &chris, org, &alice, "Alice Affiliate", "alice@example.com").await;
    let none = alice.call_json::<AffiliateLinkView>("affiliate_link", json!({ "product": product })).await.unwrap_err();
    assert_eq!(none.status, 409, "no affiliate program yet");
    assert_eq!(field_of(&set_rate(&chris, id, "60").await.unwrap_err()), "percent");
    assert_eq!(field_of(&set_rate(&chris, id, "ten").await.unwrap_err()), "percent");
    assert_eq!(set_rate(&alice, id, "10").await.unwrap_err().status, 403, "only the seller sets it");
    assert_eq!(set_rate(&chris, id, "10%").await.expect("rate"), 1_000);
    // Saving the price again keeps the commission.
    let price: Option<PriceView> = chris
        .call_json("set_sequence_price", json!({ "id": id, "amount": "49", "monthly": false }))
        .await
        .expect("price");
    assert_eq!(price.map(|p| p.affiliate_bps), Some(1_000));

    let link: AffiliateLinkView = alice.call_json("affiliate_link", json!({ "product": product })).await.expect("link");
    assert!(link.url.starts_with(&format!("{}/r/", app.address)), "{}", link.url);
    assert_eq!((link.title.as_str(), link.rate_bps, link.clicks), ("Executive presence", 1_000, 0));
    let again: AffiliateLinkView =
        alice.call_json("affiliate_link", json!({ "product": product })).await.expect("link");
    assert_eq!(again.url, link.url, "one link per person and product");
    let own = chris.call_json::<AffiliateLinkView>("affiliate_link", json!({ "product": product })).await.unwrap_err();
    assert_eq!(own.status, 409, "the creator shares directly");

    // Bob clicks: a redirect to the sequence with a cookie for 30 days.
    let bob = app.client();
    let response = click(&bob, &link.url).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/sequences/{id}").as_str());
    let cookie = response.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(
        cookie.starts_with("cairn_ref=") && cookie.contains("Max-Age=2592000") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let unknown = click(&app.client(), &format!("{}/r/nosuchcode", app.address)).await;
    assert_eq!((unknown.status().as_u16(), unknown.headers().get("set-cookie").is_none()), (303, true));

    // He signs up with the cookie, and buys: Alice earns 10% of the sale after processing.
    sign_up_and_join(&app, &chris, org, &bob, "Bob Buyer", "bob@example.com").await;
    let c = checkout(&bob, &product, "", "").await.expect("checkout");
    pay(&bob, c.id).await;
    let links: Vec<AffiliateLinkView> = alice.call_json("my_affiliate_links", json!({})).await.expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].clicks, links[0].signups, links[0].sales, links[0].commission), (1, 1, 1, 490));
    let sales: SalesView = alice.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.balance, 490, "the commission is Alice's to be paid out");
    let chris_sales: SalesView = chris.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(chris_sales.balance, 3_087, "70% of what is left after the commission");
    assert_eq!(ledger_total(&app).await, 0);

    // A buyer who came on his own owes Alice nothing.
    let carol = app.client();
    sign_up_and_join(&app, &chris, org, &carol, "Carol Direct", "carol@example.com").await;
    let c = checkout(&carol, &product, "", "").await.expect("checkout");
    pay(&carol, c.id).await;
    let links: Vec<AffiliateLinkView> = alice.call_json("my_affiliate_links", json!({})).await.expect("links");
    assert_eq!((links[0].sales, links[0].commission), (1, 490));

    // A refund takes the commission back.
    let payment = chris_sales.sales[0].id;
    sam.call_json::<()>("admin_refund", json!({ "id": payment, "reason": "Changed his mind" })).await.expect("refund");
    let links: Vec<AffiliateLinkView> = alice.call_json("my_affiliate_links", json!({})).await.expect("links");
    assert_eq!((links[0].sales, links[0].commission), (0, 0));
    let sales: SalesView = alice.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.balance, 0);
    assert_eq!(ledger_total(&app).await, 0);

    // Past the window, a sign-up's purchase is no longer credited (and the browser has dropped
    // the cookie).
    let dave = app.client();
    click(&dave, &link.url).await;
    sign_up_and_join(&app, &chris, org, &dave, "Dave Later", "dave@example.com").await;
    app.clock.advance(chrono::Duration::days(31));
    let dave = app.client();
    dave.sign_in("dave@example.com", PASSWORD).await.expect("sign in again");
    let c = checkout(&dave, &product, "", "").await.expect("checkout");
    pay(&dave, c.id).await;
    alice.sign_in("alice@example.com", PASSWORD).await.expect("sign in again");
    let links: Vec<AffiliateLinkView> = alice.call_json("my_affiliate_links", json!({})).await.expect("links");
    assert_eq!((links[0].clicks, links[0].signups, links[0].sales), (2, 2, 0));

    // Commissions are paid out like a creator's share, once above the $25 minimum.
    chris.sign_in("chris@example.com", PASSWORD).await.expect("sign in again");
    let erin = app.client();
    click(&erin, &link.url).await;
    sign_up_and_join(&app, &chris, org, &erin, "Erin Buyer", "erin@example.com").await;
    let c = checkout(&erin, &product, "", "").await.expect("checkout");
    pay(&erin, c.id).await;
    let sales: SalesView = alice.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!(sales.balance, 490);
    sam.sign_in("sam@example.com", PASSWORD).await.expect("sign in again");
    let batch: Vec<PayoutView> = sam.call_json("admin_payout_batch", json!({})).await.expect("batch");
    assert!(batch.iter().any(|p| p.email == "chris@example.com"));
    assert!(batch.iter().all(|p| p.email != "alice@example.com"), "below the minimum payout");
    assert_eq!(ledger_total(&app).await, 0);
}

async fn set_journey_rate(client: &Client, id: uuid::Uuid, percent: &str) -> Result<u32, crate::support::Failure> {
    client.call_json("set_journey_affiliate_rate", json!({ "id": id, "percent": percent })).await
}

#[tokio::test]
async fn a_journeys_affiliate_program_covers_every_tier_and_a_sale_it_brought_pays_the_commission() {
    let app = TestApp::spawn().await;
    let olivia = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let org = crate::orgs::create_org(&olivia, "Acme").await.id;
    olivia.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let me = olivia.me().await.expect("me").user_id;
    app.state.services.store.grant_capability(me, CapabilityRole::Creator).await.expect("creator");
    let id = crate::journeys::published(&olivia).await;
    let product = format!("journey:{id}");
    assert_eq!(set_journey_rate(&olivia, id, "10").await.unwrap_err().status, 409, "nothing for sale yet");
    crate::journeys::set_prices(&olivia, id, &[("essentials", "month", "20")]).await.expect("prices");

    let alice = app.client();
    sign_up_and_join(&app, &olivia, org, &alice, "Alice Affiliate", "alice@example.com").await;
    let none = alice.call_json::<AffiliateLinkView>("affiliate_link", json!({ "product": product })).await.unwrap_err();
    assert_eq!(none.status, 409, "no affiliate program yet");
    assert_eq!(field_of(&set_journey_rate(&olivia, id, "51").await.unwrap_err()), "percent");
    assert_eq!(set_journey_rate(&alice, id, "10").await.unwrap_err().status, 403, "only its creator sets it");
    assert_eq!(set_journey_rate(&olivia, id, "10").await.expect("rate"), 1_000);
    // A tier put on sale later pays the same commission.
    let prices = crate::journeys::set_prices(&olivia, id, &[("essentials", "month", "20"), ("guided", "year", "200")])
        .await
        .expect("prices");
    assert!(prices.iter().all(|p| p.affiliate_bps == 1_000), "{prices:?}");
    let seen: JourneyView = alice.call_json("journey", json!({ "id": id })).await.expect("view");
    assert_eq!(seen.affiliate_bps, 1_000);

    let link: AffiliateLinkView = alice.call_json("affiliate_link", json!({ "product": product })).await.expect("link");
    assert_eq!((link.title.as_str(), link.rate_bps), ("Wedding plan", 1_000));
    let own = olivia.call_json::<AffiliateLinkView>("affiliate_link", json!({ "product": product })).await.unwrap_err();
    assert_eq!(own.status, 409, "the creator shares directly");
    let tier = alice
        .call_json::<AffiliateLinkView>("affiliate_link", json!({ "product": format!("{product}:guided:year") }))
        .await
        .unwrap_err();
    assert_eq!(tier.status, 404, "a link is for the journey, not one of its tiers");
    // Someone outside the organization cannot see the journey, so gets no link for it.
    let stranger = app.signed_up("Sue Stranger", "sue@example.com").await;
    let hidden = stranger.call_json::<AffiliateLinkView>("affiliate_link", json!({ "product": product })).await;
    assert!(matches!(hidden.unwrap_err().status, 403 | 404));

    // Bob follows the link to the journey, signs up and buys the yearly Guided tier.
    let bob = app.client();
    let response = click(&bob, &link.url).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/journeys/{id}").as_str());
    sign_up_and_join(&app, &olivia, org, &bob, "Bob Buyer", "bob@example.com").await;
    let c = checkout(&bob, &format!("{product}:guided:year"), "", "").await.expect("checkout");
    pay(&bob, c.id).await;
    // $200.00: Alice earns 10% ($20.00); Olivia 85% of the other $180.00 ($153.00).
    let links: Vec<AffiliateLinkView> = alice.call_json("my_affiliate_links", json!({})).await.expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].title.as_str(), links[0].clicks, links[0].signups), ("Wedding plan", 1, 1));
    assert_eq!((links[0].sales, links[0].commission), (1, 2_000));
    let sales: SalesView = olivia.call_json("my_sales", json!({})).await.expect("sales");
    assert_eq!((sales.sales[0].share, sales.balance), (15_300, 15_300));
    assert_eq!(ledger_total(&app).await, 0);

    // Ending the program: later buyers bring Alice nothing.
    assert_eq!(set_journey_rate(&olivia, id, "0").await.expect("rate"), 0);
    let carol = app.client();
    click(&carol, &link.url).await;
    sign_up_and_join(&app, &olivia, org, &carol, "Carol Later", "carol@example.com").await;
    let c = checkout(&carol, &format!("{product}:essentials:month"), "", "").await.expect("checkout");
    pay(&carol, c.id).await;
    let links: Vec<AffiliateLinkView> = alice.call_json("my_affiliate_links", json!({})).await.expect("links");
    assert_eq!((links[0].sales, links[0].commission), (1, 2_000));
}
