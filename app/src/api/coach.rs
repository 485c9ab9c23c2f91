//! The creator's side of a subscriber's conversation: reading it, taking it over from the AI
//! (its turns wait), replying as themselves, and handing it back.

use crate::api::sequences::{MessageView, SubscriptionView};
use crate::domain::UserId;
use crate::error::AppError;
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoachView {
    pub sequence_id: Uuid,
    pub subscriber: String,
    pub subscription: SubscriptionView,
    pub messages: Vec<MessageView>,
    /// Who speaks instead of the AI, if anyone.
    pub taken_over_by: Option<String>,
    /// The caller is the one who took it over.
    pub by_me: bool,
    /// The subscriber's coach, if one is assigned.
    pub coach: Option<(UserId, String)>,
    /// Members the caller may make the coach (only the sequence's creator may).
    pub coach_choices: Vec<(UserId, String)>,
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::*;
    use crate::api::engine;
    use crate::api::prompts::library::Principal;
    use crate::api::sequences::rules::{message_view, reply_text, subscription_view};
    use crate::domain::sequence::{Sender, SubscriptionStatus};
    use crate::ports::{MessageRecord, SequenceRecord, Services, SubscriptionRecord};

    /// A subscription to one of the caller's sequences, or one they coach (anyone else's: NotFound).
    async fn coached(
        services: &Services,
        p: &Principal,
        id: Uuid,
    ) -> Result<(SubscriptionRecord, SequenceRecord), AppError> {
        let sub = services.store.subscription(id).await?.filter(|s| s.org_id == p.org).ok_or(AppError::NotFound)?;
        let seq = services.store.sequence(p.org, sub.sequence_id).await?.ok_or(AppError::NotFound)?;
        if seq.creator_id != p.user && sub.coach_id != Some(p.user) {
            return Err(AppError::NotFound);
        }
        Ok((sub, seq))
    }

    /// The sequence's creator makes a member of the organization the subscriber's coach (or none).
    pub async fn assign(services: &Services, p: &Principal, id: Uuid, coach: Option<UserId>) -> Result<(), AppError> {
        let (sub, seq) = coached(services, p, id).await?;
        if seq.creator_id != p.user {
            return Err(AppError::Forbidden);
        }
        if let Some(coach) = coach
            && (coach == sub.user_id || services.store.membership(p.org, coach).await?.is_none())
        {
            return Err(AppError::validation("coach", "Choose another member of the organization as the coach."));
        }
        services.store.set_coach(sub.id, coach, services.clock.now()).await?;
        Ok(())
    }

    async fn name(services: &Services, user: UserId) -> Result<String, AppError> {
        Ok(services.store.user_by_id(user).await?.map(|u| u.display_name).unwrap_or_default())
    }

    pub async fn view(services: &Services, p: &Principal, id: Uuid) -> Result<CoachView, AppError> {
        let (sub, seq) = coached(services, p, id).await?;
        let steps = services.store.sequence_version(seq.id, sub.version).await?.unwrap_or_default();
        let messages = services.store.messages(sub.id).await?;
        let taken_over_by = match sub.taken_over_by {
            Some(user) => Some(name(services, user).await?),
            None => None,
        };
        let coach = match sub.coach_id {
            Some(user) => Some((user, name(services, user).await?)),
            None => None,
        };
        let coach_choices = if seq.creator_id == p.user {
            let members = services.store.members(p.org).await?;
            members.into_iter().filter(|m| m.user_id != sub.user_id).map(|m| (m.user_id, m.display_name)).collect()
        } else {
            Vec::new()
        };
        Ok(CoachView {
            sequence_id: seq.id,
            subscriber: name(services, sub.user_id).await?,
            subscription: subscription_view(&sub, &seq.meta.title, &steps, &messages, 0, services.clock.now()),
            messages: messages.into_iter().map(message_view).collect(),
            taken_over_by,
            by_me: sub.taken_over_by == Some(p.user),
            coach,
            coach_choices,
        })
    }

    /// Takes the conversation over (`true`) or hands it back to the AI (`false`).
    pub async fn set(services: &Services, p: &Principal, id: Uuid, take: bool) -> Result<(), AppError> {
        for _ in 0..5 {
            let (sub, _) = coached(services, p, id).await?;
            if !matches!(sub.status, SubscriptionStatus::Active | SubscriptionStatus::Paused) {
                return Err(AppError::validation("status", "This conversation has ended."));
            }
            let by = take.then_some(p.user);
            if sub.taken_over_by == by {
                return Ok(());
            }
            if services.store.set_takeover(id, sub.revision, by, services.clock.now()).await? {
                services.jobs.notify_waiters();
                return Ok(());
            }
        }
        Err(AppError::conflict("The conversation kept changing; try again."))
    }

    /// A message from the person who took the conversation over.
    pub async fn reply(services: &Services, p: &Principal, id: Uuid, text: &str) -> Result<(), AppError> {
        let text = reply_text(text)?;
        let message = Uuid::now_v7();
        for _ in 0..5 {
            let (sub, _) = coached(services, p, id).await?;
            if sub.taken_over_by != Some(p.user) {
                return Err(AppError::validation("text", "Take the conversation over before replying."));
            }
            let now = services.clock.now();
            let mut change = engine::plan(&sub, sub.run.clone(), Vec::new(), now);
            change.messages.push(MessageRecord {
                id: message,
                subscription_id: sub.id,
                sender: Sender::Creator,
                author_id: Some(p.user),
                body: text.to_owned(),
                step_id: sub.run.step.clone(),
                asks: None,
                idempotency_key: format!("coach:{message}"),
                tokens: None,
                created_at: now,
            });
            if services.store.apply_run(&change).await? {
                return Ok(());
            }
        }
        Err(AppError::conflict("The conversation kept changing; try again."))
    }
}

/// A subscriber's conversation, for the sequence's creator.
#[server(endpoint = "coach_conversation", input = Json)]
pub async fn coach_conversation(id: Uuid) -> Result<CoachView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::view(&services, &p, id).await
    })
    .await
}

/// Takes a subscriber's conversation over from the AI (`take`) or hands it back.
#[server(endpoint = "take_over", input = Json)]
pub async fn take_over(id: Uuid, take: bool) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::set(&services, &p, id, take).await
    })
    .await
}

/// Replies as themselves in a conversation the caller took over.
#[server(endpoint = "coach_reply", input = Json)]
pub async fn coach_reply(id: Uuid, text: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::reply(&services, &p, id, &text).await
    })
    .await
}

/// Makes a member the subscriber's coach (`None`: no coach); the sequence's creator only.
#[server(endpoint = "assign_coach", input = Json)]
pub async fn assign_coach(id: Uuid, coach: Option<UserId>) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::assign(&services, &p, id, coach).await
    })
    .await
}
