//! A prompt's test panel: fill its variables (inputs generated from their definitions), preview
//! the rendered text, save the values as named test cases, render them against two versions side
//! by side, and "Run" the rendered prompt on the organization's AI model, the answer streaming in.

use crate::api::prompts::render_prompt;
use crate::api::test_panel::{ai_model, delete_test_case, prompt_test_cases, save_test_case};
use crate::components::layout::AfterHydration;
use crate::domain::model::{RunEvent, TokenUsage};
use crate::domain::template::{VariableDef, VariableKind};
use crate::dto::{AiModelView, RenderOutcome, TestCaseView};
use crate::error::AppError;
use leptos::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A rendered preview: the text, or every variable's problem.
type Rendering = Option<Result<RenderOutcome, AppError>>;

#[component]
pub fn TestPanel(id: Uuid, variables: Vec<VariableDef>, versions: Vec<i32>, can_edit: bool) -> impl IntoView {
    let values: Vec<(VariableDef, RwSignal<String>)> = variables
        .into_iter()
        .map(|d| {
            let v = RwSignal::new(d.default.clone().unwrap_or_default());
            (d, v)
        })
        .collect();
    let collected = StoredValue::new(values.clone());
    let current_values = move || -> BTreeMap<String, String> {
        collected.with_value(|vs| vs.iter().map(|(d, v)| (d.name.clone(), v.get_untracked())).collect())
    };
    let preview = RwSignal::new(None::<Result<RenderOutcome, AppError>>);
    let problems = move |name: String| {
        Signal::derive(move || match preview.get() {
            Some(Ok(RenderOutcome::Problems(ps))) => ps.into_iter().find(|p| p.name == name).map(|p| p.message),
            _ => None,
        })
    };
    let on_preview = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let values = current_values();
        leptos::task::spawn_local(async move { preview.set(Some(render_prompt(id, None, values).await)) });
    };
    let load_case = move |case: &TestCaseView| {
        collected.with_value(|vs| {
            for (def, signal) in vs {
                signal.set(
                    case.values.get(&def.name).cloned().unwrap_or_else(|| def.default.clone().unwrap_or_default()),
                );
            }
        });
    };
    view! {
        <section class="card test-panel" aria-labelledby="test-heading">
            <h2 id="test-heading">"Test"</h2>
            <TestCases id=id can_edit=can_edit current_values=Callback::new(move |_: ()| current_values()) load=Callback::new(move |c: TestCaseView| load_case(&c))/>
            <form on:submit=on_preview>
                {values.into_iter().map(|(def, value)| {
                    let field_id = format!("test-{}", def.name);
                    let error = problems(def.name.clone());
                    let label = format!("{}{}", def.name, if def.required { "" } else { " (optional)" });
                    let control = match def.kind {
                        VariableKind::Select => view! {
                            <select id=field_id.clone() bind:value=value>
                                <option value="">"Choose…"</option>
                                {def.options.iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                            </select>
                        }.into_any(),
                        VariableKind::Boolean => view! {
                            <select id=field_id.clone() bind:value=value>
                                <option value="">"Choose…"</option>
                                <option value="true">"true"</option>
                                <option value="false">"false"</option>
                            </select>
                        }.into_any(),
                        VariableKind::Number => view! { <input id=field_id.clone() type="number" step="any" bind:value=value/> }.into_any(),
                        VariableKind::Text => view! { <textarea id=field_id.clone() rows="2" bind:value=value></textarea> }.into_any(),
                    };
                    view! {
                        <div class="field">
                            <label for=field_id.clone()>{label}</label>
                            {(!def.description.is_empty()).then(|| view! { <p class="hint">{def.description.clone()}</p> })}
                            {control}
                            <p class="field-error" aria-live="polite">{move || error.get()}</p>
                        </div>
                    }
                }).collect_view()}
                <button type="submit">"Preview"</button>
            </form>
            {move || match preview.get() {
                Some(Ok(RenderOutcome::Rendered(text))) => view! { <pre class="prompt-body" aria-label="Rendered prompt">{text}</pre> }.into_any(),
                Some(Err(err)) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                _ => ().into_any(),
            }}
            <CompareVersions id=id versions=versions current_values=Callback::new(move |_: ()| current_values())/>
            <RunPanel id=id current_values=Callback::new(move |_: ()| current_values()) problems=preview/>
        </section>
    }
}

