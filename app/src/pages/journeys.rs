//! `/journeys`: the organization's journeys and a new one. `/journeys/:id`: the builder for those
//! who may edit it (settings, sections, questions, submissions) and the sections to fill in, each a
//! form generated from its questions, saved as a draft whenever an answer changes.

use super::SignedIn;
use super::billing::{AffiliateRate, ErrorNotice, ShareAndEarn, general, open_checkout};
use super::journey_help::{ClientSessions, HelperPanel, Reviews, SectionReview};
use crate::api::billing::start_checkout;
use crate::api::journeys::{
    FieldInput, JourneyView, SectionView, TierPrice, TierPriceInput, add_field, add_section, create_journey,
    delete_journey, get_journey, list_journeys, move_item, price_field, remove_field, remove_section, save_answers,
    set_journey_affiliate_rate, set_journey_prices, update_field, update_journey,
};
use crate::components::forms::error_for;
use crate::components::layout::{LocalTime, can_in_active_org};
use crate::domain::Action as Permission;
use crate::domain::CapabilityRole;
use crate::domain::billing::{Interval, format_money, parse_money, sale_breakdown};
use crate::domain::journey::{Field, FieldKind, FieldProblem, Score, Tier, options_text};
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use std::collections::BTreeMap;
use uuid::Uuid;

#[component]
pub fn JourneysPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <JourneyList me=me/> }/> }
}

