//! `cairn-schedbench`: the scheduler's benchmark. On a fresh database it seeds active
//! subscriptions whose first step is due and measures, with Cairn's own scheduler in this process:
//!
//! 1. throughput: due firings processed per second (claim, render, store the message and the
//!    next step's job, mark done) until none is due;
//! 2. latency: due→delivered p50/p99 while new firings fall due at a steady rate, with the
//!    scheduler running as it does in the server (sleeping until the next job is due);
//! 3. no-op jobs: claim + complete per second on Cairn's job table, the number to set next to
//!    other job queues on the same database (`scripts/queue-bench`).
//!
//! Prints a Markdown report.
//!
//! ```text
//! cairn-schedbench [--backend sqlite|postgres] [--subscriptions 100000] [--workers 1]
//!                  [--rate 1000] [--latency-seconds 60] [--noop-jobs 20000] [--noop-workers 8]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::api::engine;
use app::domain::schedule::Preferences;
use app::domain::sequence::{SequenceMeta, Step, StepKind, Trigger};
use app::domain::{Email, OrgId, OrgKind, UserId};
use app::ports::{NewUser, OrgRecord, SequenceRecord, Services, SubscriptionRecord};
use chrono::{DateTime, Utc};
use server::config::Config;
use server::db::Db;
use server::llm::ChatClient;
use server::scheduler::{Scheduler, SchedulerConfig};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Args {
    backend: String,
    subscriptions: usize,
    workers: usize,
    rate: usize,
    latency_seconds: u64,
    noop_jobs: usize,
    noop_workers: usize,
}

