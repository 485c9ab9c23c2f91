//! Telling people about new messages outside the app, as they chose in Settings → Sequence
//! messages: an email for each (through the mailer: SMTP, or the outbox offline) with a link to
//! reply, and a Slack/Teams-compatible incoming webhook (`{"text": …}`). Sent by the scheduler
//! once the messages are stored; a failed send is logged and not retried — the message is in the
//! inbox either way.

use app::domain::sequence::Sender;
use app::domain::webhook::is_obviously_private;
use app::ports::{MessageRecord, OutgoingMail, Services, SubscriptionRecord};
use std::time::Duration;

pub struct Channels {
    services: Services,
    http: reqwest::Client,
}

impl Channels {
    pub fn new(services: Services) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { services, http }
    }

    /// Tells the subscriber about `messages` (those from the sequence, the AI or their coach).
    pub async fn deliver(&self, sub: &SubscriptionRecord, messages: &[MessageRecord]) {
        let said: Vec<&MessageRecord> = messages.iter().filter(|m| m.sender != Sender::Subscriber).collect();
        if said.is_empty() {
            return;
        }
        let store = &self.services.store;
        let channels = match store.message_channels(sub.user_id).await {
            Ok(Some(channels)) if channels.email || channels.webhook_url.is_some() => channels,
            Ok(_) => return,
            Err(err) => return tracing::warn!(%err, "channels: could not read the preferences"),
        };
        let (Ok(Some(user)), Ok(Some(sequence))) =
            (store.user_by_id(sub.user_id).await, store.sequence(sub.org_id, sub.sequence_id).await)
        else {
            return;
        };
        let title = sequence.meta.title;
        let link = format!("{}/inbox/{}", self.services.settings.public_url, sub.id);
        let text = said.iter().map(|m| m.body.as_str()).collect::<Vec<_>>().join("\n\n");
        if channels.email {
            let mail = OutgoingMail {
                to: user.email.clone(),
                subject: format!("{title}: a new message"),
                body: format!(
                    "{text}\n\nReply in Cairn: {link}\n\nYou get these emails because you asked for them in Settings → \
                     Sequence messages; turn them off there."
                ),
            };
            if let Err(err) = self.services.mailer.send(mail).await {
                tracing::warn!(%err, subscription = %sub.id, "channels: could not send the email");
            }
        }
        if let Some(url) = channels.webhook_url {
            if !self.services.settings.webhook_allow_private && is_obviously_private(&url) {
                return;
            }
            let body = serde_json::json!({ "text": format!("*{title}*\n{text}\n<{link}|Reply in Cairn>") });
            match self.http.post(&url).json(&body).send().await {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => tracing::warn!(status = %response.status(), "channels: the webhook refused a message"),
                Err(err) => tracing::warn!(%err, "channels: could not reach the webhook"),
            }
        }
    }
}
