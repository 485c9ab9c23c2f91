//! HTTP plumbing around the Leptos app: who is calling (session cookie), cross-site request
//! rejection, security headers, metrics, health, and the plain routes (audit CSV).

pub mod api_v1;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod rate;
pub mod render;
pub mod run;
pub mod stripe;

use crate::AppState;
use app::api::auth::resolve_session;
use app::api::export::{Format, Selection};
use app::api::{CallerSlot, RequestMeta};
use app::domain::OrgId;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use leptos::nonce::Nonce;
use std::net::SocketAddr;

/// Resolves the session cookie into a `CallerSlot` and records where the request comes from.
pub async fn identify(State(state): State<AppState>, mut req: Request<Body>, next: Next) -> Response {
    let ip = client_ip(&req, state.config.trust_proxy);
    let user_agent =
        req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").chars().take(300).collect();
    req.extensions_mut().insert(RequestMeta { ip, user_agent });
    let cookie_name = state.services.settings.session_cookie_name();
    let caller = match cookie_value(req.headers(), cookie_name) {
        Some(token) => match resolve_session(&state.services, &token).await {
            Ok(caller) => caller,
            Err(err) => {
                tracing::error!(error = %err, "resolving the session failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "session lookup failed").into_response();
            }
        },
        None => None,
    };
    req.extensions_mut().insert(CallerSlot(caller));
    next.run(req).await
}

fn client_ip(req: &Request<Body>, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(first) = forwarded.split(',').next()
    {
        return first.trim().to_owned();
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default()
}

pub use app::api::cookie_value;

/// Rejects cross-site state-changing requests: every non-GET/HEAD/OPTIONS request whose
/// `Sec-Fetch-Site` says cross-site, or whose `Origin` is not this site. Requests without either
/// header (not from a browser) carry no ambient cookie risk and pass.
pub async fn reject_cross_site(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if fetch_site == Some("cross-site") {
            return forbidden_cross_site();
        }
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            let same_host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host);
            if origin != state.config.public_url && !same_host {
                return forbidden_cross_site();
            }
        }
    }
    next.run(req).await
}

fn forbidden_cross_site() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(serde_json::json!({ "code": "cross_site", "message": "Cross-site requests are not allowed." })),
    )
        .into_response()
}

/// Headers every response carries, and its Content-Security-Policy. A page's CSP allows the
/// inline scripts that carry this request's nonce: the nonce is made here, put in the request's
/// extensions, and given to Leptos by [`crate::page_context`], so the header and the page always
/// agree. Anything else gets a locked-down default.
///
/// The header is set here rather than through Leptos's `ResponseOptions`: set there, a page now
/// and then went out without it under load, and the browser refused its scripts, so it never
/// hydrated (the likely path: `render::without_stale_owner`).
pub async fn security_headers(State(state): State<AppState>, mut req: Request<Body>, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    let is_page = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let csp = if is_page {
        page_csp(&nonce)
    } else {
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    if state.config.public_url.starts_with("https://") {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// A page's policy: its own scripts, the inline ones Leptos writes with `nonce`, and compiling
/// the app's WebAssembly.
fn page_csp(nonce: &Nonce) -> HeaderValue {
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::try_from(policy).expect("a nonce is URL-safe base64, valid in a header")
}

/// Liveness and database check.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": state.db.backend() })).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "error", "database": "unreachable" })))
                .into_response()
        }
    }
}

