//! `cairn-killtest`: the scheduler's crash test. Seeds subscriptions whose first steps are due,
//! starts Cairn (one or more instances on the same database), kills the instances with SIGKILL at
//! random moments, restarts them, and at the end checks that every due step was delivered exactly
//! once to its subscriber and none was lost.
//!
//! ```text
//! cairn-killtest --server target/release/cairn [--backend sqlite|postgres] [--subscriptions 1000]
//!                [--kills 5] [--instances 1]
//! ```
//! PostgreSQL: `CAIRN_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! is used to create and afterwards drop a scratch database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::api::engine;
use app::domain::schedule::Preferences;
use app::domain::sequence::{SequenceMeta, Step, StepKind, Trigger};
use app::domain::{Email, OrgId, OrgKind, UserId};
use app::ports::{NewUser, OrgRecord, SequenceRecord, SubscriptionRecord};
use chrono::Utc;
use rand::Rng;
use server::config::Config;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Messages each subscription's run says: three steps, fired by one job.
const STEPS: usize = 3;

struct Args {
    server: String,
    backend: String,
    subscriptions: usize,
    kills: usize,
    instances: usize,
}

fn args() -> Args {
    let mut a = Args { server: String::new(), backend: "sqlite".into(), subscriptions: 1000, kills: 5, instances: 1 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--server" => a.server = value,
            "--backend" => a.backend = value,
            "--subscriptions" => a.subscriptions = value.parse().expect("--subscriptions N"),
            "--kills" => a.kills = value.parse().expect("--kills N"),
            "--instances" => a.instances = value.parse().expect("--instances N"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.server.is_empty(), "--server PATH to the cairn binary");
    a
}

fn steps() -> Vec<Step> {
    (0..STEPS)
        .map(|i| Step {
            id: format!("s{i}"),
            title: format!("Step {i}"),
            trigger: Trigger::Completion,
            kind: StepKind::Message { text: format!("Message {i}") },
            next: None,
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let a = args();
    let scratch = server::scratch::Scratch::create(&a.backend, "kill").await.expect("a scratch database");
    let outcome = run(&a, &scratch.url).await;
    scratch.remove().await;
    match outcome {
        Ok(report) => println!("{report}"),
        Err(problem) => {
            eprintln!("kill test FAILED: {problem}");
            std::process::exit(1);
        }
    }
}

async fn run(a: &Args, url: &str) -> Result<String, String> {
    let started = Instant::now();
    let config = Config::for_tests(url.to_owned());
    let (services, db) = server::services(&config).await.map_err(|e| e.to_string())?;
    let store = services.store.clone();
    let now = Utc::now();
    let owner = NewUser {
        id: UserId::new(),
        email: Email::parse("kill@example.com").unwrap(),
        display_name: "Kill Test".into(),
        password_hash: None,
        timezone: "UTC".into(),
        email_verified_at: Some(now),
        created_at: now,
    };
    let personal = OrgRecord { id: OrgId::new(), name: "Personal".into(), kind: OrgKind::Personal, created_at: now };
    store.create_user(&owner, &personal).await.map_err(|e| e.to_string())?;
    let sequence = SequenceRecord {
        id: Uuid::now_v7(),
        org_id: personal.id,
        creator_id: owner.id,
        meta: SequenceMeta::titled("Kill test"),
        draft: steps(),
        draft_changed: true,
        published_version: None,
        is_template: false,
        created_at: now,
        updated_at: now,
    };
    store.create_sequence(&sequence).await.map_err(|e| e.to_string())?;
    store.publish_sequence(personal.id, sequence.id, None, owner.id, now).await.map_err(|e| e.to_string())?;
    let mut ids = Vec::with_capacity(a.subscriptions);
    for _ in 0..a.subscriptions {
        let sub = SubscriptionRecord::new(
            personal.id,
            sequence.id,
            1,
            owner.id,
            Preferences::default(),
            Default::default(),
            now,
        );
        let first = engine::start(&sub, &steps(), now).map_err(|e| e.to_string())?;
        store.create_subscription(&sub, &first).await.map_err(|e| e.to_string())?;
        ids.push(sub.id);
    }
    let seeded = started.elapsed();
    db.close().await;

    // Kill the instances at random moments while they work.
    let mut rng = rand::thread_rng();
    for _ in 0..a.kills {
        let mut children = start(a, url)?;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        for child in &mut children {
            child.kill().map_err(|e| format!("kill: {e}"))?;
            let _ = child.wait();
        }
    }
    // Then let them finish: leases of killed workers run out after 30 s and are taken over.
    let (_, db) = server::services(&config).await.map_err(|e| e.to_string())?;
    let done_while_killed = count(&db, "SELECT COUNT(*) FROM sequence_jobs WHERE status = 'done'").await?;
    let mut children = start(a, url)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let result = loop {
        let pending = count(&db, "SELECT COUNT(*) FROM sequence_jobs WHERE status = 'pending'").await?;
        if pending == 0 {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(format!("{pending} jobs still pending after 120 s"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    result?;

    // Every subscription: each step's message exactly once, and the run complete.
    let messages = count(&db, "SELECT COUNT(*) FROM messages").await?;
    let distinct = count(&db, "SELECT COUNT(DISTINCT idempotency_key) FROM messages").await?;
    let complete = count(&db, "SELECT COUNT(*) FROM subscriptions WHERE status = 'completed'").await?;
    let failed = count(&db, "SELECT COUNT(*) FROM sequence_jobs WHERE status = 'failed'").await?;
    let short = count(
        &db,
        &format!(
            "SELECT COUNT(*) FROM (SELECT s.id FROM subscriptions s LEFT JOIN messages m ON m.subscription_id = s.id \
             GROUP BY s.id HAVING COUNT(m.id) <> {STEPS}) wrong"
        ),
    )
    .await?;
    db.close().await;
    let expected = (ids.len() * STEPS) as i64;
    let report = format!(
        "{} backend, {} instance(s), {} kills: {} subscriptions seeded in {:.1} s; {done_while_killed} jobs \
         done between kills; {messages} messages ({expected} expected, {distinct} distinct), {complete} runs complete, {short} subscriptions with a \
         missing or extra message, {failed} failed jobs; {:.1} s in all.",
        a.backend,
        a.instances,
        a.kills,
        ids.len(),
        seeded.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if messages != expected || distinct != expected || complete != ids.len() as i64 || short != 0 || failed != 0 {
        return Err(report);
    }
    Ok(report)
}

/// Starts the instances on ports of their own.
fn start(a: &Args, url: &str) -> Result<Vec<Child>, String> {
    let site = std::env::temp_dir().join("cairn-kill-site");
    std::fs::create_dir_all(&site).map_err(|e| e.to_string())?;
    (0..a.instances)
        .map(|i| {
            Command::new(&a.server)
                .env("DATABASE_URL", url)
                .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", 3400 + i))
                .env("LEPTOS_SITE_ROOT", &site)
                .env("CAIRN_SCHEDULER", "1")
                .env("CAIRN_WEBHOOK_SENDER", "0")
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("start {}: {e}", a.server))
        })
        .collect()
}

async fn count(db: &server::db::Db, sql: &str) -> Result<i64, String> {
    match db {
        server::db::Db::Sqlite(server::db::Backend { pool, .. }) => sqlx::query_scalar(sql).fetch_one(pool).await,
        server::db::Db::Postgres(server::db::Backend { pool, .. }) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .map_err(|e| e.to_string())
}
