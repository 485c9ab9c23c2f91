//! Live updates as server-sent events: `/events/conversations/{id}` sends an event whenever the
//! subscriber's conversation changes (a step fired, an answer, a decision), so the page reloads
//! it. Every change bumps the subscription's revision in the database, which the stream watches;
//! it therefore works whichever server instance made the change.

use crate::AppState;
use app::api::CallerSlot;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use std::convert::Infallible;
use std::time::Duration;
use uuid::Uuid;

/// How often the stream looks for a change.
const POLL: Duration = Duration::from_millis(500);

pub async fn conversation_events(State(state): State<AppState>, Path(id): Path<Uuid>, req: Request<Body>) -> Response {
    let Some(caller) =
        req.extensions().get::<CallerSlot>().and_then(|s| s.0.clone()).filter(|c| !c.session.mfa_pending)
    else {
        return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response();
    };
    let store = state.services.store.clone();
    // The subscriber, the sequence's creator and the subscriber's coach (who may take it over).
    let sub = match store.subscription(id).await {
        Ok(Some(sub)) => sub,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let creator = match store.sequence(sub.org_id, sub.sequence_id).await {
        Ok(sequence) => sequence.map(|s| s.creator_id),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let me = Some(caller.user.id);
    if sub.user_id != caller.user.id && creator != me && sub.coach_id != me {
        return StatusCode::NOT_FOUND.into_response();
    }
    let revision = sub.revision;
    let events = stream::unfold((store, revision), move |(store, seen)| async move {
        loop {
            tokio::time::sleep(POLL).await;
            match store.subscription(id).await {
                Ok(Some(sub)) if sub.revision != seen => {
                    let event = Event::default().data(sub.revision.to_string());
                    return Some((Ok::<_, Infallible>(event), (store, sub.revision)));
                }
                Ok(Some(_)) | Err(_) => continue,
                Ok(None) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}
