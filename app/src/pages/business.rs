//! The platform admin's business dashboard (`/admin/business`): MRR and its movements, ARR,
//! subscribers, churn, ARPU, LTV, revenue by product, creator and plan, AI cost against revenue
//! and pending payouts, with a chart, tables and a CSV download.

use super::SignedIn;
use super::billing::download;
use crate::api::billing::{BusinessView, admin_business, admin_business_csv};
use crate::components::layout::LocalTime;
use crate::domain::billing::format_money;
use crate::domain::business::{MonthFigures, RevenueLine};
use crate::dto::Me;
use leptos::prelude::*;

#[component]
pub fn BusinessPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Business/> }/> }
}

#[component]
fn Business() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_business());
    let csv = Action::new(|_: &()| admin_business_csv());
    Effect::new(move |_| {
        if let Some(Ok(text)) = csv.value().get() {
            download("business.csv", &text);
        }
    });
    view! {
        <section class="page business">
            <div class="page-head">
                <h1>"Business"</h1>
                <button type="button" on:click=move |_| { csv.dispatch(()); } disabled=move || csv.pending().get()>
                    "Download CSV"
                </button>
            </div>
            <p role="alert" class="form-error">{move || csv.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => report(v).into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn percent(bps: i64) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn report(v: BusinessView) -> impl IntoView {
    let f = &v.figures;
    let this_month = f.months.last().cloned().unwrap_or_default();
    let stat = |label: &'static str, value: String, hint: String| {
        view! {
            <div class="stat" role="group" aria-label=label>
                <dt>{label}</dt>
                <dd>{value}</dd>
                <dd class="muted">{hint}</dd>
            </div>
        }
    };
    let stats = view! {
        <dl class="stats" role="region" aria-label="Key figures">
            {stat("MRR", format_money(f.mrr), format!("{} paying subscribers", f.subscribers))}
            {stat("ARR", format_money(f.arr), "MRR × 12".into())}
            {stat("ARPU", format_money(f.arpu), "per paying subscriber, monthly".into())}
            {stat("Churn", f.churn_bps.map_or("—".into(), percent), "subscribers lost in the last 30 days".into())}
            {stat("LTV", f.ltv.map_or("—".into(), format_money), match f.ltv { Some(_) => "ARPU ÷ monthly churn".into(), None => "needs churn to estimate".into() })}
            {stat("Revenue this month", format_money(this_month.revenue), format!("{} refunded", format_money(this_month.refunds)))}
            {stat("AI cost this month", format_money(this_month.ai_cost), format!("{} tokens, each call at the rate then (now {} per million)", this_month.ai_tokens, format_money(v.ai_cost_per_million_tokens)))}
            {stat("Owed to creators", format_money(v.owed), format!("{} above the payout minimum; {} in unpaid batches", v.owed_parties, format_money(v.pending_payouts)))}
        </dl>
    };
    let names = v.clone();
    let name = move |key: &str| names.name(key);
    let plans = f.active_plans.clone();
    view! {
        <p class="muted">"As of " <LocalTime at=v.generated_at/> ". Recurring revenue counts list prices (a yearly plan as a twelfth); revenue is what the ledger booked."</p>
        {stats}
        <section class="card" aria-labelledby="mrr-heading">
            <h2 id="mrr-heading">"Monthly recurring revenue"</h2>
            {chart(&f.months)}
            <div class="table-scroll">
                <table>
                    <caption class="visually-hidden">"MRR movements and revenue by month"</caption>
                    <thead><tr>
                        <th scope="col">"Month"</th><th scope="col">"MRR"</th><th scope="col">"New"</th><th scope="col">"Expansion"</th>
                        <th scope="col">"Contraction"</th><th scope="col">"Churn"</th><th scope="col">"Net"</th><th scope="col">"Subscribers"</th>
                        <th scope="col">"Revenue"</th><th scope="col">"Refunds"</th><th scope="col">"Platform share"</th><th scope="col">"AI cost"</th>
                    </tr></thead>
                    <tbody>{f.months.iter().rev().map(|m| view! {
                        <tr>
                            <th scope="row">{m.month.clone()}</th>
                            <td>{format_money(m.mrr)}</td>
                            <td>{format_money(m.new)}</td>
                            <td>{format_money(m.expansion)}</td>
                            <td>{format_money(m.contraction)}</td>
                            <td>{format_money(m.churn)}</td>
                            <td>{format_money(m.net())}</td>
                            <td>{m.subscribers}</td>
                            <td>{format_money(m.revenue)}</td>
                            <td>{format_money(m.refunds)}</td>
                            <td>{format_money(m.platform)}</td>
                            <td>{format_money(m.ai_cost)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
        </section>
        <div class="analytics-grid">
            <section class="card" aria-labelledby="plans-heading">
                <h2 id="plans-heading">"Paying subscribers by plan"</h2>
                {if plans.is_empty() {
                    view! { <p class="muted">"Nobody pays for a plan yet."</p> }.into_any()
                } else {
                    let name = name.clone();
                    view! {
                        <div class="table-scroll"><table>
                            <caption class="visually-hidden">"Paying subscribers by plan"</caption>
                            <thead><tr><th scope="col">"Plan"</th><th scope="col">"Subscribers"</th><th scope="col">"MRR"</th></tr></thead>
                            <tbody>{plans.into_iter().map(|p| view! {
                                <tr><th scope="row">{name(&p.plan)}</th><td>{p.subscribers}</td><td>{format_money(p.mrr)}</td></tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    }.into_any()
                }}
            </section>
            {revenue_table("Revenue by product", "by-product", &f.by_product, &name, false)}
            {revenue_table("Revenue by creator", "by-creator", &f.by_creator, &name, true)}
            {revenue_table("Revenue by plan", "by-plan", &f.by_plan, &name, false)}
        </div>
    }
}

fn revenue_table(
    title: &'static str,
    id: &'static str,
    lines: &[RevenueLine],
    name: &dyn Fn(&str) -> String,
    creators: bool,
) -> AnyView {
    let body = if lines.is_empty() {
        view! { <p class="muted">"No revenue in the last 12 months."</p> }.into_any()
    } else {
        view! {
            <div class="table-scroll"><table>
                <caption class="visually-hidden">{title}</caption>
                <thead><tr>
                    <th scope="col">{if creators { "Creator" } else { "What" }}</th><th scope="col">"Revenue"</th>
                    <th scope="col">{if creators { "Their share" } else { "Platform share" }}</th><th scope="col">"Payments"</th>
                </tr></thead>
                <tbody>{lines.iter().map(|l| view! {
                    <tr>
                        <th scope="row">{name(&l.key)}</th>
                        <td>{format_money(l.revenue)}</td>
                        <td>{format_money(if creators { l.seller_share } else { l.platform })}</td>
                        <td>{l.payments}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table></div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby=id>
            <h2 id=id>{title}</h2>
            {body}
        </section>
    }
    .into_any()
}

/// MRR at the end of each month as bars (the table below carries the same numbers).
fn chart(months: &[MonthFigures]) -> AnyView {
    let width = 600.0_f64;
    let height = 160.0_f64;
    let max = months.iter().map(|m| m.mrr).max().unwrap_or(0).max(1) as f64;
    let slot = width / months.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let label = format!(
        "MRR by month from {} to {}; the highest: {}.",
        months.first().map(|m| m.month.as_str()).unwrap_or(""),
        months.last().map(|m| m.month.as_str()).unwrap_or(""),
        format_money(max as i64)
    );
    view! {
        <svg class="chart" viewBox=format!("0 0 {width} {}", height + 2.0) role="img" aria-label=label preserveAspectRatio="none">
            <line x1="0" y1=height x2=width y2=height class="axis"/>
            {months.iter().enumerate().map(|(i, m)| {
                let h = (m.mrr.max(0) as f64 / max) * (height - 4.0);
                view! {
                    <rect x=format!("{:.1}", i as f64 * slot + (slot - bar) / 2.0) y=format!("{:.1}", height - h)
                        width=format!("{bar:.1}") height=format!("{h:.1}") class="bar">
                        <title>{format!("{}: MRR {}, net {}", m.month, format_money(m.mrr), format_money(m.net()))}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}
