//! Sessions, one-time emailed tokens and failed sign-in attempts.

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, UserId};
use app::ports::{FailureCounts, SessionRecord, SessionStore, TokenPurpose};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    token_hash: String,
    user_id: Uuid,
    active_org_id: Option<Uuid>,
    mfa_pending: bool,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: String,
    user_agent: String,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id: r.id,
            token_hash: r.token_hash,
            user_id: UserId(r.user_id),
            active_org: r.active_org_id.map(OrgId),
            mfa_pending: r.mfa_pending,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

const SESSION_COLUMNS: &str =
    "id, token_hash, user_id, active_org_id, mfa_pending, created_at, last_seen_at, expires_at, ip, user_agent";

#[async_trait]
impl SessionStore for Db {
    async fn create_session(&self, s: &SessionRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO sessions (id, token_hash, user_id, active_org_id, mfa_pending, created_at, last_seen_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(s.id).bind(&s.token_hash).bind(s.user_id.0).bind(s.active_org.map(|o| o.0)).bind(s.mfa_pending)
            .bind(s.created_at).bind(s.last_seen_at).bind(s.expires_at).bind(&s.ip).bind(&s.user_agent)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
        let row: Option<SessionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(token_hash).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn set_session_org(&self, id: Uuid, org: Option<OrgId>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE sessions SET active_org_id = $2 WHERE id = $1")
            .bind(id).bind(org.map(|o| o.0)).execute(pool).await.store().map(|_| ()))
    }

    async fn complete_session_mfa(&self, id: Uuid) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE sessions SET mfa_pending = FALSE WHERE id = $1")
            .bind(id).execute(pool).await.store().map(|_| ()))
    }

    async fn delete_session(&self, user: UserId, id: Uuid) -> Result<bool> {
        on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id).bind(user.0).execute(pool).await.store().map(|r| r.rows_affected() == 1))
    }

    async fn delete_other_sessions(&self, user: UserId, keep: Option<Uuid>) -> Result<u64> {
        on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
            .bind(user.0).bind(keep).execute(pool).await.store().map(|r| r.rows_affected()))
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC");
        let rows: Vec<SessionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(user.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn insert_token(
        &self,
        token_hash: &str,
        user: UserId,
        purpose: TokenPurpose,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO auth_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash).bind(user.0).bind(purpose.as_str()).bind(expires_at).execute(pool).await.store().map(|_| ()))
    }

    async fn consume_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>> {
        // One statement: two concurrent uses of a token cannot both succeed.
        let row: Option<(Uuid,)> = on_pool!(self, pool => sqlx::query_as(
            "UPDATE auth_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id")
            .bind(token_hash).bind(purpose.as_str()).bind(now).fetch_optional(pool).await.store()?);
        Ok(row.map(|(id,)| UserId(id)))
    }

    async fn record_sign_in_failure(&self, email: &str, ip: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO sign_in_failures (email, ip, at) VALUES ($1, $2, $3)")
            .bind(email).bind(ip).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn sign_in_failures(&self, email: &str, ip: &str, since: DateTime<Utc>) -> Result<FailureCounts> {
        let count = "SELECT COUNT(*) FROM sign_in_failures WHERE email = $1 AND at >= $2";
        let oldest = "SELECT at FROM sign_in_failures WHERE email = $1 AND at >= $2 ORDER BY at LIMIT 1";
        let count_ip = count.replace("email = $1", "ip = $1");
        let oldest_ip = oldest.replace("email = $1", "ip = $1");
        on_pool!(self, pool => Ok(FailureCounts {
            by_email: sqlx::query_scalar(count).bind(email).bind(since).fetch_one(pool).await.store()?,
            oldest_by_email: sqlx::query_scalar(oldest).bind(email).bind(since).fetch_optional(pool).await.store()?,
            by_ip: sqlx::query_scalar(&count_ip).bind(ip).bind(since).fetch_one(pool).await.store()?,
            oldest_by_ip: sqlx::query_scalar(&oldest_ip).bind(ip).bind(since).fetch_optional(pool).await.store()?,
        }))
    }

    async fn insert_oauth_state(
        &self,
        state_hash: &str,
        provider: &str,
        verifier: &str,
        next: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO oauth_states (state_hash, provider, verifier, next_path, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(state_hash).bind(provider).bind(verifier).bind(next).bind(expires_at).execute(pool).await.store().map(|_| ()))
    }

    async fn take_oauth_state(&self, state_hash: &str, now: DateTime<Utc>) -> Result<Option<(String, String, String)>> {
        // Deleting in the same statement that reads makes a state usable once, whatever races.
        on_pool!(self, pool => sqlx::query_as("DELETE FROM oauth_states WHERE state_hash = $1 AND expires_at > $2 RETURNING provider, verifier, next_path")
            .bind(state_hash).bind(now).fetch_optional(pool).await.store())
    }
}
