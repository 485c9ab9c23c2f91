//! The REST API under `/api/v1`, authenticated by organization API keys
//! (`Authorization: Bearer cairn_…`) and rate limited per key.
//!
//! Every error is JSON with a stable `code` (`not_found`, `unauthenticated`, `forbidden`,
//! `validation`, `conflict`, `rate_limited`, `invalid_json`, `invalid_query`, `invalid_body`, `too_large`, `import_invalid`, `internal`), a
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
    let public =
        Router::new().route("/openapi.json", get(super::openapi::document)).route("/docs", get(super::openapi::docs));
    let keyed = Router::new()
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
        .route("/events", post(event))
        .route("/export", get(export))
        .route(
            "/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(app::api::import::rules::MAX_BYTES + 1024)),
        )
        .fallback(|| async { ApiError::App(AppError::NotFound) })
        .layer(from_fn_with_state(state, authenticate));
    public.merge(keyed)
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
    /// A body refused before it was read: too large (413, `too_large`) or not text (400, `invalid_body`).
    BodyRejected {
        status: StatusCode,
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
            Self::BodyRejected { status, message } => {
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "invalid_body" };
                (status, Json(serde_json::json!({ "code": code, "message": message }))).into_response()
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
    if let Some(upgrade) = err.upgrade() {
        body["upgrade"] = serde_json::json!(upgrade);
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
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(value)) => value,
            Err(e) => return Err(ApiError::Malformed { code: "invalid_json", message: e.body_text() }),
        };
        if let Some(field) = nul_in(&value) {
            return Err(AppError::validation(&field, "Text may not contain NUL characters (\\u0000).").into());
        }
        serde_json::from_value(value).map(Self).map_err(|e| ApiError::Malformed {
            code: "invalid_json",
            message: format!("Failed to deserialize the JSON body: {e}"),
        })
    }
}

/// The path (`title`, `tags.2`, `values.name`) of the first string or key holding a NUL character,
/// which no text field accepts (PostgreSQL cannot store it).
fn nul_in(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            nul_in(v).map(|rest| if rest.is_empty() { i.to_string() } else { format!("{i}.{rest}") })
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = k.replace('\0', "\u{fffd}");
            if k.contains('\0') {
                return Some(key);
            }
            nul_in(v).map(|rest| if rest.is_empty() { key } else { format!("{key}.{rest}") })
        }),
        _ => None,
    }
}

/// A text body; one too large or not UTF-8 is answered as JSON like every other error.
struct TextBody(String);

impl<S: Send + Sync> axum::extract::FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        String::from_request(req, state)
            .await
            .map(Self)
            .map_err(|e| ApiError::BodyRejected { status: e.status(), message: e.body_text() })
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
    let Some(access) = (match services.api_keys.access(services.store.as_ref(), &hash_token(secret)).await {
        Ok(access) => access,
        Err(err) => return json_error(&err.into()),
    }) else {
        return unauthenticated("That API key is not valid.");
    };
    let key = access.key;
    let now = services.clock.now();
    if key.revoked_at.is_some() {
        return unauthenticated("That API key was revoked.");
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return unauthenticated("That API key has expired.");
    }
    let day_left = match state.api_daily.admit(services, key.created_by, key.org_id, now).await {
        Ok(left) => left,
        Err(err) => return json_error(&err),
    };
    let window = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
    let reset = (window + TimeDelta::hours(1) - now).num_seconds().max(1) as u64;
    let limit = key.rate_limit;
    let used = match state.api_requests.count(services.store.as_ref(), key.id, limit, day_left, window, now).await {
        Ok(n) => n,
        Err(err) => return json_error(&err.into()),
    };
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
    let Some(creator_role) = access.creator_role else {
        return unauthenticated("The person who created this key has left the organization.");
    };
    let role = if key.can_write { creator_role } else { OrgRole::Viewer };
    let meta = req.extensions().get::<RequestMeta>().cloned().unwrap_or_default();
    let principal = library::Principal {
        org: key.org_id,
        user: key.created_by,
        actor: Actor {
            user: Some(key.created_by),
            platform_roles: vec![],
            capabilities: vec![],
            membership: Some(Membership {
                org: key.org_id,
                org_kind: access.org_kind,
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

/// The body of every error answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable: `not_found`, `unauthenticated`, `forbidden`, `plan_limit`, `validation`, `conflict`,
    /// `rate_limited`, `quota_exhausted`, `invalid_json`, `invalid_query`, `invalid_body`,
    /// `too_large`, `import_invalid` or `internal`.
    code: String,
    /// For people: what went wrong and what to do.
    message: String,
    /// The field at fault, for `validation` (e.g. `title`, `values.name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// For `plan_limit` and `quota_exhausted`: the plan that would allow it.
    #[serde(skip_serializing_if = "Option::is_none")]
    upgrade: Option<UpgradeBody>,
}

/// A plan that would allow what was refused.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UpgradeBody {
    /// The plan's code, e.g. `premium`.
    plan: String,
    /// Its name, e.g. `Premium`.
    name: String,
}

/// A 422 answer of `render`: every variable that could not be filled (`problems`), or a bad
/// `label` or `version` (`field` names it).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RenderProblems {
    /// `validation`.
    code: String,
    message: String,
    /// `values.` and the first variable at fault, or `label` / `version`.
    field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    problems: Vec<app::domain::template::VariableProblem>,
}

impl RenderProblems {
    /// The 422 answer for variables that could not be filled (also the test panel's run).
    pub fn response(problems: Vec<app::domain::template::VariableProblem>) -> Response {
        let body = Self {
            code: "validation".into(),
            message: problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" "),
            field: problems.first().map(|p| format!("values.{}", p.name)),
            problems,
        };
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }
}

