//! Turning the sequence engine's effects into one stored change, and the inputs every path shares:
//! the scheduler firing a step, a subscriber answering, a person deciding.

use crate::domain::UserId;
use crate::domain::sequence::{Effect, Graph, Input, Run, RunError, Step};
use crate::domain::sequence::{JobKind, Sender, SubscriptionStatus};
use crate::ports::{DecisionRecord, JobRecord, MessageRecord, RunChange, SubscriptionRecord};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The idempotency key of the `n`th message a change says for a step's visit. A change is made
/// from one revision of the subscription, so a retried job says the same keys, while each later
/// change in the same visit (a reminder, the AI's next turn) has keys of its own.
pub fn message_key(subscription: Uuid, step: &str, visit: u32, revision: i64, n: usize) -> String {
    format!("{}{revision}:{n}", message_prefix(subscription, step, visit))
}

/// What the keys of every message of a step's visit start with.
pub fn message_prefix(subscription: Uuid, step: &str, visit: u32) -> String {
    format!("{subscription}:{step}:{visit}:")
}

/// Applies `input` to the subscription's run and returns the change to store (not yet stored).
pub fn step(sub: &SubscriptionRecord, steps: &[Step], input: Input, now: DateTime<Utc>) -> Result<RunChange, RunError> {
    let mut run = sub.run.clone();
    let effects = Graph::new(steps).advance(&mut run, input, now)?;
    Ok(plan(sub, run, effects, now))
}

/// The change that records `run` and carries out `effects`.
pub fn plan(sub: &SubscriptionRecord, run: Run, effects: Vec<Effect>, now: DateTime<Utc>) -> RunChange {
    let mut change = RunChange {
        subscription: sub.id,
        revision: sub.revision,
        status: sub.status,
        run,
        messages: vec![],
        jobs: vec![],
        decisions: vec![],
        decided: None,
        events: vec![],
        done_job: None,
        at: now,
    };
    // The step the run was at is done when the count of done steps grew (for per-step analytics).
    if change.run.completed > sub.run.completed
        && let Some(done) = &sub.run.step
    {
        change.events.push(("step_completed", Some(done.clone()), None));
    }
    let mut said_per_visit = std::collections::BTreeMap::<(String, u32), usize>::new();
    for effect in effects {
        match effect {
            Effect::Say { step, visit, text, asks } => {
                let n = said_per_visit.entry((step.clone(), visit)).or_default();
                *n += 1;
                change.messages.push(MessageRecord {
                    id: Uuid::now_v7(),
                    subscription_id: sub.id,
                    sender: Sender::Step,
                    author_id: None,
                    body: text,
                    idempotency_key: message_key(sub.id, &step, visit, sub.revision, *n),
                    step_id: Some(step.clone()),
                    asks,
                    tokens: None,
                    created_at: now,
                });
                change.events.push(("step_fired", Some(step), None));
            }
            Effect::Schedule { step, visit, due } => {
                if let Some(at) = sub.preferences.resolve(&due) {
                    change.jobs.push(job(sub.id, JobKind::Fire, &step, visit, at));
                }
            }
            Effect::Deadline { step, visit, at, round } => {
                // A visit's later timeouts are jobs of their own (`step#2`).
                let id = if round > 1 { format!("{step}#{round}") } else { step };
                change.jobs.push(job(sub.id, JobKind::Timeout, &id, visit, at));
            }
            Effect::Remind { step, text } => change.events.push(("reminded", Some(step), Some(text))),
            Effect::AiTurn { step, visit } => {
                // Turns are counted: each reply gets its own job.
                let turn = change.run.turns;
                change.jobs.push(job(sub.id, JobKind::AiTurn, &format!("{step}#{turn}"), visit, now));
            }
            Effect::Decide { step, visit, decider, question, options, deadline } => {
                change.decisions.push(DecisionRecord {
                    id: Uuid::now_v7(),
                    subscription_id: sub.id,
                    org_id: sub.org_id,
                    step_id: step,
                    visit: visit as i32,
                    decider,
                    decider_id: match decider {
                        crate::domain::sequence::Decider::Subscriber => Some(sub.user_id),
                        _ => None,
                    },
                    question,
                    options,
                    deadline,
                    created_at: now,
                });
            }
            Effect::Escalate { step, reason } => change.events.push(("escalated", Some(step), Some(reason))),
            Effect::Finish { outcome } => {
                change.status = SubscriptionStatus::Completed;
                change.events.push(("completed", None, Some(outcome)));
            }
        }
    }
    change
}

fn job(subscription: Uuid, kind: JobKind, step: &str, visit: u32, due_at: DateTime<Utc>) -> JobRecord {
    JobRecord {
        id: Uuid::now_v7(),
        subscription_id: subscription,
        kind,
        step_id: step.to_owned(),
        visit: visit as i32,
        due_at,
        attempts: 0,
    }
}

/// A new subscription's first change: the run starts and its first step is scheduled.
pub fn start(sub: &SubscriptionRecord, steps: &[Step], now: DateTime<Utc>) -> Result<RunChange, RunError> {
    let mut run = Run { answers: sub.run.answers.clone(), ..Run::default() };
    let effects = Graph::new(steps).start(&mut run, now)?;
    let mut change = plan(sub, run, effects, now);
    change.events.insert(0, ("subscribed", None, None));
    Ok(change)
}

/// A message the subscriber wrote, stored with the change their answer makes. Conversations read
/// in id order, so `id` is taken before the answer's effects are planned.
pub fn reply_message(
    sub: &SubscriptionRecord,
    id: Uuid,
    author: UserId,
    text: &str,
    now: DateTime<Utc>,
) -> MessageRecord {
    MessageRecord {
        id,
        subscription_id: sub.id,
        sender: Sender::Subscriber,
        author_id: Some(author),
        body: text.trim().to_owned(),
        step_id: sub.run.step.clone(),
        asks: None,
        idempotency_key: format!("reply:{id}"),
        tokens: None,
        created_at: now,
    }
}

/// How late a step may fire before it is skipped instead of delivered.
pub fn too_late(due_at: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> bool {
    now - due_at > window
}
