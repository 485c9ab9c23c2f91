//! Organizations: the list and creation, members and invitations, teams, settings, audit log,
//! and the page an invitation link opens.

use super::SignedIn;
use crate::api::orgs::*;
use crate::components::forms::*;
use crate::components::layout::{LocalTime, can_in_active_org, reload_to, use_me};
use crate::domain::{Action, OrgId, OrgKind, OrgRole};
use crate::dto::{InvitationState, Me};
use crate::pages::billing::OrgPlanCard;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

const ROLE_OPTIONS: [(&str, &str); 4] =
    [("viewer", "Viewer"), ("editor", "Editor"), ("admin", "Admin"), ("owner", "Owner")];

fn active_org_id(me: &Me) -> Option<OrgId> {
    me.active_org.as_ref().map(|o| o.id)
}

#[component]
pub fn OrgsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Orgs me=me/> }/> }
}

#[component]
fn Orgs(me: Me) -> impl IntoView {
    let create = ServerAction::<CreateOrg>::new();
    let value = create.value();
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            reload_to("/org/members");
        }
    });
    view! {
        <section class="page">
            <h1>"Your organizations"</h1>
            <table>
                <caption class="visually-hidden">"Organizations you belong to"</caption>
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Kind"</th><th scope="col">"Your role"</th></tr></thead>
                <tbody>
                    {me.orgs.iter().map(|o| view! {
                        <tr><td>{o.name.clone()}</td><td>{o.kind.label()}</td><td>{o.role.label()}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <section class="card" aria-labelledby="new-org-h">
                <h2 id="new-org-h">"Create an organization"</h2>
                <ActionForm action=create>
                    <Checked>
                        <Field label="Organization name" name="name" check=check_org_name server_error=field_error(value, "name")/>
                        <FormMessage error=field_error(value, "")/>
                        <Submit label="Create organization" pending=create.pending()/>
                    </Checked>
                </ActionForm>
            </section>
        </section>
    }
}

#[component]
pub fn MembersPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Members me=me/> }/> }
}

