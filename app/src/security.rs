//! Server-side secrets: password hashing (argon2id, OWASP parameters), random tokens stored as
//! SHA-256 hashes, TOTP (RFC 6238) and recovery codes.

use crate::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the account does not exist so that both
/// answers take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1+Z0pIybEm5l7xJmOIw+B9H2mS7U3hfOLozhgBIBk7I";

pub async fn hash_password(limit: &Semaphore, password: &str) -> Result<String, AppError> {
    let _permit = limit.acquire().await.map_err(AppError::internal)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Checks a password against a stored hash (or the dummy hash when there is none).
pub async fn verify_password(limit: &Semaphore, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
    let _permit = limit.acquire().await.map_err(AppError::internal)?;
    let known = hash.is_some();
    let hash = hash.unwrap_or(DUMMY_HASH).to_owned();
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(AppError::internal)?;
    Ok(known && matches)
}

/// A random 256-bit token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How tokens are stored: SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random TOTP secret (160 bits), base32.
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    data_encoding::BASE32_NOPAD.encode(&bytes)
}

/// The 6-digit TOTP code for a base32 secret at a unix time (30 s steps, HMAC-SHA1).
pub fn totp_code(secret_base32: &str, unix_seconds: i64) -> Option<String> {
    let key = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    let counter = (unix_seconds.max(0) as u64) / 30;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    Some(format!("{:06}", binary % 1_000_000))
}

/// Accepts the code of the current step and of one step either side (clock drift).
pub fn verify_totp(secret_base32: &str, code: &str, unix_seconds: i64) -> bool {
    [-30, 0, 30].iter().any(|skew| {
        totp_code(secret_base32, unix_seconds + skew).is_some_and(|expected| constant_time_eq(&expected, code))
    })
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ten recovery codes like `k3x9q-7m2pa`.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..10)
        .map(|_| {
            let mut code: String = (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
            code.insert(5, '-');
            code
        })
        .collect()
}

/// The `Cairn-Signature` header of a webhook delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" keyed with the webhook's secret>`. Receivers recompute it and reject old `t`.
pub fn sign_webhook(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={digest}")
}

/// Why a `Stripe-Signature` header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=` in the header.
    Malformed,
    /// `t` is further than the tolerance from now (a replay, or a clock far off).
    Stale,
    /// No `v1=` signature matches the body under any of the secrets.
    Mismatch,
}

/// Checks a Stripe webhook's `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`)
/// against the raw body: some `v1` must be the HMAC-SHA256 of `"<t>.<body>"` under one of
/// `secrets` (several while a secret is rolled), compared in constant time, and `t` within
/// `tolerance_secs` of `now` (Stripe's libraries use 300 s). Returns `t`.
pub fn verify_stripe_signature(
    body: &[u8],
    header: &str,
    secrets: &[String],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.extend(data_encoding::HEXLOWER_PERMISSIVE.decode(sig.as_bytes()).ok()),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    for secret in secrets {
        for sig in &signatures {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            if mac.verify_slice(sig).is_ok() {
                return Ok(t);
            }
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_signatures_are_checked_like_stripes_libraries_do() {
        let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
        let secrets = vec!["whsec_old".to_owned(), "whsec_new".to_owned()];
        let now = 1_700_000_000;
        let good = sign_webhook("whsec_new", now, std::str::from_utf8(body).unwrap());
        assert_eq!(verify_stripe_signature(body, &good, &secrets, now + 10, 300), Ok(now));
        // Any of several v1 signatures may match (Stripe sends one per active secret).
        let digest = good.split_once("v1=").unwrap().1;
        let several = format!("t={now},v1={},v1={digest},v0=abc", "00".repeat(32));
        assert_eq!(verify_stripe_signature(body, &several, &secrets, now, 300), Ok(now));
        // Stale and future timestamps, forged secrets, mutated bodies and headers are refused.
        assert_eq!(verify_stripe_signature(body, &good, &secrets, now + 301, 300), Err(SignatureError::Stale));
        assert_eq!(verify_stripe_signature(body, &good, &secrets, now - 301, 300), Err(SignatureError::Stale));
        let forged = sign_webhook("whsec_attacker", now, std::str::from_utf8(body).unwrap());
        assert_eq!(verify_stripe_signature(body, &forged, &secrets, now, 300), Err(SignatureError::Mismatch));
        let mutated = br#"{"id":"evt_1","type":"invoice.paid "}"#;
        assert_eq!(verify_stripe_signature(mutated, &good, &secrets, now, 300), Err(SignatureError::Mismatch));
        let shifted = good.replace(&format!("t={now}"), &format!("t={}", now + 1));
        assert_eq!(verify_stripe_signature(body, &shifted, &secrets, now, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_stripe_signature(body, "v1=abcd", &secrets, now, 300), Err(SignatureError::Malformed));
        assert_eq!(
            verify_stripe_signature(body, &format!("t={now}"), &secrets, now, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn totp_matches_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", truncated to 6 digits.
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert_eq!(totp_code(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(totp_code(&secret, 2_000_000_000).unwrap(), "279037");
        assert!(verify_totp(&secret, "287082", 59 + 30));
        assert!(!verify_totp(&secret, "287082", 59 + 90));
    }

    #[test]
    fn webhook_signatures_are_hmac_sha256_of_timestamp_and_body() {
        // Computed independently: Python's hmac.new(b"whsec_test", b"1700000000.{...}", sha256).
        assert_eq!(
            sign_webhook("whsec_test", 1_700_000_000, r#"{"type":"ping"}"#),
            "t=1700000000,v1=bc08c591847b765241711bcbe7067e3869a219e424d3fdd9d00b3b6f915baf97"
        );
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let limit = Semaphore::new(2);
        let hash = hash_password(&limit, "correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&limit, "correct horse battery", Some(&hash)).await.unwrap());
        assert!(!verify_password(&limit, "wrong horse battery", Some(&hash)).await.unwrap());
        assert!(!verify_password(&limit, "anything", None).await.unwrap());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(hash_token(&a).len(), 64);
        assert_eq!(new_recovery_codes().len(), 10);
    }
}
