//! Organizations and who is in them: create, switch, rename, delete; members and roles;
//! invitations; teams; the audit log.

use crate::domain::{OrgId, TeamId, UserId};
use crate::dto::{AuditEntryView, InvitationPreview, InvitationView, MemberView, OrgSummary, TeamView};
use crate::error::AppError;
use leptos::server;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use {
    super::account::org_summary,
    super::auth::send,
    super::{Caller, audit, authorize, caller, respond, services},
    crate::api::billing,
    crate::domain::{Action, Email, OrgKind, OrgName, OrgRole, Resource, TeamName},
    crate::dto::{InvitationState, TeamMemberView},
    crate::error::FieldResult,
    crate::ports::{InvitationRecord, OrgRecord, Services},
    crate::security,
    chrono::Duration,
};

/// How long an invitation link is valid.
pub const INVITATION_DAYS: i64 = 7;

/// Creates an organization owned by the caller and makes it the active one. Needs: signed in.
#[server(endpoint = "create_org")]
pub async fn create_org(name: String) -> Result<OrgSummary, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let name = OrgName::parse(&name).field("name")?;
        let org = OrgRecord {
            id: OrgId::new(),
            name: name.into_inner(),
            kind: OrgKind::Team,
            created_at: services.clock.now(),
        };
        services.store.create_org(&org, caller.user.id).await?;
        services.store.set_session_org(caller.session.id, Some(org.id)).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org.id),
            "org.created",
            format!("org:{}", org.id),
            None,
            Some(serde_json::json!({ "name": org.name })),
        )
        .await?;
        let membership = services.store.membership(org.id, caller.user.id).await?.ok_or(AppError::NotFound)?;
        Ok(org_summary(&membership))
    })
    .await
}

/// Makes another of the caller's organizations the active one. Needs: membership.
#[server(endpoint = "switch_org")]
pub async fn switch_org(org_id: OrgId) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ViewOrg, &Resource::Org(org_id)).await?;
        services.store.set_session_org(caller.session.id, Some(org_id)).await?;
        Ok(())
    })
    .await
}

/// Renames an organization. Needs: RenameOrg (Owner, Admin).
#[server(endpoint = "rename_org")]
pub async fn rename_org(org_id: OrgId, name: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let (_, membership) = authorize(&services, &caller, org_id, Action::RenameOrg, &Resource::Org(org_id)).await?;
        let name = OrgName::parse(&name).field("name")?;
        services.store.rename_org(org_id, name.as_str()).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "org.renamed",
            format!("org:{org_id}"),
            Some(serde_json::json!({ "name": membership.org.name })),
            Some(serde_json::json!({ "name": name.as_str() })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Deletes an organization and everything in it. Needs: DeleteOrg (Owner) and the name typed
/// again as confirmation. A personal organization cannot be deleted.
#[server(endpoint = "delete_org")]
pub async fn delete_org(org_id: OrgId, confirm_name: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let (_, membership) = authorize(&services, &caller, org_id, Action::DeleteOrg, &Resource::Org(org_id)).await?;
        if membership.org.kind == OrgKind::Personal {
            return Err(AppError::conflict("Your personal workspace cannot be deleted."));
        }
        if confirm_name.trim() != membership.org.name {
            return Err(AppError::validation("confirm_name", "Type the organization's name exactly to confirm."));
        }
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "org.deleted",
            format!("org:{org_id}"),
            Some(serde_json::json!({ "name": membership.org.name })),
            None,
        )
        .await?;
        services.store.delete_org(org_id).await?;
        services.api_keys.forget_org(org_id);
        Ok(())
    })
    .await
}

/// Members of an organization. Needs: ViewMembers (any member).
#[server(endpoint = "members")]
pub async fn list_members(org_id: OrgId) -> Result<Vec<MemberView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ViewMembers, &Resource::Org(org_id)).await?;
        Ok(services
            .store
            .members(org_id)
            .await?
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user_id,
                email: m.email,
                display_name: m.display_name,
                role: m.role,
                enterprise_admin: m.enterprise_admin,
                joined_at: m.joined_at,
            })
            .collect())
    })
    .await
}

