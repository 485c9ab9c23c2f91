//! On a sequence's page: assigning it to people and teams (team leaders, enterprise admins) and
//! the progress of everyone assigned (for them and the creator).

use crate::api::assignments::{
    AssignChoices, AssignInput, AssignReport, assign_options, assign_sequence, assignment_progress,
};
use crate::components::forms::field_error;
use crate::components::layout::LocalTime;
use crate::domain::sequence::SubscriptionStatus;
use crate::domain::{TeamId, UserId};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// The assign form and the progress table, each shown only to those who may use it.
#[component]
pub fn Assignments(id: Uuid) -> impl IntoView {
    let choices = Resource::new(move || id, assign_options);
    let assigned = RwSignal::new(0u32);
    let progress = Resource::new(move || (id, assigned.get()), |(id, _)| assignment_progress(id));
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match choices.await {
                    Ok(c) if !c.is_empty() => view! { <AssignForm id=id choices=c assigned=assigned/> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match progress.await {
                    Ok(rows) if !rows.is_empty() => view! {
                        <section class="card" aria-labelledby="progress-heading">
                            <h2 id="progress-heading">"Assigned people"</h2>
                            <div class="table-scroll">
                                <table>
                                    <thead><tr><th scope="col">"Person"</th><th scope="col">"Progress"</th><th scope="col">"Now at"</th><th scope="col">"Due"</th><th scope="col">"Assigned by"</th><th scope="col">"Last activity"</th></tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|r| {
                                            let state = match r.status {
                                                SubscriptionStatus::Completed => "completed".to_owned(),
                                                SubscriptionStatus::Canceled => "left".to_owned(),
                                                SubscriptionStatus::Paused => format!("paused · {}%", r.percent),
                                                SubscriptionStatus::Active => format!("{}%", r.percent),
                                            };
                                            let due = match (r.due_on, r.overdue) {
                                                (Some(d), true) => format!("{} · overdue", d.format("%-d %b %Y")),
                                                (Some(d), false) => d.format("%-d %b %Y").to_string(),
                                                (None, _) => "—".into(),
                                            };
                                            view! {
                                                <tr class:overdue=r.overdue>
                                                    <th scope="row">{r.name}{r.mandatory.then_some(" (mandatory)")}</th>
                                                    <td>{state}</td>
                                                    <td>{r.current_step.unwrap_or_else(|| "—".into())}</td>
                                                    <td>{due}</td>
                                                    <td>{r.assigned_by}</td>
                                                    <td><LocalTime at=r.last_activity/></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </section>
                    }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AssignForm(id: Uuid, choices: AssignChoices, assigned: RwSignal<u32>) -> impl IntoView {
    let user_ids = RwSignal::new(Vec::<Uuid>::new());
    let team_ids = RwSignal::new(Vec::<Uuid>::new());
    let mandatory = RwSignal::new(false);
    let due_on = RwSignal::new(String::new());
    let action = Action::new(|input: &AssignInput| {
        let input = input.clone();
        async move { assign_sequence(input).await }
    });
    let result = action.value();
    Effect::new(move |_| {
        if let Some(Ok(_)) = result.get() {
            user_ids.set(Vec::new());
            team_ids.set(Vec::new());
            assigned.update(|n| *n += 1);
        }
    });
    let general = Signal::derive(move || match result.get() {
        Some(Err(AppError::Validation { field, message })) if field == "sequence" => Some(message),
        Some(Err(AppError::Validation { .. })) | Some(Ok(_)) | None => None,
        Some(Err(other)) => Some(other.to_string()),
    });
    let report = move || match result.get() {
        Some(Ok(AssignReport { assigned, skipped })) => Some(view! {
            <div role="status" class="notice">
                <p>{match assigned.len() {
                    0 => "Nobody new was assigned.".to_owned(),
                    n => format!("Assigned to {n} {}: {}.", if n == 1 { "person" } else { "people" }, assigned.join(", ")),
                }}</p>
                {(!skipped.is_empty()).then(|| view! {
                    <ul>{skipped.into_iter().map(|(name, why)| view! { <li>{format!("{name}: {why}")}</li> }).collect_view()}</ul>
                })}
            </div>
        }),
        _ => None,
    };
    let toggle = |list: RwSignal<Vec<Uuid>>, item: Uuid, on: bool| {
        list.update(|l| {
            l.retain(|x| *x != item);
            if on {
                l.push(item);
            }
        })
    };
    let bulk = choices.may_bulk;
    view! {
        <section class="card" aria-labelledby="assign-heading">
            <h2 id="assign-heading">"Assign"</h2>
            <form on:submit=move |ev| {
                ev.prevent_default();
                action.dispatch(AssignInput {
                    sequence_id: id,
                    users: user_ids.get_untracked().into_iter().map(UserId).collect(),
                    teams: team_ids.get_untracked().into_iter().map(TeamId).collect(),
                    mandatory: mandatory.get_untracked(),
                    due_on: due_on.get_untracked(),
                });
            }>
                {(!choices.people.is_empty()).then(|| view! {
                    <fieldset class="choices" aria-describedby="assign-users-error">
                        <legend>{if bulk { "People" } else { "Person (one at a time)" }}</legend>
                        {choices.people.into_iter().map(|person| {
                            let uid = person.user_id.0;
                            view! {
                                <label class="check">
                                    <input type="checkbox" prop:checked=move || user_ids.get().contains(&uid)
                                        on:change=move |ev| toggle(user_ids, uid, event_target_checked(&ev))/>
                                    {person.name}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                })}
                {(!choices.teams.is_empty()).then(|| view! {
                    <fieldset class="choices">
                        <legend>"Teams"</legend>
                        {choices.teams.into_iter().map(|team| {
                            let tid = team.id.0;
                            view! {
                                <label class="check">
                                    <input type="checkbox" prop:checked=move || team_ids.get().contains(&tid)
                                        on:change=move |ev| toggle(team_ids, tid, event_target_checked(&ev))/>
                                    {format!("{} ({} people)", team.name, team.members)}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                })}
                <p class="field-error" id="assign-users-error" aria-live="polite">{field_error(result, "users")}</p>
                {choices.may_mandate.then(|| view! {
                    <label class="check">
                        <input type="checkbox" bind:checked=mandatory aria-describedby="assign-mandatory-error"/>
                        "Mandatory (assignees cannot leave it)"
                    </label>
                    <p class="field-error" id="assign-mandatory-error" aria-live="polite">{field_error(result, "mandatory")}</p>
                })}
                <div class="field">
                    <label for="assign-due">"Due date"</label>
                    <input id="assign-due" type="date" bind:value=due_on aria-describedby="assign-due-error"/>
                    <p class="field-error" id="assign-due-error" aria-live="polite">{field_error(result, "due_on")}</p>
                </div>
                <p role="alert" class="form-error">{general}</p>
                <button type="submit" disabled=move || action.pending().get()>"Assign"</button>
            </form>
            {report}
        </section>
    }
}
