//! Leptos's pages and server functions run on a runtime of their own with one thread; the rest
//! (the REST API, webhooks, health, the scheduler) on the server's runtime with a worker per core.
//!
//! Leptos 0.8's reactive graph can deadlock when two threads work on one server-rendered page's
//! graph at once (a lock-order inversion between an effect and an async resource under
//! concurrent load; leptos-rs/leptos#4673, #4851): `cairn-bench` hung the whole server within
//! seconds of concurrent page loads with two workers. A page's tasks are spawned with
//! `tokio::spawn` (Leptos's executor) on the runtime that polls them, and its HTML is produced
//! while its body is polled, so both the handler and its body run here: one thread, as when the
//! whole server had one, while the API, which never touches a reactive graph, uses every core.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

/// The rendering runtime, started on first use and kept for the life of the process.
fn runtime() -> &'static Handle {
    static RENDER: OnceLock<Runtime> = OnceLock::new();
    RENDER
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("cairn-render")
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start the rendering runtime: {e}"))
        })
        .handle()
}

/// Middleware: handles the request on the rendering runtime, and streams its body from there.
pub async fn on_render_thread(req: Request, next: Next) -> Response {
    let handled = runtime().spawn(without_stale_owner(async move {
        let (parts, body) = next.run(req).await.into_parts();
        if axum::body::HttpBody::size_hint(&body).exact().is_some() {
            // Already whole: nothing left to render while it is sent.
            return Response::from_parts(parts, body);
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            let mut chunks = body.into_data_stream();
            while let Some(chunk) = chunks.next().await {
                if tx.send(chunk).await.is_err() {
                    break; // The client went away.
                }
            }
        });
        // A closed channel keeps answering `None`: the body may be polled again after its end.
        let received = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Response::from_parts(parts, Body::from_stream(received))
    }));
    match handled.await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(error = %err, "a page or server function failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Polls `handled` with no reactive owner current on the thread. On this thread a page's owner
/// is sometimes left current between tasks (about a dozen times in an end-to-end run, seen at the
/// start of requests for /manifest.webmanifest and /sw.js), and Leptos's handlers make their own
/// owner with `Owner::new()`, a child of whichever is current: its file handler would then read
/// that page's `ResponseOptions` and take its headers, and a server function's context would be
/// cleaned up with the page's. No task polls inside another's owner, so one still current when
/// a request's task is polled is stale.
async fn without_stale_owner<T>(handled: impl Future<Output = T>) -> T {
    let mut handled = std::pin::pin!(handled);
    futures_util::future::poll_fn(move |cx| {
        if let Some(stale) = leptos::prelude::Owner::current() {
            stale.unset();
        }
        handled.as_mut().poll(cx)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::without_stale_owner;
    use leptos::prelude::Owner;

    #[tokio::test]
    async fn a_request_is_polled_without_an_owner_left_current_on_the_thread() {
        let stale = Owner::new();
        stale.set();
        let inside = without_stale_owner(async {
            tokio::task::yield_now().await;
            Owner::current().is_some()
        })
        .await;
        assert!(!inside, "the stale owner was current inside the request");
        let own = Owner::new();
        assert!(own.with(|| Owner::current().is_some()), "owners still work after it");
        drop(stale);
    }
}
