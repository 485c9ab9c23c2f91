//! `/p/{id}`: a public prompt for anyone with the link.

use crate::api::public::public_prompt;
use crate::components::layout::LocalTime;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

#[component]
pub fn PublicPromptPage() -> impl IntoView {
    let params = use_params_map();
    let prompt = Resource::new(
        move || params.get().get("id").and_then(|id| id.parse::<Uuid>().ok()),
        |id| async move {
            match id {
                Some(id) => public_prompt(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || Suspend::new(async move { match prompt.await {
                Ok(p) => view! {
                    <article class="page public-prompt" aria-labelledby="public-title">
                        <h1 id="public-title">{p.title.clone()}</h1>
                        <p class="muted">
                            "Shared by " {p.author_name.clone()} " of " {p.org_name.clone()} " · version " {p.version}
                            " · updated " <LocalTime at=p.updated_at/>
                        </p>
                        {(!p.description.is_empty()).then(|| view! { <p>{p.description.clone()}</p> })}
                        {(!p.tags.is_empty()).then(|| view! {
                            <ul class="tags" aria-label="Tags">{p.tags.iter().map(|t| view! { <li class="badge">{t.clone()}</li> }).collect_view()}</ul>
                        })}
                        <div class="card prompt-content" aria-label="Content" inner_html=p.html.clone()></div>
                        {(!p.variables.is_empty()).then(|| view! {
                            <section class="card" aria-labelledby="public-vars">
                                <h2 id="public-vars">"Variables"</h2>
                                <ul>{p.variables.iter().map(|v| view! {
                                    <li><code>{format!("{{{{{}}}}}", v.name)}</code> " · " {v.kind.as_str()}
                                        {(!v.description.is_empty()).then(|| format!(" · {}", v.description))}</li>
                                }).collect_view()}</ul>
                            </section>
                        })}
                        <details class="card">
                            <summary>"The prompt as plain text"</summary>
                            <pre class="prompt-body">{p.body.clone()}</pre>
                        </details>
                    </article>
                }.into_any(),
                Err(_) => view! {
                    <section class="page narrow">
                        <h1>"Prompt not found"</h1>
                        <p>"This link shows nothing: the prompt is not public, not published, or no longer there."</p>
                    </section>
                }.into_any(),
            }})}
        </Suspense>
    }
}