/// Makes a member an enterprise admin of an enterprise organization, or stops it. Needs: the
/// Owner role there.
#[server(endpoint = "set_enterprise_admin")]
pub async fn set_enterprise_admin(org_id: OrgId, user_id: UserId, on: bool) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let (_, me) = authorize(&services, &caller, org_id, Action::ManageMembers, &Resource::Org(org_id)).await?;
        if me.role != OrgRole::Owner {
            return Err(AppError::Forbidden);
        }
        if me.org.kind != OrgKind::Enterprise {
            return Err(AppError::validation("on", "Only enterprise organizations have enterprise admins."));
        }
        let target = services.store.membership(org_id, user_id).await?.ok_or(AppError::NotFound)?;
        services.store.set_enterprise_admin(org_id, user_id, on).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            if on { "member.enterprise_admin_granted" } else { "member.enterprise_admin_revoked" },
            format!("user:{user_id}"),
            Some(serde_json::json!({ "enterprise_admin": target.enterprise_admin })),
            Some(serde_json::json!({ "enterprise_admin": on })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Only an owner may make or unmake owners.
#[cfg(feature = "ssr")]
fn check_owner_power(actor_role: OrgRole, from: Option<OrgRole>, to: Option<OrgRole>) -> Result<(), AppError> {
    let touches_owner = from == Some(OrgRole::Owner) || to == Some(OrgRole::Owner);
    if touches_owner && actor_role != OrgRole::Owner {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Changes a member's role. Needs: ManageMembers; owners only for the Owner role. An organization
/// always keeps at least one owner.
#[server(endpoint = "change_role")]
pub async fn change_member_role(org_id: OrgId, user_id: UserId, role: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let (_, me) = authorize(&services, &caller, org_id, Action::ManageMembers, &Resource::Org(org_id)).await?;
        let role = OrgRole::parse(&role).field("role")?;
        let target = services.store.membership(org_id, user_id).await?.ok_or(AppError::NotFound)?;
        check_owner_power(me.role, Some(target.role), Some(role))?;
        services.store.set_member_role(org_id, user_id, role).await?;
        services.api_keys.forget_org(org_id);
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "member.role_changed",
            format!("user:{user_id}"),
            Some(serde_json::json!({ "role": target.role.as_str() })),
            Some(serde_json::json!({ "role": role.as_str() })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Removes a member, or lets the caller leave. Needs: ManageMembers (or being that member).
#[server(endpoint = "remove_member")]
pub async fn remove_member(org_id: OrgId, user_id: UserId) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let leaving = user_id == caller.user.id;
        let action = if leaving { Action::ViewOrg } else { Action::ManageMembers };
        let (_, me) = authorize(&services, &caller, org_id, action, &Resource::Org(org_id)).await?;
        let target = services.store.membership(org_id, user_id).await?.ok_or(AppError::NotFound)?;
        if !leaving {
            check_owner_power(me.role, Some(target.role), None)?;
        }
        services.store.remove_member(org_id, user_id).await?;
        services.api_keys.forget_org(org_id);
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            if leaving { "member.left" } else { "member.removed" },
            format!("user:{user_id}"),
            Some(serde_json::json!({ "role": target.role.as_str() })),
            None,
        )
        .await?;
        Ok(())
    })
    .await
}

/// Invites someone by email with a role; the link is valid for seven days.
/// Needs: ManageMembers; only owners invite owners.
#[server(endpoint = "invite")]
pub async fn invite_member(org_id: OrgId, email: String, role: String) -> Result<InvitationView, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let (_, me) = authorize(&services, &caller, org_id, Action::ManageMembers, &Resource::Org(org_id)).await?;
        let email = Email::parse(&email).field("email")?;
        let role = OrgRole::parse(&role).field("role")?;
        check_owner_power(me.role, None, Some(role))?;
        let now = services.clock.now();
        if services.store.members(org_id).await?.iter().any(|m| m.email == email.as_str()) {
            return Err(AppError::validation("email", "That person is already a member."));
        }
        if services.store.pending_invitations(org_id, now).await?.iter().any(|i| i.email == email.as_str()) {
            return Err(AppError::validation(
                "email",
                "That address already has a pending invitation: resend it instead.",
            ));
        }
        let invitation = InvitationRecord {
            id: Uuid::now_v7(),
            org_id,
            org_name: me.org.name.clone(),
            email: email.as_str().to_owned(),
            role,
            invited_by: caller.user.id,
            created_at: now,
            expires_at: now + Duration::days(INVITATION_DAYS),
            accepted_at: None,
            revoked_at: None,
        };
        let token = security::random_token();
        let seats = billing::seats_of(&services, org_id).await?;
        if !services.store.create_invitation(&invitation, &security::hash_token(&token), seats).await? {
            return Err(billing::no_seat(&services, org_id, &me.org.name, false).await?);
        }
        send_invitation(&services, &caller, &invitation, &token).await;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "invitation.created",
            format!("invitation:{}", invitation.id),
            None,
            Some(serde_json::json!({ "email": invitation.email, "role": role.as_str() })),
        )
        .await?;
        Ok(invitation_view(&invitation))
    })
    .await
}

