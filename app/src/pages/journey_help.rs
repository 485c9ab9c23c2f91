//! On a journey's page: its creator's mentors and concierges, a client's request for a mentor's
//! review below each submitted section, and their sessions with a concierge.

use super::billing::{ErrorNotice, general};
use super::journeys::Reload;
use crate::api::journey_help::{
    HelperView, JourneyHelp, ReviewView, SessionView, cancel_session, move_session, rate_review, rate_session,
    remove_journey_helper, request_review, request_session, set_journey_helper,
};
use crate::components::forms::error_for;
use crate::components::layout::LocalTime;
use crate::domain::billing::format_money;
use crate::domain::{CapabilityRole, UserId};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// What a client may do about mentor reviews of their submitted sections.
#[derive(Clone)]
pub struct Reviews {
    /// The mentors to ask (empty: reviews are not for this client, or nobody reviews yet).
    pub mentors: Vec<HelperView>,
    /// Whether to say that a higher tier brings reviews.
    pub upsell: bool,
}

fn user_id(raw: &str) -> UserId {
    UserId(raw.parse().unwrap_or_default())
}

/// A helper as clients choose them: their name, and their rating once they have one.
fn helper_label(h: &HelperView) -> String {
    match h.rating {
        Some(r) => format!("{} (rated {})", h.name, r.label()),
        None => h.name.clone(),
    }
}

const STARS: [(i64, &str); 5] =
    [(5, "5 of 5: excellent"), (4, "4 of 5: good"), (3, "3 of 5: fair"), (2, "2 of 5: poor"), (1, "1 of 5: unhelpful")];