/// A rendered prompt.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Rendered {
    text: String,
    /// The version rendered, when one was asked for (by number or label); `null` for the current one.
    version: Option<i32>,
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct PromptBody {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(alias = "content")]
    #[schema(min_length = 1, pattern = "\\S")]
    body: String,
    #[serde(default)]
    #[schema(value_type = Option<app::domain::prompt::PromptStatus>)]
    status: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<app::domain::prompt::Visibility>)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    description: Option<String>,
    #[serde(alias = "content")]
    #[schema(min_length = 1, pattern = "\\S")]
    body: Option<String>,
    #[schema(value_type = Option<app::domain::prompt::PromptStatus>)]
    status: Option<String>,
    #[schema(value_type = Option<app::domain::prompt::Visibility>)]
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

/// List and search prompts.
///
/// Without `q`, prompts come newest-updated first (or by `sort`); with `q`, by relevance, with
/// matches marked in `title_marks` and `snippet`. Pass `next_cursor` back as `cursor` for the next page.
#[utoipa::path(get, path = "/api/v1/prompts", tag = "prompts", params(ListParams),
    responses((status = 200, description = "One page of prompts.", body = app::dto::PromptPage),
        (status = 400, description = "A malformed query string.", body = ErrorBody),
        (status = 422, description = "A filter with a bad value (e.g. a date).", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Key(p): Key,
    Params(params): Params<ListParams>,
) -> ApiResult<app::dto::PromptPage> {
    Ok(Json(library::list(&state.services, &p, &params).await?))
}

/// A named event for one member of the organization.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EventBody {
    /// The event's name, as sequences wait for it (`Event` triggers and waits).
    event: String,
    /// The member's email address.
    user: String,
}

/// What an event did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EventOutcome {
    /// Subscriptions that were waiting for the event and moved on.
    moved: usize,
}

/// Post an event for a member: their subscriptions waiting for it move on. Needs a write key.
#[utoipa::path(post, path = "/api/v1/events", tag = "sequences", request_body = EventBody,
    responses((status = 202, description = "Accepted; how many subscriptions moved on.", body = EventOutcome),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "A read key.", body = ErrorBody),
        (status = 422, description = "No such member, or a bad event name; `field` says which.", body = ErrorBody)))]
async fn event(
    State(state): State<AppState>,
    Key(p): Key,
    JsonBody(body): JsonBody<EventBody>,
) -> Result<(StatusCode, Json<EventOutcome>), ApiError> {
    let moved = app::api::sequences::rules::record_event(&state.services, &p, &body.user, &body.event).await?;
    Ok((StatusCode::ACCEPTED, Json(EventOutcome { moved })))
}