#[cfg(feature = "ssr")]
fn invitation_view(i: &InvitationRecord) -> InvitationView {
    InvitationView {
        id: i.id,
        email: i.email.clone(),
        role: i.role,
        created_at: i.created_at,
        expires_at: i.expires_at,
    }
}

#[cfg(feature = "ssr")]
async fn send_invitation(services: &Services, caller: &Caller, invitation: &InvitationRecord, token: &str) {
    let link = format!("{}/invite?token={token}", services.settings.public_url);
    send(
        services,
        &invitation.email,
        &format!("{} invited you to {} on Cairn", caller.user.display_name, invitation.org_name),
        &format!(
            "{} invited you to join {} as {}.\n\nAccept the invitation (valid for {INVITATION_DAYS} days):\n\n{link}\n",
            caller.user.display_name,
            invitation.org_name,
            invitation.role.label()
        ),
    )
    .await;
}

/// Pending (unexpired, unanswered) invitations. Needs: ManageMembers.
#[server(endpoint = "invitations")]
pub async fn list_invitations(org_id: OrgId) -> Result<Vec<InvitationView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ManageMembers, &Resource::Org(org_id)).await?;
        Ok(services
            .store
            .pending_invitations(org_id, services.clock.now())
            .await?
            .iter()
            .map(invitation_view)
            .collect())
    })
    .await
}

/// Sends a pending or expired invitation again with a fresh link and seven more days.
/// Needs: ManageMembers.
#[server(endpoint = "resend_invitation")]
pub async fn resend_invitation(org_id: OrgId, invitation_id: Uuid) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ManageMembers, &Resource::Org(org_id)).await?;
        let mut invitation = services.store.invitation(org_id, invitation_id).await?.ok_or(AppError::NotFound)?;
        if invitation.accepted_at.is_some() || invitation.revoked_at.is_some() {
            return Err(AppError::conflict("That invitation was already answered or revoked."));
        }
        let token = security::random_token();
        let now = services.clock.now();
        invitation.expires_at = now + Duration::days(INVITATION_DAYS);
        let seats = billing::seats_of(&services, org_id).await?;
        let hash = security::hash_token(&token);
        if !services.store.renew_invitation(org_id, invitation_id, &hash, now, invitation.expires_at, seats).await? {
            return Err(billing::no_seat(&services, org_id, &invitation.org_name, false).await?);
        }
        send_invitation(&services, &caller, &invitation, &token).await;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "invitation.resent",
            format!("invitation:{invitation_id}"),
            None,
            None,
        )
        .await?;
        Ok(())
    })
    .await
}

