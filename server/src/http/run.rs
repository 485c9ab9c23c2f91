//! `POST /prompts/{id}/run`: the test panel's "Run". Renders the prompt for the signed-in member
//! (`app::api::test_panel::rules::prepare_run` checks who may) and streams the model's answer
//! back as newline-delimited JSON `RunEvent`s: `started`, `delta`s, then `done` or `error`.
//! A problem found before the model is called is an ordinary JSON error (422 with `problems` for
//! variables).

use super::{caller_and_meta, error_response};
use crate::AppState;
use crate::llm::{ChatCall, ChatChunk};
use app::api::test_panel::rules::{RunPlan, prepare_run};
use app::domain::model::{RunEvent, TokenUsage};
use app::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::collections::BTreeMap;

#[derive(Debug, serde::Deserialize)]
struct RunBody {
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

pub async fn run(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (caller, meta) = caller_and_meta(&req);
    let Some(caller) = caller.filter(|c| !c.session.mfa_pending) else {
        return error_response(&AppError::Unauthenticated);
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else { return error_response(&AppError::NotFound) };
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(bytes) => bytes,
        Err(_) => return error_response(&AppError::validation("values", "The values are too large.")),
    };
    let Ok(body) = serde_json::from_slice::<RunBody>(&body) else {
        return error_response(&AppError::validation("values", "Send {\"values\": {…}, \"version\": n}."));
    };
    let services = &state.services;
    let p = match app::api::prompts::session_principal(services, &caller, meta).await {
        Ok(p) => p,
        Err(err) => return error_response(&err),
    };
    let plan = match prepare_run(services, &p, id, body.version, &body.values).await {
        Ok(Ok(plan)) => plan,
        Ok(Err(problems)) => return super::api_v1::RenderProblems::response(problems),
        Err(err) => return error_response(&err),
    };
    stream_answer(state.clone(), p, id, plan).await
}

fn line(event: &RunEvent) -> Result<Bytes, std::io::Error> {
    let mut text = serde_json::to_string(event).unwrap_or_else(|_| "{\"type\":\"error\",\"message\":\"?\"}".into());
    text.push('\n');
    Ok(Bytes::from(text))
}

async fn stream_answer(
    state: AppState,
    p: app::api::prompts::library::Principal,
    id: uuid::Uuid,
    plan: RunPlan,
) -> Response {
    let call = ChatCall {
        endpoint: &plan.endpoint,
        messages: &plan.messages,
        temperature: plan.temperature,
        max_tokens: plan.max_tokens,
        public_only: plan.untrusted,
    };
    let model = plan.endpoint.model.clone();
    let started = line(&RunEvent::Started { model: model.clone() });
    let events = match state.chat.stream(call).await {
        Err(err) => {
            record(&state, &p, id, &model, None, Some(err.to_string())).await;
            futures_util::stream::iter(vec![started, line(&RunEvent::Error { message: err.to_string() })]).boxed()
        }
        Ok(chunks) => {
            // Pieces as they come; the end (done or error) once, then the run goes in the audit log.
            let tail = futures_util::stream::unfold(
                (chunks, None::<TokenUsage>, false, state.clone(), p.clone()),
                move |(mut chunks, mut usage, finished, state, p)| {
                    let model = model.clone();
                    async move {
                        if finished {
                            return None;
                        }
                        loop {
                            match chunks.next().await {
                                Some(Ok(ChatChunk::Delta(text))) => {
                                    return Some((line(&RunEvent::Delta { text }), (chunks, usage, false, state, p)));
                                }
                                Some(Ok(ChatChunk::Usage(u))) => usage = Some(u),
                                Some(Err(err)) => {
                                    record(&state, &p, id, &model, usage, Some(err.to_string())).await;
                                    let event = RunEvent::Error { message: err.to_string() };
                                    return Some((line(&event), (chunks, usage, true, state, p)));
                                }
                                None => {
                                    record(&state, &p, id, &model, usage, None).await;
                                    return Some((line(&RunEvent::Done { usage }), (chunks, usage, true, state, p)));
                                }
                            }
                        }
                    }
                },
            );
            futures_util::stream::iter(vec![started]).chain(tail).boxed()
        }
    };
    let mut res = Body::from_stream(events).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies (nginx) must pass the pieces on as they come.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// The run in the audit log, with the model and its token usage (for cost tracking).
async fn record(
    state: &AppState,
    p: &app::api::prompts::library::Principal,
    id: uuid::Uuid,
    model: &str,
    usage: Option<TokenUsage>,
    error: Option<String>,
) {
    let after = serde_json::json!({
        "model": model,
        "prompt_tokens": usage.map(|u| u.prompt_tokens),
        "completion_tokens": usage.map(|u| u.completion_tokens),
        "error": error,
    });
    if let Err(err) = p.audit(&state.services, "prompt.run", format!("prompt:{id}"), None, Some(after)).await {
        tracing::warn!(error = %err, "recording a test run failed");
    }
    // Recorded once per run (this is its end), against the organization's AI token quota.
    let key = format!("run:{}", uuid::Uuid::now_v7());
    app::api::billing::record_ai_tokens(&state.services, key, p.org, Some(p.user), usage).await;
}