/// Saved values: pick one to fill the inputs, save the inputs under a name, delete one.
#[component]
fn TestCases(
    id: Uuid,
    can_edit: bool,
    current_values: Callback<(), BTreeMap<String, String>>,
    load: Callback<TestCaseView>,
) -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let cases = Resource::new(move || changed.get(), move |_| prompt_test_cases(id));
    let selected = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, AppError>>);
    let name_error = Signal::derive(move || match message.get() {
        Some(Err(AppError::Validation { field, message })) if field == "name" || field == "values" => Some(message),
        _ => None,
    });
    let find = move |case_id: &str| -> Option<TestCaseView> {
        cases.get().and_then(Result::ok).and_then(|list| list.into_iter().find(|c| c.id.to_string() == case_id))
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        selected.set(value.clone());
        if let Some(case) = find(&value) {
            name.set(case.name.clone());
            load.run(case);
        }
    };
    let save = move |_| {
        let values = current_values.run(());
        let case_name = name.get_untracked();
        leptos::task::spawn_local(async move {
            let outcome = save_test_case(id, case_name, values).await;
            if let Ok(case) = &outcome {
                selected.set(case.id.to_string());
                changed.update(|n| *n += 1);
            }
            message.set(Some(outcome.map(|c| format!("Saved “{}”.", c.name))));
        });
    };
    let delete = move |_| {
        let Some(case) = find(&selected.get_untracked()) else { return };
        leptos::task::spawn_local(async move {
            let outcome = delete_test_case(id, case.id).await;
            if outcome.is_ok() {
                selected.set(String::new());
                changed.update(|n| *n += 1);
            }
            message.set(Some(outcome.map(|()| format!("Deleted “{}”.", case.name))));
        });
    };
    view! {
        <div class="test-cases">
            <AfterHydration>
            <Transition fallback=|| ()>
                {move || {
                    Suspend::new(async move { match cases.await {
                    Ok(list) if list.is_empty() && !can_edit => ().into_any(),
                    Ok(list) => view! {
                        <div class="field">
                            <label for="test-case">"Saved test cases"</label>
                            <select id="test-case" prop:value=move || selected.get() on:change=on_pick>
                                <option value="">{if list.is_empty() { "None yet" } else { "Choose a test case…" }}</option>
                                {list.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
                            </select>
                        </div>
                    }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }})
                }}
            </Transition>
            </AfterHydration>
            {can_edit.then(|| view! {
                <div class="row">
                    <div class="field">
                        <label for="test-case-name">"Test case name"</label>
                        <input id="test-case-name" bind:value=name aria-describedby="test-case-name-error"/>
                        <p class="field-error" id="test-case-name-error" aria-live="polite">{move || name_error.get()}</p>
                    </div>
                    <button type="button" on:click=save>"Save test case"</button>
                    <button type="button" class="secondary" disabled=move || selected.get().is_empty() on:click=delete>"Delete test case"</button>
                </div>
            })}
            <p role="status">{move || match message.get() {
                Some(Ok(text)) => Some(text),
                Some(Err(AppError::Validation { .. })) | None => None,
                Some(Err(err)) => Some(err.to_string()),
            }}</p>
        </div>
    }
}

/// The same values rendered with two versions, side by side.
#[component]
fn CompareVersions(
    id: Uuid,
    versions: Vec<i32>,
    current_values: Callback<(), BTreeMap<String, String>>,
) -> impl IntoView {
    if versions.len() < 2 {
        return ().into_any();
    }
    let a = RwSignal::new(versions.get(1).copied().unwrap_or(1).to_string());
    let b = RwSignal::new(versions.first().copied().unwrap_or(1).to_string());
    let sides = RwSignal::new(None::<((i32, Rendering), (i32, Rendering))>);
    let compare = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Ok(va), Ok(vb)) = (a.get_untracked().parse::<i32>(), b.get_untracked().parse::<i32>()) else { return };
        let values = current_values.run(());
        leptos::task::spawn_local(async move {
            let left = render_prompt(id, Some(va), values.clone()).await;
            let right = render_prompt(id, Some(vb), values).await;
            sides.set(Some(((va, Some(left)), (vb, Some(right)))));
        });
    };
    let options = move |list: &[i32]| {
        list.iter().map(|n| view! { <option value=n.to_string()>{format!("Version {n}")}</option> }).collect_view()
    };
    let side = |(n, rendering): (i32, Rendering)| {
        let body = match rendering {
            Some(Ok(RenderOutcome::Rendered(text))) => view! { <pre class="prompt-body">{text}</pre> }.into_any(),
            Some(Ok(RenderOutcome::Problems(problems))) => view! {
                <ul class="form-error">{problems.into_iter().map(|p| view! { <li>{format!("{}: {}", p.name, p.message)}</li> }).collect_view()}</ul>
            }.into_any(),
            Some(Err(err)) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
            None => ().into_any(),
        };
        view! { <div class="side" role="group" aria-label=format!("Version {n} rendered")><h4>{format!("Version {n}")}</h4>{body}</div> }
    };
    view! {
        <form class="row compare-versions" on:submit=compare aria-label="Compare two versions">
            <div class="field">
                <label for="test-version-a">"Render version"</label>
                <select id="test-version-a" bind:value=a>{options(&versions)}</select>
            </div>
            <div class="field">
                <label for="test-version-b">"beside version"</label>
                <select id="test-version-b" bind:value=b>{options(&versions)}</select>
            </div>
            <button type="submit">"Compare versions"</button>
        </form>
        {move || sides.get().map(|(left, right)| view! { <div class="side-by-side">{side(left)}{side(right)}</div> })}
    }
    .into_any()
}

