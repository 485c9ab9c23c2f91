//! OAuth 2.0 / OpenID Connect sign-in (authorization code flow with PKCE) for Google, GitHub
//! and Microsoft, configured by environment variables.
//!
//! `POST /auth/oauth/{provider}` (a form button) stores a one-time state with the PKCE verifier
//! and redirects to the provider; `GET /auth/oauth/{provider}/callback` takes the state back
//! (once), exchanges the code for an access token, reads the person's verified email from the
//! provider, and signs them in — creating the account on first use.

use crate::AppState;
use app::api::RequestMeta;
use app::dto::SignInOutcome;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// One provider's client registration and endpoints.
#[derive(Debug, Clone)]
pub struct OAuthProvider {
    pub id: &'static str,
    pub label: &'static str,
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub scope: &'static str,
}

struct Known {
    id: &'static str,
    label: &'static str,
    auth_url: &'static str,
    token_url: &'static str,
    userinfo_url: &'static str,
    scope: &'static str,
}

const KNOWN: [Known; 3] = [
    Known {
        id: "google",
        label: "Google",
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo",
        scope: "openid email profile",
    },
    Known {
        id: "github",
        label: "GitHub",
        auth_url: "https://github.com/login/oauth/authorize",
        token_url: "https://github.com/login/oauth/access_token",
        userinfo_url: "https://api.github.com/user",
        scope: "read:user user:email",
    },
    Known {
        id: "microsoft",
        label: "Microsoft",
        auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        userinfo_url: "https://graph.microsoft.com/oidc/userinfo",
        scope: "openid email profile",
    },
];

/// Providers configured through `CAIRN_OAUTH_<PROVIDER>_CLIENT_ID` and `_CLIENT_SECRET`, with
/// optional `_AUTH_URL`, `_TOKEN_URL` and `_USERINFO_URL` overrides.
pub fn providers_from_env() -> Vec<OAuthProvider> {
    let var = |name: String| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    KNOWN
        .iter()
        .filter_map(|k| {
            let prefix = format!("CAIRN_OAUTH_{}", k.id.to_uppercase());
            Some(OAuthProvider {
                id: k.id,
                label: k.label,
                client_id: var(format!("{prefix}_CLIENT_ID"))?,
                client_secret: var(format!("{prefix}_CLIENT_SECRET"))?,
                auth_url: var(format!("{prefix}_AUTH_URL")).unwrap_or_else(|| k.auth_url.into()),
                token_url: var(format!("{prefix}_TOKEN_URL")).unwrap_or_else(|| k.token_url.into()),
                userinfo_url: var(format!("{prefix}_USERINFO_URL")).unwrap_or_else(|| k.userinfo_url.into()),
                scope: k.scope,
            })
        })
        .collect()
}

/// A provider as configured for tests or custom deployments.
pub fn provider(id: &str, client_id: &str, client_secret: &str, base_url: &str) -> Option<OAuthProvider> {
    let k = KNOWN.iter().find(|k| k.id == id)?;
    Some(OAuthProvider {
        id: k.id,
        label: k.label,
        client_id: client_id.into(),
        client_secret: client_secret.into(),
        auth_url: format!("{base_url}/authorize"),
        token_url: format!("{base_url}/token"),
        userinfo_url: format!("{base_url}/userinfo"),
        scope: k.scope,
    })
}

fn find<'a>(state: &'a AppState, id: &str) -> Option<&'a OAuthProvider> {
    state.config.oauth.iter().find(|p| p.id == id)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn redirect_uri(state: &AppState, provider: &OAuthProvider) -> String {
    format!("{}/auth/oauth/{}/callback", state.config.public_url, provider.id)
}

