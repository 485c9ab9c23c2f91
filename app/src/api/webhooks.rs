//! Webhooks: Owners and Admins point the organization's prompt events at URLs. Each event is
//! queued as one durable delivery per listening webhook (`WebhookStore`), signed and sent by the
//! server's sender (`server::webhooks`) with retries, and logged attempt by attempt.
//!
//! Events are queued right after the change they describe is saved; queuing never fails the
//! change itself (a storage error while queuing is logged).

use crate::dto::{DeliveryDetail, DeliveryView, WebhookInput, WebhookSecret, WebhookView};
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;
use uuid::Uuid;

/// Signing secrets start with this, so a leaked one is easy to recognise.
pub const SECRET_PREFIX: &str = "whsec_";

#[cfg(feature = "ssr")]
pub mod rules {
    use super::SECRET_PREFIX;
    use crate::api::prompts::library::Principal;
    use crate::domain::webhook::{EventType, is_obviously_private, parse_events, parse_url};
    use crate::domain::{Action, OrgId, Resource};
    use crate::dto::{AttemptView, DeliveryDetail, DeliveryView, WebhookInput, WebhookSecret, WebhookView};
    use crate::error::AppError;
    use crate::ports::{DeliveryRecord, DeliveryStatus, PromptRecord, Services, WebhookRecord};
    use uuid::Uuid;

    /// Webhooks an organization may have.
    pub const MAX_WEBHOOKS: usize = 20;

    fn delivery_view(d: DeliveryRecord) -> DeliveryView {
        DeliveryView {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            created_at: d.created_at,
            completed_at: d.completed_at,
        }
    }

    async fn view(services: &Services, w: WebhookRecord) -> Result<WebhookView, AppError> {
        let last = services.store.deliveries(w.org_id, w.id, 1).await?.into_iter().next();
        Ok(WebhookView {
            id: w.id,
            url: w.url,
            description: w.description,
            events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
            active: w.active,
            created_at: w.created_at,
            last_delivery: last.map(|d| (d.status.as_str().to_owned(), d.completed_at.unwrap_or(d.created_at))),
        })
    }

    fn parse_input(services: &Services, input: &WebhookInput) -> Result<(String, String, Vec<EventType>), AppError> {
        let url = parse_url(&input.url).map_err(|e| AppError::validation("url", e.0))?;
        if !services.settings.webhook_allow_private && is_obviously_private(&url) {
            return Err(AppError::validation(
                "url",
                "That address is on a private network; webhooks go to public addresses only.",
            ));
        }
        let description = input.description.trim().to_owned();
        if description.chars().count() > 200 {
            return Err(AppError::validation("description", "Keep the description under 200 characters."));
        }
        let events = parse_events(&input.events).map_err(|e| AppError::validation("events", e.0))?;
        Ok((url, description, events))
    }

    fn new_secret() -> String {
        format!("{SECRET_PREFIX}{}", crate::security::random_token())
    }

    async fn owned(services: &Services, p: &Principal, id: Uuid) -> Result<WebhookRecord, AppError> {
        p.require(Action::ManageWebhooks, &Resource::Org(p.org))?;
        services.store.webhook(p.org, id).await?.ok_or(AppError::NotFound)
    }

    pub async fn list(services: &Services, p: &Principal) -> Result<Vec<WebhookView>, AppError> {
        p.require(Action::ManageWebhooks, &Resource::Org(p.org))?;
        let mut views = Vec::new();
        for w in services.store.webhooks(p.org).await? {
            views.push(view(services, w).await?);
        }
        Ok(views)
    }

    pub async fn create(services: &Services, p: &Principal, input: &WebhookInput) -> Result<WebhookSecret, AppError> {
        p.require(Action::ManageWebhooks, &Resource::Org(p.org))?;
        let (url, description, events) = parse_input(services, input)?;
        if services.store.webhooks(p.org).await?.len() >= MAX_WEBHOOKS {
            return Err(AppError::validation("url", format!("An organization has at most {MAX_WEBHOOKS} webhooks.")));
        }
        let webhook = WebhookRecord {
            id: Uuid::now_v7(),
            org_id: p.org,
            url,
            description,
            secret: new_secret(),
            events,
            active: true,
            created_by: p.user,
            created_at: services.clock.now(),
        };
        services.store.create_webhook(&webhook).await?;
        p.audit(
            services,
            "webhook.created",
            format!("webhook:{}", webhook.id),
            None,
            Some(serde_json::json!({ "url": webhook.url, "events": input.events })),
        )
        .await?;
        Ok(WebhookSecret { id: webhook.id, secret: webhook.secret })
    }

