//! Signing up, in and out: email + password, email verification, password reset, magic links and
//! the second factor. Every answer is the same whether or not an email is registered.

use crate::dto::SignInOutcome;
use crate::error::AppError;
use leptos::server;

#[cfg(feature = "ssr")]
use {
    super::{Caller, audit, request_meta, respond, services, session_caller, set_header},
    crate::domain::{DisplayName, Email, OrgId, OrgKind, Password, TotpCode, UserId},
    crate::error::FieldResult,
    crate::ports::{NewUser, OrgRecord, OutgoingMail, Services, SessionRecord, TokenPurpose},
    crate::security,
    axum::http::header,
    chrono::Duration,
};

/// What every sign-up answers, whether or not the email already has an account.
pub const SIGN_UP_SENT: &str = "Check your inbox: we sent you a link to confirm your email address.";
/// What every reset or magic-link request answers.
pub const LINK_SENT: &str = "If that address has an account, we have emailed it a link. It expires soon.";

/// Creates an account (and its personal organization) and emails a verification link.
/// Public: anyone may sign up.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    display_name: String,
    email: String,
    password: String,
    timezone: Option<String>,
) -> Result<String, AppError> {
    respond(async move {
        let services = services()?;
        let name = DisplayName::parse(&display_name).field("display_name")?;
        let email = Email::parse(&email).field("email")?;
        let password = Password::parse(&password).field("password")?;
        let timezone = timezone.filter(|tz| valid_timezone(tz)).unwrap_or_else(|| "UTC".into());
        let now = services.clock.now();

        // Hash before looking the address up, so both answers take the same time.
        let hash = security::hash_password(&services.hashing, password.expose()).await?;
        if services.store.user_by_email(&email).await?.is_some() {
            // Same answer as a new sign-up; the owner of the address learns someone tried.
            let link = format!("{}/sign-in", services.settings.public_url);
            send(&services, email.as_str(), "Someone tried to sign up with your email",
                 &format!("Someone tried to create a Cairn account with this address, which already has one.\n\nSign in: {link}\nForgot your password? {}/forgot-password\n", services.settings.public_url)).await;
            return Ok(SIGN_UP_SENT.to_owned());
        }
        let user = NewUser {
            id: UserId::new(),
            email: email.clone(),
            display_name: name.into_inner(),
            password_hash: Some(hash),
            timezone,
            email_verified_at: None,
            created_at: now,
        };
        let org = personal_org(&user.display_name, now);
        match services.store.create_user(&user, &org).await {
            Ok(()) => {}
            // Lost a race with a concurrent sign-up for the same address: same answer.
            Err(crate::ports::StoreError::Conflict(_)) => return Ok(SIGN_UP_SENT.to_owned()),
            Err(err) => return Err(err.into()),
        }
        audit(&services, None, Some(org.id), "user.signed_up", format!("user:{}", user.id), None,
              Some(serde_json::json!({ "email": email.as_str() }))).await?;
        crate::api::billing::rules::remember_referral(&services, user.id).await?;
        send_verification(&services, user.id, email.as_str()).await?;
        Ok(SIGN_UP_SENT.to_owned())
    })
    .await
}

/// Signs in with email and password. Public; limited per account and per IP.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<SignInOutcome, AppError> {
    respond(async move {
        let services = services()?;
        let email = Email::parse(&email).field("email")?;
        if password.is_empty() {
            return Err(AppError::validation("password", "Enter your password."));
        }
        let meta = request_meta();
        check_sign_in_limits(&services, email.as_str(), &meta.ip).await?;
        let user = services.store.user_by_email(&email).await?;
        let ok = security::verify_password(
            &services.hashing,
            &password,
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
        )
        .await?;
        let Some(user) = user.filter(|_| ok) else {
            services.store.record_sign_in_failure(email.as_str(), &meta.ip, services.clock.now()).await?;
            return Err(AppError::validation("password", "That email and password do not match an account."));
        };
        if user.email_verified_at.is_none() {
            send_verification(&services, user.id, &user.email).await?;
            return Err(AppError::validation(
                "email",
                "Confirm your email address first: we have sent you a new link.",
            ));
        }
        let pending = user.totp_enabled_at.is_some();
        start_session(&services, user.id, pending).await?;
        audit(&services, Some(user.id), None, "session.signed_in", format!("user:{}", user.id), None, None).await?;
        Ok(if pending { SignInOutcome::SecondFactorRequired } else { SignInOutcome::SignedIn })
    })
    .await
}

