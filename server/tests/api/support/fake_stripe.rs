//! A local Stripe API over real HTTP for what Cairn calls: customers, prices (found by lookup
//! key), coupons, Checkout Sessions, Customer Portal sessions, Connect accounts, account links
//! and transfers. Requests are form-encoded with bracketed keys as Stripe's are; answers are
//! objects of Stripe's shape. Like Stripe it wants the secret key as a bearer token, and
//! replays the first answer to a repeated `Idempotency-Key` instead of doing the work again.
//! `fail_transfers` makes transfers answer Stripe's error, as for an account not ready.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One request as Stripe would see it.
#[derive(Debug, Clone)]
pub struct StripeRequest {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// The form body, bracketed keys as sent (`line_items[0][price]`).
    pub form: Vec<(String, String)>,
}

impl StripeRequest {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    key: String,
    base: String,
    requests: Mutex<Vec<StripeRequest>>,
    /// Idempotency key → the answer given.
    replays: Mutex<HashMap<String, (StatusCode, Value)>>,
    /// Lookup key → price.
    prices: Mutex<HashMap<String, Value>>,
    next: AtomicU64,
    fail_transfers: AtomicBool,
}

#[derive(Clone)]
pub struct FakeStripe {
    /// The API base to configure (`STRIPE_API_BASE`).
    pub base_url: String,
    shared: Arc<Shared>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn error(status: StatusCode, kind: &str, message: &str) -> (StatusCode, Value) {
    (status, json!({ "error": { "type": kind, "message": message } }))
}

/// `metadata[cairn_user]=…` and the like, under `prefix`, as a JSON object.
fn metadata(form: &[(String, String)], prefix: &str) -> Value {
    let start = format!("{prefix}[");
    let mut map = Map::new();
    for (k, v) in form {
        if let Some(name) = k.strip_prefix(&start).and_then(|rest| rest.strip_suffix(']')) {
            map.insert(name.to_owned(), json!(v));
        }
    }
    Value::Object(map)
}

impl Shared {
    fn id(&self, prefix: &str) -> String {
        format!("{prefix}_{:08}", self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn handle(
        &self,
        method: &Method,
        path: &str,
        form: &[(String, String)],
        query: &[(String, String)],
    ) -> (StatusCode, Value) {
        let p = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let number = |key: &str| p(key).and_then(|v| v.parse::<i64>().ok());
        match (method.as_str(), path) {
            ("POST", "/v1/customers") => (
                StatusCode::OK,
                json!({ "id": self.id("cus"), "object": "customer", "created": now(), "livemode": false,
                        "email": p("email"), "name": p("name"), "metadata": metadata(form, "metadata") }),
            ),
            ("GET", "/v1/prices") => {
                let keys: Vec<&String> =
                    query.iter().filter(|(k, _)| k.starts_with("lookup_keys")).map(|(_, v)| v).collect();
                let prices = self.prices.lock().unwrap();
                let data: Vec<Value> = keys.iter().filter_map(|k| prices.get(*k).cloned()).collect();
                (StatusCode::OK, json!({ "object": "list", "url": "/v1/prices", "has_more": false, "data": data }))
            }
            ("POST", "/v1/prices") => {
                let Some(amount) = number("unit_amount") else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "Missing required param: unit_amount.",
                    );
                };
                let recurring = p("recurring[interval]")
                    .map(|i| json!({ "interval": i, "interval_count": 1, "usage_type": "licensed" }));
                let price = json!({
                    "id": self.id("price"), "object": "price", "active": true, "billing_scheme": "per_unit",
                    "created": now(), "currency": p("currency"), "livemode": false, "lookup_key": p("lookup_key"),
                    "metadata": {}, "product": self.id("prod"), "recurring": recurring,
                    "type": if recurring.is_some() { "recurring" } else { "one_time" }, "unit_amount": amount,
                });
                if let Some(key) = p("lookup_key") {
                    self.prices.lock().unwrap().insert(key, price.clone());
                }
                (StatusCode::OK, price)
            }
            ("POST", "/v1/coupons") => (
                StatusCode::OK,
                json!({ "id": self.id("coupon"), "object": "coupon", "amount_off": number("amount_off"),
                        "currency": p("currency"), "created": now(), "duration": p("duration"),
                        "duration_in_months": number("duration_in_months"), "livemode": false, "name": p("name"),
                        "times_redeemed": 0, "valid": true, "metadata": {} }),
            ),
            ("POST", "/v1/checkout/sessions") => {
                let id = self.id("cs_test");
                let mode = p("mode").unwrap_or_else(|| "payment".into());
                (
                    StatusCode::OK,
                    json!({
                        "id": id, "object": "checkout.session", "mode": mode, "created": now(),
                        "expires_at": now() + 86_400, "livemode": false, "status": "open", "payment_status": "unpaid",
                        "customer": p("customer"), "client_reference_id": p("client_reference_id"),
                        "success_url": p("success_url"), "cancel_url": p("cancel_url"),
                        "metadata": metadata(form, "metadata"), "payment_method_types": ["card"],
                        "automatic_tax": { "enabled": false }, "custom_fields": [], "custom_text": {},
                        "shipping_options": [], "url": format!("{}/pay/{id}", self.base),
                    }),
                )
            }
            ("POST", "/v1/billing_portal/sessions") => {
                let Some(customer) = p("customer") else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "Missing required param: customer.",
                    );
                };
                let id = self.id("bps");
                (
                    StatusCode::OK,
                    json!({ "id": id, "object": "billing_portal.session", "configuration": "bpc_default",
                            "created": now(), "customer": customer, "livemode": false,
                            "return_url": p("return_url"), "url": format!("{}/portal/{id}", self.base) }),
                )
            }
            ("POST", "/v1/accounts") => (
                StatusCode::OK,
                json!({ "id": self.id("acct"), "object": "account", "type": p("type"), "email": p("email"),
                        "charges_enabled": false, "payouts_enabled": false, "details_submitted": false,
                        "created": now(), "metadata": metadata(form, "metadata") }),
            ),
            ("POST", "/v1/account_links") => {
                let Some(account) = p("account") else {
                    return error(StatusCode::BAD_REQUEST, "invalid_request_error", "Missing required param: account.");
                };
                (
                    StatusCode::OK,
                    json!({ "object": "account_link", "created": now(), "expires_at": now() + 300,
                            "url": format!("{}/onboarding/{account}", self.base) }),
                )
            }
            ("POST", "/v1/transfers") => {
                if self.fail_transfers.load(Ordering::Relaxed) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "Your destination account needs to have at least one of the following capabilities enabled: transfers.",
                    );
                }
                (
                    StatusCode::OK,
                    json!({ "id": self.id("tr"), "object": "transfer", "amount": number("amount"),
                            "amount_reversed": 0, "created": now(), "currency": p("currency"),
                            "destination": p("destination"), "livemode": false, "metadata": metadata(form, "metadata"),
                            "reversals": { "object": "list", "url": "/v1/transfers/reversals", "has_more": false, "data": [] },
                            "reversed": false, "transfer_group": p("transfer_group") }),
                )
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                &format!("Unrecognized request URL ({method} {path})."),
            ),
        }
    }
}

