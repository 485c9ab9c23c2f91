//! The prompt library: the searchable list, the editor (new and edit) and a prompt's page.

use super::SignedIn;
use super::library::{BulkBar, CategoriesPanel, LibraryNav, Shelf, drag_payload};
use crate::api::organize::{BulkAction, DuplicatePrompt, bulk_prompts, categories, collections, set_favorite};
use crate::api::prompts::{
    CreatePrompt, DeletePrompt, ListParams, RemovePromptLabel, RevertPrompt, SetPromptLabel, UpdatePrompt, get_prompt,
    list_prompts, prompt_diff, prompt_versions,
};
use crate::components::forms::{BoundField, error_for};
use crate::components::layout::{AfterHydration, LocalTime, can_in_active_org, reload_to};
use crate::domain::Action;
use crate::domain::prompt::{CATEGORIES, PROTECTED_LABEL, PromptFields, PromptInput, PromptStatus, Visibility};
use crate::domain::search::Mark;
use crate::domain::template::{VariableDef, VariableKind, variables};
use crate::dto::{CollectionView, DiffKind, DiffView, Me, PromptDetail, PromptPage, PromptSummary, VersionView};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use std::collections::BTreeSet;
use uuid::Uuid;

#[component]
pub fn PromptsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <PromptList me=me/> }/> }
}

fn marks_view(marks: Vec<Mark>) -> impl IntoView {
    marks
        .into_iter()
        .map(|m| if m.hit { view! { <mark>{m.text}</mark> }.into_any() } else { m.text.into_any() })
        .collect_view()
}