/// Create a prompt (its version 1). Needs a write key.
#[utoipa::path(post, path = "/api/v1/prompts", tag = "prompts", request_body = PromptBody,
    responses((status = 201, description = "The new prompt.", body = app::dto::PromptDetail),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "The key may not create prompts, or the organization's plan allows no more (`plan_limit`, with the plan that would).", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `field` names it.", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    Key(p): Key,
    JsonBody(body): JsonBody<PromptBody>,
) -> Result<(StatusCode, Json<app::dto::PromptDetail>), ApiError> {
    let (input, _) = body.input()?;
    let id = library::create(&state.services, &p, &input).await?;
    Ok((StatusCode::CREATED, Json(library::detail(&state.services, &p, id, false).await?)))
}

/// Get a prompt with its current version and labels (counts a view).
#[utoipa::path(get, path = "/api/v1/prompts/{id}", tag = "prompts", params(("id" = Uuid, Path, description = "The prompt's id.")),
    responses((status = 200, description = "The prompt.", body = app::dto::PromptDetail),
        (status = 404, description = "No such prompt, or not one this key may see.", body = ErrorBody)))]
async fn fetch(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
) -> ApiResult<app::dto::PromptDetail> {
    Ok(Json(library::detail(&state.services, &p, prompt_id(&id)?, true).await?))
}

/// Replace a prompt: saves a new version; fields left out take their defaults.
#[utoipa::path(put, path = "/api/v1/prompts/{id}", tag = "prompts", params(("id" = Uuid, Path, description = "The prompt's id.")), request_body = PromptBody,
    responses((status = 200, description = "The prompt after the change.", body = app::dto::PromptDetail),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "The key may not edit this prompt.", body = ErrorBody),
        (status = 404, description = "No such prompt.", body = ErrorBody),
        (status = 409, description = "`base_version` is not the current version.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `field` names it.", body = ErrorBody)))]
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

/// Change some fields of a prompt: saves a new version.
#[utoipa::path(patch, path = "/api/v1/prompts/{id}", tag = "prompts", params(("id" = Uuid, Path, description = "The prompt's id.")), request_body = PatchBody,
    responses((status = 200, description = "The prompt after the change.", body = app::dto::PromptDetail),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "The key may not edit this prompt.", body = ErrorBody),
        (status = 404, description = "No such prompt.", body = ErrorBody),
        (status = 409, description = "`base_version` is not the current version.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `field` names it.", body = ErrorBody)))]
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

/// Delete a prompt with its versions.
#[utoipa::path(delete, path = "/api/v1/prompts/{id}", tag = "prompts", params(("id" = Uuid, Path, description = "The prompt's id.")),
    responses((status = 204, description = "Deleted."),
        (status = 403, description = "The key may not delete this prompt.", body = ErrorBody),
        (status = 404, description = "No such prompt.", body = ErrorBody)))]
async fn remove(State(state): State<AppState>, Key(p): Key, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    library::delete(&state.services, &p, prompt_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a prompt, newest first.
#[utoipa::path(get, path = "/api/v1/prompts/{id}/versions", tag = "versions", params(("id" = Uuid, Path, description = "The prompt's id.")),
    responses((status = 200, description = "The versions.", body = Vec<app::dto::VersionView>),
        (status = 404, description = "No such prompt.", body = ErrorBody)))]
async fn versions(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
) -> ApiResult<Vec<app::dto::VersionView>> {
    Ok(Json(library::versions(&state.services, &p, prompt_id(&id)?).await?))
}

/// One version of a prompt by its number.
#[utoipa::path(get, path = "/api/v1/prompts/{id}/versions/{number}", tag = "versions",
    params(("id" = Uuid, Path, description = "The prompt's id."), ("number" = i32, Path, description = "The version number, from 1.")),
    responses((status = 200, description = "The version.", body = app::dto::VersionView),
        (status = 404, description = "No such prompt or version.", body = ErrorBody)))]
