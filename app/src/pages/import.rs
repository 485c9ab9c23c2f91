//! `/prompts/import`: import prompts from a JSON export or a CSV file (Owners and Admins). The
//! file is checked first and every problem listed; the import button appears only for a clean
//! file, and the import lands whole or not at all.

use super::SignedIn;
use crate::api::import::{ImportFormat, ImportPrompts, PreviewImport};
use crate::components::layout::can_in_active_org;
use crate::domain::Action;
use crate::dto::{ImportPreview, Me};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn ImportPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Import me=me/> }/> }
}

#[component]
fn Import(me: Me) -> impl IntoView {
    if !can_in_active_org(&me, Action::ImportData) {
        return view! {
            <section class="page narrow"><h1>"Import prompts"</h1><p class="notice">"Only Owners and Admins import prompts."</p></section>
        }
        .into_any();
    }
    let org = me.active_org.map(|o| o.name).unwrap_or_default();
    let text = RwSignal::new(None::<String>);
    let format = RwSignal::new(ImportFormat::Json);
    let reading = RwSignal::new(None::<String>);
    let check = ServerAction::<PreviewImport>::new();
    let import = ServerAction::<ImportPrompts>::new();
    let run_check = move || {
        if let Some(text) = text.get_untracked() {
            import.clear();
            check.dispatch(PreviewImport { format: format.get_untracked(), text });
        }
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        if let Some(guess) = ImportFormat::of_file(&file.name()) {
            format.set(guess);
        }
        reading.set(Some(format!("Reading {}…", file.name())));
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string()) {
                Some(content) => {
                    reading.set(None);
                    text.set(Some(content));
                    run_check();
                }
                None => reading.set(Some("That file could not be read.".into())),
            }
        });
    };
    let preview = move || check.value().get().and_then(Result::ok).filter(|_| text.get().is_some());
    view! {
        <section class="page">
            <h1>"Import prompts"</h1>
            <p>"Into " <strong>{org}</strong> ". Import a Cairn JSON export (versions, labels, collections and categories come along) "
               "or a CSV file with " <code>"title"</code> " and " <code>"content"</code> " columns ("
               <code>"description"</code> ", " <code>"status"</code> ", " <code>"visibility"</code> ", " <code>"category"</code> ", "
               <code>"tags"</code> " and " <code>"collection"</code> " are optional). The file is checked first: nothing is written "
               "until it has no problems, and then all of it is."</p>
            <div class="card">
                <div class="field">
                    <label for="import-file">"File (JSON or CSV)"</label>
                    <input id="import-file" type="file" accept=".json,.csv,application/json,text/csv" on:change=on_file/>
                </div>
                <div class="field">
                    <label for="import-format">"Format"</label>
                    <select id="import-format" on:change=move |ev| {
                        format.set(ImportFormat::parse(&event_target_value(&ev)).unwrap_or(ImportFormat::Json));
                        run_check();
                    }>
                        <option value="json" selected=move || format.get() == ImportFormat::Json>"JSON (Cairn export)"</option>
                        <option value="csv" selected=move || format.get() == ImportFormat::Csv>"CSV"</option>
                    </select>
                </div>
                <p role="status">{move || reading.get()}{move || check.pending().get().then_some("Checking the file…")}</p>
                <p role="alert" class="form-error">{move || check.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
            </div>
            {move || preview().map(|plan| view! { <Plan plan=plan import=import text=text format=format/> })}
        </section>
    }
    .into_any()
}

#[component]
fn Plan(
    plan: ImportPreview,
    import: ServerAction<ImportPrompts>,
    text: RwSignal<Option<String>>,
    format: RwSignal<ImportFormat>,
) -> impl IntoView {
    let count = plan.problem_count();
    let clean = plan.is_clean() && plan.prompts > 0;
    let prompts = plan.prompts;
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let summary = format!(
        "{} with {}.",
        plural(plan.prompts, "prompt is ready", "prompts are ready"),
        plural(plan.versions, "version", "versions")
    );
    let done = move || import.value().get();
    view! {
        <div class="card" aria-labelledby="import-check">
            <h2 id="import-check">{if count == 0 { "Ready to import".to_owned() } else { plural(count, "problem", "problems") }}</h2>
            {(!plan.file_problems.is_empty()).then(|| view! {
                <ul role="alert" class="form-error">{plan.file_problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
            })}
            <p>{summary}</p>
            {(!plan.new_collections.is_empty()).then(|| view! { <p>"New collections: " {plan.new_collections.join(", ")}</p> })}
            {(!plan.new_categories.is_empty()).then(|| view! { <p>"New categories: " {plan.new_categories.join(", ")}</p> })}
            {(!plan.rows.is_empty()).then(|| view! {
                <div class="table-scroll">
                    <table>
                        <caption>"Prompts with problems"</caption>
                        <thead><tr><th scope="col">"Where"</th><th scope="col">"Title"</th><th scope="col">"Problems"</th></tr></thead>
                        <tbody>
                            {plan.rows.iter().map(|row| view! {
                                <tr>
                                    <td>{row.place.clone()}</td>
                                    <td>{if row.title.is_empty() { "(no title)".to_owned() } else { row.title.clone() }}</td>
                                    <td><ul class="plain">{row.problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p>"Fix these in the file and choose it again: nothing is imported while any remain."</p>
            })}
            {(clean && !plan.first_titles.is_empty()).then(|| view! {
                <details>
                    <summary>"First prompts"</summary>
                    <ul>{plan.first_titles.iter().map(|t| view! { <li>{t.clone()}</li> }).collect_view()}</ul>
                </details>
            })}
            {clean.then(|| view! {
                <button type="button" disabled=move || import.pending().get() || done().is_some_and(|r| r.is_ok())
                    on:click=move |_| {
                        if let Some(text) = text.get_untracked() {
                            import.dispatch(ImportPrompts { format: format.get_untracked(), text });
                        }
                    }>
                    {format!("Import {}", plural(prompts, "prompt", "prompts"))}
                </button>
            })}
            {move || done().map(|result| match result {
                Ok(outcome) => view! {
                    <p role="status" class="notice">
                        {format!("Imported {} and {}.", plural(outcome.prompts, "prompt", "prompts"), plural(outcome.versions, "version", "versions"))}
                        " " <A href="/prompts">"See the prompts"</A>
                    </p>
                }.into_any(),
                Err(err) => view! { <p role="alert" class="form-error">{err.to_string()}</p> }.into_any(),
            })}
        </div>
    }
}
