//! Configuration from the environment. Every variable is listed in the README.

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub public_url: String,
    pub site_root: String,
    pub demo: bool,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub sign_in_limit_per_account: i64,
    pub sign_in_limit_per_ip: i64,
    pub hash_concurrency: usize,
    pub trust_proxy: bool,
    /// OAuth providers configured by `CAIRN_OAUTH_<PROVIDER>_*`.
    pub oauth: Vec<crate::oauth::OAuthProvider>,
    /// Requests per hour for a new API key.
    pub api_rate_limit: i64,
    /// Webhooks may target loopback and private network addresses.
    pub webhook_allow_private: bool,
    /// Run the webhook sender in this process.
    pub webhook_sender: bool,
    /// How often the sender looks for due deliveries when nothing wakes it.
    pub webhook_poll_ms: u64,
    /// Run the sequence scheduler in this process (`CAIRN_SCHEDULER`, default on).
    pub scheduler: bool,
    /// A step firing later than this many hours is skipped instead of delivered (`CAIRN_LATE_WINDOW_HOURS`, 24).
    pub late_window_hours: i64,
    /// The instance's AI model (`CAIRN_AI_BASE_URL`, `CAIRN_AI_MODEL`, `CAIRN_AI_API_KEY`), for
    /// organizations that set none of their own.
    pub default_model: Option<app::ports::ModelEndpoint>,
    /// Longest wait for the model's next piece of an answer, in seconds.
    pub model_timeout_secs: u64,
    /// A clock signed-in users can move forward, for end-to-end tests (`CAIRN_TEST_CLOCK`, off).
    pub test_clock: bool,
    /// What a million AI tokens cost, in cents (`CAIRN_AI_COST_PER_MILLION_TOKENS`, 100).
    pub ai_cost_per_million_tokens: i64,
    /// Stripe's webhook signing secrets (`STRIPE_WEBHOOK_SECRET`, comma-separated while one is
    /// rolled); none turns `/webhooks/stripe` off.
    pub stripe_webhook_secrets: Vec<String>,
    /// Stripe's secret key (`STRIPE_SECRET_KEY`): checkouts, the Customer Portal and Connect
    /// payouts go through Stripe. None: the built-in test-mode checkout.
    pub stripe_secret_key: Option<String>,
    /// Where Stripe's API is (`STRIPE_API_BASE`, Stripe's own by default).
    pub stripe_api_base: Option<String>,
    /// How long an affiliate link's click is credited, in days (`CAIRN_AFFILIATE_WINDOW_DAYS`, 30).
    pub affiliate_window_days: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    name: &'static str,
    message: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError { name, message: format!("cannot read {raw:?}") }),
    }
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError { name, message: format!("expected 0 or 1, got {other:?}") }),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let site_addr: SocketAddr = parsed("LEPTOS_SITE_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/cairn.db".into()),
            public_url: var("CAIRN_PUBLIC_URL")
                .unwrap_or_else(|| format!("http://{site_addr}"))
                .trim_end_matches('/')
                .to_owned(),
            site_addr,
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            demo: flag("CAIRN_DEMO", true)?,
            smtp_url: var("SMTP_URL"),
            smtp_from: var("SMTP_FROM").unwrap_or_else(|| "Cairn <no-reply@cairn.localhost>".into()),
            session_idle_minutes: parsed("CAIRN_SESSION_IDLE_MINUTES", 30)?,
            session_absolute_hours: parsed("CAIRN_SESSION_ABSOLUTE_HOURS", 12)?,
            sign_in_limit_per_account: parsed("CAIRN_SIGN_IN_LIMIT_ACCOUNT", 100)?,
            sign_in_limit_per_ip: parsed("CAIRN_SIGN_IN_LIMIT_IP", 20)?,
            hash_concurrency: parsed("CAIRN_HASH_CONCURRENCY", cores)?,
            trust_proxy: flag("CAIRN_TRUST_PROXY", false)?,
            oauth: crate::oauth::providers_from_env(),
            api_rate_limit: parsed("CAIRN_API_RATE_LIMIT", 1000)?,
            webhook_allow_private: flag("CAIRN_WEBHOOK_ALLOW_PRIVATE", false)?,
            webhook_sender: flag("CAIRN_WEBHOOK_SENDER", true)?,
            webhook_poll_ms: parsed("CAIRN_WEBHOOK_POLL_MS", 5000)?,
            scheduler: flag("CAIRN_SCHEDULER", true)?,
            late_window_hours: parsed("CAIRN_LATE_WINDOW_HOURS", 24)?,
            default_model: default_model()?,
            model_timeout_secs: parsed("CAIRN_AI_TIMEOUT_SECS", 60)?,
            test_clock: flag("CAIRN_TEST_CLOCK", false)?,
            ai_cost_per_million_tokens: parsed("CAIRN_AI_COST_PER_MILLION_TOKENS", 100)?,
            stripe_webhook_secrets: var("STRIPE_WEBHOOK_SECRET")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
            stripe_secret_key: var("STRIPE_SECRET_KEY"),
            stripe_api_base: var("STRIPE_API_BASE"),
            affiliate_window_days: parsed("CAIRN_AFFILIATE_WINDOW_DAYS", 30)?,
        })
    }

    /// A configuration for tests: SQLite or PostgreSQL at `database_url`, a random port.
    pub fn for_tests(database_url: String) -> Self {
        Self {
            database_url,
            site_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: "http://127.0.0.1".into(),
            site_root: "target/site".into(),
            demo: false,
            smtp_url: None,
            smtp_from: "Cairn <no-reply@cairn.localhost>".into(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            sign_in_limit_per_account: 100,
            sign_in_limit_per_ip: 20,
            hash_concurrency: 2,
            trust_proxy: false,
            oauth: Vec::new(),
            api_rate_limit: 1000,
            webhook_allow_private: true,
            webhook_sender: true,
            webhook_poll_ms: 200,
            scheduler: false,
            late_window_hours: 24,
            default_model: None,
            model_timeout_secs: 10,
            test_clock: false,
            ai_cost_per_million_tokens: 100,
            stripe_webhook_secrets: Vec::new(),
            stripe_secret_key: None,
            stripe_api_base: None,
            affiliate_window_days: 30,
        }
    }
}

fn default_model() -> Result<Option<app::ports::ModelEndpoint>, ConfigError> {
    let Some(base_url) = var("CAIRN_AI_BASE_URL") else { return Ok(None) };
    let base_url = app::domain::model::parse_base_url(&base_url)
        .map_err(|e| ConfigError { name: "CAIRN_AI_BASE_URL", message: e.0 })?;
    let model = var("CAIRN_AI_MODEL").ok_or_else(|| ConfigError {
        name: "CAIRN_AI_MODEL",
        message: "name the model to use with CAIRN_AI_BASE_URL".into(),
    })?;
    Ok(Some(app::ports::ModelEndpoint { base_url, model: model.trim().to_owned(), api_key: var("CAIRN_AI_API_KEY") }))
}