/// "Run": the rendered prompt on the organization's model, the answer streaming in.
#[component]
fn RunPanel(
    id: Uuid,
    current_values: Callback<(), BTreeMap<String, String>>,
    problems: RwSignal<Option<Result<RenderOutcome, AppError>>>,
) -> impl IntoView {
    let model = Resource::new(|| (), |_| ai_model());
    let answer = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let running = RwSignal::new(false);
    let run = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        answer.set(String::new());
        status.set(Some("Running…".into()));
        let values = current_values.run(());
        leptos::task::spawn_local(async move {
            let outcome = stream_run(id, values, move |event| match event {
                RunEvent::Started { model } => status.set(Some(format!("Running on {model}…"))),
                RunEvent::Delta { text } => answer.update(|a| a.push_str(&text)),
                RunEvent::Done { usage } => status.set(Some(done_text(usage))),
                RunEvent::Error { message } => status.set(Some(format!("The model failed: {message}"))),
            })
            .await;
            match outcome {
                Ok(()) => {}
                Err(RunFailure::Problems(outcome)) => {
                    problems.set(Some(Ok(outcome)));
                    status.set(Some("Fill the variables marked above first.".into()));
                }
                Err(RunFailure::Message(message)) => status.set(Some(message)),
            }
            running.set(false);
        });
    };
    let button = move |m: &AiModelView| {
        if m.configured() {
            view! { <button type="button" class="primary" disabled=move || running.get() on:click=run>"Run"</button> }
                .into_any()
        } else {
            view! {
                <button type="button" disabled=true aria-describedby="run-hint">"Run: no model configured"</button>
                <p class="hint" id="run-hint">{if m.can_manage {
                    "Set an AI model in Organization settings → AI model to run prompts here."
                } else {
                    "An Owner or Admin can set an AI model in Organization settings to run prompts here."
                }}</p>
            }
            .into_any()
        }
    };
    view! {
        <div class="run-panel">
            <AfterHydration>
            <Transition fallback=|| ()>
                {move || {
                    Suspend::new(async move { match model.await {
                        Ok(m) => button(&m),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }})
                }}
            </Transition>
            </AfterHydration>
            <p role="status" class="muted">{move || status.get()}</p>
            <Show when=move || !answer.get().is_empty()>
                <pre class="prompt-body model-answer" aria-label="Model answer" aria-live="polite">{move || answer.get()}</pre>
            </Show>
        </div>
    }
}

fn done_text(usage: Option<TokenUsage>) -> String {
    match usage {
        Some(u) => format!("Done: {} tokens in, {} out.", u.prompt_tokens, u.completion_tokens),
        None => "Done.".to_owned(),
    }
}

enum RunFailure {
    Problems(RenderOutcome),
    Message(String),
}

/// Posts the run and hands each line of the streamed answer to `on_event` as it arrives.
async fn stream_run(id: Uuid, values: BTreeMap<String, String>, on_event: impl Fn(RunEvent)) -> Result<(), RunFailure> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let failed = |_| RunFailure::Message("Could not reach Cairn; check your connection.".into());
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let body = serde_json::json!({ "values": values }).to_string();
    init.set_body(&wasm_bindgen::JsValue::from_str(&body));
    let headers = web_sys::Headers::new().map_err(failed)?;
    headers.set("content-type", "application/json").map_err(failed)?;
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(&format!("/prompts/{id}/run"), &init).map_err(failed)?;
    let response: web_sys::Response =
        JsFuture::from(window().fetch_with_request(&request)).await.map_err(failed)?.unchecked_into();
    if !response.ok() {
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Ok(problems) = serde_json::from_value(parsed["problems"].clone()) {
            return Err(RunFailure::Problems(RenderOutcome::Problems(problems)));
        }
        let message = parsed["message"].as_str().map(str::to_owned).unwrap_or_else(|| match response.status() {
            401 => "Your session ended: sign in again.".to_owned(),
            404 => "This prompt is no longer there.".to_owned(),
            status => format!("Running failed ({status})."),
        });
        return Err(RunFailure::Message(message));
    }
    let Some(stream) = response.body() else { return Err(RunFailure::Message("The answer was empty.".into())) };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let result = JsFuture::from(reader.read()).await.map_err(failed)?;
        let done = js_sys::Reflect::get(&result, &"done".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&result, &"value".into()).map_err(failed)?;
        buffer.extend(js_sys::Uint8Array::new(&value).to_vec());
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            if let Ok(event) = serde_json::from_slice::<RunEvent>(&line) {
                on_event(event);
            }
        }
    }
    Ok(())
}
