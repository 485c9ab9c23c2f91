//! The Cairn server: configuration, storage, mail, HTTP middleware and the Leptos app, put
//! together by `build`. `main.rs` only parses the environment and serves.

pub mod channels;
pub mod clock;
pub mod config;
pub mod db;
pub mod http;
pub mod llm;
pub mod mailer;
pub mod oauth;
pub mod payments;
pub mod push;
pub mod scheduler;
pub mod scratch;
pub mod seed;
pub mod webhooks;
pub mod zip;

use app::ports::{Clock, Mailer, Services, Settings, Store, SystemClock};
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use config::Config;
use db::Db;
use http::metrics::Metrics;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::sync::Arc;

/// Everything request handlers need. Cloned for every request (axum's `State`), so it is one
/// reference count: cloning the fields themselves (a dozen shared counters every core touches, and
/// the Leptos options' strings) was 6 % of a prompt read's profile.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl From<Shared> for AppState {
    fn from(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

/// What an [`AppState`] holds.
#[derive(Clone)]
pub struct Shared {
    pub services: Services,
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// Outgoing HTTP (OAuth providers), one connection pool for the process.
    pub http: reqwest::Client,
    /// The AI model client (test panel runs).
    pub chat: llm::ChatClient,
    /// API requests per key, counted in memory and written as often as the limits need (see `http::rate`).
    pub api_requests: Arc<http::rate::RequestCounter>,
    /// Each organization's API requests today against its plan's daily quota.
    pub api_daily: Arc<http::rate::DailyQuota>,
}

impl AppState {
    pub fn new(config: Config, services: Services, db: Db) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let chat = llm::ChatClient::new(std::time::Duration::from_secs(config.model_timeout_secs.max(1)));
        Self::from(Shared {
            leptos_options: leptos_options(&config),
            services,
            db,
            config: Arc::new(config),
            http,
            chat,
            api_requests: Arc::default(),
            api_daily: Arc::default(),
        })
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error("mail: {0}")]
    Mail(String),
    #[error("stripe: {0}")]
    Stripe(String),
    #[error("web push keys: {0}")]
    Push(#[from] app::ports::StoreError),
}

/// The server's async runtime: `CAIRN_WORKER_THREADS` workers (default: one per core). Database
/// work, password hashing and other blocking work run on their own threads beside them, and
/// Leptos's pages and server functions on a thread of their own (`http::render`).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = std::env::var("CAIRN_WORKER_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(cores);
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers.max(1)).enable_all().build()
}

/// Opens the database (running migrations) and wires the services.
pub async fn services(config: &Config) -> Result<(Services, Db), StartError> {
    let db = Db::connect(&config.database_url).await?;
    let store: Arc<dyn Store> = Arc::new(db.clone());
    let clock: Arc<dyn Clock> =
        if config.test_clock { Arc::new(clock::ShiftedClock::default()) } else { Arc::new(SystemClock) };
    let mailer: Arc<dyn Mailer> = match &config.smtp_url {
        Some(url) => Arc::new(mailer::SmtpMailer::new(url, &config.smtp_from).map_err(StartError::Mail)?),
        None => Arc::new(mailer::OutboxMailer { store: Arc::new(db.clone()), clock: clock.clone() }),
    };
    let settings = Settings {
        public_url: config.public_url.clone(),
        session_idle: chrono::Duration::minutes(config.session_idle_minutes),
        session_absolute: chrono::Duration::hours(config.session_absolute_hours),
        sign_in_limit_per_account: config.sign_in_limit_per_account,
        sign_in_limit_per_ip: config.sign_in_limit_per_ip,
        dev_mode: config.demo,
        oauth_providers: config.oauth.iter().map(|p| (p.id.to_owned(), p.label.to_owned())).collect(),
        api_rate_limit: config.api_rate_limit,
        webhook_allow_private: config.webhook_allow_private,
        default_model: config.default_model.clone(),
        test_clock: config.test_clock,
        ai_cost_per_million_tokens: config.ai_cost_per_million_tokens,
        affiliate_window_days: config.affiliate_window_days.clamp(1, 365),
    };
    let vapid = push::vapid_keys(store.as_ref(), clock.now()).await?;
    store.ensure_plans(&app::domain::billing::default_plans(), clock.now()).await?;
    let push = Arc::new(push::Pusher::new(store.clone(), vapid, &config.public_url, config.webhook_allow_private));
    let payments = match config.stripe_secret_key.as_deref() {
        Some(key) => {
            Some(Arc::new(payments::Stripe::new(key, config.stripe_api_base.as_deref()).map_err(StartError::Stripe)?)
                as Arc<dyn app::ports::PaymentGateway>)
        }
        None => None,
    };
    let services = Services {
        store,
        mailer,
        push,
        clock,
        payments,
        settings: Arc::new(settings),
        hashing: Arc::new(tokio::sync::Semaphore::new(config.hash_concurrency.max(1))),
        jobs: Arc::new(tokio::sync::Notify::new()),
        prompt_counts: Arc::default(),
        api_keys: Arc::default(),
    };
    Ok((services, db))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let metrics = Metrics::default();
    let routes = generate_route_list(app::App);
    let options = state.leptos_options.clone();
    let services = state.services.clone();
    let leptos = Router::<AppState>::new()
        .leptos_routes_with_context(&state, routes, page_context(services.clone()), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(services), app::shell))
        // Pages, server functions and files so far; the routes below run on every worker.
        .layer(axum::middleware::from_fn(http::render::on_render_thread))
        .nest("/api/v1", http::api_v1::routes(state.clone()))
        .route("/healthz", get(http::healthz))
        .route("/r/{code}", get(http::referral))
        .route("/orgs/{org}/audit.csv", get(http::audit_csv))
        .route("/orgs/{org}/prompts.json", get(http::prompts_json))
        .route("/orgs/{org}/prompts.csv", get(http::prompts_csv))
        .route("/orgs/{org}/prompts.zip", get(http::prompts_zip))
        .route("/orgs/{org}/analytics.csv", get(http::analytics_csv))
        .route("/prompts/{id}/run", axum::routing::post(http::run::run))
        .route("/webhooks/stripe", axum::routing::post(http::stripe::receive))
        .route("/events/conversations/{id}", get(http::live::conversation_events))
        .route("/auth/oauth/{provider}", axum::routing::post(oauth::start))
        .route("/auth/oauth/{provider}/callback", get(oauth::callback))
        .layer(from_fn_with_state(state.clone(), http::identify))
        .layer(from_fn_with_state(state.clone(), http::reject_cross_site))
        .layer(from_fn_with_state(state.clone(), http::security_headers))
        .with_state(state);
    leptos
        .route("/metrics", get(http::metrics::render).with_state(metrics.clone()))
        .layer(from_fn_with_state(metrics, http::metrics::track))
        .layer(tower_http::compression::CompressionLayer::new().compress_when({
            use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
            // Streamed test runs go out piece by piece, not held back by the compressor.
            DefaultPredicate::new().and(NotForContentType::const_new("application/x-ndjson"))
        }))
}