/// Completes a sign-in with a TOTP or recovery code. Needs a session that owes a second factor.
#[server(endpoint = "second_factor")]
pub async fn second_factor(code: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = session_caller().filter(|c| c.session.mfa_pending).ok_or(AppError::Unauthenticated)?;
        let meta = request_meta();
        check_sign_in_limits(&services, &caller.user.email, &meta.ip).await?;
        let code = TotpCode::parse(&code).field("code")?;
        let now = services.clock.now();
        let accepted = match (&code, caller.user.totp_secret.as_deref()) {
            (TotpCode::Totp(code), Some(secret)) => security::verify_totp(secret, code, now.timestamp()),
            (TotpCode::Recovery(code), _) => {
                services.store.use_recovery_code(caller.user.id, &security::hash_token(code), now).await?
            }
            _ => false,
        };
        if !accepted {
            services.store.record_sign_in_failure(&caller.user.email, &meta.ip, now).await?;
            return Err(AppError::validation("code", "That code is not valid. Try the current code from your app."));
        }
        services.store.complete_session_mfa(caller.session.id).await?;
        let action =
            if matches!(code, TotpCode::Recovery(_)) { "session.recovery_code_used" } else { "session.second_factor" };
        audit(&services, Some(caller.user.id), None, action, format!("user:{}", caller.user.id), None, None).await?;
        Ok(())
    })
    .await
}

/// Ends the current session on the server and clears the cookie.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        if let Some(caller) = session_caller() {
            services.store.delete_session(caller.user.id, caller.session.id).await?;
            audit(
                &services,
                Some(caller.user.id),
                None,
                "session.signed_out",
                format!("user:{}", caller.user.id),
                None,
                None,
            )
            .await?;
        }
        set_header(header::SET_COOKIE, &clear_cookie(&services));
        Ok(())
    })
    .await
}

/// Confirms an email address from the emailed link and signs the person in.
#[server(endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<SignInOutcome, AppError> {
    respond(async move {
        let services = services()?;
        let now = services.clock.now();
        let user_id = services
            .store
            .consume_token(&security::hash_token(&token), TokenPurpose::VerifyEmail, now)
            .await?
            .ok_or_else(|| {
                AppError::validation("token", "This link has expired or was already used. Sign in to get a new one.")
            })?;
        services.store.mark_email_verified(user_id, now).await?;
        sign_in_after_link(&services, user_id, "user.email_verified").await
    })
    .await
}

/// Emails a password-reset link if the address has an account. Public; same answer either way.
#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<String, AppError> {
    respond(async move {
        let services = services()?;
        let email = Email::parse(&email).field("email")?;
        if let Some(user) = services.store.user_by_email(&email).await? {
            let token = issue_token(&services, user.id, TokenPurpose::ResetPassword, Duration::hours(1)).await?;
            let link = format!("{}/reset-password?token={token}", services.settings.public_url);
            send(&services, &user.email, "Reset your Cairn password",
                 &format!("Choose a new password here (the link works once, for one hour):\n\n{link}\n\nIf you did not ask for this, ignore this email.\n")).await;
        }
        Ok(LINK_SENT.to_owned())
    })
    .await
}

/// Sets a new password from a reset link; ends every session of the account.
#[server(endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let password = Password::parse(&password).field("password")?;
        let now = services.clock.now();
        let user_id = services
            .store
            .consume_token(&security::hash_token(&token), TokenPurpose::ResetPassword, now)
            .await?
            .ok_or_else(|| {
                AppError::validation("token", "This reset link has expired or was already used. Ask for a new one.")
            })?;
        let hash = security::hash_password(&services.hashing, password.expose()).await?;
        services.store.set_password_hash(user_id, &hash).await?;
        // Following the link proved the address.
        services.store.mark_email_verified(user_id, now).await?;
        services.store.delete_other_sessions(user_id, None).await?;
        audit(&services, Some(user_id), None, "user.password_reset", format!("user:{user_id}"), None, None).await?;
        Ok(())
    })
    .await
}

/// Emails a one-time sign-in link if the address has an account. Public; same answer either way.
#[server(endpoint = "request_magic_link")]
pub async fn request_magic_link(email: String) -> Result<String, AppError> {
    respond(async move {
        let services = services()?;
        let email = Email::parse(&email).field("email")?;
        if let Some(user) = services.store.user_by_email(&email).await? {
            let token = issue_token(&services, user.id, TokenPurpose::MagicLink, Duration::minutes(15)).await?;
            let link = format!("{}/magic?token={token}", services.settings.public_url);
            send(
                &services,
                &user.email,
                "Your Cairn sign-in link",
                &format!("Sign in to Cairn with this link (it works once, for 15 minutes):\n\n{link}\n"),
            )
            .await;
        }
        Ok(LINK_SENT.to_owned())
    })
    .await
}