#[component]
fn PromptList(me: Me) -> impl IntoView {
    let query = use_query_map();
    let initial = query.get_untracked();
    let get = |k: &str| initial.get(k).unwrap_or_default();
    let q = RwSignal::new(get("q"));
    let status = RwSignal::new(get("status"));
    let category = RwSignal::new(get("category"));
    let tags = RwSignal::new(get("tags"));
    let sort = RwSignal::new(get("sort"));
    let cursor = RwSignal::new(String::new());
    let shelf = RwSignal::new(match (get("favorites").as_str(), get("collection").parse::<Uuid>()) {
        (_, Ok(id)) => Shelf::Collection(id),
        ("true", _) => Shelf::Favorites,
        _ => Shelf::All,
    });
    let changed = RwSignal::new(0u32);
    let selected = RwSignal::new(BTreeSet::<Uuid>::new());
    let dropped = RwSignal::new(None::<Result<String, AppError>>);
    let params = move || ListParams {
        q: q.get(),
        status: status.get(),
        category: category.get(),
        tags: tags.get(),
        sort: sort.get(),
        cursor: cursor.get(),
        ..Default::default()
    };
    let submitted = RwSignal::new(params());
    let page = Resource::new(
        move || (submitted.get(), shelf.get(), changed.get()),
        |(params, shelf, _)| {
            let params = match shelf {
                Shelf::All => params,
                Shelf::Favorites => ListParams { favorites: true, ..params },
                Shelf::Collection(id) => ListParams { collection: Some(id), ..params },
            };
            list_prompts(params)
        },
    );
    let library = Resource::new(
        move || changed.get(),
        |_| async move { Ok::<_, AppError>((collections().await?, categories().await?)) },
    );
    // For the bulk bar, which only shows once something is selected (after hydration).
    let folders = Signal::derive(move || library.get().and_then(Result::ok).map(|(c, _)| c).unwrap_or_default());
    let searched = RwSignal::new(0u32);
    let search_lists = super::searches::SearchLists::new(searched.into());
    let with_shelf = move |params: ListParams, shelf: Shelf| match shelf {
        Shelf::All => params,
        Shelf::Favorites => ListParams { favorites: true, ..params },
        Shelf::Collection(id) => ListParams { collection: Some(id), ..params },
    };
    let current_query =
        Signal::derive(move || crate::api::searches::query_string(&with_shelf(submitted.get(), shelf.get())));
    let search = move || {
        cursor.set(String::new());
        submitted.set(params());
        super::searches::show_in_address_bar(&current_query.get_untracked());
    };
    // Recent searches refresh once a search has run (and so been remembered).
    Effect::new(move |_| {
        if let Some(Ok(_)) = page.get() {
            searched.update(|n| *n += 1);
        }
    });
    let may_create = can_in_active_org(&me, Action::CreatePrompt);
    let may_manage = can_in_active_org(&me, Action::ManageCategories);
    let export_base = me
        .active_org
        .as_ref()
        .filter(|_| can_in_active_org(&me, Action::ExportData))
        .map(|org| format!("/orgs/{}/prompts", org.id));
    let may_import = can_in_active_org(&me, Action::ImportData);
    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Prompts"</h1>
                {may_create.then(|| view! { <a class="button" href="/prompts/new">"New prompt"</a> })}
                {may_import.then(|| view! { <a href="/prompts/import">"Import"</a> })}
                {export_base.clone().map(|base| view! {
                    <a href=format!("{base}.json") download="prompts.json">"Export JSON"</a>
                    <a href=format!("{base}.csv") download="prompts.csv">"Export CSV"</a>
                    <a href=format!("{base}.zip") download="prompts.zip">"Export Markdown"</a>
                })}
            </div>
            <div class="library-grid">
                <aside class="library-side">
                    <Transition fallback=|| view! { <p>"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match library.await {
                                Ok((collections, categories)) => view! {
                                    <LibraryNav shelf=shelf collections=collections may_organize=may_create changed=changed dropped=dropped/>
                                    <CategoriesPanel categories=categories may_manage=may_manage changed=changed/>
                                    <super::searches::Searches current=current_query lists=search_lists/>
                                }.into_any(),
                                Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </aside>
                <div class="library-main">
                    <SearchForm q=q status=status category=category tags=tags sort=sort page=page search=search/>
                    <BulkBar selected=selected collections=folders changed=changed export_base=export_base.clone()/>
                    <Transition fallback=|| view! { <p>"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match page.await {
                                Ok(page) => {
                                    let widened = page.widened.iter().map(|(typed, near)| format!("{} (for “{typed}”)", near.join(", "))).collect::<Vec<_>>();
                                    let next = page.next_cursor.clone();
                                    view! {
                                        {(!widened.is_empty()).then(|| view! { <p class="notice" role="status">"Also showing matches for " {widened.join("; ")}</p> })}
                                        {if page.items.is_empty() {
                                            view! { <p>"No prompts match."</p> }.into_any()
                                        } else {
                                            view! {
                                                <ul class="cards" aria-label="Prompts">
                                                    {page.items.into_iter().map(|p| view! { <PromptRow prompt=p selected=selected changed=changed/> }).collect_view()}
                                                </ul>
                                            }.into_any()
                                        }}
                                        {next.map(|c| view! { <button type="button" on:click=move |_| { cursor.set(c.clone()); submitted.set(params()); }>"Next page"</button> })}
                                    }.into_any()
                                }
                                Err(err) if err.field_message("q").is_some() => view! { <p>"Fix the search above."</p> }.into_any(),
                                Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </div>
        </section>
    }
}

#[component]
fn SearchForm(
    q: RwSignal<String>,
    status: RwSignal<String>,
    category: RwSignal<String>,
    tags: RwSignal<String>,
    sort: RwSignal<String>,
    page: Resource<Result<PromptPage, AppError>>,
    search: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <form role="search" class="search" on:submit=move |ev| { ev.prevent_default(); search(); }>
            <div class="field grow">
                <label for="prompt-search">"Search prompts"</label>
                <input id="prompt-search" type="search" bind:value=q aria-describedby="prompt-search-hint prompt-search-error"
                    placeholder="words, \"exact phrase\", OR, -exclude"/>
                <p class="hint" id="prompt-search-hint">"Use \"quotes\" for a phrase, OR for either word, - or NOT to exclude."</p>
                <p class="field-error" id="prompt-search-error" aria-live="polite">
                    // Its own boundary: a resource read straight under the page's would make that
                    // boundary wait on it too, and server rendering could then start over and over.
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move { page.await.err().and_then(|e| e.field_message("q")) })}
                    </Transition>
                </p>
            </div>
            <div class="field">
                <label for="filter-status">"Status"</label>
                <select id="filter-status" bind:value=status on:change=move |_| search()>
                    <option value="">"Any"</option>
                    {PromptStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-category">"Category"</label>
                <input id="filter-category" list="categories" bind:value=category/>
            </div>
            <div class="field">
                <label for="filter-tags">"Tags"</label>
                <input id="filter-tags" bind:value=tags placeholder="onboarding, email"/>
            </div>
            <div class="field">
                <label for="filter-sort">"Sort by"</label>
                <select id="filter-sort" bind:value=sort on:change=move |_| search()>
                    <option value="">"Relevance"</option>
                    <option value="updated">"Recently updated"</option>
                    <option value="created">"Newest"</option>
                    <option value="popularity">"Most used"</option>
                </select>
            </div>
            <button type="submit">"Search"</button>
        </form>
        <datalist id="categories">{CATEGORIES.map(|c| view! { <option value=c/> }).collect_view()}</datalist>
    }
}

