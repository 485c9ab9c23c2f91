//! An OpenAI-compatible chat-completions client (OpenAI, Ollama, vLLM, llama.cpp's server …):
//! `POST {base_url}/chat/completions` with `stream: true`, read as server-sent events.
//!
//! Each piece of the answer arrives as a `data: {json}` line with `choices[0].delta.content`;
//! `data: [DONE]` ends it; token usage comes in a last chunk (`stream_options.include_usage`).
//! A server that answers with one JSON body instead is read too.

use app::domain::model::{ChatMessage, TokenUsage};
use app::ports::ModelEndpoint;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::time::Duration;

/// One piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatChunk {
    Delta(String),
    Usage(TokenUsage),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    /// The endpoint answered with an error status.
    #[error("The model's server answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("{0}")]
    Transport(String),
    #[error("The model sent nothing for {0} seconds.")]
    Timeout(u64),
    #[error("The model's answer could not be read: {0}")]
    Protocol(String),
    #[error("{0}")]
    Refused(String),
}

pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatChunk, ChatError>> + Send>>;

/// What to ask.
#[derive(Debug, Clone)]
pub struct ChatCall<'a> {
    pub endpoint: &'a ModelEndpoint,
    pub messages: &'a [ChatMessage],
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    /// Refuse an endpoint that resolves to a private address (organizations' own settings).
    pub public_only: bool,
}

#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    idle: Duration,
}

impl ChatClient {
    /// `idle`: the longest wait for the next piece of the answer (and for the first byte).
    pub fn new(idle: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Cairn/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { http, idle }
    }

    /// Starts a streamed completion. Errors before the first piece (refused, unreachable, an
    /// error status) come back here; later ones inside the stream.
    pub async fn stream(&self, call: ChatCall<'_>) -> Result<ChatStream, ChatError> {
        let url = format!("{}/chat/completions", call.endpoint.base_url.trim_end_matches('/'));
        if call.public_only {
            crate::webhooks::check_public(&url).await.map_err(ChatError::Refused)?;
        }
        let mut body = serde_json::json!({
            "model": call.endpoint.model,
            "messages": call.messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if let Some(t) = call.temperature {
            body["temperature"] = serde_json::json!(t);
        }
        if let Some(n) = call.max_tokens {
            body["max_tokens"] = serde_json::json!(n);
        }
        let mut request = self.http.post(&url).json(&body).header("accept", "text/event-stream");
        if let Some(key) = &call.endpoint.api_key {
            request = request.bearer_auth(key);
        }
        let idle = self.idle;
        let response = tokio::time::timeout(idle, request.send())
            .await
            .map_err(|_| ChatError::Timeout(idle.as_secs()))?
            .map_err(describe)?;
        let status = response.status();
        if !status.is_success() {
            let text = tokio::time::timeout(idle, response.text()).await.ok().and_then(Result::ok).unwrap_or_default();
            return Err(ChatError::Status { status: status.as_u16(), message: error_message(&text) });
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let text = tokio::time::timeout(idle, response.text())
                .await
                .map_err(|_| ChatError::Timeout(idle.as_secs()))?
                .map_err(describe)?;
            let chunks = whole_answer(&text)?;
            return Ok(Box::pin(futures_util::stream::iter(chunks.into_iter().map(Ok))));
        }
        let state = SseState {
            bytes: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
            pending: Default::default(),
            done: false,
            idle,
        };
        Ok(Box::pin(futures_util::stream::unfold(state, next_chunk)))
    }

    /// The whole answer at once (for callers that do not stream), with its usage.
    pub async fn complete(&self, call: ChatCall<'_>) -> Result<(String, Option<TokenUsage>), ChatError> {
        let mut stream = self.stream(call).await?;
        let (mut text, mut usage) = (String::new(), None);
        while let Some(chunk) = stream.next().await {
            match chunk? {
                ChatChunk::Delta(piece) => text.push_str(&piece),
                ChatChunk::Usage(u) => usage = Some(u),
            }
        }
        Ok((text, usage))
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>;

struct SseState {
    bytes: ByteStream,
    buffer: Vec<u8>,
    /// Chunks parsed but not handed out yet.
    pending: std::collections::VecDeque<ChatChunk>,
    done: bool,
    idle: Duration,
}

async fn next_chunk(mut s: SseState) -> Option<(Result<ChatChunk, ChatError>, SseState)> {
    loop {
        if let Some(chunk) = s.pending.pop_front() {
            return Some((Ok(chunk), s));
        }
        if s.done {
            return None;
        }
        // Whole lines first.
        if let Some(end) = s.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = s.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            match parse_line(line.trim_end_matches(['\r', '\n'])) {
                Ok(Line::Chunks(chunks)) => s.pending.extend(chunks),
                Ok(Line::Done) => s.done = true,
                Ok(Line::Nothing) => {}
                Err(err) => {
                    s.done = true;
                    return Some((Err(err), s));
                }
            }
            continue;
        }
        match tokio::time::timeout(s.idle, s.bytes.next()).await {
            Err(_) => {
                s.done = true;
                let secs = s.idle.as_secs();
                return Some((Err(ChatError::Timeout(secs)), s));
            }
            Ok(Some(Ok(bytes))) => s.buffer.extend_from_slice(&bytes),
            Ok(Some(Err(err))) => {
                s.done = true;
                return Some((Err(describe(err)), s));
            }
            Ok(None) => {
                // The stream ended without [DONE]: take what is left as a last line.
                s.done = true;
                if !s.buffer.is_empty() {
                    let rest = String::from_utf8_lossy(&std::mem::take(&mut s.buffer)).into_owned();
                    match parse_line(rest.trim()) {
                        Ok(Line::Chunks(chunks)) => s.pending.extend(chunks),
                        Ok(_) => {}
                        Err(err) => return Some((Err(err), s)),
                    }
                }
            }
        }
    }
}

enum Line {
    Chunks(Vec<ChatChunk>),
    Done,
    Nothing,
}

fn parse_line(line: &str) -> Result<Line, ChatError> {
    let Some(data) = line.strip_prefix("data:") else {
        return Ok(Line::Nothing); // blank lines, comments, `event:` and `id:` fields
    };
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Line::Done);
    }
    if data.is_empty() {
        return Ok(Line::Nothing);
    }
    let value: serde_json::Value = serde_json::from_str(data).map_err(|e| ChatError::Protocol(e.to_string()))?;
    if let Some(error) = value.get("error") {
        return Err(ChatError::Status { status: 200, message: error_message(&error.to_string()) });
    }
    let mut chunks = Vec::new();
    if let Some(text) = value.pointer("/choices/0/delta/content").and_then(|v| v.as_str()).filter(|t| !t.is_empty()) {
        chunks.push(ChatChunk::Delta(text.to_owned()));
    }
    if let Some(usage) = usage_of(&value) {
        chunks.push(ChatChunk::Usage(usage));
    }
    Ok(Line::Chunks(chunks))
}

fn usage_of(value: &serde_json::Value) -> Option<TokenUsage> {
    let usage = value.get("usage").filter(|u| u.is_object())?;
    Some(TokenUsage {
        prompt_tokens: usage.get("prompt_tokens").and_then(|v| v.as_i64()).unwrap_or(0),
        completion_tokens: usage.get("completion_tokens").and_then(|v| v.as_i64()).unwrap_or(0),
    })
}

/// A non-streamed answer: `choices[0].message.content` and `usage`.
fn whole_answer(text: &str) -> Result<Vec<ChatChunk>, ChatError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ChatError::Protocol(e.to_string()))?;
    let content = value
        .pointer("/choices/0/message/content")
        .and_then(|v| v.as_str())
        .ok_or_else(|| ChatError::Protocol("no choices[0].message.content in the answer".into()))?;
    let mut chunks = vec![ChatChunk::Delta(content.to_owned())];
    chunks.extend(usage_of(&value).map(ChatChunk::Usage));
    Ok(chunks)
}

