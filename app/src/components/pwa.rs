//! Progressive web app: registers the service worker and offers an "Install Cairn" button when
//! the browser says the app can be installed (`beforeinstallprompt`).

use leptos::prelude::*;

#[component]
pub fn InstallPrompt() -> impl IntoView {
    let installable = RwSignal::new(false);
    let registered = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let deferred: StoredValue<Option<wasm_bindgen::JsValue>, LocalStorage> = StoredValue::new_local(None);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let Some(window) = web_sys::window() else { return };
        let container = window.navigator().service_worker();
        let promise = container.register("/sw.js");
        let on_registered = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |_| registered.set(true));
        let _ = promise.then(&on_registered);
        on_registered.forget();
        let on_prompt = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            deferred.set_value(Some(event.into()));
            installable.set(true);
        });
        let _ = window.add_event_listener_with_callback("beforeinstallprompt", on_prompt.as_ref().unchecked_ref());
        on_prompt.forget();
    });
    let install = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(event) = deferred.get_value()
            && let Ok(prompt) = js_sys::Reflect::get(&event, &"prompt".into())
            && let Ok(prompt) = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(prompt)
        {
            let _ = prompt.call0(&event);
            installable.set(false);
        }
    };
    view! {
        <span class="pwa" data-sw-registered=move || registered.get().to_string()>
            <Show when=move || installable.get()>
                <button type="button" on:click=install>"Install Cairn"</button>
            </Show>
        </span>
    }
}
