//! Form fields that validate in the browser with the domain's parse functions and show the
//! server's answer next to the field. Inputs keep what the user typed when a submit fails.

use crate::error::AppError;
use leptos::html;
use leptos::prelude::*;
use std::sync::Arc;

/// A field's check: the same parse function the server runs, mapped to a message.
pub type Check = fn(&str) -> Result<(), String>;

/// A registered field check: runs it against the field's current value, shows the message, and
/// answers whether it passed.
type RegisteredCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// Collects the checks of one form so its submit button can run them all first.
#[derive(Clone, Default)]
pub struct FormChecks(Arc<std::sync::Mutex<Vec<RegisteredCheck>>>);

impl FormChecks {
    fn register(&self, check: RegisteredCheck) {
        if let Ok(mut checks) = self.0.lock() {
            checks.push(check);
        }
    }

    /// Runs every check (so every field shows its message); true when all pass.
    fn all_pass(&self) -> bool {
        let checks = self.0.lock().map(|c| c.clone()).unwrap_or_default();
        // Not `all`: every check must run so that every failing field shows its message.
        checks.iter().filter(|check| !check()).count() == 0
    }
}

/// The error of the last submit, for a field or for the form as a whole ("").
pub fn field_error<T, S>(value: S, field: &'static str) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    Signal::derive(move || match value.get() {
        Some(Err(err)) => match &err {
            AppError::Validation { field: f, message } if f == field => Some(message.clone()),
            AppError::Validation { .. } => None,
            _ if field.is_empty() => Some(err.to_string()),
            _ => None,
        },
        _ => None,
    })
}

/// The `version` of an action's last successful completion. A resource that reloads on this
/// rather than on `version` does not reload when the server refuses a submit, so the form it
/// renders is not rendered anew and keeps what was typed beside the error.
pub fn last_success<T, S>(version: RwSignal<usize>, value: S) -> Memo<usize>
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Memo::new(move |prev: Option<&usize>| {
        let done = version.get();
        if value.with(|v| matches!(v, Some(Ok(_)))) { done } else { prev.copied().unwrap_or(0) }
    })
}

/// A labelled input with its error message below it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(into, optional)] value: String,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] check: Option<Check>,
    #[prop(into, optional)] server_error: Option<Signal<Option<String>>>,
    #[prop(default = true)] required: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let client_error = RwSignal::new(None::<String>);
    let input_ref = NodeRef::<html::Input>::new();
    let run_check = move || -> bool {
        let Some(check) = check else { return true };
        let value = input_ref.get_untracked().map(|el| el.value()).unwrap_or_default();
        let result = check(&value).err();
        let ok = result.is_none();
        client_error.set(result);
        ok
    };
    if let Some(checks) = use_context::<FormChecks>() {
        checks.register(Arc::new(run_check));
    }
    let shown_error = move || client_error.get().or_else(|| server_error.and_then(|e| e.get()));
    let described_by = if hint.is_some() { format!("{hint_id} {error_id}") } else { error_id.clone() };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                required=required
                node_ref=input_ref
                aria-invalid=move || if shown_error().is_some() { "true" } else { "false" }
                aria-describedby=described_by
                on:blur=move |_| { run_check(); }
                on:input=move |_| if client_error.get_untracked().is_some() { run_check(); }
            />
            <p class="field-error" id=error_id aria-live="polite">{shown_error}</p>
        </div>
    }
}

/// A labelled select.
#[component]
pub fn Select(
    label: &'static str,
    name: &'static str,
    options: Vec<(&'static str, &'static str)>,
    #[prop(optional)] selected: Option<&'static str>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                {options.into_iter().map(|(value, text)| view! {
                    <option value=value selected=Some(value) == selected>{text}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// Provides the form's check registry to the fields inside it.
#[component]
pub fn Checked(children: Children) -> impl IntoView {
    provide_context(FormChecks::default());
    children()
}

/// A submit button that runs every field check of its form first and shows progress.
#[component]
pub fn Submit(
    label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let checks = use_context::<FormChecks>();
    view! {
        <button
            type="submit"
            class=class
            disabled=move || pending.get()
            aria-busy=move || if pending.get() { "true" } else { "false" }
            on:click=move |ev| {
                if let Some(checks) = &checks && !checks.all_pass() {
                    ev.prevent_default();
                }
            }
        >
            {label}
        </button>
    }
}

/// The form-wide message (errors not tied to a field, or a success note).
#[component]
pub fn FormMessage(
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(into, optional)] success: Option<Signal<Option<String>>>,
) -> impl IntoView {
    view! {
        <div role="alert" class="form-error">{move || error.get()}</div>
        <div role="status" class="form-success">{move || success.and_then(|s| s.get())}</div>
    }
}

pub fn check_email(raw: &str) -> Result<(), String> {
    crate::domain::Email::parse(raw).map(|_| ()).map_err(|e| e.0)
}
pub fn check_password(raw: &str) -> Result<(), String> {
    crate::domain::Password::parse(raw).map(|_| ()).map_err(|e| e.0)
}
pub fn check_display_name(raw: &str) -> Result<(), String> {
    crate::domain::DisplayName::parse(raw).map(|_| ()).map_err(|e| e.0)
}
pub fn check_org_name(raw: &str) -> Result<(), String> {
    crate::domain::OrgName::parse(raw).map(|_| ()).map_err(|e| e.0)
}
pub fn check_team_name(raw: &str) -> Result<(), String> {
    crate::domain::TeamName::parse(raw).map(|_| ()).map_err(|e| e.0)
}
pub fn check_code(raw: &str) -> Result<(), String> {
    crate::domain::TotpCode::parse(raw).map(|_| ()).map_err(|e| e.0)
}
pub fn check_not_empty(raw: &str) -> Result<(), String> {
    if raw.trim().is_empty() { Err("This field is required.".into()) } else { Ok(()) }
}

/// A labelled input bound to a signal (for forms submitted by code rather than `ActionForm`),
/// with its error message below it. `rows` > 0 makes it a textarea.
#[component]
pub fn BoundField(
    label: &'static str,
    id: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = 0)] rows: u32,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = if hint.is_some() { format!("{hint_id} {error_id}") } else { error_id.clone() };
    let invalid = move || if error.get().is_some() { "true" } else { "false" };
    let control = if rows > 0 {
        view! {
            <textarea id=id.clone() rows=rows bind:value=value aria-invalid=invalid aria-describedby=described_by.clone()></textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=id.clone() type=kind bind:value=value aria-invalid=invalid aria-describedby=described_by.clone()/>
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            {control}
            <p class="field-error" id=error_id aria-live="polite">{move || error.get()}</p>
        </div>
    }
}

/// The message for `field` from the last error (or, for "", any error not tied to a field).
pub fn error_for(last: RwSignal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        last.get().and_then(|err| match &err {
            AppError::Validation { field: f, message } if f == field => Some(message.clone()),
            AppError::Validation { .. } => None,
            _ if field.is_empty() => Some(err.to_string()),
            _ => None,
        })
    })
}
