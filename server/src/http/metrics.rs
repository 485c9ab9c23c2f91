//! Prometheus metrics: request counts and latency histograms by method, route and status,
//! served as text at `/metrics`.

use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Method, route, status.
type SeriesKey = (String, String, u16);

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<BTreeMap<SeriesKey, Series>>>);

impl Metrics {
    fn observe(&self, method: String, route: String, status: u16, seconds: f64) {
        let Ok(mut series) = self.0.lock() else { return };
        let s = series.entry((method, route, status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP cairn_http_requests_total HTTP requests answered.\n# TYPE cairn_http_requests_total counter\n",
        );
        let Ok(series) = self.0.lock() else { return out };
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "cairn_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP cairn_http_request_duration_seconds Time to answer HTTP requests.\n# TYPE cairn_http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(out, "cairn_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "cairn_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "cairn_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "cairn_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

pub async fn track(State(metrics): State<Metrics>, req: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path();
    // Server functions share one wildcard route: label them by their own path.
    let route = if path.starts_with("/api/") || path.starts_with("/pkg/") {
        if path.starts_with("/pkg/") { "/pkg/*".to_owned() } else { path.to_owned() }
    } else {
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into())
    };
    let res = next.run(req).await;
    metrics.observe(method, route, res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}

pub async fn render(State(metrics): State<Metrics>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn renders_counters_and_cumulative_histogram_buckets() {
        let metrics = Metrics::default();
        metrics.observe("GET".into(), "/healthz".into(), 200, 0.003);
        metrics.observe("GET".into(), "/healthz".into(), 200, 0.2);
        let text = metrics.render();
        assert!(
            text.contains("cairn_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
            "{text}"
        );
        let bucket = |le: &str| {
            format!(
                "cairn_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"{le}\"}}"
            )
        };
        assert!(text.contains(&format!("{} 0", bucket("0.0025"))), "{text}");
        assert!(text.contains(&format!("{} 1", bucket("0.005"))), "{text}");
        assert!(text.contains(&format!("{} 2", bucket("0.25"))), "{text}");
        assert!(text.contains(&format!("{} 2", bucket("+Inf"))), "{text}");
        assert!(
            text.contains(
                "cairn_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
            )
        );
    }
}