    pub async fn update(
        services: &Services,
        p: &Principal,
        id: Uuid,
        input: &WebhookInput,
    ) -> Result<WebhookView, AppError> {
        let before = owned(services, p, id).await?;
        let (url, description, events) = parse_input(services, input)?;
        let after = WebhookRecord { url, description, events, active: input.active, ..before.clone() };
        services.store.update_webhook(&after).await?;
        p.audit(
            services,
            "webhook.updated",
            format!("webhook:{id}"),
            Some(serde_json::json!({ "url": before.url, "active": before.active })),
            Some(serde_json::json!({ "url": after.url, "active": after.active, "events": input.events })),
        )
        .await?;
        view(services, after).await
    }

    pub async fn delete(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        let before = owned(services, p, id).await?;
        services.store.delete_webhook(p.org, id).await?;
        p.audit(
            services,
            "webhook.deleted",
            format!("webhook:{id}"),
            Some(serde_json::json!({ "url": before.url })),
            None,
        )
        .await
    }

    /// The current signing secret.
    pub async fn secret(services: &Services, p: &Principal, id: Uuid) -> Result<WebhookSecret, AppError> {
        let w = owned(services, p, id).await?;
        Ok(WebhookSecret { id, secret: w.secret })
    }

    /// A new signing secret; deliveries not yet sent are signed with it.
    pub async fn rotate_secret(services: &Services, p: &Principal, id: Uuid) -> Result<WebhookSecret, AppError> {
        let w = owned(services, p, id).await?;
        let rotated = WebhookRecord { secret: new_secret(), ..w };
        services.store.update_webhook(&rotated).await?;
        p.audit(services, "webhook.secret_rotated", format!("webhook:{id}"), None, None).await?;
        Ok(WebhookSecret { id, secret: rotated.secret })
    }

    pub async fn deliveries(services: &Services, p: &Principal, webhook: Uuid) -> Result<Vec<DeliveryView>, AppError> {
        owned(services, p, webhook).await?;
        Ok(services.store.deliveries(p.org, webhook, 100).await?.into_iter().map(delivery_view).collect())
    }

    pub async fn delivery(services: &Services, p: &Principal, id: Uuid) -> Result<DeliveryDetail, AppError> {
        p.require(Action::ManageWebhooks, &Resource::Org(p.org))?;
        let d = services.store.delivery(p.org, id).await?.ok_or(AppError::NotFound)?;
        let attempts = services
            .store
            .delivery_attempts(p.org, id)
            .await?
            .into_iter()
            .map(|a| AttemptView {
                number: a.number,
                at: a.at,
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_ms,
                response_excerpt: a.response_excerpt,
            })
            .collect();
        Ok(DeliveryDetail { payload: d.payload.clone(), delivery: delivery_view(d), attempts })
    }

    fn fresh_delivery(
        services: &Services,
        w: &WebhookRecord,
        event_id: Uuid,
        event_type: &str,
        payload: String,
    ) -> DeliveryRecord {
        let now = services.clock.now();
        DeliveryRecord {
            id: Uuid::now_v7(),
            webhook_id: w.id,
            org_id: w.org_id,
            event_id,
            event_type: event_type.to_owned(),
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_status_code: None,
            last_error: None,
            created_at: now,
            completed_at: None,
        }
    }

    /// Queues a `ping` event to this webhook alone (even a paused one).
    pub async fn send_test(services: &Services, p: &Principal, id: Uuid) -> Result<DeliveryView, AppError> {
        let w = owned(services, p, id).await?;
        let event_id = Uuid::now_v7();
        let payload = envelope(
            event_id,
            EventType::Ping,
            w.org_id,
            services.clock.now(),
            serde_json::json!({ "webhook_id": w.id, "message": "A test event sent from Cairn." }),
        );
        let delivery = fresh_delivery(services, &w, event_id, EventType::Ping.as_str(), payload);
        services.store.enqueue_deliveries(std::slice::from_ref(&delivery)).await?;
        services.jobs.notify_one();
        Ok(delivery_view(delivery))
    }

