//! Sign up, sign in, second factor, email verification, password reset and magic links.

use super::safe_next;
use crate::api::auth::{
    MagicSignIn, RequestMagicLink, RequestPasswordReset, ResetPassword, SecondFactor, SignIn, SignUp, VerifyEmail,
    sign_in_options,
};
use crate::components::forms::*;
use crate::components::layout::reload_to;
use crate::dto::SignInOutcome;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

fn query(name: &'static str) -> Memo<Option<String>> {
    let q = use_query_map();
    Memo::new(move |_| q.with(|q| q.get(name)))
}

/// "Continue with …" buttons for the configured OAuth providers (plain form posts).
#[component]
fn OAuthButtons(next: Memo<Option<String>>) -> impl IntoView {
    let providers = Resource::new(|| (), |_| sign_in_options());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = providers.await.unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <div class="oauth" role="group" aria-label="Other ways to sign in">
                        {list.into_iter().map(|(id, label)| view! {
                            <form method="post" action=format!("/auth/oauth/{id}")>
                                <input type="hidden" name="next" value=move || safe_next(next.get())/>
                                <button type="submit" class="secondary">{format!("Continue with {label}")}</button>
                            </form>
                        }).collect_view()}
                    </div>
                })
            })}
        </Transition>
    }
}

/// Follows a successful sign-in: to the second factor, or on to `next`.
fn after_sign_in(outcome: SignInOutcome, next: String) {
    match outcome {
        SignInOutcome::SignedIn => reload_to(&next),
        SignInOutcome::SecondFactorRequired => reload_to(&format!("/sign-in/second-factor?next={next}")),
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    let next = query("next");
    let timezone = RwSignal::new("UTC".to_string());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
        if let Ok(tz) = js_sys::Reflect::get(&options, &wasm_bindgen::JsValue::from_str("timeZone"))
            && let Some(tz) = tz.as_string()
        {
            timezone.set(tz);
        }
    });
    let sent = Signal::derive(move || value.get().and_then(|r| r.ok()));
    view! {
        <section class="page narrow">
            <h1>"Create your account"</h1>
            <Show when=move || sent.get().is_none() fallback=move || view! {
                <div role="status" class="notice"><p>{sent.get()}</p></div>
            }>
                <ActionForm action=action>
                    <Checked>
                        <Field label="Your name" name="display_name" autocomplete="name" check=check_display_name server_error=field_error(value, "display_name")/>
                        <Field label="Email" name="email" kind="email" autocomplete="email" check=check_email server_error=field_error(value, "email")/>
                        <Field label="Password" name="password" kind="password" autocomplete="new-password"
                            hint="At least 10 characters; a phrase of a few words works well."
                            check=check_password server_error=field_error(value, "password")/>
                        <input type="hidden" name="timezone" prop:value=timezone/>
                        <FormMessage error=field_error(value, "")/>
                        <Submit label="Create account" pending=action.pending()/>
                    </Checked>
                </ActionForm>
            </Show>
            <OAuthButtons next=next/>
            <p>"Already have an account? " <A href=move || format!("/sign-in?next={}", safe_next(next.get()))>"Sign in"</A></p>
        </section>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    let next = query("next");
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = value.get() {
            after_sign_in(outcome, safe_next(next.get_untracked()));
        }
    });
    view! {
        <section class="page narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=action>
                <Checked>
                    <Field label="Email" name="email" kind="email" autocomplete="username" check=check_email server_error=field_error(value, "email")/>
                    <Field label="Password" name="password" kind="password" autocomplete="current-password" check=check_not_empty server_error=field_error(value, "password")/>
                    <FormMessage error=field_error(value, "")/>
                    <Submit label="Sign in" pending=action.pending()/>
                </Checked>
            </ActionForm>
            <OAuthButtons next=next/>
            <p><A href="/forgot-password">"Forgot your password?"</A>" · "<A href="/magic-link">"Email me a sign-in link"</A></p>
            <p>"New to Cairn? " <A href=move || format!("/sign-up?next={}", safe_next(next.get()))>"Create an account"</A></p>
        </section>
    }
}