#[component]
fn Members(me: Me) -> impl IntoView {
    let Some(org) = me.active_org.clone() else {
        return view! { <p class="page">"You are not in any organization."</p> }.into_any();
    };
    let org_id = org.id;
    let manage = can_in_active_org(&me, Action::ManageMembers);
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let invite = ServerAction::<InviteMember>::new();
    let grant = ServerAction::<SetEnterpriseAdmin>::new();
    let members = Resource::new(
        move || (change.version().get(), remove.version().get(), grant.version().get()),
        move |_| list_members(org_id),
    );
    let enterprise = org.kind == OrgKind::Enterprise;
    let shared = org.kind != OrgKind::Personal;
    let may_grant = enterprise && org.role == OrgRole::Owner;
    let iv = invite.value();
    let my_id = me.user_id;
    view! {
        <section class="page">
            <h1>{format!("Members of {}", org.name)}</h1>
            <p role="alert" class="form-error">{move || field_error(change.value(), "").get().or_else(|| field_error(remove.value(), "").get()).or_else(|| field_error(grant.value(), "").get())}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Ok(list) => view! {
                            <table class="members">
                                <caption class="visually-hidden">"Members"</caption>
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th>{enterprise.then(|| view! { <th scope="col">"Enterprise admin"</th> })}{manage.then(|| view! { <th scope="col">"Actions"</th> })}</tr></thead>
                                <tbody>
                                    {list.into_iter().map(|m| {
                                        let name = m.display_name.clone();
                                        view! {
                                            <tr>
                                                <td>{m.display_name.clone()}</td>
                                                <td>{m.email.clone()}</td>
                                                <td>{m.role.label()}</td>
                                                <td><LocalTime at=m.joined_at/></td>
                                                {enterprise.then(|| { let label = format!("{} enterprise admin: {}", if m.enterprise_admin { "Remove" } else { "Make" }, m.display_name); view! {
                                                    <td>
                                                        {if m.enterprise_admin { "Yes" } else { "No" }}
                                                        {may_grant.then(|| view! {
                                                            <ActionForm action=grant>
                                                                <input type="hidden" name="org_id" value=org_id.to_string()/>
                                                                <input type="hidden" name="user_id" value=m.user_id.to_string()/>
                                                                <input type="hidden" name="on" value=(!m.enterprise_admin).to_string()/>
                                                                <button type="submit" class="small" aria-label=label>{if m.enterprise_admin { "Remove" } else { "Make admin" }}</button>
                                                            </ActionForm>
                                                        })}
                                                    </td>
                                                }})}
                                                {(manage && m.user_id != my_id).then(move || { let role_label = format!("Role for {name}"); let change_label = format!("Change role of {name}"); let remove_label = format!("Remove {name}"); view! {
                                                    <td class="row-actions">
                                                        <ActionForm action=change>
                                                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                                                            <input type="hidden" name="user_id" value=m.user_id.to_string()/>
                                                            <label for=format!("role-{}", m.user_id) class="visually-hidden">{role_label}</label>
                                                            <select id=format!("role-{}", m.user_id) name="role">
                                                                {ROLE_OPTIONS.iter().map(|(v, t)| view! { <option value=*v selected=*v == m.role.as_str()>{*t}</option> }).collect_view()}
                                                            </select>
                                                            <button type="submit" aria-label=change_label>"Change role"</button>
                                                        </ActionForm>
                                                        <ActionForm action=remove>
                                                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                                                            <input type="hidden" name="user_id" value=m.user_id.to_string()/>
                                                            <button type="submit" class="danger" aria-label=remove_label>"Remove"</button>
                                                        </ActionForm>
                                                    </td>
                                                }})}
                                                {(manage && m.user_id == my_id).then(|| view! { <td></td> })}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            {shared.then(|| view! {
                <OrgPlanCard org_id=org_id refresh=Signal::derive(move || invite.version().get() + remove.version().get())/>
            })}
            {manage.then(|| view! {
                <section class="card" aria-labelledby="invite-h">
                    <h2 id="invite-h">"Invite someone"</h2>
                    <ActionForm action=invite>
                        <Checked>
                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                            <Field label="Email address" name="email" kind="email" check=check_email server_error=field_error(iv, "email")/>
                            <Select label="Role" name="role" options=ROLE_OPTIONS.to_vec() selected="viewer"/>
                            <FormMessage error=field_error(iv, "") success=Signal::derive(move || iv.get().and_then(|r| r.ok()).map(|i| format!("Invitation sent to {}.", i.email)))/>
                            <Submit label="Send invitation" pending=invite.pending()/>
                        </Checked>
                    </ActionForm>
                </section>
                <Invitations org_id=org_id invite=invite/>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn Invitations(org_id: OrgId, invite: ServerAction<InviteMember>) -> impl IntoView {
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let pending = Resource::new(
        move || (invite.version().get(), resend.version().get(), revoke.version().get()),
        move |_| list_invitations(org_id),
    );
    view! {
        <section class="card" aria-labelledby="pending-h">
            <h2 id="pending-h">"Pending invitations"</h2>
            <p role="status">{move || matches!(resend.value().get(), Some(Ok(()))).then_some("Invitation sent again.")}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match pending.await {
                        Ok(list) if list.is_empty() => view! { <p>"No pending invitations."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="invitations">
                                {list.into_iter().map(|i| { let email = i.email.clone(); view! {
                                    <li>
                                        <span>{i.email.clone()} " as " {i.role.label()} " · expires " <LocalTime at=i.expires_at/></span>
                                        <ActionForm action=resend>
                                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                                            <input type="hidden" name="invitation_id" value=i.id.to_string()/>
                                            <button type="submit" aria-label=format!("Resend invitation to {}", i.email)>"Resend"</button>
                                        </ActionForm>
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                                            <input type="hidden" name="invitation_id" value=i.id.to_string()/>
                                            <button type="submit" class="danger" aria-label=format!("Revoke invitation to {email}")>"Revoke"</button>
                                        </ActionForm>
                                    </li>
                                }}).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let q = use_query_map();
    let token = Memo::new(move |_| q.with(|q| q.get("token")).unwrap_or_default());
    let preview = Resource::new(move || token.get(), preview_invitation);
    let accept = ServerAction::<AcceptInvitation>::new();
    let av = accept.value();
    Effect::new(move |_| {
        if let Some(Ok(_)) = av.get() {
            reload_to("/");
        }
    });
    let me = use_me();
    view! {
        <section class="page narrow">
            <h1>"Invitation"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let signed_in = matches!(me.await, Ok(Some(_)));
                    let here = format!("/invite?token={}", token.get_untracked());
                    match preview.await {
                        Ok(p) => {
                            let intro = view! { <p>{format!("You are invited to join {} as {}.", p.org_name, p.role.label())}</p> <p class="muted">{format!("Invitation for {}", p.email)}</p> };
                            let body = match p.state {
                                InvitationState::Pending if signed_in => view! {
                                    <ActionForm action=accept>
                                        <input type="hidden" name="token" value=token.get_untracked()/>
                                        <FormMessage error=field_error(av, "")/>
                                        <Submit label="Accept invitation" pending=accept.pending()/>
                                    </ActionForm>
                                }.into_any(),
                                InvitationState::Pending => view! {
                                    <p>"Sign in or create an account with that address to accept."</p>
                                    <p class="actions">
                                        <A href=format!("/sign-in?next={}", crate::domain::url::encode(&here)) attr:class="button">"Sign in to accept"</A>
                                        <A href=format!("/sign-up?next={}", crate::domain::url::encode(&here))>"Create an account"</A>
                                    </p>
                                }.into_any(),
                                InvitationState::Expired => view! { <p role="alert">"This invitation has expired. Ask for a new one."</p> }.into_any(),
                                InvitationState::Accepted => view! { <p role="alert">"This invitation was already accepted."</p> }.into_any(),
                                InvitationState::Revoked => view! { <p role="alert">"This invitation was revoked."</p> }.into_any(),
                            };
                            view! { {intro} {body} }.into_any()
                        }
                        Err(_) => view! { <p role="alert">"This invitation link is not valid."</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Teams me=me/> }/> }
}

#[component]
fn Teams(me: Me) -> impl IntoView {
    let Some(org_id) = active_org_id(&me) else {
        return view! { <p class="page">"You are not in any organization."</p> }.into_any();
    };
    let manage = can_in_active_org(&me, Action::ManageTeams);
    let create = ServerAction::<CreateTeam>::new();
    let add = ServerAction::<SetTeamMember>::new();
    let remove = ServerAction::<RemoveTeamMember>::new();
    let delete = ServerAction::<DeleteTeam>::new();
    let teams = Resource::new(
        move || (create.version().get(), add.version().get(), remove.version().get(), delete.version().get()),
        move |_| list_teams(org_id),
    );
    let members = Resource::new(|| (), move |_| list_members(org_id));
    let cv = create.value();
    view! {
        <section class="page">
            <h1>"Teams"</h1>
            <p role="alert" class="form-error">{move || field_error(add.value(), "").get().or_else(|| field_error(remove.value(), "").get())}</p>
            {manage.then(|| view! {
                <section class="card" aria-labelledby="new-team-h">
                    <h2 id="new-team-h">"Create a team"</h2>
                    <ActionForm action=create>
                        <Checked>
                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                            <Field label="Team name" name="name" check=check_team_name server_error=field_error(cv, "name")/>
                            <FormMessage error=field_error(cv, "")/>
                            <Submit label="Create team" pending=create.pending()/>
                        </Checked>
                    </ActionForm>
                </section>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let people = members.await.unwrap_or_default();
                    match teams.await {
                        Ok(list) if list.is_empty() => view! { <p>"No teams yet."</p> }.into_any(),
                        Ok(list) => list.into_iter().map(|t| {
                            let team_id = t.id;
                            let team_name = t.name.clone();
                            let select_id = format!("add-{team_id}");
                            let people = people.clone();
                            view! {
                                <section class="card" aria-label=format!("Team {}", t.name)>
                                    <h2>{t.name.clone()}</h2>
                                    <ul>
                                        {t.members.into_iter().map(|m| { let team_name = team_name.clone(); view! {
                                            <li>
                                                {m.display_name.clone()} {m.leader.then_some(" (leader)")}
                                                {manage.then(|| { let m = m.clone(); let team_name = team_name.clone(); view! {
                                                    <ActionForm action=remove>
                                                        <input type="hidden" name="org_id" value=org_id.to_string()/>
                                                        <input type="hidden" name="team_id" value=team_id.to_string()/>
                                                        <input type="hidden" name="user_id" value=m.user_id.to_string()/>
                                                        <button type="submit" aria-label=format!("Remove {} from {team_name}", m.display_name)>"Remove"</button>
                                                    </ActionForm>
                                                }})}
                                            </li>
                                        }}).collect_view()}
                                    </ul>
                                    {manage.then(move || { let add_label = format!("Add a member to {team_name}"); let delete_label = format!("Delete team {team_name}"); view! {
                                        <ActionForm action=add attr:class="inline-form">
                                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                                            <input type="hidden" name="team_id" value=team_id.to_string()/>
                                            <label for=select_id.clone()>{add_label}</label>
                                            <select id=select_id.clone() name="user_id">
                                                {people.iter().map(|p| view! { <option value=p.user_id.to_string()>{p.display_name.clone()}</option> }).collect_view()}
                                            </select>
                                            <label><input type="checkbox" name="leader" value="true"/>" Team leader"</label>
                                            <button type="submit">"Add to team"</button>
                                        </ActionForm>
                                        <ActionForm action=delete>
                                            <input type="hidden" name="org_id" value=org_id.to_string()/>
                                            <input type="hidden" name="team_id" value=team_id.to_string()/>
                                            <button type="submit" class="danger" aria-label=delete_label>"Delete team"</button>
                                        </ActionForm>
                                    }})}
                                </section>
                            }
                        }).collect_view().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
pub fn OrgSettingsPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <OrgSettings me=me/> }/> }
}

#[component]
fn OrgSettings(me: Me) -> impl IntoView {
    let Some(org) = me.active_org.clone() else {
        return view! { <p class="page">"You are not in any organization."</p> }.into_any();
    };
    let rename = ServerAction::<RenameOrg>::new();
    let delete = ServerAction::<DeleteOrg>::new();
    let rv = rename.value();
    let dv = delete.value();
    Effect::new(move |_| {
        if let Some(Ok(())) = dv.get() {
            reload_to("/orgs");
        }
    });
    let is_owner = org.role == OrgRole::Owner;
    view! {
        <section class="page narrow">
            <h1>{format!("{} settings", org.name)}</h1>
            <section class="card" aria-labelledby="rename-h">
                <h2 id="rename-h">"Name"</h2>
                <ActionForm action=rename>
                    <Checked>
                        <input type="hidden" name="org_id" value=org.id.to_string()/>
                        <Field label="Organization name" name="name" value=org.name.clone() check=check_org_name server_error=field_error(rv, "name")/>
                        <FormMessage error=field_error(rv, "") success=Signal::derive(move || matches!(rv.get(), Some(Ok(()))).then(|| "Saved.".to_string()))/>
                        <Submit label="Rename organization" pending=rename.pending()/>
                    </Checked>
                </ActionForm>
            </section>
            {can_in_active_org(&me, Action::ManageAiModel).then(|| view! { <AiModelCard/> })}
            {is_owner.then(|| view! {
                <section class="card danger-zone" aria-labelledby="delete-h">
                    <h2 id="delete-h">"Delete organization"</h2>
                    <p>"This deletes the organization and everything in it for every member. It cannot be undone."</p>
                    <ActionForm action=delete>
                        <Checked>
                            <input type="hidden" name="org_id" value=org.id.to_string()/>
                            <Field label="Type the organization's name to confirm" name="confirm_name" check=check_not_empty server_error=field_error(dv, "confirm_name")/>
                            <FormMessage error=field_error(dv, "")/>
                            <Submit label="Delete organization" class="danger" pending=delete.pending()/>
                        </Checked>
                    </ActionForm>
                </section>
            })}
        </section>
    }
    .into_any()
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <SignedIn content=|me: Me| view! { <Audit me=me/> }/> }
}

#[component]
fn Audit(me: Me) -> impl IntoView {
    let Some(org_id) = active_org_id(&me) else {
        return view! { <p class="page">"You are not in any organization."</p> }.into_any();
    };
    let entries = Resource::new(|| (), move |_| list_audit(org_id, None));
    view! {
        <section class="page">
            <h1>"Audit log"</h1>
            <p><a href=format!("/orgs/{org_id}/audit.csv") download="audit-log.csv">"Export as CSV"</a></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) => view! {
                            <div class="table-scroll">
                            <table>
                                <caption class="visually-hidden">"Audit log, newest first"</caption>
                                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"From"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td><LocalTime at=e.at/></td>
                                            <td>{e.actor.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td><code>{e.action.clone()}</code></td>
                                            <td>{e.target.clone()}</td>
                                            <td>{e.ip.clone()}</td>
                                        </tr>
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

/// The organization's AI model for the test panel's "Run": an OpenAI-compatible endpoint.
#[component]
fn AiModelCard() -> impl IntoView {
    use crate::api::test_panel::{ClearAiModel, SaveAiModel, ai_model};
    use crate::dto::{AiModelView, ModelSource};
    let save = ServerAction::<SaveAiModel>::new();
    let clear = ServerAction::<ClearAiModel>::new();
    let sv = save.value();
    let current = Resource::new(move || (save.version().get(), clear.version().get()), |_| ai_model());
    let status = |m: &AiModelView| match m.source {
        ModelSource::Organization => {
            format!("Runs use {} at {}{}.", m.model, m.base_url, if m.has_key { ", with the stored key" } else { "" })
        }
        ModelSource::Instance => {
            format!("Runs use this server's default model, {}. Set your own below to replace it.", m.model)
        }
        ModelSource::None => "No model is set: “Run” in the test panel is unavailable until you set one.".to_owned(),
    };
    view! {
        <section class="card" aria-labelledby="ai-h">
            <h2 id="ai-h">"AI model"</h2>
            <p>"The test panel's “Run” sends a rendered prompt to an OpenAI-compatible chat-completions endpoint: "
               "OpenAI, Ollama, vLLM, llama.cpp's server and others."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move { match current.await {
                    Ok(m) => {
                        let own = m.source == ModelSource::Organization;
                        let has_key = m.has_key && own;
                        view! {
                            <p role="status">{status(&m)}</p>
                            <ActionForm action=save>
                                <Checked>
                                    <Field label="Base URL" name="base_url" kind="url" value=m.base_url.clone()
                                        hint="The part before /chat/completions, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1"
                                        check=check_not_empty server_error=field_error(sv, "base_url")/>
                                    <Field label="Model" name="model" value=if own { m.model.clone() } else { String::new() }
                                        hint="e.g. gpt-4o-mini or llama3.1; a prompt's own model setting takes precedence"
                                        check=check_not_empty server_error=field_error(sv, "model")/>
                                    <Field label="API key" name="api_key" kind="password" required=false
                                        hint=if has_key { "A key is stored and never shown; leave empty to keep it." } else { "Leave empty for servers without keys (Ollama)." }
                                        server_error=field_error(sv, "api_key")/>
                                    {has_key.then(|| view! {
                                        <div class="field checkbox">
                                            <input type="checkbox" id="remove-key" name="remove_key" value="on"/>
                                            <label for="remove-key">"Remove the stored key"</label>
                                        </div>
                                    })}
                                    <FormMessage error=field_error(sv, "") success=Signal::derive(move || matches!(sv.get(), Some(Ok(_))).then(|| "Saved.".to_string()))/>
                                    <Submit label="Save AI model" pending=save.pending()/>
                                </Checked>
                            </ActionForm>
                            {own.then(|| view! {
                                <button type="button" class="secondary" on:click=move |_| { clear.dispatch(ClearAiModel {}); }>
                                    "Remove this organization's model"
                                </button>
                            })}
                        }.into_any()
                    }
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }})}
            </Transition>
        </section>
    }
}
