//! The REST API under `/api/v1`, authenticated by organization API keys
//! (`Authorization: Bearer cairn_…`) and rate limited per key.
//!
//! Every error is JSON with a stable `code` (`not_found`, `unauthenticated`, `forbidden`,
//! `validation`, `conflict`, `rate_limited`, `invalid_json`, `import_invalid`, `internal`), a
//! `message`, and for validation errors the `field`. Handlers call the same `library` functions as the UI.

use crate::AppState;
use app::api::RequestMeta;
use app::api::organize::rules;
use app::api::prompts::{ListParams, library};
use app::domain::prompt::{ModelSettings, PromptInput};
use app::domain::template::VariableDef;
use app::domain::{Actor, Membership, OrgRole};
use app::error::AppError;
use app::security::hash_token;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{DurationRound, TimeDelta};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/prompts", get(list).post(create))
        .route("/prompts/{id}", get(fetch).put(update).patch(patch).delete(remove))
        .route("/prompts/{id}/versions", get(versions))
        .route("/prompts/{id}/versions/{number}", get(version))
        .route("/prompts/{id}/labels/{label}", get(by_label).put(set_label).delete(remove_label))
        .route("/prompts/{id}/render", post(render))
        .route("/collections", get(collections).post(create_collection))
        .route("/collections/{id}", axum::routing::patch(update_collection).delete(delete_collection))
        .route("/tags", get(tags))
        .route("/categories", get(categories))
        .route("/export", get(export))
        .route(
            "/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(app::api::import::rules::MAX_BYTES + 1024)),
        )
        .fallback(|| async { ApiError::App(AppError::NotFound) })
        .layer(from_fn_with_state(state, authenticate))
}

/// An `AppError` answered as JSON.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// A body or query string that is not what the endpoint takes (400).
    Malformed {
        code: &'static str,
        message: String,
    },
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::App(err) => json_error(&err),
            Self::Malformed { code, message } => {
                (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "code": code, "message": message }))).into_response()
            }
        }
    }
}

fn code_of(err: &AppError) -> String {
    serde_json::to_value(err)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "internal".into())
}

pub fn json_error(err: &AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = serde_json::json!({ "code": code_of(err), "message": err.to_string() });
    if let AppError::Validation { field, .. } = err {
        body["field"] = serde_json::json!(field);
    }
    let mut res = (status, Json(body)).into_response();
    if let AppError::RateLimited { retry_after_secs } = err {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    res
}

/// A JSON body; a malformed one is answered `400 invalid_json`.
struct JsonBody<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::Malformed { code: "invalid_json", message: e.body_text() }),
        }
    }
}

