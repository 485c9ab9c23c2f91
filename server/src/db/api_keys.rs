//! Organization API keys and their request counts.

use super::orgs::org_role;
use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::OrgKind;
use app::domain::billing::Metric;
use app::domain::{OrgId, UserId};
use app::ports::{ApiKeyAccess, ApiKeyRecord, ApiKeyStore, BillingStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

#[derive(FromRow)]
struct KeyRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    prefix: String,
    key_hash: String,
    can_write: bool,
    rate_limit: i64,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for ApiKeyRecord {
    fn from(r: KeyRow) -> Self {
        ApiKeyRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            name: r.name,
            prefix: r.prefix,
            key_hash: r.key_hash,
            can_write: r.can_write,
            rate_limit: r.rate_limit,
            created_by: UserId(r.created_by),
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

const KEY_SELECT: &str = "SELECT id, org_id, name, prefix, key_hash, can_write, CAST(rate_limit AS BIGINT) AS rate_limit, \
     created_by, created_at, expires_at, last_used_at, revoked_at FROM api_keys";

#[async_trait]
impl ApiKeyStore for Db {
    async fn create_api_key(&self, k: &ApiKeyRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, can_write, rate_limit, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(k.id).bind(k.org_id.0).bind(&k.name).bind(&k.prefix).bind(&k.key_hash).bind(k.can_write)
            .bind(i32::try_from(k.rate_limit).unwrap_or(i32::MAX)).bind(k.created_by.0).bind(k.created_at).bind(k.expires_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn api_keys(&self, org: OrgId) -> Result<Vec<ApiKeyRecord>> {
        let sql = format!("{KEY_SELECT} WHERE org_id = $1 ORDER BY created_at DESC");
        let rows: Vec<KeyRow> = on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn api_key_access(&self, key_hash: &str) -> Result<Option<ApiKeyAccess>> {
        #[derive(FromRow)]
        struct AccessRow {
            #[sqlx(flatten)]
            key: KeyRow,
            org_kind: String,
            creator_role: Option<String>,
        }
        let row: Option<AccessRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT k.id, k.org_id, k.name, k.prefix, k.key_hash, k.can_write, CAST(k.rate_limit AS BIGINT) AS rate_limit, \
             k.created_by, k.created_at, k.expires_at, k.last_used_at, k.revoked_at, o.kind AS org_kind, m.role AS creator_role \
             FROM api_keys k JOIN organizations o ON o.id = k.org_id \
             LEFT JOIN memberships m ON m.org_id = k.org_id AND m.user_id = k.created_by \
             WHERE k.key_hash = $1")
            .bind(key_hash).fetch_optional(pool).await.store()?);
        Ok(row.map(|r| ApiKeyAccess {
            key: r.key.into(),
            org_kind: OrgKind::parse(&r.org_kind).unwrap_or(OrgKind::Team),
            creator_role: r.creator_role.as_deref().map(org_role),
        }))
    }

    async fn revoke_api_key(&self, org: OrgId, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).bind(at).execute(pool).await.store()?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn add_api_requests(
        &self,
        key: Uuid,
        window: DateTime<Utc>,
        requests: i64,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        // The same requests are a usage event of the key's organization (metric `api_requests`):
        // one per write (per key at most once a second, see `http::rate`), with its own idempotency key.
        let event = Uuid::now_v7();
        // Requests written after their hour (at shutdown, or a late first write) count in it.
        let event_at = at.min(window + chrono::Duration::hours(1) - chrono::Duration::seconds(1));
        let count = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let (count,): (i64,) = sqlx::query_as(
                "INSERT INTO api_key_usage (key_id, window_start, requests) VALUES ($1, $2, $3) \
                 ON CONFLICT (key_id, window_start) DO UPDATE SET requests = api_key_usage.requests + $3 \
                 RETURNING CAST(requests AS BIGINT)")
                .bind(key).bind(window).bind(i32::try_from(requests).unwrap_or(i32::MAX))
                .fetch_one(&mut *tx).await.store()?;
            sqlx::query(
                "INSERT INTO usage_events (id, idempotency_key, org_id, user_id, metric, quantity, at) \
                 SELECT $1, $2, org_id, created_by, $3, $4, $5 FROM api_keys WHERE id = $6 \
                 ON CONFLICT (idempotency_key) DO NOTHING")
                .bind(event).bind(format!("api_requests:{event}")).bind(Metric::ApiRequests.as_str())
                .bind(requests).bind(event_at).bind(key)
                .execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            count
        });
        // Last-used is advisory: at most one write a minute per key.
        on_pool!(self, pool => sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(key).bind(at).bind(at - chrono::Duration::minutes(1)).execute(pool).await.store().map(|_| ())?);
        Ok(count)
    }

    async fn org_api_requests(&self, org: OrgId, since: DateTime<Utc>) -> Result<i64> {
        Ok(self.usage_totals(org, Metric::ApiRequests, since).await?.sum)
    }
}
