//! Cairn's application: shared domain, server functions and the Leptos UI, compiled for the
//! server (`ssr`) and for the browser (`hydrate`).

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod domain;
pub mod dto;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ports;
#[cfg(feature = "ssr")]
pub mod security;

use components::layout::{Layout, provide_me};
use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::SsrMode;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app. Its inline scripts carry the request's nonce, which the
/// server's `security_headers` names in the Content-Security-Policy.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_me();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title text="Cairn"/>
        <Meta name="description" content="Build, sell and run proactive, AI-guided development programs."/>
        <Meta name="theme-color" content="#2f5d50"/>
        <Link rel="stylesheet" href="/pkg/cairn.css"/>
        <Link rel="manifest" href="/manifest.webmanifest"/>
        <Link rel="icon" href="/icons/icon-192.png"/>
        <Link rel="apple-touch-icon" href="/icons/icon-192.png"/>
        <Router>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                <Layout>
                    <Routes fallback=pages::NotFound>
                        <Route path=path!("/") view=pages::home::HomePage/>
                        <Route path=path!("/sign-up") view=pages::auth::SignUpPage/>
                        <Route path=path!("/sign-in") view=pages::auth::SignInPage/>
                        <Route path=path!("/sign-in/second-factor") view=pages::auth::SecondFactorPage/>
                        <Route path=path!("/verify-email") view=pages::auth::VerifyEmailPage/>
                        <Route path=path!("/forgot-password") view=pages::auth::ForgotPasswordPage/>
                        <Route path=path!("/reset-password") view=pages::auth::ResetPasswordPage/>
                        <Route path=path!("/magic-link") view=pages::auth::MagicLinkPage/>
                        <Route path=path!("/magic") view=pages::auth::MagicPage/>
                        <Route path=path!("/invite") view=pages::orgs::InvitePage/>
                        <Route path=path!("/settings") view=pages::settings::SettingsPage/>
                        <Route path=path!("/orgs") view=pages::orgs::OrgsPage/>
                        <Route path=path!("/org/members") view=pages::orgs::MembersPage/>
                        <Route path=path!("/org/teams") view=pages::orgs::TeamsPage/>
                        <Route path=path!("/org/settings") view=pages::orgs::OrgSettingsPage/>
                        <Route path=path!("/org/audit") view=pages::orgs::AuditPage/>
                        // The library pages are rendered whole before they are sent: streamed out of
                        // order, a suspense that resolved after the WASM loaded was sometimes left
                        // unhydrated (buttons without handlers).
                        <Route path=path!("/prompts") view=pages::prompts::PromptsPage ssr=SsrMode::Async/>
                        <Route path=path!("/prompts/new") view=pages::prompts::NewPromptPage/>
                        <Route path=path!("/prompts/import") view=pages::import::ImportPage/>
                        <Route path=path!("/prompts/:id") view=pages::prompts::PromptPage ssr=SsrMode::Async/>
                        <Route path=path!("/org/api-keys") view=pages::api_keys::ApiKeysPage/>
                        <Route path=path!("/org/webhooks") view=pages::webhooks::WebhooksPage/>
                        <Route path=path!("/p/:id") view=pages::public::PublicPromptPage ssr=SsrMode::Async/>
                        <Route path=path!("/analytics") view=pages::analytics::AnalyticsPage ssr=SsrMode::Async/>
                        <Route path=path!("/org/webhooks/:id") view=pages::webhooks::WebhookPage ssr=SsrMode::Async/>
                        <Route path=path!("/sequences") view=pages::sequences::SequencesPage ssr=SsrMode::Async/>
                        <Route path=path!("/sequences/:id") view=pages::sequences::SequencePage ssr=SsrMode::Async/>
                        <Route path=path!("/journeys") view=pages::journeys::JourneysPage ssr=SsrMode::Async/>
                        <Route path=path!("/journeys/:id") view=pages::journeys::JourneyPage ssr=SsrMode::Async/>
                        <Route path=path!("/reviews") view=pages::desks::ReviewsPage ssr=SsrMode::Async/>
                        <Route path=path!("/sessions") view=pages::desks::SessionsPage ssr=SsrMode::Async/>
                        <Route path=path!("/inbox") view=pages::inbox::InboxPage ssr=SsrMode::Async/>
                        <Route path=path!("/inbox/:id") view=pages::inbox::ConversationPage ssr=SsrMode::Async/>
                        <Route path=path!("/sequences/:id/people/:sub") view=pages::coach::CoachPage ssr=SsrMode::Async/>
                        <Route path=path!("/decisions") view=pages::inbox::DecisionsPage ssr=SsrMode::Async/>
                        <Route path=path!("/notifications") view=pages::comments::NotificationsPage/>
                        <Route path=path!("/activity") view=pages::activity::ActivityPage/>
                        <Route path=path!("/admin/users") view=pages::admin::AdminUsersPage/>
                        <Route path=path!("/admin/billing") view=pages::billing::AdminBillingPage/>
                        <Route path=path!("/admin/business") view=pages::business::BusinessPage/>
                        <Route path=path!("/billing") view=pages::billing::BillingPage/>
                        <Route path=path!("/billing/checkout/:id") view=pages::billing::CheckoutPage/>
                        <Route path=path!("/billing/receipts/:id") view=pages::billing::ReceiptPage/>
                        <Route path=path!("/sales") view=pages::billing::SalesPage/>
                        <Route path=path!("/dev/mailbox") view=pages::dev::MailboxPage/>
                        <Route path=path!("/offline") view=pages::OfflinePage/>
                    </Routes>
                </Layout>
            </div>
        </Router>
    }
}
