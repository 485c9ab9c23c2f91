//! OAuth sign-in against a local fake provider that speaks the protocol: an authorize endpoint
//! that redirects back with a code, a token endpoint that checks the client secret and the PKCE
//! verifier, and a userinfo endpoint that needs the access token.

use crate::support::{PASSWORD, TestApp};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct FakeProvider {
    /// code → (PKCE challenge, redirect_uri)
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
    email: String,
    email_verified: bool,
}

async fn authorize(State(p): State<FakeProvider>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q.get("client_id").map(String::as_str), Some("cairn-client"));
    assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
    assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
    let code = format!("code-{}", p.codes.lock().map(|c| c.len()).unwrap_or(0));
    let redirect = q["redirect_uri"].clone();
    p.codes.lock().expect("lock").insert(code.clone(), (q["code_challenge"].clone(), redirect.clone()));
    Redirect::to(&format!("{redirect}?code={code}&state={}", q["state"])).into_response()
}

async fn token(State(p): State<FakeProvider>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some((challenge, redirect)) = p.codes.lock().expect("lock").remove(&form["code"]) else {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": "invalid_grant" }))).into_response();
    };
    let computed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(form["code_verifier"].as_bytes()));
    if computed != challenge || form["client_secret"] != "cairn-secret" || form["redirect_uri"] != redirect {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": "invalid_grant" }))).into_response();
    }
    Json(serde_json::json!({ "access_token": "access-token-1", "token_type": "Bearer", "expires_in": 3600 }))
        .into_response()
}

async fn userinfo(State(p): State<FakeProvider>, headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer access-token-1") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(serde_json::json!({ "sub": "42", "email": p.email, "email_verified": p.email_verified, "name": "Otto Auth" }))
        .into_response()
}

async fn start_provider(email: &str, email_verified: bool) -> String {
    let provider = FakeProvider { codes: Arc::default(), email: email.into(), email_verified };
    let app = Router::new()
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .with_state(provider);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn app_with_provider(email: &str, verified: bool) -> TestApp {
    let base = start_provider(email, verified).await;
    TestApp::spawn_with(move |c| {
        c.oauth.push(server::oauth::provider("google", "cairn-client", "cairn-secret", &base).expect("known provider"));
    })
    .await
}

/// Follows the redirects by hand, as a browser would, and returns the final response.
async fn run_flow(app: &TestApp, client: &crate::support::Client) -> reqwest::Response {
    let start = client
        .http
        .post(format!("{}/auth/oauth/google", app.address))
        .form(&[("next", "/settings")])
        .send()
        .await
        .expect("start");
    assert_eq!(start.status(), 303);
    let to_provider = start.headers()["location"].to_str().expect("location").to_owned();
    assert!(to_provider.contains("/authorize?") && to_provider.contains("code_challenge="));
    let back = client.http.get(&to_provider).send().await.expect("authorize");
    let callback = back.headers()["location"].to_str().expect("location").to_owned();
    assert!(callback.starts_with(&format!("{}/auth/oauth/google/callback?", app.address)));
    client.http.get(&callback).send().await.expect("callback")
}

#[tokio::test]
async fn oauth_sign_in_creates_the_account_and_signs_in() {
    let app = app_with_provider("otto@example.com", true).await;
    let options: Vec<(String, String)> = app.client().call("sign_in_options", &[]).await.expect("options");
    assert_eq!(options, vec![("google".to_string(), "Google".to_string())]);

    let client = app.client();
    let done = run_flow(&app, &client).await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/settings", "back to where sign-in started");
    let me = client.me().await.expect("signed in");
    assert_eq!((me.email.as_str(), me.display_name.as_str()), ("otto@example.com", "Otto Auth"));
    assert_eq!(me.orgs.len(), 1, "a personal organization comes with the account");
}

#[tokio::test]
async fn oauth_signs_in_the_existing_account_with_that_address() {
    let app = app_with_provider("ada@example.com", true).await;
    app.signed_up("Ada", "ada@example.com").await;
    let client = app.client();
    run_flow(&app, &client).await;
    let me = client.me().await.expect("signed in");
    assert_eq!(me.display_name, "Ada", "the same account, not a new one");
    assert!(app.client().sign_in("ada@example.com", PASSWORD).await.is_ok(), "the password still works");
}

#[tokio::test]
async fn oauth_rejects_forged_state_replays_and_unverified_addresses() {
    let app = app_with_provider("otto@example.com", true).await;
    let client = app.client();
    let forged = client
        .http
        .get(format!("{}/auth/oauth/google/callback?code=code-0&state=forged", app.address))
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 400);
    assert!(client.me().await.is_none());

    // A state works once: replaying the callback fails.
    let start = client
        .http
        .post(format!("{}/auth/oauth/google", app.address))
        .form(&[("next", "/")])
        .send()
        .await
        .expect("start");
    let to_provider = start.headers()["location"].to_str().expect("location").to_owned();
    let callback = client.http.get(&to_provider).send().await.expect("authorize").headers()["location"]
        .to_str()
        .expect("loc")
        .to_owned();
    assert_eq!(client.http.get(&callback).send().await.expect("callback").status(), 303);
    assert_eq!(app.client().http.get(&callback).send().await.expect("replay").status(), 400);

    assert_eq!(
        client
            .http
            .post(format!("{}/auth/oauth/nope", app.address))
            .form(&[("next", "/")])
            .send()
            .await
            .expect("unknown")
            .status(),
        404
    );

    let unverified = app_with_provider("eve@example.com", false).await;
    let eve = unverified.client();
    let done = run_flow(&unverified, &eve).await;
    assert_eq!(done.status(), 502);
    assert!(done.text().await.expect("page").contains("no verified email"));
    assert!(eve.me().await.is_none());
}
