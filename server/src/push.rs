//! Web Push to the browsers where people turned it on (the installed PWA or a browser tab): the
//! payload is encrypted for the browser (aes128gcm, RFC 8291) and the request signed with the
//! server's VAPID key (RFC 8292) by the `web-push` crate, and sent with reqwest to the push
//! service the browser chose. A push service that answers 404 or 410 has forgotten the browser:
//! its subscription is dropped.

use app::domain::webhook::is_obviously_private;
use app::ports::{PushDevice, PushNotice, PushSender, Store, StoreError, VapidKeys};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use std::time::Duration;
use web_push::{ContentEncoding, SubscriptionInfo, VapidSignatureBuilder, WebPushMessageBuilder};

/// How long a push service keeps a notice for a browser that is offline.
const TTL_SECONDS: u32 = 24 * 60 * 60;

/// The server's VAPID key pair: made on first start and stored, so every instance (and every
/// restart) signs with the same key and browsers' subscriptions keep working.
pub async fn vapid_keys(store: &dyn Store, at: DateTime<Utc>) -> Result<VapidKeys, StoreError> {
    if let Some(keys) = store.vapid_keys().await? {
        return Ok(keys);
    }
    let fresh = new_vapid_keys();
    // Two instances starting at once: the first one's keys are kept and read back by both.
    store.keep_vapid_keys(&fresh, at).await
}

fn new_vapid_keys() -> VapidKeys {
    let private_key = URL_SAFE_NO_PAD.encode(jwt_simple::prelude::ES256KeyPair::generate().to_bytes());
    #[allow(clippy::expect_used)] // a key just made is a valid key
    let public = VapidSignatureBuilder::from_base64_no_sub(&private_key).expect("a fresh P-256 key").get_public_key();
    VapidKeys { private_key, public_key: URL_SAFE_NO_PAD.encode(public) }
}

pub struct Pusher {
    store: std::sync::Arc<dyn Store>,
    keys: VapidKeys,
    /// The VAPID `sub` claim: how a push service can reach the operator.
    subject: String,
    /// Push endpoints may be loopback and private addresses (tests, intranets).
    allow_private: bool,
    http: reqwest::Client,
}

impl Pusher {
    pub fn new(store: std::sync::Arc<dyn Store>, keys: VapidKeys, public_url: &str, allow_private: bool) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        let subject = if public_url.starts_with("https://") {
            public_url.to_owned()
        } else {
            "mailto:admin@cairn.invalid".into()
        };
        Self { store, keys, subject, allow_private, http }
    }

    async fn push(&self, device: &PushDevice, payload: &[u8]) -> Result<(), Failure> {
        if !self.allow_private && !allowed_endpoint(&device.endpoint) {
            return Err(Failure::Other("the push endpoint is not a public https address".into()));
        }
        let info = SubscriptionInfo::new(&device.endpoint, &device.p256dh, &device.auth);
        let mut signature = VapidSignatureBuilder::from_base64(&self.keys.private_key, &info).map_err(other)?;
        signature.add_claim("sub", self.subject.as_str());
        // The push service's origin, port included (the crate would leave a port out).
        signature.add_claim("aud", origin(&device.endpoint));
        let mut message = WebPushMessageBuilder::new(&info);
        message.set_payload(ContentEncoding::Aes128Gcm, payload);
        message.set_ttl(TTL_SECONDS);
        message.set_vapid_signature(signature.build().map_err(other)?);
        let request = web_push::request_builder::build_request::<Vec<u8>>(message.build().map_err(other)?);
        let mut outgoing = self.http.post(request.uri().to_string());
        for (name, value) in request.headers() {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
        let response = outgoing.body(request.into_body()).send().await.map_err(other)?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            404 | 410 => Err(Failure::Gone),
            status => Err(Failure::Other(format!("the push service answered {status}"))),
        }
    }
}

#[async_trait::async_trait]
impl PushSender for Pusher {
    async fn send_to(&self, devices: &[PushDevice], notice: &PushNotice) -> usize {
        let Ok(payload) = serde_json::to_vec(notice) else { return 0 };
        let mut taken = 0;
        for device in devices {
            match self.push(device, &payload).await {
                Ok(()) => taken += 1,
                Err(Failure::Gone) => {
                    if let Err(err) = self.store.remove_push_device(&device.endpoint, None).await {
                        tracing::warn!(%err, "push: could not drop a device its push service forgot");
                    }
                }
                Err(Failure::Other(problem)) => tracing::warn!(%problem, "push: could not send a notification"),
            }
        }
        taken
    }
}

enum Failure {
    /// The push service no longer knows the browser.
    Gone,
    Other(String),
}

fn other(err: impl std::fmt::Display) -> Failure {
    Failure::Other(err.to_string())
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..].find('/').map_or(url, |end| &url[..after_scheme + end])
}

/// Push services are public https endpoints; anything else is refused unless private addresses
/// are allowed (tests, intranets).
pub fn allowed_endpoint(endpoint: &str) -> bool {
    endpoint.starts_with("https://") && !is_obviously_private(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_vapid_keys_are_a_p256_pair() {
        let keys = new_vapid_keys();
        assert_eq!(URL_SAFE_NO_PAD.decode(&keys.private_key).unwrap().len(), 32);
        let public = URL_SAFE_NO_PAD.decode(&keys.public_key).unwrap();
        assert_eq!((public.len(), public[0]), (65, 4), "an uncompressed point, as browsers want it");
        assert_ne!(new_vapid_keys().private_key, keys.private_key);
    }

    #[test]
    fn the_audience_is_the_push_services_origin() {
        assert_eq!(origin("https://fcm.googleapis.com/fcm/send/abc"), "https://fcm.googleapis.com");
        assert_eq!(origin("http://127.0.0.1:4000/push/x"), "http://127.0.0.1:4000");
        assert_eq!(origin("https://push.example"), "https://push.example");
    }

    #[test]
    fn only_public_https_push_endpoints() {
        assert!(allowed_endpoint("https://fcm.googleapis.com/fcm/send/abc"));
        assert!(!allowed_endpoint("http://push.example.com/abc"));
        assert!(!allowed_endpoint("https://127.0.0.1/abc"));
        assert!(!allowed_endpoint("https://10.0.0.2/abc"));
    }
}
