//! One module per area of the app.

pub mod activity;
pub mod admin;
pub mod analytics;
pub mod api_keys;
pub mod assignments;
pub mod auth;
pub mod billing;
pub mod business;
pub mod coach;
pub mod comments;
pub mod desks;
pub mod dev;
pub mod home;
pub mod import;
pub mod inbox;
pub mod journey_help;
pub mod journeys;
pub mod library;
pub mod orgs;
pub mod prompts;
pub mod public;
pub mod searches;
pub mod sequences;
pub mod settings;
pub mod test_panel;
pub mod webhooks;

use crate::components::layout::use_me;
use crate::dto::Me;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <A href="/">"Go to the dashboard"</A>
        </section>
    }
}

/// Shown by the service worker when the network is gone.
#[component]
pub fn OfflinePage() -> impl IntoView {
    view! {
        <section class="page narrow">
            <h1>"You are offline"</h1>
            <p>"Cairn needs a connection for this page. It will work again as soon as you are back online."</p>
        </section>
    }
}

/// Renders `content` for a signed-in person, or asks them to sign in.
#[component]
pub fn SignedIn<F, V>(content: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let me = use_me();
    let location = use_location();
    view! {
        <Transition fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || {
                let content = content.clone();
                let here = location.pathname.get_untracked();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => content(me).into_any(),
                        Ok(None) => view! {
                            <section class="page narrow">
                                <h1>"Please sign in"</h1>
                                <p>"You need to be signed in to see this page."</p>
                                <A href=format!("/sign-in?next={here}") attr:class="button">"Sign in"</A>
                            </section>
                        }.into_any(),
                        Err(err) => view! { <p role="alert" class="page">{err.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// A `next` parameter is followed only when it is a path on this site.
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\")).unwrap_or_else(|| "/".into())
}
