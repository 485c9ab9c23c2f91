//! Stripe events as Stripe sends them: complete objects of the API version async-stripe speaks
//! (`tests/fixtures/stripe/<object>.json`, one per object type), with each test's own fields laid
//! over them. Every object is read by async-stripe's deserializer for its type before it is sent,
//! so a test cannot send Cairn a shape Stripe would not.

use serde_json::{Value, json};

fn fixture(object: &str) -> Value {
    let text = match object {
        "event" => include_str!("../../fixtures/stripe/event.json"),
        "account" => include_str!("../../fixtures/stripe/account.json"),
        "charge" => include_str!("../../fixtures/stripe/charge.json"),
        "checkout.session" => include_str!("../../fixtures/stripe/checkout.session.json"),
        "dispute" => include_str!("../../fixtures/stripe/dispute.json"),
        "invoice" => include_str!("../../fixtures/stripe/invoice.json"),
        "payout" => include_str!("../../fixtures/stripe/payout.json"),
        "subscription" => include_str!("../../fixtures/stripe/subscription.json"),
        other => panic!("no Stripe fixture for `{other}` objects"),
    };
    serde_json::from_str(text).expect("the fixture is JSON")
}

/// `over` laid over `base`: objects key by key, arrays element by element over the base's first
/// element (a Stripe list holds one kind of thing), anything else replaced.
fn overlay(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (key, value) in o {
                let merged = b.get(key).map_or_else(|| value.clone(), |old| overlay(old, value));
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(b), Value::Array(o)) => match b.first() {
            Some(template) => Value::Array(o.iter().map(|v| overlay(template, v)).collect()),
            None => over.clone(),
        },
        _ => over.clone(),
    }
}

/// Whether async-stripe reads `object` as a Stripe object of type `kind`.
fn reads_as_stripe(kind: &str, object: &Value) -> bool {
    let text = object.to_string();
    match kind {
        "account" => miniserde::json::from_str::<stripe_shared::Account>(&text).is_ok(),
        "charge" => miniserde::json::from_str::<stripe_shared::Charge>(&text).is_ok(),
        "checkout.session" => miniserde::json::from_str::<stripe_shared::CheckoutSession>(&text).is_ok(),
        "dispute" => miniserde::json::from_str::<stripe_shared::Dispute>(&text).is_ok(),
        "invoice" => miniserde::json::from_str::<stripe_shared::Invoice>(&text).is_ok(),
        "payout" => miniserde::json::from_str::<stripe_shared::Payout>(&text).is_ok(),
        "subscription" => miniserde::json::from_str::<stripe_shared::Subscription>(&text).is_ok(),
        _ => false,
    }
}

/// A complete Stripe object of the type `fields["object"]` names, `fields` laid over its fixture.
pub fn stripe_object(fields: Value) -> Value {
    let kind = fields["object"].as_str().expect("a Stripe object names its type").to_owned();
    let mut object = overlay(&fixture(&kind), &fields);
    if kind == "subscription" {
        let id = object["id"].clone();
        for item in object["items"]["data"].as_array_mut().into_iter().flatten() {
            item["subscription"] = id.clone();
        }
    }
    assert!(reads_as_stripe(&kind, &object), "async-stripe does not read this as a Stripe {kind}: {object:#}");
    object
}

/// A Stripe event of type `kind` about `object` (completed as [`stripe_object`] does), as Stripe
/// posts it; `envelope` sets more of the event's own fields (`account` on Connect events).
pub fn stripe_event(id: &str, kind: &str, created: i64, object: Value, envelope: Value) -> String {
    let mut event =
        overlay(&fixture("event"), &json!({ "id": id, "type": kind, "created": created, "data": { "object": {} } }));
    event["data"]["object"] = stripe_object(object);
    if envelope.is_object() {
        event = overlay(&event, &envelope);
    }
    event.to_string()
}

#[test]
fn every_fixture_reads_as_its_stripe_object() {
    for kind in ["account", "charge", "checkout.session", "dispute", "invoice", "payout", "subscription"] {
        assert!(reads_as_stripe(kind, &fixture(kind)), "{kind}");
        assert!(!reads_as_stripe(kind, &json!({ "object": kind })), "{kind}: an empty object is no {kind}");
    }
}
