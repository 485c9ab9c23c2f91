//! Mail delivery: SMTP through `lettre` when `SMTP_URL` is set, else the database outbox
//! (shown at /dev/mailbox in demo mode), so every flow works offline.

use app::ports::{Clock, MailStore, Mailer, OutgoingMail};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `smtp://host:port` (plain, for local relays), `smtp://…?tls=required` or `smtps://…`,
    /// with optional `user:password@`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("SMTP_URL: {e}"))?.build();
        let from = from.parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), String> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse().map_err(|e| format!("recipient: {e}"))?)
            .subject(mail.subject)
            .body(mail.body)
            .map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

pub struct OutboxMailer {
    pub store: Arc<dyn MailStore>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), String> {
        tracing::info!(to = %mail.to, subject = %mail.subject, "mail stored in the outbox (no SMTP_URL)");
        self.store.store_mail(&mail, self.clock.now()).await.map_err(|e| e.to_string())
    }
}
