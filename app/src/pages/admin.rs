//! Platform administration: grant and revoke platform and capability roles.

use super::SignedIn;
use crate::api::admin::{SetUserRole, admin_users};
use crate::components::layout::LocalTime;
use crate::domain::{CapabilityRole, PlatformRole};
use crate::dto::{AdminUserView, Me};
use leptos::prelude::*;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <AdminUsers/> }/> }
}

#[component]
fn AdminUsers() -> impl IntoView {
    let set_role = ServerAction::<SetUserRole>::new();
    let search = RwSignal::new(String::new());
    let users = Resource::new(move || (search.get(), set_role.version().get()), |(q, _)| admin_users(Some(q)));
    view! {
        <section class="page">
            <h1>"People and roles"</h1>
            <div class="field">
                <label for="user-search">"Search by email or name"</label>
                <input id="user-search" type="search" on:change=move |ev| search.set(event_target_value(&ev))/>
            </div>
            <p role="alert" class="form-error">
                {move || set_role.value().get().and_then(|r| r.err()).map(|e| e.to_string())}
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table>
                                    <caption class="visually-hidden">"People on the platform"</caption>
                                    <thead><tr><th scope="col">"Person"</th><th scope="col">"Joined"</th><th scope="col">"Roles"</th></tr></thead>
                                    <tbody>{list.into_iter().map(|u| view! { <UserRow user=u set_role=set_role/> }).collect_view()}</tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn UserRow(user: AdminUserView, set_role: ServerAction<SetUserRole>) -> impl IntoView {
    let roles: Vec<(&'static str, &'static str, bool)> = CapabilityRole::ALL
        .iter()
        .map(|c| (c.as_str(), c.label(), user.capabilities.contains(c)))
        .chain(PlatformRole::ALL.iter().map(|p| (p.as_str(), p.label(), user.platform_roles.contains(p))))
        .collect();
    let id = user.user_id.to_string();
    let name = user.display_name.clone();
    view! {
        <tr>
            <td>{user.display_name.clone()}<br/><span class="muted">{user.email.clone()}</span></td>
            <td><LocalTime at=user.created_at/></td>
            <td class="row-actions">
                {roles.into_iter().map(|(role, label, held)| {
                    let action_label = if held { format!("Revoke {label} from {name}") } else { format!("Grant {label} to {name}") };
                    let id = id.clone();
                    view! {
                        <ActionForm action=set_role>
                            <input type="hidden" name="user_id" value=id.clone()/>
                            <input type="hidden" name="role" value=role/>
                            <input type="hidden" name="granted" value=(!held).to_string()/>
                            <button type="submit" class=if held { "" } else { "secondary" } aria-pressed=held.to_string() aria-label=action_label>
                                {label}
                            </button>
                        </ActionForm>
                    }
                }).collect_view()}
            </td>
        </tr>
    }
}
