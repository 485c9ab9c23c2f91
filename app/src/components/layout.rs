//! The app shell: header with navigation by role, organization switcher and account menu.

use crate::api::account::get_me;
use crate::api::auth::SignOut;
use crate::api::orgs::SwitchOrg;
use crate::domain::{Action, Actor, Membership, Resource as Target, can};
use crate::dto::Me;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

/// The signed-in person.
pub type MeResource = Resource<Result<Option<Me>, AppError>>;

/// A page-wide `me`, read only by effects in the browser (times in the person's timezone).
pub fn provide_me() -> MeResource {
    let me = Resource::new(|| (), |_| get_me());
    provide_context(me);
    me
}

/// A `me` of its own for one Suspense boundary. One resource read by several boundaries can
/// deadlock server rendering under concurrent load (a lock-order inversion in Leptos's reactive
/// graph, leptos-rs/leptos#4673 and #4851), so each boundary loads its own.
pub fn use_me() -> MeResource {
    Resource::new(|| (), |_| get_me())
}

/// What the signed-in person may do in their active organization.
pub fn can_in_active_org(me: &Me, action: Action) -> bool {
    let Some(org) = &me.active_org else { return false };
    let actor = Actor {
        user: Some(me.user_id),
        platform_roles: me.platform_roles.clone(),
        capabilities: me.capabilities.clone(),
        membership: Some(Membership {
            org: org.id,
            org_kind: org.kind,
            role: org.role,
            enterprise_admin: org.enterprise_admin,
            teams: vec![],
            led_teams: vec![],
        }),
    };
    can(&actor, action, &Target::Org(org.id))
}

/// Reloads the page from the server (after signing in or out, or switching organization).
pub fn reload_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me = use_me();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <A href="/" attr:class="brand">"Cairn"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => view! { <SignedInNav me=me/> }.into_any(),
                        _ => view! {
                            <nav aria-label="Account" class="nav">
                                <A href="/sign-in">"Sign in"</A>
                                <A href="/sign-up" attr:class="button">"Sign up"</A>
                            </nav>
                        }.into_any(),
                    }
                })}
            </Transition>
        </header>
        <main id="main" tabindex="-1">{children()}</main>
        <footer class="footer">
            <p>"Cairn — proactive, AI-guided development programs."</p>
            <crate::components::pwa::InstallPrompt/>
        </footer>
    }
}

#[component]
fn SignedInNav(me: Me) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            reload_to("/");
        }
    });
    let manage = can_in_active_org(&me, Action::ManageMembers);
    let audit = can_in_active_org(&me, Action::ViewAuditLog);
    let api_keys = can_in_active_org(&me, Action::ManageApiKeys);
    let webhooks = can_in_active_org(&me, Action::ManageWebhooks);
    let analytics = can_in_active_org(&me, Action::ViewAnalytics);
    let dev_mode = me.dev_mode;
    let platform_admin = me.platform_roles.contains(&crate::domain::PlatformRole::SystemAdmin);
    let creator = me.capabilities.contains(&crate::domain::CapabilityRole::Creator);
    let mentor = me.capabilities.contains(&crate::domain::CapabilityRole::Mentor);
    let concierge = me.capabilities.contains(&crate::domain::CapabilityRole::Concierge);
    view! {
        <nav aria-label="Main" class="nav">
            <A href="/">"Dashboard"</A>
            <A href="/prompts">"Prompts"</A>
            <A href="/sequences">"Sequences"</A>
            <A href="/journeys">"Journeys"</A>
            {mentor.then(|| view! { <A href="/reviews">"Reviews"</A> })}
            {concierge.then(|| view! { <A href="/sessions">"Sessions"</A> })}
            <InboxLink initial=me.unread_messages/>
            <A href="/decisions">"Decisions"</A>
            <A href="/activity">"Activity"</A>
            {analytics.then(|| view! { <A href="/analytics">"Analytics"</A> })}
            <A href="/org/members">"Members"</A>
            <A href="/org/teams">"Teams"</A>
            {manage.then(|| view! { <A href="/org/settings">"Organization"</A> })}
            {audit.then(|| view! { <A href="/org/audit">"Audit log"</A> })}
            {api_keys.then(|| view! { <A href="/org/api-keys">"API keys"</A> })}
            {webhooks.then(|| view! { <A href="/org/webhooks">"Webhooks"</A> })}
            {platform_admin.then(|| view! { <A href="/admin/users">"Platform"</A> })}
            {platform_admin.then(|| view! { <A href="/admin/billing">"Billing admin"</A> })}
            {platform_admin.then(|| view! { <A href="/admin/business">"Business"</A> })}
            {dev_mode.then(|| view! { <A href="/dev/mailbox">"Mailbox"</A> })}
        </nav>
        <OrgSwitcher me=me.clone()/>
        <A href="/notifications" attr:class="notifications-link"
            attr:aria-label=match me.unread_notifications { 0 => "Notifications".to_owned(), n => format!("Notifications, {n} unread") }>
            "🔔"{(me.unread_notifications > 0).then(|| view! { <span class="count">{me.unread_notifications}</span> })}
        </A>
        <details class="account-menu">
            <summary aria-label=format!("Account menu for {}", me.display_name)>{me.display_name.clone()}</summary>
            <div class="menu">
                <p class="muted">{me.email.clone()}</p>
                <A href="/settings">"Settings"</A>
                <A href="/billing">"Plan and billing"</A>
                {creator.then(|| view! { <A href="/sales">"Sales"</A> })}
                <A href="/orgs">"Organizations"</A>
                <ActionForm action=sign_out>
                    <button type="submit">"Sign out"</button>
                </ActionForm>
            </div>
        </details>
    }
}