/// Revokes an invitation so its link stops working. Needs: ManageMembers.
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(org_id: OrgId, invitation_id: Uuid) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ManageMembers, &Resource::Org(org_id)).await?;
        services.store.invitation(org_id, invitation_id).await?.ok_or(AppError::NotFound)?;
        services.store.revoke_invitation(org_id, invitation_id, services.clock.now()).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "invitation.revoked",
            format!("invitation:{invitation_id}"),
            None,
            None,
        )
        .await?;
        Ok(())
    })
    .await
}

/// What an invitation link offers. Public: the token itself is the credential.
#[server(endpoint = "invitation_preview")]
pub async fn preview_invitation(token: String) -> Result<InvitationPreview, AppError> {
    respond(async move {
        let services = services()?;
        let invitation =
            services.store.invitation_by_token_hash(&security::hash_token(&token)).await?.ok_or(AppError::NotFound)?;
        let state = invitation_state(&invitation, services.clock.now());
        Ok(InvitationPreview {
            org_name: invitation.org_name,
            email: invitation.email,
            role: invitation.role,
            expires_at: invitation.expires_at,
            state,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn invitation_state(i: &InvitationRecord, now: chrono::DateTime<chrono::Utc>) -> InvitationState {
    if i.accepted_at.is_some() {
        InvitationState::Accepted
    } else if i.revoked_at.is_some() {
        InvitationState::Revoked
    } else if now >= i.expires_at {
        InvitationState::Expired
    } else {
        InvitationState::Pending
    }
}

/// Accepts an invitation as the signed-in person, whose email must be the invited one.
/// Needs: signed in with the invited address.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<OrgSummary, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let invitation =
            services.store.invitation_by_token_hash(&security::hash_token(&token)).await?.ok_or(AppError::NotFound)?;
        let now = services.clock.now();
        match invitation_state(&invitation, now) {
            InvitationState::Pending => {}
            InvitationState::Expired => {
                return Err(AppError::conflict("This invitation has expired. Ask for a new one."));
            }
            InvitationState::Accepted => return Err(AppError::conflict("This invitation was already accepted.")),
            InvitationState::Revoked => return Err(AppError::conflict("This invitation was revoked.")),
        }
        if invitation.email != caller.user.email {
            return Err(AppError::conflict(format!(
                "This invitation is for {}. Sign in with that address to accept it.",
                invitation.email
            )));
        }
        if services.store.membership(invitation.org_id, caller.user.id).await?.is_some() {
            return Err(AppError::conflict("You are already a member of this organization."));
        }
        let seats = billing::seats_of(&services, invitation.org_id).await?;
        if !services.store.accept_invitation(invitation.id, caller.user.id, now, seats).await? {
            return Err(billing::no_seat(&services, invitation.org_id, &invitation.org_name, true).await?);
        }
        services.store.set_session_org(caller.session.id, Some(invitation.org_id)).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(invitation.org_id),
            "invitation.accepted",
            format!("invitation:{}", invitation.id),
            None,
            Some(serde_json::json!({ "role": invitation.role.as_str() })),
        )
        .await?;
        let membership =
            services.store.membership(invitation.org_id, caller.user.id).await?.ok_or(AppError::NotFound)?;
        Ok(org_summary(&membership))
    })
    .await
}

/// Teams of an organization with their members. Needs: ViewMembers.
#[server(endpoint = "teams")]
pub async fn list_teams(org_id: OrgId) -> Result<Vec<TeamView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ViewMembers, &Resource::Org(org_id)).await?;
        Ok(services
            .store
            .teams(org_id)
            .await?
            .into_iter()
            .map(|t| TeamView {
                id: t.id,
                name: t.name,
                members: t
                    .members
                    .into_iter()
                    .map(|(user_id, display_name, leader)| TeamMemberView { user_id, display_name, leader })
                    .collect(),
            })
            .collect())
    })
    .await
}

