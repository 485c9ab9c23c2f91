//! `/org/webhooks`: the organization's webhooks (Owners and Admins), and `/org/webhooks/:id`: one
//! webhook's settings, signing secret, test event and delivery log with redelivery.

use super::SignedIn;
use crate::api::webhooks::{
    CreateWebhook, DeleteWebhook, Redeliver, RevealWebhookSecret, RotateWebhookSecret, SendTestEvent, UpdateWebhook,
    webhook_deliveries, webhook_delivery, webhooks,
};
use crate::components::forms::{BoundField, error_for, last_success};
use crate::components::layout::{LocalTime, can_in_active_org, reload_to};
use crate::domain::Action;
use crate::domain::webhook::EventType;
use crate::dto::{DeliveryView, Me, WebhookInput, WebhookSecret, WebhookView};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Webhooks me=me/> }/> }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Webhook me=me/> }/> }
}

fn refused(title: &'static str) -> AnyView {
    view! {
        <section class="page narrow"><h1>{title}</h1><p class="notice">"Only Owners and Admins manage webhooks."</p></section>
    }
    .into_any()
}

/// The fields of a webhook, shared by the add and edit forms.
#[derive(Clone, Copy)]
struct Form {
    url: RwSignal<String>,
    description: RwSignal<String>,
    events: RwSignal<Vec<String>>,
    active: RwSignal<bool>,
}

impl Form {
    fn new(input: WebhookInput) -> Self {
        Self {
            url: RwSignal::new(input.url),
            description: RwSignal::new(input.description),
            events: RwSignal::new(input.events),
            active: RwSignal::new(input.active),
        }
    }

    fn input(&self) -> WebhookInput {
        WebhookInput {
            url: self.url.get_untracked(),
            description: self.description.get_untracked(),
            events: self.events.get_untracked(),
            active: self.active.get_untracked(),
        }
    }
}

#[component]
fn WebhookFields(
    form: Form,
    error: RwSignal<Option<AppError>>,
    prefix: &'static str,
    #[prop(default = false)] with_active: bool,
) -> impl IntoView {
    let events_error = error_for(error, "events");
    view! {
        <BoundField label="Payload URL" id=format!("{prefix}-url") value=form.url error=error_for(error, "url")
            hint="Cairn POSTs each event here as JSON, signed in the Cairn-Signature header."/>
        <BoundField label="Description" id=format!("{prefix}-description") value=form.description error=error_for(error, "description")/>
        <fieldset class="checks" aria-describedby=format!("{prefix}-events-error")>
            <legend>"Events"</legend>
            {EventType::SUBSCRIBABLE.into_iter().map(|event| {
                let name = event.as_str();
                view! {
                    <label>
                        <input type="checkbox" value=name
                            prop:checked=move || form.events.with(|e| e.iter().any(|x| x == name))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                form.events.update(|e| {
                                    e.retain(|x| x != name);
                                    if on { e.push(name.to_owned()); }
                                });
                            }/>
                        " " <code>{name}</code> " — " {event.describe()}
                    </label>
                }
            }).collect_view()}
            <p class="field-error" id=format!("{prefix}-events-error") aria-live="polite">{move || events_error.get()}</p>
        </fieldset>
        {with_active.then(|| view! {
            <label class="check"><input type="checkbox" bind:checked=form.active/>" Active (paused webhooks receive only test events)"</label>
        })}
    }
}

#[component]
fn SecretNotice(secret: WebhookSecret, #[prop(into)] message: String) -> impl IntoView {
    view! {
        <div class="notice" role="status">
            <p>{message}</p>
            <label for="webhook-secret">"Signing secret"</label>
            <input id="webhook-secret" readonly=true value=secret.secret/>
        </div>
    }
}

