//! `cairn-bench`: seeds one organization with many prompts (two versions each) on a fresh
//! database, serves Cairn in this process and measures, at a number of concurrent clients, the
//! latency percentiles and throughput of the REST API (list, get, search) and of the server-rendered
//! prompt list page. Prints a Markdown report.
//!
//! ```text
//! cairn-bench [--backend sqlite|postgres] [--prompts 100000] [--clients 64] [--seconds 10]
//!             [--only "api get,api list"]
//! ```
//! `--only` runs the scenarios whose names contain one of the comma-separated words.
//! PostgreSQL: `CAIRN_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! is used to create and afterwards drop a scratch database.

#![allow(clippy::unwrap_used)]

/// mimalloc: the API's small, short-lived allocations cost less than with the system allocator.
/// With the crate's `override` feature it is SQLite's malloc too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use app::domain::prompt::{PromptFields, PromptInput};
use app::domain::{Email, OrgId, OrgKind, UserId};
use app::ports::{ApiKeyRecord, ImportedPrompt, LibraryImport, NewUser, OrgRecord, PromptVersionRecord};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::cookie::CookieStore;
use server::config::Config;
use server::{AppState, serve, services};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORDS: &[&str] = &[
    "client",
    "session",
    "goal",
    "habit",
    "review",
    "feedback",
    "onboarding",
    "email",
    "follow",
    "reflection",
    "journal",
    "coach",
    "mentor",
    "program",
    "module",
    "lesson",
    "exercise",
    "summary",
    "question",
    "answer",
    "motivation",
    "plan",
    "weekly",
    "daily",
    "progress",
    "milestone",
    "check",
    "support",
    "customer",
    "sales",
    "marketing",
    "engineering",
    "release",
    "incident",
    "retrospective",
    "interview",
    "hiring",
    "budget",
    "report",
    "strategy",
    "vision",
    "values",
    "team",
    "leader",
    "conflict",
    "delegation",
    "priority",
    "focus",
    "energy",
    "sleep",
    "nutrition",
    "exercise",
    "mindset",
    "gratitude",
    "story",
    "outline",
    "draft",
    "tone",
    "friendly",
    "formal",
    "concise",
    "detailed",
    "bullet",
    "list",
    "table",
    "translate",
    "summarize",
    "explain",
    "rewrite",
    "improve",
    "critique",
    "brainstorm",
    "ideas",
    "campaign",
    "launch",
    "pricing",
    "proposal",
    "contract",
    "negotiation",
    "pitch",
    "investor",
    "product",
    "roadmap",
    "feature",
    "bug",
    "test",
    "deploy",
    "monitor",
    "latency",
    "database",
    "prompt",
    "template",
    "variable",
    "persona",
    "audience",
    "context",
    "example",
];
const TAGS: &[&str] = &[
    "onboarding",
    "email",
    "sales",
    "support",
    "coaching",
    "weekly",
    "draft",
    "review",
    "ai",
    "ops",
    "hr",
    "legal",
    "finance",
    "product",
    "writing",
    "research",
    "meeting",
    "social",
    "docs",
    "qa",
];

struct Args {
    backend: String,
    prompts: usize,
    clients: usize,
    seconds: u64,
    /// Scenarios whose name contains one of these (any case); all when empty.
    only: Vec<String>,
}

impl Args {
    fn wants(&self, scenario: &str) -> bool {
        let scenario = scenario.to_lowercase();
        self.only.is_empty() || self.only.iter().any(|o| scenario.contains(o.as_str()))
    }
}

