//! Where a person hears of new messages in their sequence conversations besides the app
//! (Settings → Sequence messages): an email each, with a link to reply, and a Slack/Teams
//! incoming webhook, and Web Push to the browsers where they turned it on. The scheduler sends
//! them (server/src/channels.rs, server/src/push.rs).

use crate::dto::{MessageChannels, PushStatus, PushTestResult};
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

/// Devices one person may have push notifications on.
#[cfg(feature = "ssr")]
const MAX_PUSH_DEVICES: usize = 20;

/// The server's VAPID public key and how many of the caller's browsers get push notifications.
#[server(endpoint = "push_settings", input = Json)]
pub async fn push_settings() -> Result<PushStatus, AppError> {
    super::respond(async move {
        let services = super::services()?;
        let caller = super::caller()?;
        let keys = services.store.vapid_keys().await?.ok_or_else(|| AppError::internal("No VAPID keys were made."))?;
        let devices = services.store.push_devices(caller.user.id).await?.len() as u32;
        Ok(PushStatus { public_key: keys.public_key, devices })
    })
    .await
}

/// Turns push notifications on for a browser of the caller's: its push subscription's endpoint
/// and keys, as `PushSubscription.toJSON()` gives them.
#[server(endpoint = "add_push_device", input = Json)]
pub async fn add_push_device(endpoint: String, p256dh: String, auth: String) -> Result<(), AppError> {
    super::respond(async move {
        use crate::domain::webhook::{is_obviously_private, parse_url};
        let services = super::services()?;
        let caller = super::caller()?;
        let endpoint = parse_url(endpoint.trim()).map_err(|e| AppError::validation("endpoint", e.0))?;
        let public = services.settings.webhook_allow_private
            || (endpoint.starts_with("https://") && !is_obviously_private(&endpoint));
        if !public || endpoint.len() > 2000 {
            return Err(AppError::validation("endpoint", "That is not a push service's address."));
        }
        let key = decode_base64url(&p256dh).filter(|key| key.len() == 65 && key[0] == 4);
        if key.is_none() {
            return Err(AppError::validation("p256dh", "The browser's key must be a P-256 public key (base64url)."));
        }
        if decode_base64url(&auth).is_none_or(|secret| secret.len() != 16) {
            return Err(AppError::validation("auth", "The browser's secret must be 16 bytes (base64url)."));
        }
        let devices = services.store.push_devices(caller.user.id).await?;
        if devices.len() >= MAX_PUSH_DEVICES && devices.iter().all(|d| d.endpoint != endpoint) {
            return Err(AppError::validation(
                "endpoint",
                format!("Push notifications are on for {MAX_PUSH_DEVICES} devices already; turn one off first."),
            ));
        }
        let device =
            crate::dto::PushDevice { endpoint, p256dh: p256dh.trim().to_owned(), auth: auth.trim().to_owned() };
        services.store.add_push_device(caller.user.id, &device, services.clock.now()).await?;
        Ok(())
    })
    .await
}

/// Turns push notifications off for one of the caller's browsers.
#[server(endpoint = "remove_push_device", input = Json)]
pub async fn remove_push_device(endpoint: String) -> Result<(), AppError> {
    super::respond(async move {
        let services = super::services()?;
        let caller = super::caller()?;
        services.store.remove_push_device(endpoint.trim(), Some(caller.user.id)).await?;
        Ok(())
    })
    .await
}

/// Sends a test notification to each of the caller's browsers.
#[server(endpoint = "send_test_push", input = Json)]
pub async fn send_test_push() -> Result<PushTestResult, AppError> {
    super::respond(async move {
        let services = super::services()?;
        let caller = super::caller()?;
        let devices = services.store.push_devices(caller.user.id).await?;
        let notice = crate::ports::PushNotice {
            title: "Cairn".into(),
            body: "Push notifications work on this device.".into(),
            link: format!("{}/settings", services.settings.public_url),
        };
        let delivered = services.push.send_to(&devices, &notice).await as u32;
        Ok(PushTestResult { devices: devices.len() as u32, delivered })
    })
    .await
}

#[cfg(feature = "ssr")]
fn decode_base64url(raw: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim().trim_end_matches('=')).ok()
}
