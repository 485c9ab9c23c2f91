//! The organization's prompt analytics: uses over time (a chart and its table), most used and
//! most viewed prompts, activity by member, categories; a period to choose and a CSV download.

use super::SignedIn;
use crate::api::analytics::{PERIODS, analytics};
use crate::components::layout::can_in_active_org;
use crate::domain::Action;
use crate::dto::{AnalyticsView, DayUsage, Me};
use leptos::prelude::*;

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Analytics me=me/> }/> }
}

#[component]
fn Analytics(me: Me) -> impl IntoView {
    let Some(org) = me.active_org.clone().filter(|_| can_in_active_org(&me, Action::ViewAnalytics)) else {
        return view! {
            <section class="page narrow"><h1>"Analytics"</h1><p class="notice">"Only Owners and Admins see the organization's analytics."</p></section>
        }
        .into_any();
    };
    let days = RwSignal::new("30".to_owned());
    let data = Resource::new(move || days.get(), |d| analytics(d.parse().unwrap_or(30)));
    view! {
        <section class="page analytics">
            <div class="page-head">
                <h1>"Analytics"</h1>
                <div class="field">
                    <label for="analytics-period">"Period"</label>
                    <select id="analytics-period" bind:value=days>
                        {PERIODS.map(|d| view! { <option value=d.to_string()>{format!("Last {d} days")}</option> }).collect_view()}
                    </select>
                </div>
                <a href=move || format!("/orgs/{}/analytics.csv?days={}", org.id, days.get()) download="analytics.csv">"Download CSV"</a>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move { match data.await {
                    Ok(view) => report(view).into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }})}
            </Transition>
        </section>
    }
    .into_any()
}

fn report(v: AnalyticsView) -> impl IntoView {
    let uses: i64 = v.series.iter().map(|d| d.uses).sum();
    let views: i64 = v.series.iter().map(|d| d.views).sum();
    let most_categories = v.categories.iter().map(|c| c.prompts).max().unwrap_or(1).max(1);
    view! {
        <p class="muted">{format!("{} to {} (UTC): {uses} uses and {views} views.", v.from, v.to)}</p>
        <section class="card" aria-labelledby="uses-h">
            <h2 id="uses-h">"Uses over time"</h2>
            {chart(&v.series)}
            <details>
                <summary>"Uses and views per day as a table"</summary>
                <div class="table-scroll">
                    <table>
                        <thead><tr><th scope="col">"Day"</th><th scope="col">"Uses"</th><th scope="col">"Views"</th></tr></thead>
                        <tbody>{v.series.iter().map(|d| view! { <tr><td>{d.day.clone()}</td><td>{d.uses}</td><td>{d.views}</td></tr> }).collect_view()}</tbody>
                    </table>
                </div>
            </details>
        </section>
        <div class="analytics-grid">
            <section class="card" aria-labelledby="used-h">
                <h2 id="used-h">"Most used prompts"</h2>
                {prompt_table(&v.most_used, "Most used prompts", true)}
            </section>
            <section class="card" aria-labelledby="viewed-h">
                <h2 id="viewed-h">"Most viewed prompts"</h2>
                {prompt_table(&v.most_viewed, "Most viewed prompts", false)}
            </section>
        </div>
        <section class="card" aria-labelledby="members-h">
            <h2 id="members-h">"Activity by member"</h2>
            {if v.members.is_empty() {
                view! { <p class="muted">"Nobody did anything in this period."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table aria-label="Activity by member">
                            <thead><tr><th scope="col">"Member"</th><th scope="col">"Created"</th><th scope="col">"Edited"</th>
                                <th scope="col">"Comments"</th><th scope="col">"Runs"</th><th scope="col">"All actions"</th></tr></thead>
                            <tbody>{v.members.iter().map(|m| view! {
                                <tr><td>{m.name.clone()}</td><td>{m.created}</td><td>{m.edited}</td><td>{m.comments}</td><td>{m.runs}</td><td>{m.total}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="categories-h">
            <h2 id="categories-h">"Categories"</h2>
            <div class="table-scroll">
                <table aria-label="Categories">
                    <thead><tr><th scope="col">"Category"</th><th scope="col">"Prompts"</th><th scope="col">"Share"</th><th scope="col">"Uses"</th><th scope="col">"Views"</th></tr></thead>
                    <tbody>{v.categories.iter().map(|c| view! {
                        <tr>
                            <td>{c.category.clone()}</td>
                            <td>{c.prompts}</td>
                            <td><meter min="0" max=most_categories value=c.prompts aria-label=format!("{} prompts in {}", c.prompts, c.category)></meter></td>
                            <td>{c.uses}</td>
                            <td>{c.views}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
        </section>
    }
}

fn prompt_table(rows: &[crate::dto::TopPrompt], label: &'static str, by_uses: bool) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="muted">"No prompt was used or viewed in this period."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table aria-label=label>
                <thead><tr><th scope="col">"Prompt"</th><th scope="col">{if by_uses { "Uses" } else { "Views" }}</th><th scope="col">{if by_uses { "Views" } else { "Uses" }}</th></tr></thead>
                <tbody>{rows.iter().map(|t| view! {
                    <tr>
                        <td><a href=format!("/prompts/{}", t.id)>{t.title.clone()}</a></td>
                        <td>{if by_uses { t.uses } else { t.views }}</td>
                        <td>{if by_uses { t.views } else { t.uses }}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Uses per day as bars (the table beside it carries the same numbers for screen readers).
fn chart(series: &[DayUsage]) -> AnyView {
    let width = 600.0_f64;
    let height = 160.0_f64;
    let max = series.iter().map(|d| d.uses).max().unwrap_or(0).max(1) as f64;
    let slot = width / series.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let label = format!(
        "Uses per day from {} to {}; the most in one day: {}.",
        series.first().map(|d| d.day.as_str()).unwrap_or(""),
        series.last().map(|d| d.day.as_str()).unwrap_or(""),
        max as i64
    );
    view! {
        <svg class="chart" viewBox=format!("0 0 {width} {}", height + 2.0) role="img" aria-label=label preserveAspectRatio="none">
            <line x1="0" y1=height x2=width y2=height class="axis"/>
            {series.iter().enumerate().map(|(i, d)| {
                let h = (d.uses as f64 / max) * (height - 4.0);
                view! {
                    <rect x=format!("{:.1}", i as f64 * slot + (slot - bar) / 2.0) y=format!("{:.1}", height - h)
                        width=format!("{bar:.1}") height=format!("{h:.1}") class="bar">
                        <title>{format!("{}: {} uses, {} views", d.day, d.uses, d.views)}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}
