//! The sequence scheduler: due jobs (step firings, timeouts, AI turns) are claimed with a lease,
//! run through the engine, and each result is stored in one transaction that also marks the job
//! done. See docs/scheduler.md for the guarantees.

use crate::channels::Channels;
use crate::llm::{ChatCall, ChatClient};
use app::api::{billing, engine, sequences};
use app::domain::model::ChatMessage;
use app::domain::sequence::{
    Decider, Input, JobKind, Phase, RunError, Sender, Step, StepKind, SubscriptionStatus, Trigger,
};
use app::domain::{OrgId, UserId};
use app::ports::{JobRecord, ModelEndpoint, NotificationRecord, RunChange, Services, SubscriptionRecord};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Steps = Arc<Vec<Step>>;
/// Whether something was so, and when that was found out.
type Known = (bool, Instant);
/// An analytics event of a run change: (kind, step, detail).
type RunEvent = (&'static str, Option<String>, Option<String>);

/// Tries per job before it is marked failed.
pub const MAX_ATTEMPTS: i32 = 6;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How long a claimed job is held before another worker may take it over.
    pub lease: Duration,
    /// A firing later than this is skipped (with a reason) instead of delivered.
    pub late_window: chrono::Duration,
    pub batch: i64,
    pub poll: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            late_window: chrono::Duration::hours(24),
            batch: 200,
            poll: Duration::from_millis(500),
        }
    }
}

pub struct Scheduler {
    services: Services,
    config: SchedulerConfig,
    /// Identifies this worker's leases.
    owner: Uuid,
    chat: ChatClient,
    /// Published versions never change: cached by (sequence, version).
    versions: Mutex<HashMap<(Uuid, i32), Steps>>,
    /// Email and chat webhooks for new messages, as subscribers chose.
    channels: Channels,
    /// Whether an organization's sequences wait for one of Cairn's events, and since when known.
    events_in_use: Mutex<HashMap<(OrgId, &'static str), Known>>,
}

impl Scheduler {
    pub fn new(services: Services, config: SchedulerConfig, chat: ChatClient) -> Self {
        Self {
            channels: Channels::new(services.clone()),
            services,
            config,
            owner: Uuid::now_v7(),
            chat,
            versions: Mutex::default(),
            events_in_use: Mutex::default(),
        }
    }

