//! The organization's AI model and the prompts' saved test cases.

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, UserId};
use app::ports::{ModelEndpoint, OrgModelRecord, TestCaseRecord, TestPanelStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

#[derive(FromRow)]
struct ModelRow {
    org_id: Uuid,
    base_url: String,
    model: String,
    api_key: Option<String>,
    updated_by: Uuid,
    updated_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct CaseRow {
    id: Uuid,
    org_id: Uuid,
    prompt_id: Uuid,
    name: String,
    values_json: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<CaseRow> for TestCaseRecord {
    fn from(r: CaseRow) -> Self {
        TestCaseRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            prompt_id: r.prompt_id,
            name: r.name,
            values: serde_json::from_str(&r.values_json).unwrap_or_default(),
            created_by: UserId(r.created_by),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const CASE_SELECT: &str =
    "SELECT id, org_id, prompt_id, name, values_json, created_by, created_at, updated_at FROM prompt_test_cases";

#[async_trait]
impl TestPanelStore for Db {
    async fn org_model(&self, org: OrgId) -> Result<Option<OrgModelRecord>> {
        let row: Option<ModelRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT org_id, base_url, model, api_key, updated_by, updated_at FROM org_models WHERE org_id = $1")
            .bind(org.0).fetch_optional(pool).await.store())?;
        Ok(row.map(|r| OrgModelRecord {
            org_id: OrgId(r.org_id),
            endpoint: ModelEndpoint { base_url: r.base_url, model: r.model, api_key: r.api_key },
            updated_by: UserId(r.updated_by),
            updated_at: r.updated_at,
        }))
    }

    async fn set_org_model(&self, m: &OrgModelRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO org_models (org_id, base_url, model, api_key, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id) DO UPDATE SET base_url = excluded.base_url, model = excluded.model, \
             api_key = excluded.api_key, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
            .bind(m.org_id.0).bind(&m.endpoint.base_url).bind(&m.endpoint.model).bind(&m.endpoint.api_key)
            .bind(m.updated_by.0).bind(m.updated_at)
            .execute(pool).await.map(|_| ()).store())?;
        Ok(())
    }

    async fn clear_org_model(&self, org: OrgId) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM org_models WHERE org_id = $1")
            .bind(org.0).execute(pool).await.map(|_| ()).store())?;
        Ok(())
    }

    async fn test_cases(&self, org: OrgId, prompt: Uuid) -> Result<Vec<TestCaseRecord>> {
        let rows: Vec<CaseRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{CASE_SELECT} WHERE org_id = $1 AND prompt_id = $2 ORDER BY name"))
            .bind(org.0).bind(prompt).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn save_test_case(&self, c: &TestCaseRecord) -> Result<TestCaseRecord> {
        let values = serde_json::to_string(&c.values).unwrap_or_else(|_| "{}".into());
        let row: CaseRow = on_pool!(self, pool => sqlx::query_as(
            "INSERT INTO prompt_test_cases (id, org_id, prompt_id, name, values_json, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (prompt_id, name) DO UPDATE SET values_json = excluded.values_json, updated_at = excluded.updated_at \
             RETURNING id, org_id, prompt_id, name, values_json, created_by, created_at, updated_at")
            .bind(c.id).bind(c.org_id.0).bind(c.prompt_id).bind(&c.name).bind(&values)
            .bind(c.created_by.0).bind(c.updated_at)
            .fetch_one(pool).await.store())?;
        Ok(row.into())
    }

    async fn delete_test_case(&self, org: OrgId, prompt: Uuid, id: Uuid) -> Result<()> {
        let done = on_pool!(self, pool => sqlx::query(
            "DELETE FROM prompt_test_cases WHERE org_id = $1 AND prompt_id = $2 AND id = $3")
            .bind(org.0).bind(prompt).bind(id).execute(pool).await.map(|r| r.rows_affected()).store())?;
        if done == 0 {
            return Err(app::ports::StoreError::NotFound);
        }
        Ok(())
    }
}