fn args() -> Args {
    let mut a = Args {
        backend: "sqlite".into(),
        subscriptions: 100_000,
        workers: 1,
        rate: 1000,
        latency_seconds: 60,
        noop_jobs: 20_000,
        noop_workers: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        let number = || value.parse::<usize>().unwrap_or_else(|_| panic!("{flag} takes a number"));
        match flag.as_str() {
            "--backend" => a.backend = value.clone(),
            "--subscriptions" => a.subscriptions = number(),
            "--workers" => a.workers = number().max(1),
            "--rate" => a.rate = number().max(1),
            "--latency-seconds" => a.latency_seconds = number() as u64,
            "--noop-jobs" => a.noop_jobs = number(),
            "--noop-workers" => a.noop_workers = number().max(1),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A morning message now, a follow-up a week later: after its first step each subscription stays
/// active with a job pending, as most do.
fn steps() -> Vec<Step> {
    let message = |id: &str, trigger, text: &str| Step {
        id: id.into(),
        title: id.into(),
        trigger,
        kind: StepKind::Message { text: text.into() },
        next: None,
    };
    vec![
        message(
            "s0",
            Trigger::Completion,
            "Good morning, {{first_name}}! Today's step towards {{goal}}: name one thing.",
        ),
        message("s1", Trigger::After { hours: 168 }, "A week on, {{first_name}}: how is {{goal}} going?"),
    ]
}

fn main() {
    let a = args();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().unwrap();
    runtime.block_on(async {
        let scratch = server::scratch::Scratch::create(&a.backend, "schedbench").await.expect("a scratch database");
        let report = run(&a, &scratch.url).await;
        scratch.remove().await;
        println!("{report}");
    });
}

struct Bench {
    services: Services,
    db: Db,
    org: OrgId,
    sequence: Uuid,
    users: Vec<UserId>,
}

impl Bench {
    /// A new subscription of a random subscriber, its first step due at `due`.
    fn subscription(&self, n: usize, due: DateTime<Utc>) -> (SubscriptionRecord, app::ports::RunChange) {
        let user = self.users[n % self.users.len()];
        let answers = BTreeMap::from([
            ("first_name".to_owned(), format!("Person{}", n % self.users.len())),
            ("goal".to_owned(), "a calmer week".to_owned()),
        ]);
        let sub = SubscriptionRecord::new(self.org, self.sequence, 1, user, Preferences::default(), answers, due);
        let mut first = engine::start(&sub, &steps(), due).unwrap();
        for job in &mut first.jobs {
            job.due_at = due;
        }
        (sub, first)
    }

    fn scheduler(&self, batch: i64) -> Scheduler {
        let config = SchedulerConfig { batch, ..SchedulerConfig::default() };
        Scheduler::new(self.services.clone(), config, ChatClient::new(Duration::from_secs(30)))
    }

    async fn count(&self, sql: &str) -> i64 {
        match &self.db {
            Db::Sqlite(server::db::Backend { pool, .. }) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Db::Postgres(server::db::Backend { pool, .. }) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap()
    }
}

async fn run(a: &Args, url: &str) -> String {
    let config = Config::for_tests(url.to_owned());
    let (services, db) = server::services(&config).await.expect("services");
    let bench = seed(a, services, db).await;
    let mut report = vec![format!("#### {}\n", if a.backend == "postgres" { "PostgreSQL" } else { "SQLite" })];

    let started = Instant::now();
    let mut subs = 0;
    while subs < a.subscriptions {
        let due = Utc::now() - chrono::Duration::seconds(1);
        let batch: Vec<_> = (subs..(subs + 500).min(a.subscriptions)).map(|n| bench.subscription(n, due)).collect();
        subs += batch.len();
        let store = bench.services.store.clone();
        // Written by a few tasks at once on PostgreSQL; SQLite writes one at a time anyway.
        let tasks = if a.backend == "postgres" { 4 } else { 1 };
        let chunks = batch.chunks(batch.len().div_ceil(tasks)).map(<[_]>::to_vec);
        let tasks: Vec<_> = chunks
            .map(|chunk| {
                let store = store.clone();
                tokio::spawn(async move {
                    for (sub, first) in chunk {
                        store.create_subscription(&sub, &first).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
    report.push(format!(
        "- {} active subscriptions of {} subscribers, each with its first step due, seeded in {:.1} s.",
        thousands(a.subscriptions),
        thousands(bench.users.len()),
        started.elapsed().as_secs_f64()
    ));
    report.push(throughput(a, &bench).await);
    report.push(latency(a, &bench).await);
    report.push(noop(a, &bench).await);
    bench.db.close().await;
    report.join("\n")
}

async fn seed(a: &Args, services: Services, db: Db) -> Bench {
    let store = services.store.clone();
    let now = Utc::now();
    let people = (a.subscriptions / 10).clamp(1, 10_000);
    let mut users = Vec::with_capacity(people);
    let mut org = None;
    for n in 0..people {
        let user = NewUser {
            id: UserId::new(),
            email: Email::parse(&format!("person{n}@bench.cairn.test")).unwrap(),
            display_name: format!("Person{n} Bench"),
            password_hash: None,
            timezone: "UTC".into(),
            email_verified_at: Some(now),
            created_at: now,
        };
        let personal =
            OrgRecord { id: OrgId::new(), name: "Personal".into(), kind: OrgKind::Personal, created_at: now };
        store.create_user(&user, &personal).await.unwrap();
        org.get_or_insert(personal.id);
        users.push(user.id);
    }
    let org = org.unwrap();
    let sequence = SequenceRecord {
        id: Uuid::now_v7(),
        org_id: org,
        creator_id: users[0],
        meta: SequenceMeta::titled("Morning step"),
        draft: steps(),
        draft_changed: true,
        published_version: None,
        is_template: false,
        created_at: now,
        updated_at: now,
    };
    store.create_sequence(&sequence).await.unwrap();
    store.publish_sequence(org, sequence.id, None, users[0], now).await.unwrap();
    Bench { services, db, org, sequence: sequence.id, users }
}

/// Every due first step, processed by `workers` schedulers claiming batches of 200.
async fn throughput(a: &Args, bench: &Bench) -> String {
    let started = Instant::now();
    let workers: Vec<_> = (0..a.workers)
        .map(|_| {
            let scheduler = bench.scheduler(200);
            tokio::spawn(async move { while scheduler.tick().await.unwrap() > 0 {} })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let delivered = bench.count("SELECT COUNT(*) FROM messages").await;
    assert_eq!(delivered as usize, a.subscriptions, "every due step delivered once");
    format!(
        "- Due firings: {} processed in {seconds:.1} s by {} worker(s): **{} firings/s** (claim, render, store \
         the message and the next step's job, mark done).",
        thousands(a.subscriptions),
        a.workers,
        thousands((a.subscriptions as f64 / seconds) as usize)
    )
}

/// New firings fall due at a steady rate (each subscription made a second before its step is
/// due) while the schedulers run as in the server; latency is from `due_at` to the moment the
/// message was written.
async fn latency(a: &Args, bench: &Bench) -> String {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..a.workers).map(|_| tokio::spawn(bench.scheduler(200).run(stopped.clone()))).collect();
    let total = (a.rate as u64 * a.latency_seconds / 60).max(1) as usize;
    let gap = Duration::from_secs_f64(60.0 / a.rate as f64);
    let started = Utc::now();
    let mut due_at = HashMap::with_capacity(total);
    let mut tick = tokio::time::interval(gap);
    for n in 0..total {
        tick.tick().await;
        let due = Utc::now() + chrono::Duration::seconds(1);
        let (sub, first) = bench.subscription(a.subscriptions + n, due);
        bench.services.store.create_subscription(&sub, &first).await.unwrap();
        due_at.insert(sub.id, due);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    let sql = "SELECT subscription_id, created_at FROM messages WHERE step_id = 's0' AND created_at >= $1";
    let delivered: Vec<(Uuid, DateTime<Utc>)> = match &bench.db {
        Db::Sqlite(server::db::Backend { pool, .. }) => sqlx::query_as(sql).bind(started).fetch_all(pool).await,
        Db::Postgres(server::db::Backend { pool, .. }) => sqlx::query_as(sql).bind(started).fetch_all(pool).await,
    }
    .unwrap();
    let mut millis: Vec<f64> = delivered
        .iter()
        .filter_map(|(sub, at)| due_at.get(sub).map(|due| (*at - *due).num_microseconds().unwrap_or(0) as f64 / 1000.0))
        .collect();
    assert_eq!(millis.len(), total, "every firing of the steady load delivered");
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| millis[((millis.len() as f64 * q).ceil() as usize).clamp(1, millis.len()) - 1];
    format!(
        "- Due→delivered at a steady {} firings/min for {} s ({} firings, {} worker(s), next to the {} pending \
         jobs): p50 **{:.1} ms**, p99 **{:.1} ms**, max {:.1} ms.",
        thousands(a.rate),
        a.latency_seconds,
        thousands(total),
        a.workers,
        thousands(a.subscriptions + total),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Jobs that do nothing: claimed in batches by `noop_workers` claimers (one on SQLite, which
/// writes one at a time) and marked done together, as the scheduler closes jobs with nothing
/// left to do.
async fn noop(a: &Args, bench: &Bench) -> String {
    let store = bench.services.store.clone();
    let (holder, first) = bench.subscription(usize::MAX / 2, Utc::now());
    store.create_subscription(&holder, &first).await.unwrap();
    let due = Utc::now() - chrono::Duration::days(1);
    for chunk in (0..a.noop_jobs).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO sequence_jobs (id, subscription_id, kind, step_id, visit, due_at, status, attempts, created_at) VALUES ",
        );
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $2, 'fire', 'noop#{}', 0, $1, 'pending', 0, $1)", i + 3, chunk[i]))
            .collect();
        sql.push_str(&rows.join(", "));
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        match &bench.db {
            Db::Sqlite(server::db::Backend { pool, .. }) => {
                let query = sqlx::query(&sql).bind(due).bind(holder.id);
                ids.iter().fold(query, |q, id| q.bind(*id)).execute(pool).await.map(|_| ())
            }
            Db::Postgres(server::db::Backend { pool, .. }) => {
                let query = sqlx::query(&sql).bind(due).bind(holder.id);
                ids.iter().fold(query, |q, id| q.bind(*id)).execute(pool).await.map(|_| ())
            }
        }
        .unwrap();
    }
    let claimers = if a.backend == "postgres" { a.noop_workers } else { 1 };
    let started = Instant::now();
    let tasks: Vec<_> = (0..claimers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let owner = Uuid::now_v7();
                loop {
                    let now = Utc::now();
                    let jobs = store.claim_jobs(owner, now, now + chrono::Duration::seconds(30), 200).await.unwrap();
                    if jobs.is_empty() {
                        return;
                    }
                    let ids: Vec<Uuid> = jobs.iter().map(|job| job.id).collect();
                    store.close_jobs(owner, &ids, "done", None, Utc::now()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let done = bench.count("SELECT COUNT(*) FROM sequence_jobs WHERE step_id LIKE 'noop#%' AND status = 'done'").await;
    assert_eq!(done as usize, a.noop_jobs, "every no-op job done");
    format!(
        "- No-op jobs on Cairn's job table: {} claimed and completed (batches of 200) in {seconds:.2} s by {claimers} \
         claimer(s): **{} jobs/s**.",
        thousands(a.noop_jobs),
        thousands((a.noop_jobs as f64 / seconds) as usize)
    )
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
