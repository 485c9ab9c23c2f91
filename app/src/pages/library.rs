//! The prompt library's side panel (collections as drop targets, favorites, categories) and the
//! bulk bar for selected prompts. Moving works by drag and drop and, for keyboards and touch, by
//! the "Move to" action of the bulk bar and the collection picker on a prompt's page.

use crate::api::organize::{
    BulkAction, BulkPrompts, CreateCollection, DeleteCategory, DeleteCollection, SaveCategory, bulk_prompts,
};
use crate::components::forms::{BoundField, error_for};
use crate::dto::{CategoryView, CollectionView};
use crate::error::AppError;
use leptos::prelude::*;
use std::collections::BTreeSet;
use uuid::Uuid;

/// Which part of the library the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shelf {
    #[default]
    All,
    Favorites,
    Collection(Uuid),
}

/// The ids a drag carries: every selected prompt when the dragged one is selected, else just it.
pub fn drag_payload(dragged: Uuid, selected: &BTreeSet<Uuid>) -> String {
    if selected.contains(&dragged) {
        selected.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")
    } else {
        dragged.to_string()
    }
}

fn parse_payload(raw: &str) -> Vec<Uuid> {
    raw.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

/// The collections tree with "All prompts" and "Favorites"; each collection takes dropped prompts.
#[component]
pub fn LibraryNav(
    shelf: RwSignal<Shelf>,
    collections: Vec<CollectionView>,
    may_organize: bool,
    /// Bumped after anything changed, so lists reload.
    changed: RwSignal<u32>,
    /// What the last drop did; owned by the page so it outlives the reload the drop causes.
    dropped: RwSignal<Option<Result<String, AppError>>>,
) -> impl IntoView {
    let drop_into = move |target: Option<Uuid>, ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let Some(data) = ev.data_transfer().and_then(|d| d.get_data("text/plain").ok()) else { return };
        let ids = parse_payload(&data);
        if ids.is_empty() {
            return;
        }
        let value = target.map(|t| t.to_string()).unwrap_or_default();
        leptos::task::spawn_local(async move {
            let result = bulk_prompts(ids, BulkAction::Move, value).await;
            dropped.set(Some(
                result.map(|o| format!("Moved {} prompt{}.", o.changed, if o.changed == 1 { "" } else { "s" })),
            ));
            changed.update(|n| *n += 1);
        });
    };
    let item = move |label: String, target: Shelf, count: Option<i64>, depth: usize| {
        let drop_target = match target {
            Shelf::All => Some(None),
            Shelf::Collection(id) => Some(Some(id)),
            Shelf::Favorites => None,
        };
        let droppable = may_organize && drop_target.is_some();
        view! {
            <li class=format!("depth-{}", depth.min(6))>
                <button type="button" class="shelf" aria-pressed=move || (shelf.get() == target).to_string()
                    on:click=move |_| shelf.set(target)
                    on:dragover=move |ev| if droppable { ev.prevent_default() }
                    on:drop=move |ev| if let Some(t) = drop_target.filter(|_| droppable) { drop_into(t, ev) }>
                    {label}
                    {count.map(|n| view! { <span class="count">{n}</span> })}
                </button>
            </li>
        }
    };
    let delete = ServerAction::<DeleteCollection>::new();
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            shelf.set(Shelf::All);
            changed.update(|n| *n += 1);
        }
    });
    let current = move || match shelf.get() {
        Shelf::Collection(id) => Some(id),
        _ => None,
    };
    let names: Vec<(Uuid, String)> = collections.iter().map(|c| (c.id, c.path.clone())).collect();
    view! {
        <nav class="library-nav" aria-label="Library">
            <ul class="plain">
                {item("All prompts".into(), Shelf::All, None, 0)}
                {item("My favorites".into(), Shelf::Favorites, None, 0)}
            </ul>
            <h2 class="small-heading">"Collections"</h2>
            {if collections.is_empty() {
                view! { <p class="muted">"No collections yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain tree" aria-label="Collections">
                        {collections.into_iter().map(|c| item(c.name, Shelf::Collection(c.id), Some(c.prompt_count), c.depth)).collect_view()}
                    </ul>
                }.into_any()
            }}
            {may_organize.then(|| view! { <p class="hint">"Drag prompts onto a collection, or select them and use “Move to”."</p> })}
            <p role="status" class="muted">{move || dropped.get().and_then(|r| r.ok())}</p>
            <p role="alert" class="form-error">
                {move || dropped.get().and_then(|r| r.err()).map(|e| e.to_string())}
                {move || delete.value().get().and_then(|r| r.err()).map(|e| e.to_string())}
            </p>
            {may_organize.then(|| view! {
                <NewCollection names=names.clone() changed=changed/>
                {move || current().map(|id| view! {
                    <button type="button" class="small danger" on:click=move |_| { delete.dispatch(DeleteCollection { id }); }>
                        "Delete this collection"
                    </button>
                })}
            })}
        </nav>
    }
}