/// Creates a team. Needs: ManageTeams on the organization (Owner, Admin).
#[server(endpoint = "create_team")]
pub async fn create_team(org_id: OrgId, name: String) -> Result<TeamId, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ManageTeams, &Resource::Org(org_id)).await?;
        let name = TeamName::parse(&name).field("name")?;
        let id = TeamId::new();
        services.store.create_team(org_id, id, name.as_str(), services.clock.now()).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "team.created",
            format!("team:{id}"),
            None,
            Some(serde_json::json!({ "name": name.as_str() })),
        )
        .await?;
        Ok(id)
    })
    .await
}

/// Deletes a team. Needs: ManageTeams on the organization.
#[server(endpoint = "delete_team")]
pub async fn delete_team(org_id: OrgId, team_id: TeamId) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ManageTeams, &Resource::Org(org_id)).await?;
        services.store.delete_team(org_id, team_id).await?;
        audit(&services, Some(caller.user.id), Some(org_id), "team.deleted", format!("team:{team_id}"), None, None)
            .await?;
        Ok(())
    })
    .await
}

/// Adds a member to a team, or changes whether they lead it. Needs: ManageTeams on the team
/// (org Owner/Admin, or a leader of that team; only the former may appoint leaders).
#[server(endpoint = "set_team_member")]
pub async fn set_team_member(
    org_id: OrgId,
    team_id: TeamId,
    user_id: UserId,
    leader: Option<String>,
) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let team = Resource::Team { org: org_id, team: team_id };
        let (actor, _) = authorize(&services, &caller, org_id, Action::ManageTeams, &team).await?;
        let leader = leader.is_some_and(|v| v == "true" || v == "on");
        if leader && !crate::domain::can(&actor, Action::ManageTeams, &Resource::Org(org_id)) {
            return Err(AppError::Forbidden);
        }
        services.store.set_team_member(org_id, team_id, user_id, leader).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "team.member_set",
            format!("team:{team_id}"),
            None,
            Some(serde_json::json!({ "user": user_id, "leader": leader })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Removes someone from a team. Needs: ManageTeams on the team.
#[server(endpoint = "remove_team_member")]
pub async fn remove_team_member(org_id: OrgId, team_id: TeamId, user_id: UserId) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ManageTeams, &Resource::Team { org: org_id, team: team_id })
            .await?;
        services.store.remove_team_member(org_id, team_id, user_id).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org_id),
            "team.member_removed",
            format!("team:{team_id}"),
            None,
            Some(serde_json::json!({ "user": user_id })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// One page of the audit log, newest first. Needs: ViewAuditLog (Owner, Admin).
#[server(endpoint = "audit_log")]
pub async fn list_audit(org_id: OrgId, before: Option<Uuid>) -> Result<Vec<AuditEntryView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        authorize(&services, &caller, org_id, Action::ViewAuditLog, &Resource::Org(org_id)).await?;
        Ok(services.store.audit_log(org_id, before, 50).await?)
    })
    .await
}

/// The whole audit log of an organization as CSV. Needs: ViewAuditLog. Served at
/// `GET /orgs/{id}/audit.csv` by the server.
#[cfg(feature = "ssr")]
pub async fn audit_csv(services: &Services, caller: &Caller, org_id: OrgId) -> Result<String, AppError> {
    authorize(services, caller, org_id, Action::ViewAuditLog, &Resource::Org(org_id)).await?;
    let mut out = String::from("time,actor,action,target,before,after,ip,user_agent\n");
    let mut before = None;
    loop {
        let page = services.store.audit_log(org_id, before, 500).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        for e in &page {
            let fields = [
                e.at.to_rfc3339(),
                e.actor.clone().unwrap_or_default(),
                e.action.clone(),
                e.target.clone(),
                e.before.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                e.after.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                e.ip.clone(),
                e.user_agent.clone(),
            ];
            let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    Ok(out)
}

/// Quotes a CSV field, and defuses spreadsheet formulas.
#[cfg(feature = "ssr")]
pub(crate) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}
