//! Organization API keys for the REST API: created by Owners and Admins, shown once, stored hashed.

use crate::dto::{ApiKeyView, NewApiKey};
use crate::error::AppError;
use leptos::server;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use {
    super::{active_org, audit, authorize, caller, respond, services},
    crate::domain::{Action, Resource},
    crate::ports::ApiKeyRecord,
};

/// The prefix every Cairn API key starts with, so leaked keys are easy to recognise.
pub const KEY_PREFIX: &str = "cairn_";

#[cfg(feature = "ssr")]
fn view(k: ApiKeyRecord) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        can_write: k.can_write,
        rate_limit: k.rate_limit,
        created_at: k.created_at,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}

/// The active organization's keys. Needs: ManageApiKeys (Owner, Admin).
#[server(endpoint = "api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let org = active_org(&services, &caller).await?.org.id;
        authorize(&services, &caller, org, Action::ManageApiKeys, &Resource::Org(org)).await?;
        Ok(services.store.api_keys(org).await?.into_iter().map(view).collect())
    })
    .await
}

/// Creates a key; the secret is in the answer and nowhere else. Needs: ManageApiKeys.
/// `scope` is `read` or `write`; `expires_in_days` 0 means never.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(name: String, scope: String, expires_in_days: i64) -> Result<NewApiKey, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let org = active_org(&services, &caller).await?.org.id;
        authorize(&services, &caller, org, Action::ManageApiKeys, &Resource::Org(org)).await?;
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::validation("name", "Name the key (80 characters at most), e.g. “CI pipeline”."));
        }
        let can_write = match scope.as_str() {
            "read" => false,
            "write" => true,
            _ => return Err(AppError::validation("scope", "Choose read or write.")),
        };
        if !(0..=3650).contains(&expires_in_days) {
            return Err(AppError::validation("expires_in_days", "Expire within 0 (never) to 3,650 days."));
        }
        let now = services.clock.now();
        let secret = format!("{KEY_PREFIX}{}", crate::security::random_token());
        let key = ApiKeyRecord {
            id: Uuid::now_v7(),
            org_id: org,
            name,
            prefix: secret.chars().take(KEY_PREFIX.len() + 6).collect(),
            key_hash: crate::security::hash_token(&secret),
            can_write,
            rate_limit: services.settings.api_rate_limit,
            created_by: caller.user.id,
            created_at: now,
            expires_at: (expires_in_days > 0).then(|| now + chrono::Duration::days(expires_in_days)),
            last_used_at: None,
            revoked_at: None,
        };
        services.store.create_api_key(&key).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "api_key.created",
            format!("api_key:{}", key.id),
            None,
            Some(serde_json::json!({ "name": key.name, "write": can_write, "expires_at": key.expires_at })),
        )
        .await?;
        Ok(NewApiKey { id: key.id, secret })
    })
    .await
}

/// Revokes a key at once. Needs: ManageApiKeys.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: Uuid) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let org = active_org(&services, &caller).await?.org.id;
        authorize(&services, &caller, org, Action::ManageApiKeys, &Resource::Org(org)).await?;
        services.store.revoke_api_key(org, id, services.clock.now()).await?;
        services.api_keys.forget_org(org);
        audit(&services, Some(caller.user.id), Some(org), "api_key.revoked", format!("api_key:{id}"), None, None).await
    })
    .await
}