/// The client's rating of a completed review or session (`session`), 1 to 5 stars, once.
#[component]
fn RateForm(id: Uuid, session: bool, subject: String, reload: Reload) -> impl IntoView {
    let stars = RwSignal::new("5".to_owned());
    let error = RwSignal::new(None::<AppError>);
    let rate = Action::new(move |stars: &String| {
        let stars = stars.parse().unwrap_or(0);
        async move { if session { rate_session(id, stars).await } else { rate_review(id, stars).await } }
    });
    Effect::new(move |_| match rate.value().get() {
        Some(Ok(())) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let select_id = format!("rate-{id}");
    let label_for = select_id.clone();
    let error_id = format!("{select_id}-error");
    let described = error_id.clone();
    view! {
        <form class="rate" aria-label=format!("Rate {subject}")
            on:submit=move |ev| { ev.prevent_default(); error.set(None); rate.dispatch(stars.get_untracked()); }>
            <div class="field">
                <label for=label_for>"Your rating"</label>
                <select id=select_id bind:value=stars aria-describedby=described>
                    {STARS.iter().map(|(n, label)| view! { <option value=n.to_string()>{*label}</option> }).collect_view()}
                </select>
                <p class="field-error" id=error_id aria-live="polite">{error_for(error, "rating")}</p>
            </div>
            <ErrorNotice error=general(error)/>
            <button type="submit" disabled=move || rate.pending().get()>"Rate"</button>
        </form>
    }
}

/// What the client rated a review or session, or the form to rate it.
fn rating(id: Uuid, session: bool, rating: Option<i64>, subject: String, reload: Reload) -> AnyView {
    match rating {
        Some(stars) => view! { <p class="meta">{format!("You rated {subject} {stars} of 5.")}</p> }.into_any(),
        None => view! { <RateForm id=id session=session subject=subject reload=reload/> }.into_any(),
    }
}

/// Below a submitted section: the mentor's feedback, the pending request, or the form to ask one
/// of the journey's mentors for a review.
#[component]
pub(crate) fn SectionReview(
    journey: Uuid,
    section: String,
    title: String,
    review: Option<ReviewView>,
    reviews: Reviews,
    reload: Reload,
) -> impl IntoView {
    match review {
        Some(r) if r.completed => view! {
            <div class="review" role="region" aria-label=format!("Mentor feedback on {title}")>
                <h3>{format!("Feedback from {}", r.mentor)}</h3>
                <p class="feedback">{r.feedback.unwrap_or_default()}</p>
                <p class="meta">{r.completed_at.map(|at| view! { "Reviewed " <LocalTime at=at/> })}</p>
                {rating(r.id, false, r.rating, format!("the review of {title}"), reload)}
            </div>
        }
        .into_any(),
        Some(r) => view! {
            <p class="review" role="status">
                {format!("Review requested from {} ", r.mentor)}<LocalTime at=r.requested_at/>
                ": their feedback will appear here."
            </p>
        }
        .into_any(),
        None if !reviews.mentors.is_empty() => {
            let mentors = reviews.mentors;
            let chosen = RwSignal::new(mentors[0].id.0.to_string());
            let error = RwSignal::new(None::<AppError>);
            let select_id = format!("review-mentor-{section}");
            let ask = Action::new(move |mentor: &String| request_review(journey, section.clone(), user_id(mentor)));
            Effect::new(move |_| match ask.value().get() {
                Some(Ok(_)) => reload.now(),
                Some(Err(e)) => error.set(Some(e)),
                None => {}
            });
            let label_for = select_id.clone();
            let error_id = format!("{select_id}-error");
            let described = error_id.clone();
            view! {
                <form class="review" aria-label=format!("Ask for a review of {title}")
                    on:submit=move |ev| { ev.prevent_default(); error.set(None); ask.dispatch(chosen.get_untracked()); }>
                    <div class="field">
                        <label for=label_for>"Mentor"</label>
                        <select id=select_id on:change=move |ev| chosen.set(event_target_value(&ev)) aria-describedby=described>
                            {mentors.iter().map(|m| view! { <option value=m.id.0.to_string()>{helper_label(m)}</option> }).collect_view()}
                        </select>
                        <p class="field-error" id=error_id aria-live="polite">{error_for(error, "mentor")}</p>
                    </div>
                    <ErrorNotice error=general(error)/>
                    <button type="submit" disabled=move || ask.pending().get()>"Ask for a review"</button>
                </form>
            }
            .into_any()
        }
        None if reviews.upsell => {
            view! { <p class="muted">"A mentor's review of this section comes with the Guided and Premium tiers."</p> }
                .into_any()
        }
        None => ().into_any(),
    }
}

/// The creator's mentors or concierges: who helps clients, and what each review or session pays.
#[component]
pub(crate) fn HelperPanel(
    id: Uuid,
    role: CapabilityRole,
    helpers: Vec<HelperView>,
    candidates: Vec<HelperView>,
) -> impl IntoView {
    let (plural, each, hint) = match role {
        CapabilityRole::Concierge => (
            "Concierges",
            "session",
            "Clients on a free journey, or on the Premium tier, ask a concierge for a session. Each completed session pays the concierge its rate from your balance, less the platform fee.",
        ),
        _ => (
            "Mentors",
            "review",
            "Clients on a free journey, or on the Guided and Premium tiers, ask a mentor to review a section they submitted. Each completed review pays the mentor its rate from your balance, less the platform fee.",
        ),
    };
    let key = role.as_str();
    let list = RwSignal::new(helpers);
    let chosen = RwSignal::new(candidates.first().map(|c| c.id.0.to_string()).unwrap_or_default());
    let rate = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let add = Action::new(move |(helper, rate): &(String, String)| {
        set_journey_helper(id, role, user_id(helper), rate.clone())
    });
    let remove = Action::new(move |helper: &UserId| remove_journey_helper(id, role, *helper));
    Effect::new(move |_| match add.value().get() {
        Some(Ok(now)) => {
            list.set(now);
            rate.set(String::new());
            saved.set(Some(format!("{} saved.", role.label())));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(now)) => {
            list.set(now);
            saved.set(Some(format!("{} removed.", role.label())));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let heading_id = format!("journey-{key}s-h");
    let labelled_by = heading_id.clone();
    let select_id = format!("journey-{key}");
    let rate_id = format!("journey-{key}-rate");
    let add_form = (!candidates.is_empty()).then(|| {
        let (select_for, select_err, select_described) =
            (select_id.clone(), format!("{select_id}-error"), format!("{select_id}-error"));
        let (rate_for, rate_err, rate_described) = (rate_id.clone(), format!("{rate_id}-error"), format!("{rate_id}-error"));
        view! {
            <form aria-label=format!("Add a {key}") on:submit=move |ev| {
                ev.prevent_default();
                error.set(None);
                saved.set(None);
                add.dispatch((chosen.get_untracked(), rate.get_untracked()));
            }>
                <div class="field">
                    <label for=select_for>{role.label()}</label>
                    <select id=select_id on:change=move |ev| chosen.set(event_target_value(&ev)) aria-describedby=select_described>
                        {candidates.iter().map(|c| view! { <option value=c.id.0.to_string()>{c.name.clone()}</option> }).collect_view()}
                    </select>
                    <p class="field-error" id=select_err aria-live="polite">{error_for(error, "helper")}</p>
                </div>
                <div class="field">
                    <label for=rate_for>{format!("Pay per {each} (dollars)")}</label>
                    <input id=rate_id inputmode="decimal" bind:value=rate aria-describedby=rate_described/>
                    <p class="field-error" id=rate_err aria-live="polite">{error_for(error, "helper_rate")}</p>
                </div>
                <button type="submit" disabled=move || add.pending().get()>{format!("Save {key}")}</button>
            </form>
        }
    });
    let has_form = add_form.is_some();
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading_id>{plural}</h2>
            <p class="hint">{hint}</p>
            {move || {
                let now = list.get();
                if now.is_empty() {
                    view! { <p class="muted">{format!("No {} yet.", plural.to_lowercase())}</p> }.into_any()
                } else {
                    view! {
                        <ul class="mentor-list" aria-label=format!("{plural} of this journey")>
                            {now.into_iter().map(|h| {
                                let who = h.id;
                                view! {
                                    <li>
                                        {format!("{} — {} a {each}", h.name, format_money(h.rate))}
                                        {h.rating.map(|r| format!(" · rated {}", r.label()))}
                                        " "
                                        <button type="button" class="secondary" aria-label=format!("Remove {}", h.name)
                                            disabled=move || remove.pending().get()
                                            on:click=move |_| { error.set(None); saved.set(None); remove.dispatch(who); }>
                                            "Remove"
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
            {add_form}
            {(!has_form).then(|| view! {
                <p class="muted">{format!("No member of this organization has the {key} role yet: a platform admin grants it.")}</p>
            })}
            <ErrorNotice error=general(error)/>
            <p role="status" class="form-success">{move || saved.get()}</p>
        </section>
    }
}

/// A client's sessions with the journey's concierges, and the form to ask for one.
#[component]
pub(crate) fn ClientSessions(journey: Uuid, help: JourneyHelp, upsell: bool, reload: Reload) -> impl IntoView {
    if help.sessions.is_empty() && (!help.sessions_open || help.concierges.is_empty()) {
        return upsell
            .then(|| view! { <p class="muted">"Sessions with a concierge come with the Premium tier."</p> })
            .into_any();
    }
    let sessions = help.sessions.into_iter().map(|s| view! { <ClientSession session=s reload=reload/> }).collect_view();
    let form = (help.sessions_open && !help.concierges.is_empty()).then(|| {
        let concierges = help.concierges;
        let chosen = RwSignal::new(concierges[0].id.0.to_string());
        let starts_at = RwSignal::new(String::new());
        let topic = RwSignal::new(String::new());
        let error = RwSignal::new(None::<AppError>);
        let ask = Action::new(move |(who, at, about): &(String, String, String)| {
            request_session(journey, user_id(who), at.clone(), about.clone())
        });
        Effect::new(move |_| match ask.value().get() {
            Some(Ok(_)) => reload.now(),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        });
        view! {
            <form aria-label="Ask for a session" on:submit=move |ev| {
                ev.prevent_default();
                error.set(None);
                ask.dispatch((chosen.get_untracked(), starts_at.get_untracked(), topic.get_untracked()));
            }>
                <div class="field">
                    <label for="session-concierge">"Concierge"</label>
                    <select id="session-concierge" on:change=move |ev| chosen.set(event_target_value(&ev)) aria-describedby="session-concierge-error">
                        {concierges.iter().map(|c| view! { <option value=c.id.0.to_string()>{helper_label(c)}</option> }).collect_view()}
                    </select>
                    <p class="field-error" id="session-concierge-error" aria-live="polite">{error_for(error, "concierge")}</p>
                </div>
                <div class="field">
                    <label for="session-starts-at">"When (your time)"</label>
                    <input id="session-starts-at" type="datetime-local" bind:value=starts_at aria-describedby="session-starts-at-error"/>
                    <p class="field-error" id="session-starts-at-error" aria-live="polite">{error_for(error, "starts_at")}</p>
                </div>
                <div class="field">
                    <label for="session-topic">"What would you like help with?"</label>
                    <textarea id="session-topic" rows=3 bind:value=topic aria-describedby="session-topic-error"></textarea>
                    <p class="field-error" id="session-topic-error" aria-live="polite">{error_for(error, "topic")}</p>
                </div>
                <ErrorNotice error=general(error)/>
                <button type="submit" disabled=move || ask.pending().get()>"Ask for a session"</button>
            </form>
        }
    });
    view! {
        <section class="card" aria-labelledby="journey-sessions-h">
            <h2 id="journey-sessions-h">"Concierge sessions"</h2>
            <p class="hint">"Meet a concierge who helps you fill the journey in, one session at a time."</p>
            <ul class="sequence-list" aria-label="Your sessions">{sessions}</ul>
            {form}
        </section>
    }
    .into_any()
}

/// Until a session begins, its client may move it to another time (the concierge confirms it
/// again).
#[component]
fn MoveSession(id: Uuid, concierge: String, reload: Reload) -> impl IntoView {
    let starts_at = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let move_it = Action::new(move |at: &String| move_session(id, at.clone()));
    Effect::new(move |_| match move_it.value().get() {
        Some(Ok(_)) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let input_id = format!("move-{id}");
    let label_for = input_id.clone();
    let error_id = format!("{input_id}-error");
    let described = error_id.clone();
    view! {
        <form class="inline-form" aria-label=format!("Move the session with {concierge}")
            on:submit=move |ev| { ev.prevent_default(); error.set(None); move_it.dispatch(starts_at.get_untracked()); }>
            <div class="field">
                <label for=label_for>"New time (your time)"</label>
                <input id=input_id type="datetime-local" bind:value=starts_at aria-describedby=described/>
                <p class="field-error" id=error_id aria-live="polite">{error_for(error, "starts_at")}</p>
            </div>
            <ErrorNotice error=general(error)/>
            <button type="submit" class="secondary small" disabled=move || move_it.pending().get()>"Move session"</button>
        </form>
    }
}

/// One of the client's sessions: when, with whom, its status and notes; until it begins,
/// buttons to cancel it or move it to another time.
#[component]
fn ClientSession(session: SessionView, reload: Reload) -> impl IntoView {
    let id = session.id;
    let status = match (session.status.as_str(), session.canceled_by.as_deref()) {
        ("requested", _) => "asked, waiting for confirmation".to_owned(),
        ("confirmed", _) => "confirmed".to_owned(),
        ("canceled", Some(by)) => format!("canceled by {by}"),
        ("canceled", None) => "canceled".to_owned(),
        _ => "done".to_owned(),
    };
    let error = RwSignal::new(None::<AppError>);
    let cancel = Action::new(move |_: &()| cancel_session(id));
    Effect::new(move |_| match cancel.value().get() {
        Some(Ok(())) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let button = session.can_cancel.then(|| {
        view! {
            <button type="button" class="secondary small" disabled=move || cancel.pending().get()
                aria-label=format!("Cancel the session with {}", session.concierge)
                on:click=move |_| { error.set(None); cancel.dispatch(()); }>"Cancel session"</button>
            <ErrorNotice error=general(error)/>
            <MoveSession id=id concierge=session.concierge.clone() reload=reload/>
        }
    });
    view! {
        <li class="card">
            <p><strong>{format!("With {}", session.concierge)}</strong>" · " <LocalTime at=session.starts_at/> {format!(" · {status}")}</p>
            <p>{session.topic.clone()}</p>
            {session.notes.map(|n| view! { <h3>"Notes"</h3><p class="feedback">{n}</p> })}
            {button}
            {(session.status == "completed").then(|| {
                rating(id, true, session.rating, format!("the session with {}", session.concierge), reload)
            })}
        </li>
    }
}
