//! The test harness: `TestApp::spawn()` and an HTTP client that calls server functions.

pub mod fake_llm;
pub mod fake_stripe;
pub mod hook_sink;
pub mod smtp_sink;
pub mod stripe_events;

use app::domain::{OrgId, UserId};
use app::error::AppError;
use app::ports::Clock;
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use server::config::Config;
use server::{AppState, serve, services};
use smtp_sink::SmtpSink;
use std::sync::{Arc, Mutex};

/// A clock tests can move forward.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|n| *n).unwrap_or_else(|_| Utc::now())
    }

    fn advance(&self, by: Duration) -> bool {
        TestClock::advance(self, by);
        true
    }
}

pub struct TestApp {
    pub address: String,
    pub mail: SmtpSink,
    pub clock: TestClock,
    pub state: AppState,
    database: TestDatabase,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

enum TestDatabase {
    /// Held so the directory lives as long as the app.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

pub fn backend() -> String {
    std::env::var("CAIRN_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let (database, url) = match backend().as_str() {
            "postgres" => {
                let admin_url = std::env::var("CAIRN_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let name = format!("cairn_test_{}", uuid::Uuid::now_v7().simple());
                let admin = sqlx::PgPool::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL (is it running on 127.0.0.1:5432?)");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create test database");
                admin.close().await;
                let base = admin_url.rsplit_once('/').map(|(base, _)| base.to_owned()).unwrap_or(admin_url.clone());
                let url = format!("{base}/{name}");
                (TestDatabase::Postgres { admin_url, name }, url)
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("cairn.db").display());
                (TestDatabase::Sqlite { _dir: dir }, url)
            }
        };
        let mail = SmtpSink::start().await;
        let mut config = Config::for_tests(url);
        config.smtp_url = Some(format!("smtp://127.0.0.1:{}", mail.port));
        configure(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        config.public_url = address.clone();
        let (mut services, db) = services(&config).await.expect("services");
        let clock = TestClock(Arc::new(Mutex::new(Utc::now())));
        services.clock = Arc::new(clock.clone());
        let state = AppState::new(config, services, db);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            let _ = serve(listener, serve_state, async {
                let _ = rx.await;
            })
            .await;
        });
        Self { address, mail, clock, state, database, shutdown: Some(tx) }
    }

    /// Puts the client's person on an individual plan (as if they had paid for it), so tests
    /// about other things are not held back by the free plan's limits.
    pub async fn give_plan(&self, client: &Client, plan: &str) {
        let user = client.me().await.expect("me").user_id;
        let org = self
            .state
            .services
            .store
            .memberships_of(user)
            .await
            .expect("memberships")
            .into_iter()
            .find(|m| m.org.kind == app::domain::OrgKind::Personal)
            .expect("personal org")
            .org
            .id;
        self.give_org_plan(org, user, plan, 1).await;
    }

    /// Puts an organization on `plan` with `seats` for a year, paid by `payer`.
    pub async fn give_org_plan(&self, org: OrgId, payer: UserId, plan: &str, seats: i64) {
        use app::domain::billing::{Interval, PlanStatus};
        let store = &self.state.services.store;
        let user = payer;
        let now = self.clock_now();
        let version = store.plan(plan, None).await.expect("plan").expect("known plan").version;
        let sub = app::ports::PlanSubscriptionRecord {
            org_id: org,
            plan_code: plan.into(),
            plan_version: version,
            interval: Interval::Year,
            seats,
            status: PlanStatus::Active,
            period_start: now,
            period_end: Interval::Year.after(now),
            cancel_at_period_end: false,
            promo_code: None,
            provider: "test".into(),
            provider_ref: None,
            paid_by: Some(user),
            created_at: now,
            updated_at: now,
        };
        let change = app::ports::PlanChangeRecord {
            id: uuid::Uuid::now_v7(),
            org_id: org,
            from_plan: None,
            to_plan: Some(plan.into()),
            mrr_before: 0,
            mrr_after: 0,
            reason: "test".into(),
            at: now,
        };
        store.save_plan_subscription(&sub, &change).await.expect("plan");
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A new browser-like client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.address.clone(),
        }
    }

    /// Signs up, confirms the email from the mail the sink received, and returns a signed-in client.
    pub async fn signed_up(&self, name: &str, email: &str) -> Client {
        let client = self.client();
        client.sign_up(name, email, PASSWORD).await.expect("sign up");
        let token = self.mail.token_for(email, "verify-email?token=").await;
        client.call::<serde_json::Value>("verify_email", &[("token", &token)]).await.expect("verify");
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await;
                    }
                });
            })
            .join();
        }
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// What a failed server function call answered.
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub error: AppError,
    pub retry_after: Option<String>,
}

