//! Telling people about new messages outside the app, as they chose in Settings → Sequence
//! messages: an email for each (through the mailer: SMTP, or the outbox offline) with a link to
//! reply, or one daily digest, a Slack/Teams-compatible incoming webhook (`{"text": …}`), and
//! Web Push to the browsers where they turned it on (server/src/push.rs).
//! Sent by the scheduler once the messages are stored; a failed send is logged and not retried —
//! the message is in the inbox either way.

use app::domain::sequence::Sender;
use app::domain::webhook::is_obviously_private;
use app::ports::{MessageRecord, OutgoingMail, PushNotice, Services, SubscriptionRecord};
use std::collections::BTreeMap;
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
        let channels = store.message_channels(sub.user_id).await.unwrap_or_else(|err| {
            tracing::warn!(%err, "channels: could not read the preferences");
            None
        });
        let channels = channels.unwrap_or_default();
        let devices = store.push_devices(sub.user_id).await.unwrap_or_else(|err| {
            tracing::warn!(%err, "channels: could not read the push devices");
            vec![]
        });
        if !channels.email && channels.webhook_url.is_none() && devices.is_empty() {
            return;
        }
        let (Ok(Some(user)), Ok(Some(sequence))) =
            (store.user_by_id(sub.user_id).await, store.sequence(sub.org_id, sub.sequence_id).await)
        else {
            return;
        };
        let title = sequence.meta.title;
        let link = format!("{}/inbox/{}", self.services.settings.public_url, sub.id);
        let text = said.iter().map(|m| m.body.as_str()).collect::<Vec<_>>().join("\n\n");
        if channels.email && !channels.digest {
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
        if let Some(url) = &channels.webhook_url {
            self.post(url, &title, &text, &link).await;
        }
        if !devices.is_empty() {
            // A notification shows a few lines; the whole message is in the inbox.
            let body = match text.char_indices().nth(300) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            };
            self.services.push.send_to(&devices, &PushNotice { title, body, link }).await;
        }
    }

    /// Posts to a Slack/Teams incoming webhook.
    async fn post(&self, url: &str, title: &str, text: &str, link: &str) {
        if !self.services.settings.webhook_allow_private && is_obviously_private(url) {
            return;
        }
        let body = serde_json::json!({ "text": format!("*{title}*\n{text}\n<{link}|Reply in Cairn>") });
        match self.http.post(url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(status = %response.status(), "channels: the webhook refused a message"),
            Err(err) => tracing::warn!(%err, "channels: could not reach the webhook"),
        }
    }

    /// Sends the daily digests that are due: one email per person with the messages since their
    /// last one, grouped by sequence. Each is claimed first, so with several instances one sends it.
    pub async fn send_digests(&self) -> usize {
        let store = &self.services.store;
        let now = self.services.clock.now();
        let due = match store.due_digests(now - chrono::Duration::hours(24), 200).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "channels: could not look for due digests");
                return 0;
            }
        };
        let mut sent = 0;
        for digest in due {
            if !matches!(store.claim_digest(&digest, now).await, Ok(true)) {
                continue;
            }
            // The first digest includes what came the moment it was turned on.
            let since = match digest.last_sent {
                Some(last) => last,
                None => digest.since - chrono::Duration::milliseconds(1),
            };
            let messages = store.messages_since(digest.user, since, 200).await.unwrap_or_default();
            let Ok(Some(user)) = store.user_by_id(digest.user).await else { continue };
            if messages.is_empty() {
                continue;
            }
            let mut by_conversation: BTreeMap<(String, uuid::Uuid), Vec<String>> = BTreeMap::new();
            for (sub, title, body) in messages {
                by_conversation.entry((title, sub)).or_default().push(body);
            }
            let base = &self.services.settings.public_url;
            let body = by_conversation
                .into_iter()
                .map(|((title, sub), bodies)| {
                    format!("{title}\n\n{}\n\nReply in Cairn: {base}/inbox/{sub}", bodies.join("\n\n"))
                })
                .collect::<Vec<_>>()
                .join("\n\n---\n\n");
            let mail = OutgoingMail {
                to: user.email,
                subject: "Your Cairn digest".into(),
                body: format!(
                    "{body}\n\nYou get one digest a day because you asked for it in Settings → Sequence messages."
                ),
            };
            match self.services.mailer.send(mail).await {
                Ok(()) => sent += 1,
                Err(err) => tracing::warn!(%err, "channels: could not send a digest"),
            }
        }
        sent
    }
}
