//! Comments on prompts and in-app notifications.

use super::sql::{Arg, Sql, bind_all};
use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, UserId};
use app::ports::{CommentRecord, CommentStore, NotificationRecord, NotificationStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

#[derive(FromRow)]
struct CommentRow {
    id: Uuid,
    org_id: Uuid,
    prompt_id: Uuid,
    parent_id: Option<Uuid>,
    author_id: Uuid,
    author_name: String,
    body: String,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<CommentRow> for CommentRecord {
    fn from(r: CommentRow) -> Self {
        CommentRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            prompt_id: r.prompt_id,
            parent_id: r.parent_id,
            author_id: UserId(r.author_id),
            author_name: r.author_name,
            body: r.body,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
        }
    }
}

const COMMENT_SELECT: &str = "SELECT c.id, c.org_id, c.prompt_id, c.parent_id, c.author_id, \
     COALESCE(c.imported_author, u.display_name) AS author_name, c.body, c.created_at, c.edited_at, c.deleted_at \
     FROM prompt_comments c JOIN users u ON u.id = c.author_id";

#[async_trait]
impl CommentStore for Db {
    async fn comments(&self, org: OrgId, prompt: Uuid) -> Result<Vec<CommentRecord>> {
        let sql = format!("{COMMENT_SELECT} WHERE c.org_id = $1 AND c.prompt_id = $2 ORDER BY c.created_at, c.id");
        let rows: Vec<CommentRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(prompt).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn comment(&self, org: OrgId, id: Uuid) -> Result<Option<CommentRecord>> {
        let sql = format!("{COMMENT_SELECT} WHERE c.org_id = $1 AND c.id = $2");
        let row: Option<CommentRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn add_comment(&self, c: &CommentRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO prompt_comments (id, org_id, prompt_id, parent_id, author_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(c.id).bind(c.org_id.0).bind(c.prompt_id).bind(c.parent_id).bind(c.author_id.0).bind(&c.body)
            .bind(c.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn edit_comment(&self, org: OrgId, id: Uuid, body: &str, at: DateTime<Utc>) -> Result<()> {
        let changed = on_pool!(self, pool => sqlx::query(
            "UPDATE prompt_comments SET body = $3, edited_at = $4 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(org.0).bind(id).bind(body).bind(at).execute(pool).await.store()?.rows_affected());
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn delete_comment(&self, org: OrgId, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        let changed = on_pool!(self, pool => sqlx::query(
            "UPDATE prompt_comments SET body = '', deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(org.0).bind(id).bind(at).execute(pool).await.store()?.rows_affected());
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

#[derive(FromRow)]
struct NotificationRow {
    id: Uuid,
    user_id: Uuid,
    org_id: Option<Uuid>,
    kind: String,
    title: String,
    body: String,
    link: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl NotificationStore for Db {
    async fn add_notifications(&self, notifications: &[NotificationRecord]) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            for n in notifications {
                sqlx::query(
                    "INSERT INTO notifications (id, user_id, org_id, kind, title, body, link, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(n.id).bind(n.user_id.0).bind(n.org_id.map(|o| o.0)).bind(&n.kind).bind(&n.title)
                    .bind(&n.body).bind(&n.link).bind(n.created_at)
                    .execute(&mut *tx).await.store()?;
            }
            tx.commit().await.store()
        })
    }

    async fn notifications(&self, user: UserId, limit: i64) -> Result<Vec<NotificationRecord>> {
        let rows: Vec<NotificationRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, user_id, org_id, kind, title, body, link, created_at, read_at FROM notifications \
             WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind(user.0).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|r| NotificationRecord {
                id: r.id,
                user_id: UserId(r.user_id),
                org_id: r.org_id.map(OrgId),
                kind: r.kind,
                title: r.title,
                body: r.body,
                link: r.link,
                created_at: r.created_at,
                read_at: r.read_at,
            })
            .collect())
    }

    async fn unread_notifications(&self, user: UserId) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
            .bind(user.0).fetch_one(pool).await.store()?);
        Ok(n)
    }

    async fn mark_notifications_read(&self, user: UserId, ids: Option<&[Uuid]>, at: DateTime<Utc>) -> Result<u64> {
        let mut sql = Sql::default();
        sql.push("UPDATE notifications SET read_at = ")
            .arg(Arg::Time(at))
            .push(" WHERE read_at IS NULL AND user_id = ")
            .arg(Arg::Uuid(user.0));
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(0);
            }
            sql.push(" AND id IN ").in_list(ids);
        }
        on_pool!(self, pool => bind_all!(sqlx::query(&sql.text), &sql.args).execute(pool).await.store().map(|r| r.rows_affected()))
    }
}
