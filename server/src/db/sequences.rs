//! Sequences, their versions, subscriptions, conversations, decisions and the scheduler's jobs.

use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::model::TokenUsage;
use app::domain::schedule::Preferences;
use app::domain::sequence::{
    Decider, Difficulty, JobKind, Run, Sender, SequenceMeta, Step, SubscriptionStatus, Visibility,
};
use app::domain::{OrgId, UserId};
use app::ports::{
    DecisionRecord, DueDigest, JobRecord, MessageChannels, MessageRecord, PushDevice, RunChange, SequenceRecord,
    SequenceStore, StoreError, SubscriptionRecord, VapidKeys,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned + Default>(raw: &str) -> T {
    serde_json::from_str(raw).unwrap_or_default()
}

#[derive(FromRow)]
struct SequenceRow {
    id: Uuid,
    org_id: Uuid,
    creator_id: Uuid,
    title: String,
    description: String,
    category: String,
    tags: String,
    difficulty: String,
    estimated_minutes: i32,
    visibility: String,
    cover_url: Option<String>,
    draft_steps: String,
    draft_changed: bool,
    published_version: Option<i32>,
    is_template: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SequenceRow> for SequenceRecord {
    fn from(r: SequenceRow) -> Self {
        SequenceRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            creator_id: UserId(r.creator_id),
            meta: SequenceMeta {
                title: r.title,
                description: r.description,
                category: r.category,
                tags: parse(&r.tags),
                difficulty: Difficulty::parse(&r.difficulty).unwrap_or(Difficulty::Beginner),
                estimated_minutes: r.estimated_minutes,
                visibility: Visibility::parse(&r.visibility).unwrap_or(Visibility::Private),
                cover_url: r.cover_url,
            },
            draft: parse(&r.draft_steps),
            draft_changed: r.draft_changed,
            published_version: r.published_version,
            is_template: r.is_template,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const SEQUENCE_SELECT: &str = "SELECT id, org_id, creator_id, title, description, category, tags, difficulty, \
     CAST(estimated_minutes AS INTEGER) AS estimated_minutes, visibility, cover_url, draft_steps, draft_changed, \
     CAST(published_version AS INTEGER) AS published_version, is_template, created_at, updated_at FROM sequences";

#[derive(FromRow)]
struct SubscriptionRow {
    id: Uuid,
    org_id: Uuid,
    sequence_id: Uuid,
    version: i32,
    user_id: Uuid,
    status: String,
    run: String,
    preferences: String,
    assigned_by: Option<Uuid>,
    mandatory: bool,
    due_on: Option<DateTime<Utc>>,
    taken_over_by: Option<Uuid>,
    coach_id: Option<Uuid>,
    revision: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<SubscriptionRow> for SubscriptionRecord {
    fn from(r: SubscriptionRow) -> Self {
        SubscriptionRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            sequence_id: r.sequence_id,
            version: r.version,
            user_id: UserId(r.user_id),
            status: SubscriptionStatus::parse(&r.status).unwrap_or(SubscriptionStatus::Canceled),
            run: parse::<Run>(&r.run),
            preferences: parse::<Preferences>(&r.preferences),
            assigned_by: r.assigned_by.map(UserId),
            mandatory: r.mandatory,
            due_on: r.due_on.map(|d| d.date_naive()),
            taken_over_by: r.taken_over_by.map(UserId),
            coach_id: r.coach_id.map(UserId),
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
        }
    }
}

const SUBSCRIPTION_SELECT: &str = "SELECT id, org_id, sequence_id, CAST(version AS INTEGER) AS version, user_id, status, run, \
     preferences, assigned_by, mandatory, due_on, taken_over_by, coach_id, CAST(revision AS BIGINT) AS revision, created_at, updated_at, completed_at \
     FROM subscriptions";

#[derive(FromRow)]
struct MessageRow {
    id: Uuid,
    subscription_id: Uuid,
    sender: String,
    author_id: Option<Uuid>,
    body: String,
    step_id: Option<String>,
    asks: Option<String>,
    idempotency_key: String,
    tokens_in: Option<i32>,
    tokens_out: Option<i32>,
    created_at: DateTime<Utc>,
}

impl From<MessageRow> for MessageRecord {
    fn from(r: MessageRow) -> Self {
        MessageRecord {
            id: r.id,
            subscription_id: r.subscription_id,
            sender: Sender::parse(&r.sender).unwrap_or(Sender::Step),
            author_id: r.author_id.map(UserId),
            body: r.body,
            step_id: r.step_id,
            asks: r.asks.and_then(|a| serde_json::from_str(&a).ok()),
            idempotency_key: r.idempotency_key,
            tokens: match (r.tokens_in, r.tokens_out) {
                (Some(prompt), Some(completion)) => {
                    Some(TokenUsage { prompt_tokens: i64::from(prompt), completion_tokens: i64::from(completion) })
                }
                _ => None,
            },
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
struct JobRow {
    id: Uuid,
    subscription_id: Uuid,
    kind: String,
    step_id: String,
    visit: i32,
    due_at: DateTime<Utc>,
    attempts: i32,
}

impl From<JobRow> for JobRecord {
    fn from(r: JobRow) -> Self {
        JobRecord {
            id: r.id,
            subscription_id: r.subscription_id,
            kind: JobKind::parse(&r.kind).unwrap_or(JobKind::Fire),
            step_id: r.step_id,
            visit: r.visit,
            due_at: r.due_at,
            attempts: r.attempts,
        }
    }
}

const JOB_COLUMNS: &str = "id, subscription_id, kind, step_id, CAST(visit AS INTEGER) AS visit, due_at, \
     CAST(attempts AS INTEGER) AS attempts";

#[derive(FromRow)]
struct DecisionRow {
    id: Uuid,
    subscription_id: Uuid,
    org_id: Uuid,
    step_id: String,
    visit: i32,
    decider: String,
    decider_id: Option<Uuid>,
    question: String,
    options: String,
    deadline: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<DecisionRow> for DecisionRecord {
    fn from(r: DecisionRow) -> Self {
        DecisionRecord {
            id: r.id,
            subscription_id: r.subscription_id,
            org_id: OrgId(r.org_id),
            step_id: r.step_id,
            visit: r.visit,
            decider: Decider::parse(&r.decider).unwrap_or(Decider::Creator),
            decider_id: r.decider_id.map(UserId),
            question: r.question,
            options: parse(&r.options),
            deadline: r.deadline,
            created_at: r.created_at,
        }
    }
}

/// `($first), ($first + width), …` for `rows` rows of `width` numbered parameters, each row
/// written by `row` from its first parameter's number.
fn values(rows: usize, width: usize, first: usize, row: impl Fn(usize) -> String) -> String {
    (0..rows).map(|i| format!("({})", row(first + i * width))).collect::<Vec<_>>().join(", ")
}

/// Rows per multi-row statement (SQLite allows 32,766 parameters in one).
const ROWS_PER_STATEMENT: usize = 500;

/// Writes run changes inside an open transaction `$tx`, evaluates to a `Vec<bool>`: for each
/// change, applied or stale (the subscription's revision moved on; nothing of it is written).
/// Each subscription is updated by itself (its revision is checked); the rest of all applied
/// changes is written with a few multi-row statements, so a batch of firings costs a few round
/// trips more than one firing.
macro_rules! write_changes {
    ($tx:ident, $changes:expr) => {{
        let changes: &[RunChange] = $changes;
        let mut applied = Vec::with_capacity(changes.len());
        for c in changes {
            let completed_at = (c.status == SubscriptionStatus::Completed).then_some(c.at);
            let updated = sqlx::query(
                "UPDATE subscriptions SET run = $3, status = $4, revision = revision + 1, updated_at = $5, \
                 completed_at = COALESCE(completed_at, $6) WHERE id = $1 AND revision = $2",
            )
            .bind(c.subscription)
            .bind(c.revision)
            .bind(json(&c.run))
            .bind(c.status.as_str())
            .bind(c.at)
            .bind(completed_at)
            .execute(&mut *$tx)
            .await
            .store()?
            .rows_affected();
            applied.push(updated > 0);
        }
        let written: Vec<&RunChange> = changes.iter().zip(&applied).filter(|(_, a)| **a).map(|(c, _)| c).collect();

        let messages: Vec<&MessageRecord> = written.iter().flat_map(|c| &c.messages).collect();
        for chunk in messages.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO messages (id, subscription_id, org_id, sender, author_id, body, step_id, asks, \
                 idempotency_key, tokens_in, tokens_out, created_at) VALUES {} ON CONFLICT (idempotency_key) DO NOTHING",
                values(chunk.len(), 11, 1, |n| format!(
                    "${n}, ${}, (SELECT org_id FROM subscriptions WHERE id = ${}), ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}",
                    n + 1, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9, n + 10
                ))
            );
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query
                    .bind(m.id)
                    .bind(m.subscription_id)
                    .bind(m.sender.as_str())
                    .bind(m.author_id.map(|u| u.0))
                    .bind(&m.body)
                    .bind(&m.step_id)
                    .bind(m.asks.as_ref().map(json))
                    .bind(&m.idempotency_key)
                    .bind(m.tokens.map(|t| t.prompt_tokens as i32))
                    .bind(m.tokens.map(|t| t.completion_tokens as i32))
                    .bind(m.created_at);
            }
            query.execute(&mut *$tx).await.store()?;
        }

        // The jobs these changes complete (held by their owner).
        let done: Vec<(Uuid, Uuid)> = written.iter().filter_map(|c| c.done_job).collect();
        for chunk in done.chunks(ROWS_PER_STATEMENT) {
            let conditions = (0..chunk.len())
                .map(|i| format!("(id = ${} AND lease_owner = ${})", 2 + i * 2, 3 + i * 2))
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!(
                "UPDATE sequence_jobs SET status = 'done', completed_at = $1, lease_owner = NULL, lease_until = NULL \
                 WHERE {conditions}"
            );
            // When the batch's first change was computed: they are moments apart.
            let at = written.iter().find(|c| c.done_job.is_some()).map_or_else(Utc::now, |c| c.at);
            let mut query = sqlx::query(&sql).bind(at);
            for (job, owner) in chunk {
                query = query.bind(*job).bind(*owner);
            }
            query.execute(&mut *$tx).await.store()?;
        }

        // Only the current step's visit can have work pending (its AI turns are `step#turn`;
        // compared as a prefix, not with LIKE, where a `_` in a step id would be a wildcard).
        for chunk in written.chunks(ROWS_PER_STATEMENT) {
            let conditions = (0..chunk.len())
                .map(|i| {
                    let n = 2 + i * 4;
                    format!(
                        "(subscription_id = ${n} AND NOT ((step_id = ${} OR substr(step_id, 1, length(${})) = ${}) AND visit = ${}))",
                        n + 1, n + 2, n + 2, n + 3
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            // The IN list leads both databases to the subscription index.
            let subs = (0..chunk.len()).map(|i| format!("${}", 2 + i * 4)).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "UPDATE sequence_jobs SET status = 'canceled', completed_at = $1 WHERE status = 'pending' \
                 AND subscription_id IN ({subs}) AND ({conditions})"
            );
            let mut query = sqlx::query(&sql).bind(chunk[0].at);
            for c in chunk {
                let current = c.run.step.clone().unwrap_or_default();
                let visit = c.run.visits.get(&current).copied().unwrap_or(0) as i32;
                let prefix = format!("{current}#");
                query = query.bind(c.subscription).bind(current).bind(prefix).bind(visit);
            }
            query.execute(&mut *$tx).await.store()?;
        }

        let jobs: Vec<(&JobRecord, DateTime<Utc>)> =
            written.iter().flat_map(|c| c.jobs.iter().map(move |j| (j, c.at))).collect();
        for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO sequence_jobs (id, subscription_id, kind, step_id, visit, due_at, status, created_at) \
                 VALUES {} ON CONFLICT (subscription_id, kind, step_id, visit) DO NOTHING",
                values(chunk.len(), 7, 1, |n| format!(
                    "${n}, ${}, ${}, ${}, ${}, ${}, 'pending', ${}",
                    n + 1, n + 2, n + 3, n + 4, n + 5, n + 6
                ))
            );
            let mut query = sqlx::query(&sql);
            for (j, at) in chunk {
                query = query
                    .bind(j.id)
                    .bind(j.subscription_id)
                    .bind(j.kind.as_str())
                    .bind(&j.step_id)
                    .bind(j.visit)
                    .bind(j.due_at)
                    .bind(*at);
            }
            query.execute(&mut *$tx).await.store()?;
        }

        for c in &written {
            if let Some((decision, note, by)) = &c.decided {
                // The run has left the checkpoint: its open decision is closed.
                sqlx::query(
                    "UPDATE decisions SET decision = COALESCE(decision, $2), note = COALESCE(note, $3), \
                     decided_by = COALESCE(decided_by, $4), decided_at = $5 WHERE subscription_id = $1 AND decided_at IS NULL",
                )
                .bind(c.subscription)
                .bind(decision)
                .bind(note)
                .bind(by.map(|u| u.0))
                .bind(c.at)
                .execute(&mut *$tx)
                .await
                .store()?;
            }
            for d in &c.decisions {
                sqlx::query(
                    "INSERT INTO decisions (id, subscription_id, org_id, step_id, visit, decider, decider_id, question, \
                     options, deadline, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (subscription_id, step_id, visit) DO NOTHING",
                )
                .bind(d.id)
                .bind(d.subscription_id)
                .bind(d.org_id.0)
                .bind(&d.step_id)
                .bind(d.visit)
                .bind(d.decider.as_str())
                .bind(d.decider_id.map(|u| u.0))
                .bind(&d.question)
                .bind(json(&d.options))
                .bind(d.deadline)
                .bind(d.created_at)
                .execute(&mut *$tx)
                .await
                .store()?;
            }
        }

        type Event<'a> = (Uuid, &'a str, &'a Option<String>, DateTime<Utc>, &'a Option<String>);
        let events: Vec<Event> = written
            .iter()
            .flat_map(|c| c.events.iter().map(move |(kind, step, detail)| (c.subscription, *kind, step, c.at, detail)))
            .collect();
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO sequence_events (id, sequence_id, subscription_id, kind, step_id, detail, at) VALUES {}",
                values(chunk.len(), 6, 1, |n| format!(
                    "${n}, (SELECT sequence_id FROM subscriptions WHERE id = ${}), ${}, ${}, ${}, ${}, ${}",
                    n + 1, n + 1, n + 2, n + 3, n + 4, n + 5
                ))
            );
            let mut query = sqlx::query(&sql);
            for (subscription, kind, step, at, detail) in chunk {
                query = query.bind(Uuid::now_v7()).bind(*subscription).bind(*kind).bind(*step).bind(*detail).bind(*at);
            }
            query.execute(&mut *$tx).await.store()?;
        }
        applied
    }};
}

#[async_trait]
impl SequenceStore for Db {
    async fn create_sequence(&self, s: &SequenceRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO sequences (id, org_id, creator_id, title, description, category, tags, difficulty, \
             estimated_minutes, visibility, cover_url, draft_steps, draft_changed, published_version, is_template, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
            .bind(s.id).bind(s.org_id.0).bind(s.creator_id.0).bind(&s.meta.title).bind(&s.meta.description)
            .bind(&s.meta.category).bind(json(&s.meta.tags)).bind(s.meta.difficulty.as_str()).bind(s.meta.estimated_minutes)
            .bind(s.meta.visibility.as_str()).bind(&s.meta.cover_url).bind(json(&s.draft)).bind(s.draft_changed)
            .bind(s.published_version).bind(s.is_template).bind(s.created_at).bind(s.updated_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn sequence(&self, org: OrgId, id: Uuid) -> Result<Option<SequenceRecord>> {
        let sql = format!("{SEQUENCE_SELECT} WHERE org_id = $1 AND id = $2");
        let row: Option<SequenceRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn sequences(&self, org: OrgId) -> Result<Vec<SequenceRecord>> {
        let sql = format!("{SEQUENCE_SELECT} WHERE org_id = $1 ORDER BY updated_at DESC, id");
        let rows: Vec<SequenceRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn save_draft(
        &self,
        org: OrgId,
        id: Uuid,
        meta: &SequenceMeta,
        draft: &[Step],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE sequences SET title = $3, description = $4, category = $5, tags = $6, difficulty = $7, \
             estimated_minutes = $8, visibility = $9, cover_url = $10, \
             draft_changed = (draft_changed OR draft_steps <> $11), draft_steps = $11, updated_at = $12 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).bind(&meta.title).bind(&meta.description).bind(&meta.category).bind(json(&meta.tags))
            .bind(meta.difficulty.as_str()).bind(meta.estimated_minutes).bind(meta.visibility.as_str()).bind(&meta.cover_url)
            .bind(json(&draft)).bind(at)
            .execute(pool).await.store()?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn publish_sequence(
        &self,
        org: OrgId,
        id: Uuid,
        resolved: Option<&[Step]>,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<i32> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let row: Option<(String, Option<i32>)> = sqlx::query_as(
                "SELECT draft_steps, CAST(published_version AS INTEGER) FROM sequences WHERE org_id = $1 AND id = $2")
                .bind(org.0).bind(id).fetch_optional(&mut *tx).await.store()?;
            let (draft, latest) = row.ok_or(StoreError::NotFound)?;
            let steps = resolved.map(|steps| json(&steps)).unwrap_or(draft);
            let version = latest.unwrap_or(0) + 1;
            sqlx::query("INSERT INTO sequence_versions (sequence_id, version, steps, published_by, published_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id).bind(version).bind(&steps).bind(by.0).bind(at).execute(&mut *tx).await.store()?;
            sqlx::query("UPDATE sequences SET published_version = $2, draft_changed = FALSE, updated_at = $3 WHERE id = $1")
                .bind(id).bind(version).bind(at).execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            Ok(version)
        })
    }

    async fn sequence_version(&self, sequence: Uuid, version: i32) -> Result<Option<Vec<Step>>> {
        let row: Option<(String,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT steps FROM sequence_versions WHERE sequence_id = $1 AND version = $2")
            .bind(sequence).bind(version).fetch_optional(pool).await.store()?);
        Ok(row.map(|(steps,)| parse(&steps)))
    }

    async fn create_subscription(&self, s: &SubscriptionRecord, first: &RunChange) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query(
                "INSERT INTO subscriptions (id, org_id, sequence_id, version, user_id, status, run, preferences, \
                 assigned_by, mandatory, due_on, revision, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                .bind(s.id).bind(s.org_id.0).bind(s.sequence_id).bind(s.version).bind(s.user_id.0)
                .bind(s.status.as_str()).bind(json(&s.run)).bind(json(&s.preferences)).bind(s.assigned_by.map(|u| u.0))
                .bind(s.mandatory).bind(s.due_on.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
                .bind(s.revision).bind(s.created_at).bind(s.updated_at)
                .execute(&mut *tx).await.store()?;
            let applied = write_changes!(tx, std::slice::from_ref(first));
            if !applied[0] {
                return Err(StoreError::Conflict("The subscription changed while it was created.".into()));
            }
            tx.commit().await.store()
        })
    }

    async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRecord>> {
        let sql = format!("{SUBSCRIPTION_SELECT} WHERE id = $1");
        let row: Option<SubscriptionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn subscriptions_of(&self, user: UserId) -> Result<Vec<SubscriptionRecord>> {
        let sql = format!("{SUBSCRIPTION_SELECT} WHERE user_id = $1 ORDER BY updated_at DESC, id");
        let rows: Vec<SubscriptionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(user.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn sequence_subscriptions(&self, sequence: Uuid) -> Result<Vec<SubscriptionRecord>> {
        let sql = format!("{SUBSCRIPTION_SELECT} WHERE sequence_id = $1 ORDER BY created_at, id");
        let rows: Vec<SubscriptionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(sequence).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn step_event_counts(&self, sequence: Uuid) -> Result<Vec<(String, String, i64)>> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT kind, step_id, COUNT(DISTINCT subscription_id) FROM sequence_events \
             WHERE sequence_id = $1 AND step_id IS NOT NULL AND kind IN ('step_fired', 'step_completed') \
             GROUP BY kind, step_id")
            .bind(sequence).fetch_all(pool).await.store()?);
        Ok(rows)
    }

    async fn assigned_subscriptions(&self, sequence: Uuid) -> Result<Vec<SubscriptionRecord>> {
        let sql =
            format!("{SUBSCRIPTION_SELECT} WHERE sequence_id = $1 AND assigned_by IS NOT NULL ORDER BY created_at, id");
        let rows: Vec<SubscriptionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(sequence).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn running_subscriptions(&self, sequence: Uuid) -> Result<Vec<SubscriptionRecord>> {
        let sql = format!(
            "{SUBSCRIPTION_SELECT} WHERE sequence_id = $1 AND status IN ('active', 'paused') ORDER BY created_at, id"
        );
        let rows: Vec<SubscriptionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(sequence).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn move_subscription(&self, id: Uuid, revision: i64, version: i32, at: DateTime<Utc>) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let moved = sqlx::query(
                "UPDATE subscriptions SET version = $3, revision = revision + 1, updated_at = $4 WHERE id = $1 AND revision = $2")
                .bind(id).bind(revision).bind(version).bind(at).execute(&mut *tx).await.store()?.rows_affected() == 1;
            if moved {
                sqlx::query(
                    "INSERT INTO sequence_events (id, sequence_id, subscription_id, kind, detail, at) \
                     SELECT $1, sequence_id, id, 'migrated', $3, $4 FROM subscriptions WHERE id = $2")
                    .bind(Uuid::now_v7()).bind(id).bind(format!("to version {version}")).bind(at)
                    .execute(&mut *tx).await.store()?;
                tx.commit().await.store()?;
            }
            Ok(moved)
        })
    }

    async fn apply_run(&self, change: &RunChange) -> Result<bool> {
        Ok(self.apply_runs(std::slice::from_ref(change)).await?[0])
    }

    async fn apply_runs(&self, changes: &[RunChange]) -> Result<Vec<bool>> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let applied = write_changes!(tx, changes);
            if applied.contains(&true) {
                tx.commit().await.store()?;
            }
            Ok(applied)
        })
    }

    async fn subscriptions_by_id(&self, ids: &[Uuid]) -> Result<Vec<SubscriptionRecord>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let list = (1..=chunk.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
            let sql = format!("{SUBSCRIPTION_SELECT} WHERE id IN ({list})");
            let rows: Vec<SubscriptionRow> = on_pool!(self, pool => {
                let query = chunk.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(*id));
                query.fetch_all(pool).await.store()?
            });
            found.extend(rows.into_iter().map(SubscriptionRecord::from));
        }
        Ok(found)
    }

    async fn messages(&self, subscription: Uuid) -> Result<Vec<MessageRecord>> {
        let rows: Vec<MessageRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, subscription_id, sender, author_id, body, step_id, asks, idempotency_key, \
             CAST(tokens_in AS INTEGER) AS tokens_in, CAST(tokens_out AS INTEGER) AS tokens_out, created_at \
             FROM messages WHERE subscription_id = $1 ORDER BY id")
            .bind(subscription).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn claim_jobs(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<JobRecord>> {
        let skip_locked = match self {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        // Jobs in due order; a lease that ran out (a crashed worker) is taken over.
        let sql = format!(
            "UPDATE sequence_jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id IN (\
             SELECT id FROM sequence_jobs WHERE status = 'pending' AND due_at <= $3 \
             AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at, id LIMIT $4{skip_locked}) \
             RETURNING {JOB_COLUMNS}"
        );
        let mut rows: Vec<JobRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(owner).bind(lease_until).bind(now).bind(limit).fetch_all(pool).await.store()?);
        rows.sort_by_key(|r| (r.due_at, r.id));
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self, pool => sqlx::query_scalar(
            "SELECT due_at FROM sequence_jobs WHERE status = 'pending' AND lease_owner IS NULL ORDER BY due_at LIMIT 1")
            .fetch_optional(pool).await.store())
    }

    async fn retry_job(&self, owner: Uuid, job: Uuid, next_at: Option<DateTime<Utc>>, error: &str) -> Result<()> {
        let error: String = error.chars().take(2000).collect();
        on_pool!(self, pool => match next_at {
            Some(at) => sqlx::query(
                "UPDATE sequence_jobs SET due_at = $3, last_error = $4, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2")
                .bind(job).bind(owner).bind(at).bind(&error).execute(pool).await.store().map(|_| ()),
            None => sqlx::query(
                "UPDATE sequence_jobs SET status = 'failed', last_error = $3, lease_owner = NULL, lease_until = NULL, \
                 completed_at = due_at WHERE id = $1 AND lease_owner = $2")
                .bind(job).bind(owner).bind(&error).execute(pool).await.store().map(|_| ()),
        })
    }

    async fn postpone_job(&self, owner: Uuid, job: Uuid, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE sequence_jobs SET due_at = $3, attempts = 0, last_error = NULL, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2")
            .bind(job).bind(owner).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn last_reply(&self, org: OrgId, user: UserId) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self, pool => sqlx::query_scalar(
            "SELECT m.created_at FROM messages m JOIN subscriptions s ON s.id = m.subscription_id \
             WHERE s.org_id = $1 AND s.user_id = $2 AND m.sender = 'subscriber' AND m.author_id = $2 \
             ORDER BY m.created_at DESC LIMIT 1")
            .bind(org.0).bind(user.0).fetch_optional(pool).await.store())
    }

    async fn close_job(
        &self,
        owner: Uuid,
        job: Uuid,
        status: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE sequence_jobs SET status = $3, last_error = $4, completed_at = $5, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2")
            .bind(job).bind(owner).bind(status).bind(reason).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn close_jobs(
        &self,
        owner: Uuid,
        jobs: &[Uuid],
        status: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
            let list = (0..chunk.len()).map(|i| format!("${}", 5 + i)).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "UPDATE sequence_jobs SET status = $2, last_error = $3, completed_at = $4, lease_owner = NULL, \
                 lease_until = NULL WHERE lease_owner = $1 AND id IN ({list})"
            );
            on_pool!(self, pool => {
                let query = sqlx::query(&sql).bind(owner).bind(status).bind(reason).bind(at);
                chunk.iter().fold(query, |q, id| q.bind(*id)).execute(pool).await.store()?;
            });
        }
        Ok(())
    }

    async fn open_decisions(&self, org: OrgId) -> Result<Vec<DecisionRecord>> {
        let rows: Vec<DecisionRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, subscription_id, org_id, step_id, CAST(visit AS INTEGER) AS visit, decider, decider_id, question, \
             options, deadline, created_at FROM decisions WHERE org_id = $1 AND decided_at IS NULL ORDER BY deadline, id")
            .bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn set_takeover(&self, id: Uuid, revision: i64, by: Option<UserId>, at: DateTime<Utc>) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let changed = sqlx::query(
                "UPDATE subscriptions SET taken_over_by = $3, revision = revision + 1, updated_at = $4 \
                 WHERE id = $1 AND revision = $2")
                .bind(id).bind(revision).bind(by.map(|u| u.0)).bind(at)
                .execute(&mut *tx).await.store()?.rows_affected() == 1;
            if !changed {
                return Ok(false);
            }
            if by.is_none() {
                // The AI's turns held while a person spoke are due again (unless the subscription is paused).
                sqlx::query(
                    "UPDATE sequence_jobs SET status = 'pending', completed_at = NULL, last_error = NULL, \
                     due_at = CASE WHEN due_at < $2 THEN $2 ELSE due_at END \
                     WHERE subscription_id = $1 AND status = 'held' AND kind = 'ai_turn' \
                     AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = $1 AND s.status = 'active')")
                    .bind(id).bind(at).execute(&mut *tx).await.store()?;
            }
            sqlx::query(
                "INSERT INTO sequence_events (id, sequence_id, subscription_id, kind, at) \
                 SELECT $1, sequence_id, id, $3, $4 FROM subscriptions WHERE id = $2")
                .bind(Uuid::now_v7()).bind(id).bind(if by.is_some() { "taken_over" } else { "handed_back" }).bind(at)
                .execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn set_coach(&self, id: Uuid, coach: Option<UserId>, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => {
            let n = sqlx::query("UPDATE subscriptions SET coach_id = $2, revision = revision + 1, updated_at = $3 WHERE id = $1")
                .bind(id).bind(coach.map(|u| u.0)).bind(at).execute(pool).await.store()?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
        });
        Ok(())
    }

    async fn unread_counts(&self, user: UserId) -> Result<Vec<(Uuid, i64)>> {
        let rows: Vec<(Uuid, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT m.subscription_id, COUNT(*) FROM messages m JOIN subscriptions s ON s.id = m.subscription_id \
             WHERE s.user_id = $1 AND s.status <> 'canceled' AND m.sender <> 'subscriber' AND m.read_at IS NULL \
             GROUP BY m.subscription_id")
            .bind(user.0).fetch_all(pool).await.store()?);
        Ok(rows)
    }

    async fn mark_read(&self, subscription: Uuid, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE messages SET read_at = $2 WHERE subscription_id = $1 AND read_at IS NULL AND sender <> 'subscriber'")
                .bind(subscription).bind(at).execute(pool).await.store()?;
        });
        Ok(())
    }

    async fn event_in_use(&self, org: OrgId, name: &str) -> Result<bool> {
        let pattern = format!("%\"{name}\"%");
        let found: Option<(i32,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT 1 FROM sequence_versions v JOIN sequences s ON s.id = v.sequence_id \
             WHERE s.org_id = $1 AND v.steps LIKE $2 LIMIT 1")
            .bind(org.0).bind(pattern).fetch_optional(pool).await.store()?);
        Ok(found.is_some())
    }

    async fn vapid_keys(&self) -> Result<Option<VapidKeys>> {
        let row: Option<(String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT private_key, public_key FROM vapid_keys WHERE id = 1").fetch_optional(pool).await.store()?);
        Ok(row.map(|(private_key, public_key)| VapidKeys { private_key, public_key }))
    }

    async fn keep_vapid_keys(&self, keys: &VapidKeys, at: DateTime<Utc>) -> Result<VapidKeys> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO vapid_keys (id, private_key, public_key, created_at) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING")
                .bind(&keys.private_key).bind(&keys.public_key).bind(at).execute(pool).await.store()?;
        });
        self.vapid_keys().await?.ok_or_else(|| StoreError::Other("the VAPID keys vanished".into()))
    }

    async fn reachable_users(&self, users: &[UserId]) -> Result<Vec<UserId>> {
        let mut found = Vec::new();
        for chunk in users.chunks(ROWS_PER_STATEMENT) {
            let list = (1..=chunk.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT user_id FROM message_channels WHERE (email OR webhook_url IS NOT NULL) AND user_id IN ({list}) \
                 UNION SELECT user_id FROM push_subscriptions WHERE user_id IN ({list})"
            );
            let ids: Vec<Uuid> = on_pool!(self, pool => {
                let query = chunk.iter().fold(sqlx::query_scalar(&sql), |q, user| q.bind(user.0));
                query.fetch_all(pool).await.store()?
            });
            found.extend(ids.into_iter().map(UserId));
        }
        Ok(found)
    }

    async fn push_devices(&self, user: UserId) -> Result<Vec<PushDevice>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at")
            .bind(user.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(|(endpoint, p256dh, auth)| PushDevice { endpoint, p256dh, auth }).collect())
    }

    async fn add_push_device(&self, user: UserId, device: &PushDevice, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $3, auth = $4, created_at = $5")
            .bind(&device.endpoint).bind(user.0).bind(&device.p256dh).bind(&device.auth).bind(at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn remove_push_device(&self, endpoint: &str, user: Option<UserId>) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2 IS NULL OR user_id = $2)")
            .bind(endpoint).bind(user.map(|u| u.0)).execute(pool).await.store()?.rows_affected());
        Ok(done > 0)
    }

    async fn message_channels(&self, user: UserId) -> Result<Option<MessageChannels>> {
        let row: Option<(bool, bool, Option<String>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT email, digest, webhook_url FROM message_channels WHERE user_id = $1")
            .bind(user.0).fetch_optional(pool).await.store()?);
        Ok(row.map(|(email, digest, webhook_url)| MessageChannels { email, digest, webhook_url }))
    }

    async fn set_message_channels(&self, user: UserId, channels: &MessageChannels, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO message_channels (user_id, email, digest, webhook_url, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id) DO UPDATE SET email = $2, digest = $3, webhook_url = $4, updated_at = $5")
                .bind(user.0).bind(channels.email).bind(channels.digest).bind(channels.webhook_url.as_deref()).bind(at)
                .execute(pool).await.store()?;
        });
        Ok(())
    }

    async fn due_digests(&self, before: DateTime<Utc>, limit: i64) -> Result<Vec<DueDigest>> {
        let rows: Vec<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, updated_at, last_digest_at FROM message_channels \
             WHERE email AND digest AND (last_digest_at IS NULL OR last_digest_at <= $1) LIMIT $2")
            .bind(before).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(user, updated, last)| DueDigest {
                user: UserId(user),
                since: last.unwrap_or(updated),
                last_sent: last,
            })
            .collect())
    }

    async fn claim_digest(&self, due: &DueDigest, at: DateTime<Utc>) -> Result<bool> {
        let n = on_pool!(self, pool => match due.last_sent {
            Some(last) => sqlx::query("UPDATE message_channels SET last_digest_at = $2 WHERE user_id = $1 AND last_digest_at = $3")
                .bind(due.user.0).bind(at).bind(last).execute(pool).await.store()?.rows_affected(),
            None => sqlx::query("UPDATE message_channels SET last_digest_at = $2 WHERE user_id = $1 AND last_digest_at IS NULL")
                .bind(due.user.0).bind(at).execute(pool).await.store()?.rows_affected(),
        });
        Ok(n == 1)
    }

    async fn messages_since(
        &self,
        user: UserId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Uuid, String, String)>> {
        let rows: Vec<(Uuid, String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT m.subscription_id, q.title, m.body FROM messages m \
             JOIN subscriptions s ON s.id = m.subscription_id JOIN sequences q ON q.id = s.sequence_id \
             WHERE s.user_id = $1 AND m.sender <> 'subscriber' AND m.created_at > $2 ORDER BY m.created_at, m.id LIMIT $3")
            .bind(user.0).bind(since).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows)
    }

    async fn next_due_for(&self, user: UserId) -> Result<Option<DateTime<Utc>>> {
        let due: Option<(DateTime<Utc>,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT j.due_at FROM sequence_jobs j JOIN subscriptions s ON s.id = j.subscription_id \
             WHERE s.user_id = $1 AND s.status = 'active' AND j.status = 'pending' ORDER BY j.due_at LIMIT 1")
            .bind(user.0).fetch_optional(pool).await.store()?);
        Ok(due.map(|(at,)| at))
    }

    async fn set_subscription_state(
        &self,
        id: Uuid,
        status: SubscriptionStatus,
        preferences: &Preferences,
        event: &'static str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let n = sqlx::query(
                "UPDATE subscriptions SET status = $2, preferences = $3, revision = revision + 1, updated_at = $4 \
                 WHERE id = $1 AND status IN ('active', 'paused')")
                .bind(id).bind(status.as_str()).bind(json(preferences)).bind(at)
                .execute(&mut *tx).await.store()?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            match status {
                SubscriptionStatus::Active => {
                    sqlx::query(
                        "UPDATE sequence_jobs SET status = 'pending', completed_at = NULL, last_error = NULL, \
                         due_at = CASE WHEN due_at < $2 THEN $2 ELSE due_at END \
                         WHERE subscription_id = $1 AND status = 'held'")
                        .bind(id).bind(at).execute(&mut *tx).await.store()?;
                }
                SubscriptionStatus::Paused => {
                    sqlx::query("UPDATE sequence_jobs SET status = 'held' WHERE subscription_id = $1 AND status = 'pending' AND lease_owner IS NULL")
                        .bind(id).execute(&mut *tx).await.store()?;
                }
                SubscriptionStatus::Canceled | SubscriptionStatus::Completed => {
                    sqlx::query("UPDATE sequence_jobs SET status = 'canceled', completed_at = $2 WHERE subscription_id = $1 AND status IN ('pending', 'held')")
                        .bind(id).bind(at).execute(&mut *tx).await.store()?;
                }
            }
            if let Some(until) = preferences.paused_until {
                sqlx::query("UPDATE sequence_jobs SET due_at = $2 WHERE subscription_id = $1 AND status = 'pending' AND due_at < $2")
                    .bind(id).bind(until).execute(&mut *tx).await.store()?;
            }
            sqlx::query(
                "INSERT INTO sequence_events (id, sequence_id, subscription_id, kind, at) \
                 SELECT $1, sequence_id, id, $3, $4 FROM subscriptions WHERE id = $2")
                .bind(Uuid::now_v7()).bind(id).bind(event).bind(at).execute(&mut *tx).await.store()?;
            tx.commit().await.store()
        })
    }

    async fn failed_jobs(&self, org: OrgId, limit: i64) -> Result<Vec<(JobRecord, String)>> {
        #[derive(FromRow)]
        struct FailedRow {
            #[sqlx(flatten)]
            job: JobRow,
            last_error: Option<String>,
        }
        let sql = "SELECT j.id, j.subscription_id, j.kind, j.step_id, CAST(j.visit AS INTEGER) AS visit, j.due_at, \
             CAST(j.attempts AS INTEGER) AS attempts, j.last_error FROM sequence_jobs j \
             JOIN subscriptions s ON s.id = j.subscription_id WHERE s.org_id = $1 AND j.status = 'failed' \
             ORDER BY j.completed_at DESC, j.id LIMIT $2";
        let rows: Vec<FailedRow> =
            on_pool!(self, pool => sqlx::query_as(sql).bind(org.0).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(|r| (r.job.into(), r.last_error.unwrap_or_default())).collect())
    }
}