#[component]
fn PromptRow(prompt: PromptSummary, selected: RwSignal<BTreeSet<Uuid>>, changed: RwSignal<u32>) -> impl IntoView {
    let href = format!("/prompts/{}", prompt.id);
    let id = prompt.id;
    let title = prompt.title.clone();
    let favorite = prompt.favorite;
    let toggle_favorite = move |_| {
        leptos::task::spawn_local(async move {
            if set_favorite(id, !favorite).await.is_ok() {
                changed.update(|n| *n += 1);
            }
        });
    };
    view! {
        <li class="card prompt-row" draggable=prompt.can_edit.then_some("true")
            on:dragstart=move |ev| {
                if let Some(data) = ev.data_transfer() {
                    let _ = data.set_data("text/plain", &selected.with_untracked(|s| drag_payload(id, s)));
                }
            }>
            <article aria-label=prompt.title.clone()>
                <div class="row-head">
                    {prompt.can_edit.then(|| view! {
                        <input type="checkbox" aria-label=format!("Select {title}")
                            prop:checked=move || selected.with(|s| s.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                            }/>
                    })}
                    <h2><a href=href>{marks_view(prompt.title_marks)}</a></h2>
                    <button type="button" class="star" aria-pressed=favorite.to_string()
                        aria-label=format!("Favorite {}", prompt.title) on:click=toggle_favorite>
                        {if favorite { "★" } else { "☆" }}
                    </button>
                </div>
                <p class="snippet">{marks_view(prompt.snippet)}</p>
                <p class="muted">
                    <span class=format!("badge status-{}", prompt.status.as_str())>{prompt.status.label()}</span>
                    {(!prompt.category.is_empty()).then(|| view! { " · " {prompt.category.clone()} })}
                    " · v" {prompt.version} " · by " {prompt.author_name.clone()} " · updated " <LocalTime at=prompt.updated_at/>
                    " · " {prompt.use_count} " uses · " {prompt.favorite_count} " ★"
                </p>
                {(!prompt.tags.is_empty()).then(|| view! {
                    <ul class="tags" aria-label="Tags">{prompt.tags.iter().map(|t| view! { <li>{format!("#{t}")}</li> }).collect_view()}</ul>
                })}
            </article>
        </li>
    }
}

/// `/prompts/new`
#[component]
pub fn NewPromptPage() -> impl IntoView {
    view! {
        <SignedIn content=|me: Me| {
            let may = can_in_active_org(&me, Action::CreatePrompt);
            view! {
                <section class="page narrow">
                    <h1>"New prompt"</h1>
                    {if may {
                        view! { <PromptEditor initial=None/> }.into_any()
                    } else {
                        view! { <p class="notice">"As a Viewer you can read prompts; ask an admin for the Editor role to write them."</p> }.into_any()
                    }}
                </section>
            }
        }/>
    }
}

