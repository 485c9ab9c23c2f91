//! The AI model behind the test panel (and later, sequences): an OpenAI-compatible
//! chat-completions endpoint, and the rules for what an organization may set.

use super::Invalid;
use super::webhook::{parse_url, url_host};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A base URL: `http(s)://host[:port]/path`, the part before `/chat/completions` (a pasted full
/// endpoint is cut back to it); no query, fragment or trailing slash.
pub fn parse_base_url(raw: &str) -> Result<String, Invalid> {
    let url = parse_url(raw).map_err(|e| {
        Invalid(if raw.trim().is_empty() { "Enter the base URL, e.g. https://api.openai.com/v1.".into() } else { e.0 })
    })?;
    if url.contains(['?', '#']) {
        return Err(Invalid("Leave the query string out: only the base URL, e.g. http://127.0.0.1:11434/v1.".into()));
    }
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix("/chat/completions").unwrap_or(url).trim_end_matches('/');
    if url_host(url).is_empty() {
        return Err(Invalid("That is not a complete URL, e.g. https://api.openai.com/v1.".into()));
    }
    Ok(url.to_owned())
}

/// A model name as the endpoint knows it (`gpt-4o-mini`, `llama3.1:8b`).
pub fn parse_model_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid("Name the model, e.g. gpt-4o-mini or llama3.1.".into()));
    }
    if name.chars().count() > 100 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid("Use the model's name without spaces (100 characters at most).".into()));
    }
    Ok(name.to_owned())
}

/// An API key as typed; `None` when left empty.
pub fn parse_api_key(raw: &str) -> Result<Option<String>, Invalid> {
    let key = raw.trim();
    if key.is_empty() {
        return Ok(None);
    }
    if key.len() > 500 || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid("That does not look like an API key (no spaces, 500 characters at most).".into()));
    }
    Ok(Some(key.to_owned()))
}

/// A test case's name.
pub fn parse_case_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid("Name the test case, e.g. “Short answer”.".into()));
    }
    if name.chars().count() > 80 || name.contains('\0') {
        return Err(Invalid("Keep the name under 80 characters.".into()));
    }
    Ok(name.to_owned())
}

/// A test case's values: at most 100, each under 20,000 characters.
pub fn check_case_values(values: &BTreeMap<String, String>) -> Result<(), Invalid> {
    if values.len() > 100 {
        return Err(Invalid("A test case holds at most 100 values.".into()));
    }
    if values.iter().any(|(k, v)| k.len() > 100 || v.chars().count() > 20_000 || k.contains('\0') || v.contains('\0')) {
        return Err(Invalid("A value is too long (20,000 characters at most) or holds a NUL character.".into()));
    }
    Ok(())
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: "user".into(), content: content.into() }
    }
}

/// Tokens a model reported for one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// One line of a streamed run, as the browser receives it (newline-delimited JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run started with this model.
    Started { model: String },
    /// The next piece of the answer.
    Delta { text: String },
    /// The answer is complete.
    Done { usage: Option<TokenUsage> },
    /// The model failed; what came before stands.
    Error { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_cut_back_to_the_base() {
        assert_eq!(parse_base_url(" https://api.openai.com/v1/ ").unwrap(), "https://api.openai.com/v1");
        assert_eq!(parse_base_url("http://127.0.0.1:11434/v1/chat/completions").unwrap(), "http://127.0.0.1:11434/v1");
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("https://x/v1?key=1").is_err());
        assert!(parse_base_url("https://user:pw@x/v1").is_err());
        assert!(parse_base_url("").unwrap_err().0.contains("base URL"));
    }

    #[test]
    fn model_names_keys_and_cases_are_checked() {
        assert_eq!(parse_model_name(" llama3.1:8b ").unwrap(), "llama3.1:8b");
        assert!(parse_model_name("gpt 4").is_err());
        assert_eq!(parse_api_key("  ").unwrap(), None);
        assert!(parse_api_key("sk abc").is_err());
        assert!(parse_case_name("").is_err());
        let mut values = BTreeMap::new();
        values.insert("a".to_owned(), "x\0".to_owned());
        assert!(check_case_values(&values).is_err());
    }

    #[test]
    fn run_events_are_tagged_json_lines() {
        let line = serde_json::to_string(&RunEvent::Delta { text: "Hi".into() }).unwrap();
        assert_eq!(line, r#"{"type":"delta","text":"Hi"}"#);
    }
}