async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let path = uri.path().to_owned();
    let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    shared.requests.lock().unwrap().push(StripeRequest {
        method: method.to_string(),
        path: path.clone(),
        idempotency_key: idempotency_key.clone(),
        form: form.clone(),
    });
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (status, body) = if auth != format!("Bearer {}", shared.key) {
        error(StatusCode::UNAUTHORIZED, "invalid_request_error", "Invalid API Key provided.")
    } else if let Some(key) = idempotency_key.filter(|_| method == Method::POST) {
        let replay = shared.replays.lock().unwrap().get(&key).cloned();
        match replay {
            Some(answer) => answer,
            None => {
                let answer = shared.handle(&method, &path, &form, &query);
                shared.replays.lock().unwrap().insert(key, answer.clone());
                answer
            }
        }
    } else {
        shared.handle(&method, &path, &form, &query)
    };
    (status, Json(body)).into_response()
}

/// Stripe's hosted pages, for a browser sent there.
async fn page(uri: Uri, Path(id): Path<String>) -> String {
    format!("Fake Stripe page {} for {id}", uri.path())
}

impl FakeStripe {
    /// A server that wants `key` as the secret key.
    pub async fn start(key: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake stripe");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared { key: key.to_owned(), base: base_url.clone(), ..Shared::default() });
        let app = axum::Router::new()
            .route("/pay/{id}", axum::routing::get(page))
            .route("/portal/{id}", axum::routing::get(page))
            .route("/onboarding/{id}", axum::routing::get(page))
            .fallback(api)
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base_url, shared }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<StripeRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests to `path` (`POST /v1/transfers` is `"/v1/transfers"`).
    pub fn requests_to(&self, path: &str) -> Vec<StripeRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    pub fn fail_transfers(&self, fail: bool) {
        self.shared.fail_transfers.store(fail, Ordering::Relaxed);
    }
}
