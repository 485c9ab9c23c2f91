//! The helpers' desks. `/reviews`: a mentor's. The sections clients asked them to review, oldest
//! first, each with the client's answers and a feedback form; completed reviews with what each
//! paid. `/sessions`: a concierge's. Sessions asked for (to confirm), confirmed ones (to complete
//! with notes or cancel), completed ones with what each paid, canceled ones. Both show what
//! clients rated them.

use super::SignedIn;
use super::billing::{ErrorNotice, general};
use crate::api::journey_help::{
    ReviewTask, SessionTask, cancel_session, complete_review, complete_session, concierge_sessions, confirm_session,
    mentor_reviews,
};
use crate::components::forms::error_for;
use crate::components::layout::LocalTime;
use crate::domain::billing::format_money;
use crate::domain::journey::Rating;
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

/// A desk's heading, what it is for, and the way to the helper's balance.
#[component]
fn DeskIntro(title: &'static str, intro: &'static str) -> impl IntoView {
    view! {
        <h1>{title}</h1>
        <p>{intro}</p>
        <p><A href="/sales">"Your balance and payouts"</A></p>
    }
}

/// One part of a desk: its heading and a list of its items, or a line saying there are none.
fn part<T>(
    heading: &'static str,
    label: &'static str,
    empty: &'static str,
    items: Vec<T>,
    item: impl Fn(T) -> AnyView,
) -> AnyView {
    let body = if items.is_empty() {
        view! { <p class="muted">{empty}</p> }.into_any()
    } else {
        view! { <ul class="sequence-list" aria-label=label>{items.into_iter().map(|t| view! { <li>{item(t)}</li> }).collect_view()}</ul> }
            .into_any()
    };
    view! { <h2>{heading}</h2> {body} }.into_any()
}

/// " · rated 4.5 of 5 (2 ratings)", or nothing before the first rating.
fn rated(rating: Option<Rating>) -> String {
    rating.map(|r| format!(" · rated {}", r.label())).unwrap_or_default()
}

#[component]
pub fn ReviewsPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Desk/> }/> }
}