async fn version(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, number)): Path<(String, String)>,
) -> ApiResult<app::dto::VersionView> {
    let number = number.parse().map_err(|_| ApiError::App(AppError::NotFound))?;
    Ok(Json(library::version(&state.services, &p, prompt_id(&id)?, number).await?))
}

/// The version a deployment label (e.g. `production`) points at.
#[utoipa::path(get, path = "/api/v1/prompts/{id}/labels/{label}", tag = "versions",
    params(("id" = Uuid, Path, description = "The prompt's id."), ("label" = String, Path, description = "The label, e.g. production or staging.")),
    responses((status = 200, description = "The labelled version.", body = app::dto::VersionView),
        (status = 404, description = "No such prompt or label.", body = ErrorBody),
        (status = 422, description = "Not a valid label name.", body = ErrorBody)))]
async fn by_label(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, label)): Path<(String, String)>,
) -> ApiResult<app::dto::VersionView> {
    Ok(Json(library::by_label(&state.services, &p, prompt_id(&id)?, &label).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LabelBody {
    #[schema(minimum = 1)]
    version: i32,
}

/// Point a label at a version. Moving `production` needs an Owner's or Admin's key.
#[utoipa::path(put, path = "/api/v1/prompts/{id}/labels/{label}", tag = "versions",
    params(("id" = Uuid, Path, description = "The prompt's id."), ("label" = String, Path, pattern = "^[a-z0-9_-]{1,32}$", description = "The label: lower-case letters, digits, - and _.")),
    request_body = LabelBody,
    responses((status = 200, description = "The version the label now points at.", body = app::dto::VersionView),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "The key may not move this label.", body = ErrorBody),
        (status = 404, description = "No such prompt or version.", body = ErrorBody),
        (status = 422, description = "Not a valid label name or version.", body = ErrorBody)))]
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

/// Remove a label from a prompt.
#[utoipa::path(delete, path = "/api/v1/prompts/{id}/labels/{label}", tag = "versions",
    params(("id" = Uuid, Path, description = "The prompt's id."), ("label" = String, Path, description = "The label.")),
    responses((status = 204, description = "Removed."),
        (status = 403, description = "The key may not move this label.", body = ErrorBody),
        (status = 404, description = "No such prompt or label.", body = ErrorBody),
        (status = 422, description = "Not a valid label name.", body = ErrorBody)))]
async fn remove_label(
    State(state): State<AppState>,
    Key(p): Key,
    Path((id, label)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    library::remove_label(&state.services, &p, prompt_id(&id)?, &label).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct RenderBody {
    #[serde(default)]
    values: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    label: Option<String>,
}

/// Fill a prompt's variables (counts a use). Every missing or invalid variable is reported by name.
#[utoipa::path(post, path = "/api/v1/prompts/{id}/render", tag = "prompts", params(("id" = Uuid, Path, description = "The prompt's id.")), request_body = RenderBody,
    responses((status = 200, description = "The rendered text.", body = Rendered),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 404, description = "No such prompt, version or label.", body = ErrorBody),
        (status = 422, description = "Variables missing or invalid: one entry each in `problems`.", body = RenderProblems)))]
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
        app::dto::RenderOutcome::Rendered(text) => Json(Rendered { text, version }).into_response(),
        app::dto::RenderOutcome::Problems(problems) => RenderProblems::response(problems),
    })
}

/// Every collection (folder) of the organization, as a flat list with paths.
#[utoipa::path(get, path = "/api/v1/collections", tag = "organizing",
    responses((status = 200, description = "The collections.", body = Vec<app::dto::CollectionView>)))]
async fn collections(State(state): State<AppState>, Key(p): Key) -> ApiResult<Vec<app::dto::CollectionView>> {
    Ok(Json(rules::collections(&state.services, &p).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CollectionBody {
    name: String,
    #[serde(default)]
    parent_id: Option<Uuid>,
}

/// Create a collection, at the top or inside `parent_id`.
#[utoipa::path(post, path = "/api/v1/collections", tag = "organizing", request_body = CollectionBody,
    responses((status = 201, description = "The new collection.", body = app::dto::CollectionView),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "The key may not organize.", body = ErrorBody),
        (status = 404, description = "No such parent.", body = ErrorBody),
        (status = 409, description = "A sibling has that name.", body = ErrorBody),
        (status = 422, description = "Not a valid name.", body = ErrorBody)))]
