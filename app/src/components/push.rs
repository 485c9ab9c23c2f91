//! Push notifications on this device (Settings): the browser subscribes at its push service with
//! the server's VAPID key and hands the subscription to the server; the service worker
//! (`public/sw.js`) shows what arrives.

use crate::api::channels::{add_push_device, push_settings, remove_push_device, send_test_push};
use crate::components::forms::FormMessage;
use crate::dto::PushTestResult;
use leptos::prelude::*;

/// Where this browser stands (found out after hydration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Here {
    Checking,
    Unsupported,
    Off,
    On,
}

#[component]
pub fn PushCard() -> impl IntoView {
    let here = RwSignal::new(Here::Checking);
    let message: RwSignal<Option<Result<String, String>>> = RwSignal::new(None);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            here.set(match browser::current().await {
                Ok(Some(_)) => Here::On,
                Ok(None) => Here::Off,
                Err(_) => Here::Unsupported,
            });
        });
    });
    let turn_on = Action::new_local(move |_: &()| async move {
        let result = turn_on_here().await;
        if result.is_ok() {
            here.set(Here::On);
        }
        message.set(Some(result.map(|()| "Push notifications are on for this device.".to_owned())));
    });
    let turn_off = Action::new_local(move |_: &()| async move {
        let result = turn_off_here().await;
        if result.is_ok() {
            here.set(Here::Off);
        }
        message.set(Some(result.map(|()| "Push notifications are off for this device.".to_owned())));
    });
    let test = Action::new(move |_: &()| async move {
        let result = send_test_push().await.map(|sent| tested(&sent)).map_err(|e| e.to_string());
        message.set(Some(result));
    });
    let busy = move || turn_on.pending().get() || turn_off.pending().get() || test.pending().get();
    let state = move || match here.get() {
        Here::Checking => "Checking this browser…",
        Here::Unsupported => "This browser cannot receive push notifications.",
        Here::Off => "Push notifications are off on this device.",
        Here::On => "This device gets push notifications.",
    };
    view! {
        <section aria-labelledby="push-h" class="card">
            <h2 id="push-h">"Push notifications"</h2>
            <p>"New sequence messages can also arrive as notifications on this phone or computer, even when Cairn is closed. Turn them on for each device."</p>
            <p aria-live="polite">{state}</p>
            <div class="actions">
                <Show when=move || here.get() == Here::Off>
                    <button type="button" disabled=busy on:click=move |_| { turn_on.dispatch(()); }>
                        "Turn on push notifications on this device"
                    </button>
                </Show>
                <Show when=move || here.get() == Here::On>
                    <button type="button" disabled=busy on:click=move |_| { turn_off.dispatch(()); }>
                        "Turn off push notifications on this device"
                    </button>
                </Show>
                <button type="button" class="secondary" disabled=busy on:click=move |_| { test.dispatch(()); }>
                    "Send a test notification"
                </button>
            </div>
            <FormMessage
                error=Signal::derive(move || message.get().and_then(Result::err))
                success=Signal::derive(move || message.get().and_then(Result::ok))
            />
        </section>
    }
}

fn tested(sent: &PushTestResult) -> String {
    match (sent.devices, sent.delivered) {
        (0, _) => "No device of yours gets push notifications.".into(),
        (1, 1) => "Sent to 1 device.".into(),
        (n, d) if n == d => format!("Sent to {n} devices."),
        (n, d) => format!("Sent to {d} of {n} devices; the push service refused the others."),
    }
}

async fn turn_on_here() -> Result<(), String> {
    let key = push_settings().await.map_err(|e| e.to_string())?.public_key;
    #[cfg(feature = "hydrate")]
    {
        let device = browser::subscribe(&key).await?;
        add_push_device(device.endpoint, device.p256dh, device.auth).await.map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (key, add_push_device);
        Err("Push notifications are turned on in the browser.".into())
    }
}

async fn turn_off_here() -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        if let Some(subscription) = browser::current().await? {
            let device = browser::device(&subscription)?;
            browser::unsubscribe(&subscription).await?;
            remove_push_device(device.endpoint).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = remove_push_device;
        Err("Push notifications are turned off in the browser.".into())
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::dto::PushDevice;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn js(err: JsValue) -> String {
        err.as_string()
            .or_else(|| js_sys::Reflect::get(&err, &"message".into()).ok().and_then(|m| m.as_string()))
            .unwrap_or_else(|| "The browser refused.".into())
    }

    async fn manager() -> Result<web_sys::PushManager, String> {
        let window = web_sys::window().ok_or("No window.")?;
        if !js_sys::Reflect::has(&window, &"PushManager".into()).unwrap_or(false) {
            return Err("This browser cannot receive push notifications.".into());
        }
        let ready = window.navigator().service_worker().ready().map_err(js)?;
        let registration: web_sys::ServiceWorkerRegistration =
            JsFuture::from(ready).await.map_err(js)?.unchecked_into();
        registration.push_manager().map_err(js)
    }

    /// This browser's push subscription, if it has one.
    pub async fn current() -> Result<Option<JsValue>, String> {
        let subscription = JsFuture::from(manager().await?.get_subscription().map_err(js)?).await.map_err(js)?;
        Ok((!subscription.is_null() && !subscription.is_undefined()).then_some(subscription))
    }

    /// Asks for permission to notify, then subscribes at the browser's push service.
    pub async fn subscribe(key: &str) -> Result<PushDevice, String> {
        let permission = JsFuture::from(web_sys::Notification::request_permission().map_err(js)?).await.map_err(js)?;
        if permission.as_string().as_deref() != Some("granted") {
            return Err("Notifications are blocked for Cairn in this browser; allow them in its site settings.".into());
        }
        let options = web_sys::PushSubscriptionOptionsInit::new();
        options.set_user_visible_only(true);
        options.set_application_server_key_opt_str(Some(key));
        let manager = manager().await?;
        let subscription = JsFuture::from(manager.subscribe_with_options(&options).map_err(js)?).await.map_err(js)?;
        device(&subscription)
    }

    /// The endpoint and keys of a subscription (`PushSubscription.toJSON()`).
    pub fn device(subscription: &JsValue) -> Result<PushDevice, String> {
        #[derive(serde::Deserialize)]
        struct Keys {
            p256dh: String,
            auth: String,
        }
        #[derive(serde::Deserialize)]
        struct Json {
            endpoint: String,
            keys: Keys,
        }
        let text = js_sys::JSON::stringify(subscription).map_err(js)?.as_string().unwrap_or_default();
        let json: Json = serde_json::from_str(&text).map_err(|_| "The browser's subscription is incomplete.")?;
        Ok(PushDevice { endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth })
    }

    pub async fn unsubscribe(subscription: &JsValue) -> Result<(), String> {
        let method: js_sys::Function =
            js_sys::Reflect::get(subscription, &"unsubscribe".into()).map_err(js)?.dyn_into().map_err(js)?;
        let promise: js_sys::Promise = method.call0(subscription).map_err(js)?.dyn_into().map_err(js)?;
        JsFuture::from(promise).await.map_err(js)?;
        Ok(())
    }
}