    /// Queues the same event (same id and body) to the same webhook again.
    pub async fn redeliver(services: &Services, p: &Principal, delivery: Uuid) -> Result<DeliveryView, AppError> {
        p.require(Action::ManageWebhooks, &Resource::Org(p.org))?;
        let old = services.store.delivery(p.org, delivery).await?.ok_or(AppError::NotFound)?;
        let w = owned(services, p, old.webhook_id).await?;
        let again = fresh_delivery(services, &w, old.event_id, &old.event_type, old.payload);
        services.store.enqueue_deliveries(std::slice::from_ref(&again)).await?;
        services.jobs.notify_one();
        p.audit(
            services,
            "webhook.redelivered",
            format!("webhook:{}", w.id),
            None,
            Some(serde_json::json!({ "delivery": delivery, "new_delivery": again.id })),
        )
        .await?;
        Ok(delivery_view(again))
    }

    /// The body every delivery carries.
    pub fn envelope(
        id: Uuid,
        event: EventType,
        org: OrgId,
        at: chrono::DateTime<chrono::Utc>,
        data: serde_json::Value,
    ) -> String {
        serde_json::json!({
            "id": id,
            "type": event.as_str(),
            "created_at": at,
            "organization_id": org,
            "data": data,
        })
        .to_string()
    }

    /// A prompt as events describe it.
    pub fn prompt_data(services: &Services, prompt: &PromptRecord) -> serde_json::Value {
        let f = &prompt.fields;
        serde_json::json!({
            "id": prompt.id,
            "title": f.title,
            "description": f.description,
            "status": f.status,
            "visibility": f.visibility,
            "category": f.category,
            "tags": f.tags,
            "version": prompt.version,
            "author_name": prompt.author_name,
            "collection_id": prompt.collection_id,
            "created_at": prompt.created_at,
            "updated_at": prompt.updated_at,
            "url": format!("{}/prompts/{}", services.settings.public_url, prompt.id),
        })
    }

    /// The prompt an event is about: saved (loaded when needed) or a copy taken before deleting.
    pub enum PromptRef<'a> {
        Saved(Uuid),
        Gone(&'a PromptRecord),
    }

    /// Events about one prompt; `extra` keys are added next to `prompt` in `data`.
    pub struct PromptEvents<'a> {
        pub prompt: PromptRef<'a>,
        pub events: Vec<EventType>,
        pub extra: serde_json::Value,
    }

    /// Queues `events` about a prompt for the webhooks that listen.
    pub async fn prompt_event(
        services: &Services,
        org: OrgId,
        events: &[EventType],
        prompt: PromptRef<'_>,
        extra: serde_json::Value,
    ) {
        prompt_events(services, org, vec![PromptEvents { prompt, events: events.to_vec(), extra }]).await;
    }

    /// Queues events about many prompts (bulk changes, imports) with one look at the webhooks and
    /// one write. A prompt is loaded only when some webhook listens to one of its events.
    pub async fn prompt_events(services: &Services, org: OrgId, items: Vec<PromptEvents<'_>>) {
        if let Err(err) = queue(services, org, items).await {
            tracing::error!(%err, org = %org.0, "could not queue webhook events");
        }
    }

    async fn queue(services: &Services, org: OrgId, items: Vec<PromptEvents<'_>>) -> Result<(), AppError> {
        let hooks: Vec<WebhookRecord> = services.store.webhooks(org).await?.into_iter().filter(|w| w.active).collect();
        let listening = |event: EventType| hooks.iter().filter(move |w| w.events.contains(&event));
        let at = services.clock.now();
        let mut deliveries = Vec::new();
        for item in items {
            if !item.events.iter().any(|&e| listening(e).next().is_some()) {
                continue;
            }
            let loaded;
            let record = match item.prompt {
                PromptRef::Gone(record) => record,
                PromptRef::Saved(id) => {
                    loaded = services.store.prompt(org, id).await?.ok_or(AppError::NotFound)?;
                    &loaded
                }
            };
            let mut data = serde_json::json!({ "prompt": prompt_data(services, record) });
            if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), item.extra) {
                data.extend(extra);
            }
            for event in &item.events {
                let id = Uuid::now_v7();
                let payload = envelope(id, *event, org, at, data.clone());
                deliveries.extend(
                    listening(*event).map(|w| fresh_delivery(services, w, id, event.as_str(), payload.clone())),
                );
            }
        }
        if !deliveries.is_empty() {
            services.store.enqueue_deliveries(&deliveries).await?;
            services.jobs.notify_one();
        }
        Ok(())
    }

    /// The events a save of `prompt` (already stored) raises.
    pub fn save_events(created: bool, status: crate::domain::prompt::PromptStatus) -> Vec<EventType> {
        let mut events = vec![if created { EventType::PromptCreated } else { EventType::PromptUpdated }];
        if status == crate::domain::prompt::PromptStatus::Published {
            events.push(EventType::VersionPublished);
        }
        events
    }
}

