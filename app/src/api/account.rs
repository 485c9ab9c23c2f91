//! The signed-in person's own account: who am I, profile, password, sessions, two-factor.

use crate::dto::{Me, SessionView, TotpSetup};
use crate::error::AppError;
use leptos::server;

#[cfg(feature = "ssr")]
use {
    super::{active_org, audit, caller, respond, services, session_caller},
    crate::domain::{DisplayName, Password, TotpCode},
    crate::dto::OrgSummary,
    crate::error::FieldResult,
    crate::ports::MembershipRecord,
    crate::security,
};

#[cfg(feature = "ssr")]
pub(crate) fn org_summary(m: &MembershipRecord) -> OrgSummary {
    OrgSummary {
        id: m.org.id,
        name: m.org.name.clone(),
        kind: m.org.kind,
        role: m.role,
        enterprise_admin: m.enterprise_admin,
        leads_a_team: !m.led_teams.is_empty(),
    }
}

/// The signed-in person, their organizations and the active one; `None` when signed out.
/// Public: answers only about the caller.
#[server(endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    respond(async move {
        let services = services()?;
        let Some(caller) = session_caller().filter(|c| !c.session.mfa_pending) else {
            return Ok(None);
        };
        let memberships = services.store.memberships_of(caller.user.id).await?;
        let active = active_org(&services, &caller).await.ok();
        let user = caller.user;
        Ok(Some(Me {
            user_id: user.id,
            email: user.email,
            display_name: user.display_name,
            timezone: user.timezone,
            totp_enabled: user.totp_enabled_at.is_some(),
            platform_roles: user.platform_roles,
            capabilities: user.capabilities,
            orgs: memberships.iter().map(org_summary).collect(),
            active_org: active.as_ref().map(org_summary),
            dev_mode: services.settings.dev_mode,
            unread_notifications: services.store.unread_notifications(user.id).await?,
            unread_messages: services.store.unread_counts(user.id).await?.into_iter().map(|(_, n)| n).sum(),
        }))
    })
    .await
}

/// Updates the caller's name and timezone. Needs: signed in.
#[server(endpoint = "update_profile")]
pub async fn update_profile(display_name: String, timezone: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let name = DisplayName::parse(&display_name).field("display_name")?;
        let tz = timezone.trim();
        if tz.is_empty() || tz.len() > 64 || !tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) {
            return Err(AppError::validation("timezone", "Choose a timezone such as Europe/Berlin or UTC."));
        }
        services.store.update_profile(caller.user.id, name.as_str(), tz).await?;
        audit(
            &services,
            Some(caller.user.id),
            None,
            "user.profile_updated",
            format!("user:{}", caller.user.id),
            Some(serde_json::json!({ "display_name": caller.user.display_name, "timezone": caller.user.timezone })),
            Some(serde_json::json!({ "display_name": name.as_str(), "timezone": tz })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Changes the caller's password and ends their other sessions. Needs: signed in, current password.
#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let new_password = Password::parse(&new_password).field("new_password")?;
        if !security::verify_password(&services.hashing, &current_password, caller.user.password_hash.as_deref())
            .await?
        {
            return Err(AppError::validation("current_password", "That is not your current password."));
        }
        let hash = security::hash_password(&services.hashing, new_password.expose()).await?;
        services.store.set_password_hash(caller.user.id, &hash).await?;
        let ended = services.store.delete_other_sessions(caller.user.id, Some(caller.session.id)).await?;
        audit(
            &services,
            Some(caller.user.id),
            None,
            "user.password_changed",
            format!("user:{}", caller.user.id),
            None,
            Some(serde_json::json!({ "other_sessions_ended": ended })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// The caller's active sessions. Needs: signed in.
#[server(endpoint = "sessions")]
pub async fn list_sessions() -> Result<Vec<SessionView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let sessions = services.store.sessions_of(caller.user.id).await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                current: s.id == caller.session.id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect())
    })
    .await
}

/// Signs out one of the caller's sessions. Needs: signed in; only the caller's own sessions.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(session_id: uuid::Uuid) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        if !services.store.delete_session(caller.user.id, session_id).await? {
            return Err(AppError::NotFound);
        }
        audit(&services, Some(caller.user.id), None, "session.revoked", format!("session:{session_id}"), None, None)
            .await?;
        Ok(())
    })
    .await
}

/// Starts two-factor setup: a new secret to scan. Needs: signed in, two-factor not yet on.
#[server(endpoint = "totp_begin")]
pub async fn begin_totp_setup() -> Result<TotpSetup, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        if caller.user.totp_enabled_at.is_some() {
            return Err(AppError::conflict("Two-factor authentication is already on."));
        }
        let secret = security::new_totp_secret();
        services.store.set_totp(caller.user.id, Some(&secret), None).await?;
        let label = format!("Cairn:{}", caller.user.email).replace('@', "%40");
        Ok(TotpSetup { otpauth_url: format!("otpauth://totp/{label}?secret={secret}&issuer=Cairn"), secret })
    })
    .await
}

/// Turns two-factor on after the first correct code; returns the recovery codes, shown once.
/// Needs: signed in, a setup begun.
#[server(endpoint = "totp_confirm")]
pub async fn confirm_totp(code: String) -> Result<Vec<String>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let Some(secret) = caller.user.totp_secret.as_deref().filter(|_| caller.user.totp_enabled_at.is_none()) else {
            return Err(AppError::conflict("Start the setup first."));
        };
        let now = services.clock.now();
        match TotpCode::parse(&code).field("code")? {
            TotpCode::Totp(code) if security::verify_totp(secret, &code, now.timestamp()) => {}
            _ => return Err(AppError::validation("code", "That code is not valid. Enter the current 6-digit code.")),
        }
        let codes = security::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| security::hash_token(c)).collect();
        services.store.set_totp(caller.user.id, Some(secret), Some(now)).await?;
        services.store.replace_recovery_codes(caller.user.id, &hashes).await?;
        audit(
            &services,
            Some(caller.user.id),
            None,
            "user.two_factor_enabled",
            format!("user:{}", caller.user.id),
            None,
            None,
        )
        .await?;
        Ok(codes)
    })
    .await
}

/// Turns two-factor off. Needs: signed in, current password.
#[server(endpoint = "totp_disable")]
pub async fn disable_totp(password: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        if !security::verify_password(&services.hashing, &password, caller.user.password_hash.as_deref()).await? {
            return Err(AppError::validation("password", "That is not your current password."));
        }
        services.store.set_totp(caller.user.id, None, None).await?;
        services.store.replace_recovery_codes(caller.user.id, &[]).await?;
        audit(
            &services,
            Some(caller.user.id),
            None,
            "user.two_factor_disabled",
            format!("user:{}", caller.user.id),
            None,
            None,
        )
        .await?;
        Ok(())
    })
    .await
}