#[component]
fn NewCollection(names: Vec<(Uuid, String)>, changed: RwSignal<u32>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let parent = RwSignal::new(String::new());
    let create = ServerAction::<CreateCollection>::new();
    let last_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match create.value().get() {
        Some(Ok(_)) => {
            name.set(String::new());
            last_error.set(None);
            changed.update(|n| *n += 1);
        }
        Some(Err(err)) => last_error.set(Some(err)),
        None => {}
    });
    view! {
        <form class="stack" on:submit=move |ev| {
            ev.prevent_default();
            let parent_id = parent.get_untracked().parse().ok();
            create.dispatch(CreateCollection { name: name.get_untracked(), parent_id });
        }>
            <BoundField label="New collection" id="collection-name".into() value=name error=error_for(last_error, "name")/>
            <div class="field">
                <label for="collection-parent">"Inside"</label>
                <select id="collection-parent" bind:value=parent>
                    <option value="">"(top level)"</option>
                    {names.into_iter().map(|(id, path)| view! { <option value=id.to_string()>{path}</option> }).collect_view()}
                </select>
                <p class="field-error" aria-live="polite">{error_for(last_error, "parent_id")}</p>
            </div>
            <button type="submit" class="small">"Add collection"</button>
        </form>
    }
}

/// Actions on the selected prompts.
#[component]
pub fn BulkBar(
    selected: RwSignal<BTreeSet<Uuid>>,
    #[prop(into)] collections: Signal<Vec<CollectionView>>,
    changed: RwSignal<u32>,
    /// `/orgs/{id}/prompts` for those who may export.
    export_base: Option<String>,
) -> impl IntoView {
    let action = RwSignal::new("tag".to_owned());
    let tag = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let run = ServerAction::<BulkPrompts>::new();
    let last_error = RwSignal::new(None::<AppError>);
    let done = RwSignal::new(None::<String>);
    Effect::new(move |_| match run.value().get() {
        Some(Ok(outcome)) => {
            last_error.set(None);
            done.set(Some(format!(
                "Changed {} prompt{}.",
                outcome.changed,
                if outcome.changed == 1 { "" } else { "s" }
            )));
            selected.set(BTreeSet::new());
            changed.update(|n| *n += 1);
        }
        Some(Err(err)) => last_error.set(Some(err)),
        None => {}
    });
    let count = move || selected.with(BTreeSet::len);
    view! {
        <div class="bulk-bar" role="region" aria-label="Selected prompts">
            <p role="status" class="muted">{move || done.get()}</p>
            <Show when=move || { count() > 0 }>
                <form class="row" on:submit=move |ev| {
                    ev.prevent_default();
                    let (kind, value) = match action.get_untracked().as_str() {
                        "untag" => (BulkAction::Untag, tag.get_untracked()),
                        "move" => (BulkAction::Move, target.get_untracked()),
                        "archive" => (BulkAction::Archive, String::new()),
                        _ => (BulkAction::Tag, tag.get_untracked()),
                    };
                    done.set(None);
                    run.dispatch(BulkPrompts { ids: selected.get_untracked().into_iter().collect(), action: kind, value });
                }>
                    <strong>{move || format!("{} selected", count())}</strong>
                    <div class="field">
                        <label for="bulk-action">"Action"</label>
                        <select id="bulk-action" bind:value=action>
                            <option value="tag">"Add tag"</option>
                            <option value="untag">"Remove tag"</option>
                            <option value="move">"Move to"</option>
                            <option value="archive">"Archive"</option>
                        </select>
                    </div>
                    <Show when=move || action.with(|a| a == "tag" || a == "untag")>
                        <BoundField label="Tag" id="bulk-tag".into() value=tag error=error_for(last_error, "value")/>
                    </Show>
                    <Show when=move || action.with(|a| a == "move")>
                        <div class="field">
                            <label for="bulk-collection">"Collection"</label>
                            <select id="bulk-collection" bind:value=target>
                                <option value="">"(no collection)"</option>
                                {move || collections.get().into_iter().map(|c| view! { <option value=c.id.to_string()>{c.path}</option> }).collect_view()}
                            </select>
                        </div>
                    </Show>
                    <button type="submit" disabled=move || run.pending().get()>"Apply"</button>
                    <button type="button" class="secondary" on:click=move |_| selected.set(BTreeSet::new())>"Clear selection"</button>
                </form>
                <p role="alert" class="form-error">{error_for(last_error, "ids")}{move || error_for(last_error, "").get()}</p>
                {export_base.clone().map(|base| {
                    let ids = move || selected.with(|s| s.iter().map(Uuid::to_string).collect::<Vec<_>>().join(","));
                    let link = move |ext: &'static str| {
                        let base = base.clone();
                        move || format!("{base}.{ext}?ids={}", ids())
                    };
                    view! {
                        <p class="row">"Export the selection: "
                            <a href=link("json") download="prompts.json">"JSON"</a>
                            <a href=link("csv") download="prompts.csv">"CSV"</a>
                            <a href=link("zip") download="prompts.zip">"Markdown"</a>
                        </p>
                    }
                })}
            </Show>
        </div>
    }
}