/// A query string; a malformed one is answered `400 invalid_query`.
struct Params<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::Malformed { code: "invalid_query", message: e.body_text() }),
        }
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Resolves the API key into a `Principal`, counts the request against the key's hourly limit and
/// adds the RateLimit headers to the answer.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let services = &state.services;
    let Some(secret) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return unauthenticated("Send an API key: Authorization: Bearer cairn_…");
    };
    let key = match services.store.api_key_by_hash(&hash_token(secret)).await {
        Ok(Some(key)) => key,
        Ok(None) => return unauthenticated("That API key is not valid."),
        Err(err) => return json_error(&err.into()),
    };
    let now = services.clock.now();
    if key.revoked_at.is_some() {
        return unauthenticated("That API key was revoked.");
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return unauthenticated("That API key has expired.");
    }
    let window = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
    let reset = (window + TimeDelta::hours(1) - now).num_seconds().max(1) as u64;
    let used = match services.store.count_api_request(key.id, window, now).await {
        Ok(n) => n,
        Err(err) => return json_error(&err.into()),
    };
    let limit = key.rate_limit;
    let rate_headers = |res: &mut Response| {
        let h = res.headers_mut();
        h.insert("ratelimit-limit", HeaderValue::from(limit));
        h.insert("ratelimit-remaining", HeaderValue::from((limit - used).max(0)));
        h.insert("ratelimit-reset", HeaderValue::from(reset));
        if let Ok(policy) = HeaderValue::from_str(&format!("{limit};w=3600")) {
            h.insert("ratelimit-policy", policy);
        }
    };
    if used > limit {
        let mut res = json_error(&AppError::RateLimited { retry_after_secs: reset });
        rate_headers(&mut res);
        return res;
    }
    // The key acts with its creator's role, never more; a read key as a Viewer.
    let membership = match services.store.membership(key.org_id, key.created_by).await {
        Ok(Some(m)) => m,
        Ok(None) => return unauthenticated("The person who created this key has left the organization."),
        Err(err) => return json_error(&err.into()),
    };
    let user = match services.store.user_by_id(key.created_by).await {
        Ok(Some(u)) => u,
        Ok(None) => return unauthenticated("That API key is not valid."),
        Err(err) => return json_error(&err.into()),
    };
    let role = if key.can_write { membership.role } else { OrgRole::Viewer };
    let meta = req.extensions().get::<RequestMeta>().cloned().unwrap_or_default();
    let principal = library::Principal {
        org: key.org_id,
        user: user.id,
        actor: Actor {
            user: Some(user.id),
            platform_roles: vec![],
            capabilities: vec![],
            membership: Some(Membership {
                org: membership.org.id,
                org_kind: membership.org.kind,
                role,
                enterprise_admin: false,
                teams: vec![],
                led_teams: vec![],
            }),
        },
        meta,
        api_key: Some(key.id),
    };
    req.extensions_mut().insert(principal);
    let mut res = next.run(req).await;
    rate_headers(&mut res);
    res
}

fn unauthenticated(message: &str) -> Response {
    let mut res =
        (StatusCode::UNAUTHORIZED, Json(serde_json::json!({ "code": "unauthenticated", "message": message })))
            .into_response();
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

/// The principal the middleware resolved.
struct Key(library::Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Key {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<library::Principal>().cloned().map(Key).ok_or(ApiError::App(AppError::Unauthenticated))
    }
}

/// A prompt as the API takes it: tags as a list.
#[derive(Debug, Deserialize)]
struct PromptBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(alias = "content")]
    body: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    category: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    variables: Vec<VariableDef>,
    #[serde(default)]
    model: ModelSettings,
    #[serde(default)]
    change_note: String,
    /// For updates: the version this edit is based on (optional; a stale one is a conflict).
    #[serde(default)]
    base_version: Option<i32>,
}

impl PromptBody {
    fn join_tags(tags: &[String]) -> Result<String, ApiError> {
        match tags.iter().find(|t| t.contains(',')) {
            Some(bad) => {
                Err(AppError::validation("tags", format!("“{bad}” is not a tag: no commas inside tags.")).into())
            }
            None => Ok(tags.join(",")),
        }
    }

    fn input(self) -> Result<(PromptInput, Option<i32>), ApiError> {
        let tags = Self::join_tags(&self.tags)?;
        Ok((
            PromptInput {
                title: self.title,
                description: self.description,
                body: self.body,
                status: self.status,
                visibility: self.visibility,
                category: self.category,
                tags,
                variables: self.variables,
                model: self.model,
                change_note: self.change_note,
            },
            self.base_version,
        ))
    }
}

/// A partial update: the fields sent replace the prompt's, the rest stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    title: Option<String>,
    description: Option<String>,
    #[serde(alias = "content")]
    body: Option<String>,
    status: Option<String>,
    visibility: Option<String>,
    category: Option<String>,
    tags: Option<Vec<String>>,
    variables: Option<Vec<VariableDef>>,
    model: Option<ModelSettings>,
    #[serde(default)]
    change_note: String,
    #[serde(default)]
    base_version: Option<i32>,
}