/// The editor for a new prompt (`initial` None) or the next version of an existing one.
#[component]
fn PromptEditor(initial: Option<(Uuid, i32, PromptFields)>) -> impl IntoView {
    let fields = initial.as_ref().map(|(_, _, f)| f.clone());
    let start = |f: fn(&PromptFields) -> String| RwSignal::new(fields.as_ref().map(f).unwrap_or_default());
    let title = start(|f| f.title.clone());
    let description = start(|f| f.description.clone());
    let body = start(|f| f.body.clone());
    let status = start(|f| f.status.as_str().to_owned());
    let visibility =
        RwSignal::new(fields.as_ref().map_or(Visibility::Organization, |f| f.visibility).as_str().to_owned());
    let category = start(|f| f.category.clone());
    let tags = start(|f| f.tags.join(", "));
    let model = start(|f| f.model.model.clone());
    let change_note = RwSignal::new(String::new());
    let defs = RwSignal::new(fields.as_ref().map(|f| f.variables.clone()).unwrap_or_default());
    let found = Memo::new(move |_| variables(&body.get()));
    let last_error = RwSignal::new(None::<AppError>);
    let create = ServerAction::<CreatePrompt>::new();
    let update = ServerAction::<UpdatePrompt>::new();
    let existing = initial.as_ref().map(|(id, v, _)| (*id, *v));
    let input = move || PromptInput {
        title: title.get_untracked(),
        description: description.get_untracked(),
        body: body.get_untracked(),
        status: Some(status.get_untracked()),
        visibility: Some(visibility.get_untracked()),
        category: category.get_untracked(),
        tags: tags.get_untracked(),
        variables: defs.get_untracked(),
        model: crate::domain::prompt::ModelSettings { model: model.get_untracked(), ..Default::default() },
        change_note: change_note.get_untracked(),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // The same rules the server applies, before the round trip.
        if let Err((field, message)) = PromptFields::parse(&input()) {
            last_error.set(Some(AppError::validation(field, message)));
            return;
        }
        last_error.set(None);
        match existing {
            None => {
                create.dispatch(CreatePrompt { input: input() });
            }
            Some((id, base_version)) => {
                update.dispatch(UpdatePrompt { id, base_version, input: input() });
            }
        }
    };
    Effect::new(move |_| match create.value().get() {
        Some(Ok(id)) => reload_to(&format!("/prompts/{id}")),
        Some(Err(err)) => last_error.set(Some(err)),
        None => {}
    });
    Effect::new(move |_| match update.value().get() {
        Some(Ok(_)) => {
            if let Some((id, _)) = existing {
                reload_to(&format!("/prompts/{id}"));
            }
        }
        Some(Err(err)) => last_error.set(Some(err)),
        None => {}
    });
    let pending = Signal::derive(move || create.pending().get() || update.pending().get());
    let set_def = move |name: String, change: Box<dyn Fn(&mut VariableDef)>| {
        defs.update(|all| {
            if !all.iter().any(|d| d.name == name) {
                all.push(VariableDef::text(&name));
            }
            if let Some(d) = all.iter_mut().find(|d| d.name == name) {
                change(d);
            }
        });
    };
    view! {
        <form class="card editor" on:submit=submit novalidate=true>
            <BoundField label="Title" id="prompt-title".into() value=title error=error_for(last_error, "title")/>
            <BoundField label="Description" id="prompt-description".into() value=description error=error_for(last_error, "description")/>
            <BoundField label="Prompt text" id="prompt-body".into() value=body rows=10 error=error_for(last_error, "body")
                hint="Markdown. Use {{name}} for a variable; write \\{{ for a literal {{."/>
            <fieldset class="variables">
                <legend>"Variables"</legend>
                {move || if found.get().is_empty() {
                    view! { <p class="muted">"No variables yet: write {{name}} in the text."</p> }.into_any()
                } else {
                    found.get().into_iter().map(|name| {
                        let def = defs.get_untracked().into_iter().find(|d| d.name == name).unwrap_or_else(|| VariableDef::text(&name));
                        let kind_id = format!("var-{name}-kind");
                        let options_id = format!("var-{name}-options");
                        let default_id = format!("var-{name}-default");
                        let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
                        view! {
                            <div class="variable-def" role="group" aria-label=format!("Variable {name}")>
                                <strong>{format!("{{{{{name}}}}}")}</strong>
                                <label for=kind_id.clone()>"Type"</label>
                                <select id=kind_id on:change=move |ev| {
                                    let kind = VariableKind::parse(&event_target_value(&ev)).unwrap_or_default();
                                    set_def(n1.clone(), Box::new(move |d| d.kind = kind));
                                }>
                                    {VariableKind::ALL.into_iter().map(|k| view! { <option value=k.as_str() selected=k == def.kind>{k.as_str()}</option> }).collect_view()}
                                </select>
                                <label>
                                    <input type="checkbox" checked=def.required on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        set_def(n2.clone(), Box::new(move |d| d.required = on));
                                    }/>
                                    " Required"
                                </label>
                                <label for=default_id.clone()>"Default"</label>
                                <input id=default_id value=def.default.clone().unwrap_or_default() on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    set_def(n3.clone(), Box::new(move |d| d.default = Some(v.clone()).filter(|v| !v.is_empty())));
                                }/>
                                <label for=options_id.clone()>"Options (select)"</label>
                                <input id=options_id value=def.options.join(", ") on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    set_def(n4.clone(), Box::new(move |d| d.options = v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect()));
                                }/>
                            </div>
                        }
                    }).collect_view().into_any()
                }}
                <p class="field-error" aria-live="polite">{error_for(last_error, "variables")}</p>
            </fieldset>
            <div class="row">
                <div class="field">
                    <label for="prompt-status">"Status"</label>
                    <select id="prompt-status" bind:value=status>
                        {PromptStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="prompt-visibility">"Visibility"</label>
                    <select id="prompt-visibility" bind:value=visibility>
                        {Visibility::ALL.into_iter().map(|v| view! { <option value=v.as_str()>{v.label()}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <BoundField label="Category" id="prompt-category".into() value=category error=error_for(last_error, "category")
                hint="Marketing, Engineering, Sales, Support or your own."/>
            <BoundField label="Tags" id="prompt-tags".into() value=tags error=error_for(last_error, "tags") hint="Comma separated."/>
            <BoundField label="Model" id="prompt-model".into() value=model error=error_for(last_error, "model")/>
            <BoundField label="Change note" id="prompt-change-note".into() value=change_note error=error_for(last_error, "change_note")
                hint="What changed in this version (optional)."/>
            <div role="alert" class="form-error">{error_for(last_error, "")}</div>
            <button type="submit" disabled=move || pending.get()>{if existing.is_some() { "Save new version" } else { "Create prompt" }}</button>
        </form>
    }
}

/// `/prompts/:id`
#[component]
pub fn PromptPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <PromptView/> }/> }
}

