//! Account settings: profile and timezone, password, two-factor, sessions.

use super::SignedIn;
use crate::api::account::{
    BeginTotpSetup, ChangePassword, ConfirmTotp, DisableTotp, RevokeSession, UpdateProfile, list_sessions,
};
use crate::components::forms::*;
use crate::components::layout::LocalTime;
use crate::dto::Me;
use leptos::prelude::*;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Settings me=me/> }/> }
}

#[component]
fn Settings(me: Me) -> impl IntoView {
    let profile = ServerAction::<UpdateProfile>::new();
    let password = ServerAction::<ChangePassword>::new();
    let pv = profile.value();
    let pw = password.value();
    view! {
        <section class="page narrow">
            <h1>"Settings"</h1>
            <section aria-labelledby="profile-h" class="card">
                <h2 id="profile-h">"Profile"</h2>
                <ActionForm action=profile>
                    <Checked>
                        <Field label="Your name" name="display_name" autocomplete="name" value=me.display_name.clone() check=check_display_name server_error=field_error(pv, "display_name")/>
                        <Field label="Timezone" name="timezone" value=me.timezone.clone() hint="Times are shown in this zone, e.g. Europe/Berlin." check=check_not_empty server_error=field_error(pv, "timezone")/>
                        <FormMessage error=field_error(pv, "") success=Signal::derive(move || matches!(pv.get(), Some(Ok(()))).then(|| "Profile saved.".to_string()))/>
                        <Submit label="Save profile" pending=profile.pending()/>
                    </Checked>
                </ActionForm>
            </section>
            <section aria-labelledby="password-h" class="card">
                <h2 id="password-h">"Password"</h2>
                <ActionForm action=password>
                    <Checked>
                        <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" check=check_not_empty server_error=field_error(pw, "current_password")/>
                        <Field label="New password" name="new_password" kind="password" autocomplete="new-password" check=check_password server_error=field_error(pw, "new_password")/>
                        <FormMessage error=field_error(pw, "") success=Signal::derive(move || matches!(pw.get(), Some(Ok(()))).then(|| "Password changed; your other sessions were signed out.".to_string()))/>
                        <Submit label="Change password" pending=password.pending()/>
                    </Checked>
                </ActionForm>
            </section>
            <TwoFactor enabled=me.totp_enabled/>
            <MessageChannelsCard/>
            <crate::components::push::PushCard/>
            <Sessions/>
        </section>
    }
}

#[component]
fn TwoFactor(enabled: bool) -> impl IntoView {
    let begin = ServerAction::<BeginTotpSetup>::new();
    let confirm = ServerAction::<ConfirmTotp>::new();
    let disable = ServerAction::<DisableTotp>::new();
    let cv = confirm.value();
    let dv = disable.value();
    view! {
        <section aria-labelledby="tfa-h" class="card">
            <h2 id="tfa-h">"Two-factor authentication"</h2>
            {if enabled {
                view! {
                    <p>"Two-factor authentication is on."</p>
                    <Show when=move || !matches!(dv.get(), Some(Ok(()))) fallback=|| view! { <p role="status">"Two-factor authentication is now off."</p> }>
                        <ActionForm action=disable>
                            <Checked>
                                <Field label="Password to turn it off" name="password" kind="password" autocomplete="current-password" check=check_not_empty server_error=field_error(dv, "password")/>
                                <Submit label="Turn off two-factor" pending=disable.pending()/>
                            </Checked>
                        </ActionForm>
                    </Show>
                }.into_any()
            } else {
                view! {
                    <p>"Protect your account with a code from an authenticator app."</p>
                    <ActionForm action=begin>
                        <Submit label="Set up two-factor" pending=begin.pending()/>
                    </ActionForm>
                    {move || begin.value().get().map(|r| match r {
                        Ok(setup) => view! {
                            <div class="notice">
                                <p>"Add this key to your authenticator app: " <code class="secret">{setup.secret.clone()}</code></p>
                                <p class="muted"><a href=setup.otpauth_url.clone()>"Open in authenticator app"</a></p>
                                <ActionForm action=confirm>
                                    <Checked>
                                        <Field label="Code from the app" name="code" autocomplete="one-time-code" check=check_code server_error=field_error(cv, "code")/>
                                        <FormMessage error=field_error(cv, "")/>
                                        <Submit label="Turn on two-factor" pending=confirm.pending()/>
                                    </Checked>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    })}
                    {move || cv.get().and_then(|r| r.ok()).map(|codes| view! {
                        <div role="status" class="notice">
                            <p>"Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once:"</p>
                            <ul class="codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                        </div>
                    })}
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let sessions = Resource::new(move || revoke.version().get(), |_| list_sessions());
    view! {
        <section aria-labelledby="sessions-h" class="card">
            <h2 id="sessions-h">"Active sessions"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! {
                            <ul class="sessions">
                                {list.into_iter().map(|s| view! {
                                    <li>
                                        <span>{if s.current { "This device".to_string() } else { s.user_agent.clone() }}</span>
                                        <span class="muted">" · " {s.ip.clone()} " · last active " <LocalTime at=s.last_seen_at/></span>
                                        {(!s.current).then(|| view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="session_id" value=s.id.to_string()/>
                                                <button type="submit" aria-label=format!("Sign out session from {}", s.ip)>"Sign out this one"</button>
                                            </ActionForm>
                                        })}
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

/// Where new messages from sequences reach the person besides the app.
#[component]
fn MessageChannelsCard() -> impl IntoView {
    use crate::api::channels::{my_message_channels, save_message_channels};
    let current = Resource::new(|| (), |_| my_message_channels());
    view! {
        <section aria-labelledby="channels-h" class="card">
            <h2 id="channels-h">"Sequence messages"</h2>
            <p>"New messages always appear in your inbox. You can also hear of them here:"</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let channels = current.await.unwrap_or_default();
                    let email = RwSignal::new(channels.email);
                    let digest = RwSignal::new(channels.digest);
                    let webhook = RwSignal::new(channels.webhook_url.unwrap_or_default());
                    let save = Action::new(move |(email, digest, url): &(bool, bool, String)| {
                        let (email, digest, url) = (*email, *digest, url.clone());
                        async move { save_message_channels(email, digest, url).await }
                    });
                    let result = save.value();
                    view! {
                        <form on:submit=move |ev| { ev.prevent_default(); save.dispatch((email.get_untracked(), digest.get_untracked(), webhook.get_untracked())); }>
                            <label class="check">
                                <input type="checkbox" bind:checked=email/>
                                "Email me new messages, with a link to reply"
                            </label>
                            <label class="check">
                                <input type="checkbox" bind:checked=digest disabled=move || !email.get()/>
                                "As one daily digest instead of an email each"
                            </label>
                            <div class="field">
                                <label for="channels-webhook">"Slack or Teams webhook URL"</label>
                                <input id="channels-webhook" inputmode="url" bind:value=webhook aria-describedby="channels-webhook-hint channels-webhook-error"/>
                                <p class="hint" id="channels-webhook-hint">"An incoming-webhook address; leave it empty for none."</p>
                                <p class="field-error" id="channels-webhook-error" aria-live="polite">{field_error(result, "webhook_url")}</p>
                            </div>
                            <FormMessage error=field_error(result, "") success=Signal::derive(move || matches!(result.get(), Some(Ok(()))).then(|| "Saved.".to_string()))/>
                            <button type="submit" disabled=move || save.pending().get()>"Save message settings"</button>
                        </form>
                    }
                })}
            </Transition>
        </section>
    }
}
