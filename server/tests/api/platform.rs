//! The platform around the features: pages, security headers, cross-site protection, health,
//! metrics, and choosing the database from the URL.

use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn pages_render_on_the_server_with_a_nonce_csp_and_safe_headers() {
    let app = TestApp::spawn().await;
    let response = app.client().get("/").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("'nonce-"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(!csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("referrer-policy"));
    assert!(!headers.contains_key("strict-transport-security"), "no HSTS over plain http");
    let html = response.text().await.expect("html");
    assert!(html.contains("Programs that start the conversation"));
    assert!(scripts_carry_the_nonce_of(&csp, &html), "inline scripts carry the nonce");

    let other = app.client().get("/").await.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert_ne!(csp, other, "a fresh nonce per response");

    let missing = app.client().get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    let csp = missing.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    let html = missing.text().await.expect("html");
    assert!(scripts_carry_the_nonce_of(&csp, &html), "the not-found page's scripts carry its nonce too");
}

/// Whether `csp` names a nonce and the page's inline scripts carry it.
fn scripts_carry_the_nonce_of(csp: &str, html: &str) -> bool {
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the page's CSP");
    html.contains(&format!("nonce=\"{nonce}\""))
}

/// Pages and files answered side by side: every page's CSP names the nonce its own inline
/// scripts carry, and no file's answer takes a page's policy.
#[tokio::test]
async fn each_page_s_csp_names_its_own_nonce_while_files_are_served_alongside() {
    let site = tempfile::tempdir().expect("site root");
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg dir");
    std::fs::write(site.path().join("pkg/cairn.css"), "body { margin: 0 }").expect("css");
    let root = site.path().to_string_lossy().into_owned();
    let app = TestApp::spawn_with(|c| c.site_root = root).await;
    let pages_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let files = tokio::spawn({
        let (url, done) = (format!("{}/pkg/cairn.css", app.address), pages_done.clone());
        async move {
            let http = reqwest::Client::new();
            let mut served = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let response = http.get(&url).send().await.expect("GET file");
                let csp = response.headers()["content-security-policy"].to_str().expect("csp").to_owned();
                assert!(!csp.contains("nonce-"), "a file gets the default policy, not a page's: {csp}");
                assert_eq!(response.text().await.expect("css"), "body { margin: 0 }");
                served += 1;
            }
            served
        }
    });
    let client = app.client();
    for _ in 0..10 {
        let response = client.get("/").await;
        let csp = response.headers()["content-security-policy"].to_str().expect("csp").to_owned();
        let html = response.text().await.expect("html");
        assert!(scripts_carry_the_nonce_of(&csp, &html), "the page's scripts carry its CSP's nonce: {csp}");
    }
    pages_done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(files.await.expect("files") > 0, "files were served while the pages rendered");
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_https() {
    let app = TestApp::spawn().await;
    let mut config = (*app.state.config).clone();
    config.public_url = "https://cairn.example".into();
    let state = server::AppState::from(server::Shared { config: std::sync::Arc::new(config), ..(*app.state).clone() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    let response = reqwest::get(format!("http://{address}/healthz")).await.expect("get");
    assert!(response.headers()["strict-transport-security"].to_str().expect("hsts").contains("max-age="));
}

#[tokio::test]
async fn signed_in_pages_render_for_the_person() {
    let app = TestApp::spawn().await;
    let client = app.signed_up("Ada Lovelace", "ada@example.com").await;
    let html = client.get("/").await.text().await.expect("html");
    assert!(html.contains("Welcome, Ada Lovelace"), "{html}");
    let settings = client.get("/settings").await.text().await.expect("html");
    assert!(settings.contains("Active sessions"));
    let anonymous = app.client().get("/settings").await.text().await.expect("html");
    assert!(anonymous.contains("Please sign in"));
}

#[tokio::test]
async fn cross_site_state_changes_are_rejected() {
    let app = TestApp::spawn().await;
    app.signed_up("Ada", "ada@example.com").await;
    let http = reqwest::Client::new();
    let sign_in = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut request = http
            .post(format!("{}/api/sign_in", app.address))
            .form(&[("email", "ada@example.com"), ("password", PASSWORD)]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    assert_eq!(sign_in(Some("https://evil.example"), None).await.expect("req").status(), 403);
    assert_eq!(sign_in(None, Some("cross-site")).await.expect("req").status(), 403);
    assert_eq!(sign_in(Some("null"), None).await.expect("req").status(), 403);
    let own_origin: &'static str = Box::leak(app.address.clone().into_boxed_str());
    assert_eq!(sign_in(Some(own_origin), Some("same-origin")).await.expect("req").status(), 200);
}

#[tokio::test]
async fn health_and_metrics() {
    let app = TestApp::spawn().await;
    let health = app.client().get("/healthz").await;
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], crate::support::backend());

    let _ = app.client().call::<Option<app::dto::Me>>("me", &[]).await;
    let metrics = app.client().get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("# TYPE cairn_http_requests_total counter"));
    assert!(
        metrics.contains("cairn_http_requests_total{method=\"POST\",route=\"/api/me\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "cairn_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"+Inf\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_database_is_chosen_from_the_url_and_bad_urls_fail_clearly() {
    let error = server::db::Db::connect("mysql://root@localhost/cairn").await.expect_err("unsupported");
    let message = error.to_string();
    assert!(message.contains("sqlite://") && message.contains("postgres://"), "{message}");
    let dir = tempfile::tempdir().expect("dir");
    let db =
        server::db::Db::connect(&format!("sqlite://{}/nested/cairn.db", dir.path().display())).await.expect("sqlite");
    assert_eq!(db.backend(), "sqlite");
    db.ping().await.expect("ping");
}

#[tokio::test]
async fn demo_seed_creates_one_account_per_role_once() {
    let fresh = TestApp::spawn_with(|c| c.demo = true).await;
    // A fresh database has no users yet; seeding fills it, a second run does nothing.
    let services = &fresh.state.services;
    assert!(server::seed::seed_if_empty(services).await.expect("seed"));
    assert!(!server::seed::seed_if_empty(services).await.expect("seed again"));
    let client = fresh.client();
    client.sign_in("viewer@demo.cairn.test", server::seed::DEMO_PASSWORD).await.expect("demo sign in");
    let me = client.me().await.expect("me");
    assert!(me.orgs.iter().any(|o| o.name == "Acme Coaching" && o.role == app::domain::OrgRole::Viewer));
    // The demo journey is there to be filled in.
    let journeys: Vec<app::api::journeys::JourneySummary> =
        client.call_json("journeys", serde_json::json!({})).await.expect("journeys");
    let titles: Vec<(&str, usize)> = journeys.iter().map(|j| (j.title.as_str(), j.sections)).collect();
    assert_eq!(titles, [("Quarterly reset", 2)]);
}