/// The categories with their colours; Owners and Admins add and remove their own.
#[component]
pub fn CategoriesPanel(categories: Vec<CategoryView>, may_manage: bool, changed: RwSignal<u32>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let color = RwSignal::new("#0e7490".to_owned());
    let icon = RwSignal::new(String::new());
    let save = ServerAction::<SaveCategory>::new();
    let remove = ServerAction::<DeleteCategory>::new();
    let last_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => {
            name.set(String::new());
            icon.set(String::new());
            last_error.set(None);
            changed.update(|n| *n += 1);
        }
        Some(Err(err)) => last_error.set(Some(err)),
        None => {}
    });
    Effect::new(move |_| {
        if matches!(remove.value().get(), Some(Ok(()))) {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <section class="categories" aria-labelledby="categories-heading">
            <h2 id="categories-heading" class="small-heading">"Categories"</h2>
            <ul class="plain">
                {categories.into_iter().map(|c| {
                    let n = c.name.clone();
                    view! {
                        <li>
                            // A presentation attribute, not inline CSS: the CSP allows no inline styles.
                            <svg class="swatch" width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
                                <circle cx="7" cy="7" r="7" fill=c.color.clone()/>
                            </svg>
                            " " {c.icon.clone()} " " {c.name.clone()}
                            {(may_manage && c.custom).then(|| view! {
                                <button type="button" class="small secondary" aria-label=format!("Remove category {n}")
                                    on:click=move |_| { remove.dispatch(DeleteCategory { name: n.clone() }); }>"Remove"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {may_manage.then(|| view! {
                <form class="stack" on:submit=move |ev| {
                    ev.prevent_default();
                    save.dispatch(SaveCategory { name: name.get_untracked(), color: color.get_untracked(), icon: icon.get_untracked() });
                }>
                    <BoundField label="New category" id="category-name".into() value=name error=error_for(last_error, "name")/>
                    <BoundField label="Colour" id="category-color".into() kind="color" value=color error=error_for(last_error, "color")/>
                    <BoundField label="Icon" id="category-icon".into() value=icon error=error_for(last_error, "icon") hint="An emoji, optional."/>
                    <button type="submit" class="small">"Add category"</button>
                </form>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drag_carries_the_selection_when_the_dragged_prompt_is_in_it() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let selected: BTreeSet<Uuid> = [a, b].into();
        let mut carried = parse_payload(&drag_payload(a, &selected));
        carried.sort();
        assert_eq!(carried, selected.iter().copied().collect::<Vec<_>>());
        assert_eq!(parse_payload(&drag_payload(c, &selected)), [c]);
    }
}
