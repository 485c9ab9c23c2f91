//! A local OpenAI-compatible chat-completions server over real HTTP: `POST /v1/chat/completions`
//! answers `Echo: <last user message>` word by word as server-sent events (`stream: true`, with a
//! usage chunk when `stream_options.include_usage`), or as one JSON body otherwise. It keeps every
//! request, and refuses a wrong bearer key as OpenAI does.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    key: Option<String>,
}

#[derive(Clone)]
pub struct FakeLlm {
    /// The base URL to configure: `http://127.0.0.1:port/v1`.
    pub base_url: String,
    shared: Shared,
}

async fn completions(State(shared): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    shared.requests.lock().unwrap().push((headers.clone(), body.clone()));
    if let Some(key) = &shared.key {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if sent != format!("Bearer {key}") {
            let error =
                json!({ "error": { "message": "Incorrect API key provided.", "type": "invalid_request_error" } });
            return (StatusCode::UNAUTHORIZED, Json(error)).into_response();
        }
    }
    let last = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("");
    let answer = format!("Echo: {last}");
    let usage = json!({ "prompt_tokens": last.split_whitespace().count(), "completion_tokens": answer.split_whitespace().count() });
    if body["stream"] != json!(true) {
        return Json(json!({ "choices": [{ "message": { "role": "assistant", "content": answer } }], "usage": usage }))
            .into_response();
    }
    let mut events = Vec::new();
    for (i, word) in answer.split_inclusive(' ').enumerate() {
        let delta = if i == 0 { json!({ "role": "assistant", "content": word }) } else { json!({ "content": word }) };
        events.push(format!("data: {}\n\n", json!({ "choices": [{ "index": 0, "delta": delta }] })));
    }
    events.push(format!("data: {}\n\n", json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] })));
    if body["stream_options"]["include_usage"] == json!(true) {
        events.push(format!("data: {}\n\n", json!({ "choices": [], "usage": usage })));
    }
    events.push("data: [DONE]\n\n".to_owned());
    let stream = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::io::Error>));
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream)).into_response()
}

impl FakeLlm {
    /// A server that wants `key` as the bearer token, or none.
    pub async fn start(key: Option<&str>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake llm");
        let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        let shared = Shared { key: key.map(str::to_owned), ..Shared::default() };
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(completions))
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base_url, shared }
    }

    /// Every request so far: its headers and JSON body.
    pub fn requests(&self) -> Vec<(HeaderMap, Value)> {
        self.shared.requests.lock().unwrap().clone()
    }
}