#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let action = ServerAction::<SecondFactor>::new();
    let value = action.value();
    let next = query("next");
    Effect::new(move |_| {
        if let Some(Ok(())) = value.get() {
            reload_to(&safe_next(next.get_untracked()));
        }
    });
    view! {
        <section class="page narrow">
            <h1>"Two-factor authentication"</h1>
            <p>"Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
            <ActionForm action=action>
                <Checked>
                    <Field label="Code" name="code" autocomplete="one-time-code" check=check_code server_error=field_error(value, "code")/>
                    <FormMessage error=field_error(value, "")/>
                    <Submit label="Verify" pending=action.pending()/>
                </Checked>
            </ActionForm>
        </section>
    }
}

/// Confirming needs a click (a POST): links in mail are fetched by scanners, and a GET changes nothing.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let value = action.value();
    let token = query("token");
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = value.get() {
            after_sign_in(outcome, "/".into());
        }
    });
    view! {
        <section class="page narrow">
            <h1>"Confirm your email"</h1>
            <p>"One click and your account is ready."</p>
            <ActionForm action=action>
                <input type="hidden" name="token" prop:value=move || token.get().unwrap_or_default()/>
                <FormMessage error=Signal::derive(move || field_error(value, "token").get().or_else(|| field_error(value, "").get()))/>
                <Submit label="Confirm my email" pending=action.pending()/>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let value = action.value();
    view! {
        <section class="page narrow">
            <h1>"Reset your password"</h1>
            <p>"We will email you a link to choose a new password."</p>
            <ActionForm action=action>
                <Checked>
                    <Field label="Email" name="email" kind="email" autocomplete="email" check=check_email server_error=field_error(value, "email")/>
                    <FormMessage error=field_error(value, "") success=Signal::derive(move || value.get().and_then(|r| r.ok()))/>
                    <Submit label="Send reset link" pending=action.pending()/>
                </Checked>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let value = action.value();
    let token = query("token");
    view! {
        <section class="page narrow">
            <h1>"Choose a new password"</h1>
            <Show when=move || !matches!(value.get(), Some(Ok(()))) fallback=|| view! {
                <div role="status" class="notice">
                    <p>"Your password has been changed and every session signed out."</p>
                    <A href="/sign-in" attr:class="button">"Sign in"</A>
                </div>
            }>
                <ActionForm action=action>
                    <Checked>
                        <input type="hidden" name="token" prop:value=move || token.get().unwrap_or_default()/>
                        <Field label="New password" name="password" kind="password" autocomplete="new-password" check=check_password server_error=field_error(value, "password")/>
                        <FormMessage error=Signal::derive(move || field_error(value, "token").get().or_else(|| field_error(value, "").get()))/>
                        <Submit label="Set password" pending=action.pending()/>
                    </Checked>
                </ActionForm>
            </Show>
        </section>
    }
}

#[component]
pub fn MagicLinkPage() -> impl IntoView {
    let action = ServerAction::<RequestMagicLink>::new();
    let value = action.value();
    view! {
        <section class="page narrow">
            <h1>"Sign in with a link"</h1>
            <p>"We will email you a link that signs you in once."</p>
            <ActionForm action=action>
                <Checked>
                    <Field label="Email" name="email" kind="email" autocomplete="email" check=check_email server_error=field_error(value, "email")/>
                    <FormMessage error=field_error(value, "") success=Signal::derive(move || value.get().and_then(|r| r.ok()))/>
                    <Submit label="Email me a link" pending=action.pending()/>
                </Checked>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn MagicPage() -> impl IntoView {
    let action = ServerAction::<MagicSignIn>::new();
    let value = action.value();
    let token = query("token");
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = value.get() {
            after_sign_in(outcome, "/".into());
        }
    });
    view! {
        <section class="page narrow">
            <h1>"Sign in to Cairn"</h1>
            <ActionForm action=action>
                <input type="hidden" name="token" prop:value=move || token.get().unwrap_or_default()/>
                <FormMessage error=Signal::derive(move || field_error(value, "token").get().or_else(|| field_error(value, "").get()))/>
                <Submit label="Continue signing in" pending=action.pending()/>
            </ActionForm>
        </section>
    }
}
