//! Webhooks: the events an organization can subscribe to, the rules for a receiving URL and the
//! retry schedule. Signing and sending live on the server (`security::sign_webhook`,
//! `server::webhooks`).

use super::Invalid;
use serde::{Deserialize, Serialize};

/// Something that happened in an organization's prompt library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "prompt.created")]
    PromptCreated,
    #[serde(rename = "prompt.updated")]
    PromptUpdated,
    #[serde(rename = "prompt.deleted")]
    PromptDeleted,
    /// A new version of a prompt whose status is published (also a published prompt's first).
    #[serde(rename = "prompt.version_published")]
    VersionPublished,
    /// A deployment label now points at another version.
    #[serde(rename = "prompt.label_moved")]
    LabelMoved,
    /// Sent by "Send test event" only.
    #[serde(rename = "ping")]
    Ping,
}

impl EventType {
    /// The events a webhook can subscribe to, in the order forms list them.
    pub const SUBSCRIBABLE: [EventType; 5] = [
        EventType::PromptCreated,
        EventType::PromptUpdated,
        EventType::PromptDeleted,
        EventType::VersionPublished,
        EventType::LabelMoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PromptCreated => "prompt.created",
            Self::PromptUpdated => "prompt.updated",
            Self::PromptDeleted => "prompt.deleted",
            Self::VersionPublished => "prompt.version_published",
            Self::LabelMoved => "prompt.label_moved",
            Self::Ping => "ping",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::PromptCreated => "A prompt is created (also by duplicating or importing)",
            Self::PromptUpdated => "A prompt is saved as a new version, reverted or archived",
            Self::PromptDeleted => "A prompt is deleted",
            Self::VersionPublished => "A published prompt gets a new version",
            Self::LabelMoved => "A deployment label is moved",
            Self::Ping => "Test event",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().chain([Self::Ping]).find(|e| e.as_str() == raw.trim())
    }
}

/// The events a webhook listens to: a non-empty set, stored as space-separated names.
pub fn parse_events(raw: &[String]) -> Result<Vec<EventType>, Invalid> {
    let mut events = Vec::new();
    for name in raw.iter().flat_map(|r| r.split([' ', ','])).filter(|n| !n.trim().is_empty()) {
        match EventType::parse(name) {
            Some(EventType::Ping) | None => {
                return Err(Invalid(format!("“{}” is not an event Cairn sends.", name.trim())));
            }
            Some(event) if !events.contains(&event) => events.push(event),
            Some(_) => {}
        }
    }
    if events.is_empty() {
        return Err(Invalid("Choose at least one event.".into()));
    }
    Ok(events)
}

pub fn events_to_string(events: &[EventType]) -> String {
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" ")
}

/// Events stored with [`events_to_string`]; unknown names (from a newer version) are skipped.
pub fn events_from_string(raw: &str) -> Vec<EventType> {
    raw.split_whitespace().filter_map(EventType::parse).collect()
}

/// A receiving URL: absolute http(s), with a host, at most 2,000 characters, no credentials.
/// Whether the host may be a private address is decided when sending.
pub fn parse_url(raw: &str) -> Result<String, Invalid> {
    let url = raw.trim();
    if url.is_empty() {
        return Err(Invalid("Enter the URL that receives the events.".into()));
    }
    if url.len() > 2000 {
        return Err(Invalid("Keep the URL under 2,000 characters.".into()));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| Invalid("Use an http:// or https:// URL.".into()))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(Invalid("Leave user names and passwords out of the URL; verify the signature instead.".into()));
    }
    let host = url_host(url);
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Invalid("That is not a complete URL, e.g. https://example.com/hooks/cairn.".into()));
    }
    Ok(url.to_owned())
}

/// Whether an address is on the public internet. Webhooks to anything else (loopback, private
/// ranges, link-local, carrier-grade NAT, multicast …) are refused unless the operator allows
/// them, so that a webhook cannot reach the server's own network.
pub fn is_public_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// The host part of a URL accepted by [`parse_url`], without brackets.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    }
}

/// Hosts known to be private without looking them up: `localhost` and literal private addresses.
pub fn is_obviously_private(url: &str) -> bool {
    let host = url_host(url).to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.parse().is_ok_and(|ip| !is_public_ip(ip))
}

/// Attempts before a delivery is given up on.
pub const MAX_ATTEMPTS: i32 = 8;

/// Seconds to wait after failed attempt `attempt` (1-based) before the next: 30 s, 2 min,
/// 8 min, 32 min, ~2 h, ~8.5 h, then a day. `jitter` in [0, 1) spreads them by ±20 %, never
/// past a day.
pub fn retry_delay_seconds(attempt: i32, jitter: f64) -> i64 {
    let base = 30.0 * 4f64.powi((attempt - 1).clamp(0, 10));
    (base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))).min(86_400.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_reject_unknown_names() {
        let events = parse_events(&["prompt.created".into(), "prompt.label_moved prompt.created".into()]).unwrap();
        assert_eq!(events, vec![EventType::PromptCreated, EventType::LabelMoved]);
        assert_eq!(events_from_string(&events_to_string(&events)), events);
        assert!(parse_events(&[]).is_err());
        assert!(parse_events(&["ping".into()]).is_err());
        assert!(parse_events(&["prompt.exploded".into()]).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http_without_credentials() {
        assert_eq!(parse_url(" https://example.com/hook ").unwrap(), "https://example.com/hook");
        assert!(parse_url("http://127.0.0.1:8080/x").is_ok());
        assert!(parse_url("http://[::1]:8080/x").is_ok());
        assert!(parse_url("ftp://example.com").is_err());
        assert!(parse_url("https://user:pw@example.com").is_err());
        assert!(parse_url("https://").is_err());
        assert!(parse_url("https://exa mple.com").is_err());
        assert!(parse_url("").is_err());
    }

    #[test]
    fn private_addresses_are_told_apart_from_public_ones() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public_ip(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public_ip(public.parse().unwrap()), "{public}");
        }
        assert!(is_obviously_private("http://localhost:3000/x"));
        assert!(is_obviously_private("http://[::1]:3000/x"));
        assert!(is_obviously_private("https://10.0.0.8/hook"));
        assert!(!is_obviously_private("https://hooks.example.com/x"));
        assert_eq!(url_host("https://hooks.example.com:8443/x?y"), "hooks.example.com");
    }

    #[test]
    fn retries_back_off_exponentially_within_a_day() {
        assert_eq!(retry_delay_seconds(1, 0.5), 30);
        assert_eq!(retry_delay_seconds(2, 0.5), 120);
        assert_eq!(retry_delay_seconds(3, 0.5), 480);
        assert_eq!(retry_delay_seconds(7, 0.5), 86_400);
        assert_eq!(retry_delay_seconds(7, 0.999), 86_400);
        assert!(retry_delay_seconds(6, 0.999) < 86_400);
        assert_eq!(retry_delay_seconds(1, 0.0), 24);
        assert_eq!(retry_delay_seconds(1, 0.999_999), 36);
    }
}
