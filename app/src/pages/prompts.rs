//! The organization's prompts: everyone reads; Editors write their own, Admins everyone's.

use super::SignedIn;
use crate::api::prompts::{CreatePrompt, DeletePrompt, UpdatePrompt, list_prompts};
use crate::components::forms::*;
use crate::components::layout::{LocalTime, can_in_active_org};
use crate::domain::Action;
use crate::dto::{Me, PromptView};
use leptos::prelude::*;

#[component]
pub fn PromptsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Prompts me=me/> }/> }
}

#[component]
fn Prompts(me: Me) -> impl IntoView {
    let create = ServerAction::<CreatePrompt>::new();
    let update = ServerAction::<UpdatePrompt>::new();
    let delete = ServerAction::<DeletePrompt>::new();
    let prompts = Resource::new(
        move || (create.version().get(), update.version().get(), delete.version().get()),
        |_| list_prompts(),
    );
    let value = create.value();
    let may_create = can_in_active_org(&me, Action::CreatePrompt);
    view! {
        <section class="page">
            <h1>"Prompts"</h1>
            {if may_create {
                view! {
                    <details class="card" open=false>
                        <summary>"New prompt"</summary>
                        <ActionForm action=create>
                            <Checked>
                                <Field label="Title" name="title" check=check_not_empty server_error=field_error(value, "title")/>
                                <div class="field">
                                    <label for="field-body">"Prompt text"</label>
                                    <textarea id="field-body" name="body" rows="6" required=true></textarea>
                                    <p class="field-error" aria-live="polite">{field_error(value, "body")}</p>
                                </div>
                                <FormMessage error=field_error(value, "")/>
                                <Submit label="Create prompt" pending=create.pending()/>
                            </Checked>
                        </ActionForm>
                    </details>
                }.into_any()
            } else {
                view! { <p class="notice">"As a Viewer you can read prompts; ask an admin for the Editor role to write them."</p> }.into_any()
            }}
            <p role="alert" class="form-error">{move || field_error(update.value(), "").get().or_else(|| field_error(delete.value(), "").get())}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match prompts.await {
                        Ok(list) if list.is_empty() => view! { <p>"No prompts yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="cards">
                                {list.into_iter().map(|p| view! { <PromptCard prompt=p update=update delete=delete/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn PromptCard(
    prompt: PromptView,
    update: ServerAction<UpdatePrompt>,
    delete: ServerAction<DeletePrompt>,
) -> impl IntoView {
    let id = prompt.id.to_string();
    let title = prompt.title.clone();
    let edit_title = prompt.title.clone();
    let edit_body = prompt.body.clone();
    let delete_label = format!("Delete {}", prompt.title);
    let prompt_id = prompt.id.to_string();
    view! {
        <li class="card">
            <article aria-label=prompt.title.clone()>
                <h2>{prompt.title.clone()}</h2>
                <p class="muted">"By " {prompt.author_name.clone()} " · updated " <LocalTime at=prompt.updated_at/></p>
                <pre class="prompt-body">{prompt.body.clone()}</pre>
                {prompt.can_edit.then(|| view! {
                    <details>
                        <summary>{format!("Edit {title}")}</summary>
                        <ActionForm action=update>
                            <input type="hidden" name="id" value=id.clone()/>
                            <Field label="Title" name="title" value=edit_title.clone()/>
                            <div class="field">
                                <label for=format!("body-{id}")>"Prompt text"</label>
                                <textarea id=format!("body-{id}") name="body" rows="6">{edit_body.clone()}</textarea>
                            </div>
                            <Submit label="Save prompt" pending=update.pending()/>
                        </ActionForm>
                    </details>
                })}
                {prompt.can_delete.then(|| view! {
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=prompt_id.clone()/>
                        <button type="submit" class="danger" aria-label=delete_label.clone()>"Delete"</button>
                    </ActionForm>
                })}
            </article>
        </li>
    }
}