#[component]
fn Webhooks(me: Me) -> impl IntoView {
    if !can_in_active_org(&me, Action::ManageWebhooks) {
        return refused("Webhooks");
    }
    let create = ServerAction::<CreateWebhook>::new();
    let list = Resource::new(move || create.version().get(), |_| webhooks());
    let form = Form::new(WebhookInput {
        active: true,
        events: vec!["prompt.created".into(), "prompt.updated".into()],
        ..Default::default()
    });
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match create.value().get() {
        Some(Err(err)) => error.set(Some(err)),
        Some(Ok(_)) => {
            error.set(None);
            form.url.set(String::new());
            form.description.set(String::new());
        }
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateWebhook { input: form.input() });
    };
    view! {
        <section class="page">
            <h1>"Webhooks"</h1>
            <p>"Webhooks tell other systems when prompts change. Each delivery is signed: compute HMAC-SHA256 of "
               <code>"t.body"</code> " with the signing secret and compare it with " <code>"v1"</code> " in the "
               <code>"Cairn-Signature"</code> " header. Reject deliveries whose "
               <code>"t"</code> " is more than five minutes old. A failed delivery is tried eight times in all, over about a day and a half."</p>
            <div class="card">
                <h2>"Add a webhook"</h2>
                <form on:submit=submit>
                    <WebhookFields form=form error=error prefix="new-webhook"/>
                    <p role="alert" class="form-error">{move || error_for(error, "").get()}</p>
                    <button type="submit" disabled=move || create.pending().get()>"Add webhook"</button>
                </form>
                {move || create.value().get().and_then(Result::ok).map(|secret| view! {
                    <SecretNotice secret=secret message="Webhook added. Copy its signing secret to verify deliveries (you can reveal it again later)."/>
                })}
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(hooks) if hooks.is_empty() => view! { <p>"No webhooks yet."</p> }.into_any(),
                        Ok(hooks) => view! { <WebhookTable hooks=hooks/> }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn WebhookTable(hooks: Vec<WebhookView>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table>
                <caption>"Webhooks"</caption>
                <thead><tr><th scope="col">"URL"</th><th scope="col">"Events"</th><th scope="col">"State"</th><th scope="col">"Last delivery"</th></tr></thead>
                <tbody>
                    {hooks.into_iter().map(|h| view! {
                        <tr>
                            <td><A href=format!("/org/webhooks/{}", h.id)>{h.url.clone()}</A>
                                {(!h.description.is_empty()).then(|| view! { <br/><span class="muted">{h.description.clone()}</span> })}</td>
                            <td>{h.events.join(", ")}</td>
                            <td>{if h.active { "active" } else { "paused" }}</td>
                            <td>{match h.last_delivery {
                                Some((status, at)) => view! { {status}" · "<LocalTime at=at/> }.into_any(),
                                None => "none yet".into_any(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Webhook(me: Me) -> impl IntoView {
    if !can_in_active_org(&me, Action::ManageWebhooks) {
        return refused("Webhook");
    }
    let params = use_params_map();
    let id = move || params.get().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let update = ServerAction::<UpdateWebhook>::new();
    // Not on every update: a refused one would render the settings anew and lose what was typed.
    let saved = last_success(update.version(), update.value());
    let hook = Resource::new(
        move || (id(), saved.get()),
        |(id, _)| async move {
            let id = id.ok_or(AppError::NotFound)?;
            webhooks().await?.into_iter().find(|w| w.id == id).ok_or(AppError::NotFound)
        },
    );
    view! {
        <section class="page">
            <p><A href="/org/webhooks">"← Webhooks"</A></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match hook.await {
                        Ok(h) => view! { <WebhookSettings hook=h update=update/> }.into_any(),
                        Err(err) => view! { <h1>"Webhook"</h1><p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn WebhookSettings(hook: WebhookView, update: ServerAction<UpdateWebhook>) -> impl IntoView {
    let id = hook.id;
    let form = Form::new(WebhookInput {
        url: hook.url.clone(),
        description: hook.description.clone(),
        events: hook.events.clone(),
        active: hook.active,
    });
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    Effect::new(move |_| match update.value().get() {
        Some(Err(err)) => error.set(Some(err)),
        Some(Ok(_)) => {
            error.set(None);
            saved.set(true);
        }
        None => {}
    });
    let test = ServerAction::<SendTestEvent>::new();
    let redeliver = ServerAction::<Redeliver>::new();
    let reveal = ServerAction::<RevealWebhookSecret>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            reload_to("/org/webhooks");
        }
    });
    let confirm_delete = RwSignal::new(false);
    let tick = RwSignal::new(0u32);
    let log = Resource::new(
        move || (test.version().get(), redeliver.version().get(), tick.get()),
        move |_| webhook_deliveries(id),
    );
    // While something is on its way, look again every two seconds.
    Effect::new(move |_| {
        let waiting = log.get().and_then(Result::ok).is_some_and(|l| l.iter().any(|d| d.status == "pending"));
        if waiting {
            set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_secs(2));
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        update.dispatch(UpdateWebhook { id, input: form.input() });
    };
    let action_error = move || {
        [
            test.value().get().and_then(Result::err),
            redeliver.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    let secret = move || match (rotate.value().get(), reveal.value().get()) {
        (Some(Ok(s)), _) => Some((s, "New signing secret: deliveries from now on are signed with it.")),
        (_, Some(Ok(s))) => Some((s, "The current signing secret.")),
        _ => None,
    };
    view! {
        <h1>"Webhook"</h1>
        <p class="break"><code>{hook.url.clone()}</code></p>
        <div class="actions">
            <button type="button" on:click=move |_| { test.dispatch(SendTestEvent { webhook_id: id }); }>"Send test event"</button>
            <button type="button" on:click=move |_| { reveal.dispatch(RevealWebhookSecret { id }); }>"Reveal signing secret"</button>
            <button type="button" on:click=move |_| { rotate.dispatch(RotateWebhookSecret { id }); }>"Rotate signing secret"</button>
            <button type="button" class="danger" aria-expanded=move || confirm_delete.get().to_string()
                on:click=move |_| confirm_delete.update(|c| *c = !*c)>"Delete webhook"</button>
        </div>
        {move || confirm_delete.get().then(|| view! {
            <div class="notice" role="alert">
                <p>"Delete this webhook and its delivery log? Events stop at once."</p>
                <button type="button" class="danger" on:click=move |_| { delete.dispatch(DeleteWebhook { id }); }>"Yes, delete it"</button>
            </div>
        })}
        <p role="alert" class="form-error">{action_error}</p>
        {move || secret().map(|(s, message)| view! { <SecretNotice secret=s message=message/> })}
        <div class="card">
            <h2>"Settings"</h2>
            <form on:submit=submit>
                <WebhookFields form=form error=error prefix="webhook" with_active=true/>
                <p role="alert" class="form-error">{move || error_for(error, "").get()}</p>
                <p role="status">{move || saved.get().then_some("Saved.")}</p>
                <button type="submit" disabled=move || update.pending().get()>"Save webhook"</button>
            </form>
        </div>
        <h2>"Deliveries"</h2>
        <button type="button" on:click=move |_| tick.update(|t| *t += 1)>"Refresh deliveries"</button>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(list) if list.is_empty() => view! { <p>"No deliveries yet. Send a test event to try the URL."</p> }.into_any(),
                    Ok(list) => view! { <DeliveryTable list=list redeliver=redeliver/> }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DeliveryTable(list: Vec<DeliveryView>, redeliver: ServerAction<Redeliver>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table>
                <caption>"Newest first"</caption>
                <thead><tr>
                    <th scope="col">"Event"</th><th scope="col">"Status"</th><th scope="col">"Attempts"</th>
                    <th scope="col">"Response"</th><th scope="col">"Created"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|d| {
                        let id = d.id;
                        let label = format!("{} at {}", d.event_type, d.created_at.format("%H:%M:%S"));
                        let open = RwSignal::new(false);
                        let response = match (d.last_status_code, d.last_error.clone()) {
                            (Some(code), _) => format!("HTTP {code}"),
                            (None, Some(error)) => error,
                            (None, None) => "—".into(),
                        };
                        let next = d.next_attempt_at;
                        view! {
                            <tr>
                                <td><code>{d.event_type.clone()}</code></td>
                                <td><span class=format!("status {}", d.status)>{d.status.clone()}</span>
                                    {next.filter(|_| d.attempts > 0).map(|at| view! { <br/><span class="muted">"retry "<LocalTime at=at/></span> })}</td>
                                <td>{d.attempts}</td>
                                <td>{response}</td>
                                <td><LocalTime at=d.created_at/></td>
                                <td class="actions">
                                    <button type="button" class="small" aria-expanded=move || open.get().to_string()
                                        aria-label=format!("Details of {label}") on:click=move |_| open.update(|o| *o = !*o)>"Details"</button>
                                    <button type="button" class="small" aria-label=format!("Redeliver {label}")
                                        on:click=move |_| { redeliver.dispatch(Redeliver { delivery_id: id }); }>"Redeliver"</button>
                                </td>
                            </tr>
                            {move || open.get().then(|| view! { <tr><td colspan="6"><DeliveryDetails id=id/></td></tr> })}
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DeliveryDetails(id: Uuid) -> impl IntoView {
    let detail = Resource::new(move || id, webhook_delivery);
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! {
                        <h3>"Body sent"</h3>
                        <pre class="payload">{pretty(&d.payload)}</pre>
                        <h3>"Attempts"</h3>
                        <ol class="attempts">
                            {d.attempts.into_iter().map(|a| view! {
                                <li>
                                    <LocalTime at=a.at/> " · "
                                    {a.status_code.map(|c| format!("HTTP {c}")).or(a.error.clone()).unwrap_or_default()}
                                    {format!(" · {} ms", a.duration_ms)}
                                    {(!a.response_excerpt.is_empty()).then(|| view! { <pre>{a.response_excerpt.clone()}</pre> })}
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| json.to_owned())
}