#[component]
fn JourneyList(me: Me) -> impl IntoView {
    let list = Resource::new(|| (), |_| list_journeys());
    let may_create = can_in_active_org(&me, Permission::CreateJourney);
    view! {
        <section class="page">
            <h1>"Journeys"</h1>
            <p>"Sections of forms to work through at your own pace: save as you go, submit each section when it is done."</p>
            {may_create.then(|| view! { <NewJourney/> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! { <p>"No journeys yet."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="sequence-list" aria-label="Journeys">
                                {items.into_iter().map(|j| view! {
                                    <li class="card">
                                        <h2><A href=format!("/journeys/{}", j.id)>{j.title.clone()}</A></h2>
                                        <p>{j.description.clone()}</p>
                                        <p class="meta">
                                            {format!("by {} · {} of {} sections submitted", j.creator, j.submitted, j.sections)}
                                            {(!j.published).then(|| view! { " · " <span class="badge">"draft"</span> })}
                                            {j.from_price.map(|p| format!(" · from {} a month", format_money(p)))}
                                        </p>
                                    </li>
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

#[component]
fn NewJourney() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let create =
        Action::new(move |(title, description): &(String, String)| create_journey(title.clone(), description.clone()));
    Effect::new(move |_| match create.value().get() {
        Some(Ok(id)) => navigate(&format!("/journeys/{id}"), Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        create.dispatch((title.get_untracked(), description.get_untracked()));
    };
    view! {
        <div class="card">
            <h2>"New journey"</h2>
            <form on:submit=submit>
                <div class="field">
                    <label for="new-journey-title">"Journey title"</label>
                    <input id="new-journey-title" bind:value=title aria-describedby="new-journey-title-error"/>
                    <p class="field-error" id="new-journey-title-error" aria-live="polite">{error_for(error, "title")}</p>
                </div>
                <div class="field">
                    <label for="new-journey-description">"What it helps with"</label>
                    <textarea id="new-journey-description" rows=2 bind:value=description aria-describedby="new-journey-description-error"></textarea>
                    <p class="field-error" id="new-journey-description-error" aria-live="polite">{error_for(error, "description")}</p>
                </div>
                <ErrorNotice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })))/>
                <button type="submit" disabled=move || create.pending().get()>"Create journey"</button>
            </form>
        </div>
    }
}

#[component]
pub fn JourneyPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <JourneyDetail/> }/> }
}

/// Bumped after every successful change, to reload the journey.
#[derive(Clone, Copy)]
pub struct Reload(RwSignal<usize>);

impl Reload {
    pub fn now(self) {
        self.0.update(|n| *n += 1);
    }
}

#[component]
fn JourneyDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    let reload = Reload(RwSignal::new(0));
    let journey = Resource::new(
        move || (id(), reload.0.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_journey(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match journey.await {
                        Ok(j) => view! { <Journey j=j reload=reload/> }.into_any(),
                        Err(err) => view! { <h1>"Journey"</h1><p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn score_text(score: Score) -> Option<String> {
    (score.max > 0).then(|| format!("Score {} / {}", score.points, score.max))
}

#[component]
fn Journey(j: JourneyView, reload: Reload) -> impl IntoView {
    let submitted = j.sections.iter().filter(|s| s.submitted_at.is_some()).count();
    let progress = format!("{submitted} of {} sections submitted", j.sections.len());
    let total = score_text(j.score);
    let fill = (j.published && j.access).then(|| {
        let id = j.id;
        let reviews = Reviews {
            mentors: if j.help.reviews { j.help.mentors.clone() } else { Vec::new() },
            upsell: !j.help.reviews && j.prices.iter().any(|p| p.tier.reviews()),
        };
        j.sections
            .clone()
            .into_iter()
            .map(|s| view! { <FillSection journey=id entry=s reviews=reviews.clone() reload=reload/> })
            .collect_view()
    });
    let locked = j.published && !j.access;
    view! {
        <h1>{j.title.clone()}</h1>
        <p>{j.description.clone()}</p>
        <p class="meta">
            {format!("by {} · {progress}", j.creator)}
            {total.map(|t| format!(" · {t}"))}
            {(!j.published).then(|| view! { " · " <span class="badge">"draft"</span> })}
        </p>
        {j.can_edit.then(|| view! { <Builder j=j.clone() reload=reload/> })}
        {j.is_seller.then(|| view! { <TierPrices id=j.id prices=j.prices.clone() fee_bps=j.fee_bps affiliate_bps=j.affiliate_bps/> })}
        {j.is_seller.then(|| view! {
            <HelperPanel id=j.id role=CapabilityRole::Mentor helpers=j.help.mentors.clone() candidates=j.help.mentor_candidates.clone()/>
            <HelperPanel id=j.id role=CapabilityRole::Concierge helpers=j.help.concierges.clone() candidates=j.help.concierge_candidates.clone()/>
        })}
        {match fill {
            Some(sections) => view! { <div class="journey-sections">{sections}</div> }.into_any(),
            None if locked => view! { <BuyTier j=j.clone()/> }.into_any(),
            None => view! { <p class="muted">"Clients can fill this journey in once it is published."</p> }.into_any(),
        }}
        {(j.published && j.access && !j.is_seller).then(|| {
            let upsell = !j.help.sessions_open && j.prices.iter().any(|p| p.tier.sessions());
            view! { <ClientSessions journey=j.id help=j.help.clone() upsell=upsell reload=reload/> }
        })}
        {(j.published && !j.is_seller && j.affiliate_bps > 0).then(|| view! {
            <ShareAndEarn product=format!("journey:{}", j.id) rate_bps=j.affiliate_bps/>
        })}
        {(j.can_edit && !j.submissions.is_empty()).then(|| view! { <Submissions j=j.clone()/> })}
    }
}

/// One section to fill in: its questions as inputs, saved as a draft when an answer changes.
#[component]
fn FillSection(journey: Uuid, entry: SectionView, reviews: Reviews, reload: Reload) -> impl IntoView {
    let SectionView { section, answers, saved_at, submitted_at, score, review } = entry;
    let heading_id = format!("section-{}-h", section.id);
    let labelled_by = heading_id.clone();
    if let Some(at) = submitted_at {
        let rows = section
            .fields
            .iter()
            .map(|f| {
                let answer = answers.get(&f.id).cloned().unwrap_or_else(|| "—".into());
                view! { <dt>{f.label.clone()}</dt><dd class="answer">{answer}</dd> }
            })
            .collect_view();
        return view! {
            <section class="card" aria-labelledby=labelled_by>
                <h2 id=heading_id>{section.title.clone()}</h2>
                <p role="status">"Submitted " <LocalTime at=at/> {score_text(score).map(|s| format!(" · {s}"))}</p>
                <dl class="answers">{rows}</dl>
                <SectionReview journey=journey section=section.id.clone() title=section.title.clone()
                    review=review reviews=reviews reload=reload/>
            </section>
        }
        .into_any();
    }
    let values: Vec<(Field, RwSignal<String>)> = section
        .fields
        .iter()
        .map(|f| (f.clone(), RwSignal::new(answers.get(&f.id).cloned().unwrap_or_default())))
        .collect();
    let problems = RwSignal::new(Vec::<FieldProblem>::new());
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(saved_at);
    let collect = {
        let values = values.clone();
        move || values.iter().map(|(f, v)| (f.id.clone(), v.get_untracked())).collect::<BTreeMap<_, _>>()
    };
    let section_id = section.id.clone();
    let save = {
        let section_id = section_id.clone();
        Action::new(move |(answers, submit): &(BTreeMap<String, String>, bool)| {
            save_answers(journey, section_id.clone(), answers.clone(), *submit)
        })
    };
    // Saving as answers change runs on its own: it never disables the buttons (a click that
    // blurs a field would land on a disabled button) and its failures stay quiet — the one it
    // meets most is racing a submission that just made the section final.
    let draft = Action::new(move |answers: &BTreeMap<String, String>| {
        save_answers(journey, section_id.clone(), answers.clone(), false)
    });
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = draft.value().get() {
            saved.set(Some(outcome.saved_at));
        }
    });
    Effect::new(move |_| {
        let Some(result) = save.value().get() else { return };
        match result {
            Ok(outcome) if outcome.submitted_at.is_some() => reload.now(),
            Ok(outcome) => {
                saved.set(Some(outcome.saved_at));
                problems.set(outcome.problems);
                error.set(None);
            }
            Err(err) => error.set(Some(err)),
        }
    });
    let autosave = {
        let collect = collect.clone();
        move |_| {
            draft.dispatch(collect());
        }
    };
    let submit = {
        let collect = collect.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            save.dispatch((collect(), true));
        }
    };
    let form_name = section.title.clone();
    let inputs = values
        .into_iter()
        .map(|(field, value)| {
            let field_id = field.id.clone();
            let message = Signal::derive(move || {
                problems.with(|p| p.iter().find(|p| p.field == field_id).map(|p| p.message.clone()))
            });
            view! { <AnswerInput prefix=format!("j-{}", section.id) field=field value=value message=message/> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading_id>{section.title.clone()}</h2>
            {(!section.description.is_empty()).then(|| view! { <p>{section.description.clone()}</p> })}
            <form aria-label=form_name on:submit=submit on:change=autosave novalidate=true>
                {inputs}
                <p role="alert" class="form-error">{move || {
                    let count = problems.with(Vec::len);
                    match count {
                        0 => None,
                        1 => Some("One answer needs attention before this section can be submitted.".to_owned()),
                        n => Some(format!("{n} answers need attention before this section can be submitted.")),
                    }
                }}</p>
                <ErrorNotice error=error/>
                <p class="muted" role="status">{move || saved.get().map(|at| view! { "Draft saved " <LocalTime at=at/> })}</p>
                <div class="actions">
                    <button type="button" class="secondary" disabled=move || save.pending().get()
                        on:click={
                            let collect = collect.clone();
                            move |_| { save.dispatch((collect(), false)); }
                        }>"Save draft"</button>
                    <button type="submit" disabled=move || save.pending().get()>"Submit section"</button>
                </div>
            </form>
        </section>
    }
    .into_any()
}

/// The input for one question, by its kind, with its problem below it.
#[component]
fn AnswerInput(
    prefix: String,
    field: Field,
    value: RwSignal<String>,
    message: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("{prefix}-{}", field.id);
    let error_id = format!("{id}-error");
    let help_id = format!("{id}-help");
    let described = if field.help.is_empty() { error_id.clone() } else { format!("{help_id} {error_id}") };
    let label = if field.required { format!("{} (required)", field.label) } else { field.label.clone() };
    let invalid = move || if message.get().is_some() { "true" } else { "false" };
    let help =
        || (!field.help.is_empty()).then(|| view! { <p class="hint" id=help_id.clone()>{field.help.clone()}</p> });
    let error = || view! { <p class="field-error" id=error_id.clone() aria-live="polite">{move || message.get()}</p> };
    let options: Vec<String> = field.options.iter().map(|o| o.label.clone()).collect();
    let text_input = |kind: &'static str| {
        view! {
            <div class="field">
                <label for=id.clone()>{label.clone()}</label>
                {help()}
                <input id=id.clone() type=kind bind:value=value aria-invalid=invalid aria-describedby=described.clone()/>
                {error()}
            </div>
        }
        .into_any()
    };
    let group = |choices: Vec<String>, multiple: bool| {
        let name = id.clone();
        let items = choices
            .into_iter()
            .enumerate()
            .map(|(n, choice)| {
                let option_id = format!("{name}-{n}");
                let is_on = {
                    let choice = choice.clone();
                    move || value.with(|v| v.lines().any(|l| l == choice))
                };
                let toggle = {
                    let choice = choice.clone();
                    move |ev: leptos::ev::Event| {
                        let on = event_target_checked(&ev);
                        value.update(|v| {
                            let mut chosen: Vec<String> = if multiple {
                                v.lines().map(str::to_owned).filter(|l| *l != choice).collect()
                            } else {
                                Vec::new()
                            };
                            if on {
                                chosen.push(choice.clone());
                            }
                            *v = chosen.join("\n");
                        });
                    }
                };
                view! {
                    <div class="field checkbox">
                        <input type=if multiple { "checkbox" } else { "radio" } id=option_id.clone() name=name.clone()
                            value=choice.clone() prop:checked=is_on on:change=toggle/>
                        <label for=option_id>{choice.clone()}</label>
                    </div>
                }
            })
            .collect_view();
        view! {
            <fieldset class="field" aria-describedby=described.clone()>
                <legend>{label.clone()}</legend>
                {help()}
                {items}
                {error()}
            </fieldset>
        }
        .into_any()
    };
    let select = |choices: Vec<String>| {
        view! {
            <div class="field">
                <label for=id.clone()>{label.clone()}</label>
                {help()}
                <select id=id.clone() bind:value=value aria-invalid=invalid aria-describedby=described.clone()>
                    <option value="">"Choose…"</option>
                    {choices.into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                </select>
                {error()}
            </div>
        }
        .into_any()
    };
    match field.kind {
        FieldKind::ShortText => text_input("text"),
        // Text, not `number`: what was typed is kept and checked, never silently dropped.
        FieldKind::Number => text_input("text"),
        FieldKind::Email => text_input("email"),
        FieldKind::Url => text_input("url"),
        FieldKind::Phone => text_input("tel"),
        FieldKind::Date => text_input("date"),
        FieldKind::Time => text_input("time"),
        FieldKind::LongText => view! {
            <div class="field">
                <label for=id.clone()>{label.clone()}</label>
                {help()}
                <textarea id=id.clone() rows=4 bind:value=value aria-invalid=invalid aria-describedby=described.clone()></textarea>
                {error()}
            </div>
        }
        .into_any(),
        FieldKind::Checkbox => view! {
            <div class="field checkbox">
                <input type="checkbox" id=id.clone() aria-invalid=invalid aria-describedby=described.clone()
                    prop:checked=move || value.with(|v| v == "checked")
                    on:change=move |ev| value.set(if event_target_checked(&ev) { "checked".into() } else { String::new() })/>
                <label for=id.clone()>{label.clone()}</label>
                {help()}
                {error()}
            </div>
        }
        .into_any(),
        FieldKind::YesNo => group(vec!["Yes".into(), "No".into()], false),
        FieldKind::SingleChoice => group(options, false),
        FieldKind::MultipleChoice => group(options, true),
        FieldKind::Dropdown => select(options),
        FieldKind::Scale | FieldKind::Rating => {
            let (low, high) = field.kind.range().unwrap_or((1, 10));
            select((low..=high).map(|n| n.to_string()).collect())
        }
    }
}

/// The editors' side: settings, sections and their questions.
#[component]
fn Builder(j: JourneyView, reload: Reload) -> impl IntoView {
    let id = j.id;
    let revision = j.revision;
    let title = RwSignal::new(j.title.clone());
    let description = RwSignal::new(j.description.clone());
    let published = RwSignal::new(j.published);
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let save = Action::new(move |_: &()| {
        update_journey(id, revision, title.get_untracked(), description.get_untracked(), published.get_untracked())
    });
    let delete = Action::new(move |_: &()| delete_journey(id));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => navigate("/journeys", Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let count = j.sections.len();
    let sections = j
        .sections
        .iter()
        .enumerate()
        .map(|(at, s)| {
            view! {
                <BuildSection journey=id revision=revision entry=s.clone() first=at == 0 last=at + 1 == count reload=reload/>
            }
        })
        .collect_view();
    view! {
        <section class="card builder" aria-labelledby="journey-builder-h">
            <h2 id="journey-builder-h">"Build this journey"</h2>
            <form aria-label="Journey settings" on:submit=move |ev| { ev.prevent_default(); error.set(None); save.dispatch(()); }>
                <div class="field">
                    <label for="journey-title">"Journey title"</label>
                    <input id="journey-title" bind:value=title aria-describedby="journey-title-error"/>
                    <p class="field-error" id="journey-title-error" aria-live="polite">{error_for(error, "title")}</p>
                </div>
                <div class="field">
                    <label for="journey-description">"What it helps with"</label>
                    <textarea id="journey-description" rows=2 bind:value=description aria-describedby="journey-description-error"></textarea>
                    <p class="field-error" id="journey-description-error" aria-live="polite">{error_for(error, "description")}</p>
                </div>
                <div class="field checkbox">
                    <input type="checkbox" id="journey-published" bind:checked=published aria-describedby="journey-published-error"/>
                    <label for="journey-published">"Published: members can fill it in"</label>
                </div>
                <p class="field-error" id="journey-published-error" aria-live="polite">{error_for(error, "published")}</p>
                <ErrorNotice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })))/>
                <div class="actions">
                    <button type="submit" disabled=move || save.pending().get()>"Save journey"</button>
                    <button type="button" class="danger" on:click=move |_| { delete.dispatch(()); }>"Delete journey"</button>
                </div>
            </form>
            {sections}
            <NewSection journey=id revision=revision reload=reload/>
        </section>
    }
}

#[component]
fn BuildSection(
    journey: Uuid,
    revision: i64,
    entry: SectionView,
    first: bool,
    last: bool,
    reload: Reload,
) -> impl IntoView {
    let section = entry.section;
    let error = RwSignal::new(None::<AppError>);
    let section_id = section.id.clone();
    let remove = Action::new(move |field: &Option<String>| {
        let section = section_id.clone();
        let field = field.clone();
        async move {
            match field {
                Some(field) => remove_field(journey, revision, section, field).await,
                None => remove_section(journey, revision, section).await,
            }
        }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(_)) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let section_id = section.id.clone();
    let shift = Action::new(move |(field, up): &(Option<String>, bool)| {
        move_item(journey, revision, section_id.clone(), field.clone(), *up)
    });
    Effect::new(move |_| match shift.value().get() {
        Some(Ok(_)) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let count = section.fields.len();
    let fields = section
        .fields
        .iter()
        .enumerate()
        .map(|(at, f)| {
            let mut facts = vec![f.kind.label().to_owned()];
            if f.required {
                facts.push("required".into());
            }
            if f.scored {
                facts.push("scored".into());
            }
            if !f.options.is_empty() {
                facts.push(f.options.iter().map(|o| o.label.clone()).collect::<Vec<_>>().join(", "));
            }
            let field_id = f.id.clone();
            let (up_id, down_id) = (f.id.clone(), f.id.clone());
            let editing = RwSignal::new(false);
            let form = f.clone();
            let (section, title) = (section.id.clone(), section.title.clone());
            view! {
                <li>
                    <span>{f.label.clone()}</span>
                    <span class="meta">{format!(" · {}", facts.join(" · "))}</span>
                    <span class="actions">
                        <button type="button" class="small secondary" aria-label=format!("Edit question {}", f.label)
                            aria-expanded=move || editing.get().to_string()
                            on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                        <button type="button" class="small secondary" aria-label=format!("Move question {} up", f.label)
                            disabled=at == 0 on:click=move |_| { shift.dispatch((Some(up_id.clone()), true)); }>"Up"</button>
                        <button type="button" class="small secondary" aria-label=format!("Move question {} down", f.label)
                            disabled=at + 1 == count on:click=move |_| { shift.dispatch((Some(down_id.clone()), false)); }>"Down"</button>
                        <button type="button" class="small secondary" aria-label=format!("Remove question {}", f.label)
                            on:click=move |_| { remove.dispatch(Some(field_id.clone())); }>"Remove"</button>
                    </span>
                    <Show when=move || editing.get()>
                        <FieldForm journey=journey revision=revision section=section.clone() title=title.clone()
                            existing=Some(form.clone()) reload=reload/>
                    </Show>
                </li>
            }
        })
        .collect_view();
    let heading_id = format!("build-{}-h", section.id);
    let labelled_by = heading_id.clone();
    view! {
        <section class="build-section" aria-labelledby=labelled_by>
            <h3 id=heading_id>{format!("Section: {}", section.title)}</h3>
            {(!section.description.is_empty()).then(|| view! { <p>{section.description.clone()}</p> })}
            {if section.fields.is_empty() {
                view! { <p class="muted">"No questions yet."</p> }.into_any()
            } else {
                view! { <ol aria-label=format!("Questions of {}", section.title)>{fields}</ol> }.into_any()
            }}
            <ErrorNotice error=error/>
            <div class="actions">
                <button type="button" class="small secondary" aria-label=format!("Move section {} up", section.title)
                    disabled=first on:click=move |_| { shift.dispatch((None, true)); }>"Move section up"</button>
                <button type="button" class="small secondary" aria-label=format!("Move section {} down", section.title)
                    disabled=last on:click=move |_| { shift.dispatch((None, false)); }>"Move section down"</button>
                <button type="button" class="small danger" aria-label=format!("Remove section {}", section.title)
                    on:click=move |_| { remove.dispatch(None); }>"Remove section"</button>
            </div>
            <FieldForm journey=journey revision=revision section=section.id.clone() title=section.title.clone() existing=None reload=reload/>
        </section>
    }
}

/// The form for a new question of a section, or (`existing`) for changing one in place.
#[component]
fn FieldForm(
    journey: Uuid,
    revision: i64,
    section: String,
    title: String,
    existing: Option<Field>,
    reload: Reload,
) -> impl IntoView {
    let start = existing.as_ref().map(|f| FieldInput {
        label: f.label.clone(),
        kind: f.kind.as_str().to_owned(),
        required: f.required,
        help: f.help.clone(),
        options: options_text(&f.options),
        scored: f.scored,
    });
    let start = start.unwrap_or(FieldInput { kind: FieldKind::ShortText.as_str().to_owned(), ..Default::default() });
    let label = RwSignal::new(start.label);
    let kind = RwSignal::new(start.kind);
    let required = RwSignal::new(start.required);
    let options = RwSignal::new(start.options);
    let help = RwSignal::new(start.help);
    let scored = RwSignal::new(start.scored);
    let error = RwSignal::new(None::<AppError>);
    let editing = existing.as_ref().map(|f| f.id.clone());
    let key = match &editing {
        Some(field) => format!("ef-{section}-{field}"),
        None => format!("nf-{section}"),
    };
    let (name, button) = match &existing {
        Some(f) => (format!("Edit question {}", f.label), "Save question"),
        None => (format!("Add a question to {title}"), "Add question"),
    };
    let add = Action::new(move |input: &FieldInput| {
        let (section, editing, input) = (section.clone(), editing.clone(), input.clone());
        async move {
            match editing {
                Some(field) => update_field(journey, revision, section, field, input).await,
                None => add_field(journey, revision, section, input).await,
            }
        }
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(_)) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        add.dispatch(FieldInput {
            label: label.get_untracked(),
            kind: kind.get_untracked(),
            required: required.get_untracked(),
            help: help.get_untracked(),
            options: options.get_untracked(),
            scored: scored.get_untracked(),
        });
    };
    let with_options = move || FieldKind::parse(&kind.get()).is_ok_and(FieldKind::has_options);
    let scorable = move || FieldKind::parse(&kind.get()).is_ok_and(FieldKind::scorable);
    let id = move |name: &str| format!("{key}-{name}");
    view! {
        <form class="new-field" aria-label=name on:submit=submit>
            <div class="field">
                <label for=id("label")>"Question"</label>
                <input id=id("label") bind:value=label aria-describedby=id("label-error")/>
                <p class="field-error" id=id("label-error") aria-live="polite">{error_for(error, "label")}</p>
            </div>
            <div class="field">
                <label for=id("kind")>"Answer type"</label>
                <select id=id("kind") bind:value=kind>
                    {FieldKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
                <p class="field-error" aria-live="polite">{error_for(error, "kind")}</p>
            </div>
            <div class="field" hidden=move || !with_options()>
                <label for=id("options")>"Options, one per line"</label>
                <p class="hint" id=id("options-hint")>"Add points after a bar to score an option: “Often | 3”."</p>
                <textarea id=id("options") rows=3 bind:value=options aria-describedby=format!("{} {}", id("options-hint"), id("options-error"))></textarea>
                <p class="field-error" id=id("options-error") aria-live="polite">{error_for(error, "options")}</p>
            </div>
            <div class="field">
                <label for=id("help")>"Help text (optional)"</label>
                <input id=id("help") bind:value=help aria-describedby=id("help-error")/>
                <p class="field-error" id=id("help-error") aria-live="polite">{error_for(error, "help")}</p>
            </div>
            <div class="field checkbox">
                <input type="checkbox" id=id("required") bind:checked=required/>
                <label for=id("required")>"An answer is required"</label>
            </div>
            <div class="field checkbox" hidden=move || !scorable()>
                <input type="checkbox" id=id("scored") bind:checked=scored/>
                <label for=id("scored")>"Counts towards the score"</label>
            </div>
            <ErrorNotice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })))/>
            <button type="submit" disabled=move || add.pending().get()>{button}</button>
        </form>
    }
}

#[component]
fn NewSection(journey: Uuid, revision: i64, reload: Reload) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let add = Action::new(move |(title, description): &(String, String)| {
        add_section(journey, revision, title.clone(), description.clone())
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(_)) => reload.now(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        add.dispatch((title.get_untracked(), description.get_untracked()));
    };
    view! {
        <form class="new-section" aria-label="Add a section" on:submit=submit>
            <h3>"Add a section"</h3>
            <div class="field">
                <label for="new-section-title">"Section title"</label>
                <input id="new-section-title" bind:value=title aria-describedby="new-section-title-error"/>
                <p class="field-error" id="new-section-title-error" aria-live="polite">{error_for(error, "section_title")}</p>
            </div>
            <div class="field">
                <label for="new-section-description">"Section introduction (optional)"</label>
                <textarea id="new-section-description" rows=2 bind:value=description aria-describedby="new-section-description-error"></textarea>
                <p class="field-error" id="new-section-description-error" aria-live="polite">{error_for(error, "section_description")}</p>
            </div>
            <ErrorNotice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })))/>
            <button type="submit" disabled=move || add.pending().get()>"Add section"</button>
        </form>
    }
}

