//! `POST /webhooks/stripe`: Stripe's events, verified by their `Stripe-Signature` against the
//! configured signing secrets (`STRIPE_WEBHOOK_SECRET`, comma-separated while one is rolled),
//! stored once by event id and processed in the background (`app::api::billing::rules`).

use crate::AppState;
use app::ports::StripeEventRecord;
use app::security::{SignatureError, verify_stripe_signature};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

/// How far a signature's timestamp may be from now (Stripe's libraries use 300 s).
const TOLERANCE_SECS: i64 = 300;

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let secrets = &state.config.stripe_webhook_secrets;
    if secrets.is_empty() {
        return refuse(StatusCode::NOT_FOUND, "not_found", "Stripe is not configured on this server.");
    }
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let now = state.services.clock.now();
    if let Err(e) = verify_stripe_signature(&body, header, secrets, now.timestamp(), TOLERANCE_SECS) {
        let message = match e {
            SignatureError::Malformed => "The Stripe-Signature header is missing or malformed.",
            SignatureError::Stale => "The signature's timestamp is outside the tolerance.",
            SignatureError::Mismatch => "No signature matches the payload.",
        };
        return refuse(StatusCode::BAD_REQUEST, "invalid_signature", message);
    }
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "invalid_json", "The payload is not JSON."),
    };
    let (Some(id), Some(event_type)) = (event["id"].as_str(), event["type"].as_str()) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid_event", "The event has no id or type.");
    };
    let record = StripeEventRecord {
        id: id.chars().take(255).collect(),
        event_type: event_type.chars().take(100).collect(),
        created: event["created"].as_i64().unwrap_or(now.timestamp()),
        payload: String::from_utf8_lossy(&body).into_owned(),
        attempts: 0,
        object_id: event["data"]["object"]["id"].as_str().map(|id| id.chars().take(255).collect()),
    };
    match state.services.store.record_stripe_event(&record, now).await {
        Ok(new) => {
            if new {
                state.services.jobs.notify_waiters();
            }
            (StatusCode::OK, Json(json!({ "received": true, "duplicate": !new }))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a Stripe event failed");
            // Stripe retries on any non-2xx answer.
            refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Could not store the event; Stripe will retry.")
        }
    }
}
