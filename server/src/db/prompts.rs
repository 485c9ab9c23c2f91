//! Prompts of an organization (the first slice of the prompt library).

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, UserId};
use app::ports::{PromptRecord, PromptStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

type PromptRow = (Uuid, Uuid, Uuid, String, String, String, DateTime<Utc>);

const PROMPT_SELECT: &str = "SELECT p.id, p.org_id, p.author_id, u.display_name, p.title, p.body, p.updated_at \
     FROM prompts p JOIN users u ON u.id = p.author_id WHERE p.org_id = $1";

fn record((id, org, author, author_name, title, body, updated_at): PromptRow) -> PromptRecord {
    PromptRecord { id, org_id: OrgId(org), author_id: UserId(author), author_name, title, body, updated_at }
}

#[async_trait]
impl PromptStore for Db {
    async fn prompts(&self, org: OrgId) -> Result<Vec<PromptRecord>> {
        let sql = format!("{PROMPT_SELECT} ORDER BY p.updated_at DESC LIMIT 200");
        let rows: Vec<PromptRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(record).collect())
    }

    async fn prompt(&self, org: OrgId, id: Uuid) -> Result<Option<PromptRecord>> {
        let sql = format!("{PROMPT_SELECT} AND p.id = $2");
        let row: Option<PromptRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(record))
    }

    async fn create_prompt(
        &self,
        org: OrgId,
        id: Uuid,
        author: UserId,
        title: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO prompts (id, org_id, author_id, title, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(id).bind(org.0).bind(author.0).bind(title).bind(body).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn update_prompt(&self, org: OrgId, id: Uuid, title: &str, body: &str, at: DateTime<Utc>) -> Result<()> {
        let updated = on_pool!(self, pool => sqlx::query("UPDATE prompts SET title = $3, body = $4, updated_at = $5 WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).bind(title).bind(body).bind(at).execute(pool).await.store()?.rows_affected());
        if updated == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn delete_prompt(&self, org: OrgId, id: Uuid) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM prompts WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).execute(pool).await.store().map(|_| ()))
    }
}