impl PatchBody {
    fn merge(self, current: &app::dto::PromptDetail) -> Result<(PromptInput, Option<i32>), ApiError> {
        let mut input = current.fields.to_input();
        if let Some(tags) = self.tags {
            input.tags = PromptBody::join_tags(&tags)?;
        }
        input.title = self.title.unwrap_or(input.title);
        input.description = self.description.unwrap_or(input.description);
        input.body = self.body.unwrap_or(input.body);
        input.status = self.status.or(input.status);
        input.visibility = self.visibility.or(input.visibility);
        input.category = self.category.unwrap_or(input.category);
        input.variables = self.variables.unwrap_or(input.variables);
        input.model = self.model.unwrap_or(input.model);
        input.change_note = self.change_note;
        Ok((input, Some(self.base_version.unwrap_or(current.version))))
    }
}

/// An id in the path; one that is not a UUID names nothing (404).
fn prompt_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::App(AppError::NotFound))
}

async fn list(
    State(state): State<AppState>,
    Key(p): Key,
    Params(params): Params<ListParams>,
) -> ApiResult<app::dto::PromptPage> {
    Ok(Json(library::list(&state.services, &p, &params).await?))
}

async fn create(
    State(state): State<AppState>,
    Key(p): Key,
    JsonBody(body): JsonBody<PromptBody>,
) -> Result<(StatusCode, Json<app::dto::PromptDetail>), ApiError> {
    let (input, _) = body.input()?;
    let id = library::create(&state.services, &p, &input).await?;
    Ok((StatusCode::CREATED, Json(library::detail(&state.services, &p, id, false).await?)))
}

async fn fetch(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
) -> ApiResult<app::dto::PromptDetail> {
    Ok(Json(library::detail(&state.services, &p, prompt_id(&id)?, true).await?))
}

/// PUT replaces the prompt: what is left out takes its default.
async fn update(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PromptBody>,
) -> ApiResult<app::dto::PromptDetail> {
    let id = prompt_id(&id)?;
    let (input, base) = body.input()?;
    library::update(&state.services, &p, id, &input, base).await?;
    Ok(Json(library::detail(&state.services, &p, id, false).await?))
}

/// PATCH changes only the fields it names.
async fn patch(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> ApiResult<app::dto::PromptDetail> {
    let id = prompt_id(&id)?;
    let current = library::detail(&state.services, &p, id, false).await?;
    let (input, base) = body.merge(&current)?;
    library::update(&state.services, &p, id, &input, base).await?;
    Ok(Json(library::detail(&state.services, &p, id, false).await?))
}

async fn remove(State(state): State<AppState>, Key(p): Key, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    library::delete(&state.services, &p, prompt_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
) -> ApiResult<Vec<app::dto::VersionView>> {
    Ok(Json(library::versions(&state.services, &p, prompt_id(&id)?).await?))
}

async fn version(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, number)): Path<(String, String)>,
) -> ApiResult<app::dto::VersionView> {
    let number = number.parse().map_err(|_| ApiError::App(AppError::NotFound))?;
    Ok(Json(library::version(&state.services, &p, prompt_id(&id)?, number).await?))
}

async fn by_label(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, label)): Path<(String, String)>,
) -> ApiResult<app::dto::VersionView> {
    Ok(Json(library::by_label(&state.services, &p, prompt_id(&id)?, &label).await?))
}

#[derive(Debug, Deserialize)]
struct LabelBody {
    version: i32,
}

async fn set_label(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, label)): Path<(String, String)>,
    JsonBody(body): JsonBody<LabelBody>,
) -> ApiResult<app::dto::VersionView> {
    let id = prompt_id(&id)?;
    library::set_label(&state.services, &p, id, &label, body.version).await?;
    Ok(Json(library::by_label(&state.services, &p, id, &label).await?))
}

async fn remove_label(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, label)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    library::remove_label(&state.services, &p, prompt_id(&id)?, &label).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct RenderBody {
    #[serde(default)]
    values: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    label: Option<String>,
}

/// Renders with values: 200 with `text`, or 422 `validation` with every variable's problem.
async fn render(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RenderBody>,
) -> Result<Response, ApiError> {
    let id = prompt_id(&id)?;
    let version = match (&body.label, body.version) {
        (Some(label), _) => Some(library::by_label(&state.services, &p, id, label).await?.number),
        (None, v) => v,
    };
    let values = body
        .values
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    Ok(match library::render_prompt(&state.services, &p, id, version, &values).await? {
        app::dto::RenderOutcome::Rendered(text) => {
            Json(serde_json::json!({ "text": text, "version": version })).into_response()
        }
        app::dto::RenderOutcome::Problems(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "code": "validation",
                "message": problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" "),
                "field": problems.first().map(|p| format!("values.{}", p.name)),
                "problems": problems,
            })),
        )
            .into_response(),
    })
}