/// The inbox link with its unread badge, counted again in the browser on every navigation (the
/// server renders the count `me` brought, with no resource of its own).
#[component]
fn InboxLink(initial: i64) -> impl IntoView {
    let count = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        Effect::new(move |first: Option<()>| {
            location.pathname.track();
            if first.is_some() {
                leptos::task::spawn_local(async move {
                    if let Ok(n) = crate::api::sequences::unread_count().await {
                        count.set(n);
                    }
                });
            }
        });
    }
    let unread = move || count.get();
    view! {
        <A href="/inbox" attr:aria-label=move || match unread() { 0 => "Inbox".to_owned(), n => format!("Inbox, {n} unread") }>
            "Inbox"{move || (unread() > 0).then(|| view! { <span class="badge" aria-hidden="true">{unread()}</span> })}
        </A>
    }
}

#[component]
fn OrgSwitcher(me: Me) -> impl IntoView {
    let switch = ServerAction::<SwitchOrg>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = switch.value().get() {
            reload_to("/");
        }
    });
    let active = me.active_org.as_ref().map(|o| o.id);
    view! {
        <ActionForm action=switch attr:class="org-switcher">
            <label for="org-switcher">"Organization"</label>
            <select id="org-switcher" name="org_id">
                {me.orgs.iter().map(|o| view! {
                    <option value=o.id.to_string() selected=Some(o.id) == active>
                        {format!("{} ({})", o.name, o.role.label())}
                    </option>
                }).collect_view()}
            </select>
            <button type="submit">"Switch"</button>
        </ActionForm>
    }
}

/// Children rendered in the browser only, once the page has hydrated (nothing in the server's
/// HTML). For a `Transition` over a resource inside a streamed page: streamed into the server's
/// HTML, such a Transition made hydration fail now and then under load ("expected a marker node").
#[component]
pub fn AfterHydration(children: ChildrenFn) -> impl IntoView {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    move || mounted.get().then(|| children())
}

/// A time shown in the viewer's timezone: UTC in the server's HTML, the person's zone once the
/// page runs in the browser.
#[component]
pub fn LocalTime(at: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let iso = at.to_rfc3339();
    let text = RwSignal::new(at.format("%Y-%m-%d %H:%M UTC").to_string());
    #[cfg(feature = "hydrate")]
    {
        let me = use_context::<MeResource>();
        let iso = iso.clone();
        Effect::new(move |_| {
            let tz = me.and_then(|m| m.get()).and_then(|r| r.ok()).flatten().map(|m| m.timezone);
            if let Some(formatted) = format_in_zone(&iso, tz.as_deref()) {
                text.set(formatted);
            }
        });
    }
    view! { <time datetime=iso>{text}</time> }
}

#[cfg(feature = "hydrate")]
fn format_in_zone(iso: &str, tz: Option<&str>) -> Option<String> {
    use wasm_bindgen::JsValue;
    let date = js_sys::Date::new(&JsValue::from_str(iso));
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v));
    // Named fields: V8 rejects dateStyle/timeStyle together with timeZoneName.
    for (key, value) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        set(key, value).ok()?;
    }
    if let Some(tz) = tz {
        set("timeZone", tz).ok()?;
    }
    // Constructed through Reflect so a bad zone (a RangeError) is an Err here, not a crash.
    use wasm_bindgen::JsCast;
    let intl = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("Intl")).ok()?;
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&intl, &JsValue::from_str("DateTimeFormat")).ok()?.dyn_into().ok()?;
    let format = js_sys::Reflect::construct(&constructor, &js_sys::Array::of2(&js_sys::Array::new(), &options)).ok()?;
    let format_fn: js_sys::Function =
        js_sys::Reflect::get(&format, &JsValue::from_str("format")).ok()?.dyn_into().ok()?;
    let formatted = format_fn.call1(&format, &date).ok()?;
    formatted.as_string()
}
