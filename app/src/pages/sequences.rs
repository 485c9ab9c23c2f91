//! `/sequences`: the sequences a member sees, and new ones from a template. `/sequences/:id`: the
//! builder for its creator (steps as an ordered list and as a flow, a side panel for the selected
//! step, validation on the step concerned, a simulator, publishing), an overview with the
//! subscribe form for everyone else.

use super::SignedIn;
use crate::api::sequences::{
    PreferencesInput, SequenceDetail, create_sequence, migrate_subscribers, publish_sequence, save_as_template,
    save_sequence, sequence, sequence_templates, sequences, subscribe,
};
use crate::domain::sequence::{
    AnswerKind, BranchRule, CATEGORIES, Condition, Decider, Difficulty, Due, Effect as RunEffect, Graph, Input, Phase,
    Run, Step, StepKind, StepProblem, Test, Trigger as StepTrigger, Visibility, WaitUntil, validate,
};
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use uuid::Uuid;

#[component]
pub fn SequencesPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <SequenceList/> }/> }
}

#[component]
fn SequenceList() -> impl IntoView {
    let list = Resource::new(|| (), |_| sequences());
    let templates = Resource::new(|| (), |_| sequence_templates());
    let title = RwSignal::new(String::new());
    let template = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let create = Action::new(move |(title, template): &(String, String)| {
        let (title, template) = (title.clone(), template.clone());
        async move { create_sequence(title, (!template.is_empty()).then_some(template)).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(id)) => navigate(&format!("/sequences/{id}"), Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if title.get_untracked().trim().is_empty() && template.get_untracked().is_empty() {
            error.set(Some(AppError::validation("title", "Give the sequence a title, or start from a template.")));
            return;
        }
        error.set(None);
        create.dispatch((title.get_untracked(), template.get_untracked()));
    };
    let field_error = move |field: &'static str| {
        move || match error.get() {
            Some(AppError::Validation { field: f, message }) if f == field => Some(message),
            Some(other) if field.is_empty() && !matches!(other, AppError::Validation { .. }) => Some(other.to_string()),
            _ => None,
        }
    };
    view! {
        <section class="page">
            <h1>"Sequences"</h1>
            <p>"Multi-step programs that start conversations on their own, branch on answers and pause for people to decide."</p>
            <div class="card">
                <h2>"New sequence"</h2>
                <form on:submit=on_create>
                    <div class="field">
                        <label for="new-sequence-title">"Title"</label>
                        <input id="new-sequence-title" bind:value=title aria-describedby="new-sequence-title-error"/>
                        <p class="field-error" id="new-sequence-title-error" aria-live="polite">{field_error("title")}</p>
                    </div>
                    <div class="field">
                        <label for="new-sequence-template">"Start from"</label>
                        <Transition fallback=|| view! { <select id="new-sequence-template" disabled=true><option>"Loading templates…"</option></select> }>
                            {move || Suspend::new(async move {
                                let choices = templates.await.unwrap_or_default();
                                view! {
                                    <select id="new-sequence-template" bind:value=template>
                                        <option value="">"A blank sequence"</option>
                                        {choices.into_iter().map(|t| {
                                            let label = if t.builtin { format!("Template: {}", t.title) } else { format!("Your organization's template: {}", t.title) };
                                            view! { <option value=t.id>{label}</option> }
                                        }).collect_view()}
                                    </select>
                                }
                            })}
                        </Transition>
                        <p class="field-error" aria-live="polite">{field_error("template")}</p>
                    </div>
                    <super::billing::ErrorNotice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })))/>
                    <button type="submit" disabled=move || create.pending().get()>"Create sequence"</button>
                </form>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! { <p>"No sequences yet."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="sequence-list">
                                {items.into_iter().map(|s| view! {
                                    <li class="card">
                                        <h2><A href=format!("/sequences/{}", s.id)>{s.title.clone()}</A></h2>
                                        <p>{s.description.clone()}</p>
                                        <p class="meta">
                                            {format!("{} steps · {} · ", s.steps, visibility_label(s.visibility))}
                                            {match s.published_version {
                                                Some(v) if s.draft_changed && s.is_mine => format!("version {v}, draft changed"),
                                                Some(v) => format!("version {v}"),
                                                None => "draft".into(),
                                            }}
                                            {s.subscription.map(|sub| view! { " · " <A href=format!("/inbox/{sub}")>"Subscribed"</A> })}
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

fn visibility_label(v: Visibility) -> &'static str {
    match v {
        Visibility::Private => "private",
        Visibility::Team => "team",
        Visibility::Organization => "organization",
        Visibility::Public => "public",
        Visibility::Premium => "premium",
    }
}

#[component]
pub fn SequencePage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <SequenceView me=me/> }/> }
}

