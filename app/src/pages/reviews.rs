//! `/reviews`: a mentor's desk. The sections clients asked them to review, oldest first, each with
//! the client's answers and a feedback form; completed reviews with what each paid.

use super::SignedIn;
use super::billing::{ErrorNotice, general};
use crate::api::journeys::{ReviewTask, complete_review, mentor_reviews};
use crate::components::forms::error_for;
use crate::components::layout::LocalTime;
use crate::domain::billing::format_money;
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn ReviewsPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Desk/> }/> }
}

#[component]
fn Desk() -> impl IntoView {
    let reload = RwSignal::new(0usize);
    let desk = Resource::new(move || reload.get(), |_| mentor_reviews());
    view! {
        <section class="page">
            <h1>"Reviews"</h1>
            <p>"Sections clients asked you to review. Completing a review sends them your feedback and pays you its rate, less the platform fee."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match desk.await {
                        Ok(d) => view! {
                            <p class="meta">{format!(
                                "{} waiting · {} completed · {} earned",
                                d.pending.len(),
                                d.completed.len(),
                                format_money(d.earned),
                            )}</p>
                            <h2>"Waiting for you"</h2>
                            {if d.pending.is_empty() {
                                view! { <p class="muted">"Nothing is waiting for your review."</p> }.into_any()
                            } else {
                                d.pending.into_iter().map(|t| view! { <ReviewForm task=t reload=reload/> }).collect_view().into_any()
                            }}
                            <h2>"Completed"</h2>
                            {if d.completed.is_empty() {
                                view! { <p class="muted">"No completed reviews yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="sequence-list" aria-label="Completed reviews">
                                        {d.completed.into_iter().map(|t| view! {
                                            <li class="card">
                                                <h3>{format!("{} — {}", t.section, t.client)}</h3>
                                                <p class="meta">
                                                    <A href=format!("/journeys/{}", t.journey_id)>{t.journey.clone()}</A>
                                                    {t.completed_at.map(|at| view! { " · reviewed " <LocalTime at=at/> })}
                                                    {format!(" · earned {}", format_money(t.pay))}
                                                </p>
                                                <p class="feedback">{t.feedback.clone().unwrap_or_default()}</p>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
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