/// Signs in from a magic link.
#[server(endpoint = "magic_sign_in")]
pub async fn magic_sign_in(token: String) -> Result<SignInOutcome, AppError> {
    respond(async move {
        let services = services()?;
        let now = services.clock.now();
        let user_id = services
            .store
            .consume_token(&security::hash_token(&token), TokenPurpose::MagicLink, now)
            .await?
            .ok_or_else(|| AppError::validation("token", "This sign-in link has expired or was already used."))?;
        services.store.mark_email_verified(user_id, now).await?;
        sign_in_after_link(&services, user_id, "session.magic_link").await
    })
    .await
}

#[cfg(feature = "ssr")]
async fn sign_in_after_link(services: &Services, user_id: UserId, action: &str) -> Result<SignInOutcome, AppError> {
    let user = services.store.user_by_id(user_id).await?.ok_or(AppError::NotFound)?;
    let pending = user.totp_enabled_at.is_some();
    start_session(services, user_id, pending).await?;
    audit(services, Some(user_id), None, action, format!("user:{user_id}"), None, None).await?;
    Ok(if pending { SignInOutcome::SecondFactorRequired } else { SignInOutcome::SignedIn })
}

#[cfg(feature = "ssr")]
fn valid_timezone(tz: &str) -> bool {
    !tz.is_empty() && tz.len() <= 64 && tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
}

#[cfg(feature = "ssr")]
pub(crate) fn personal_org(display_name: &str, now: chrono::DateTime<chrono::Utc>) -> OrgRecord {
    let first = display_name.split_whitespace().next().unwrap_or("My");
    OrgRecord { id: OrgId::new(), name: format!("{first}'s workspace"), kind: OrgKind::Personal, created_at: now }
}

#[cfg(feature = "ssr")]
async fn check_sign_in_limits(services: &Services, email: &str, ip: &str) -> Result<(), AppError> {
    let now = services.clock.now();
    let hour = Duration::hours(1);
    let window_ip = Duration::minutes(15);
    let counts = services.store.sign_in_failures(email, ip, now - hour).await?;
    let retry = |oldest: Option<chrono::DateTime<chrono::Utc>>, window: Duration| {
        let until = oldest.map_or(now + window, |t| t + window);
        (until - now).num_seconds().max(1) as u64
    };
    if counts.by_email >= services.settings.sign_in_limit_per_account {
        return Err(AppError::RateLimited { retry_after_secs: retry(counts.oldest_by_email, hour) });
    }
    let recent_ip = services.store.sign_in_failures(email, ip, now - window_ip).await?;
    if recent_ip.by_ip >= services.settings.sign_in_limit_per_ip {
        return Err(AppError::RateLimited { retry_after_secs: retry(recent_ip.oldest_by_ip, window_ip) });
    }
    Ok(())
}

/// Creates a session, sets the cookie and ends the session the browser held before (rotation).
#[cfg(feature = "ssr")]
pub(crate) async fn start_session(services: &Services, user_id: UserId, mfa_pending: bool) -> Result<(), AppError> {
    if let Some(previous) = session_caller() {
        services.store.delete_session(previous.user.id, previous.session.id).await?;
    }
    let cookie = open_session(services, user_id, mfa_pending, &request_meta()).await?;
    set_header(header::SET_COOKIE, &cookie);
    Ok(())
}

/// Stores a new session and returns its `Set-Cookie` value. Used by server functions and by the
/// server's own routes (OAuth callbacks).
#[cfg(feature = "ssr")]
pub async fn open_session(
    services: &Services,
    user_id: UserId,
    mfa_pending: bool,
    meta: &super::RequestMeta,
) -> Result<String, AppError> {
    let token = security::random_token();
    let now = services.clock.now();
    let session = SessionRecord {
        id: uuid::Uuid::now_v7(),
        token_hash: security::hash_token(&token),
        user_id,
        active_org: None,
        mfa_pending,
        created_at: now,
        last_seen_at: now,
        expires_at: now + services.settings.session_absolute,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.chars().take(300).collect(),
    };
    services.store.create_session(&session).await?;
    Ok(session_cookie(services, &token))
}