/// Leptos 0.8's reactive graph can hang when two threads use it at once (see `server::runtime`,
/// which runs the real server on one worker for this reason), and here every test has a runtime
/// — a thread — of its own. So a server-rendered page renders alone across every test in the
/// process: server function calls (which run in the reactive graph too) share this lock, a page
/// takes it for itself.
static REACTIVE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// How long a page may take before it is requested again, then the test fails rather than hang.
const PAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    /// Calls a server function by its endpoint with form-encoded arguments, as a browser form does.
    pub async fn call<T: DeserializeOwned>(&self, endpoint: &str, args: &[(&str, &str)]) -> Result<T, Failure> {
        let request = self.http.post(format!("{}/api/{endpoint}", self.base)).form(args);
        Self::answer(endpoint, request).await
    }

    /// Calls a server function that takes JSON (`input = Json`).
    pub async fn call_json<T: DeserializeOwned>(&self, endpoint: &str, args: serde_json::Value) -> Result<T, Failure> {
        let request = self.http.post(format!("{}/api/{endpoint}", self.base)).json(&args);
        Self::answer(endpoint, request).await
    }

    async fn answer<T: DeserializeOwned>(endpoint: &str, request: reqwest::RequestBuilder) -> Result<T, Failure> {
        let response = {
            let _shared = REACTIVE.read().await;
            request.header("accept", "application/json").send().await.expect("request")
        };
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.text().await.expect("body");
        if (200..300).contains(&status) {
            Ok(serde_json::from_str(&body).unwrap_or_else(|e| panic!("{endpoint}: cannot read {body:?}: {e}")))
        } else {
            let error = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{endpoint} ({status}): cannot read error {body:?}: {e}"));
            Err(Failure { status, error, retry_after })
        }
    }

    pub async fn create_prompt(&self, title: &str, body: &str) -> Result<uuid::Uuid, Failure> {
        self.call_json("create_prompt", serde_json::json!({ "input": { "title": title, "body": body } })).await
    }

    /// Saves the next version of a prompt, starting from `base_version`.
    pub async fn update_prompt(
        &self,
        id: uuid::Uuid,
        base_version: i32,
        title: &str,
        body: &str,
    ) -> Result<i32, Failure> {
        let args =
            serde_json::json!({ "id": id, "base_version": base_version, "input": { "title": title, "body": body } });
        self.call_json("update_prompt", args).await
    }

    pub async fn delete_prompt(&self, id: uuid::Uuid) -> Result<(), Failure> {
        self.call_json("delete_prompt", serde_json::json!({ "id": id })).await
    }

    /// The first page of the active organization's prompts.
    pub async fn prompts(&self) -> Result<Vec<app::dto::PromptSummary>, Failure> {
        let page: app::dto::PromptPage = self.call_json("prompts", serde_json::json!({ "params": {} })).await?;
        Ok(page.items)
    }

    pub async fn sign_up(&self, name: &str, email: &str, password: &str) -> Result<String, Failure> {
        self.call(
            "sign_up",
            &[("display_name", name), ("email", email), ("password", password), ("timezone", "Europe/Berlin")],
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Result<app::dto::SignInOutcome, Failure> {
        self.call("sign_in", &[("email", email), ("password", password)]).await
    }

    pub async fn me(&self) -> Option<app::dto::Me> {
        self.call("me", &[]).await.expect("me")
    }

    /// GETs a page, read whole while holding [`REACTIVE`] alone. A render that stalls — the lost
    /// wakeup of leptos-rs/leptos#4698 (docs/performance.md), fixed upstream but not yet in a 0.8
    /// release — is requested once more; a second stall fails the test.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let _alone = REACTIVE.write().await;
        for attempt in 1..=2 {
            match tokio::time::timeout(PAGE_TIMEOUT, self.read_page(path)).await {
                Ok(response) => return response,
                Err(_) if attempt == 1 => eprintln!("{path} stalled for {PAGE_TIMEOUT:?}: requesting it again"),
                Err(_) => {}
            }
        }
        panic!("{path} did not render in two tries of {PAGE_TIMEOUT:?}")
    }

    async fn read_page(&self, path: &str) -> reqwest::Response {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let mut whole = axum::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            whole = whole.header(name, value);
        }
        let body = response.bytes().await.expect("body");
        reqwest::Response::from(whole.body(body).expect("response"))
    }
}

/// The validation field of a failure, or panics with what it was instead.
pub fn field_of(failure: &Failure) -> &str {
    match &failure.error {
        AppError::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?} ({})", failure.status),
    }
}
