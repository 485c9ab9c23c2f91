//! Development helpers: the mailbox that shows outgoing mail when no SMTP server is configured.

use crate::dto::MailView;
use crate::error::AppError;
use leptos::server;

/// The most recent outgoing mail. Only in dev/demo mode (`CAIRN_DEV_MAILBOX`); otherwise NotFound.
#[server(endpoint = "dev_mailbox")]
pub async fn dev_mailbox() -> Result<Vec<MailView>, AppError> {
    super::respond(async move {
        let services = super::services()?;
        if !services.settings.dev_mode {
            return Err(AppError::NotFound);
        }
        Ok(services
            .store
            .recent_mail(50)
            .await?
            .into_iter()
            .map(|m| MailView { id: m.id, to: m.to, subject: m.subject, body: m.body, created_at: m.created_at })
            .collect())
    })
    .await
}