/// Signs in the owner of an email address a provider has verified (OAuth), creating the account
/// with its personal organization when there is none. Returns the `Set-Cookie` value and whether
/// a second factor is still owed.
#[cfg(feature = "ssr")]
pub async fn sign_in_with_verified_email(
    services: &Services,
    email: &str,
    display_name: &str,
    provider: &str,
    meta: &super::RequestMeta,
) -> Result<(String, SignInOutcome), AppError> {
    let email = Email::parse(email).field("email")?;
    let now = services.clock.now();
    let user = match services.store.user_by_email(&email).await? {
        Some(user) => user,
        None => {
            let name = DisplayName::parse(display_name)
                .or_else(|_| DisplayName::parse(email.as_str().split('@').next().unwrap_or("New member")))
                .field("display_name")?;
            let user = NewUser {
                id: UserId::new(),
                email: email.clone(),
                display_name: name.into_inner(),
                password_hash: None,
                timezone: "UTC".into(),
                email_verified_at: Some(now),
                created_at: now,
            };
            let org = personal_org(&user.display_name, now);
            services.store.create_user(&user, &org).await?;
            services.store.user_by_id(user.id).await?.ok_or(AppError::NotFound)?
        }
    };
    services.store.mark_email_verified(user.id, now).await?;
    let pending = user.totp_enabled_at.is_some();
    let cookie = open_session(services, user.id, pending, meta).await?;
    let entry = crate::ports::AuditEntry {
        org_id: None,
        actor_id: Some(user.id),
        action: "session.oauth".into(),
        target: format!("user:{}", user.id),
        before: None,
        after: Some(serde_json::json!({ "provider": provider })),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        at: now,
    };
    services.store.append_audit(&entry).await?;
    Ok((cookie, if pending { SignInOutcome::SecondFactorRequired } else { SignInOutcome::SignedIn }))
}

/// The OAuth providers this server offers, as (id, label). Public.
#[server(endpoint = "sign_in_options")]
pub async fn sign_in_options() -> Result<Vec<(String, String)>, AppError> {
    respond(async move { Ok(services()?.settings.oauth_providers.clone()) }).await
}

#[cfg(feature = "ssr")]
fn session_cookie(services: &Services, token: &str) -> String {
    let settings = &services.settings;
    let secure = if settings.secure_cookies() { "; Secure" } else { "" };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        settings.session_cookie_name(),
        settings.session_absolute.num_seconds()
    )
}

#[cfg(feature = "ssr")]
pub(crate) fn clear_cookie(services: &Services) -> String {
    let secure = if services.settings.secure_cookies() { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", services.settings.session_cookie_name())
}

#[cfg(feature = "ssr")]
async fn issue_token(
    services: &Services,
    user: UserId,
    purpose: TokenPurpose,
    ttl: Duration,
) -> Result<String, AppError> {
    let token = security::random_token();
    services.store.insert_token(&security::hash_token(&token), user, purpose, services.clock.now() + ttl).await?;
    Ok(token)
}

#[cfg(feature = "ssr")]
async fn send_verification(services: &Services, user: UserId, email: &str) -> Result<(), AppError> {
    let token = issue_token(services, user, TokenPurpose::VerifyEmail, Duration::hours(24)).await?;
    let link = format!("{}/verify-email?token={token}", services.settings.public_url);
    send(
        services,
        email,
        "Confirm your email for Cairn",
        &format!("Welcome to Cairn! Confirm your email address with this link (valid for 24 hours):\n\n{link}\n"),
    )
    .await;
    Ok(())
}

/// Sends mail in the background: no answer waits on (or reveals through its timing) the mail
/// server, and a failure is logged, not shown.
#[cfg(feature = "ssr")]
pub(crate) async fn send(services: &Services, to: &str, subject: &str, body: &str) {
    let mail = OutgoingMail { to: to.to_owned(), subject: subject.to_owned(), body: body.to_owned() };
    let mailer = services.mailer.clone();
    tokio::spawn(async move {
        if let Err(err) = mailer.send(mail).await {
            tracing::error!(error = %err, "sending mail failed");
        }
    });
}

/// Resolves a session cookie's token: checks absolute and idle expiry, refreshes `last_seen_at`
/// at most once a minute. Called by the server's middleware on every request.
#[cfg(feature = "ssr")]
pub async fn resolve_session(services: &Services, token: &str) -> Result<Option<Caller>, AppError> {
    let now = services.clock.now();
    let Some(session) = services.store.session_by_token_hash(&security::hash_token(token)).await? else {
        return Ok(None);
    };
    if now >= session.expires_at || now - session.last_seen_at >= services.settings.session_idle {
        services.store.delete_session(session.user_id, session.id).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= Duration::minutes(1) {
        services.store.touch_session(session.id, now).await?;
    }
    let Some(user) = services.store.user_by_id(session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(Caller { session, user }))
}
