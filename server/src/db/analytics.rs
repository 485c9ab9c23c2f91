//! Numbers for the analytics page: usage per day, top prompts, activity by member, categories.

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::domain::OrgId;
use app::ports::{AnalyticsStore, CategoryUsageRow, DayUsageRow, MemberActionRow, TopPromptRow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl AnalyticsStore for Db {
    async fn usage_by_day(&self, org: OrgId, from: &str, to: &str) -> Result<Vec<DayUsageRow>> {
        let rows: Vec<(String, i64, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT day, CAST(SUM(views) AS BIGINT), CAST(SUM(uses) AS BIGINT) FROM prompt_usage_daily \
             WHERE org_id = $1 AND day >= $2 AND day <= $3 GROUP BY day ORDER BY day")
            .bind(org.0).bind(from).bind(to).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(|(day, views, uses)| DayUsageRow { day, views, uses }).collect())
    }

    async fn top_prompts(
        &self,
        org: OrgId,
        from: &str,
        to: &str,
        by_views: bool,
        limit: i64,
    ) -> Result<Vec<TopPromptRow>> {
        let order = if by_views { "v DESC, n DESC" } else { "n DESC, v DESC" };
        let having = if by_views { "SUM(u.views) > 0" } else { "SUM(u.uses) > 0" };
        let sql = format!(
            "SELECT p.id, p.title, p.category, CAST(SUM(u.views) AS BIGINT) AS v, CAST(SUM(u.uses) AS BIGINT) AS n \
             FROM prompt_usage_daily u JOIN prompts p ON p.id = u.prompt_id \
             WHERE u.org_id = $1 AND u.day >= $2 AND u.day <= $3 \
             GROUP BY p.id, p.title, p.category HAVING {having} ORDER BY {order}, p.title LIMIT $4"
        );
        let rows: Vec<(Uuid, String, String, i64, i64)> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(org.0).bind(from).bind(to).bind(limit).fetch_all(pool).await.store())?;
        Ok(rows
            .into_iter()
            .map(|(id, title, category, views, uses)| TopPromptRow { id, title, category, views, uses })
            .collect())
    }

    async fn member_actions(&self, org: OrgId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<MemberActionRow>> {
        let rows: Vec<(Uuid, String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT u.id, u.display_name, a.action, COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_id \
             WHERE a.org_id = $1 AND a.at >= $2 AND a.at < $3 \
             GROUP BY u.id, u.display_name, a.action ORDER BY u.display_name, a.action")
            .bind(org.0).bind(from).bind(to).fetch_all(pool).await.store())?;
        Ok(rows.into_iter().map(|(user, name, action, count)| MemberActionRow { user, name, action, count }).collect())
    }

    async fn category_usage(&self, org: OrgId) -> Result<Vec<CategoryUsageRow>> {
        let rows: Vec<(String, i64, i64, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT category, COUNT(*), CAST(SUM(use_count) AS BIGINT), CAST(SUM(view_count) AS BIGINT) FROM prompts \
             WHERE org_id = $1 GROUP BY category ORDER BY COUNT(*) DESC, category")
            .bind(org.0).fetch_all(pool).await.store())?;
        Ok(rows
            .into_iter()
            .map(|(category, prompts, uses, views)| CategoryUsageRow { category, prompts, uses, views })
            .collect())
    }
}
