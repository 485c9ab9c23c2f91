//! Where a person hears of new messages in their sequence conversations besides the app
//! (Settings → Sequence messages): an email each, with a link to reply, and a Slack/Teams
//! incoming webhook. The scheduler sends them (server/src/channels.rs).

use crate::dto::MessageChannels;
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;

/// The caller's channels.
#[server(endpoint = "message_channels", input = Json)]
pub async fn my_message_channels() -> Result<MessageChannels, AppError> {
    super::respond(async move {
        let services = super::services()?;
        let caller = super::caller()?;
        Ok(services.store.message_channels(caller.user.id).await?.unwrap_or_default())
    })
    .await
}

/// Saves the caller's channels; an empty webhook URL turns the webhook off.
#[server(endpoint = "save_message_channels", input = Json)]
pub async fn save_message_channels(email: bool, digest: bool, webhook_url: String) -> Result<(), AppError> {
    super::respond(async move {
        use crate::domain::webhook::{is_obviously_private, parse_url};
        let services = super::services()?;
        let caller = super::caller()?;
        let webhook_url = match webhook_url.trim() {
            "" => None,
            raw => {
                let url = parse_url(raw).map_err(|e| AppError::validation("webhook_url", e.0))?;
                if !services.settings.webhook_allow_private && is_obviously_private(&url) {
                    return Err(AppError::validation(
                        "webhook_url",
                        "That address is on a private network; use the webhook URL Slack or Teams gave you.",
                    ));
                }
                Some(url)
            }
        };
        let channels = MessageChannels { email, digest: email && digest, webhook_url };
        services.store.set_message_channels(caller.user.id, &channels, services.clock.now()).await?;
        Ok(())
    })
    .await
}