/// The body of a webhook server function: the caller as a principal of the active organization.
#[cfg(feature = "ssr")]
macro_rules! with_principal {
    (|$services:ident, $p:ident| $body:expr) => {
        super::respond(async move {
            let ($services, $p) = super::prompts::principal().await?;
            $body
        })
        .await
    };
}

/// The organization's webhooks. Needs: ManageWebhooks (Owner, Admin).
#[server(endpoint = "webhooks", input = Json)]
pub async fn webhooks() -> Result<Vec<WebhookView>, AppError> {
    with_principal!(|services, p| rules::list(&services, &p).await)
}

/// Adds a webhook; the answer holds its signing secret.
#[server(endpoint = "create_webhook", input = Json)]
pub async fn create_webhook(input: WebhookInput) -> Result<WebhookSecret, AppError> {
    with_principal!(|services, p| rules::create(&services, &p, &input).await)
}

#[server(endpoint = "update_webhook", input = Json)]
pub async fn update_webhook(id: Uuid, input: WebhookInput) -> Result<WebhookView, AppError> {
    with_principal!(|services, p| rules::update(&services, &p, id, &input).await)
}

#[server(endpoint = "delete_webhook", input = Json)]
pub async fn delete_webhook(id: Uuid) -> Result<(), AppError> {
    with_principal!(|services, p| rules::delete(&services, &p, id).await)
}

#[server(endpoint = "reveal_webhook_secret", input = Json)]
pub async fn reveal_webhook_secret(id: Uuid) -> Result<WebhookSecret, AppError> {
    with_principal!(|services, p| rules::secret(&services, &p, id).await)
}

#[server(endpoint = "rotate_webhook_secret", input = Json)]
pub async fn rotate_webhook_secret(id: Uuid) -> Result<WebhookSecret, AppError> {
    with_principal!(|services, p| rules::rotate_secret(&services, &p, id).await)
}

/// A webhook's newest 100 deliveries.
#[server(endpoint = "webhook_deliveries", input = Json)]
pub async fn webhook_deliveries(webhook_id: Uuid) -> Result<Vec<DeliveryView>, AppError> {
    with_principal!(|services, p| rules::deliveries(&services, &p, webhook_id).await)
}

#[server(endpoint = "webhook_delivery", input = Json)]
pub async fn webhook_delivery(id: Uuid) -> Result<DeliveryDetail, AppError> {
    with_principal!(|services, p| rules::delivery(&services, &p, id).await)
}

#[server(endpoint = "send_test_event", input = Json)]
pub async fn send_test_event(webhook_id: Uuid) -> Result<DeliveryView, AppError> {
    with_principal!(|services, p| rules::send_test(&services, &p, webhook_id).await)
}

#[server(endpoint = "redeliver", input = Json)]
pub async fn redeliver(delivery_id: Uuid) -> Result<DeliveryView, AppError> {
    with_principal!(|services, p| rules::redeliver(&services, &p, delivery_id).await)
}
