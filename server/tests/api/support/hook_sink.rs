//! A local HTTP server that receives webhook deliveries over real HTTP, keeps each request and
//! answers with the status codes a test queues (200 when none are queued).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
    pub path: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

#[derive(Clone)]
pub struct HookSink {
    /// Where to point a webhook.
    pub url: String,
    shared: Shared,
}

async fn receive(
    State(shared): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let received = Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        bytes: body.to_vec(),
        path: uri.path().into(),
    };
    shared.received.lock().unwrap().push(received);
    let code = shared.answers.lock().unwrap().pop_front().unwrap_or(200);
    (StatusCode::from_u16(code).unwrap(), if code < 300 { "thanks" } else { "receiver is unwell" })
}

impl HookSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind hook sink");
        let url = format!("http://{}/hooks/cairn", listener.local_addr().expect("addr"));
        let shared = Shared::default();
        let app = axum::Router::new().route("/hooks/{*rest}", axum::routing::post(receive)).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// The next requests are answered with these codes, in order.
    pub fn answer_with(&self, codes: &[u16]) {
        self.shared.answers.lock().unwrap().extend(codes);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until at least `count` requests arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} webhook requests, got {:#?}", self.received());
    }
}
