//! `/sequences/:id/people/:sub`: a subscriber's conversation as the sequence's creator sees it,
//! live; the creator can take it over from the AI, reply as themselves and hand it back.

use super::SignedIn;
use super::inbox::{MessageLog, live_refresh};
use crate::api::coach::{CoachView, assign_coach, coach_conversation, coach_reply, take_over};
use crate::domain::UserId;
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

#[component]
pub fn CoachPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Coach/> }/> }
}

#[component]
fn Coach() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.get().get("sub").and_then(|s| s.parse::<Uuid>().ok());
    let refresh = RwSignal::new(0u32);
    // What the creator is typing or choosing lives out here: a live message re-renders the
    // conversation below, and must not take either away.
    let draft = Draft { text: RwSignal::new(String::new()), coach: RwSignal::new(None) };
    let data = Resource::new(
        move || (id(), refresh.get()),
        |(id, _)| async move { coach_conversation(id.ok_or(AppError::NotFound)?).await },
    );
    live_refresh(id, refresh);
    view! {
        <Transition fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(c) => view! { <CoachBody c=c refresh=refresh draft=draft/> }.into_any(),
                    Err(err) => view! { <section class="page"><h1>"Conversation"</h1><p role="alert">{err.to_string()}</p></section> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The creator's unsent reply, and the coach they picked but have not saved (`None`: the saved
/// one).
#[derive(Clone, Copy)]
struct Draft {
    text: RwSignal<String>,
    coach: RwSignal<Option<String>>,
}

#[component]
fn CoachBody(c: CoachView, refresh: RwSignal<u32>, draft: Draft) -> impl IntoView {
    let id = c.subscription.id;
    let text = draft.text;
    let take = Action::new(move |take: &bool| {
        let take = *take;
        async move { take_over(id, take).await }
    });
    let send = Action::new(move |text: &String| {
        let text = text.clone();
        async move { coach_reply(id, text).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = take.value().get() {
            refresh.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = send.value().get() {
            text.set(String::new());
            refresh.update(|n| *n += 1);
        }
    });
    let error = move || match (take.value().get(), send.value().get()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(match e {
            AppError::Validation { message, .. } => message,
            other => other.to_string(),
        }),
        _ => None,
    };
    let sub = c.subscription.clone();
    let title = format!("{} · {}", c.subscriber, sub.sequence_title);
    view! {
        <section class="page narrow conversation">
            <p><A href=format!("/sequences/{}", c.sequence_id)>"Back to the sequence"</A></p>
            <h1>{title}</h1>
            <p class="meta">{format!("{} · step {} of {} · {}%", sub.current_step.clone().unwrap_or_else(|| "—".into()), sub.completed_steps.min(sub.total_steps), sub.total_steps, sub.percent)}</p>
            {match (&c.taken_over_by, c.by_me) {
                (Some(_), true) => view! { <p class="notice">"You have taken this conversation over: the AI waits until you hand it back."</p> }.into_any(),
                (Some(who), false) => view! { <p class="notice">{format!("{who} has taken this conversation over.")}</p> }.into_any(),
                (None, _) => ().into_any(),
            }}
            <MessageLog messages=c.messages.clone() coach=true/>
            {c.by_me.then(|| view! {
                <form class="reply" on:submit=move |ev| { ev.prevent_default(); send.dispatch(text.get_untracked()); }>
                    <div class="field">
                        <label for="coach-text">"Reply as yourself"</label>
                        <textarea id="coach-text" rows="2" bind:value=text aria-describedby="coach-error"></textarea>
                    </div>
                    <button type="submit" disabled=move || send.pending().get()>"Send"</button>
                </form>
            })}
            <p class="field-error" id="coach-error" role="alert">{error}</p>
            <CoachChoice id=id current=c.coach.clone() choices=c.coach_choices.clone() refresh=refresh picked=draft.coach/>
            <div class="actions">
                {if c.by_me {
                    view! { <button type="button" on:click=move |_| { take.dispatch(false); } disabled=move || take.pending().get()>"Hand back to the AI"</button> }.into_any()
                } else {
                    view! { <button type="button" on:click=move |_| { take.dispatch(true); } disabled=move || take.pending().get()>"Take over"</button> }.into_any()
                }}
            </div>
        </section>
    }
}

/// The creator's choice of the subscriber's coach (who decides "coach" checkpoints).
#[component]
fn CoachChoice(
    id: Uuid,
    current: Option<(UserId, String)>,
    choices: Vec<(UserId, String)>,
    refresh: RwSignal<u32>,
    /// The coach picked and not saved yet, kept across re-renders.
    picked: RwSignal<Option<String>>,
) -> impl IntoView {
    if choices.is_empty() {
        return current.map(|(_, name)| view! { <p class="meta">{format!("Coach: {name}")}</p> }).into_any();
    }
    let shown =
        picked.get_untracked().unwrap_or_else(|| current.map(|(user, _)| user.0.to_string()).unwrap_or_default());
    let selected = RwSignal::new(shown.clone());
    let save = Action::new(move |coach: &String| {
        let coach = coach.parse::<Uuid>().ok().map(UserId);
        async move { assign_coach(id, coach).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            picked.set(None);
            refresh.update(|n| *n += 1);
        }
    });
    view! {
        <form class="field-row" on:submit=move |ev| { ev.prevent_default(); save.dispatch(selected.get_untracked()); }>
            <div class="field">
                <label for="coach-choice">"Coach"</label>
                <select id="coach-choice" prop:value=selected
                    on:change=move |ev| { let value = event_target_value(&ev); picked.set(Some(value.clone())); selected.set(value); }>
                    // Each option says whether it is the one shown: a select re-rendered after
                    // saving gets its value before its options, which would leave it on the first.
                    <option value="" selected=shown.is_empty()>"No coach (you decide)"</option>
                    {choices.into_iter().map(|(user, name)| {
                        let value = user.0.to_string();
                        let chosen = value == shown;
                        view! { <option value=value selected=chosen>{name}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" disabled=move || save.pending().get()>"Save coach"</button>
            <p role="alert" class="field-error">{move || match save.value().get() { Some(Err(e)) => Some(e.to_string()), _ => None }}</p>
        </form>
    }
    .into_any()
}