#[component]
fn PromptView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.get().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let changed = RwSignal::new(0u32);
    // The prompt and its versions in one resource: a nested resource inside a streamed Suspend
    // would be swapped in by script before hydration and break it.
    let prompt = Resource::new(
        move || (id(), changed.get()),
        |(id, _)| async move {
            let id = id.ok_or(AppError::NotFound)?;
            let prompt = get_prompt(id).await?;
            let versions = prompt_versions(id).await?;
            let folders = collections().await?;
            let comments = crate::api::comments::comments(id).await?;
            Ok::<_, AppError>((prompt, versions, folders, comments))
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match prompt.await {
                    Ok((p, versions, folders, comments)) => view! {
                        <PromptDetailView prompt=p versions=versions collections=folders comments=comments changed=changed/>
                    }.into_any(),
                    Err(err) => view! { <section class="page"><h1>"Prompt"</h1><p role="alert">{err.to_string()}</p></section> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PromptDetailView(
    prompt: PromptDetail,
    versions: Vec<VersionView>,
    collections: Vec<CollectionView>,
    comments: Vec<crate::dto::CommentView>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let id = prompt.id;
    let editing = RwSignal::new(false);
    let delete = ServerAction::<DeletePrompt>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            reload_to("/prompts");
        }
    });
    let duplicate = ServerAction::<DuplicatePrompt>::new();
    Effect::new(move |_| {
        if let Some(Ok(copy)) = duplicate.value().get() {
            reload_to(&format!("/prompts/{copy}"));
        }
    });
    let may_duplicate = prompt.can_duplicate;
    let sharing = RwSignal::new(false);
    let share_visibility = prompt.fields.visibility;
    let favorite = prompt.favorite;
    let fields = prompt.fields.clone();
    let version = prompt.version;
    view! {
        <section class="page">
            <div class="page-head">
                <h1>{prompt.fields.title.clone()}</h1>
                <span class=format!("badge status-{}", prompt.fields.status.as_str())>{prompt.fields.status.label()}</span>
            </div>
            <p class="muted">
                "Version " {prompt.version} " · by " {prompt.author_name.clone()} " · updated " <LocalTime at=prompt.updated_at/>
                " · " {prompt.view_count} " views · " {prompt.use_count} " uses"
            </p>
            {(!prompt.fields.description.is_empty()).then(|| view! { <p>{prompt.fields.description.clone()}</p> })}
            <ul class="tags" aria-label="Labels">
                {prompt.labels.iter().map(|l| view! { <li class="label">{format!("{} → v{}", l.label, l.version)}</li> }).collect_view()}
            </ul>
            <div class="actions">
                <button type="button" class="secondary" aria-pressed=prompt.favorite.to_string() on:click=move |_| {
                    leptos::task::spawn_local(async move {
                        if set_favorite(id, !favorite).await.is_ok() {
                            changed.update(|n| *n += 1);
                        }
                    });
                }>{if prompt.favorite { "★ In your favorites" } else { "☆ Add to favorites" }}</button>
                <button type="button" class="secondary" aria-expanded=move || sharing.get().to_string()
                    on:click=move |_| sharing.update(|s| *s = !*s)>"Share"</button>
                {may_duplicate.then(|| view! {
                    <button type="button" class="secondary" on:click=move |_| { duplicate.dispatch(DuplicatePrompt { id }); }>"Duplicate"</button>
                })}
                {prompt.can_edit.then(|| view! {
                    <button type="button" aria-expanded=move || editing.get().to_string() on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                })}
                {prompt.can_delete.then(|| view! {
                    <button type="button" class="danger" on:click=move |_| {
                        if window().confirm_with_message("Delete this prompt and all its versions?").unwrap_or(false) {
                            delete.dispatch(DeletePrompt { id });
                        }
                    }>"Delete prompt"</button>
                })}
            </div>
            <p role="alert" class="form-error">
                {move || delete.value().get().and_then(|r| r.err()).map(|e| e.to_string())}
                {move || duplicate.value().get().and_then(|r| r.err()).map(|e| e.to_string())}
            </p>
            <Show when=move || sharing.get()>
                <ShareLink id=id visibility=share_visibility/>
            </Show>
            {prompt.can_edit.then(|| view! { <MoveToCollection id=id current=prompt.collection_id collections=collections.clone() changed=changed/> })}
            <Show when=move || editing.get()>
                <PromptEditor initial=Some((id, version, fields.clone()))/>
            </Show>
            <article class="card prompt-content" aria-label="Content" inner_html=prompt.html.clone()></article>
            <super::test_panel::TestPanel id=id variables=prompt.fields.variables.clone()
                versions=versions.iter().map(|v| v.number).collect() can_edit=prompt.can_edit/>
            <Versions id=id list=versions current=prompt.version can_edit=prompt.can_edit changed=changed/>
            <Labels prompt=prompt.clone() changed=changed/>
            <super::comments::Comments prompt_id=id initial=comments/>
            <details class="card activity-card">
                <summary>"Activity"</summary>
                // After hydration, like the test panel's: a Transition streamed inside the prompt's
                // own failed hydration now and then (CI, "expected a marker node" at the details).
                <AfterHydration>
                    <super::activity::ActivityFeed prompt=Some(id)/>
                </AfterHydration>
            </details>
        </section>
    }
}

/// The prompt's address to pass on, with who can open it. The link itself grants nothing: the
/// page checks the reader's permission like any other.
#[component]
fn ShareLink(id: Uuid, visibility: crate::domain::prompt::Visibility) -> impl IntoView {
    use crate::domain::prompt::Visibility;
    let url = RwSignal::new(format!("/prompts/{id}"));
    let copied = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| {
        if let Ok(origin) = window().location().origin() {
            url.set(format!("{origin}/prompts/{id}"));
        }
    });
    let copy = move |_| {
        let text = url.get_untracked();
        leptos::task::spawn_local(async move {
            let done = wasm_bindgen_futures::JsFuture::from(window().navigator().clipboard().write_text(&text)).await;
            copied.set(Some(if done.is_ok() {
                "Link copied."
            } else {
                "Copying is not allowed here: select the link and copy it."
            }));
        });
    };
    let public_url = RwSignal::new(format!("/p/{id}"));
    Effect::new(move |_| {
        if let Ok(origin) = window().location().origin() {
            public_url.set(format!("{origin}/p/{id}"));
        }
    });
    let who = match visibility {
        Visibility::Private => {
            "Only you and the organization's Owners and Admins can open it; anyone else is told it does not exist."
        }
        Visibility::Public => {
            "Members of this organization can open it here once signed in; anyone can read it at the public link while it is published."
        }
        Visibility::Organization => {
            "Members of this organization can open it once signed in; anyone else is told it does not exist."
        }
    };
    view! {
        <div class="card share">
            <label for="share-link">"Link to this prompt"</label>
            <input id="share-link" readonly=true prop:value=move || url.get()/>
            <p class="muted">{who}</p>
            <button type="button" on:click=copy>"Copy link"</button>
            <p role="status">{move || copied.get()}</p>
            {(visibility == Visibility::Public).then(|| view! {
                <label for="public-link">"Public link"</label>
                <input id="public-link" readonly=true prop:value=move || public_url.get()/>
                <p class="muted">"Anyone with this link can read the prompt, without signing in, while it is published."</p>
            })}
        </div>
    }
}