fn args() -> Args {
    let mut a = Args { backend: "sqlite".into(), prompts: 100_000, clients: 64, seconds: 10, only: Vec::new() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--backend" => a.backend = value,
            "--prompts" => a.prompts = value.parse().expect("--prompts N"),
            "--clients" => a.clients = value.parse().expect("--clients N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--only" => a.only = value.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect(),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// The corpus's words, drawn with Zipf's law as in natural text: the `WORDS` above are the most
/// frequent (each in most prompts, like "the" in English), then 5,000 generated words, rarer and
/// rarer.
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new() -> Self {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fi", "go", "ha", "jo", "ke", "la", "mo", "ni",
            "pe", "ri", "so", "tu", "ve", "zo",
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let mut words: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < WORDS.len() + 5_000 {
            let n = rng.gen_range(2..5);
            let word: String = (0..n).map(|_| *SYLLABLES.choose(&mut rng).unwrap()).collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    /// A word with its corpus frequency.
    fn draw(&self, rng: &mut StdRng) -> &str {
        let x = rng.r#gen::<f64>() * self.cumulative.last().unwrap();
        let i = self.cumulative.partition_point(|c| *c < x).min(self.words.len() - 1);
        &self.words[i]
    }

    /// A content word to search for: any word but the common ones, all equally likely.
    fn content_word(&self, rng: &mut StdRng) -> &str {
        &self.words[rng.gen_range(WORDS.len()..self.words.len())]
    }

    /// One of the common words (in most prompts).
    fn common_word(rng: &mut StdRng) -> &'static str {
        WORDS.choose(rng).unwrap()
    }
}

static VOCABULARY: std::sync::LazyLock<Vocabulary> = std::sync::LazyLock::new(Vocabulary::new);

fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words).map(|_| VOCABULARY.draw(rng).to_owned()).collect::<Vec<_>>().join(" ")
}

fn prompt(rng: &mut StdRng, n: usize) -> ImportedPrompt {
    let (title_words, tag_count, body_words) = (rng.gen_range(2..5), rng.gen_range(1..4), rng.gen_range(30..90));
    let title = format!("{} {n}", sentence(rng, title_words));
    let tags: Vec<&str> = TAGS.choose_multiple(rng, tag_count).copied().collect();
    let body = format!(
        "You are a {} {}. Write a {} {} for {{{{name}}}} about {}.\n\n{}",
        VOCABULARY.draw(rng).to_owned(),
        VOCABULARY.draw(rng).to_owned(),
        VOCABULARY.draw(rng).to_owned(),
        VOCABULARY.draw(rng).to_owned(),
        sentence(rng, 3),
        sentence(rng, body_words),
    );
    let input = PromptInput {
        title,
        description: sentence(rng, 12),
        body: body.clone(),
        status: Some(["draft", "published", "published"].choose(rng).unwrap().to_string()),
        category: ["Marketing", "Engineering", "Sales", "Support", ""].choose(rng).unwrap().to_string(),
        tags: tags.join(","),
        ..Default::default()
    };
    let fields = PromptFields::parse(&input).unwrap();
    let at = Utc::now() - chrono::Duration::minutes((n as i64) % 500_000);
    let version = |number: i32, body: &str| PromptVersionRecord {
        number,
        title: fields.title.clone(),
        description: fields.description.clone(),
        body: body.to_owned(),
        variables: fields.variables.clone(),
        model: fields.model.clone(),
        author_name: String::new(),
        change_note: format!("Version {number}"),
        created_at: at,
    };
    let first = body.lines().next().unwrap_or_default().to_owned();
    ImportedPrompt {
        id: uuid::Uuid::now_v7(),
        versions: vec![version(1, &first), version(2, &body)],
        fields,
        collection_id: None,
        created_at: at,
        updated_at: at,
        labels: vec![("production".into(), 2)],
        comments: Vec::new(),
    }
}

/// The shapes of query "API search" mixes in equal parts, as scenarios of their own.
const SEARCH_SHAPES: [&str; 4] = [
    "API search by shape: a content word",
    "API search by shape: a content word and a common one",
    "API search by shape: a phrase of a common word and a content word",
    "API search by shape: a content word with a typo",
];

/// The path of a search of the given shape (an index into [`SEARCH_SHAPES`]).
fn search_path(rng: &mut StdRng, shape: usize) -> String {
    let v = &*VOCABULARY;
    let q = match shape {
        0 => v.content_word(rng).to_owned(),
        1 => format!("{} {}", v.content_word(rng), Vocabulary::common_word(rng)),
        2 => format!("\"{} {}\"", Vocabulary::common_word(rng), v.content_word(rng)),
        // A typo: one letter dropped.
        _ => loop {
            let w = v.content_word(rng);
            if w.len() > 5 {
                let at = rng.gen_range(1..w.len() - 1);
                break format!("{}{}", &w[..at], &w[at + 1..]);
            }
        },
    };
    format!("/api/v1/prompts?{}", serde_urlencoded::to_string([("q", q.as_str()), ("limit", "20")]).unwrap())
}

/// One measured scenario: every latency, in microseconds.
struct Run {
    name: &'static str,
    micros: Vec<u64>,
    errors: usize,
    elapsed: Duration,
}

impl Run {
    fn percentile(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        self.micros[i] as f64 / 1000.0
    }
}

/// What a scenario's clients send: the path (and query) of each request, and the headers they all
/// carry (the API key, or the signed-in session's cookie).
struct Scenario<F> {
    headers: Vec<(&'static str, String)>,
    path: F,
}

/// Runs the scenario from `clients` concurrent loops for `seconds` (after a second of warm-up) and
/// collects latencies.
async fn measure<F>(a: &Args, addr: SocketAddr, name: &'static str, scenario: Scenario<F>) -> Option<Run>
where
    F: Fn(&mut StdRng) -> String + Send + Sync + 'static,
{
    if !a.wants(name) {
        return None;
    }
    let scenario = Arc::new(scenario);
    load(name, addr, a.clients, 1, 0, &scenario).await;
    let mut run = load(name, addr, a.clients, a.seconds, 1, &scenario).await;
    eprintln!("{name}: {} requests, {} errors", run.micros.len(), run.errors);
    run.micros.sort_unstable();
    Some(run)
}

/// One closed-loop load phase; `seed` varies the requests between phases. Each client keeps one
/// HTTP/1.1 connection (hyper's, with no pool, redirects or decompression on top), so the load
/// generator takes as little as it can of the cores it shares with the server.
async fn load<F>(
    name: &'static str,
    addr: SocketAddr,
    clients: usize,
    seconds: u64,
    seed: u64,
    scenario: &Arc<Scenario<F>>,
) -> Run
where
    F: Fn(&mut StdRng) -> String + Send + Sync + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let scenario = scenario.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(c as u64 * 2 + seed);
            let (mut micros, mut errors) = (Vec::new(), 0usize);
            let mut connection = None;
            while Instant::now() < deadline {
                let path = (scenario.path)(&mut rng);
                let t = Instant::now();
                match request(&mut connection, addr, &scenario.headers, &path).await {
                    Ok(()) => micros.push(t.elapsed().as_micros() as u64),
                    Err(_) => {
                        errors += 1;
                        connection = None;
                    }
                }
            }
            (micros, errors)
        }));
    }
    let mut run = Run { name, micros: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for t in tasks {
        let (m, e) = t.await.unwrap();
        run.micros.extend(m);
        run.errors += e;
    }
    run.elapsed = started.elapsed();
    run
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Connection = hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>;

/// One GET on the client's connection (opened first if it has none), its whole body read; an
/// error for a failed exchange, a status other than 2xx, or no answer within 30 s.
async fn request(
    connection: &mut Option<Connection>,
    addr: SocketAddr,
    headers: &[(&'static str, String)],
    path: &str,
) -> Result<(), BoxError> {
    use http_body_util::BodyExt;
    let exchange = async {
        if connection.is_none() {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            *connection = Some(sender);
        }
        let sender = connection.as_mut().unwrap();
        sender.ready().await?;
        let mut builder = hyper::Request::get(path).header("host", "127.0.0.1");
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let response = sender.send_request(builder.body(http_body_util::Empty::new())?).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        if !ok {
            return Err("an unsuccessful status".into());
        }
        Ok::<(), BoxError>(())
    };
    tokio::time::timeout(Duration::from_secs(30), exchange).await?
}

/// The server runs on its own runtime (as `cairn` does); the clients on another, of one thread
/// (named `bench-client`, to tell its share of the CPU from the server's).
fn main() {
    let server = server::runtime().expect("server runtime");
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .unwrap();
    let a = args();
    let setup = server.block_on(set_up(&a));
    clients.block_on(run(a, setup));
    drop(server);
}

/// What the load needs: where the server is, a key, a signed-in browser, the prompt ids.
struct Setup {
    base: String,
    secret: String,
    /// The signed-in browser's cookies.
    browser: Arc<reqwest::cookie::Jar>,
    ids: Vec<uuid::Uuid>,
    seeded_in: Duration,
    db: server::db::Db,
    url: String,
    scratch: server::scratch::Scratch,
}

async fn set_up(a: &Args) -> Setup {
    let scratch = server::scratch::Scratch::create(&a.backend, "bench").await.expect("a scratch database");
    let url = scratch.url.clone();
    let mut config = Config::for_tests(url.clone());
    config.api_rate_limit = i64::from(i32::MAX);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    config.public_url = base.clone();
    let (services, db) = services(&config).await.expect("services");
    let store = services.store.clone();

    // An owner (with a password, for the page) and the organization.
    let now = Utc::now();
    let password = "bench-password-2026";
    let owner = NewUser {
        id: UserId::new(),
        email: Email::parse("bench@example.com").unwrap(),
        display_name: "Bench Owner".into(),
        password_hash: Some(app::security::hash_password(&services.hashing, password).await.unwrap()),
        timezone: "UTC".into(),
        email_verified_at: Some(now),
        created_at: now,
    };
    let personal = OrgRecord { id: OrgId::new(), name: "Personal".into(), kind: OrgKind::Personal, created_at: now };
    store.create_user(&owner, &personal).await.unwrap();
    let org = OrgRecord { id: OrgId::new(), name: "Bench".into(), kind: OrgKind::Team, created_at: now };
    store.create_org(&org, owner.id).await.unwrap();

    let seeding = Instant::now();
    let mut rng = StdRng::seed_from_u64(7);
    let mut ids = Vec::with_capacity(a.prompts);
    let mut n = 0;
    while n < a.prompts {
        let batch: Vec<ImportedPrompt> = (n..(n + 1000).min(a.prompts)).map(|i| prompt(&mut rng, i)).collect();
        ids.extend(batch.iter().map(|p| p.id));
        n += batch.len();
        let import = LibraryImport {
            org: org.id,
            author: owner.id,
            at: now,
            collections: Vec::new(),
            categories: Vec::new(),
            prompts: batch,
        };
        store.import_library(&import).await.unwrap();
        if n % 20_000 == 0 {
            eprintln!("seeded {n} prompts ({:.0} s)", seeding.elapsed().as_secs_f64());
        }
    }
    let seeded_in = seeding.elapsed();
    // PostgreSQL's autovacuum would have analyzed the tables by now. Cairn never runs ANALYZE on
    // SQLite, so neither does the benchmark: with statistics, SQLite (built with STAT4) plans a
    // statement again whenever a bound value changes, which cost about a third of a get's
    // throughput here (docs/performance.md).
    if let server::db::Db::Postgres(server::db::Backend { pool, .. }) = &db {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }

    let secret = app::security::random_token();
    let secret = format!("cairn_{secret}");
    store
        .create_api_key(&ApiKeyRecord {
            id: uuid::Uuid::now_v7(),
            org_id: org.id,
            name: "bench".into(),
            prefix: secret.chars().take(12).collect(),
            key_hash: app::security::hash_token(&secret),
            can_write: false,
            rate_limit: i64::from(i32::MAX),
            created_by: owner.id,
            created_at: now,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();

    // The organization is on Enterprise: unlimited API requests a day, so the quota measures
    // its cost rather than refusing the load.
    let enterprise = store.plan("enterprise", None).await.unwrap().expect("the enterprise plan");
    let subscription = app::ports::PlanSubscriptionRecord {
        org_id: org.id,
        plan_code: enterprise.code.clone(),
        plan_version: enterprise.version,
        interval: app::domain::billing::Interval::Month,
        seats: enterprise.config.min_seats,
        status: app::domain::billing::PlanStatus::Active,
        period_start: now,
        period_end: now + chrono::Duration::days(365),
        cancel_at_period_end: true,
        promo_code: None,
        provider: app::api::billing::OVERRIDE.into(),
        provider_ref: None,
        paid_by: None,
        created_at: now,
        updated_at: now,
    };
    let change = app::ports::PlanChangeRecord {
        id: uuid::Uuid::now_v7(),
        org_id: org.id,
        from_plan: None,
        to_plan: Some(enterprise.code),
        mrr_before: 0,
        mrr_after: 0,
        reason: "override".into(),
        at: now,
    };
    store.save_plan_subscription(&subscription, &change).await.unwrap();

    let state = AppState::new(config, services, db.clone());
    tokio::spawn(async move {
        let _ = serve(listener, state, std::future::pending()).await;
    });

    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser =
        reqwest::Client::builder().cookie_provider(jar.clone()).timeout(Duration::from_secs(30)).build().unwrap();
    let signed_in = browser
        .post(format!("{base}/api/sign_in"))
        .header("accept", "application/json")
        .form(&[("email", "bench@example.com"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success(), "sign in: {}", signed_in.status());
    let switched = browser
        .post(format!("{base}/api/switch_org"))
        .header("accept", "application/json")
        .form(&[("org_id", org.id.0.to_string())])
        .send()
        .await
        .unwrap();
    assert!(switched.status().is_success(), "switch org: {}", switched.status());
    Setup { base, secret, browser: jar, ids, seeded_in, db, url, scratch }
}

async fn run(a: Args, setup: Setup) {
    let Setup { base, secret, browser, ids, seeded_in, db, url, scratch } = setup;
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let ids = Arc::new(ids);
    let api = || vec![("authorization", format!("Bearer {secret}"))];
    let mut runs = Vec::new();
    let sorts = ["", "updated", "created", "popularity"];
    let list = Scenario {
        headers: api(),
        path: move |rng: &mut StdRng| {
            let sort = sorts.choose(rng).unwrap();
            let tag = if rng.gen_bool(0.3) { format!("&tags={}", TAGS.choose(rng).unwrap()) } else { String::new() };
            format!("/api/v1/prompts?limit=20&sort={sort}{tag}")
        },
    };
    runs.extend(measure(&a, addr, "API list (20 per page)", list).await);
    let get = Scenario {
        headers: api(),
        path: move |rng: &mut StdRng| format!("/api/v1/prompts/{}", ids.choose(rng).unwrap()),
    };
    runs.extend(measure(&a, addr, "API get", get).await);
    let search = Scenario {
        headers: api(),
        path: |rng: &mut StdRng| {
            let shape = rng.gen_range(0..SEARCH_SHAPES.len());
            search_path(rng, shape)
        },
    };
    runs.extend(measure(&a, addr, "API search", search).await);
    // Each of the mix's shapes alone, to see which one costs what.
    for (shape, name) in SEARCH_SHAPES.iter().enumerate() {
        let alone = Scenario { headers: api(), path: move |rng: &mut StdRng| search_path(rng, shape) };
        runs.extend(measure(&a, addr, name, alone).await);
    }
    let common = Scenario {
        headers: api(),
        path: |rng: &mut StdRng| {
            let query = [("q", Vocabulary::common_word(rng)), ("limit", "20")];
            format!("/api/v1/prompts?{}", serde_urlencoded::to_string(query).unwrap())
        },
    };
    runs.extend(measure(&a, addr, "API search, a word in most prompts", common).await);
    let words = Scenario {
        headers: api(),
        path: |rng: &mut StdRng| {
            let query = [("q", sentence(rng, 3)), ("limit", "20".to_owned())];
            format!("/api/v1/prompts?{}", serde_urlencoded::to_string(query).unwrap())
        },
    };
    runs.extend(measure(&a, addr, "API search, three words as prompts use them", words).await);
    let cookie = browser.cookies(&format!("{base}/prompts").parse().unwrap()).expect("the session's cookie");
    let page = Scenario {
        headers: vec![("cookie", cookie.to_str().unwrap().to_owned())],
        path: |_: &mut StdRng| "/prompts".to_owned(),
    };
    runs.extend(measure(&a, addr, "Prompt list page (SSR)", page).await);

    println!("### {} — {} prompts, {} clients, {} s per scenario\n", a.backend, a.prompts, a.clients, a.seconds);
    println!("Seeded {} prompts with 2 versions each in {:.0} s.\n", a.prompts, seeded_in.as_secs_f64());
    println!("| Scenario | Requests | Errors | Throughput (req/s) | p50 (ms) | p95 (ms) | p99 (ms) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for run in &runs {
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
            run.name,
            run.micros.len(),
            run.errors,
            run.micros.len() as f64 / run.elapsed.as_secs_f64(),
            run.percentile(0.50),
            run.percentile(0.95),
            run.percentile(0.99),
        );
    }
    println!();

    db.close().await;
    // `CAIRN_BENCH_KEEP=1` keeps the database for a look at query plans.
    if std::env::var("CAIRN_BENCH_KEEP").is_ok() {
        eprintln!("kept the database: {url}");
        return;
    }
    scratch.remove().await;
}