    /// Works until `stop` turns true, then returns after the batch in hand (each job is bounded by
    /// the model timeout; what is not finished is taken over when its lease runs out).
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut digests_checked: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            // Daily digests are looked for once a minute.
            if digests_checked.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                self.digests().await;
                digests_checked = Some(Instant::now());
            }
            let worked = match self.tick().await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(%err, "scheduler: could not claim jobs");
                    0
                }
            };
            if worked == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.idle().await) => {}
                    _ = self.services.jobs.notified() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// How long to sleep with nothing due: until the next job is due, at most the poll interval
    /// (which also bounds how late a job that another instance added is noticed).
    async fn idle(&self) -> Duration {
        match self.services.store.next_job_due().await {
            Ok(Some(at)) => (at - self.services.clock.now()).to_std().unwrap_or_default().min(self.config.poll),
            _ => self.config.poll,
        }
    }

    /// Sends the daily digests that are due; returns how many went out.
    pub async fn digests(&self) -> usize {
        self.channels.send_digests().await
    }

    /// Claims one batch of due jobs and processes them; returns how many.
    pub async fn tick(&self) -> Result<usize, app::ports::StoreError> {
        let jobs = self.claim().await?;
        self.process_all(&jobs).await;
        Ok(jobs.len())
    }

    /// Leases a batch of due jobs to this worker, in due order.
    pub async fn claim(&self) -> Result<Vec<JobRecord>, app::ports::StoreError> {
        let now = self.services.clock.now();
        let lease_until = now + chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::seconds(30));
        self.services.store.claim_jobs(self.owner, now, lease_until, self.config.batch).await
    }

    /// Runs claimed jobs. Those of distinct subscriptions go together; AI turns (which wait for
    /// the model) and a subscription's second job in the batch (which needs the first one's
    /// result) run one by one afterwards.
    pub async fn process_all(&self, jobs: &[JobRecord]) {
        let mut seen = std::collections::HashSet::new();
        let (together, alone): (Vec<&JobRecord>, Vec<&JobRecord>) =
            jobs.iter().partition(|job| job.kind != JobKind::AiTurn && seen.insert(job.subscription_id));
        self.process_together(&together).await;
        for job in alone {
            self.process(job).await;
        }
    }

    /// Jobs of distinct subscriptions: the subscriptions are read with one query, the changes
    /// stored in one transaction, and jobs with nothing left to do closed together.
    async fn process_together(&self, jobs: &[&JobRecord]) {
        if jobs.is_empty() {
            return;
        }
        let ids: Vec<Uuid> = jobs.iter().map(|job| job.subscription_id).collect();
        let mut subs: HashMap<Uuid, SubscriptionRecord> = match self.services.store.subscriptions_by_id(&ids).await {
            Ok(subs) => subs.into_iter().map(|sub| (sub.id, sub)).collect(),
            Err(err) => {
                for job in jobs {
                    self.settle(job, Outcome::Retry(err.to_string())).await;
                }
                return;
            }
        };
        let mut planned = Vec::with_capacity(jobs.len());
        let mut closed: HashMap<(&'static str, Option<String>), Vec<Uuid>> = HashMap::new();
        for job in jobs {
            match self.plan(job, subs.remove(&job.subscription_id)).await {
                Ok(plan) => planned.push(plan),
                Err(Outcome::Close { status, reason }) => closed.entry((status, reason)).or_default().push(job.id),
                Err(outcome) => self.settle(job, outcome).await,
            }
        }
        let now = self.services.clock.now();
        for ((status, reason), ids) in closed {
            if let Err(err) = self.services.store.close_jobs(self.owner, &ids, status, reason.as_deref(), now).await {
                tracing::warn!(%err, "scheduler: could not close jobs");
            }
        }
        self.store_all(planned).await;
    }

    /// Runs one claimed job: its change is stored with the job marked done, or the job is
    /// retried with backoff, or closed.
    pub async fn process(&self, job: &JobRecord) {
        let plan = match self.services.store.subscription(job.subscription_id).await {
            Ok(sub) => self.plan(job, sub).await,
            Err(err) => Err(retry(err)),
        };
        match plan {
            Ok(plan) => self.store_one(plan).await,
            Err(outcome) => self.settle(job, outcome).await,
        }
    }

    /// Stores planned changes in one transaction; if that fails, each on its own, so one bad
    /// change does not hold up the others.
    async fn store_all(&self, planned: Vec<Plan<'_>>) {
        if planned.len() <= 1 {
            for plan in planned {
                self.store_one(plan).await;
            }
            return;
        }
        let changes: Vec<RunChange> = planned.iter().map(|plan| plan.change.clone()).collect();
        match self.services.store.apply_runs(&changes).await {
            Ok(applied) => {
                // Whom to tell outside the app, asked once for the batch.
                let users: Vec<UserId> = planned.iter().map(|plan| plan.sub.user_id).collect();
                let reachable: std::collections::HashSet<UserId> =
                    match self.services.store.reachable_users(&users).await {
                        Ok(found) => found.into_iter().collect(),
                        Err(_) => users.into_iter().collect(),
                    };
                for (plan, applied) in planned.into_iter().zip(applied) {
                    let reach = reachable.contains(&plan.sub.user_id);
                    self.stored(plan, applied, reach).await;
                }
            }
            Err(err) => {
                tracing::warn!(%err, "scheduler: a batch could not be stored; storing its changes one by one");
                for plan in planned {
                    self.store_one(plan).await;
                }
            }
        }
    }

    async fn store_one(&self, plan: Plan<'_>) {
        match self.services.store.apply_run(&plan.change).await {
            Ok(applied) => self.stored(plan, applied, true).await,
            Err(err) => self.settle(plan.job, retry(err)).await,
        }
    }

    /// After a change was stored (or found stale): tells people (outside the app too when they
    /// may be `reachable` there), passes Cairn's events on.
    async fn stored(&self, plan: Plan<'_>, applied: bool, reachable: bool) {
        if !applied {
            return self
                .settle(plan.job, Outcome::Retry("The subscription changed meanwhile; trying again.".into()))
                .await;
        }
        let Plan { sub, steps, change, .. } = plan;
        if reachable {
            self.channels.deliver(&sub, &change.messages).await;
        }
        self.tell(&sub, &steps, &change.events).await;
        self.pass_on(&sub, &change.events).await;
    }

    /// A job that did not end in a stored change: closed, or retried with backoff (marked failed
    /// after the last attempt).
    async fn settle(&self, job: &JobRecord, outcome: Outcome) {
        let store = &self.services.store;
        let now = self.services.clock.now();
        match outcome {
            Outcome::Close { status, reason } => {
                if let Err(err) = store.close_job(self.owner, job.id, status, reason.as_deref(), now).await {
                    tracing::warn!(%err, job = %job.id, "scheduler: could not close a job");
                }
            }
            Outcome::Postpone(at) => {
                if let Err(err) = store.postpone_job(self.owner, job.id, at).await {
                    tracing::warn!(%err, job = %job.id, "scheduler: could not postpone a job");
                }
            }
            Outcome::Retry(error) => {
                let next = (job.attempts < MAX_ATTEMPTS).then(|| now + backoff(job.attempts));
                if next.is_none() {
                    tracing::warn!(job = %job.id, %error, "scheduler: a job failed for good");
                }
                if let Err(err) = store.retry_job(self.owner, job.id, next, &error).await {
                    tracing::warn!(%err, job = %job.id, "scheduler: could not record a failed attempt");
                }
            }
        }
    }

    /// What a job does to its subscription's run, not yet stored.
    async fn plan<'j>(&self, job: &'j JobRecord, sub: Option<SubscriptionRecord>) -> Result<Plan<'j>, Outcome> {
        let Some(sub) = sub else {
            return Err(Outcome::close("canceled", "The subscription is gone."));
        };
        match sub.status {
            SubscriptionStatus::Active => {}
            SubscriptionStatus::Paused => return Err(Outcome::close("held", "Paused.")),
            SubscriptionStatus::Completed | SubscriptionStatus::Canceled => {
                return Err(Outcome::close("canceled", "The subscription has ended."));
            }
        }
        // A job is for one visit of one step: if the run is elsewhere, the job is stale (another
        // worker finished it, or the subscriber moved on).
        let step_of_job = job.step_id.split('#').next().unwrap_or_default();
        let visit = sub.run.visits.get(step_of_job).copied().unwrap_or(0) as i32;
        if sub.run.step.as_deref() != Some(step_of_job) || visit != job.visit {
            return Err(Outcome::close("canceled", "The run had moved on."));
        }
        if job.kind == JobKind::AiTurn && sub.taken_over_by.is_some() {
            // A person speaks for the AI until they hand the conversation back.
            return Err(Outcome::close("held", "A person has taken the conversation over."));
        }
        let steps = self.version(sub.sequence_id, sub.version).await?;
        if job.kind == JobKind::Fire {
            self.still_inactive(&sub, &steps).await?;
        }
        let (input, usage) = match job.kind {
            JobKind::Fire => (Input::Fire, None),
            JobKind::Timeout => (Input::Timeout, None),
            JobKind::AiTurn => self.ai_turn(&sub, &steps).await?,
        };
        // Each model call counts once against the organization's AI tokens, even when retried.
        let key = format!("ai-turn:{}:{}", job.id, job.attempts);
        billing::record_ai_tokens(&self.services, key, sub.org_id, Some(sub.user_id), usage).await;
        let now = self.services.clock.now();
        let mut change = match engine::step(&sub, &steps, input, now) {
            Ok(change) => change,
            // The run has moved past what this job was for.
            Err(RunError::Unexpected) => return Err(Outcome::close("canceled", "The run had moved on.")),
            Err(err) => return Err(Outcome::Retry(err.to_string())),
        };
        // The AI's reply carries the tokens it cost (cost tracking, the AI token quota).
        if let Some(reply) = change.messages.first_mut().filter(|_| usage.is_some()) {
            reply.tokens = usage;
        }
        let late = job.kind == JobKind::Fire && engine::too_late(job.due_at, now, self.config.late_window);
        let is_message = steps.iter().any(|s| s.id == job.step_id && matches!(s.kind, StepKind::Message { .. }));
        if late && is_message {
            let prefix = engine::message_prefix(sub.id, &job.step_id, job.visit as u32);
            change.messages.retain(|m| !m.idempotency_key.starts_with(&prefix));
            let hours = (now - job.due_at).num_hours();
            let window = self.config.late_window.num_hours();
            change.events.push((
                "skipped",
                Some(job.step_id.clone()),
                Some(format!("{hours} h late; the window is {window} h")),
            ));
        }
        change.done_job = Some((job.id, self.owner));
        Ok(Plan { job, sub, steps, change })
    }

    /// An inactivity step fires only once the subscriber has not replied for its days: a reply
    /// since it was scheduled moves it to that many days after the reply.
    async fn still_inactive(&self, sub: &SubscriptionRecord, steps: &[Step]) -> Result<(), Outcome> {
        let step = sub.run.step.as_deref().and_then(|id| steps.iter().find(|s| s.id == id));
        let Some(Trigger::Inactive { days }) = step.map(|s| &s.trigger).filter(|_| sub.run.phase == Phase::Scheduled)
        else {
            return Ok(());
        };
        let Some(replied) = self.services.store.last_reply(sub.org_id, sub.user_id).await.map_err(retry)? else {
            return Ok(());
        };
        let due = replied + chrono::Duration::days(i64::from(*days));
        if due <= self.services.clock.now() {
            return Ok(());
        }
        Err(Outcome::Postpone(sub.preferences.deliverable(due)))
    }

    /// Escalations go to the sequence's creator, reminders to whoever decides, as notifications,
    /// once the change is stored. At most once: a crash right here loses the notice, not the step.
    async fn tell(&self, sub: &SubscriptionRecord, steps: &[Step], events: &[RunEvent]) {
        let notices: Vec<&RunEvent> =
            events.iter().filter(|(kind, ..)| matches!(*kind, "escalated" | "reminded")).collect();
        if notices.is_empty() {
            return;
        }
        let store = &self.services.store;
        let Ok(Some(sequence)) = store.sequence(sub.org_id, sub.sequence_id).await else { return };
        let subscriber = store.user_by_id(sub.user_id).await.ok().flatten().map(|u| u.display_name).unwrap_or_default();
        let now = self.services.clock.now();
        let notes: Vec<NotificationRecord> = notices
            .into_iter()
            .map(|(kind, step, detail)| {
                let step = step.as_deref().and_then(|id| steps.iter().find(|s| s.id == id));
                let decider = match step.map(|s| &s.kind) {
                    Some(StepKind::Checkpoint { decider, .. }) => Some(*decider),
                    _ => None,
                };
                let (to, link) = match (*kind, decider) {
                    ("reminded", Some(Decider::Subscriber)) => (sub.user_id, format!("/inbox/{}", sub.id)),
                    (_, Some(Decider::Coach)) => (sub.coach_id.unwrap_or(sequence.creator_id), "/decisions".to_owned()),
                    (_, Some(_)) => (sequence.creator_id, "/decisions".to_owned()),
                    _ => (sequence.creator_id, format!("/sequences/{}/people/{}", sequence.id, sub.id)),
                };
                let what = if *kind == "reminded" { "Reminder" } else { "Needs you" };
                NotificationRecord {
                    id: Uuid::now_v7(),
                    user_id: to,
                    org_id: Some(sub.org_id),
                    kind: "sequence".into(),
                    title: format!("{what}: {}", sequence.meta.title),
                    body: format!("{subscriber}: {}", detail.as_deref().unwrap_or_default()),
                    link,
                    created_at: now,
                    read_at: None,
                }
            })
            .collect();
        if let Err(err) = store.add_notifications(&notes).await {
            tracing::warn!(%err, subscription = %sub.id, "scheduler: could not notify");
        }
    }

    /// Steps completed and sequences finished here are Cairn events for the subscriber's other
    /// sequences. Whether an organization's sequences use such an event at all is remembered for
    /// 30 s, so a busy scheduler does not look for waiting subscriptions after every step.
    async fn pass_on(&self, sub: &SubscriptionRecord, events: &[RunEvent]) {
        for (kind, ..) in events {
            let Some((_, name)) = sequences::rules::OWN_EVENTS.iter().find(|(k, _)| k == kind) else { continue };
            let key = (sub.org_id, *name);
            let known = self.events_in_use.lock().unwrap_or_else(|e| e.into_inner()).get(&key).copied();
            let in_use = match known {
                Some((in_use, at)) if at.elapsed() < Duration::from_secs(30) => in_use,
                _ => {
                    let in_use = self.services.store.event_in_use(sub.org_id, name).await.unwrap_or(true);
                    self.events_in_use.lock().unwrap_or_else(|e| e.into_inner()).insert(key, (in_use, Instant::now()));
                    in_use
                }
            };
            if in_use && let Err(err) = sequences::rules::emit_for(&self.services, sub, kind).await {
                tracing::warn!(%err, subscription = %sub.id, "scheduler: could not pass an event on");
            }
        }
    }

    /// The model's reply in a conversation step (or the scripted one without a model).
    async fn ai_turn(
        &self,
        sub: &SubscriptionRecord,
        steps: &[Step],
    ) -> Result<(Input, Option<app::domain::model::TokenUsage>), Outcome> {
        let step = sub.run.step.as_deref().and_then(|id| steps.iter().find(|s| s.id == id));
        let Some(StepKind::Conversation { goal, persona, max_turns, .. }) = step.map(|s| &s.kind) else {
            return Err(Outcome::close("canceled", "Not in a conversation."));
        };
        let endpoint = self.model(sub).await.map_err(retry)?;
        // Over the month's AI tokens, the conversation goes on scripted (and the creator's
        // plan page says why).
        let allowed = billing::require_ai_tokens(&self.services, sub.user_id, sub.org_id).await.is_ok();
        let Some(endpoint) = endpoint.filter(|_| allowed) else {
            // Scripted mode: the creator's text only; the conversation ends after the answer.
            return Ok((Input::AiReply { text: "Thank you, noted.".into(), goal_met: true }, None));
        };
        let history = self.services.store.messages(sub.id).await.map_err(retry)?;
        let mut messages = vec![ChatMessage {
            role: "system".into(),
            content: format!(
                "{persona}\n\nGoal of this conversation: {goal}\nYou have at most {max_turns} replies. When the goal is \
                 met, end your reply with the line [GOAL MET]."
            ),
        }];
        let current = sub.run.step.clone();
        messages.extend(history.iter().filter(|m| m.step_id == current).map(|m| ChatMessage {
            role: if m.sender == Sender::Subscriber { "user" } else { "assistant" }.into(),
            content: m.body.clone(),
        }));
        let call = ChatCall {
            endpoint: &endpoint,
            messages: &messages,
            temperature: None,
            max_tokens: Some(800),
            public_only: false,
        };
        let (text, usage) = self.chat.complete(call).await.map_err(|e| Outcome::Retry(e.to_string()))?;
        let goal_met = text.contains("[GOAL MET]");
        Ok((Input::AiReply { text: text.replace("[GOAL MET]", "").trim().to_owned(), goal_met }, usage))
    }

    async fn model(&self, sub: &SubscriptionRecord) -> Result<Option<ModelEndpoint>, app::ports::StoreError> {
        if let Some(own) = self.services.store.org_model(sub.org_id).await? {
            return Ok(Some(own.endpoint));
        }
        Ok(self.services.settings.default_model.clone())
    }

    async fn version(&self, sequence: Uuid, version: i32) -> Result<Arc<Vec<Step>>, Outcome> {
        if let Some(steps) = self.versions.lock().unwrap_or_else(|e| e.into_inner()).get(&(sequence, version)) {
            return Ok(steps.clone());
        }
        let steps = self.services.store.sequence_version(sequence, version).await.map_err(retry)?;
        let steps = Arc::new(steps.ok_or_else(|| Outcome::close("failed", "The sequence version is missing."))?);
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).insert((sequence, version), steps.clone());
        Ok(steps)
    }
}

/// A job's change to its subscription's run, computed and not yet stored.
struct Plan<'j> {
    job: &'j JobRecord,
    sub: SubscriptionRecord,
    steps: Steps,
    change: RunChange,
}

enum Outcome {
    /// Try again later (counts as an attempt).
    Retry(String),
    /// Nothing more to do for this job.
    Close { status: &'static str, reason: Option<String> },
    /// The job's moment moved: due again then, as a fresh job.
    Postpone(DateTime<Utc>),
}

impl Outcome {
    fn close(status: &'static str, reason: &str) -> Self {
        Outcome::Close { status, reason: Some(reason.to_owned()) }
    }
}

fn retry(err: app::ports::StoreError) -> Outcome {
    Outcome::Retry(err.to_string())
}

/// 2^attempt seconds (capped at an hour), ±25% jitter so retries of many jobs spread out.
pub fn backoff(attempt: i32) -> chrono::Duration {
    let base = 2f64.powi(attempt.clamp(0, 12)).min(3600.0);
    let jitter = 0.75 + rand::random::<f64>() * 0.5;
    chrono::Duration::milliseconds((base * jitter * 1000.0) as i64)
}
