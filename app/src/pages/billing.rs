//! Plan and billing pages: `/billing` (plan, usage, upgrade, payments), the built-in provider's
//! checkout page, receipts, a creator's `/sales`, and the platform admin's `/admin/billing`.

use super::SignedIn;
use crate::api::billing::*;
use crate::components::forms::{BoundField, error_for};
use crate::components::layout::{LocalTime, reload_to};
use crate::domain::OrgId;
use crate::domain::billing::{Interval, Limits, format_money, payment_status, sale_breakdown};
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use uuid::Uuid;

/// The message of a refused action, with an upgrade link when a plan limit refused it.
#[component]
pub fn ErrorNotice(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <div role="alert" class="form-error">
            {move || error.get().map(|e| {
                let upgrade = e.upgrade().cloned();
                view! {
                    <p>{e.to_string()}</p>
                    {upgrade.map(|u| view! {
                        <p><a class="button" href=format!("/billing?plan={}", u.plan)>{format!("Upgrade to {}", u.name)}</a></p>
                    })}
                }
            })}
        </div>
    }
}

fn field_message(error: RwSignal<Option<AppError>>, field: &'static str) -> impl Fn() -> Option<String> + Copy {
    move || error.get().and_then(|e| e.field_message(field))
}

pub(crate) fn general(error: RwSignal<Option<AppError>>) -> Signal<Option<AppError>> {
    Signal::derive(move || {
        error.get().filter(|e| !matches!(e, AppError::Validation { field, .. } if !field.is_empty()))
    })
}

fn limit_text(limit: Option<i64>) -> String {
    limit.map_or("unlimited".to_owned(), |l| l.to_string())
}

#[component]
pub fn BillingPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Billing/> }/> }
}