/// What pages and server functions find in their context: the services, and the nonce
/// [`http::security_headers`] made for this request and names in its Content-Security-Policy
/// (in place of the one Leptos made, so the page's inline scripts carry the header's).
pub fn page_context(services: app::ports::Services) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(services.clone());
        let nonce = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<leptos::nonce::Nonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(nonce);
        }
    }
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("cairn")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

/// Renews (or ends) the built-in provider's plan subscriptions whose period is over and applies
/// stored Stripe events, every few seconds or when woken, until `stopped`.
async fn renew_plans(services: app::ports::Services, mut stopped: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = app::api::billing::renew_due(&services).await {
            tracing::warn!(error = %e, "plan renewals");
        }
        if let Err(e) = app::api::billing::process_stripe_events(&services).await {
            tracing::warn!(error = %e, "stripe events");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            _ = services.jobs.notified() => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
    }
}

/// How often the prompt views and uses counted in memory are written. Not every second: on
/// SQLite every write makes each reading connection drop its map of the database file and fault
/// its pages in again, which cost reads of single prompts a seventh of their throughput at one
/// write a second (docs/performance.md).
const WRITE_PROMPT_COUNTS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes the prompt views and uses counted in memory, every [`WRITE_PROMPT_COUNTS_EVERY`].
async fn write_prompt_counts(services: app::ports::Services, mut stopped: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(WRITE_PROMPT_COUNTS_EVERY) => {}
            _ = stopped.changed() => return,
        }
        if let Err(e) = services.prompt_counts.flush(services.store.as_ref()).await {
            tracing::warn!(error = %e, "prompt views and uses (kept for the next try)");
        }
        if *stopped.borrow() {
            return;
        }
    }
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let db = state.db.clone();
    let (services, api_requests) = (state.services.clone(), state.api_requests.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sender = state.config.webhook_sender.then(|| {
        let sender = webhooks::Sender::new(state.services.clone(), state.config.webhook_allow_private);
        tokio::spawn(
            sender.run(std::time::Duration::from_millis(state.config.webhook_poll_ms.max(10)), stopped.clone()),
        )
    });
    let scheduler = state.config.scheduler.then(|| {
        let config = scheduler::SchedulerConfig {
            late_window: chrono::Duration::hours(state.config.late_window_hours.max(1)),
            ..Default::default()
        };
        let worker = scheduler::Scheduler::new(state.services.clone(), config, state.chat.clone());
        tokio::spawn(worker.run(stopped.clone()))
    });
    let renewals = state.config.scheduler.then(|| tokio::spawn(renew_plans(state.services.clone(), stopped.clone())));
    let counts = tokio::spawn(write_prompt_counts(state.services.clone(), stopped.clone()));
    let app = router(state);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // The sender finishes the deliveries in flight (each bounded by its timeout); what it could
    // not record is taken over by a sender once its lease runs out.
    let _ = stop.send(true);
    // Both finish the work in hand within 10 s; what they could not record is taken over by
    // another worker once its lease runs out.
    for task in [sender, scheduler, renewals, Some(counts)].into_iter().flatten() {
        let abort = task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(10), task).await.is_err() {
            abort.abort();
        }
    }
    api_requests.flush(services.store.as_ref(), services.clock.now()).await;
    if let Err(e) = services.prompt_counts.flush(services.store.as_ref()).await {
        tracing::warn!(error = %e, "prompt views and uses not written at shutdown");
    }
    db.close().await;
    served
}