#[component]
fn Desk() -> impl IntoView {
    let reload = RwSignal::new(0usize);
    let desk = Resource::new(move || reload.get(), |_| mentor_reviews());
    let done = |t: ReviewTask| {
        view! {
            <div class="card">
                <h3>{format!("{} — {}", t.section, t.client)}</h3>
                <p class="meta">
                    <A href=format!("/journeys/{}", t.journey_id)>{t.journey.clone()}</A>
                    {t.completed_at.map(|at| view! { " · reviewed " <LocalTime at=at/> })}
                    {format!(" · earned {}", format_money(t.pay))}
                    {t.rating.map(|n| format!(" · rated {n} of 5"))}
                </p>
                <p class="feedback">{t.feedback.clone().unwrap_or_default()}</p>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="page">
            <DeskIntro title="Reviews" intro="Sections clients asked you to review. Completing a review sends them your feedback and pays you its rate, less the platform fee."/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match desk.await {
                        Ok(d) => view! {
                            <p class="meta">{format!(
                                "{} waiting · {} completed · {} earned{}",
                                d.pending.len(),
                                d.completed.len(),
                                format_money(d.earned),
                                rated(d.rating),
                            )}</p>
                            {part("Waiting for you", "Reviews waiting for you", "Nothing is waiting for your review.", d.pending,
                                |t| view! { <ReviewForm task=t reload=reload/> }.into_any())}
                            {part("Completed", "Completed reviews", "No completed reviews yet.", d.completed, done)}
                        }
                        .into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One requested review: what the client submitted, and the mentor's feedback form.
#[component]
fn ReviewForm(task: ReviewTask, reload: RwSignal<usize>) -> impl IntoView {
    let id = task.id;
    let feedback = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let complete = Action::new(move |text: &String| complete_review(id, text.clone()));
    Effect::new(move |_| match complete.value().get() {
        Some(Ok(())) => reload.update(|n| *n += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let heading_id = format!("review-{id}-h");
    let labelled_by = heading_id.clone();
    let input_id = format!("review-{id}-feedback");
    let label_for = input_id.clone();
    let error_id = format!("{input_id}-error");
    let described = error_id.clone();
    let score = (task.score.max > 0).then(|| format!(" · score {} / {}", task.score.points, task.score.max));
    view! {
        <article class="card" aria-labelledby=labelled_by>
            <h3 id=heading_id>{format!("{} — {}", task.section, task.client)}</h3>
            <p class="meta">
                <A href=format!("/journeys/{}", task.journey_id)>{task.journey.clone()}</A>
                " · asked " <LocalTime at=task.requested_at/>
                {score}
                {format!(" · pays you {}", format_money(task.pay))}
            </p>
            <dl class="answers">
                {task.answers.into_iter().map(|(q, a)| view! {
                    <dt>{q}</dt><dd class="answer">{if a.is_empty() { "—".to_owned() } else { a }}</dd>
                }).collect_view()}
            </dl>
            <form aria-label=format!("Review of {} by {}", task.section, task.client)
                on:submit=move |ev| { ev.prevent_default(); error.set(None); complete.dispatch(feedback.get_untracked()); }>
                <div class="field">
                    <label for=label_for>"Feedback"</label>
                    <textarea id=input_id rows=4 bind:value=feedback aria-describedby=described></textarea>
                    <p class="field-error" id=error_id aria-live="polite">{error_for(error, "feedback")}</p>
                </div>
                <ErrorNotice error=general(error)/>
                <button type="submit" disabled=move || complete.pending().get()>"Complete review"</button>
            </form>
        </article>
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <SessionDesk/> }/> }
}

#[component]
fn SessionDesk() -> impl IntoView {
    let reload = RwSignal::new(0usize);
    let desk = Resource::new(move || reload.get(), |_| concierge_sessions());
    let card = move |t: SessionTask| view! { <SessionCard task=t reload=reload/> }.into_any();
    let done = |t: SessionTask| {
        view! {
            <div class="card">
                <h3>{format!("{} — {}", t.client, t.journey)}</h3>
                <p class="meta">
                    <LocalTime at=t.starts_at/>{format!(" · earned {}", format_money(t.pay))}
                    {t.rating.map(|n| format!(" · rated {n} of 5"))}
                </p>
                <p class="feedback">{t.notes.clone().unwrap_or_default()}</p>
            </div>
        }
        .into_any()
    };
    let canceled = |t: SessionTask| {
        view! {
            <div class="card">
                <h3>{format!("{} — {}", t.client, t.journey)}</h3>
                <p class="meta"><LocalTime at=t.starts_at/>{format!(" · canceled by {}", t.canceled_by.unwrap_or_default())}</p>
                <p>{t.topic}</p>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="page">
            <DeskIntro title="Sessions" intro="Sessions clients asked you for. Confirm the time, meet, then complete the session with your notes: the client reads them, and you are paid its rate, less the platform fee."/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match desk.await {
                        Ok(d) => view! {
                            <p class="meta">{format!(
                                "{} to confirm · {} confirmed · {} completed · {} earned{}",
                                d.requested.len(),
                                d.confirmed.len(),
                                d.completed.len(),
                                format_money(d.earned),
                                rated(d.rating),
                            )}</p>
                            {part("To confirm", "Sessions to confirm", "No session is waiting for confirmation.", d.requested, card)}
                            {part("Confirmed", "Confirmed sessions", "No confirmed sessions.", d.confirmed, card)}
                            {part("Completed", "Completed sessions", "No completed sessions yet.", d.completed, done)}
                            {part("Canceled", "Canceled sessions", "No canceled sessions.", d.canceled, canceled)}
                        }
                        .into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One session asked of the concierge: confirm or decline it, or (confirmed) complete it with
/// notes or cancel it.
#[component]
fn SessionCard(task: SessionTask, reload: RwSignal<usize>) -> impl IntoView {
    let id = task.id;
    let notes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let confirm = Action::new(move |_: &()| confirm_session(id));
    let complete = Action::new(move |text: &String| complete_session(id, text.clone()));
    let cancel = Action::new(move |_: &()| cancel_session(id));
    Effect::new(move |_| {
        let done = confirm.value().get().or_else(|| complete.value().get()).or_else(|| cancel.value().get());
        match done {
            Some(Ok(())) => reload.update(|n| *n += 1),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        }
    });
    let heading_id = format!("session-{id}-h");
    let labelled_by = heading_id.clone();
    let input_id = format!("session-{id}-notes");
    let label_for = input_id.clone();
    let error_id = format!("{input_id}-error");
    let described = error_id.clone();
    let name = format!("Session with {} — {}", task.client, task.journey);
    let requested = task.status == "requested";
    let call_off = view! {
        <button type="button" class="secondary" disabled=move || cancel.pending().get()
            on:click=move |_| { error.set(None); cancel.dispatch(()); }>{if requested { "Decline" } else { "Cancel session" }}</button>
    };
    let action = if requested {
        view! {
            <div class="row">
                <button type="button" disabled=move || confirm.pending().get()
                    on:click=move |_| { error.set(None); confirm.dispatch(()); }>"Confirm session"</button>
                {call_off}
            </div>
            <ErrorNotice error=general(error)/>
        }
        .into_any()
    } else {
        view! {
            <form aria-label=format!("Notes on the session with {}", task.client)
                on:submit=move |ev| { ev.prevent_default(); error.set(None); complete.dispatch(notes.get_untracked()); }>
                <div class="field">
                    <label for=label_for>"Notes for the client"</label>
                    <textarea id=input_id rows=4 bind:value=notes aria-describedby=described></textarea>
                    <p class="field-error" id=error_id aria-live="polite">{error_for(error, "notes")}</p>
                </div>
                <ErrorNotice error=general(error)/>
                <div class="row">
                    <button type="submit" disabled=move || complete.pending().get()>"Complete session"</button>
                    {call_off}
                </div>
            </form>
        }
        .into_any()
    };
    view! {
        <article class="card" aria-labelledby=labelled_by>
            <h3 id=heading_id>{name}</h3>
            <p class="meta">
                <LocalTime at=task.starts_at/>
                " · "<A href=format!("/journeys/{}", task.journey_id)>{task.journey.clone()}</A>
                {format!(" · pays you {}", format_money(task.pay))}
            </p>
            <p>{task.topic.clone()}</p>
            {action}
        </article>
    }
}
