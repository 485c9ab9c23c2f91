//! Webhooks and their durable delivery queue.
//!
//! A delivery row is the whole state of one event's way to one webhook. Senders lease due rows
//! (`lease_owner`, `lease_until`); a lease that runs out (a crashed sender) makes the row due
//! again for anyone. On PostgreSQL the claim skips rows another instance is claiming right now.

use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::webhook::{events_from_string, events_to_string};
use app::domain::{OrgId, UserId};
use app::ports::{
    AttemptRecord, ClaimedDelivery, DeliveryRecord, DeliveryStatus, StoreError, WebhookRecord, WebhookStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

#[derive(FromRow)]
struct WebhookRow {
    id: Uuid,
    org_id: Uuid,
    url: String,
    description: String,
    secret: String,
    events: String,
    active: bool,
    created_by: Uuid,
    created_at: DateTime<Utc>,
}

impl From<WebhookRow> for WebhookRecord {
    fn from(r: WebhookRow) -> Self {
        WebhookRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            url: r.url,
            description: r.description,
            secret: r.secret,
            events: events_from_string(&r.events),
            active: r.active,
            created_by: UserId(r.created_by),
            created_at: r.created_at,
        }
    }
}

const WEBHOOK_SELECT: &str =
    "SELECT id, org_id, url, description, secret, events, active, created_by, created_at FROM webhooks";

#[derive(FromRow)]
struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    org_id: Uuid,
    event_id: Uuid,
    event_type: String,
    payload: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryRecord {
    fn from(r: DeliveryRow) -> Self {
        DeliveryRecord {
            id: r.id,
            webhook_id: r.webhook_id,
            org_id: OrgId(r.org_id),
            event_id: r.event_id,
            event_type: r.event_type,
            payload: r.payload,
            status: DeliveryStatus::parse(&r.status),
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            created_at: r.created_at,
            completed_at: r.completed_at,
        }
    }
}

const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.org_id, d.event_id, d.event_type, d.payload, d.status, \
     d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.completed_at";

#[derive(FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    url: String,
    secret: String,
}

#[derive(FromRow)]
struct AttemptRow {
    number: i32,
    at: DateTime<Utc>,
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
    response_excerpt: String,
}

macro_rules! insert_delivery {
    ($pool:expr, $d:expr) => {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, org_id, event_id, event_type, payload, status, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8)",
        )
        .bind($d.id)
        .bind($d.webhook_id)
        .bind($d.org_id.0)
        .bind($d.event_id)
        .bind(&$d.event_type)
        .bind(&$d.payload)
        .bind($d.next_attempt_at)
        .bind($d.created_at)
        .execute($pool)
        .await
        .store()
    };
}

#[async_trait]
impl WebhookStore for Db {
    async fn create_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let events = events_to_string(&w.events);
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO webhooks (id, org_id, url, description, secret, events, active, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(w.id).bind(w.org_id.0).bind(&w.url).bind(&w.description).bind(&w.secret).bind(&events)
            .bind(w.active).bind(w.created_by.0).bind(w.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn webhooks(&self, org: OrgId) -> Result<Vec<WebhookRecord>> {
        let sql = format!("{WEBHOOK_SELECT} WHERE org_id = $1 ORDER BY created_at, id");
        let rows: Vec<WebhookRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn webhook(&self, org: OrgId, id: Uuid) -> Result<Option<WebhookRecord>> {
        let sql = format!("{WEBHOOK_SELECT} WHERE org_id = $1 AND id = $2");
        let row: Option<WebhookRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn update_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let events = events_to_string(&w.events);
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE webhooks SET url = $3, description = $4, secret = $5, events = $6, active = $7 \
             WHERE org_id = $1 AND id = $2")
            .bind(w.org_id.0).bind(w.id).bind(&w.url).bind(&w.description).bind(&w.secret).bind(&events)
            .bind(w.active).execute(pool).await.store()?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn delete_webhook(&self, org: OrgId, id: Uuid) -> Result<()> {
        let n = on_pool!(self, pool => sqlx::query("DELETE FROM webhooks WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).execute(pool).await.store()?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn enqueue_deliveries(&self, deliveries: &[DeliveryRecord]) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            for d in deliveries {
                insert_delivery!(&mut *tx, d)?;
            }
            tx.commit().await.store()
        })
    }

    async fn claim_deliveries(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        let skip_locked = match self {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let claim = format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (\
             SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $3 \
             AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4{skip_locked})"
        );
        on_pool!(self, pool => sqlx::query(&claim).bind(owner).bind(lease_until).bind(now).bind(limit)
            .execute(pool).await.store().map(|_| ())?);
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, w.url, w.secret FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.lease_owner = $1 AND d.status = 'pending' ORDER BY d.next_attempt_at, d.id"
        );
        let rows: Vec<ClaimedRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(owner).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|r| ClaimedDelivery { delivery: r.delivery.into(), url: r.url, secret: r.secret })
            .collect())
    }

    async fn record_attempt(
        &self,
        owner: Uuid,
        delivery: Uuid,
        a: &AttemptRecord,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let completed_at = (status != DeliveryStatus::Pending).then_some(a.at);
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let held = sqlx::query(
                "UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = COALESCE($5, next_attempt_at), \
                 last_status_code = $6, last_error = $7, completed_at = $8, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2")
                .bind(delivery).bind(owner).bind(status.as_str()).bind(a.number).bind(next_attempt_at)
                .bind(a.status_code).bind(&a.error).bind(completed_at)
                .execute(&mut *tx).await.store()?.rows_affected() == 1;
            if !held {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO webhook_attempts (delivery_id, number, at, status_code, error, duration_ms, response_excerpt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(delivery).bind(a.number).bind(a.at).bind(a.status_code).bind(&a.error).bind(a.duration_ms)
                .bind(&a.response_excerpt)
                .execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
        });
        Ok(true)
    }

    async fn deliveries(&self, org: OrgId, webhook: Uuid, limit: i64) -> Result<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.org_id = $1 AND d.webhook_id = $2 \
             ORDER BY d.created_at DESC, d.id DESC LIMIT $3"
        );
        let rows: Vec<DeliveryRow> = on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(webhook).bind(limit)
            .fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn delivery(&self, org: OrgId, id: Uuid) -> Result<Option<DeliveryRecord>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.org_id = $1 AND d.id = $2");
        let row: Option<DeliveryRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn delivery_attempts(&self, org: OrgId, delivery: Uuid) -> Result<Vec<AttemptRecord>> {
        let rows: Vec<AttemptRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT a.number, a.at, a.status_code, a.error, a.duration_ms, a.response_excerpt FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.org_id = $1 AND a.delivery_id = $2 ORDER BY a.number")
            .bind(org.0).bind(delivery).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|r| AttemptRecord {
                number: r.number,
                at: r.at,
                status_code: r.status_code,
                error: r.error,
                duration_ms: r.duration_ms,
                response_excerpt: r.response_excerpt,
            })
            .collect())
    }
}