#[component]
fn SequenceView(me: Me) -> impl IntoView {
    let params = use_params_map();
    let id = move || params.get().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let detail = Resource::new(id, |id| async move { sequence(id.ok_or(AppError::NotFound)?).await });
    let timezone = me.timezone.clone();
    view! {
        <Transition fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || {
                let timezone = timezone.clone();
                Suspend::new(async move {
                    match detail.await {
                        Ok(d) if d.can_edit => {
                            let id = d.id;
                            let published = d.published_version.is_some();
                            let premium = d.meta.visibility == crate::domain::sequence::Visibility::Premium;
                            let price = d.price.clone();
                            view! {
                                <Builder detail=d/>
                                <div class="page">
                                    {premium.then(|| view! { <super::billing::PriceEditor id=id price=price/> })}
                                    {published.then(|| view! { <Stats id=id/> })}
                                    <super::assignments::Assignments id=id/>
                                </div>
                            }.into_any()
                        }
                        Ok(d) => {
                            let id = d.id;
                            view! { <Overview detail=d timezone=timezone/><div class="page narrow"><super::assignments::Assignments id=id/></div> }.into_any()
                        }
                        Err(err) => view! { <section class="page"><h1>"Sequence"</h1><p role="alert">{err.to_string()}</p></section> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Per-step completion and drop-off, for the creator of a published sequence.
#[component]
fn Stats(id: Uuid) -> impl IntoView {
    let stats = Resource::new(move || id, crate::api::sequences::sequence_stats);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(s) = stats.await else { return ().into_any() };
                if s.subscribers == 0 {
                    return view! { <section class="card"><h2>"How it is going"</h2><p>"Nobody has subscribed yet."</p></section> }.into_any();
                }
                view! {
                    <section class="card" aria-labelledby="stats-heading">
                        <h2 id="stats-heading">"How it is going"</h2>
                        <p>{format!("{} {}: {} running, {} completed, {} left.", s.subscribers, if s.subscribers == 1 { "subscriber" } else { "subscribers" }, s.active, s.completed, s.left)}</p>
                        <div class="table-scroll">
                            <table>
                                <caption class="visually-hidden">"Per step"</caption>
                                <thead><tr><th scope="col">"Step"</th><th scope="col">"Reached"</th><th scope="col">"Completed"</th><th scope="col">"Completion"</th><th scope="col">"Here now"</th><th scope="col">"Left here"</th></tr></thead>
                                <tbody>
                                    {s.steps.into_iter().map(|st| {
                                        let rate = if st.reached > 0 { format!("{}%", st.completed * 100 / st.reached) } else { "—".into() };
                                        view! {
                                            <tr>
                                                <th scope="row">{st.title}</th>
                                                <td>{st.reached}</td>
                                                <td>{st.completed}</td>
                                                <td>{rate}</td>
                                                <td>{st.here_now}</td>
                                                <td>{st.left_here}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <h3>"People"</h3>
                        <ul class="people">
                            {s.people.into_iter().map(|person| view! {
                                <li>
                                    <A href=format!("/sequences/{id}/people/{}", person.subscription_id)>{person.name}</A>
                                    {format!(" · {}{}", person.status.as_str(), person.current_step.map(|s| format!(" · at {s}")).unwrap_or_default())}
                                </li>
                            }).collect_view()}
                        </ul>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

/// What a subscriber sees before subscribing.
#[component]
fn Overview(detail: SequenceDetail, timezone: String) -> impl IntoView {
    let id = detail.id;
    let affiliate_rate = detail.price.as_ref().map_or(0, |p| p.affiliate_bps);
    view! {
        <section class="page narrow">
            <h1>{detail.meta.title.clone()}</h1>
            <p>{detail.meta.description.clone()}</p>
            <ol class="step-outline">
                {detail.steps.iter().filter(|s| !matches!(s.kind, StepKind::Branch { .. })).map(|s| view! {
                    <li>{format!("{} — {} ({})", s.title, s.kind.label(), s.trigger.describe())}</li>
                }).collect_view()}
            </ol>
            {match detail.subscription {
                Some(sub) => view! { <p><A href=format!("/inbox/{sub}")>"Open your conversation"</A></p> }.into_any(),
                None if detail.locked => view! { <super::billing::BuySequence id=id price=detail.price.clone()/> }.into_any(),
                None => view! { <SubscribeForm id=id timezone=timezone/> }.into_any(),
            }}
            {(affiliate_rate > 0).then(|| view! { <super::billing::ShareAndEarn product=crate::api::billing::sequence_product(id) rate_bps=affiliate_rate/> })}
        </section>
    }
}

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Delivery preferences: timezone, preferred time, days, quiet hours.
#[component]
pub fn PreferencesFields(prefs: PreferencesForm, error: RwSignal<Option<AppError>>) -> impl IntoView {
    let message = move |field: &'static str| {
        move || match error.get() {
            Some(AppError::Validation { field: f, message }) if f == field => Some(message),
            _ => None,
        }
    };
    view! {
        <div class="field">
            <label for="pref-timezone">"Timezone"</label>
            <input id="pref-timezone" bind:value=prefs.timezone aria-describedby="pref-timezone-error"/>
            <p class="field-error" id="pref-timezone-error" aria-live="polite">{message("timezone")}</p>
        </div>
        <div class="field">
            <label for="pref-time">"Preferred time"</label>
            <input id="pref-time" type="time" bind:value=prefs.preferred_time aria-describedby="pref-time-error"/>
            <p class="field-error" id="pref-time-error" aria-live="polite">{message("preferred_time")}</p>
        </div>
        <fieldset class="weekdays">
            <legend>"Days"</legend>
            {WEEKDAYS.iter().enumerate().map(|(i, day)| {
                let i = i as u8;
                view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=move || prefs.days.get().contains(&i)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                prefs.days.update(|d| { d.retain(|x| *x != i); if on { d.push(i); } });
                            }/>
                        {*day}
                    </label>
                }
            }).collect_view()}
            <p class="field-error" aria-live="polite">{message("days")}</p>
        </fieldset>
        <div class="field-row">
            <div class="field">
                <label for="pref-quiet-start">"Quiet hours from"</label>
                <input id="pref-quiet-start" type="time" bind:value=prefs.quiet_start/>
                <p class="field-error" aria-live="polite">{message("quiet_start")}</p>
            </div>
            <div class="field">
                <label for="pref-quiet-end">"Quiet hours until"</label>
                <input id="pref-quiet-end" type="time" bind:value=prefs.quiet_end/>
                <p class="field-error" aria-live="polite">{message("quiet_end")}</p>
            </div>
        </div>
    }
}

/// The signals behind [`PreferencesFields`].
#[derive(Clone, Copy)]
pub struct PreferencesForm {
    pub timezone: RwSignal<String>,
    pub preferred_time: RwSignal<String>,
    pub days: RwSignal<Vec<u8>>,
    pub quiet_start: RwSignal<String>,
    pub quiet_end: RwSignal<String>,
}

impl PreferencesForm {
    pub fn new(p: &crate::domain::schedule::Preferences) -> Self {
        let form = Self {
            timezone: RwSignal::new(String::new()),
            preferred_time: RwSignal::new(String::new()),
            days: RwSignal::new(Vec::new()),
            quiet_start: RwSignal::new(String::new()),
            quiet_end: RwSignal::new(String::new()),
        };
        form.load(p);
        form
    }

    /// Fills the form from saved preferences.
    pub fn load(&self, p: &crate::domain::schedule::Preferences) {
        let time = |t: Option<chrono::NaiveTime>| t.map(|t| t.format("%H:%M").to_string()).unwrap_or_default();
        self.timezone.set(p.timezone.clone());
        self.preferred_time.set(time(p.preferred_time));
        self.days.set(if p.days.is_empty() { (0..7).collect() } else { p.days.clone() });
        self.quiet_start.set(time(p.quiet.map(|q| q.0)));
        self.quiet_end.set(time(p.quiet.map(|q| q.1)));
    }

    pub fn input(&self) -> PreferencesInput {
        PreferencesInput {
            timezone: self.timezone.get_untracked(),
            preferred_time: self.preferred_time.get_untracked(),
            days: self.days.get_untracked(),
            quiet_start: self.quiet_start.get_untracked(),
            quiet_end: self.quiet_end.get_untracked(),
        }
    }
}

#[component]
fn SubscribeForm(id: Uuid, timezone: String) -> impl IntoView {
    let prefs = PreferencesForm::new(&crate::domain::schedule::Preferences { timezone, ..Default::default() });
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let action = Action::new(move |input: &PreferencesInput| {
        let input = input.clone();
        async move { subscribe(id, input).await }
    });
    Effect::new(move |_| match action.value().get() {
        Some(Ok(sub)) => navigate(&format!("/inbox/{sub}"), Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let general = Signal::derive(move || match error.get() {
        Some(AppError::Validation { field, message }) if field == "sequence" => Some(AppError::validation("", message)),
        Some(AppError::Validation { .. }) | None => None,
        Some(other) => Some(other),
    });
    view! {
        <div class="card">
            <h2>"Subscribe"</h2>
            <form on:submit=move |ev| { ev.prevent_default(); error.set(None); action.dispatch(prefs.input()); }>
                <PreferencesFields prefs=prefs error=error/>
                <super::billing::ErrorNotice error=general/>
                <button type="submit" disabled=move || action.pending().get()>"Subscribe"</button>
            </form>
        </div>
    }
}

/// A new step of a kind, with an id unused in `steps`.
fn new_step(kind: &str, steps: &[Step]) -> Step {
    let mut n = steps.len() + 1;
    while steps.iter().any(|s| s.id == format!("step{n}")) {
        n += 1;
    }
    let id = format!("step{n}");
    let kind = match kind {
        "question" => StepKind::Question {
            text: "Your question?".into(),
            answer: AnswerKind::Text,
            variable: format!("answer{n}"),
            remind_after_hours: None,
        },
        "conversation" => StepKind::Conversation {
            goal: "What the conversation is for".into(),
            persona: "You are a supportive coach.".into(),
            opening: "Let's talk about it.".into(),
            max_turns: 3,
            variable: None,
        },
        "wait" => StepKind::Wait {
            until: WaitUntil::Hours { hours: 24 },
            timeout_hours: None,
            nudge: None,
            timeout_next: None,
        },
        "branch" => StepKind::Branch { rules: vec![], otherwise: None },
        "checkpoint" => StepKind::Checkpoint {
            question: "Approve the next step?".into(),
            decider: Decider::Creator,
            options: vec![],
            reject_next: None,
            deadline_hours: 48,
            default_option: None,
        },
        "end" => StepKind::End { outcome: "completed".into() },
        _ => StepKind::Message { text: "Your message".into() },
    };
    let title = kind.label().to_owned();
    Step { id, title, trigger: StepTrigger::Completion, kind, next: None }
}

#[component]
fn Builder(detail: SequenceDetail) -> impl IntoView {
    let id = detail.id;
    let meta = RwSignal::new(detail.meta.clone());
    let steps = RwSignal::new(detail.steps.clone());
    let problems = RwSignal::new(detail.problems.clone());
    let selected = RwSignal::new(detail.steps.first().map(|s| s.id.clone()));
    let version = RwSignal::new(detail.published_version);
    let status = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let new_kind = RwSignal::new("message".to_owned());
    let dragging = RwSignal::new(None::<usize>);

    // Validation runs in the browser as the creator edits, with the server's rules.
    Effect::new(move |_| problems.set(validate(&steps.get())));

    let save = Action::new(move |publish: &bool| {
        let publish = *publish;
        let (m, s) = (meta.get_untracked(), steps.get_untracked());
        async move {
            save_sequence(id, m, s).await?;
            if publish { publish_sequence(id).await.map(Some) } else { Ok(None) }
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(Some(v))) => {
            version.set(Some(v));
            error.set(None);
            status.set(format!("Published version {v}."));
        }
        Some(Ok(None)) => {
            error.set(None);
            status.set("Draft saved.".into());
        }
        Some(Err(e)) => {
            status.set(String::new());
            error.set(Some(e));
        }
        None => {}
    });

    let migrate = Action::new(move |_: &()| async move { migrate_subscribers(id).await });
    let is_template = detail.is_template;
    let as_template = Action::new(move |_: &()| async move {
        save_sequence(id, meta.get_untracked(), steps.get_untracked()).await?;
        save_as_template(id).await
    });
    Effect::new(move |_| match as_template.value().get() {
        Some(Ok(_)) => {
            error.set(None);
            status.set("Saved as a template: new sequences can start from it.".into());
        }
        Some(Err(e)) => {
            status.set(String::new());
            error.set(Some(e));
        }
        None => {}
    });
    let move_step = move |from: usize, to: usize| {
        steps.update(|s| {
            if from < s.len() && to < s.len() {
                let step = s.remove(from);
                s.insert(to, step);
            }
        });
    };
    let meta_error = move |field: &'static str| {
        move || match error.get() {
            Some(AppError::Validation { field: f, message }) if f == field => Some(message),
            _ => None,
        }
    };
    let general_error = move || match error.get() {
        Some(AppError::Validation { field, message }) if field.starts_with("step") => Some(message),
        Some(AppError::Validation { .. }) | None => None,
        Some(other) => Some(other.to_string()),
    };

    view! {
        <section class="page builder">
            <h1>{move || meta.with(|m| m.title.clone())}</h1>
            {is_template.then(|| view! { <p class="notice">"A template: new sequences in your organization can start from it. It is never published itself."</p> })}
            <p class="meta">{move || match version.get() { Some(v) => format!("Published version {v}. Editing the draft of the next."), None => "Draft, not published yet.".into() }}</p>
            <details class="card">
                <summary>"Details"</summary>
                <div class="field">
                    <label for="seq-title">"Title"</label>
                    <input id="seq-title" prop:value=move || meta.with(|m| m.title.clone())
                        on:input=move |ev| meta.update(|m| m.title = event_target_value(&ev))/>
                    <p class="field-error" aria-live="polite">{meta_error("title")}</p>
                </div>
                <div class="field">
                    <label for="seq-description">"Description"</label>
                    <textarea id="seq-description" rows="3" prop:value=move || meta.with(|m| m.description.clone())
                        on:input=move |ev| meta.update(|m| m.description = event_target_value(&ev))></textarea>
                    <p class="field-error" aria-live="polite">{meta_error("description")}</p>
                </div>
                <div class="field">
                    <label for="seq-category">"Category"</label>
                    <input id="seq-category" list="seq-categories" prop:value=move || meta.with(|m| m.category.clone())
                        on:input=move |ev| meta.update(|m| m.category = event_target_value(&ev))/>
                    <datalist id="seq-categories">{CATEGORIES.iter().map(|c| view! { <option value=*c/> }).collect_view()}</datalist>
                </div>
                <div class="field">
                    <label for="seq-visibility">"Visibility"</label>
                    <select id="seq-visibility" on:change=move |ev| {
                        if let Some(v) = Visibility::parse(&event_target_value(&ev)) { meta.update(|m| m.visibility = v); }
                    }>
                        {[Visibility::Private, Visibility::Team, Visibility::Organization, Visibility::Public, Visibility::Premium].into_iter().map(|v| view! {
                            <option value=v.as_str() selected=move || meta.with(|m| m.visibility == v)>{visibility_label(v)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="seq-difficulty">"Difficulty"</label>
                    <select id="seq-difficulty" on:change=move |ev| {
                        if let Some(d) = Difficulty::parse(&event_target_value(&ev)) { meta.update(|m| m.difficulty = d); }
                    }>
                        {[Difficulty::Beginner, Difficulty::Intermediate, Difficulty::Advanced].into_iter().map(|d| view! {
                            <option value=d.as_str() selected=move || meta.with(|m| m.difficulty == d)>{d.as_str()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="seq-minutes">"Estimated minutes"</label>
                    <input id="seq-minutes" type="number" min="0" prop:value=move || meta.with(|m| m.estimated_minutes.to_string())
                        on:input=move |ev| meta.update(|m| m.estimated_minutes = event_target_value(&ev).parse().unwrap_or(0))/>
                    <p class="field-error" aria-live="polite">{meta_error("estimated_minutes")}</p>
                </div>
            </details>
            <div class="builder-grid">
                <section aria-labelledby="steps-heading">
                    <h2 id="steps-heading">"Steps"</h2>
                    <ol class="step-list">
                        {move || steps.get().into_iter().enumerate().map(|(index, step)| {
                                let sid = step.id.clone();
                                let sid_select = sid.clone();
                                let sid_problems = sid.clone();
                                let sid_dup = sid.clone();
                                let title = step.title.clone();
                                let is_selected = { let sid = sid.clone(); Signal::derive(move || selected.get().as_deref() == Some(sid.as_str())) };
                                let step_problems = move || problems.with(|ps| ps.iter().filter(|p| p.step.as_deref() == Some(sid_problems.as_str())).map(|p| p.message.clone()).collect::<Vec<_>>());
                                view! {
                                    <li class="step-item" class:selected=is_selected draggable="true"
                                        on:dragstart=move |_| dragging.set(Some(index))
                                        on:dragover=move |ev| ev.prevent_default()
                                        on:drop=move |ev| { ev.prevent_default(); if let Some(from) = dragging.get_untracked() { move_step(from, index); } dragging.set(None); }>
                                        <button type="button" class="step-select" aria-pressed=move || is_selected.get().to_string()
                                            on:click=move |_| selected.set(Some(sid_select.clone()))>
                                            <span class="step-kind">{step.kind.label()}</span>" "{title.clone()}
                                        </button>
                                        <span class="step-when">{step.trigger.describe()}</span>
                                        <span class="step-actions">
                                            <button type="button" class="small" aria-label=format!("Move {title} up") disabled=index == 0 on:click=move |_| move_step(index, index.saturating_sub(1))>"↑"</button>
                                            <button type="button" class="small" aria-label=format!("Move {title} down") on:click=move |_| move_step(index, index + 1)>"↓"</button>
                                            <button type="button" class="small" aria-label=format!("Duplicate {title}") on:click=move |_| steps.update(|s| {
                                                if let Some(original) = s.iter().find(|x| x.id == sid_dup).cloned() {
                                                    let mut copy = new_step("message", s);
                                                    copy.kind = original.kind.clone();
                                                    copy.trigger = original.trigger.clone();
                                                    copy.title = format!("{} (copy)", original.title);
                                                    s.insert(index + 1, copy);
                                                }
                                            })>"⧉"</button>
                                            <button type="button" class="small danger" aria-label=format!("Delete {title}") on:click=move |_| steps.update(|s| { if index < s.len() { s.remove(index); } })>"✕"</button>
                                        </span>
                                        {move || {
                                            let ps = step_problems();
                                            (!ps.is_empty()).then(|| view! { <ul class="step-problems" role="list">{ps.into_iter().map(|p| view! { <li class="field-error">{p}</li> }).collect_view()}</ul> })
                                        }}
                                    </li>
                                }
                        }).collect_view()}
                    </ol>
                    <div class="field-row">
                        <div class="field">
                            <label for="new-step-kind">"New step"</label>
                            <select id="new-step-kind" bind:value=new_kind>
                                <option value="message">"Message"</option>
                                <option value="question">"Question"</option>
                                <option value="conversation">"AI conversation"</option>
                                <option value="wait">"Wait"</option>
                                <option value="branch">"Branch"</option>
                                <option value="checkpoint">"Checkpoint"</option>
                                <option value="end">"End"</option>
                            </select>
                        </div>
                        <button type="button" on:click=move |_| {
                            let kind = new_kind.get_untracked();
                            steps.update(|s| { let step = new_step(&kind, s); selected.set(Some(step.id.clone())); s.push(step); });
                        }>"Add step"</button>
                    </div>
                    {move || problems.with(|ps| ps.iter().filter(|p| p.step.is_none()).map(|p| view! { <p class="field-error">{p.message.clone()}</p> }).collect_view())}
                </section>
                <StepPanel steps=steps selected=selected problems=problems/>
            </div>
            <Flow steps=steps/>
            <p class="form-error" role="alert">{general_error}</p>
            <p role="status">{move || status.get()}</p>
            <div class="actions">
                <button type="button" on:click=move |_| { save.dispatch(false); } disabled=move || save.pending().get()>"Save draft"</button>
                {(!is_template).then(|| view! {
                    <button type="button" class="primary" on:click=move |_| { save.dispatch(true); }
                        disabled=move || save.pending().get() || !problems.with(Vec::is_empty)>"Publish"</button>
                    {move || (!problems.with(Vec::is_empty)).then(|| view! { <span class="hint">"Fix the problems shown on the steps to publish."</span> })}
                    <button type="button" on:click=move |_| { as_template.dispatch(()); } disabled=move || as_template.pending().get()>"Save as template"</button>
                })}
            </div>
            {move || version.get().filter(|v| *v > 1).map(|v| view! {
                <div class="card">
                    <h2>"Subscribers"</h2>
                    <p>{format!("Running subscriptions stay on the version they started. Move them to version {v} at the step they are at (by step id).")}</p>
                    <button type="button" on:click=move |_| { migrate.dispatch(()); } disabled=move || migrate.pending().get()>
                        {format!("Move everyone to version {v}")}
                    </button>
                    {move || migrate.value().get().map(|result| match result {
                        Ok(report) => view! {
                            <div role="status">
                                <p>{format!("Moved {} to version {}.", report.moved, report.version)}</p>
                                {(!report.not_moved.is_empty()).then(|| view! {
                                    <p>"Not moved:"</p>
                                    <ul>{report.not_moved.into_iter().map(|n| view! { <li>{format!("{}: {}", n.subscriber, n.reason)}</li> }).collect_view()}</ul>
                                })}
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="form-error">{e.to_string()}</p> }.into_any(),
                    })}
                </div>
            })}
            <Simulator steps=steps/>
        </section>
    }
}

/// Edits the selected step.
#[component]
fn StepPanel(
    steps: RwSignal<Vec<Step>>,
    selected: RwSignal<Option<String>>,
    problems: RwSignal<Vec<StepProblem>>,
) -> impl IntoView {
    // The panel is rebuilt when another step is selected or a choice changes its fields; typing
    // in a field only updates the step (so focus stays where it is).
    let structure = RwSignal::new(0u32);
    let index =
        move || selected.get_untracked().and_then(|id| steps.with_untracked(|s| s.iter().position(|x| x.id == id)));
    let edit = move |f: &dyn Fn(&mut Step)| {
        if let Some(i) = index() {
            steps.update(|s| f(&mut s[i]));
        }
    };
    let change = move |f: fn(&mut Step, String)| -> Handler {
        Box::new(move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            edit(&|s| f(s, value.clone()));
        })
    };
    let choose = move |f: fn(&mut Step, String)| -> Handler {
        Box::new(move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            edit(&|s| f(s, value.clone()));
            structure.update(|n| *n += 1);
        })
    };
    let targets = move || steps.with(|s| s.iter().map(|x| (x.id.clone(), x.title.clone())).collect::<Vec<_>>());
    let target_select =
        move |label: &'static str, field: &'static str, current: Option<String>, set: fn(&mut Step, Option<String>)| {
            let id = format!("step-{field}");
            view! {
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <select id=id on:change=move |ev| {
                        let v = event_target_value(&ev);
                        edit(&|s| set(s, (!v.is_empty()).then_some(v.clone())));
                    }>
                        <option value="" selected=current.is_none()>"The next step in the list"</option>
                        {targets().into_iter().map(|(id, title)| {
                            let chosen = current.as_deref() == Some(id.as_str());
                            view! { <option value=id.clone() selected=chosen>{format!("{title} ({id})")}</option> }
                        }).collect_view()}
                    </select>
                </div>
            }
            .into_any()
        };
    view! {
        <section class="card step-panel" aria-labelledby="step-panel-heading">
            <h2 id="step-panel-heading">"Step"</h2>
            {move || {
                selected.track();
                structure.track();
                let Some(i) = index() else { return view! { <p>"Select a step to edit it."</p> }.into_any() };
                let step = steps.with_untracked(|s| s[i].clone());
                let sid = step.id.clone();
                let own_problems = problems.with(|ps| ps.iter().filter(|p| p.step.as_deref() == Some(sid.as_str())).map(|p| p.message.clone()).collect::<Vec<_>>());
                let trigger_kind = match &step.trigger {
                    StepTrigger::Completion => "completion",
                    StepTrigger::CompletionGap { .. } => "gap",
                    StepTrigger::After { .. } => "after",
                    StepTrigger::TimeOfDay { .. } => "time",
                    StepTrigger::Moment { .. } => "moment",
                    StepTrigger::Event { .. } => "event",
                    StepTrigger::Inactive { .. } => "inactive",
                };
                let trigger_fields = match &step.trigger {
                    StepTrigger::CompletionGap { min_gap_minutes } => view! {
                        <div class="field"><label for="step-gap">"At least this many minutes later"</label>
                        <input id="step-gap" type="number" min="0" prop:value=min_gap_minutes.to_string()
                            on:change=change(|s, v| s.trigger = StepTrigger::CompletionGap { min_gap_minutes: v.parse().unwrap_or(0) })/></div>
                    }.into_any(),
                    StepTrigger::After { hours } => view! {
                        <div class="field"><label for="step-after">"Hours after the previous step"</label>
                        <input id="step-after" type="number" min="1" prop:value=hours.to_string()
                            on:change=change(|s, v| s.trigger = StepTrigger::After { hours: v.parse().unwrap_or(1) })/></div>
                    }.into_any(),
                    StepTrigger::TimeOfDay { time, .. } => view! {
                        <div class="field"><label for="step-time">"Time of day (the subscriber's)"</label>
                        <input id="step-time" type="time" prop:value=time.format("%H:%M").to_string()
                            on:change=choose(|s, v| if let (Ok(t), StepTrigger::TimeOfDay { days, .. }) = (chrono::NaiveTime::parse_from_str(&v, "%H:%M"), &s.trigger) {
                                s.trigger = StepTrigger::TimeOfDay { time: t, days: days.clone() };
                            })/></div>
                    }.into_any(),
                    StepTrigger::Event { name } => view! {
                        <div class="field"><label for="step-event">"Event name"</label>
                        <input id="step-event" prop:value=name.clone() on:change=change(|s, v| s.trigger = StepTrigger::Event { name: v.trim().to_owned() })/></div>
                    }.into_any(),
                    StepTrigger::Inactive { days } => view! {
                        <div class="field"><label for="step-inactive">"Days without a reply from them"</label>
                        <input id="step-inactive" type="number" min="1" max="365" prop:value=days.to_string()
                            on:change=change(|s, v| s.trigger = StepTrigger::Inactive { days: v.trim().parse().unwrap_or(0) })/></div>
                    }.into_any(),
                    _ => ().into_any(),
                };
                let kind_fields = kind_fields(&step, change, choose, target_select);
                view! {
                    <div class="field">
                        <label for="step-title">"Title"</label>
                        <input id="step-title" prop:value=step.title.clone() on:change=change(|s, v| s.title = v)/>
                    </div>
                    <div class="field">
                        <label for="step-trigger">"When"</label>
                        <select id="step-trigger" on:change=choose(|s, v| s.trigger = match v.as_str() {
                            "gap" => StepTrigger::CompletionGap { min_gap_minutes: 60 },
                            "after" => StepTrigger::After { hours: 24 },
                            "time" => StepTrigger::TimeOfDay { time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(), days: (0..7).collect() },
                            "event" => StepTrigger::Event { name: "my_event".into() },
                            "inactive" => StepTrigger::Inactive { days: 3 },
                            _ => StepTrigger::Completion,
                        })>
                            {[("completion", "Right after the previous step"), ("gap", "After the previous step, with a gap"), ("after", "Hours after the previous step"), ("time", "At a time of day"), ("event", "When an event happens"), ("inactive", "When they have not replied for some days")]
                                .into_iter().map(|(v, l)| view! { <option value=v selected=trigger_kind == v>{l}</option> }).collect_view()}
                        </select>
                    </div>
                    {trigger_fields}
                    {kind_fields}
                    {(!matches!(step.kind, StepKind::End { .. } | StepKind::Branch { .. })).then(|| target_select("Then go to", "next", step.next.clone(), |s, v| s.next = v))}
                    {(!own_problems.is_empty()).then(|| view! {
                        <div role="alert" class="notice">{own_problems.into_iter().map(|p| view! { <p class="field-error">{p}</p> }).collect_view()}</div>
                    })}
                }.into_any()
            }}
        </section>
    }
}

/// An input's change handler.
type Handler = Box<dyn Fn(leptos::ev::Event) + Send + Sync>;

fn kind_fields(
    step: &Step,
    change: impl Fn(fn(&mut Step, String)) -> Handler + Copy + Send + Sync + 'static,
    choose: impl Fn(fn(&mut Step, String)) -> Handler + Copy + Send + Sync + 'static,
    target_select: impl Fn(&'static str, &'static str, Option<String>, fn(&mut Step, Option<String>)) -> AnyView
    + Copy
    + 'static,
) -> AnyView {
    let area = |id: &'static str, label: &'static str, value: String, f: fn(&mut Step, String)| {
        let handler = change(f);
        view! { <div class="field"><label for=id>{label}</label><textarea id=id rows="3" prop:value=value on:change=handler></textarea></div> }
    };
    let input = |id: &'static str, label: &'static str, value: String, f: fn(&mut Step, String)| {
        let handler = change(f);
        view! { <div class="field"><label for=id>{label}</label><input id=id prop:value=value on:change=handler/></div> }
    };
    match &step.kind {
        StepKind::Message { text } => area("step-text", "Message", text.clone(), |s, v| s.kind = StepKind::Message { text: v }).into_any(),
        StepKind::Question { text, answer, variable, .. } => {
            let answer_kind = match answer {
                AnswerKind::Text => "text",
                AnswerKind::Single { .. } => "single",
                AnswerKind::Multiple { .. } => "multiple",
                AnswerKind::Scale => "scale",
                AnswerKind::YesNo => "yes_no",
            };
            let options = match answer {
                AnswerKind::Single { options } | AnswerKind::Multiple { options } => options.join(", "),
                _ => String::new(),
            };
            view! {
                {area("step-question", "Question", text.clone(), |s, v| if let StepKind::Question { text, .. } = &mut s.kind { *text = v })}
                <div class="field">
                    <label for="step-answer">"Answer"</label>
                    <select id="step-answer" on:change=choose(|s, v| if let StepKind::Question { answer, .. } = &mut s.kind {
                        *answer = match v.as_str() {
                            "single" => AnswerKind::Single { options: vec!["Option A".into(), "Option B".into()] },
                            "multiple" => AnswerKind::Multiple { options: vec!["Option A".into(), "Option B".into()] },
                            "scale" => AnswerKind::Scale,
                            "yes_no" => AnswerKind::YesNo,
                            _ => AnswerKind::Text,
                        };
                    })>
                        {[("text", "Free text"), ("single", "One choice"), ("multiple", "Several choices"), ("scale", "1-10 scale"), ("yes_no", "Yes or no")]
                            .into_iter().map(|(v, l)| view! { <option value=v selected=answer_kind == v>{l}</option> }).collect_view()}
                    </select>
                </div>
                {(!options.is_empty()).then(|| input("step-options", "Options (comma-separated)", options.clone(), |s, v| if let StepKind::Question { answer: AnswerKind::Single { options } | AnswerKind::Multiple { options }, .. } = &mut s.kind {
                    *options = v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect();
                }))}
                {input("step-variable", "Store the answer as", variable.clone(), |s, v| if let StepKind::Question { variable, .. } = &mut s.kind { *variable = v.trim().to_owned() })}
            }
            .into_any()
        }
        StepKind::Conversation { goal, persona, opening, max_turns, .. } => view! {
            {area("step-goal", "Goal", goal.clone(), |s, v| if let StepKind::Conversation { goal, .. } = &mut s.kind { *goal = v })}
            {area("step-persona", "Persona (system prompt)", persona.clone(), |s, v| if let StepKind::Conversation { persona, .. } = &mut s.kind { *persona = v })}
            {area("step-opening", "Opening message", opening.clone(), |s, v| if let StepKind::Conversation { opening, .. } = &mut s.kind { *opening = v })}
            {input("step-turns", "Most replies", max_turns.to_string(), |s, v| if let StepKind::Conversation { max_turns, .. } = &mut s.kind { *max_turns = v.parse().unwrap_or(0) })}
        }
        .into_any(),
        StepKind::Wait { until, timeout_hours, nudge, timeout_next } => {
            let (mode, value) = match until {
                WaitUntil::Hours { hours } => ("hours", hours.to_string()),
                WaitUntil::Event { name } => ("event", name.clone()),
                WaitUntil::Moment { at } => ("moment", at.to_rfc3339()),
            };
            view! {
                <div class="field">
                    <label for="step-wait">"Wait for"</label>
                    <select id="step-wait" on:change=choose(|s, v| if let StepKind::Wait { until, .. } = &mut s.kind {
                        *until = if v == "event" { WaitUntil::Event { name: "my_event".into() } } else { WaitUntil::Hours { hours: 24 } };
                    })>
                        <option value="hours" selected=mode == "hours">"A number of hours"</option>
                        <option value="event" selected=mode == "event">"An event"</option>
                    </select>
                </div>
                {if mode == "event" {
                    view! {
                        {input("step-wait-event", "Event name", value.clone(), |s, v| if let StepKind::Wait { until, .. } = &mut s.kind { *until = WaitUntil::Event { name: v.trim().to_owned() } })}
                        {input("step-timeout", "Give up after hours (empty: never)", timeout_hours.map(|h| h.to_string()).unwrap_or_default(), |s, v| if let StepKind::Wait { timeout_hours, .. } = &mut s.kind { *timeout_hours = v.trim().parse().ok() })}
                        {input("step-nudge", "Nudge when it times out", nudge.clone().unwrap_or_default(), |s, v| if let StepKind::Wait { nudge, .. } = &mut s.kind { *nudge = (!v.trim().is_empty()).then_some(v) })}
                        {target_select("On timeout go to", "timeout-next", timeout_next.clone(), |s, v| if let StepKind::Wait { timeout_next, .. } = &mut s.kind { *timeout_next = v })}
                    }.into_any()
                } else {
                    input("step-wait-hours", "Hours", value.clone(), |s, v| if let StepKind::Wait { until, .. } = &mut s.kind { *until = WaitUntil::Hours { hours: v.parse().unwrap_or(0) } }).into_any()
                }}
            }
            .into_any()
        }
        StepKind::Branch { rules, otherwise } => {
            // One rule edited here: "when VARIABLE equals/contains VALUE go to TARGET", else OTHERWISE.
            let rule = rules.first().cloned();
            let (variable, test, value, target) = match &rule {
                Some(r) => {
                    let c = r.conditions.first();
                    let (test, value) = match c.map(|c| &c.test) {
                        Some(Test::Contains { value }) => ("contains", value.clone()),
                        Some(Test::Between { min, max }) => ("between", format!("{min}-{max}")),
                        Some(Test::Equals { value }) => ("equals", value.clone()),
                        None => ("equals", String::new()),
                    };
                    (c.map(|c| c.variable.clone()).unwrap_or_default(), test, value, Some(r.next.clone()))
                }
                None => (String::new(), "equals", String::new(), None),
            };
            fn condition_mut(s: &mut Step) -> Option<&mut Condition> {
                rule_mut(s).and_then(|r| r.conditions.first_mut())
            }
            fn rule_mut(s: &mut Step) -> Option<&mut BranchRule> {
                if let StepKind::Branch { rules, .. } = &mut s.kind {
                    if rules.is_empty() {
                        rules.push(BranchRule { all: true, conditions: vec![Condition { variable: String::new(), test: Test::Equals { value: String::new() } }], next: String::new() });
                    }
                    return rules.first_mut();
                }
                None
            }
            view! {
                {input("step-branch-variable", "When the answer stored as", variable, |s, v| if let Some(c) = condition_mut(s) { c.variable = v.trim().to_owned() })}
                <div class="field">
                    <label for="step-branch-test">"Test"</label>
                    <select id="step-branch-test" on:change=choose(|s, v| if let Some(c) = condition_mut(s) {
                        c.test = match v.as_str() { "contains" => Test::Contains { value: String::new() }, "between" => Test::Between { min: 1.0, max: 5.0 }, _ => Test::Equals { value: String::new() } };
                    })>
                        <option value="equals" selected=test == "equals">"equals"</option>
                        <option value="contains" selected=test == "contains">"contains"</option>
                        <option value="between" selected=test == "between">"is a number between (e.g. 1-4)"</option>
                    </select>
                </div>
                {input("step-branch-value", "Value", value, |s, v| if let Some(c) = condition_mut(s) {
                    c.test = match &c.test {
                        Test::Contains { .. } => Test::Contains { value: v },
                        Test::Between { .. } => {
                            let (a, b) = v.split_once('-').unwrap_or((v.as_str(), v.as_str()));
                            Test::Between { min: a.trim().parse().unwrap_or(0.0), max: b.trim().parse().unwrap_or(0.0) }
                        }
                        Test::Equals { .. } => Test::Equals { value: v },
                    };
                })}
                {target_select("…go to", "branch-target", target, |s, v| if let Some(r) = rule_mut(s) { r.next = v.unwrap_or_default() })}
                {target_select("Otherwise go to", "branch-otherwise", otherwise.clone(), |s, v| if let StepKind::Branch { otherwise, .. } = &mut s.kind { *otherwise = v })}
            }
            .into_any()
        }
        StepKind::Checkpoint { question, decider, reject_next, deadline_hours, .. } => {
            let decider = *decider;
            view! {
                {area("step-checkpoint", "What is to be decided", question.clone(), |s, v| if let StepKind::Checkpoint { question, .. } = &mut s.kind { *question = v })}
                <div class="field">
                    <label for="step-decider">"Who decides"</label>
                    <select id="step-decider" on:change=choose(|s, v| if let StepKind::Checkpoint { decider, .. } = &mut s.kind { *decider = Decider::parse(&v).unwrap_or(Decider::Creator) })>
                        {[Decider::Creator, Decider::Coach, Decider::Subscriber].into_iter().map(|d| view! { <option value=d.as_str() selected=decider == d>{d.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                {input("step-deadline", "Deadline in hours", deadline_hours.to_string(), |s, v| if let StepKind::Checkpoint { deadline_hours, .. } = &mut s.kind { *deadline_hours = v.parse().unwrap_or(48) })}
                {target_select("When rejected go to", "reject-next", reject_next.clone(), |s, v| if let StepKind::Checkpoint { reject_next, .. } = &mut s.kind { *reject_next = v })}
            }
            .into_any()
        }
        StepKind::End { outcome } => input("step-outcome", "Outcome", outcome.clone(), |s, v| s.kind = StepKind::End { outcome: v }).into_any(),
    }
}

/// The steps as a graph: nodes top to bottom in list order, edges for every way on.
#[component]
fn Flow(steps: RwSignal<Vec<Step>>) -> impl IntoView {
    view! {
        <figure class="card flow">
            <figcaption>"Flow"</figcaption>
            {move || steps.with(|steps| {
                let graph = Graph::new(steps);
                let height = steps.len() * 56 + 16;
                let index = |id: &str| steps.iter().position(|s| s.id == id);
                let mut edges = Vec::new();
                for (i, s) in steps.iter().enumerate() {
                    for (k, target) in graph.exits(s).into_iter().enumerate() {
                        if let Some(j) = index(target) {
                            edges.push((i, j, k));
                        }
                    }
                }
                view! {
                    <svg viewBox=format!("0 0 360 {height}") role="img" aria-label=format!("Flow of {} steps", steps.len())>
                        {edges.into_iter().map(|(i, j, k)| {
                            let (y1, y2) = (i * 56 + 36, j * 56 + 36);
                            let path = if j == i + 1 {
                                format!("M 120 {} L 120 {}", y1 + 14, y2 - 14)
                            } else {
                                let bend = 250 + 20 * k as i64 + 6 * (j as i64 - i as i64).abs();
                                format!("M 220 {y1} C {bend} {y1}, {bend} {y2}, 220 {y2}")
                            };
                            view! { <path d=path class=if j <= i { "edge back" } else { "edge" }/> }
                        }).collect_view()}
                        {steps.iter().enumerate().map(|(i, s)| view! {
                            <g class=format!("node {}", s.kind.label().to_lowercase().replace(' ', "-"))>
                                <rect x="20" y=i * 56 + 22 width="200" height="28" rx="6"/>
                                <text x="30" y=i * 56 + 41>{format!("{}: {}", s.kind.label(), s.title.chars().take(20).collect::<String>())}</text>
                            </g>
                        }).collect_view()}
                    </svg>
                }
            })}
        </figure>
    }
}

/// Runs the sequence in the browser against a simulated clock, answering as a test subscriber.
#[component]
fn Simulator(steps: RwSignal<Vec<Step>>) -> impl IntoView {
    #[derive(Clone)]
    struct Pending {
        at: chrono::DateTime<chrono::Utc>,
        kind: &'static str,
    }
    // A fixed Monday morning: the same run every time (and no system clock in the browser).
    let start_at =
        || chrono::DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z").map(|t| t.to_utc()).unwrap_or_default();
    let clock = RwSignal::new(start_at());
    let run = RwSignal::new(None::<Run>);
    let pending = RwSignal::new(Vec::<Pending>::new());
    let transcript = RwSignal::new(Vec::<(chrono::DateTime<chrono::Utc>, String, String)>::new());
    let answer = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    let apply = move |effects: Vec<RunEffect>| {
        let now = clock.get_untracked();
        let prefs = crate::domain::schedule::Preferences::default();
        for effect in effects {
            match effect {
                RunEffect::Say { text, .. } => transcript.update(|t| t.push((now, "Cairn".into(), text))),
                RunEffect::Schedule { due, .. } => {
                    pending.update(|p| p.retain(|x| x.kind != "fire"));
                    if let Some(at) = prefs.resolve(&due) {
                        pending.update(|p| p.push(Pending { at, kind: "fire" }));
                    } else if let Due::Event(name) = due {
                        transcript.update(|t| t.push((now, "Waiting".into(), format!("for the event “{name}”"))));
                    }
                }
                RunEffect::Deadline { at, .. } => pending.update(|p| p.push(Pending { at, kind: "timeout" })),
                RunEffect::AiTurn { .. } => pending.update(|p| p.push(Pending { at: now, kind: "ai" })),
                RunEffect::Decide { question, options, .. } => transcript
                    .update(|t| t.push((now, "Checkpoint".into(), format!("{question} ({})", options.join(" / "))))),
                RunEffect::Escalate { reason, .. } => transcript.update(|t| t.push((now, "Escalated".into(), reason))),
                RunEffect::Remind { text, .. } => transcript.update(|t| t.push((now, "Reminder".into(), text))),
                RunEffect::Finish { outcome } => {
                    pending.update(Vec::clear);
                    transcript.update(|t| t.push((now, "End".into(), outcome)));
                }
            }
        }
    };
    let advance = move |input: Input| {
        let Some(mut r) = run.get_untracked() else { return };
        let result = steps.with_untracked(|s| Graph::new(s).advance(&mut r, input, clock.get_untracked()));
        match result {
            Ok(effects) => {
                error.set(None);
                if matches!(
                    r.phase,
                    Phase::AwaitingAnswer | Phase::InConversation | Phase::AwaitingDecision | Phase::Finished
                ) {
                    pending.update(|p| p.retain(|x| x.kind != "fire"));
                }
                run.set(Some(r));
                apply(effects);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let start = move |_| {
        clock.set(start_at());
        transcript.set(vec![]);
        pending.set(vec![]);
        let mut r = Run::default();
        r.answers.insert("name".into(), "Test Subscriber".into());
        r.answers.insert("first_name".into(), "Test".into());
        r.answers.insert("goal".into(), "a test goal".into());
        let effects = steps.with_untracked(|s| Graph::new(s).start(&mut r, clock.get_untracked()));
        match effects {
            Ok(effects) => {
                run.set(Some(r));
                apply(effects);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let fast_forward = move |_| {
        let next = pending.with_untracked(|p| p.iter().min_by_key(|x| x.at).cloned());
        let Some(next) = next else {
            error.set(Some("Nothing is scheduled: the run waits for an answer, a decision or an event.".into()));
            return;
        };
        pending.update(|p| {
            if let Some(i) = p.iter().position(|x| x.at == next.at && x.kind == next.kind) {
                p.remove(i);
            }
        });
        clock.set(next.at.max(clock.get_untracked()));
        match next.kind {
            "timeout" => advance(Input::Timeout),
            "ai" => advance(Input::AiReply { text: "(the AI model's reply)".into(), goal_met: true }),
            _ => advance(Input::Fire),
        }
    };
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = answer.get_untracked();
        let phase = run.with_untracked(|r| r.as_ref().map(|r| r.phase));
        let now = clock.get_untracked();
        let input = match phase {
            Some(Phase::AwaitingDecision) => Input::Decision(text.clone()),
            Some(Phase::Waiting) | Some(Phase::Scheduled) => Input::Event(text.clone()),
            _ => Input::Answer(text.clone()),
        };
        transcript.update(|t| t.push((now, "Test subscriber".into(), text)));
        advance(input);
        answer.set(String::new());
    };
    view! {
        <section class="card simulator" aria-labelledby="sim-heading">
            <h2 id="sim-heading">"Simulator"</h2>
            <p class="hint">"Runs the draft in your browser on a simulated clock (UTC). Answer as a test subscriber; fast-forward to the next scheduled moment."</p>
            <div class="actions">
                <button type="button" on:click=start>"Start simulation"</button>
                <button type="button" on:click=fast_forward disabled=move || run.with(Option::is_none)>"Fast-forward"</button>
            </div>
            <p>"Simulated time: " {move || clock.get().format("%a %Y-%m-%d %H:%M").to_string()}</p>
            <ol class="transcript" aria-label="Simulated conversation" aria-live="polite">
                {move || transcript.get().into_iter().map(|(at, who, text)| view! {
                    <li><span class="when">{at.format("%a %H:%M").to_string()}</span>" "<strong>{who}</strong>": "{text}</li>
                }).collect_view()}
            </ol>
            <form on:submit=send>
                <div class="field">
                    <label for="sim-answer">{move || match run.with(|r| r.as_ref().map(|r| r.phase)) {
                        Some(Phase::AwaitingDecision) => "Decision (approve, reject or a path)",
                        Some(Phase::Waiting) | Some(Phase::Scheduled) => "Event name",
                        _ => "Answer as the test subscriber",
                    }}</label>
                    <input id="sim-answer" bind:value=answer aria-describedby="sim-error"/>
                    <p class="field-error" id="sim-error" aria-live="polite">{move || error.get()}</p>
                </div>
                <button type="submit" disabled=move || run.with(Option::is_none)>"Send"</button>
            </form>
        </section>
    }
}
