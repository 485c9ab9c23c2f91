//! The prompt list's searches: save the current one (for yourself or shared with the
//! organization), and open saved and recent ones. Each is a link to `/prompts?…`.

use crate::api::searches::{delete_saved_search, recent_searches, save_search, saved_searches};
use crate::dto::SearchView;
use crate::error::AppError;
use leptos::prelude::*;

/// Shows the page's search in the address bar, so it can be bookmarked and passed on.
pub fn show_in_address_bar(query: &str) {
    let url = if query.is_empty() { "/prompts".to_owned() } else { format!("/prompts?{query}") };
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// The saved and recent searches. Created with the page, not inside a part of it that streams
/// in later: resources are matched between server and browser by the order they are created,
/// and the order parts of a page resolve on the server varies.
#[derive(Clone, Copy)]
pub struct SearchLists {
    changed: RwSignal<u32>,
    saved: Resource<Result<Vec<SearchView>, AppError>>,
    recent: Resource<Result<Vec<SearchView>, AppError>>,
}

impl SearchLists {
    /// `searched` is bumped after each search, to refresh the recent ones.
    pub fn new(searched: Signal<u32>) -> Self {
        let changed = RwSignal::new(0u32);
        Self {
            changed,
            saved: Resource::new(move || changed.get(), |_| saved_searches()),
            recent: Resource::new(move || searched.get(), |_| recent_searches()),
        }
    }
}

#[component]
pub fn Searches(
    /// The current search as a query string.
    #[prop(into)]
    current: Signal<String>,
    lists: SearchLists,
) -> impl IntoView {
    let SearchLists { changed, saved, recent } = lists;
    let name = RwSignal::new(String::new());
    let shared = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<String, AppError>>);
    let name_error = Signal::derive(move || match outcome.get() {
        Some(Err(err)) => err.field_message("name").or_else(|| err.field_message("query")),
        _ => None,
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (search_name, query, share) = (name.get_untracked(), current.get_untracked(), shared.get_untracked());
        leptos::task::spawn_local(async move {
            let result = save_search(search_name, query, share).await;
            if result.is_ok() {
                name.set(String::new());
                changed.update(|n| *n += 1);
            }
            outcome.set(Some(result.map(|s| format!("Saved “{}”.", s.name))));
        });
    };
    let delete = move |search: SearchView| {
        let Some(id) = search.id else { return };
        leptos::task::spawn_local(async move {
            let result = delete_saved_search(id).await;
            if result.is_ok() {
                changed.update(|n| *n += 1);
            }
            outcome.set(Some(result.map(|()| format!("Deleted “{}”.", search.name))));
        });
    };
    let link = |s: &SearchView| format!("/prompts?{}", s.query);
    view! {
        <section class="card searches" aria-labelledby="searches-h">
            <h2 id="searches-h">"Searches"</h2>
            <form on:submit=save>
                <div class="field">
                    <label for="search-name">"Name of this search"</label>
                    <input id="search-name" bind:value=name aria-describedby="search-name-error"/>
                    <p class="field-error" id="search-name-error" aria-live="polite">{move || name_error.get()}</p>
                </div>
                <div class="field checkbox">
                    <input type="checkbox" id="search-shared" bind:checked=shared/>
                    <label for="search-shared">"Share with the organization"</label>
                </div>
                <button type="submit">"Save search"</button>
            </form>
            <p role="status">{move || match outcome.get() {
                Some(Ok(text)) => Some(text),
                Some(Err(err)) if err.field_message("name").is_none() && err.field_message("query").is_none() => Some(err.to_string()),
                _ => None,
            }}</p>
            <h3>"Saved"</h3>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move { match saved.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"None yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="search-list" aria-label="Saved searches">
                            {list.into_iter().map(|s| {
                                let label = format!("Delete saved search {}", s.name);
                                let can_delete = s.can_delete;
                                let target = s.clone();
                                view! {
                                    <li>
                                        <a href=link(&s) rel="external" title=s.description.clone()>{s.name.clone()}</a>
                                        {s.shared.then(|| view! { <span class="badge">"shared"</span> })}
                                        {can_delete.then(|| view! {
                                            <button type="button" class="small secondary" aria-label=label
                                                on:click=move |_| delete(target.clone())>"Delete"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }})}
            </Transition>
            <h3>"Recent"</h3>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move { match recent.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Your searches will show here."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="search-list" aria-label="Recent searches">
                            {list.into_iter().map(|s| view! { <li><a href=link(&s) rel="external">{s.description.clone()}</a></li> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }})}
            </Transition>
        </section>
    }
}