async fn create_collection(
    State(state): State<AppState>,
    Key(p): Key,
    JsonBody(body): JsonBody<CollectionBody>,
) -> Result<(StatusCode, Json<app::dto::CollectionView>), ApiError> {
    Ok((StatusCode::CREATED, Json(rules::create_collection(&state.services, &p, &body.name, body.parent_id).await?)))
}

/// Rename or move a collection.
#[utoipa::path(patch, path = "/api/v1/collections/{id}", tag = "organizing",
    params(("id" = Uuid, Path, description = "The collection's id.")), request_body = CollectionBody,
    responses((status = 204, description = "Changed."),
        (status = 400, description = "The body is not JSON of this shape.", body = ErrorBody),
        (status = 403, description = "The key may not organize.", body = ErrorBody),
        (status = 404, description = "No such collection or parent.", body = ErrorBody),
        (status = 409, description = "A sibling has that name.", body = ErrorBody),
        (status = 422, description = "Not a valid name, or a move into itself.", body = ErrorBody)))]
async fn update_collection(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CollectionBody>,
) -> Result<StatusCode, ApiError> {
    rules::update_collection(&state.services, &p, prompt_id(&id)?, &body.name, body.parent_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete an empty collection.
#[utoipa::path(delete, path = "/api/v1/collections/{id}", tag = "organizing",
    params(("id" = Uuid, Path, description = "The collection's id.")),
    responses((status = 204, description = "Deleted."),
        (status = 403, description = "The key may not organize.", body = ErrorBody),
        (status = 404, description = "No such collection.", body = ErrorBody),
        (status = 409, description = "The collection still holds prompts or collections.", body = ErrorBody)))]
async fn delete_collection(
    State(state): State<AppState>,
    Key(p): Key,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    rules::delete_collection(&state.services, &p, prompt_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every tag in use, with how many prompts carry it.
#[utoipa::path(get, path = "/api/v1/tags", tag = "organizing",
    responses((status = 200, description = "The tags.", body = Vec<app::dto::TagCount>)))]
async fn tags(State(state): State<AppState>, Key(p): Key) -> ApiResult<Vec<app::dto::TagCount>> {
    Ok(Json(rules::tags(&state.services, &p).await?))
}

/// The predefined and custom categories.
#[utoipa::path(get, path = "/api/v1/categories", tag = "organizing",
    responses((status = 200, description = "The categories.", body = Vec<app::dto::CategoryView>)))]
async fn categories(State(state): State<AppState>, Key(p): Key) -> ApiResult<Vec<app::dto::CategoryView>> {
    Ok(Json(rules::categories(&state.services, &p).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[utoipa::path(get, path = "/api/v1/export", tag = "import and export", params(ExportParams),
    responses((status = 200, description = "The file.",
            content((Object = "application/json"), (String = "text/csv"), (Vec<u8> = "application/zip"))),
        (status = 400, description = "A malformed query string.", body = ErrorBody),
        (status = 403, description = "Exporting needs an Owner's or Admin's write key.", body = ErrorBody),
        (status = 422, description = "An unknown format or a bad id in `ids`.", body = ErrorBody)))]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[utoipa::path(post, path = "/api/v1/import", tag = "import and export", params(ImportParams),
    request_body(content((Object = "application/json"), (String = "text/csv")),
        description = "A JSON export of Cairn, or CSV with a header row."),
    responses((status = 200, description = "Dry run: what importing would do.", body = app::dto::ImportPreview),
        (status = 201, description = "Imported.", body = app::dto::ImportOutcome),
        (status = 400, description = "A malformed query string, or a body that is not UTF-8 text.", body = ErrorBody),
        (status = 403, description = "Importing needs an Owner's or Admin's write key, and room in the plan's prompt quota (`plan_limit`).", body = ErrorBody),
        (status = 413, description = "The file is too large.", body = ErrorBody),
        (status = 422, description = "The file has problems (`preview` lists them); nothing was written.", body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    Key(p): Key,
    Params(params): Params<ImportParams>,
    TextBody(body): TextBody,
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
