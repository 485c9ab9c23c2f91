//! Journeys and clients' answers to their sections.

use super::billing::book;
use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::journey::{Score, Section};
use app::domain::{CapabilityRole, OrgId, UserId};
use app::ports::{
    ConciergeSessionRecord, JourneyEntryRecord, JourneyHelperRecord, JourneyRecord, JourneyStore, LedgerTx,
    ReviewRecord, StoreError,
};
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

#[derive(FromRow)]
struct ReviewRow {
    id: Uuid,
    journey_id: Uuid,
    client_id: Uuid,
    section_id: String,
    mentor_id: Uuid,
    status: String,
    feedback: Option<String>,
    rate: i64,
    mentor_amount: i64,
    requested_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    rating: Option<i64>,
    client_name: String,
    mentor_name: String,
}

impl From<ReviewRow> for ReviewRecord {
    fn from(r: ReviewRow) -> Self {
        ReviewRecord {
            id: r.id,
            journey_id: r.journey_id,
            client_id: UserId(r.client_id),
            section_id: r.section_id,
            mentor_id: UserId(r.mentor_id),
            status: r.status,
            feedback: r.feedback,
            rate: r.rate,
            mentor_amount: r.mentor_amount,
            requested_at: r.requested_at,
            completed_at: r.completed_at,
            rating: r.rating,
            client_name: r.client_name,
            mentor_name: r.mentor_name,
        }
    }
}

const REVIEW_SELECT: &str = "SELECT r.id, r.journey_id, r.client_id, r.section_id, r.mentor_id, r.status, r.feedback, \
     CAST(r.rate AS BIGINT) AS rate, CAST(r.mentor_amount AS BIGINT) AS mentor_amount, r.requested_at, r.completed_at, \
     CAST(r.rating AS BIGINT) AS rating, c.display_name AS client_name, m.display_name AS mentor_name \
     FROM mentor_reviews r JOIN users c ON c.id = r.client_id JOIN users m ON m.id = r.mentor_id";

#[derive(FromRow)]
struct SessionRow {
    id: Uuid,
    journey_id: Uuid,
    client_id: Uuid,
    concierge_id: Uuid,
    status: String,
    starts_at: DateTime<Utc>,
    topic: String,
    notes: Option<String>,
    rate: i64,
    concierge_amount: i64,
    requested_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    canceled_at: Option<DateTime<Utc>>,
    canceled_by: Option<Uuid>,
    rating: Option<i64>,
    client_name: String,
    concierge_name: String,
}

impl From<SessionRow> for ConciergeSessionRecord {
    fn from(r: SessionRow) -> Self {
        ConciergeSessionRecord {
            id: r.id,
            journey_id: r.journey_id,
            client_id: UserId(r.client_id),
            concierge_id: UserId(r.concierge_id),
            status: r.status,
            starts_at: r.starts_at,
            topic: r.topic,
            notes: r.notes,
            rate: r.rate,
            concierge_amount: r.concierge_amount,
            requested_at: r.requested_at,
            confirmed_at: r.confirmed_at,
            completed_at: r.completed_at,
            canceled_at: r.canceled_at,
            canceled_by: r.canceled_by.map(UserId),
            rating: r.rating,
            client_name: r.client_name,
            concierge_name: r.concierge_name,
        }
    }
}

const SESSION_SELECT: &str = "SELECT s.id, s.journey_id, s.client_id, s.concierge_id, s.status, s.starts_at, s.topic, \
     s.notes, CAST(s.rate AS BIGINT) AS rate, CAST(s.concierge_amount AS BIGINT) AS concierge_amount, s.requested_at, \
     s.confirmed_at, s.completed_at, s.canceled_at, s.canceled_by, CAST(s.rating AS BIGINT) AS rating, \
     c.display_name AS client_name, k.display_name AS concierge_name \
     FROM concierge_sessions s JOIN users c ON c.id = s.client_id JOIN users k ON k.id = s.concierge_id";