#[component]
fn Billing() -> impl IntoView {
    let cancel = Action::new(|cancel: &bool| cancel_plan(*cancel, None));
    let trial = Action::new(|plan: &String| start_trial(plan.clone()));
    let summary = Resource::new(move || (cancel.version().get(), trial.version().get()), |_| billing_overview());
    view! {
        <section class="page">
            <h1>"Plan and billing"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(s) => view! { <Summary s=s cancel=cancel trial=trial/> }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Summary(
    s: BillingSummary,
    cancel: Action<bool, Result<(), AppError>>,
    trial: Action<String, Result<(), AppError>>,
) -> impl IntoView {
    let paid = s.status.is_some();
    let ending = s.cancel_at_period_end;
    let current = s.plan_code.clone();
    view! {
        {s.test_mode.then(|| view! {
            <p class="notice test-mode">"Test mode: payments are recorded by Cairn's built-in provider and no money moves."</p>
        })}
        <section class="card" aria-labelledby="current-plan">
            <h2 id="current-plan">{format!("Your plan: {}", s.plan_name)}</h2>
            {s.status.map(|st| view! { <p>{format!("Status: {}", st.label())}</p> })}
            <p>{s.next.clone()}</p>
            {s.billed_by_stripe.then(|| view! {
                <p>"Stripe bills your plan: change it, update your card or cancel in Stripe's billing portal."</p>
            })}
            {s.stripe_customer.then(|| view! { <ManageBilling/> })}
            {(paid && !s.billed_by_stripe).then(|| view! {
                <button type="button" class=if ending { "" } else { "secondary" } on:click=move |_| { cancel.dispatch(!ending); }>
                    {if ending { "Keep my plan" } else { "Cancel at the end of the period" }}
                </button>
            })}
            <p role="alert" class="form-error">{move || cancel.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
            <h3>"Usage"</h3>
            <ul class="usage">
                {s.usage.into_iter().map(|u| {
                    let label = format!("{}: {} of {}", capitalize(&u.label), u.used, limit_text(u.limit));
                    let warn = u.percent.is_some_and(|p| p >= 80);
                    view! {
                        <li>
                            <span id=format!("usage-{}", u.quota.key())>{label}</span>
                            {u.percent.map(|p| view! {
                                <progress max="100" value=p.to_string() aria-labelledby=format!("usage-{}", u.quota.key())></progress>
                            })}
                            {warn.then(|| view! { <span class="warning">" Nearly at your limit."</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        <Plans plans=s.plans current=current trial=trial trial_available=s.trial_available/>
        <section class="card" aria-labelledby="payments">
            <h2 id="payments">"Payments"</h2>
            {if s.payments.is_empty() {
                view! { <p>"No payments yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll"><table>
                        <caption class="visually-hidden">"Payments"</caption>
                        <thead><tr><th scope="col">"Date"</th><th scope="col">"What"</th><th scope="col">"Amount"</th><th scope="col">"Status"</th><th scope="col">"Receipt"</th></tr></thead>
                        <tbody>{s.payments.into_iter().map(|p| view! {
                            <tr>
                                <td><LocalTime at=p.created_at/></td>
                                <td>{p.description.clone()}</td>
                                <td>{format_money(p.amount)}</td>
                                <td>{payment_status(&p.status, p.refunded)}</td>
                                <td><a href=format!("/billing/receipts/{}", p.id) aria-label=format!("Receipt for {}", p.description)>"Receipt"</a></td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Goes where a checkout is paid: Stripe's page, or Cairn's own.
pub(crate) fn open_checkout(c: &CheckoutView, navigate: &impl Fn(&str, leptos_router::NavigateOptions)) {
    match &c.pay_url {
        Some(url) => reload_to(url),
        None => navigate(&format!("/billing/checkout/{}", c.id), Default::default()),
    }
}

/// "Manage billing": the Stripe Customer Portal, for people Stripe bills.
#[component]
fn ManageBilling() -> impl IntoView {
    let open = Action::new(|_: &()| billing_portal());
    Effect::new(move |_| {
        if let Some(Ok(url)) = open.value().get() {
            reload_to(&url);
        }
    });
    view! {
        <button type="button" class="secondary" disabled=move || open.pending().get() on:click=move |_| { open.dispatch(()); }>
            "Manage billing"
        </button>
        <p role="alert" class="form-error">{move || open.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The plans on offer, with a yearly/monthly choice and a promo code.
#[component]
fn Plans(
    plans: Vec<PlanView>,
    current: String,
    trial: Action<String, Result<(), AppError>>,
    trial_available: bool,
) -> impl IntoView {
    let wanted = use_query_map().get_untracked().get("plan").unwrap_or_default();
    let interval = RwSignal::new("month".to_owned());
    let promo = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let start = Action::new(move |(product, interval, promo): &(String, String, String)| {
        let (product, interval, promo) = (product.clone(), interval.clone(), promo.clone());
        async move { start_checkout(product, interval, promo).await }
    });
    Effect::new(move |_| match start.value().get() {
        Some(Ok(c)) => open_checkout(&c, &navigate),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = trial.value().get() {
            error.set(Some(e));
        }
    });
    let individual: Vec<PlanView> = plans.into_iter().filter(|p| !p.config.per_seat).collect();
    view! {
        <section class="card" aria-labelledby="plans">
            <h2 id="plans">"Plans"</h2>
            <fieldset>
                <legend>"Billed"</legend>
                <label><input type="radio" name="interval" value="month" checked=true on:change=move |_| interval.set("month".into())/>" Monthly"</label>
                <label><input type="radio" name="interval" value="year" on:change=move |_| interval.set("year".into())/>" Yearly (two months free)"</label>
            </fieldset>
            <div class="field">
                <label for="promo-code">"Promo code"</label>
                <input id="promo-code" bind:value=promo aria-describedby="promo-code-error" autocomplete="off"/>
                <p class="field-error" id="promo-code-error" aria-live="polite">{field_message(error, "promo_code")}</p>
            </div>
            <ErrorNotice error=general(error)/>
            <div class="plan-grid">
                {individual.into_iter().map(|p| {
                    let code = p.code.clone();
                    let is_current = code == current;
                    let highlighted = code == wanted;
                    let name = p.config.name.clone();
                    let monthly = p.config.monthly_price;
                    let yearly = p.config.annual_price;
                    let l = p.config.limits.clone();
                    let free = p.config.monthly_price == 0;
                    let trial_days = p.config.trial_days;
                    view! {
                        <article class=if highlighted { "plan highlighted" } else { "plan" } aria-labelledby=format!("plan-{code}")>
                            <h3 id=format!("plan-{code}")>{name.clone()}</h3>
                            <p class="price">{move || if interval.get() == "year" {
                                yearly.map_or("monthly only".to_owned(), |y| format!("{} a year", format_money(y)))
                            } else {
                                format!("{} a month", format_money(monthly))
                            }}</p>
                            <p>{p.config.description.clone()}</p>
                            <ul>
                                <li>{format!("Running sequences: {}", limit_text(l.max_active_sequences))}</li>
                                <li>{format!("Sequences of your own: {}", limit_text(l.max_personal_sequences))}</li>
                                <li>{if p.config.features.premium_sequences { "Premium sequences included" } else { "Free sequences" }}</li>
                            </ul>
                            {if is_current {
                                view! { <p class="muted">"Your current plan"</p> }.into_any()
                            } else if free {
                                ().into_any()
                            } else {
                                let (code, trial_code) = (code.clone(), code.clone());
                                view! {
                                    <button type="button" disabled=move || start.pending().get()
                                        on:click=move |_| { error.set(None); start.dispatch((format!("plan:{code}"), interval.get_untracked(), promo.get_untracked())); }>
                                        {format!("Choose {name}")}
                                    </button>
                                    {(trial_available && trial_days > 0).then(|| view! {
                                        <button type="button" class="secondary" disabled=move || trial.pending().get()
                                            on:click=move |_| { error.set(None); trial.dispatch(trial_code.clone()); }>
                                            {format!("Start a {trial_days}-day free trial of {name}")}
                                        </button>
                                    })}
                                }.into_any()
                            }}
                        </article>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}

/// An organization's plan and seats, on its members page: everyone who sees the members sees
/// how many seats are taken; the owner buys seats, changes them and cancels here.
#[component]
pub fn OrgPlanCard(org_id: OrgId, #[prop(into)] refresh: Signal<usize>) -> impl IntoView {
    let cancel = Action::new(move |cancel: &bool| cancel_plan(*cancel, Some(org_id)));
    let choose = Action::new(move |(plan, seats, promo): &(String, String, String)| {
        let (plan, seats, promo) = (plan.clone(), seats.clone(), promo.clone());
        async move { choose_org_plan(org_id, plan, seats, "month".to_owned(), Some(promo)).await }
    });
    let plan = Resource::new(
        move || (refresh.get(), cancel.version().get(), choose.version().get()),
        move |_| org_plan(org_id),
    );
    // What the owner picks and types lives out here: a refused choice reloads the plan below and
    // must not take it away.
    let form = OrgPlanForm {
        chosen: RwSignal::new(String::new()),
        seats: RwSignal::new(String::new()),
        promo: RwSignal::new(String::new()),
        error: RwSignal::new(None),
        of: StoredValue::new(None),
    };
    let navigate = use_navigate();
    Effect::new(move |_| match choose.value().get() {
        Some(Ok(Some(c))) => open_checkout(&c, &navigate),
        Some(Err(e)) => form.error.set(Some(e)),
        _ => {}
    });
    view! {
        <section class="card" aria-labelledby="org-plan-h">
            <h2 id="org-plan-h">"Plan and seats"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match plan.await {
                        Ok(p) => {
                            form.fill(&p);
                            view! { <OrgPlanDetails p=p cancel=cancel choose=choose form=form/> }.into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The plan form of an organization's members page, kept while its plan stays the same.
#[derive(Clone, Copy)]
struct OrgPlanForm {
    chosen: RwSignal<String>,
    seats: RwSignal<String>,
    promo: RwSignal<String>,
    error: RwSignal<Option<AppError>>,
    /// The plan and seats the form was filled from.
    of: StoredValue<Option<(String, Option<i64>)>>,
}

impl OrgPlanForm {
    /// Fills the form from the organization's plan when it is new or has changed.
    fn fill(&self, p: &OrgPlanView) {
        let of = Some((p.plan_code.clone(), p.seats));
        if self.of.with_value(|v| *v == of) {
            return;
        }
        self.of.set_value(of);
        let first = p.plans.first();
        self.chosen.set(if p.seats.is_some() {
            p.plan_code.clone()
        } else {
            first.map(|o| o.code.clone()).unwrap_or_default()
        });
        let taken = p.members + p.pending;
        self.seats.set(p.seats.unwrap_or_else(|| taken.max(first.map_or(1, |o| o.config.min_seats))).to_string());
        self.promo.set(String::new());
    }
}

/// Chooses (plan, seats, promo code).
type ChooseOrgPlanAction = Action<(String, String, String), Result<Option<CheckoutView>, AppError>>;

#[component]
fn OrgPlanDetails(
    p: OrgPlanView,
    cancel: Action<bool, Result<(), AppError>>,
    choose: ChooseOrgPlanAction,
    form: OrgPlanForm,
) -> impl IntoView {
    let taken = p.members + p.pending;
    let percent = p.limit.and_then(|l| crate::domain::billing::usage_percent(taken, Some(l)));
    let seats_text = format!(
        "Seats taken: {taken} of {} ({} members, {} pending invitations)",
        limit_text(p.limit),
        p.members,
        p.pending
    );
    let on_seat_plan = p.seats.is_some();
    let manage = p.may_manage && !p.given_by_admin && !p.billed_by_stripe;
    let ending = p.cancel_at_period_end;
    let OrgPlanForm { chosen, seats, promo, error, .. } = form;
    let plans = p.plans.clone();
    let total = move || {
        let plan = plans.iter().find(|o| o.code == chosen.get())?;
        let n: i64 = seats.get().trim().parse().ok().filter(|n| *n > 0)?;
        let price = plan.config.price(Interval::Month, n)?;
        Some(format!("{} a month for {n} seats", format_money(price)))
    };
    let current = p.plan_code.clone();
    let button = move || if on_seat_plan && chosen.get() == current { "Change seats" } else { "Choose plan" };
    view! {
        <p><strong>{p.plan_name.clone()}</strong>{p.seats.map(|n| format!(" · {n} seats"))}</p>
        <p id="org-seats-used">{seats_text}</p>
        {percent.map(|v| view! { <progress max="100" value=v.to_string() aria-labelledby="org-seats-used"></progress> })}
        <p>{p.next.clone()}</p>
        {(p.may_manage && p.billed_by_stripe).then(|| view! {
            <p>"Stripe bills this plan: change seats, update the card or cancel in Stripe's billing portal."</p>
            <ManageBilling/>
        })}
        {manage.then(|| view! {
            <form class="org-plan" on:submit=move |ev| {
                ev.prevent_default();
                error.set(None);
                choose.dispatch((chosen.get_untracked(), seats.get_untracked(), promo.get_untracked()));
            }>
                <div class="field">
                    <label for="org-plan-choice">"Plan for the organization"</label>
                    <select id="org-plan-choice" on:change=move |ev| chosen.set(event_target_value(&ev)) aria-describedby="org-plan-choice-error">
                        {p.plans.iter().map(|o| {
                            let per_seat = format!("{} — {} per seat a month", o.config.name, format_money(o.config.monthly_price));
                            view! { <option value=o.code.clone() selected=o.code == chosen.get_untracked()>{per_seat}</option> }
                        }).collect_view()}
                    </select>
                    <p class="field-error" id="org-plan-choice-error" aria-live="polite">{field_message(error, "plan")}</p>
                </div>
                <div class="field">
                    <label for="org-seats">"Seats"</label>
                    <input id="org-seats" type="number" min="1" inputmode="numeric" bind:value=seats aria-describedby="org-seats-error"/>
                    <p class="field-error" id="org-seats-error" aria-live="polite">{field_message(error, "seats")}</p>
                </div>
                <div class="field">
                    <label for="org-promo">"Promo code for the organization's plan (optional)"</label>
                    <input id="org-promo" bind:value=promo aria-describedby="org-promo-error" autocomplete="off"/>
                    <p class="field-error" id="org-promo-error" aria-live="polite">{field_message(error, "promo_code")}</p>
                </div>
                <p role="status">{move || total().map(|t| format!("Total: {t}"))}</p>
                <ErrorNotice error=general(error)/>
                <button type="submit" disabled=move || choose.pending().get()>{button}</button>
                {move || matches!(choose.value().get(), Some(Ok(None))).then(|| view! { <p role="status">"Seats changed."</p> })}
            </form>
        })}
        {(manage && on_seat_plan).then(|| view! {
            <button type="button" class=if ending { "" } else { "secondary" } on:click=move |_| { cancel.dispatch(!ending); }>
                {if ending { "Keep the organization's plan" } else { "Cancel the organization's plan at the end of the period" }}
            </button>
            <p role="alert" class="form-error">{move || cancel.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
        })}
    }
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Checkout/> }/> }
}

#[component]
fn Checkout() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let pay = Action::new(|id: &Uuid| pay_checkout(*id));
    let details = Resource::new(
        move || (id(), pay.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => checkout_details(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <section class="page narrow">
            <h1>"Checkout"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Ok(c) => {
                            let cid = c.id;
                            let paid = c.status == "paid";
                            view! {
                                {c.test_mode.then(|| view! {
                                    <p class="notice test-mode">"Test mode: this checkout records a test payment. No card is charged."</p>
                                })}
                                <section class="card" aria-labelledby="order">
                                    <h2 id="order">{c.description.clone()}</h2>
                                    <dl class="breakdown">
                                        <dt>"Price"</dt><dd>{format_money(c.price)}</dd>
                                        {(c.discount > 0).then(|| view! {
                                            <dt>{format!("Promo code {}", c.promo_code.clone().unwrap_or_default())}</dt>
                                            <dd>{format!("−{}", format_money(c.discount))}</dd>
                                        })}
                                        <dt>"Total"</dt><dd><strong>{format_money(c.amount)}</strong></dd>
                                    </dl>
                                    {if paid {
                                        view! {
                                            <p role="status">"Payment received. A receipt is on its way to your inbox."</p>
                                            <p><a href=c.return_to.clone()>"Continue"</a></p>
                                        }.into_any()
                                    } else if c.status == "open" && !c.test_mode {
                                        view! {
                                            <p role="status">"Waiting for Stripe to confirm your payment. This page shows it once Stripe has."</p>
                                            <p><a href="">"Check again"</a></p>
                                        }.into_any()
                                    } else if c.status == "open" {
                                        view! {
                                            <button type="button" disabled=move || pay.pending().get() on:click=move |_| { pay.dispatch(cid); }>
                                                {format!("Pay {} (test payment)", format_money(c.amount))}
                                            </button>
                                        }.into_any()
                                    } else {
                                        view! { <p>"This checkout has expired."</p> }.into_any()
                                    }}
                                    <p role="alert" class="form-error">{move || pay.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
                                </section>
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn ReceiptPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Receipt/> }/> }
}

#[component]
fn Receipt() -> impl IntoView {
    let params = use_params_map();
    let r = Resource::new(
        move || params.read().get("id").and_then(|s| s.parse::<Uuid>().ok()),
        |id| async move {
            match id {
                Some(id) => receipt(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <section class="page narrow">
            <h1>"Receipt"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match r.await {
                        Ok(r) => view! {
                            <section class="card receipt">
                                <dl class="breakdown">
                                    <dt>"Receipt number"</dt><dd><code>{r.id.to_string()}</code></dd>
                                    <dt>"Date"</dt><dd><LocalTime at=r.created_at/></dd>
                                    <dt>"Billed to"</dt><dd>{format!("{} <{}>", r.buyer_name, r.buyer_email)}</dd>
                                    <dt>"Item"</dt><dd>{r.description.clone()}</dd>
                                    <dt>"Amount"</dt><dd>{format_money(r.amount)}</dd>
                                    <dt>"Status"</dt><dd>{payment_status(&r.status, r.refunded)}</dd>
                                    {r.refunded_at.map(|at| view! { <dt>"Refunded"</dt><dd><LocalTime at=at/></dd> })}
                                </dl>
                                {(r.provider == "builtin").then(|| view! { <p class="muted">"Test payment recorded by Cairn's built-in provider."</p> })}
                                <button type="button" on:click=move |_| { print(); }>"Print or save as PDF"</button>
                            </section>
                        }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn print() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}

/// A premium sequence's price and its buy button, for someone without access.
#[component]
pub fn BuySequence(id: Uuid, price: Option<PriceView>) -> impl IntoView {
    let promo = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let start = Action::new(move |promo: &String| {
        let promo = promo.clone();
        async move { start_checkout(sequence_product(id), String::new(), promo).await }
    });
    Effect::new(move |_| match start.value().get() {
        Some(Ok(c)) => open_checkout(&c, &navigate),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <section class="card" aria-labelledby="premium">
            <h2 id="premium">"Premium sequence"</h2>
            {match price {
                Some(p) => {
                    let label = match p.recurring {
                        Some(_) => format!("{} a month", format_money(p.amount)),
                        None => format!("{} once, yours to keep", format_money(p.amount)),
                    };
                    let amount = format_money(p.amount);
                    view! {
                        <p>{label}</p>
                        <div class="field">
                            <label for="buy-promo">"Promo code"</label>
                            <input id="buy-promo" bind:value=promo aria-describedby="buy-promo-error" autocomplete="off"/>
                            <p class="field-error" id="buy-promo-error" aria-live="polite">{field_message(error, "promo_code")}</p>
                        </div>
                        <button type="button" disabled=move || start.pending().get()
                            on:click=move |_| { error.set(None); start.dispatch(promo.get_untracked()); }>
                            {format!("Buy for {amount}")}
                        </button>
                    }.into_any()
                }
                None => view! { <p>"Premium sequences come with the Premium plan."</p> }.into_any(),
            }}
            <p><a href="/billing?plan=premium">"Or get every premium sequence with Premium"</a></p>
            <ErrorNotice error=general(error)/>
        </section>
    }
}

/// "Share and earn": the affiliate program of a premium sequence or a journey
/// (`sequence:<id>`, `journey:<id>`), for anyone who can see it.
#[component]
pub fn ShareAndEarn(product: String, rate_bps: u32) -> impl IntoView {
    let get = Action::new(move |_: &()| affiliate_link(product.clone()));
    view! {
        <section class="card" aria-labelledby="share-earn">
            <h2 id="share-earn">"Share and earn"</h2>
            <p>{format!("Bring buyers with your link and earn {}% of each sale (after payment processing). ", rate_bps / 100)}
               <a href="/sales">"Your affiliate earnings"</a></p>
            {move || match get.value().get() {
                Some(Ok(link)) => view! {
                    <div class="field">
                        <label for="affiliate-url">"Your affiliate link"</label>
                        <input id="affiliate-url" readonly=true value=link.url.clone()/>
                    </div>
                    <p>{format!("{} clicks, {} sign-ups, {} sales, {} earned.", link.clicks, link.signups, link.sales, format_money(link.commission))}</p>
                }.into_any(),
                other => view! {
                    <button type="button" class="secondary" disabled=move || get.pending().get() on:click=move |_| { get.dispatch(()); }>
                        "Get my affiliate link"
                    </button>
                    <p role="alert" class="form-error">{other.and_then(|r| r.err()).map(|e| e.to_string())}</p>
                }.into_any(),
            }}
        </section>
    }
}

/// The action that saves an affiliate commission (a percentage) and answers it in basis points.
pub(crate) type SaveRate = Action<String, Result<u32, AppError>>;

/// The creator's affiliate commission for a premium sequence or a journey, saved by `save`.
#[component]
pub(crate) fn AffiliateRate(rate_bps: u32, save: SaveRate) -> impl IntoView {
    let percent = RwSignal::new((rate_bps / 100).to_string());
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let Some(r) = save.value().get() {
            error.set(r.err());
        }
    });
    view! {
        <form on:submit=move |ev| { ev.prevent_default(); save.dispatch(percent.get_untracked()); }>
            <h3>"Affiliates"</h3>
            <BoundField label="Affiliate commission (%)" id="affiliate-percent".into() value=percent error=error_for(error, "percent")
                hint="Paid to people whose link brings a buyer, from each sale after payment processing; 0 for none."/>
            <ErrorNotice error=general(error)/>
            <p role="status" class="form-success">{move || match save.value().get() {
                Some(Ok(0)) => Some("No affiliate program.".to_owned()),
                Some(Ok(bps)) => Some(format!("Affiliates earn {}% of each sale.", bps / 100)),
                _ => None,
            }}</p>
            <button type="submit" disabled=move || save.pending().get()>"Save commission"</button>
        </form>
    }
}

/// The creator's price form for a premium sequence, with the live breakdown of a sale.
#[component]
pub fn PriceEditor(id: Uuid, price: Option<PriceView>) -> impl IntoView {
    let amount =
        RwSignal::new(price.as_ref().map(|p| format!("{}.{:02}", p.amount / 100, p.amount % 100)).unwrap_or_default());
    let monthly = RwSignal::new(price.as_ref().is_some_and(|p| p.recurring == Some(Interval::Month)));
    let affiliate = price.as_ref().map(|p| p.affiliate_bps);
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let save = Action::new(move |(amount, monthly): &(String, bool)| {
        let (amount, monthly) = (amount.clone(), *monthly);
        async move { set_sequence_price(id, amount, monthly).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(Some(p))) => {
            error.set(None);
            saved.set(Some(format!("Price saved: {}.", format_money(p.amount))));
        }
        Some(Ok(None)) => {
            error.set(None);
            saved.set(Some("No longer for sale on its own.".into()));
        }
        Some(Err(e)) => {
            saved.set(None);
            error.set(Some(e));
        }
        None => {}
    });
    let breakdown = move || {
        let cents = crate::domain::billing::parse_money(&amount.get()).ok()?;
        let b = sale_breakdown(cents, 0, crate::domain::billing::CreatorTier::Bronze.share_bps(), 0);
        Some(format!(
            "The client pays {}; the platform fee is {}; you receive {} (70%, before payment processing).",
            format_money(b.gross),
            format_money(b.platform_fee),
            format_money(b.seller)
        ))
    };
    view! {
        <section class="card" aria-labelledby="price-heading">
            <h2 id="price-heading">"Price"</h2>
            <p class="hint">"Premium sequences can be sold on their own; members with a Premium plan get them included."</p>
            <form on:submit=move |ev| { ev.prevent_default(); saved.set(None); save.dispatch((amount.get_untracked(), monthly.get_untracked())); }>
                <div class="field">
                    <label for="price-amount">"Price in dollars"</label>
                    <input id="price-amount" inputmode="decimal" bind:value=amount aria-describedby="price-amount-error price-breakdown"/>
                    <p class="field-error" id="price-amount-error" aria-live="polite">{field_message(error, "amount")}</p>
                </div>
                <label><input type="checkbox" bind:checked=monthly/>" Charge monthly"</label>
                <p id="price-breakdown" aria-live="polite">{breakdown}</p>
                <ErrorNotice error=general(error)/>
                <p role="status" class="form-success">{move || saved.get()}</p>
                <button type="submit" disabled=move || save.pending().get()>"Save price"</button>
            </form>
            {affiliate.map(|rate_bps| {
                let save = Action::new(move |percent: &String| set_affiliate_rate(id, percent.clone()));
                view! { <AffiliateRate rate_bps=rate_bps save=save/> }
            })}
        </section>
    }
}

#[component]
pub fn SalesPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Sales/> }/> }
}

#[component]
fn Sales() -> impl IntoView {
    let promo = RwSignal::new(PromoInput { kind: "percent".into(), duration: "once".into(), ..Default::default() });
    let create = Action::new(|input: &PromoInput| create_creator_promo(input.clone()));
    let sales = Resource::new(move || create.version().get(), |_| my_sales());
    view! {
        <section class="page">
            <h1>"Sales"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sales.await {
                        Ok(s) => view! {
                            <section class="card" aria-labelledby="earnings">
                                <h2 id="earnings">"Earnings"</h2>
                                <p>{format!("{} creator: you receive {}% of each sale.", s.tier.label(), s.share_bps / 100)}</p>
                                <p><strong>{format!("Balance: {}", format_money(s.balance))}</strong>" (paid out once it reaches " {format_money(s.minimum_payout)} ")"</p>
                            </section>
                            <section class="card" aria-labelledby="sales-list">
                                <h2 id="sales-list">"Sales"</h2>
                                {if s.sales.is_empty() { view! { <p>"No sales yet."</p> }.into_any() } else { view! {
                                    <div class="table-scroll"><table>
                                        <caption class="visually-hidden">"Sales"</caption>
                                        <thead><tr><th scope="col">"Date"</th><th scope="col">"Product"</th><th scope="col">"Buyer"</th><th scope="col">"Paid"</th><th scope="col">"Your share"</th><th scope="col">"Status"</th></tr></thead>
                                        <tbody>{s.sales.into_iter().map(|x| view! {
                                            <tr>
                                                <td><LocalTime at=x.at/></td>
                                                <td>{x.description.clone()}</td>
                                                <td>{x.buyer.clone()}</td>
                                                <td>{format_money(x.gross)}</td>
                                                <td>{format_money(x.share)}</td>
                                                <td>{payment_status(&x.status, x.refunded)}</td>
                                            </tr>
                                        }).collect_view()}</tbody>
                                    </table></div>
                                }.into_any() }}
                            </section>
                            <section class="card" aria-labelledby="payouts">
                                <h2 id="payouts">"Payouts"</h2>
                                <PayoutAccount a=s.payout_account/>
                                {if s.payouts.is_empty() { view! { <p>"No payouts yet."</p> }.into_any() } else { view! {
                                    <ul>{s.payouts.into_iter().map(|p| view! {
                                        <li><LocalTime at=p.created_at/>{format!(": {} ({})", format_money(p.amount), p.status)}</li>
                                    }).collect_view()}</ul>
                                }.into_any() }}
                            </section>
                            <section class="card" aria-labelledby="my-codes">
                                <h2 id="my-codes">"Your promo codes"</h2>
                                <ul>{s.promos.into_iter().map(|p| view! {
                                    <li><code>{p.code.clone()}</code>{format!(" — {}, used {} times", p.discount.describe(), p.redeemed)}</li>
                                }).collect_view()}</ul>
                            </section>
                        }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            // Outside the streamed sales: its resource must be created in the same order on the
            // server and in the browser.
            <AffiliateEarnings/>
            <PromoForm heading="New promo code for your products" input=promo action=create products_hint="sequence:<id> or journey:<id>:<tier>:<month or year>, comma-separated; empty for all your products"/>
        </section>
    }
}

/// Where the creator's payouts go: their Stripe account and its onboarding.
#[component]
fn PayoutAccount(a: PayoutAccountView) -> impl IntoView {
    let onboard = Action::new(|_: &()| payout_onboarding());
    Effect::new(move |_| {
        if let Some(Ok(url)) = onboard.value().get() {
            reload_to(&url);
        }
    });
    if !a.stripe {
        return view! { <p>"The platform pays you directly once your balance reaches the minimum."</p> }.into_any();
    }
    let status = if a.payouts_enabled {
        "Your Stripe account receives your payouts."
    } else if a.connected {
        "Stripe needs a few more details before it can pay you."
    } else {
        "Set up a Stripe account to receive your payouts."
    };
    let label = if a.connected { "Continue with Stripe" } else { "Set up payouts with Stripe" };
    view! {
        <p>{status}</p>
        {a.last_payout_status.map(|st| view! {
            <p>{format!("Your last payout to your bank: {st}")}{a.last_payout_at.map(|at| view! { " (" <LocalTime at=at/> ")" })}</p>
        })}
        {(!a.payouts_enabled).then(|| view! {
            <button type="button" disabled=move || onboard.pending().get() on:click=move |_| { onboard.dispatch(()); }>{label}</button>
        })}
        <p role="alert" class="form-error">{move || onboard.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
    }
    .into_any()
}

/// The caller's affiliate links: clicks, sign-ups, sales and commission.
#[component]
fn AffiliateEarnings() -> impl IntoView {
    let links = Resource::new(|| (), |_| my_affiliate_links());
    view! {
        <section class="card" aria-labelledby="affiliate-links">
            <h2 id="affiliate-links">"Affiliate links"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match links.await {
                        Ok(l) if l.is_empty() => view! {
                            <p>"Share a premium sequence that has an affiliate program to earn from the sales you bring."</p>
                        }.into_any(),
                        Ok(l) => view! {
                            <div class="table-scroll"><table>
                                <caption class="visually-hidden">"Affiliate links"</caption>
                                <thead><tr><th scope="col">"Product"</th><th scope="col">"Link"</th><th scope="col">"Clicks"</th><th scope="col">"Sign-ups"</th><th scope="col">"Sales"</th><th scope="col">"Earned"</th></tr></thead>
                                <tbody>{l.into_iter().map(|x| view! {
                                    <tr>
                                        <td>{x.title.clone()}</td>
                                        <td><code>{x.url.clone()}</code></td>
                                        <td>{x.clicks}</td>
                                        <td>{x.signups}</td>
                                        <td>{x.sales}</td>
                                        <td>{format_money(x.commission)}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table></div>
                        }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The promo code form, for creators and the platform admin.
#[component]
fn PromoForm(
    heading: &'static str,
    input: RwSignal<PromoInput>,
    action: Action<PromoInput, Result<(), AppError>>,
    products_hint: &'static str,
) -> impl IntoView {
    let error = RwSignal::new(None::<AppError>);
    let done = RwSignal::new(None::<String>);
    Effect::new(move |_| match action.value().get() {
        Some(Ok(())) => {
            error.set(None);
            done.set(Some(format!("Code {} created.", input.get_untracked().code.trim().to_uppercase())));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let text = move |label: &'static str,
                     id: &'static str,
                     field: &'static str,
                     get: fn(&PromoInput) -> String,
                     set: fn(&mut PromoInput, String)| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id prop:value=move || get(&input.get()) on:input=move |ev| { let v = event_target_value(&ev); input.update(|i| set(i, v)); }
                    aria-describedby=format!("{id}-error")/>
                <p class="field-error" id=format!("{id}-error") aria-live="polite">{field_message(error, field)}</p>
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby=format!("{}-h", heading.len())>
            <h2 id=format!("{}-h", heading.len())>{heading}</h2>
            <form on:submit=move |ev| { ev.prevent_default(); done.set(None); action.dispatch(input.get_untracked()); }>
                {text("Code", "promo-new-code", "code", |i| i.code.clone(), |i, v| i.code = v)}
                <div class="field">
                    <label for="promo-kind">"Discount type"</label>
                    <select id="promo-kind" on:change=move |ev| { let v = event_target_value(&ev); input.update(|i| i.kind = v); }>
                        <option value="percent">"Percent off"</option>
                        <option value="amount">"Amount off (dollars)"</option>
                    </select>
                </div>
                {text("Discount", "promo-value", "value", |i| i.value.clone(), |i, v| i.value = v)}
                <div class="field">
                    <label for="promo-duration">"Applies to"</label>
                    <select id="promo-duration" on:change=move |ev| { let v = event_target_value(&ev); input.update(|i| i.duration = v); }>
                        <option value="once">"The first payment"</option>
                        <option value="repeating">"Several months"</option>
                        <option value="forever">"Every payment"</option>
                    </select>
                </div>
                {text("Months (for several months)", "promo-months", "months", |i| i.months.clone(), |i, v| i.months = v)}
                {text("Last valid day (YYYY-MM-DD, optional)", "promo-until", "valid_until", |i| i.valid_until.clone(), |i, v| i.valid_until = v)}
                {text("Maximum redemptions (optional)", "promo-max", "max_redemptions", |i| i.max_redemptions.clone(), |i, v| i.max_redemptions = v)}
                <div class="field">
                    <label for="promo-products">"Products (optional)"</label>
                    <p class="hint" id="promo-products-hint">{products_hint}</p>
                    <input id="promo-products" prop:value=move || input.get().products on:input=move |ev| { let v = event_target_value(&ev); input.update(|i| i.products = v); }
                        aria-describedby="promo-products-hint promo-products-error"/>
                    <p class="field-error" id="promo-products-error" aria-live="polite">{field_message(error, "products")}</p>
                </div>
                <label><input type="checkbox" on:change=move |ev| { let v = event_target_checked(&ev); input.update(|i| i.first_time_only = v); }/>" First-time customers only"</label>
                <ErrorNotice error=general(error)/>
                <p role="status" class="form-success">{move || done.get()}</p>
                <button type="submit" disabled=move || action.pending().get()>"Create code"</button>
            </form>
        </section>
    }
}

#[component]
pub fn AdminBillingPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <AdminBilling/> }/> }
}

#[component]
fn AdminBilling() -> impl IntoView {
    let refund = Action::new(|(id, reason, amount): &(Uuid, String, String)| {
        admin_refund(*id, reason.clone(), Some(amount.clone()))
    });
    // Out here, so what was typed outlives the reload a refund causes.
    let refund_form = RefundForm {
        reason: RwSignal::new(String::new()),
        amount: RwSignal::new(String::new()),
        error: RwSignal::new(None),
    };
    Effect::new(move |_| {
        if let Some(r) = refund.value().get() {
            if r.is_ok() {
                refund_form.amount.set(String::new());
            }
            refund_form.error.set(r.err());
        }
    });
    let batch = Action::new(|_: &()| admin_payout_batch());
    let send = Action::new(|id: &Uuid| admin_send_payouts(*id));
    let promo_input =
        RwSignal::new(PromoInput { kind: "percent".into(), duration: "once".into(), ..Default::default() });
    let promo = Action::new(|input: &PromoInput| admin_create_promo(input.clone()));
    let minimum = SettingForm::new(Action::new(|amount: &String| admin_set_minimum_payout(amount.clone())));
    let journey_fee = SettingForm::new(Action::new(|percent: &String| admin_set_journey_fee(percent.clone())));
    let data = Resource::new(
        move || {
            let versions = (refund.version().get(), batch.version().get(), promo.version().get());
            (versions, send.version().get(), minimum.save.version().get())
        },
        |_| admin_billing(),
    );
    let csv = Action::new(|id: &Uuid| admin_payout_csv(*id));
    Effect::new(move |_| {
        if let Some(Ok(text)) = csv.value().get() {
            download("payouts.csv", &text);
        }
    });
    view! {
        <section class="page">
            <h1>"Billing administration"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <AdminData d=d refund=refund refund_form=refund_form batch=batch csv=csv send=send minimum=minimum journey_fee=journey_fee/> }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <BoostForm/>
            <DiscountForm/>
            <PromoForm heading="New platform promo code" input=promo_input action=promo products_hint="plan:premium, plan:creator …; empty for every plan"/>
        </section>
    }
}

type RefundAction = Action<(Uuid, String, String), Result<(), AppError>>;

/// A platform setting's form state, owned by the page so that what was typed and what the save
/// answered outlive the reload of the data (which a save, a refund or a batch sets off).
struct SettingForm<T: 'static> {
    value: RwSignal<String>,
    save: Action<String, Result<T, AppError>>,
    error: RwSignal<Option<AppError>>,
}

impl<T: 'static> Clone for SettingForm<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for SettingForm<T> {}

impl<T: Clone + Send + Sync + 'static> SettingForm<T> {
    fn new(save: Action<String, Result<T, AppError>>) -> Self {
        let form = SettingForm { value: RwSignal::new(String::new()), save, error: RwSignal::new(None) };
        Effect::new(move |_| {
            if let Some(r) = form.save.value().get() {
                form.error.set(r.err());
            }
        });
        form
    }

    /// Shows `saved` unless something is typed already.
    fn show(&self, saved: String) {
        if self.value.get_untracked().is_empty() {
            self.value.set(saved);
        }
    }
}

/// The reason and amount of the next refund, and what the last one answered.
#[derive(Clone, Copy)]
struct RefundForm {
    reason: RwSignal<String>,
    amount: RwSignal<String>,
    error: RwSignal<Option<AppError>>,
}

#[component]
fn AdminData(
    d: AdminBillingView,
    refund: RefundAction,
    refund_form: RefundForm,
    batch: Action<(), Result<Vec<PayoutView>, AppError>>,
    csv: Action<Uuid, Result<String, AppError>>,
    send: Action<Uuid, Result<Vec<PayoutView>, AppError>>,
    minimum: SettingForm<i64>,
    journey_fee: SettingForm<u32>,
) -> impl IntoView {
    let RefundForm { reason, amount, error } = refund_form;
    // Plans sold by the seat go to organizations.
    let givable: Vec<(String, String)> = d
        .plans
        .iter()
        .map(|p| {
            let name = p.config.name.clone();
            (p.code.clone(), if p.config.per_seat { format!("{name} (for an organization)") } else { name })
        })
        .collect();
    view! {
        <section class="card" aria-labelledby="admin-payments">
            <h2 id="admin-payments">"Payments"</h2>
            <BoundField id="refund-reason".into() label="Refund reason" value=reason error=error_for(error, "reason")/>
            <BoundField id="refund-amount".into() label="Refund amount" value=amount error=error_for(error, "amount")
                hint="Empty refunds all that is left of the payment."/>
            <ErrorNotice error=general(error)/>
            <div class="table-scroll"><table>
                <caption class="visually-hidden">"Payments"</caption>
                <thead><tr><th scope="col">"Date"</th><th scope="col">"What"</th><th scope="col">"Buyer"</th><th scope="col">"Amount"</th><th scope="col">"Seller share"</th><th scope="col">"Status"</th><th scope="col">"Action"</th></tr></thead>
                <tbody>{d.payments.into_iter().map(|p| {
                    let id = p.id;
                    let what = p.description.clone();
                    view! {
                        <tr>
                            <td><LocalTime at=p.created_at/></td>
                            <td>{p.description.clone()}</td>
                            <td>{p.buyer.clone()}</td>
                            <td>{format_money(p.amount)}</td>
                            <td>{format_money(p.seller_share)}</td>
                            <td>{payment_status(&p.status, p.refunded)}</td>
                            <td>{(p.status == "paid").then(|| view! {
                                <button type="button" class="danger small" aria-label=format!("Refund {what} ({})", p.buyer)
                                    on:click=move |_| { refund.dispatch((id, reason.get_untracked(), amount.get_untracked())); }>"Refund"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table></div>
        </section>
        <section class="card" aria-labelledby="admin-balances">
            <h2 id="admin-balances">"Balances owed"</h2>
            {if d.balances.is_empty() { view! { <p>"Nobody is owed anything."</p> }.into_any() } else { view! {
                <ul>{d.balances.into_iter().map(|b| view! { <li>{format!("{} <{}>: {}", b.name, b.email, format_money(b.balance))}</li> }).collect_view()}</ul>
            }.into_any() }}
            <button type="button" disabled=move || batch.pending().get() on:click=move |_| { batch.dispatch(()); }>
                {format!("Create a payout batch (balances of {} or more)", format_money(d.minimum_payout))}
            </button>
            <p role="status">{move || batch.value().get().map(|r| match r {
                Ok(p) if p.is_empty() => "Nobody is owed enough for a payout.".to_owned(),
                Ok(p) => format!("Payout batch created: {}", payout_outcome(&p)),
                Err(e) => e.to_string(),
            })}</p>
            <MinimumPayout current=d.minimum_payout form=minimum/>
            <h3>"Payout batches"</h3>
            <ul>{d.batches.into_iter().map(|b| {
                let id = b.id;
                view! {
                    <li>
                        <LocalTime at=b.created_at/>{format!(": {} payouts, {} ", b.payouts, format_money(b.total))}
                        <button type="button" class="small" on:click=move |_| { csv.dispatch(id); }>"Download CSV"</button>
                        {(b.method == "stripe").then(|| view! {
                            <button type="button" class="small secondary" disabled=move || send.pending().get()
                                on:click=move |_| { send.dispatch(id); }>"Send pending through Stripe"</button>
                        })}
                    </li>
                }
            }).collect_view()}</ul>
            <p role="status">{move || send.value().get().map(|r| match r {
                Ok(p) => payout_outcome(&p),
                Err(e) => e.to_string(),
            })}</p>
        </section>
        <PlanOverrideForm plans=givable/>
        <JourneyFee bps=d.journey_fee_bps form=journey_fee/>
        <section class="card" aria-labelledby="admin-plans">
            <h2 id="admin-plans">"Plans"</h2>
            <p class="hint">"Saving a plan makes a new version for new subscribers; current subscribers keep theirs."</p>
            {d.plans.into_iter().map(|p| view! { <PlanEditor plan=p/> }).collect_view()}
        </section>
        <section class="card" aria-labelledby="admin-promos">
            <h2 id="admin-promos">"Platform promo codes"</h2>
            <ul>{d.promos.into_iter().map(|p| view! {
                <li><code>{p.code.clone()}</code>{format!(" — {}, used {}{} times", p.discount.describe(), p.redeemed, p.max_redemptions.map(|m| format!(" of {m}")).unwrap_or_default())}</li>
            }).collect_view()}</ul>
        </section>
    }
}

/// The smallest balance a payout batch pays out.
#[component]
fn MinimumPayout(current: i64, form: SettingForm<i64>) -> impl IntoView {
    form.show(format!("{}.{:02}", current / 100, current % 100));
    let SettingForm { value: amount, save, error } = form;
    view! {
        <form aria-label="Minimum payout" on:submit=move |ev| { ev.prevent_default(); error.set(None); save.dispatch(amount.get_untracked()); }>
            <BoundField id="minimum-payout".into() label="Minimum payout" value=amount
                error=error_for(error, "minimum_payout") hint="Smaller balances wait for a later batch."/>
            <ErrorNotice error=general(error)/>
            <p role="status" class="form-success">{move || match save.value().get() {
                Some(Ok(cents)) => Some(format!("Minimum payout saved: {}.", format_money(cents))),
                _ => None,
            }}</p>
            <button type="submit" class="secondary" disabled=move || save.pending().get()>"Save minimum payout"</button>
        </form>
    }
}

/// The platform's share of journey sales, for sales from now on.
#[component]
fn JourneyFee(bps: u32, form: SettingForm<u32>) -> impl IntoView {
    form.show(format!("{}", f64::from(bps) / 100.0));
    let SettingForm { value: percent, save, error } = form;
    view! {
        <section class="card" aria-labelledby="admin-journey-fee">
            <h2 id="admin-journey-fee">"Journey fee"</h2>
            <form aria-label="Journey fee" on:submit=move |ev| { ev.prevent_default(); error.set(None); save.dispatch(percent.get_untracked()); }>
                <BoundField id="journey-fee".into() label="Journey fee (percent of each sale)" value=percent
                    error=error_for(error, "journey_fee") hint="The platform's share of journey tier sales from now on; creators receive the rest."/>
                <ErrorNotice error=general(error)/>
                <p role="status" class="form-success">{move || match save.value().get() {
                    Some(Ok(bps)) => Some(format!("Journey fee saved: {}%.", f64::from(bps) / 100.0)),
                    _ => None,
                }}</p>
                <button type="submit" disabled=move || save.pending().get()>"Save journey fee"</button>
            </form>
        </section>
    }
}

/// "2 payouts, $68.60 in all. 1 sent through Stripe. Waiting: Chris Creator (they have not set
/// up payouts with Stripe)."
fn payout_outcome(p: &[PayoutView]) -> String {
    let paid = p.iter().filter(|x| x.status == "paid").count();
    let waiting: Vec<String> = p
        .iter()
        .filter_map(|x| x.error.as_ref().map(|e| format!("{} ({})", x.party, e.trim_end_matches('.'))))
        .collect();
    let mut text = format!("{} payouts, {} in all.", p.len(), format_money(p.iter().map(|x| x.amount).sum()));
    if paid > 0 {
        text.push_str(&format!(" {paid} sent through Stripe."));
    }
    if !waiting.is_empty() {
        text.push_str(&format!(" Waiting: {}.", waiting.join(", ")));
    }
    text
}

fn opt_text(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn opt_parse(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

#[component]
fn PlanEditor(plan: PlanView) -> impl IntoView {
    let code = plan.code.clone();
    let c = plan.config.clone();
    let name = RwSignal::new(c.name.clone());
    let monthly = RwSignal::new(format!("{}.{:02}", c.monthly_price / 100, c.monthly_price % 100));
    let annual = RwSignal::new(c.annual_price.map(|a| format!("{}.{:02}", a / 100, a % 100)).unwrap_or_default());
    let active = RwSignal::new(opt_text(c.limits.max_active_sequences));
    let personal = RwSignal::new(opt_text(c.limits.max_personal_sequences));
    let error = RwSignal::new(None::<AppError>);
    let limits_base = c.limits.clone();
    let plan_code = plan.code.clone();
    let save = Action::new(move |(name, monthly, annual, limits): &(String, String, String, Limits)| {
        let (code, name, monthly, annual, limits) =
            (plan_code.clone(), name.clone(), monthly.clone(), annual.clone(), limits.clone());
        async move { admin_save_plan(code, name, monthly, annual, limits).await }
    });
    Effect::new(move |_| {
        if let Some(r) = save.value().get() {
            error.set(r.err());
        }
    });
    let id = |f: &str| format!("plan-{}-{f}", plan.code);
    view! {
        <form class="plan-editor" aria-label=format!("Plan {}", code) on:submit=move |ev| {
            ev.prevent_default();
            let mut limits = limits_base.clone();
            limits.max_active_sequences = opt_parse(&active.get_untracked());
            limits.max_personal_sequences = opt_parse(&personal.get_untracked());
            save.dispatch((name.get_untracked(), monthly.get_untracked(), annual.get_untracked(), limits));
        }>
            <h3>{format!("{} (version {})", c.name, plan.version)}</h3>
            <div class="field"><label for=id("name")>"Name"</label><input id=id("name") bind:value=name/>
                <p class="field-error" aria-live="polite">{field_message(error, "name")}</p></div>
            <div class="field"><label for=id("monthly")>"Monthly price"</label><input id=id("monthly") bind:value=monthly/>
                <p class="field-error" aria-live="polite">{field_message(error, "monthly_price")}</p></div>
            <div class="field"><label for=id("annual")>"Yearly price (empty: monthly only)"</label><input id=id("annual") bind:value=annual/>
                <p class="field-error" aria-live="polite">{field_message(error, "annual_price")}</p></div>
            <div class="field"><label for=id("active")>"Running sequences (empty: unlimited)"</label><input id=id("active") bind:value=active/></div>
            <div class="field"><label for=id("personal")>"Sequences of one's own (empty: unlimited)"</label><input id=id("personal") bind:value=personal/>
                <p class="field-error" aria-live="polite">{field_message(error, "limits")}</p></div>
            <p role="status">{move || save.value().get().and_then(|r| r.ok()).map(|v| format!("Saved as version {v}."))}</p>
            <ErrorNotice error=general(error)/>
            <button type="submit" disabled=move || save.pending().get()>{format!("Save {}", c.name)}</button>
        </form>
    }
}

/// The hint under the optional organization of an admin's override.
const ORG_HINT: &str = "The name of an organization they belong to: the override is for its plan instead of theirs.";

#[component]
fn BoostForm() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let quota = RwSignal::new("active_sequences".to_owned());
    let extra = RwSignal::new(String::new());
    let days = RwSignal::new("30".to_owned());
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let organization = RwSignal::new(String::new());
    let boost = Action::new(|args: &(String, String, String, String, String, String)| {
        let (a, b, c, d, e, f) = args.clone();
        admin_boost_quota(a, b, c, d, e, Some(f))
    });
    Effect::new(move |_| {
        if let Some(r) = boost.value().get() {
            error.set(r.err());
        }
    });
    let field = move |label: &'static str, id: &'static str, key: &'static str, value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id bind:value=value aria-describedby=format!("{id}-error")/>
                <p class="field-error" id=format!("{id}-error") aria-live="polite">{field_message(error, key)}</p>
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby="boost-h">
            <h2 id="boost-h">"Boost a quota"</h2>
            <form on:submit=move |ev| {
                ev.prevent_default();
                boost.dispatch((email.get_untracked(), quota.get_untracked(), extra.get_untracked(), days.get_untracked(), reason.get_untracked(), organization.get_untracked()));
            }>
                {field("Person's email", "boost-email", "email", email)}
                <BoundField label="Their organization to boost (optional)" id="boost-org".into() value=organization error=error_for(error, "organization") hint=ORG_HINT/>
                <div class="field">
                    <label for="boost-quota">"Quota"</label>
                    <select id="boost-quota" on:change=move |ev| quota.set(event_target_value(&ev))>
                        {crate::domain::billing::Quota::ALL.into_iter().map(|q| view! { <option value=q.key()>{capitalize(q.label())}</option> }).collect_view()}
                    </select>
                </div>
                {field("Extra", "boost-extra", "extra", extra)}
                {field("For how many days", "boost-days", "days", days)}
                {field("Reason", "boost-reason", "reason", reason)}
                <ErrorNotice error=general(error)/>
                <p role="status">{move || matches!(boost.value().get(), Some(Ok(()))).then_some("Quota boosted.")}</p>
                <button type="submit" disabled=move || boost.pending().get()>"Boost quota"</button>
            </form>
        </section>
    }
}

/// Takes a percentage off a person's plan for some months.
#[component]
fn DiscountForm() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let percent = RwSignal::new(String::new());
    let months = RwSignal::new("3".to_owned());
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let organization = RwSignal::new(String::new());
    let give = Action::new(|args: &(String, String, String, String, String)| {
        let (a, b, c, d, e) = args.clone();
        admin_discount(a, b, c, d, Some(e))
    });
    Effect::new(move |_| {
        if let Some(r) = give.value().get() {
            error.set(r.err());
        }
    });
    view! {
        <section class="card" aria-labelledby="discount-h">
            <h2 id="discount-h">"Discount a plan"</h2>
            <p class="hint">"Each renewal in the coming months is this much off. Plans Stripe bills get a coupon in Stripe instead."</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                give.dispatch((email.get_untracked(), percent.get_untracked(), months.get_untracked(), reason.get_untracked(), organization.get_untracked()));
            }>
                <BoundField label="Whose plan (email)" id="discount-email".into() value=email error=error_for(error, "email")/>
                <BoundField label="Their organization to discount (optional)" id="discount-org".into() value=organization error=error_for(error, "organization") hint=ORG_HINT/>
                <BoundField label="Percent off" id="discount-percent".into() value=percent error=error_for(error, "percent")/>
                <BoundField label="Months" id="discount-months".into() value=months error=error_for(error, "months")/>
                <BoundField label="Reason for the discount" id="discount-reason".into() value=reason error=error_for(error, "reason")/>
                <ErrorNotice error=general(error)/>
                <p role="status">{move || matches!(give.value().get(), Some(Ok(()))).then_some("Discount given.")}</p>
                <button type="submit" disabled=move || give.pending().get()>"Give discount"</button>
            </form>
        </section>
    }
}

/// Gives a person a plan for a while, without payment.
#[component]
fn PlanOverrideForm(plans: Vec<(String, String)>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let plan = RwSignal::new(plans.get(1).or(plans.first()).map(|p| p.0.clone()).unwrap_or_default());
    let days = RwSignal::new("30".to_owned());
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let organization = RwSignal::new(String::new());
    let give = Action::new(|args: &(String, String, String, String, String)| {
        let (a, b, c, d, e) = args.clone();
        admin_set_plan(a, b, c, d, Some(e))
    });
    Effect::new(move |_| {
        if let Some(r) = give.value().get() {
            error.set(r.err());
        }
    });
    let field = move |label: &'static str, id: &'static str, key: &'static str, value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id bind:value=value aria-describedby=format!("{id}-error")/>
                <p class="field-error" id=format!("{id}-error") aria-live="polite">{field_message(error, key)}</p>
            </div>
        }
    };
    let selected = plan.get_untracked();
    view! {
        <section class="card" aria-labelledby="override-h">
            <h2 id="override-h">"Give a plan"</h2>
            <p class="hint">"Without payment, for a while; it ends by itself."</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                give.dispatch((email.get_untracked(), plan.get_untracked(), days.get_untracked(), reason.get_untracked(), organization.get_untracked()));
            }>
                {field("Email of the person", "override-email", "email", email)}
                <BoundField label="Their organization to give it to (optional)" id="override-org".into() value=organization error=error_for(error, "organization") hint=ORG_HINT/>
                <div class="field">
                    <label for="override-plan">"Plan to give"</label>
                    <select id="override-plan" on:change=move |ev| plan.set(event_target_value(&ev))>
                        {plans.into_iter().map(|(code, name)| {
                            let chosen = code == selected;
                            view! { <option value=code selected=chosen>{name}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {field("Days", "override-days", "days", days)}
                {field("Why", "override-reason", "reason", reason)}
                <ErrorNotice error=general(error)/>
                <p role="status">{move || matches!(give.value().get(), Some(Ok(()))).then_some("Plan given.")}</p>
                <button type="submit" disabled=move || give.pending().get()>"Give plan"</button>
            </form>
        </section>
    }
}

/// Offers `text` as a file download.
pub(crate) fn download(name: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let href = format!("data:text/csv;charset=utf-8,{}", js_sys::encode_uri_component(text));
        if let Ok(a) = document.create_element("a") {
            let a: web_sys::HtmlElement = a.unchecked_into();
            let _ = a.set_attribute("href", &href);
            let _ = a.set_attribute("download", name);
            a.click();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, text);
}
