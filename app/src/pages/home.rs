//! The landing page when signed out; the dashboard when signed in.

use crate::components::layout::{can_in_active_org, use_me};
use crate::domain::Action;
use crate::dto::Me;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let me = use_me();
    view! {
        <Transition fallback=|| view! { <p class="page">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <Dashboard me=me/> }.into_any(),
                    _ => view! { <Landing/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Landing() -> impl IntoView {
    view! {
        <section class="page hero">
            <h1>"Programs that start the conversation"</h1>
            <p class="lead">"Cairn lets creators and coaches build, sell and run proactive, AI-guided development programs: sequences that reach out at the right moment, journeys clients work through, and a shared prompt library."</p>
            <p class="actions">
                <A href="/sign-up" attr:class="button">"Create an account"</A>
                <A href="/sign-in">"Sign in"</A>
            </p>
        </section>
    }
}

#[component]
fn Dashboard(me: Me) -> impl IntoView {
    let org = me.active_org.clone();
    let abilities = [
        (Action::CreatePrompt, "create and edit your own prompts"),
        (Action::EditPrompt, "edit everyone's prompts"),
        (Action::CreateJourney, "build journeys"),
        (Action::ManageMembers, "invite and remove members"),
        (Action::ViewAuditLog, "read the audit log"),
        (Action::ManageBilling, "manage billing"),
        (Action::DeleteOrg, "delete the organization"),
    ];
    let can_do: Vec<&str> = abilities.iter().filter(|(a, _)| can_in_active_org(&me, *a)).map(|(_, t)| *t).collect();
    let roles: Vec<String> = me
        .platform_roles
        .iter()
        .map(|r| r.label().to_string())
        .chain(me.capabilities.iter().map(|c| c.label().to_string()))
        .collect();
    view! {
        <section class="page">
            <h1>{format!("Welcome, {}", me.display_name)}</h1>
            {org.map(|org| view! {
                <div class="card">
                    <h2>{org.name.clone()}</h2>
                    <p>"Your role: " <strong>{org.role.label()}</strong></p>
                    <p>{if can_do.is_empty() { "You can read prompts, comment and favorite.".to_string() } else { format!("You can {}.", can_do.join(", ")) }}</p>
                </div>
            })}
            {(!roles.is_empty()).then(|| view! { <p>"Platform roles: " {roles.join(", ")}</p> })}
            <ul class="links">
                <li><A href="/prompts">"Prompt library"</A></li>
                <li><A href="/journeys">"Journeys"</A></li>
                <li><A href="/org/members">"Members"</A></li>
                <li><A href="/orgs">"Your organizations"</A></li>
                <li><A href="/settings">"Account settings"</A></li>
            </ul>
        </section>
    }
}