/// Every submitted section, newest first, for the journey's editors.
#[component]
fn Submissions(j: JourneyView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="submissions-h">
            <h2 id="submissions-h">"Submissions"</h2>
            <div class="table-scroll">
                <table>
                    <caption class="visually-hidden">"Submitted sections"</caption>
                    <thead><tr><th scope="col">"Client"</th><th scope="col">"Section"</th><th scope="col">"Submitted"</th><th scope="col">"Score"</th><th scope="col">"Answers"</th></tr></thead>
                    <tbody>
                        {j.submissions.into_iter().map(|s| view! {
                            <tr>
                                <td>{s.client.clone()}</td>
                                <td>{s.section.clone()}</td>
                                <td><LocalTime at=s.submitted_at/></td>
                                <td>{score_text(s.score).unwrap_or_else(|| "—".into())}</td>
                                <td>
                                    <dl class="answers">
                                        {s.answers.into_iter().map(|(q, a)| view! { <dt>{q}</dt><dd class="answer">{if a.is_empty() { "—".to_owned() } else { a }}</dd> }).collect_view()}
                                    </dl>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// What a client who has not bought a tier sees: the sections inside and a buy button per tier
/// and interval, with a promo code.
#[component]
fn BuyTier(j: JourneyView) -> impl IntoView {
    let promo = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let start = Action::new(move |(product, promo): &(String, String)| {
        let (product, promo) = (product.clone(), promo.clone());
        async move { start_checkout(product, String::new(), promo).await }
    });
    Effect::new(move |_| match start.value().get() {
        Some(Ok(c)) => open_checkout(&c, &navigate),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let tiers = Tier::ALL
        .into_iter()
        .filter(|t| j.prices.iter().any(|p| p.tier == *t))
        .map(|tier| {
            let buttons = j
                .prices
                .iter()
                .filter(|p| p.tier == tier)
                .map(|p| {
                    let every = match p.interval {
                        Interval::Month => "a month",
                        Interval::Year => "a year",
                    };
                    let name = format!("Buy {} for {} {every}", tier.label(), format_money(p.amount));
                    let product = p.product.clone();
                    view! {
                        <button type="button" disabled=move || start.pending().get()
                            on:click=move |_| { error.set(None); start.dispatch((product.clone(), promo.get_untracked())); }>
                            {name}
                        </button>
                    }
                })
                .collect_view();
            view! {
                <li class="card">
                    <h3>{tier.label()}</h3>
                    <p>{tier.promise()}</p>
                    <div class="actions">{buttons}</div>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="journey-buy-h">
            <h2 id="journey-buy-h">"Choose a tier"</h2>
            <p>"This journey is sold in tiers; any tier opens every section."</p>
            <p>"Inside: " {j.sections.iter().map(|s| s.section.title.clone()).collect::<Vec<_>>().join(" · ")}</p>
            <div class="field">
                <label for="journey-promo">"Promo code"</label>
                <input id="journey-promo" bind:value=promo aria-describedby="journey-promo-error" autocomplete="off"/>
                <p class="field-error" id="journey-promo-error" aria-live="polite">{error_for(error, "promo_code")}</p>
            </div>
            <ul class="tier-list" aria-label="Tiers">{tiers}</ul>
            <ErrorNotice error=general(error)/>
        </section>
    }
}

/// The creator's tier prices: each tier monthly and yearly, with what a sale gives the client,
/// the platform and the creator, as they type.
#[component]
fn TierPrices(id: Uuid, prices: Vec<TierPrice>, fee_bps: u32, affiliate_bps: u32) -> impl IntoView {
    // Affiliates earn from sales: their commission is set once a tier is on sale.
    let on_sale = RwSignal::new(!prices.is_empty());
    let cells: Vec<(Tier, Interval, RwSignal<String>)> = Tier::ALL
        .into_iter()
        .flat_map(|tier| [Interval::Month, Interval::Year].map(|interval| (tier, interval)))
        .map(|(tier, interval)| {
            let now = prices.iter().find(|p| p.tier == tier && p.interval == interval);
            let text = now.map(|p| format!("{}.{:02}", p.amount / 100, p.amount % 100)).unwrap_or_default();
            (tier, interval, RwSignal::new(text))
        })
        .collect();
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let form = cells.clone();
    let save = Action::new(move |_: &()| {
        let input: Vec<TierPriceInput> = form
            .iter()
            .map(|(tier, interval, amount)| TierPriceInput {
                tier: *tier,
                interval: *interval,
                amount: amount.get_untracked(),
            })
            .collect();
        set_journey_prices(id, input)
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(now)) => {
            error.set(None);
            on_sale.set(!now.is_empty());
            saved.set(Some(if now.is_empty() {
                "Not for sale: every member can fill it in.".into()
            } else {
                format!("Tier prices saved: {} on sale.", now.len())
            }));
        }
        Some(Err(e)) => {
            saved.set(None);
            error.set(Some(e));
        }
        None => {}
    });
    let share_bps = 10_000 - fee_bps.min(10_000);
    let fee = format!("{}%", f64::from(fee_bps) / 100.0);
    let breakdown_cells = cells.clone();
    let breakdown = move || {
        breakdown_cells
            .iter()
            .filter_map(|(tier, interval, amount)| {
                let cents = parse_money(&amount.get()).ok()?;
                let b = sale_breakdown(cents, 0, share_bps, 0);
                Some(view! {
                    <li>{format!(
                        "{} {}: the client pays {}; the platform fee is {}; you receive {}.",
                        tier.label(),
                        if *interval == Interval::Month { "monthly" } else { "yearly" },
                        format_money(b.gross),
                        format_money(b.platform_fee),
                        format_money(b.seller),
                    )}</li>
                })
            })
            .collect_view()
    };
    let inputs = cells
        .into_iter()
        .map(|(tier, interval, amount)| {
            let field = price_field(tier, interval);
            let input_id = format!("journey-{}", field.replace('_', "-"));
            let error_id = format!("{input_id}-error");
            let described = error_id.clone();
            let label_for = input_id.clone();
            let every = if interval == Interval::Month { "monthly" } else { "yearly" };
            view! {
                <div class="field">
                    <label for=label_for>{format!("{} {every} price", tier.label())}</label>
                    <input id=input_id inputmode="decimal" bind:value=amount aria-describedby=described/>
                    <p class="field-error" id=error_id aria-live="polite">
                        {move || error.get().and_then(|e| e.field_message(&field))}
                    </p>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="journey-prices-h">
            <h2 id="journey-prices-h">"Tier prices"</h2>
            <p class="hint">{format!(
                "Sell this journey in tiers, in dollars; leave a price empty not to sell it. With no price, every member fills it in for free. The platform fee is {fee} of each sale, before payment processing."
            )}</p>
            <form aria-label="Tier prices" on:submit=move |ev| { ev.prevent_default(); saved.set(None); save.dispatch(()); }>
                <div class="tier-grid">{inputs}</div>
                <ul id="journey-price-breakdown" aria-live="polite" aria-label="What each sale gives">{breakdown}</ul>
                <ErrorNotice error=general(error)/>
                <p role="status" class="form-success">{move || saved.get()}</p>
                <button type="submit" disabled=move || save.pending().get()>"Save tier prices"</button>
            </form>
            {move || on_sale.get().then(|| {
                let save = Action::new(move |percent: &String| set_journey_affiliate_rate(id, percent.clone()));
                view! { <AffiliateRate rate_bps=affiliate_bps save=save/> }
            })}
        </section>
    }
}