/// `GET /r/{code}`: an affiliate link. Counts the click, leaves the referral cookie for the
/// attribution window and sends the visitor on to the product.
pub async fn referral(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let services = &state.services;
    let home = || (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_static("/"))]).into_response();
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return home();
    }
    let link = match services.store.affiliate_link(&code).await {
        Ok(Some(link)) => link,
        Ok(None) => return home(),
        Err(err) => {
            tracing::error!(error = %err, "affiliate link lookup");
            return home();
        }
    };
    if let Err(err) = services.store.record_affiliate_click(&link.code, services.clock.now()).await {
        tracing::warn!(error = %err, "affiliate click not counted");
    }
    let to = if let Some(id) = link.product.strip_prefix("sequence:") {
        format!("/sequences/{id}")
    } else if let Some(id) = link.product.strip_prefix("journey:") {
        format!("/journeys/{id}")
    } else {
        "/".to_owned()
    };
    let secure = if services.settings.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        app::api::billing::REFERRAL_COOKIE,
        link.code,
        services.settings.affiliate_window_days * 86_400
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let (Ok(location), Ok(cookie)) = (HeaderValue::from_str(&to), HeaderValue::from_str(&cookie)) {
        response.headers_mut().insert(header::LOCATION, location);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /orgs/{id}/audit.csv`: the organization's audit log for Owners and Admins.
pub async fn audit_csv(State(state): State<AppState>, Path(org): Path<String>, req: Request<Body>) -> Response {
    let Ok(org) = org.parse::<OrgId>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(caller) =
        req.extensions().get::<CallerSlot>().and_then(|s| s.0.clone()).filter(|c| !c.session.mfa_pending)
    else {
        return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response();
    };
    match app::api::orgs::audit_csv(&state.services, &caller, org).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
                (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"audit-log.csv\"")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            csv,
        )
            .into_response(),
        Err(err) => {
            (StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(err)).into_response()
        }
    }
}

/// The signed-in caller acting in the organization of a download URL.
async fn download_principal(
    state: &AppState,
    org: &str,
    parts: (Option<app::api::Caller>, RequestMeta),
) -> Result<app::api::prompts::library::Principal, Response> {
    let org = org.parse::<OrgId>().map_err(|_| StatusCode::NOT_FOUND.into_response())?;
    let (caller, meta) = parts;
    let caller = caller
        .filter(|c| !c.session.mfa_pending)
        .ok_or_else(|| (StatusCode::UNAUTHORIZED, "Please sign in.").into_response())?;
    app::api::export::principal_for(&state.services, &caller, org, meta).await.map_err(|e| error_response(&e))
}

/// Who is asking and from where, taken out of the request before any await.
fn caller_and_meta(req: &Request<Body>) -> (Option<app::api::Caller>, RequestMeta) {
    let caller = req.extensions().get::<CallerSlot>().and_then(|s| s.0.clone());
    (caller, req.extensions().get::<RequestMeta>().cloned().unwrap_or_default())
}

fn error_response(err: &app::error::AppError) -> Response {
    (StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(err.clone())).into_response()
}

fn download(content_type: &'static str, filename: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static(filename)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    /// Comma-separated prompt ids; all prompts when absent.
    #[serde(default)]
    ids: Option<String>,
}

/// The principal and selection of an export download, or the response that refuses it.
async fn export_request(
    state: &AppState,
    org: &str,
    query: &ExportQuery,
    req: Request<Body>,
) -> Result<(app::api::prompts::library::Principal, Selection), Response> {
    let parts = caller_and_meta(&req);
    drop(req);
    let p = download_principal(state, org, parts).await?;
    let selection = Selection::parse(query.ids.as_deref()).map_err(|e| error_response(&e))?;
    Ok((p, selection))
}

/// `GET /orgs/{id}/prompts.json[?ids=…]`: the library or a selection, lossless. Owners and Admins.
pub async fn prompts_json(
    state: State<AppState>,
    org: Path<String>,
    query: Query<ExportQuery>,
    req: Request<Body>,
) -> Response {
    prompts_download(state, org, query, req, Format::Json).await
}

/// `GET /orgs/{id}/prompts.csv[?ids=…]`: one row per prompt, its current version. Owners and Admins.
pub async fn prompts_csv(
    state: State<AppState>,
    org: Path<String>,
    query: Query<ExportQuery>,
    req: Request<Body>,
) -> Response {
    prompts_download(state, org, query, req, Format::Csv).await
}

/// `GET /orgs/{id}/prompts.zip[?ids=…]`: one Markdown file per prompt, with front matter.
pub async fn prompts_zip(
    state: State<AppState>,
    org: Path<String>,
    query: Query<ExportQuery>,
    req: Request<Body>,
) -> Response {
    prompts_download(state, org, query, req, Format::Markdown).await
}

async fn prompts_download(
    State(state): State<AppState>,
    Path(org): Path<String>,
    Query(query): Query<ExportQuery>,
    req: Request<Body>,
    format: Format,
) -> Response {
    let (p, selection) = match export_request(&state, &org, &query, req).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    match export_file(&state, &p, &selection, format).await {
        Ok(file) => download(format.content_type(), format.disposition(), file),
        Err(err) => error_response(&err),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct AnalyticsQuery {
    #[serde(default = "thirty")]
    days: i64,
}

fn thirty() -> i64 {
    30
}

/// `GET /orgs/{id}/analytics.csv?days=7|30|90`: the analytics page's tables. Owners and Admins.
pub async fn analytics_csv(
    State(state): State<AppState>,
    Path(org): Path<String>,
    Query(query): Query<AnalyticsQuery>,
    req: Request<Body>,
) -> Response {
    let parts = caller_and_meta(&req);
    drop(req);
    let p = match download_principal(&state, &org, parts).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    match app::api::analytics::rules::analytics(&state.services, &p, query.days).await {
        Ok(view) => download(
            "text/csv; charset=utf-8",
            "attachment; filename=\"analytics.csv\"",
            app::api::analytics::rules::csv(&view),
        ),
        Err(err) => error_response(&err),
    }
}

/// An export as the bytes of its file (JSON pretty-printed; Markdown zipped).
pub async fn export_file(
    state: &AppState,
    p: &app::api::prompts::library::Principal,
    selection: &Selection,
    format: Format,
) -> Result<Vec<u8>, app::error::AppError> {
    use app::api::export;
    use app::error::AppError;
    Ok(match format {
        Format::Json => serde_json::to_vec_pretty(&export::json(&state.services, p, selection).await?)
            .map_err(AppError::internal)?,
        Format::Csv => export::csv(&state.services, p, selection).await?.into_bytes(),
        Format::Markdown => {
            let mut zip = crate::zip::ZipWriter::default();
            for (name, text, modified) in export::markdown(&state.services, p, selection).await? {
                zip.add(&name, text.as_bytes(), modified).map_err(AppError::internal)?;
            }
            zip.finish().map_err(AppError::internal)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::cookie_value;
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark; cairn_session=abc123"));
        headers.append(header::COOKIE, HeaderValue::from_static("other=1"));
        assert_eq!(cookie_value(&headers, "cairn_session").as_deref(), Some("abc123"));
        assert_eq!(cookie_value(&headers, "other").as_deref(), Some("1"));
        assert_eq!(cookie_value(&headers, "cairn"), None, "no prefix matches");
        assert_eq!(cookie_value(&HeaderMap::new(), "cairn_session"), None);
    }
}
