//! `/org/api-keys`: the organization's REST API keys (Owners and Admins).

use super::SignedIn;
use crate::api::api_keys::{CreateApiKey, RevokeApiKey, list_api_keys};
use crate::components::forms::*;
use crate::components::layout::{LocalTime, can_in_active_org};
use crate::domain::Action;
use crate::dto::Me;
use leptos::prelude::*;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <ApiKeys me=me/> }/> }
}

#[component]
fn ApiKeys(me: Me) -> impl IntoView {
    if !can_in_active_org(&me, Action::ManageApiKeys) {
        return view! {
            <section class="page narrow"><h1>"API keys"</h1><p class="notice">"Only Owners and Admins manage API keys."</p></section>
        }
        .into_any();
    }
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_api_keys());
    let value = create.value();
    view! {
        <section class="page">
            <h1>"API keys"</h1>
            <p>"Keys let programs use the REST API at " <code>"/api/v1"</code> " for this organization. "
               "Send one as " <code>"Authorization: Bearer cairn_…"</code> ". A write key acts with your role; a read key as a Viewer. "
               <a href="/api/v1/docs" rel="external">"API reference"</a> " · "
               <a href="/api/v1/openapi.json" rel="external">"OpenAPI document"</a></p>
            <div class="card">
                <h2>"New key"</h2>
                <ActionForm action=create>
                    <Checked>
                        <Field label="Key name" name="name" check=check_not_empty server_error=field_error(value, "name")/>
                        <Select label="Scope" name="scope" options=vec![("read", "Read"), ("write", "Read and write")]/>
                        <Select label="Expires" name="expires_in_days" options=vec![("90", "In 90 days"), ("30", "In 30 days"), ("365", "In a year"), ("0", "Never")]/>
                        <FormMessage error=field_error(value, "")/>
                        <Submit label="Create key" pending=create.pending()/>
                    </Checked>
                </ActionForm>
                {move || value.get().and_then(|r| r.ok()).map(|key| view! {
                    <div class="notice" role="status">
                        <p>"Copy this key now: it is shown only once."</p>
                        <label for="new-key-secret">"New API key"</label>
                        <input id="new-key-secret" readonly=true value=key.secret/>
                    </div>
                })}
            </div>
            <p role="alert" class="form-error">{move || revoke.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p>"No keys yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                            <table>
                                <caption>"Keys"</caption>
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scope"</th><th scope="col">"Limit"</th><th scope="col">"Last used"</th><th scope="col">"Expires"</th><th scope="col">"State"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|k| {
                                        let id = k.id;
                                        let name = k.name.clone();
                                        view! {
                                            <tr>
                                                <td>{k.name.clone()}</td>
                                                <td><code>{format!("{}…", k.prefix)}</code></td>
                                                <td>{if k.can_write { "read, write" } else { "read" }}</td>
                                                <td>{format!("{}/hour", k.rate_limit)}</td>
                                                <td>{match k.last_used_at { Some(at) => view! { <LocalTime at=at/> }.into_any(), None => "never".into_any() }}</td>
                                                <td>{match k.expires_at { Some(at) => view! { <LocalTime at=at/> }.into_any(), None => "never".into_any() }}</td>
                                                <td>{if k.revoked_at.is_some() {
                                                    "revoked".into_any()
                                                } else {
                                                    view! { <button type="button" class="danger small" aria-label=format!("Revoke {name}")
                                                        on:click=move |_| { revoke.dispatch(RevokeApiKey { id }); }>"Revoke"</button> }.into_any()
                                                }}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}