/// `{"error": {"message": …}}` (OpenAI and most others), `{"error": "…"}` (Ollama), or the text.
fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error").unwrap_or(v);
        error.get("message").and_then(|m| m.as_str()).or_else(|| error.as_str()).map(str::to_owned)
    });
    let message = message.unwrap_or_else(|| body.trim().to_owned());
    message.chars().take(300).collect()
}

fn describe(err: reqwest::Error) -> ChatError {
    if err.is_connect() {
        ChatError::Transport("Could not connect to the model's server.".into())
    } else if err.is_timeout() {
        ChatError::Transport("The model's server did not answer in time.".into())
    } else {
        ChatError::Transport(format!("The request to the model failed: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deltas_usage_and_the_end() {
        let Ok(Line::Chunks(chunks)) = parse_line(r#"data: {"choices":[{"delta":{"content":"Hel"}}]}"#) else {
            panic!("a delta")
        };
        assert_eq!(chunks, [ChatChunk::Delta("Hel".into())]);
        let Ok(Line::Chunks(chunks)) =
            parse_line(r#"data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#)
        else {
            panic!("usage")
        };
        assert_eq!(chunks, [ChatChunk::Usage(TokenUsage { prompt_tokens: 5, completion_tokens: 2 })]);
        assert!(matches!(parse_line("data: [DONE]"), Ok(Line::Done)));
        assert!(matches!(parse_line(": keep-alive"), Ok(Line::Nothing)));
        assert!(matches!(parse_line("data: {oops"), Err(ChatError::Protocol(_))));
    }

    #[test]
    fn error_bodies_of_several_servers_are_read() {
        assert_eq!(error_message(r#"{"error":{"message":"Invalid API key","type":"auth"}}"#), "Invalid API key");
        assert_eq!(error_message(r#"{"error":"model 'x' not found"}"#), "model 'x' not found");
        assert_eq!(error_message("Bad gateway"), "Bad gateway");
    }
}