async fn collections(State(state): State<AppState>, Key(p): Key) -> ApiResult<Vec<app::dto::CollectionView>> {
    Ok(Json(rules::collections(&state.services, &p).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionBody {
    name: String,
    #[serde(default)]
    parent_id: Option<Uuid>,
}

async fn create_collection(
    State(state): State<AppState>,
    Key(p): Key,
    JsonBody(body): JsonBody<CollectionBody>,
) -> Result<(StatusCode, Json<app::dto::CollectionView>), ApiError> {
    Ok((StatusCode::CREATED, Json(rules::create_collection(&state.services, &p, &body.name, body.parent_id).await?)))
}

async fn update_collection(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CollectionBody>,
) -> Result<StatusCode, ApiError> {
    rules::update_collection(&state.services, &p, prompt_id(&id)?, &body.name, body.parent_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_collection(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    rules::delete_collection(&state.services, &p, prompt_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tags(State(state): State<AppState>, Key(p): Key) -> ApiResult<Vec<app::dto::TagCount>> {
    Ok(Json(rules::tags(&state.services, &p).await?))
}

async fn categories(State(state): State<AppState>, Key(p): Key) -> ApiResult<Vec<app::dto::CategoryView>> {
    Ok(Json(rules::categories(&state.services, &p).await?))
}

#[derive(Debug, Deserialize)]
struct ExportParams {
    #[serde(default)]
    format: Option<String>,
    /// Comma-separated prompt ids; every prompt when absent.
    #[serde(default)]
    ids: Option<String>,
}

/// `GET /export?format=json|csv|markdown[&ids=…]`: the library or a selection (JSON: lossless;
/// CSV: current versions; Markdown: a ZIP of one file per prompt). Needs a write key whose
/// creator is an Owner or Admin (a read key acts as a Viewer).
async fn export(
    State(state): State<AppState>,
    Key(p): Key,
    Params(params): Params<ExportParams>,
) -> Result<Response, ApiError> {
    let selection = app::api::export::Selection::parse(params.ids.as_deref())?;
    let format = app::api::export::Format::parse(params.format.as_deref().unwrap_or("json"))
        .ok_or_else(|| AppError::validation("format", "Export as json, csv or markdown."))?;
    let file = crate::http::export_file(&state, &p, &selection, format).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()))], file).into_response())
}

#[derive(Debug, Deserialize)]
struct ImportParams {
    #[serde(default)]
    format: Option<String>,
    /// Only check the file and say what importing it would do.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /import?format=json|csv[&dry_run=true]` with the file as the body. A file with problems
/// is refused whole (422, `import_invalid`, with the preview listing each one); a dry run returns
/// the preview; an import returns what it wrote (201). Needs a write key of an Owner or Admin.
async fn import(
    State(state): State<AppState>,
    Key(p): Key,
    Params(params): Params<ImportParams>,
    body: String,
) -> Result<Response, ApiError> {
    use app::api::import::{ImportFormat, rules};
    let format = ImportFormat::parse(params.format.as_deref().unwrap_or("json"))
        .ok_or_else(|| AppError::validation("format", "Import json or csv."))?;
    let preview = rules::preview(&state.services, &p, format, &body).await?;
    if !preview.is_clean() {
        let body = serde_json::json!({
            "code": "import_invalid",
            "message": format!("The file has {} problem(s); nothing was imported.", preview.problem_count()),
            "field": "file",
            "preview": preview,
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    if params.dry_run {
        return Ok(Json(preview).into_response());
    }
    let outcome = rules::import(&state.services, &p, format, &body).await?;
    Ok((StatusCode::CREATED, Json(outcome)).into_response())
}
