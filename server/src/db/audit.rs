//! The append-only audit log: rows are inserted, never updated or deleted.

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, UserId};
use app::dto::AuditEntryView;
use app::ports::{ActivityRecord, AuditEntry, AuditStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

type AuditRow = (
    Uuid,
    Option<String>,
    String,
    String,
    Option<Json<serde_json::Value>>,
    Option<Json<serde_json::Value>>,
    String,
    String,
    DateTime<Utc>,
);

#[async_trait]
impl AuditStore for Db {
    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO audit_log (id, org_id, actor_id, action, target, before_state, after_state, ip, user_agent, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(Uuid::now_v7()).bind(e.org_id.map(|o| o.0)).bind(e.actor_id.map(|a| a.0)).bind(&e.action).bind(&e.target)
            .bind(e.before.clone().map(Json)).bind(e.after.clone().map(Json)).bind(&e.ip).bind(&e.user_agent).bind(e.at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn audit_log(&self, org: OrgId, before: Option<Uuid>, limit: i64) -> Result<Vec<AuditEntryView>> {
        // v7 ids sort by time, so the id is both the order and the cursor.
        let rows: Vec<AuditRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT a.id, u.email, a.action, a.target, a.before_state, a.after_state, a.ip, a.user_agent, a.at \
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
             WHERE a.org_id = $1 AND ($2 IS NULL OR a.id < $2) ORDER BY a.id DESC LIMIT $3")
            .bind(org.0).bind(before).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, actor, action, target, before, after, ip, user_agent, at)| AuditEntryView {
                id,
                actor,
                action,
                target,
                before: before.map(|j| j.0),
                after: after.map(|j| j.0),
                ip,
                user_agent,
                at,
            })
            .collect())
    }

    async fn activity(
        &self,
        org: OrgId,
        target: Option<&str>,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ActivityRecord>> {
        let rows: Vec<ActivityRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT a.id, a.actor_id, u.display_name, a.action, a.target, a.before_state, a.after_state, a.at \
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
             WHERE a.org_id = $1 AND ($2 IS NULL OR a.target = $2) AND ($3 IS NULL OR a.id < $3) \
             AND (a.action LIKE 'prompt.%' OR a.action LIKE 'comment.%' OR a.action = 'prompts.imported') \
             ORDER BY a.id DESC LIMIT $4")
            .bind(org.0).bind(target).bind(before).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, actor_id, actor_name, action, target, before, after, at)| ActivityRecord {
                id,
                actor_id: actor_id.map(UserId),
                actor_name,
                action,
                target,
                before: before.map(|j| j.0),
                after: after.map(|j| j.0),
                at,
            })
            .collect())
    }
}

type ActivityRow = (
    Uuid,
    Option<Uuid>,
    Option<String>,
    String,
    String,
    Option<Json<serde_json::Value>>,
    Option<Json<serde_json::Value>>,
    DateTime<Utc>,
);
