//! Server functions, one module per area. Each is a public endpoint: it authenticates, parses its
//! input with the domain's parse functions, checks `can(actor, action, resource)` and scopes every
//! query by organization. The bodies run on the server only; the browser gets a typed stub.

pub mod account;
pub mod activity;
pub mod admin;
pub mod analytics;
pub mod api_keys;
pub mod assignments;
pub mod auth;
pub mod billing;
pub mod channels;
pub mod coach;
pub mod comments;
pub mod dev;
#[cfg(feature = "ssr")]
pub mod engine;
pub mod export;
pub mod import;
pub mod journey_help;
pub mod journeys;
pub mod organize;
pub mod orgs;
pub mod prompts;
pub mod public;
pub mod searches;
pub mod sequences;
pub mod test_panel;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use crate::domain::{Action, Actor, Membership, OrgId, Resource, can};
    use crate::error::AppError;
    use crate::ports::{AuditEntry, MembershipRecord, Services, SessionRecord, StoreError, UserRecord};
    use axum::http::{HeaderValue, StatusCode, header};
    use leptos::prelude::*;

    /// The signed-in person behind a request, resolved from the session cookie by the server's
    /// middleware and put into the request's extensions.
    #[derive(Debug, Clone)]
    pub struct Caller {
        pub session: SessionRecord,
        pub user: UserRecord,
    }

    /// Where a request comes from, for the audit log and rate limits.
    #[derive(Debug, Clone, Default)]
    pub struct RequestMeta {
        pub ip: String,
        pub user_agent: String,
    }

    /// The slot the middleware fills: `None` when nobody is signed in.
    #[derive(Debug, Clone, Default)]
    pub struct CallerSlot(pub Option<Caller>);

    impl From<StoreError> for AppError {
        fn from(err: StoreError) -> Self {
            match err {
                StoreError::NotFound => AppError::NotFound,
                StoreError::Conflict(message) => AppError::Conflict { message },
                StoreError::Invalid(message) => AppError::validation("text", message),
                StoreError::Other(cause) => AppError::internal(cause),
            }
        }
    }

    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| AppError::internal("Services missing from context"))
    }

    fn parts() -> Option<axum::http::request::Parts> {
        use_context::<axum::http::request::Parts>()
    }

    pub fn request_meta() -> RequestMeta {
        parts().and_then(|p| p.extensions.get::<RequestMeta>().cloned()).unwrap_or_default()
    }

    /// A cookie of the request being served, if it has it.
    pub fn request_cookie(name: &str) -> Option<String> {
        cookie_value(&parts()?.headers, name)
    }

    /// A cookie among `headers`' `Cookie` headers.
    pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// The session cookie's caller, if any, including one still owing a second factor.
    pub fn session_caller() -> Option<Caller> {
        parts().and_then(|p| p.extensions.get::<CallerSlot>().and_then(|slot| slot.0.clone()))
    }

    /// The fully signed-in caller, or `Unauthenticated`.
    pub fn caller() -> Result<Caller, AppError> {
        session_caller().filter(|c| !c.session.mfa_pending).ok_or(AppError::Unauthenticated)
    }

    /// Runs a server function body; on error sets the HTTP status (and Retry-After) of a server
    /// function response. During server rendering the page's own status is left alone.
    pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let result = body.await;
        if let Err(err) = &result {
            let is_server_fn_call = parts().is_some_and(|p| p.uri.path().starts_with("/api/"));
            if let (true, Some(response)) = (is_server_fn_call, use_context::<leptos_axum::ResponseOptions>()) {
                response.set_status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
                if let AppError::RateLimited { retry_after_secs } = err {
                    response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                }
            }
        }
        result
    }

    pub fn set_header(name: header::HeaderName, value: &str) {
        if let (Some(response), Ok(value)) =
            (use_context::<leptos_axum::ResponseOptions>(), HeaderValue::from_str(value))
        {
            response.append_header(name, value);
        }
    }

    /// The actor as it stands towards one organization.
    pub fn actor(user: &UserRecord, membership: Option<&MembershipRecord>) -> Actor {
        Actor {
            user: Some(user.id),
            platform_roles: user.platform_roles.clone(),
            capabilities: user.capabilities.clone(),
            membership: membership.map(|m| Membership {
                org: m.org.id,
                org_kind: m.org.kind,
                role: m.role,
                enterprise_admin: m.enterprise_admin,
                teams: m.teams.clone(),
                led_teams: m.led_teams.clone(),
            }),
        }
    }

    /// Loads the caller's membership in `org` and checks `action` on `resource`.
    /// A foreign organization answers `NotFound`, so ids of other tenants reveal nothing.
    pub async fn authorize(
        services: &Services,
        caller: &Caller,
        org: OrgId,
        action: Action,
        resource: &Resource,
    ) -> Result<(Actor, MembershipRecord), AppError> {
        let membership = services.store.membership(org, caller.user.id).await?.ok_or(AppError::NotFound)?;
        let actor = actor(&caller.user, Some(&membership));
        if !can(&actor, action, resource) {
            return Err(AppError::Forbidden);
        }
        Ok((actor, membership))
    }

    /// The organization the caller is working in (the session's choice, else their first).
    pub async fn active_org(services: &Services, caller: &Caller) -> Result<MembershipRecord, AppError> {
        if let Some(org) = caller.session.active_org
            && let Some(membership) = services.store.membership(org, caller.user.id).await?
        {
            return Ok(membership);
        }
        // A new session opens where the person worked last; with no history, in a shared
        // organization before their personal workspace.
        let memberships = services.store.memberships_of(caller.user.id).await?;
        let mut sessions = services.store.sessions_of(caller.user.id).await?;
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_seen_at));
        let last_used = sessions
            .iter()
            .filter(|s| s.id != caller.session.id)
            .find_map(|s| s.active_org.and_then(|org| memberships.iter().position(|m| m.org.id == org)));
        let shared = memberships.iter().position(|m| m.org.kind != crate::domain::OrgKind::Personal);
        let index = last_used.or(shared).unwrap_or(0);
        let chosen = memberships.into_iter().nth(index).ok_or(AppError::NotFound)?;
        // Remembered, so the next request finds it at once.
        services.store.set_session_org(caller.session.id, Some(chosen.org.id)).await?;
        Ok(chosen)
    }

    /// Appends to the audit log, with who, from where and when.
    pub async fn audit(
        services: &Services,
        actor: Option<crate::domain::UserId>,
        org: Option<OrgId>,
        action: &str,
        target: impl Into<String>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), AppError> {
        let meta = request_meta();
        let entry = AuditEntry {
            org_id: org,
            actor_id: actor,
            action: action.to_owned(),
            target: target.into(),
            before,
            after,
            ip: meta.ip,
            user_agent: meta.user_agent,
            at: services.clock.now(),
        };
        services.store.append_audit(&entry).await?;
        Ok(())
    }
}
