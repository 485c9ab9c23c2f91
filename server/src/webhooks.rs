//! The webhook sender: claims due deliveries from the database, signs and POSTs them, and records
//! every attempt. Several server instances can run one each against one PostgreSQL.
//!
//! Guarantees (docs/webhooks.md): at least once per delivery; a delivery leased by a sender that
//! dies is taken over after its lease (60 s) runs out; failed attempts are retried with jittered
//! exponential backoff up to `MAX_ATTEMPTS`, then the delivery is marked failed.

use app::domain::webhook::{MAX_ATTEMPTS, is_public_ip, retry_delay_seconds, url_host};
use app::ports::{AttemptRecord, ClaimedDelivery, DeliveryStatus, Services};
use app::security::sign_webhook;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// How long a claimed delivery is ours before another sender may take it over.
pub const LEASE: Duration = Duration::from_secs(60);
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries claimed at once.
const BATCH: i64 = 16;
/// How much of a response body the attempt log keeps.
const EXCERPT: usize = 1024;

#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    http: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(services: Services, allow_private: bool) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Cairn-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { inner: Arc::new(Inner { services, http, allow_private }) }
    }

    /// Sends until `stop` turns true, then finishes the batch in flight (each request is bounded by
    /// `TIMEOUT`) and returns.
    pub async fn run(self, poll: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                break;
            }
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "webhook sender could not claim deliveries"),
            }
            tokio::select! {
                () = self.inner.services.jobs.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::debug!("webhook sender stopped");
    }

    /// Claims what is due and sends it; returns how many deliveries were attempted.
    pub async fn run_once(&self) -> Result<usize, app::ports::StoreError> {
        let services = &self.inner.services;
        let now = services.clock.now();
        let batch = Uuid::now_v7();
        let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let claimed = services.store.claim_deliveries(batch, now, lease_until, BATCH).await?;
        let count = claimed.len();
        let mut sending = tokio::task::JoinSet::new();
        for delivery in claimed {
            let sender = self.clone();
            sending.spawn(async move { sender.attempt(batch, delivery).await });
        }
        while sending.join_next().await.is_some() {}
        Ok(count)
    }

    async fn attempt(&self, batch: Uuid, claimed: ClaimedDelivery) {
        let services = &self.inner.services;
        let number = claimed.delivery.attempts + 1;
        let at = services.clock.now();
        let started = Instant::now();
        let outcome = self.post(&claimed).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, error, response_excerpt) = match outcome {
            Ok((code, excerpt)) => (Some(i32::from(code)), None, excerpt),
            Err(error) => (None, Some(error), String::new()),
        };
        let delivered = status_code.is_some_and(|code| (200..300).contains(&code));
        let (status, next) = if delivered {
            (DeliveryStatus::Delivered, None)
        } else if number >= MAX_ATTEMPTS {
            (DeliveryStatus::Failed, None)
        } else {
            let delay = retry_delay_seconds(number, rand::thread_rng().r#gen::<f64>());
            (DeliveryStatus::Pending, Some(at + chrono::Duration::seconds(delay)))
        };
        let error = error
            .or_else(|| status_code.filter(|_| !delivered).map(|code| format!("The receiver answered HTTP {code}.")));
        let attempt = AttemptRecord { number, at, status_code, error, duration_ms, response_excerpt };
        match services.store.record_attempt(batch, claimed.delivery.id, &attempt, status, next).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery = %claimed.delivery.id, "webhook lease lost before the attempt was recorded")
            }
            Err(err) => tracing::error!(%err, delivery = %claimed.delivery.id, "could not record a webhook attempt"),
        }
    }

    /// POSTs the payload; `Ok((status, first bytes of the body))` for any HTTP answer.
    async fn post(&self, claimed: &ClaimedDelivery) -> Result<(u16, String), String> {
        if !self.inner.allow_private {
            check_public(&claimed.url).await?;
        }
        let d = &claimed.delivery;
        let timestamp = self.inner.services.clock.now().timestamp();
        let mut response = self
            .inner
            .http
            .post(&claimed.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Cairn-Signature", sign_webhook(&claimed.secret, timestamp, &d.payload))
            .header("Cairn-Event", &d.event_type)
            .header("Cairn-Event-Id", d.event_id.to_string())
            .header("Cairn-Delivery", d.id.to_string())
            .body(d.payload.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(EXCERPT);
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Refuses hosts that resolve to loopback, private or otherwise internal addresses.
pub(crate) async fn check_public(url: &str) -> Result<(), String> {
    let host = url_host(url);
    let port = if url.starts_with("https://") { 443 } else { 80 };
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| format!("Could not resolve {host}: {e}"))?;
    for addr in addrs {
        if !is_public_ip(addr.ip()) {
            return Err(format!(
                "Refused: {host} resolves to {}, a private address (CAIRN_WEBHOOK_ALLOW_PRIVATE allows it).",
                addr.ip()
            ));
        }
    }
    Ok(())
}

fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        format!("No answer within {} seconds.", TIMEOUT.as_secs())
    } else if err.is_connect() {
        "Could not connect to the receiver.".to_owned()
    } else {
        format!("The request failed: {err}")
    }
}
