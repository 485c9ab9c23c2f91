//! Journeys and clients' answers to their sections.

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::domain::journey::{Score, Section};
use app::domain::{OrgId, UserId};
use app::ports::{JourneyEntryRecord, JourneyRecord, JourneyStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(FromRow)]
struct JourneyRow {
    id: Uuid,
    org_id: Uuid,
    creator_id: Uuid,
    creator_name: String,
    title: String,
    description: String,
    published: bool,
    sections: String,
    revision: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<JourneyRow> for JourneyRecord {
    type Error = StoreError;

    fn try_from(r: JourneyRow) -> Result<Self> {
        let sections: Vec<Section> = serde_json::from_str(&r.sections)
            .map_err(|e| StoreError::Other(format!("journey {} has unreadable sections: {e}", r.id)))?;
        Ok(JourneyRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            creator_id: UserId(r.creator_id),
            creator_name: r.creator_name,
            title: r.title,
            description: r.description,
            published: r.published,
            sections,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
struct EntryRow {
    journey_id: Uuid,
    user_id: Uuid,
    section_id: String,
    answers: String,
    submitted_at: Option<DateTime<Utc>>,
    score: i64,
    max_score: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for JourneyEntryRecord {
    type Error = StoreError;

    fn try_from(r: EntryRow) -> Result<Self> {
        let answers: BTreeMap<String, String> = serde_json::from_str(&r.answers)
            .map_err(|e| StoreError::Other(format!("unreadable answers in journey {}: {e}", r.journey_id)))?;
        Ok(JourneyEntryRecord {
            journey_id: r.journey_id,
            user_id: UserId(r.user_id),
            section_id: r.section_id,
            answers,
            submitted_at: r.submitted_at,
            score: Score { points: r.score, max: r.max_score },
            updated_at: r.updated_at,
        })
    }
}

const JOURNEY_SELECT: &str = "SELECT j.id, j.org_id, j.creator_id, u.display_name AS creator_name, j.title, \
     j.description, j.published, j.sections, CAST(j.revision AS BIGINT) AS revision, j.created_at, j.updated_at \
     FROM journeys j JOIN users u ON u.id = j.creator_id";

const ENTRY_COLUMNS: &str = "e.journey_id, e.user_id, e.section_id, e.answers, e.submitted_at, \
     CAST(e.score AS BIGINT) AS score, CAST(e.max_score AS BIGINT) AS max_score, e.updated_at";

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(e.to_string()))
}

#[async_trait]
impl JourneyStore for Db {
    async fn create_journey(&self, j: &JourneyRecord) -> Result<()> {
        let sections = json(&j.sections)?;
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO journeys (id, org_id, creator_id, title, description, published, sections, revision, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(j.id).bind(j.org_id.0).bind(j.creator_id.0).bind(&j.title).bind(&j.description)
            .bind(j.published).bind(&sections).bind(j.revision).bind(j.created_at).bind(j.updated_at)
            .execute(pool).await.map(|_| ()).store())
    }

    async fn journeys(&self, org: OrgId) -> Result<Vec<JourneyRecord>> {
        let rows: Vec<JourneyRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{JOURNEY_SELECT} WHERE j.org_id = $1 ORDER BY j.updated_at DESC, j.id"))
            .bind(org.0).fetch_all(pool).await.store())?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn journey(&self, org: OrgId, id: Uuid) -> Result<Option<JourneyRecord>> {
        let row: Option<JourneyRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{JOURNEY_SELECT} WHERE j.org_id = $1 AND j.id = $2"))
            .bind(org.0).bind(id).fetch_optional(pool).await.store())?;
        row.map(TryInto::try_into).transpose()
    }

    async fn update_journey(&self, j: &JourneyRecord) -> Result<bool> {
        let sections = json(&j.sections)?;
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE journeys SET title = $3, description = $4, published = $5, sections = $6, revision = $7, \
             updated_at = $8 WHERE org_id = $1 AND id = $2 AND revision = $7 - 1")
            .bind(j.org_id.0).bind(j.id).bind(&j.title).bind(&j.description).bind(j.published).bind(&sections)
            .bind(j.revision).bind(j.updated_at)
            .execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn delete_journey(&self, org: OrgId, id: Uuid) -> Result<()> {
        let done = on_pool!(self, pool => sqlx::query("DELETE FROM journeys WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).execute(pool).await.map(|r| r.rows_affected()).store())?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn journey_entries(&self, journey: Uuid, user: UserId) -> Result<Vec<JourneyEntryRecord>> {
        let rows: Vec<EntryRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("SELECT {ENTRY_COLUMNS} FROM journey_entries e WHERE e.journey_id = $1 AND e.user_id = $2"))
            .bind(journey).bind(user.0).fetch_all(pool).await.store())?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn journey_progress(&self, org: OrgId, user: UserId) -> Result<Vec<(Uuid, i64)>> {
        on_pool!(self, pool => sqlx::query_as(
            "SELECT e.journey_id, CAST(COUNT(e.submitted_at) AS BIGINT) FROM journey_entries e \
             JOIN journeys j ON j.id = e.journey_id WHERE j.org_id = $1 AND e.user_id = $2 GROUP BY e.journey_id")
            .bind(org.0).bind(user.0).fetch_all(pool).await.store())
    }

    async fn journey_submissions(&self, journey: Uuid) -> Result<Vec<(JourneyEntryRecord, String)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            entry: EntryRow,
            display_name: String,
        }
        let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(
            &format!("SELECT {ENTRY_COLUMNS}, u.display_name FROM journey_entries e JOIN users u ON u.id = e.user_id \
                      WHERE e.journey_id = $1 AND e.submitted_at IS NOT NULL \
                      ORDER BY e.submitted_at DESC, u.display_name, e.section_id"))
            .bind(journey).fetch_all(pool).await.store())?;
        rows.into_iter().map(|r| Ok((r.entry.try_into()?, r.display_name))).collect()
    }

    async fn save_journey_entry(&self, e: &JourneyEntryRecord) -> Result<bool> {
        let answers = json(&e.answers)?;
        // A submitted section is final: the conditional update leaves it as it is.
        let done = on_pool!(self, pool => sqlx::query(
            "INSERT INTO journey_entries (journey_id, user_id, section_id, answers, submitted_at, score, max_score, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (journey_id, user_id, section_id) DO UPDATE SET answers = excluded.answers, \
             submitted_at = excluded.submitted_at, score = excluded.score, max_score = excluded.max_score, \
             updated_at = excluded.updated_at WHERE journey_entries.submitted_at IS NULL")
            .bind(e.journey_id).bind(e.user_id.0).bind(&e.section_id).bind(&answers).bind(e.submitted_at)
            .bind(e.score.points).bind(e.score.max).bind(e.updated_at)
            .execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }
}