fn problem(status: StatusCode, message: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in failed · Cairn</title><link rel=\"stylesheet\" href=\"/pkg/cairn.css\"></head><body><main class=\"page narrow\">\
         <h1>Sign-in failed</h1><p role=\"alert\">{message}</p><p><a href=\"/sign-in\">Back to sign in</a></p></main></body></html>"
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

#[derive(Deserialize)]
pub struct StartForm {
    next: Option<String>,
}

/// `POST /auth/oauth/{provider}`: starts the flow.
pub async fn start(State(state): State<AppState>, Path(id): Path<String>, Form(form): Form<StartForm>) -> Response {
    let Some(provider) = find(&state, &id) else {
        return problem(StatusCode::NOT_FOUND, "That sign-in provider is not configured.");
    };
    let oauth_state = app::security::random_token();
    let verifier = app::security::random_token();
    let challenge = b64(&Sha256::digest(verifier.as_bytes()));
    let next = form.next.filter(|n| n.starts_with('/') && !n.starts_with("//")).unwrap_or_else(|| "/".into());
    let expires = state.services.clock.now() + chrono::Duration::minutes(10);
    if let Err(err) = state
        .services
        .store
        .insert_oauth_state(&app::security::hash_token(&oauth_state), provider.id, &verifier, &next, expires)
        .await
    {
        tracing::error!(error = %err, "storing OAuth state failed");
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Try again.");
    }
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", provider.client_id.as_str()),
        ("redirect_uri", redirect_uri(&state, provider).as_str()),
        ("scope", provider.scope),
        ("state", oauth_state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    Redirect::to(&format!("{}?{query}", provider.auth_url)).into_response()
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

#[derive(Deserialize)]
struct UserInfo {
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    login: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// `GET /auth/oauth/{provider}/callback`: finishes the flow and signs the person in.
pub async fn callback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<CallbackQuery>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    let Some(provider) = find(&state, &id) else {
        return problem(StatusCode::NOT_FOUND, "That sign-in provider is not configured.");
    };
    if let Some(error) = query.error {
        tracing::info!(provider = provider.id, %error, "OAuth provider refused");
        return problem(
            StatusCode::BAD_REQUEST,
            "The provider did not sign you in. Try again or use your email and password.",
        );
    }
    let (Some(code), Some(oauth_state)) = (query.code, query.state) else {
        return problem(StatusCode::BAD_REQUEST, "The sign-in answer was incomplete.");
    };
    let now = state.services.clock.now();
    let taken = state.services.store.take_oauth_state(&app::security::hash_token(&oauth_state), now).await;
    let (verifier, next) = match taken {
        Ok(Some((stored_provider, verifier, next))) if stored_provider == provider.id => (verifier, next),
        Ok(_) => {
            return problem(StatusCode::BAD_REQUEST, "This sign-in link has expired or was already used. Start again.");
        }
        Err(err) => {
            tracing::error!(error = %err, "reading OAuth state failed");
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Try again.");
        }
    };
    let identity = match fetch_identity(&state, provider, &code, &verifier).await {
        Ok(identity) => identity,
        Err(message) => {
            tracing::warn!(provider = provider.id, %message, "OAuth exchange failed");
            return problem(StatusCode::BAD_GATEWAY, &message);
        }
    };
    let (email, name) = identity;
    match app::api::auth::sign_in_with_verified_email(&state.services, &email, &name, provider.id, &meta).await {
        Ok((cookie, outcome)) => {
            let target = match outcome {
                SignInOutcome::SignedIn => next,
                SignInOutcome::SecondFactorRequired => format!("/sign-in/second-factor?next={next}"),
            };
            let mut response = Redirect::to(&target).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(err) => {
            problem(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), &err.to_string())
        }
    }
}

/// Exchanges the code (with the PKCE verifier) and reads a verified email and a name.
async fn fetch_identity(
    state: &AppState,
    provider: &OAuthProvider,
    code: &str,
    verifier: &str,
) -> Result<(String, String), String> {
    let http = &state.http;
    let token: TokenResponse = http
        .post(&provider.token_url)
        .header(header::ACCEPT, "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri(state, provider).as_str()),
            ("client_id", provider.client_id.as_str()),
            ("client_secret", provider.client_secret.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("The provider did not accept the sign-in ({e})."))?
        .json()
        .await
        .map_err(|e| format!("The provider's answer could not be read ({e})."))?;
    let get = |url: String| {
        http.get(url)
            .bearer_auth(&token.access_token)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "Cairn")
            .send()
    };
    let info: UserInfo = get(provider.userinfo_url.clone())
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("Could not read your profile from the provider ({e})."))?
        .json()
        .await
        .map_err(|e| format!("The provider's profile could not be read ({e})."))?;
    let name = info.name.clone().or(info.login.clone()).unwrap_or_default();
    let email = if provider.id == "github" {
        // GitHub lists addresses with their verification state separately.
        let emails: Vec<GitHubEmail> = get(format!("{}/emails", provider.userinfo_url))
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("Could not read your email addresses from GitHub ({e})."))?
            .json()
            .await
            .map_err(|e| format!("GitHub's answer could not be read ({e})."))?;
        emails.into_iter().find(|e| e.primary && e.verified).map(|e| e.email)
    } else {
        info.email.filter(|_| info.email_verified == Some(true))
    };
    let email = email.ok_or_else(|| "Your account at the provider has no verified email address.".to_string())?;
    Ok((email, name))
}
