//! `/inbox`: a member's conversations (one per subscription); `/inbox/:id`: the conversation,
//! answered in place, new messages arriving live; `/decisions`: checkpoints waiting for the
//! member's decision.

use super::SignedIn;
use super::sequences::{PreferencesFields, PreferencesForm};
use crate::api::sequences::{
    ConversationView, MessageView, SubscriptionView, conversation, decide, decision_queue, inbox, reply,
    set_subscription_status, subscription_preferences,
};
use crate::components::layout::LocalTime;
use crate::domain::sequence::{AnswerKind, Sender, SubscriptionStatus};
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

#[component]
pub fn InboxPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Inbox/> }/> }
}

fn status_label(s: &SubscriptionView) -> String {
    match (s.status, s.waiting_for.as_deref()) {
        (SubscriptionStatus::Completed, _) => "completed".into(),
        (SubscriptionStatus::Canceled, _) => "canceled".into(),
        (SubscriptionStatus::Paused, _) => "paused".into(),
        (_, Some("answer")) => "waiting for your answer".into(),
        (_, Some("decision")) => "waiting for a decision".into(),
        (_, Some("event")) => "waiting for an event".into(),
        _ => "running".into(),
    }
}

/// " · 3-day streak", or nothing before the second day.
fn streak(days: u32) -> String {
    if days >= 2 { format!(" · {days}-day streak") } else { String::new() }
}

