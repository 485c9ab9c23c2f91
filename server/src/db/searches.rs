//! Recent and saved searches of the prompt list.

use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, UserId};
use app::ports::{SavedSearchRecord, SearchStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

#[derive(FromRow)]
struct SavedRow {
    id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    name: String,
    query: String,
    shared: bool,
    created_at: DateTime<Utc>,
}

impl From<SavedRow> for SavedSearchRecord {
    fn from(r: SavedRow) -> Self {
        SavedSearchRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            user_id: UserId(r.user_id),
            name: r.name,
            query: r.query,
            shared: r.shared,
            created_at: r.created_at,
        }
    }
}

const SAVED_SELECT: &str = "SELECT id, org_id, user_id, name, query, shared, created_at FROM saved_searches";

#[async_trait]
impl SearchStore for Db {
    async fn record_search(&self, org: OrgId, user: UserId, query: &str, at: DateTime<Utc>, keep: i64) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query(
                "INSERT INTO recent_searches (org_id, user_id, query, searched_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, user_id, query) DO UPDATE SET searched_at = excluded.searched_at")
                .bind(org.0).bind(user.0).bind(query).bind(at)
                .execute(&mut *tx).await.store()?;
            sqlx::query(
                "DELETE FROM recent_searches WHERE org_id = $1 AND user_id = $2 AND query NOT IN \
                 (SELECT query FROM recent_searches WHERE org_id = $1 AND user_id = $2 \
                  ORDER BY searched_at DESC, query LIMIT $3)")
                .bind(org.0).bind(user.0).bind(keep)
                .execute(&mut *tx).await.store()?;
            tx.commit().await.store()
        })
    }

    async fn recent_searches(&self, org: OrgId, user: UserId, limit: i64) -> Result<Vec<(String, DateTime<Utc>)>> {
        on_pool!(self, pool => sqlx::query_as(
            "SELECT query, searched_at FROM recent_searches WHERE org_id = $1 AND user_id = $2 \
             ORDER BY searched_at DESC, query LIMIT $3")
            .bind(org.0).bind(user.0).bind(limit).fetch_all(pool).await.store())
    }

    async fn saved_searches(&self, org: OrgId, user: UserId) -> Result<Vec<SavedSearchRecord>> {
        let rows: Vec<SavedRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{SAVED_SELECT} WHERE org_id = $1 AND (user_id = $2 OR shared) ORDER BY name, id"))
            .bind(org.0).bind(user.0).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn saved_search(&self, org: OrgId, id: Uuid) -> Result<Option<SavedSearchRecord>> {
        let row: Option<SavedRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{SAVED_SELECT} WHERE org_id = $1 AND id = $2"))
            .bind(org.0).bind(id).fetch_optional(pool).await.store())?;
        Ok(row.map(Into::into))
    }

    async fn save_search(&self, s: &SavedSearchRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO saved_searches (id, org_id, user_id, name, query, shared, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(s.id).bind(s.org_id.0).bind(s.user_id.0).bind(&s.name).bind(&s.query).bind(s.shared).bind(s.created_at)
            .execute(pool).await.map(|_| ()).store())
    }

    async fn delete_saved_search(&self, org: OrgId, id: Uuid) -> Result<()> {
        let done = on_pool!(self, pool => sqlx::query("DELETE FROM saved_searches WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).execute(pool).await.map(|r| r.rows_affected()).store())?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
