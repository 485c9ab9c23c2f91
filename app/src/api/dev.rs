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

/// Where the test clock stands after a move.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClockView {
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Moves the server's clock forward by `minutes`, or to the moment the caller's next sequence
/// step is due (`to_next_due`). Exists only when the server runs with a test clock
/// (`CAIRN_TEST_CLOCK=1`); otherwise NotFound. The scheduler is woken to deliver what became due.
#[server(endpoint = "advance_clock", input = server_fn::codec::Json)]
pub async fn advance_clock(minutes: Option<i64>, to_next_due: Option<bool>) -> Result<ClockView, AppError> {
    super::respond(async move {
        let services = super::services()?;
        if !services.settings.test_clock {
            return Err(AppError::NotFound);
        }
        let caller = super::caller()?;
        let now = services.clock.now();
        let by = if to_next_due == Some(true) {
            let due = services.store.next_due_for(caller.user.id).await?;
            let due =
                due.ok_or_else(|| AppError::validation("to_next_due", "Nothing of yours is waiting to be sent."))?;
            (due - now).max(chrono::Duration::zero())
        } else {
            match minutes {
                Some(m) if (1..=60 * 24 * 366).contains(&m) => chrono::Duration::minutes(m),
                _ => return Err(AppError::validation("minutes", "Move the clock by 1 minute to a year.")),
            }
        };
        if !services.clock.advance(by) {
            return Err(AppError::NotFound);
        }
        services.jobs.notify_waiters();
        Ok(ClockView { now: services.clock.now() })
    })
    .await
}
