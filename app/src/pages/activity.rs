//! `/activity`: what happened to the organization's prompts, newest first; the same feed for one
//! prompt sits on the prompt's page.

use super::SignedIn;
use crate::api::activity::activity;
use crate::components::layout::LocalTime;
use crate::dto::{ActivityView, Me};
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

#[component]
pub fn ActivityPage() -> impl IntoView {
    view! {
        <SignedIn content=|me: Me| view! {
            <section class="page narrow">
                <h1>"Activity"</h1>
                <p class="muted">{format!("Changes and comments in {}.", me.active_org.map(|o| o.name).unwrap_or_default())}</p>
                <ActivityFeed prompt=None/>
            </section>
        }/>
    }
}

/// A feed with "Show older" paging: of `prompt`, or of the organization.
#[component]
pub fn ActivityFeed(prompt: Option<Uuid>) -> impl IntoView {
    let older = RwSignal::new(Vec::<ActivityView>::new());
    let next = RwSignal::new(None::<Uuid>);
    let error = RwSignal::new(None::<String>);
    let first = Resource::new(move || prompt, move |prompt| activity(prompt, None));
    let load_more = move |_| {
        let Some(before) = next.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match activity(prompt, Some(before)).await {
                Ok(page) => {
                    older.update(|o| o.extend(page.items));
                    next.set(page.next);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(page) if page.items.is_empty() => view! { <p>"Nothing has happened yet."</p> }.into_any(),
                    Ok(page) => {
                        next.set(page.next);
                        view! {
                            <ol class="activity" aria-label="Activity">
                                {page.items.into_iter().map(|item| view! { <ActivityItem item=item/> }).collect_view()}
                                <For each=move || older.get() key=|item| item.id let:item>
                                    <ActivityItem item=item/>
                                </For>
                            </ol>
                            <Show when=move || next.get().is_some()>
                                <button type="button" class="secondary" on:click=load_more>"Show older activity"</button>
                            </Show>
                            <p role="alert" class="form-error">{move || error.get()}</p>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ActivityItem(item: ActivityView) -> impl IntoView {
    view! {
        <li>
            <strong>{item.actor_name.clone()}</strong> " "
            {match item.link.clone() {
                Some(link) => view! { <A href=link>{item.summary.clone()}</A> }.into_any(),
                None => item.summary.clone().into_any(),
            }}
            <br/><span class="muted"><LocalTime at=item.at/></span>
        </li>
    }
}