/// Marks a review or session completed with `update` (a conditional update binding id, text,
/// amount paid and time) and books what it pays, in one transaction; `false` when the update
/// changed nothing (completed already).
macro_rules! complete_and_pay {
    ($db:expr, $update:expr, ($id:expr, $text:expr, $paid:expr, $at:expr), $ledger:expr) => {
        on_pool!($db, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let done = sqlx::query($update)
                .bind($id).bind($text).bind($paid).bind($at)
                .execute(&mut *tx).await.store()?.rows_affected();
            if done != 1 {
                return Ok(false);
            }
            if let Some(ledger) = $ledger {
                book!(tx, ledger);
            }
            tx.commit().await.store()?;
            Ok(true)
        })
    };
}

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

    async fn journey_helpers(&self, journey: Uuid) -> Result<Vec<JourneyHelperRecord>> {
        let rows: Vec<(Uuid, String, String, i64, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT h.helper_id, h.role, u.display_name, CAST(h.rate AS BIGINT), h.added_at FROM journey_helpers h \
             JOIN users u ON u.id = h.helper_id WHERE h.journey_id = $1 ORDER BY h.role, u.display_name, h.helper_id")
            .bind(journey).fetch_all(pool).await.store())?;
        rows.into_iter()
            .map(|(helper, role, helper_name, rate, added_at)| {
                let role = CapabilityRole::parse(&role)
                    .map_err(|_| StoreError::Other(format!("journey {journey} has a helper role {role:?}")))?;
                Ok(JourneyHelperRecord {
                    journey_id: journey,
                    helper_id: UserId(helper),
                    role,
                    helper_name,
                    rate,
                    added_at,
                })
            })
            .collect()
    }

    async fn set_journey_helper(&self, h: &JourneyHelperRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO journey_helpers (journey_id, helper_id, role, rate, added_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (journey_id, role, helper_id) DO UPDATE SET rate = excluded.rate")
            .bind(h.journey_id).bind(h.helper_id.0).bind(h.role.as_str()).bind(h.rate).bind(h.added_at)
            .execute(pool).await.map(|_| ()).store())
    }

    async fn remove_journey_helper(&self, journey: Uuid, role: CapabilityRole, helper: UserId) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "DELETE FROM journey_helpers WHERE journey_id = $1 AND role = $2 AND helper_id = $3")
            .bind(journey).bind(role.as_str()).bind(helper.0).execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn org_members_with(&self, org: OrgId, role: CapabilityRole) -> Result<Vec<(UserId, String)>> {
        let rows: Vec<(Uuid, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN user_capabilities c ON c.user_id = u.id AND c.capability = $2 \
             WHERE m.org_id = $1 ORDER BY u.display_name, u.id")
            .bind(org.0).bind(role.as_str()).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(|(id, name)| (UserId(id), name)).collect())
    }

    async fn request_review(&self, r: &ReviewRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO mentor_reviews (id, journey_id, client_id, section_id, mentor_id, status, feedback, rate, \
             mentor_amount, requested_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(r.id).bind(r.journey_id).bind(r.client_id.0).bind(&r.section_id).bind(r.mentor_id.0)
            .bind(&r.status).bind(&r.feedback).bind(r.rate).bind(r.mentor_amount).bind(r.requested_at)
            .bind(r.completed_at)
            .execute(pool).await.map(|_| ()).store())
    }

    async fn review(&self, id: Uuid) -> Result<Option<ReviewRecord>> {
        let row: Option<ReviewRow> = on_pool!(self, pool => sqlx::query_as(&format!("{REVIEW_SELECT} WHERE r.id = $1"))
            .bind(id).fetch_optional(pool).await.store())?;
        Ok(row.map(Into::into))
    }

    async fn client_reviews(&self, journey: Uuid, client: UserId) -> Result<Vec<ReviewRecord>> {
        let rows: Vec<ReviewRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{REVIEW_SELECT} WHERE r.journey_id = $1 AND r.client_id = $2 ORDER BY r.requested_at"))
            .bind(journey).bind(client.0).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn mentor_reviews(&self, org: OrgId, mentor: UserId) -> Result<Vec<ReviewRecord>> {
        let rows: Vec<ReviewRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{REVIEW_SELECT} JOIN journeys j ON j.id = r.journey_id \
                      WHERE j.org_id = $1 AND r.mentor_id = $2 ORDER BY r.requested_at, r.id"))
            .bind(org.0).bind(mentor.0).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn reviewed_entries(&self, org: OrgId, mentor: UserId) -> Result<Vec<JourneyEntryRecord>> {
        let rows: Vec<EntryRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("SELECT {ENTRY_COLUMNS} FROM journey_entries e \
                      JOIN mentor_reviews r ON r.journey_id = e.journey_id AND r.client_id = e.user_id \
                      AND r.section_id = e.section_id \
                      JOIN journeys j ON j.id = r.journey_id WHERE j.org_id = $1 AND r.mentor_id = $2"))
            .bind(org.0).bind(mentor.0).fetch_all(pool).await.store())?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn complete_review(
        &self,
        id: Uuid,
        feedback: &str,
        mentor_amount: i64,
        at: DateTime<Utc>,
        ledger: Option<&LedgerTx>,
    ) -> Result<bool> {
        complete_and_pay!(
            self,
            "UPDATE mentor_reviews SET status = 'completed', feedback = $2, mentor_amount = $3, completed_at = $4 \
             WHERE id = $1 AND status = 'requested'",
            (id, feedback, mentor_amount, at),
            ledger
        )
    }

    async fn request_session(&self, r: &ConciergeSessionRecord, max_open: i64) -> Result<bool> {
        // Two requests of one client at once must not both pass the count: SQLite has one writer
        // at a time; on PostgreSQL the client's row is locked first, and the insert (a statement
        // of its own, read committed) then counts what the other committed.
        let lock = match self {
            Db::Postgres(_) => Some("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE"),
            Db::Sqlite(_) => None,
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            if let Some(lock) = lock {
                sqlx::query(lock).bind(r.client_id.0).execute(&mut *tx).await.store()?;
            }
            let done = sqlx::query(
                "INSERT INTO concierge_sessions (id, journey_id, client_id, concierge_id, status, starts_at, topic, \
                 notes, rate, concierge_amount, requested_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
                 WHERE (SELECT COUNT(*) FROM concierge_sessions WHERE journey_id = $2 AND client_id = $3 \
                        AND status IN ('requested', 'confirmed')) < $12")
                .bind(r.id).bind(r.journey_id).bind(r.client_id.0).bind(r.concierge_id.0).bind(&r.status)
                .bind(r.starts_at).bind(&r.topic).bind(&r.notes).bind(r.rate).bind(r.concierge_amount)
                .bind(r.requested_at).bind(max_open)
                .execute(&mut *tx).await.store()?.rows_affected();
            tx.commit().await.store()?;
            Ok(done == 1)
        })
    }

    async fn concierge_session(&self, id: Uuid) -> Result<Option<ConciergeSessionRecord>> {
        let row: Option<SessionRow> = on_pool!(self, pool => sqlx::query_as(&format!("{SESSION_SELECT} WHERE s.id = $1"))
            .bind(id).fetch_optional(pool).await.store())?;
        Ok(row.map(Into::into))
    }

    async fn client_sessions(&self, journey: Uuid, client: UserId) -> Result<Vec<ConciergeSessionRecord>> {
        let rows: Vec<SessionRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{SESSION_SELECT} WHERE s.journey_id = $1 AND s.client_id = $2 ORDER BY s.starts_at, s.id"))
            .bind(journey).bind(client.0).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn concierge_sessions(&self, org: OrgId, concierge: UserId) -> Result<Vec<ConciergeSessionRecord>> {
        let rows: Vec<SessionRow> = on_pool!(self, pool => sqlx::query_as(
            &format!("{SESSION_SELECT} JOIN journeys j ON j.id = s.journey_id \
                      WHERE j.org_id = $1 AND s.concierge_id = $2 ORDER BY s.starts_at, s.id"))
            .bind(org.0).bind(concierge.0).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn confirm_session(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE concierge_sessions SET status = 'confirmed', confirmed_at = $2 WHERE id = $1 AND status = 'requested'")
            .bind(id).bind(at).execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn rate_review(&self, id: Uuid, client: UserId, stars: i64) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE mentor_reviews SET rating = $3 \
             WHERE id = $1 AND client_id = $2 AND status = 'completed' AND rating IS NULL")
            .bind(id).bind(client.0).bind(stars).execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn rate_session(&self, id: Uuid, client: UserId, stars: i64) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE concierge_sessions SET rating = $3 \
             WHERE id = $1 AND client_id = $2 AND status = 'completed' AND rating IS NULL")
            .bind(id).bind(client.0).bind(stars).execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn helper_ratings(&self, org: OrgId, role: CapabilityRole) -> Result<Vec<(UserId, i64, i64)>> {
        let (table, helper) = match role {
            CapabilityRole::Mentor => ("mentor_reviews", "mentor_id"),
            CapabilityRole::Concierge => ("concierge_sessions", "concierge_id"),
            _ => return Ok(Vec::new()),
        };
        let rows: Vec<(Uuid, i64, i64)> = on_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT h.{helper}, CAST(SUM(h.rating) AS BIGINT), CAST(COUNT(h.rating) AS BIGINT) FROM {table} h \
             JOIN journeys j ON j.id = h.journey_id WHERE j.org_id = $1 AND h.rating IS NOT NULL GROUP BY h.{helper}"))
            .bind(org.0).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(|(helper, sum, count)| (UserId(helper), sum, count)).collect())
    }

    async fn move_session(&self, id: Uuid, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE concierge_sessions SET starts_at = $2, status = 'requested', confirmed_at = NULL \
             WHERE id = $1 AND status IN ('requested', 'confirmed') AND starts_at > $3")
            .bind(id).bind(starts_at).bind(now).execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn cancel_session(&self, id: Uuid, by: UserId, at: DateTime<Utc>) -> Result<bool> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE concierge_sessions SET status = 'canceled', canceled_at = $2, canceled_by = $3 \
             WHERE id = $1 AND status IN ('requested', 'confirmed')")
            .bind(id).bind(at).bind(by.0).execute(pool).await.map(|r| r.rows_affected()).store())?;
        Ok(done == 1)
    }

    async fn complete_session(
        &self,
        id: Uuid,
        notes: &str,
        concierge_amount: i64,
        at: DateTime<Utc>,
        ledger: Option<&LedgerTx>,
    ) -> Result<bool> {
        complete_and_pay!(
            self,
            "UPDATE concierge_sessions SET status = 'completed', notes = $2, concierge_amount = $3, completed_at = $4 \
             WHERE id = $1 AND status = 'confirmed'",
            (id, notes, concierge_amount, at),
            ledger
        )
    }
}
