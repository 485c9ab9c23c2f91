//! The mail outbox: where mail goes when no SMTP server is configured.

use super::{Db, OrStore, StoreResult as Result, on_pool};
use app::ports::{MailStore, OutgoingMail, StoredMail};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl MailStore for Db {
    async fn store_mail(&self, mail: &OutgoingMail, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO mail_outbox (id, recipient, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7()).bind(&mail.to).bind(&mail.subject).bind(&mail.body).bind(at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn recent_mail(&self, limit: i64) -> Result<Vec<StoredMail>> {
        let rows: Vec<(Uuid, String, String, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, recipient, subject, body, created_at FROM mail_outbox ORDER BY id DESC LIMIT $1")
            .bind(limit).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, to, subject, body, created_at)| StoredMail { id, to, subject, body, created_at })
            .collect())
    }
}