#[component]
fn Versions(id: Uuid, list: Vec<VersionView>, current: i32, can_edit: bool, changed: RwSignal<u32>) -> impl IntoView {
    let revert = ServerAction::<RevertPrompt>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = revert.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    let from = RwSignal::new((current - 1).max(1).to_string());
    let to = RwSignal::new(current.to_string());
    let inline = RwSignal::new(false);
    let diff = RwSignal::new(None::<Result<DiffView, AppError>>);
    let compare = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Ok(a), Ok(b)) = (from.get_untracked().parse::<i32>(), to.get_untracked().parse::<i32>()) else { return };
        leptos::task::spawn_local(async move { diff.set(Some(prompt_diff(id, a, b).await)) });
    };
    let numbers: Vec<i32> = list.iter().map(|v| v.number).collect();
    view! {
        <section class="card" aria-labelledby="versions-heading">
            <h2 id="versions-heading">"Versions"</h2>
            <ol class="versions" reversed=true>
                {list.into_iter().map(|v| {
                    let n = v.number;
                    view! {
                        <li>
                            <strong>{format!("v{n}")}</strong> " · " {v.author_name} " · " <LocalTime at=v.created_at/>
                            {(!v.change_note.is_empty()).then(|| view! { " · " <em>{v.change_note.clone()}</em> })}
                            {(can_edit && n != current).then(|| view! {
                                <button type="button" class="small" aria-label=format!("Revert to version {n}")
                                    on:click=move |_| { revert.dispatch(RevertPrompt { id, version: n }); }>"Revert"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            <form class="row" on:submit=compare>
                <div class="field">
                    <label for="diff-from">"Compare version"</label>
                    <select id="diff-from" bind:value=from>
                        {numbers.iter().map(|n| view! { <option value=n.to_string()>{format!("v{n}")}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="diff-to">"with version"</label>
                    <select id="diff-to" bind:value=to>
                        {numbers.iter().map(|n| view! { <option value=n.to_string()>{format!("v{n}")}</option> }).collect_view()}
                    </select>
                </div>
                <label><input type="checkbox" bind:checked=inline/>" Inline"</label>
                <button type="submit">"Compare"</button>
            </form>
            <p role="alert" class="form-error">{move || revert.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
            {move || diff.get().map(|d| match d {
                Ok(d) => view! { <DiffTable diff=d inline=inline.get()/> }.into_any(),
                Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

fn parts_view(parts: Vec<(DiffKind, String)>) -> impl IntoView {
    parts
        .into_iter()
        .map(|(k, t)| match k {
            DiffKind::Added => view! { <ins>{t}</ins> }.into_any(),
            DiffKind::Removed => view! { <del>{t}</del> }.into_any(),
            DiffKind::Same => t.into_any(),
        })
        .collect_view()
}

/// A diff, side by side (old left, new right) or inline.
#[component]
fn DiffTable(diff: DiffView, inline: bool) -> impl IntoView {
    let caption =
        format!("Changes from v{} to v{}: {} added, {} removed lines", diff.from, diff.to, diff.added, diff.removed);
    let mark = |k: DiffKind| match k {
        DiffKind::Added => "+",
        DiffKind::Removed => "−",
        DiffKind::Same => " ",
    };
    if inline {
        view! {
            <table class="diff inline" aria-label="Differences">
                <caption>{caption}</caption>
                <tbody>
                    {diff.lines.into_iter().map(|l| view! {
                        <tr class=format!("diff-{:?}", l.kind).to_lowercase()>
                            <td class="num">{l.old_number}</td><td class="num">{l.new_number}</td>
                            <td class="sign">{mark(l.kind)}</td><td class="text">{parts_view(l.parts)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    } else {
        view! {
            <div class="diff-scroll">
            <table class="diff side" aria-label="Differences">
                <caption>{caption}</caption>
                <thead><tr><th scope="col" colspan="2">{format!("v{}", diff.from)}</th><th scope="col" colspan="2">{format!("v{}", diff.to)}</th></tr></thead>
                <tbody>
                    {diff.lines.into_iter().map(|l| {
                        let class = format!("diff-{:?}", l.kind).to_lowercase();
                        match l.kind {
                            DiffKind::Same => {
                                let parts = parts_view(l.parts.clone());
                                view! { <tr class=class><td class="num">{l.old_number}</td><td class="text">{parts_view(l.parts)}</td><td class="num">{l.new_number}</td><td class="text">{parts}</td></tr> }.into_any()
                            }
                            DiffKind::Removed => view! { <tr class=class><td class="num">{l.old_number}</td><td class="text">{parts_view(l.parts)}</td><td></td><td></td></tr> }.into_any(),
                            DiffKind::Added => view! { <tr class=class><td></td><td></td><td class="num">{l.new_number}</td><td class="text">{parts_view(l.parts)}</td></tr> }.into_any(),
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any()
    }
}

#[component]
fn Labels(prompt: PromptDetail, changed: RwSignal<u32>) -> impl IntoView {
    let id = prompt.id;
    let set = ServerAction::<SetPromptLabel>::new();
    let remove = ServerAction::<RemovePromptLabel>::new();
    Effect::new(move |_| {
        if matches!(set.value().get(), Some(Ok(()))) || matches!(remove.value().get(), Some(Ok(()))) {
            changed.update(|n| *n += 1);
        }
    });
    let label = RwSignal::new(String::new());
    let version = RwSignal::new(prompt.version.to_string());
    let last_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let Some(Err(err)) = set.value().get() {
            last_error.set(Some(err));
        }
    });
    let versions: Vec<i32> = (1..=prompt.version).rev().collect();
    let can_edit = prompt.can_edit;
    let can_protected = prompt.can_move_protected;
    view! {
        <section class="card" aria-labelledby="labels-heading">
            <h2 id="labels-heading">"Deployment labels"</h2>
            <p class="muted">"The API can fetch this prompt by label. Moving " <code>{PROTECTED_LABEL}</code> " needs an Owner or Admin."</p>
            <ul class="plain">
                {prompt.labels.iter().map(|l| {
                    let name = l.label.clone();
                    let removable = can_edit && (name != PROTECTED_LABEL || can_protected);
                    view! {
                        <li>
                            <strong>{l.label.clone()}</strong> {format!(" → v{} · moved by {} · ", l.version, l.moved_by)} <LocalTime at=l.moved_at/>
                            {removable.then(|| { let n = name.clone(); view! {
                                <button type="button" class="small" aria-label=format!("Remove label {name}")
                                    on:click=move |_| { remove.dispatch(RemovePromptLabel { id, label: n.clone() }); }>"Remove"</button>
                            }})}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can_edit.then(|| view! {
                <form class="row" on:submit=move |ev| {
                    ev.prevent_default();
                    last_error.set(None);
                    let Ok(v) = version.get_untracked().parse::<i32>() else { return };
                    set.dispatch(SetPromptLabel { id, label: label.get_untracked(), version: v });
                }>
                    <BoundField label="Label" id="label-name".into() value=label error=error_for(last_error, "label") hint="e.g. production, staging"/>
                    <div class="field">
                        <label for="label-version">"Version"</label>
                        <select id="label-version" bind:value=version>
                            {versions.iter().map(|n| view! { <option value=n.to_string()>{format!("v{n}")}</option> }).collect_view()}
                        </select>
                    </div>
                    <button type="submit">"Set label"</button>
                </form>
                <div role="alert" class="form-error">{error_for(last_error, "")}</div>
            })}
        </section>
    }
}

/// The keyboard (and touch) way to file a prompt: pick a collection, press Move.
#[component]
fn MoveToCollection(
    id: Uuid,
    current: Option<Uuid>,
    collections: Vec<CollectionView>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let target = RwSignal::new(current.map(|c| c.to_string()).unwrap_or_default());
    let outcome = RwSignal::new(None::<Result<(), AppError>>);
    view! {
        <form class="row" on:submit=move |ev| {
            ev.prevent_default();
            let value = target.get_untracked();
            leptos::task::spawn_local(async move {
                let result = bulk_prompts(vec![id], BulkAction::Move, value).await.map(|_| ());
                let ok = result.is_ok();
                outcome.set(Some(result));
                if ok {
                    changed.update(|n| *n += 1);
                }
            });
        }>
            <div class="field">
                <label for="prompt-collection">"Collection"</label>
                <select id="prompt-collection" bind:value=target>
                    <option value="">"(no collection)"</option>
                    {collections.into_iter().map(|c| view! { <option value=c.id.to_string() selected=Some(c.id) == current>{c.path}</option> }).collect_view()}
                </select>
            </div>
            <button type="submit" class="secondary">"Move"</button>
            <p role="alert" class="form-error">{move || outcome.get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
        </form>
    }
}