#[component]
fn Inbox() -> impl IntoView {
    let list = Resource::new(|| (), |_| inbox());
    view! {
        <section class="page">
            <h1>"Inbox"</h1>
            <p><A href="/sequences">"Find a sequence"</A>" · "<A href="/decisions">"Needs your decision"</A></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! { <p>"No conversations yet. Subscribe to a sequence to start one."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="conversation-list">
                                {items.into_iter().map(|s| {
                                    let meta = format!("{} · {}%{} · ", status_label(&s), s.percent, streak(s.streak));
                                    let is_unread = s.unread > 0;
                                    let unread = is_unread.then(|| view! { " " <span class="badge">{format!("{} new", s.unread)}</span> });
                                    view! {
                                        <li class="card" class:unread=is_unread>
                                            <h2><A href=format!("/inbox/{}", s.id)>{s.sequence_title}</A>{unread}</h2>
                                            <p class="meta">{meta}{s.last_at.map(|at| view! { <LocalTime at=at/> })}</p>
                                            <p>{s.last_message}</p>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Bumps `refresh` whenever the conversation changes on the server (its event stream), so new
/// messages arrive live.
pub fn live_refresh(id: impl Fn() -> Option<Uuid> + Send + Sync + 'static, refresh: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        Effect::new(move |_| {
            let Some(id) = id() else { return };
            let Ok(source) = web_sys::EventSource::new(&format!("/events/conversations/{id}")) else { return };
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| refresh.update(|n| *n += 1));
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let source: StoredValue<web_sys::EventSource, LocalStorage> = StoredValue::new_local(source);
            on_cleanup(move || source.with_value(web_sys::EventSource::close));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, refresh);
}

/// A conversation's messages, labelled by who said them; `coach`: seen by the sequence's creator.
#[component]
pub fn MessageLog(messages: Vec<MessageView>, #[prop(optional)] coach: bool) -> impl IntoView {
    view! {
        <ol class="messages" role="log" aria-label="Messages" aria-live="polite">
            {messages.into_iter().map(|m| {
                let (class, who) = match (m.sender, coach) {
                    (Sender::Subscriber, false) => ("message mine", "You"),
                    (Sender::Subscriber, true) => ("message theirs", "Subscriber"),
                    (Sender::Ai, _) => ("message theirs", "AI coach"),
                    (Sender::Creator, false) => ("message theirs", "Coach"),
                    (Sender::Creator, true) => ("message mine", "You"),
                    (Sender::Step, _) => ("message theirs", "Cairn"),
                };
                view! { <li class=class><span class="who">{who}</span><p>{m.body}</p><LocalTime at=m.at/></li> }
            }).collect_view()}
        </ol>
    }
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Conversation/> }/> }
}

#[component]
fn Conversation() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.get().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let refresh = RwSignal::new(0u32);
    // The answer being typed lives out here: a live message re-renders the conversation below
    // and must not take it away.
    let text = RwSignal::new(String::new());
    // So do the delivery preferences being edited, filled from each conversation once.
    let prefs = DeliveryPrefs {
        form: PreferencesForm::new(&Default::default()),
        of: StoredValue::new(None),
        open: RwSignal::new(false),
    };
    let view_data = Resource::new(
        move || (id(), refresh.get()),
        |(id, _)| async move { conversation(id.ok_or(AppError::NotFound)?).await },
    );
    live_refresh(id, refresh);
    view! {
        <Transition fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(c) => {
                        prefs.fill(&c.subscription);
                        view! { <ConversationBody c=c refresh=refresh text=text prefs=prefs/> }.into_any()
                    }
                    Err(err) => view! { <section class="page"><h1>"Conversation"</h1><p role="alert">{err.to_string()}</p></section> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The delivery preferences form of a conversation, kept across its live refreshes.
#[derive(Clone, Copy)]
struct DeliveryPrefs {
    form: PreferencesForm,
    /// The subscription the form was filled from.
    of: StoredValue<Option<Uuid>>,
    open: RwSignal<bool>,
}

impl DeliveryPrefs {
    fn fill(&self, sub: &SubscriptionView) {
        if self.of.get_value() != Some(sub.id) {
            self.form.load(&sub.preferences);
            self.of.set_value(Some(sub.id));
            self.open.set(false);
        }
    }
}

#[component]
fn ConversationBody(
    c: ConversationView,
    refresh: RwSignal<u32>,
    text: RwSignal<String>,
    prefs: DeliveryPrefs,
) -> impl IntoView {
    let sub = c.subscription.clone();
    let id = sub.id;
    let error = RwSignal::new(None::<AppError>);
    let send = Action::new(move |text: &String| {
        let text = text.clone();
        async move { reply(id, text).await }
    });
    Effect::new(move |_| match send.value().get() {
        Some(Ok(())) => {
            text.set(String::new());
            error.set(None);
            refresh.update(|n| *n += 1);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let status = Action::new(move |s: &SubscriptionStatus| {
        let s = *s;
        async move { set_subscription_status(id, s, None).await }
    });
    Effect::new(move |_| {
        if let Some(result) = status.value().get() {
            match result {
                Ok(()) => refresh.update(|n| *n += 1),
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let hint = match &c.asks {
        Some(AnswerKind::Single { options }) => Some(format!("Choose one: {}", options.join(", "))),
        Some(AnswerKind::Multiple { options }) => {
            Some(format!("Choose any, separated by commas: {}", options.join(", ")))
        }
        Some(AnswerKind::Scale) => Some("A number from 1 to 10".to_owned()),
        Some(AnswerKind::YesNo) => Some("Yes or no".to_owned()),
        _ => None,
    };
    let text_error = move || match error.get() {
        Some(AppError::Validation { field, message }) if field == "text" => Some(message),
        Some(AppError::Validation { .. }) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let running = matches!(sub.status, SubscriptionStatus::Active | SubscriptionStatus::Paused);
    let DeliveryPrefs { form: prefs_form, open: prefs_open, .. } = prefs;
    let prefs_error = RwSignal::new(None::<AppError>);
    let prefs_saved = RwSignal::new(false);
    let save_prefs = Action::new(move |input: &crate::api::sequences::PreferencesInput| {
        let input = input.clone();
        async move { subscription_preferences(id, input).await }
    });
    Effect::new(move |_| match save_prefs.value().get() {
        Some(Ok(())) => {
            prefs_error.set(None);
            prefs_saved.set(true);
        }
        Some(Err(e)) => prefs_error.set(Some(e)),
        None => {}
    });
    view! {
        <section class="page narrow conversation">
            <h1>{sub.sequence_title.clone()}</h1>
            <p class="meta">{format!("{} · step {} of {} · {}%{}", status_label(&sub), sub.completed_steps.min(sub.total_steps), sub.total_steps, sub.percent, streak(sub.streak))}</p>
            <div class="progress" role="progressbar" aria-label="Progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow=sub.percent>
                <span class=format!("bar w{}", sub.percent / 5 * 5)></span>
            </div>
            {(sub.mandatory || sub.due_on.is_some()).then(|| {
                let due = sub.due_on.map(|d| format!("Due {}.", d.format("%-d %B %Y"))).unwrap_or_default();
                view! { <p class="notice">{if sub.mandatory { "Assigned to you as mandatory. " } else { "Assigned to you. " }}{due}</p> }
            })}
            {c.scripted.then(|| view! { <p class="notice">"Scripted mode: no AI model is configured, so conversations use the creator's own text."</p> })}
            {c.coach.clone().map(|who| view! { <p class="notice">{format!("{who} has joined the conversation.")}</p> })}
            <MessageLog messages=c.messages.clone()/>
            {(sub.status == SubscriptionStatus::Active && c.asks.is_some()).then(|| view! {
                <form class="reply" on:submit=move |ev| { ev.prevent_default(); send.dispatch(text.get_untracked()); }>
                    <div class="field">
                        <label for="reply-text">"Your answer"</label>
                        {hint.clone().map(|h| view! { <p class="hint" id="reply-hint">{h}</p> })}
                        <textarea id="reply-text" rows="2" bind:value=text aria-describedby="reply-hint reply-error"></textarea>
                        <p class="field-error" id="reply-error" aria-live="polite">{text_error}</p>
                    </div>
                    <button type="submit" disabled=move || send.pending().get()>"Send"</button>
                </form>
            })}
            {(c.asks.is_none()).then(|| view! { <p role="alert" class="form-error">{text_error}</p> })}
            {running.then(|| view! {
                <div class="actions">
                    {if sub.status == SubscriptionStatus::Paused {
                        view! { <button type="button" on:click=move |_| { status.dispatch(SubscriptionStatus::Active); }>"Resume"</button> }.into_any()
                    } else {
                        view! { <button type="button" on:click=move |_| { status.dispatch(SubscriptionStatus::Paused); }>"Pause"</button> }.into_any()
                    }}
                    {(!sub.mandatory).then(|| view! {
                        <button type="button" class="danger" on:click=move |_| { status.dispatch(SubscriptionStatus::Canceled); }>"Leave sequence"</button>
                    })}
                </div>
                <details class="card" prop:open=move || prefs_open.get()>
                    <summary on:click=move |ev| { ev.prevent_default(); prefs_open.update(|o| *o = !*o); }>"Delivery preferences"</summary>
                    <form on:submit=move |ev| { ev.prevent_default(); prefs_saved.set(false); save_prefs.dispatch(prefs_form.input()); }>
                        <PreferencesFields prefs=prefs_form error=prefs_error/>
                        <button type="submit">"Save preferences"</button>
                        <p role="status">{move || prefs_saved.get().then_some("Saved.")}</p>
                    </form>
                </details>
            })}
        </section>
    }
}

#[component]
pub fn DecisionsPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Decisions/> }/> }
}

#[component]
fn Decisions() -> impl IntoView {
    let done = RwSignal::new(0u32);
    let list = Resource::new(move || done.get(), |_| decision_queue());
    let error = RwSignal::new(None::<String>);
    let act = Action::new(move |(id, choice, note): &(Uuid, String, String)| {
        let (id, choice, note) = (*id, choice.clone(), note.clone());
        async move { decide(id, choice, note).await }
    });
    Effect::new(move |_| match act.value().get() {
        Some(Ok(())) => {
            error.set(None);
            done.update(|n| *n += 1);
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    view! {
        <section class="page">
            <h1>"Needs your decision"</h1>
            <p role="alert" class="form-error">{move || error.get()}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! { <p>"Nothing is waiting for you."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="decision-list">
                                {items.into_iter().map(|d| {
                                    let note = RwSignal::new(String::new());
                                    let note_id = format!("note-{}", d.id);
                                    let id = d.id;
                                    view! {
                                        <li class="card" aria-label=format!("Decision for {}", d.subscriber)>
                                            <h2>{d.question.clone()}</h2>
                                            <p class="meta">{format!("{} · {} · due ", d.sequence_title, d.subscriber)}<LocalTime at=d.deadline/></p>
                                            <ol class="messages compact" aria-label="Conversation so far">
                                                {d.context.iter().map(|m| view! { <li>{m.body.clone()}</li> }).collect_view()}
                                            </ol>
                                            <div class="field">
                                                <label for=note_id.clone()>"Note (optional)"</label>
                                                <textarea id=note_id rows="2" bind:value=note></textarea>
                                            </div>
                                            <div class="actions">
                                                {d.options.iter().map(|o| {
                                                    let choice = o.clone();
                                                    view! { <button type="button" on:click=move |_| { act.dispatch((id, choice.clone(), note.get_untracked())); }>{o.clone()}</button> }
                                                }).collect_view()}
                                            </div>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
