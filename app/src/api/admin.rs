//! Platform administration: who holds platform roles (system admin, moderator) and capability
//! roles (creator, mentor, concierge). System admins only.

use crate::domain::UserId;
use crate::dto::AdminUserView;
use crate::error::AppError;
use leptos::server;

#[cfg(feature = "ssr")]
use {
    super::{Caller, audit, caller, respond, services},
    crate::domain::{Action, CapabilityRole, PlatformRole, Resource, can},
};

/// A system admin: may configure the platform (plans, refunds, payouts, roles).
#[cfg(feature = "ssr")]
pub(crate) fn is_platform_admin(caller: &Caller) -> bool {
    can(&super::actor(&caller.user, None), Action::PlatformConfiguration, &Resource::Platform)
}

#[cfg(feature = "ssr")]
fn require_platform_admin(caller: &Caller) -> Result<(), AppError> {
    if is_platform_admin(caller) { Ok(()) } else { Err(AppError::Forbidden) }
}

/// People on the platform, filtered by email or name. Needs: PlatformConfiguration (system admin).
#[server(endpoint = "admin_users")]
pub async fn admin_users(search: Option<String>) -> Result<Vec<AdminUserView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        require_platform_admin(&caller)?;
        let search = search.unwrap_or_default();
        let users = services.store.search_users(search.trim(), 200).await?;
        Ok(users
            .into_iter()
            .map(|u| AdminUserView {
                user_id: u.id,
                email: u.email,
                display_name: u.display_name,
                email_verified: u.email_verified_at.is_some(),
                platform_roles: u.platform_roles,
                capabilities: u.capabilities,
                created_at: u.created_at,
            })
            .collect())
    })
    .await
}

/// Grants or revokes a platform or capability role (`creator`, `mentor`, `concierge`,
/// `moderator`, `system_admin`). Needs: PlatformConfiguration. A system admin cannot remove
/// their own system admin role (someone must remain able to administer).
#[server(endpoint = "admin_set_role")]
pub async fn set_user_role(user_id: UserId, role: String, granted: bool) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        require_platform_admin(&caller)?;
        let target = services.store.user_by_id(user_id).await?.ok_or(AppError::NotFound)?;
        if let Ok(capability) = CapabilityRole::parse(&role) {
            if granted {
                services.store.grant_capability(user_id, capability).await?;
            } else {
                services.store.revoke_capability(user_id, capability).await?;
            }
        } else if let Ok(platform) = PlatformRole::parse(&role) {
            if !granted && platform == PlatformRole::SystemAdmin && user_id == caller.user.id {
                return Err(AppError::conflict("You cannot remove your own system admin role."));
            }
            if granted {
                services.store.grant_platform_role(user_id, platform).await?;
            } else {
                services.store.revoke_platform_role(user_id, platform).await?;
            }
        } else {
            return Err(AppError::validation("role", format!("Unknown role {role:?}.")));
        }
        let change = if granted { "platform.role_granted" } else { "platform.role_revoked" };
        audit(
            &services,
            Some(caller.user.id),
            None,
            change,
            format!("user:{}", target.id),
            None,
            Some(serde_json::json!({ "role": role, "email": target.email })),
        )
        .await?;
        Ok(())
    })
    .await
}
