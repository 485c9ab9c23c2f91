//! Organizations, invitations, roles, teams, the audit log and tenant isolation.

use crate::support::{Client, PASSWORD, TestApp, field_of};
use app::domain::{OrgId, OrgRole};
use app::dto::{AuditEntryView, InvitationPreview, InvitationState, InvitationView, MemberView, OrgSummary, TeamView};
use app::error::AppError;
use chrono::Duration;

pub(crate) async fn create_org(client: &Client, name: &str) -> OrgSummary {
    client.call("create_org", &[("name", name)]).await.expect("create org")
}

/// Invites `email` as `role`, signs them up, accepts, and returns their client.
pub(crate) async fn join(app: &TestApp, owner: &Client, org: OrgId, name: &str, email: &str, role: &str) -> Client {
    owner
        .call::<InvitationView>("invite", &[("org_id", &org.to_string()), ("email", email), ("role", role)])
        .await
        .expect("invite");
    let token = app.mail.token_for(email, "invite?token=").await;
    let member = app.signed_up(name, email).await;
    member.call::<OrgSummary>("accept_invitation", &[("token", &token)]).await.expect("accept");
    member
}

#[tokio::test]
async fn create_rename_switch_and_delete_an_organization() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let bad = owner.call::<OrgSummary>("create_org", &[("name", "  ")]).await.unwrap_err();
    assert_eq!(field_of(&bad), "name");
    let org = create_org(&owner, "Acme Coaching").await;
    assert_eq!(org.role, OrgRole::Owner);
    let me = owner.me().await.expect("me");
    assert_eq!(me.orgs.len(), 2);
    assert_eq!(me.active_org.expect("active").id, org.id, "a new organization becomes the active one");

    let personal = me.orgs.iter().find(|o| o.id != org.id).expect("personal").id;
    owner.call::<()>("switch_org", &[("org_id", &personal.to_string())]).await.expect("switch");
    assert_eq!(owner.me().await.expect("me").active_org.expect("active").id, personal);

    owner
        .call::<()>("rename_org", &[("org_id", &org.id.to_string()), ("name", "Acme Coaching Ltd")])
        .await
        .expect("rename");
    let wrong =
        owner.call::<()>("delete_org", &[("org_id", &org.id.to_string()), ("confirm_name", "Acme")]).await.unwrap_err();
    assert_eq!(field_of(&wrong), "confirm_name");
    let personal_delete = owner
        .call::<()>("delete_org", &[("org_id", &personal.to_string()), ("confirm_name", &me.orgs[0].name)])
        .await
        .unwrap_err();
    assert_eq!(personal_delete.status, 409);
    owner
        .call::<()>("delete_org", &[("org_id", &org.id.to_string()), ("confirm_name", "Acme Coaching Ltd")])
        .await
        .expect("delete");
    assert_eq!(owner.me().await.expect("me").orgs.len(), 1);
}

#[tokio::test]
async fn invitation_by_mail_gives_the_role_and_the_viewer_cannot_write() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;

    let members: Vec<MemberView> = owner.call("members", &[("org_id", &org.id.to_string())]).await.expect("members");
    let role_of = |email: &str| members.iter().find(|m| m.email == email).map(|m| m.role);
    assert_eq!(role_of("edith@example.com"), Some(OrgRole::Editor));
    assert_eq!(role_of("victor@example.com"), Some(OrgRole::Viewer));

    // Accepting switched both into the organization; the Editor writes, the Viewer cannot.
    let prompt = editor.create_prompt("Weekly reflection", "Ask three questions.").await.expect("editor creates");
    let denied = viewer.create_prompt("Nope", "Nope").await.unwrap_err();
    assert_eq!((denied.status, &denied.error), (403, &AppError::Forbidden));
    let edit = viewer.update_prompt(prompt, 1, "Changed", "x").await.unwrap_err();
    assert_eq!(edit.status, 403);
    let seen = viewer.prompts().await.expect("viewer reads");
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].can_edit && !seen[0].can_delete);
    let own = editor.prompts().await.expect("editor reads");
    assert!(own[0].can_edit && own[0].can_delete);
    // The owner edits anyone's prompt; an editor cannot edit another's.
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    owner.update_prompt(prompt, 1, "Weekly reflection v2", "Ask.").await.expect("owner edits");
    let owners_prompt = owner.create_prompt("Owner's", "Text").await.expect("create");
    let editor_edit = editor.update_prompt(owners_prompt, 1, "Mine now", "x").await.unwrap_err();
    assert_eq!(editor_edit.status, 403);
    let editor_delete = editor.delete_prompt(owners_prompt).await.unwrap_err();
    assert_eq!(editor_delete.status, 403);

    // Viewers and editors cannot invite.
    let invite = viewer
        .call::<InvitationView>(
            "invite",
            &[("org_id", &org.id.to_string()), ("email", "x@example.com"), ("role", "viewer")],
        )
        .await
        .unwrap_err();
    assert_eq!(invite.status, 403);
}

#[tokio::test]
async fn invitations_expire_can_be_revoked_resent_and_are_bound_to_the_address() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let org_id = org.id.to_string();

    let bad = owner
        .call::<InvitationView>("invite", &[("org_id", &org_id), ("email", "nope"), ("role", "viewer")])
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad), "email");
    let bad_role = owner
        .call::<InvitationView>("invite", &[("org_id", &org_id), ("email", "a@example.com"), ("role", "emperor")])
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad_role), "role");

    let invitation: InvitationView = owner
        .call("invite", &[("org_id", &org_id), ("email", "amy@example.com"), ("role", "editor")])
        .await
        .expect("invite");
    let duplicate = owner
        .call::<InvitationView>("invite", &[("org_id", &org_id), ("email", "amy@example.com"), ("role", "editor")])
        .await
        .unwrap_err();
    assert_eq!(field_of(&duplicate), "email");
    let first_token = app.mail.token_for("amy@example.com", "invite?token=").await;
    let pending: Vec<InvitationView> = owner.call("invitations", &[("org_id", &org_id)]).await.expect("pending");
    assert_eq!(pending.len(), 1);

    // Someone else cannot use Amy's invitation.
    let bob = app.signed_up("Bob", "bob@example.com").await;
    let wrong_person = bob.call::<OrgSummary>("accept_invitation", &[("token", &first_token)]).await.unwrap_err();
    assert_eq!(wrong_person.status, 409);

    // Expired after seven days.
    app.clock.advance(Duration::days(8));
    let preview: InvitationPreview =
        app.client().call("invitation_preview", &[("token", &first_token)]).await.expect("preview");
    assert_eq!(preview.state, InvitationState::Expired);
    let amy = app.signed_up("Amy", "amy@example.com").await;
    let expired = amy.call::<OrgSummary>("accept_invitation", &[("token", &first_token)]).await.unwrap_err();
    assert_eq!(expired.status, 409);
    // A week has passed: the owner's session ended; sign in again.
    owner.sign_in("olivia@example.com", PASSWORD).await.expect("sign in again");

    // Resending makes a new link; the old one stays dead.
    owner
        .call::<()>("resend_invitation", &[("org_id", &org_id), ("invitation_id", &invitation.id.to_string())])
        .await
        .expect("resend");
    let second_token = app.mail.token_other_than("amy@example.com", "invite?token=", &first_token).await;
    assert_ne!(first_token, second_token);
    assert_eq!(amy.call::<OrgSummary>("accept_invitation", &[("token", &first_token)]).await.unwrap_err().status, 404);

    // Revoked links stop working.
    owner
        .call::<()>("revoke_invitation", &[("org_id", &org_id), ("invitation_id", &invitation.id.to_string())])
        .await
        .expect("revoke");
    assert_eq!(amy.call::<OrgSummary>("accept_invitation", &[("token", &second_token)]).await.unwrap_err().status, 409);
    assert!(
        owner.call::<Vec<InvitationView>>("invitations", &[("org_id", &org_id)]).await.expect("pending").is_empty()
    );
}

#[tokio::test]
async fn an_organization_always_keeps_an_owner_and_only_owners_make_owners() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let org_id = org.id.to_string();
    let admin = join(&app, &owner, org.id, "Adam", "adam@example.com", "admin").await;
    let me = owner.me().await.expect("me").user_id.to_string();
    let adam = admin.me().await.expect("me").user_id.to_string();

    let demote =
        owner.call::<()>("change_role", &[("org_id", &org_id), ("user_id", &me), ("role", "admin")]).await.unwrap_err();
    assert_eq!(demote.status, 409);
    let leave = owner.call::<()>("remove_member", &[("org_id", &org_id), ("user_id", &me)]).await.unwrap_err();
    assert_eq!(leave.status, 409);

    // An admin may not touch the owner or create owners.
    let by_admin = admin.call::<()>("remove_member", &[("org_id", &org_id), ("user_id", &me)]).await.unwrap_err();
    assert_eq!(by_admin.status, 403);
    let self_promote = admin
        .call::<()>("change_role", &[("org_id", &org_id), ("user_id", &adam), ("role", "owner")])
        .await
        .unwrap_err();
    assert_eq!(self_promote.status, 403);
    let invite_owner = admin
        .call::<InvitationView>("invite", &[("org_id", &org_id), ("email", "o2@example.com"), ("role", "owner")])
        .await
        .unwrap_err();
    assert_eq!(invite_owner.status, 403);

    // With a second owner, the first may step down.
    owner
        .call::<()>("change_role", &[("org_id", &org_id), ("user_id", &adam), ("role", "owner")])
        .await
        .expect("promote");
    owner
        .call::<()>("change_role", &[("org_id", &org_id), ("user_id", &me), ("role", "editor")])
        .await
        .expect("step down");
    admin.call::<()>("remove_member", &[("org_id", &org_id), ("user_id", &me)]).await.expect("remove");
    assert_eq!(owner.me().await.expect("me").orgs.len(), 1);
}

#[tokio::test]
async fn teams_with_leaders_who_manage_only_their_team() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let org_id = org.id.to_string();
    let lena = join(&app, &owner, org.id, "Lena", "lena@example.com", "viewer").await;
    let eve = join(&app, &owner, org.id, "Eve", "eve@example.com", "viewer").await;
    let lena_id = lena.me().await.expect("me").user_id.to_string();
    let eve_id = eve.me().await.expect("me").user_id.to_string();

    let team: app::domain::TeamId =
        owner.call("create_team", &[("org_id", &org_id), ("name", "Leadership Circle")]).await.expect("team");
    let other: app::domain::TeamId =
        owner.call("create_team", &[("org_id", &org_id), ("name", "Sales")]).await.expect("team");
    let (team, other) = (team.to_string(), other.to_string());
    let bad = owner.call::<app::domain::TeamId>("create_team", &[("org_id", &org_id), ("name", "")]).await.unwrap_err();
    assert_eq!(field_of(&bad), "name");
    owner
        .call::<()>(
            "set_team_member",
            &[("org_id", &org_id), ("team_id", &team), ("user_id", &lena_id), ("leader", "true")],
        )
        .await
        .expect("leader");

    // Lena leads her team: she adds Eve to it, but not to Sales, and cannot appoint leaders.
    lena.call::<()>("set_team_member", &[("org_id", &org_id), ("team_id", &team), ("user_id", &eve_id)])
        .await
        .expect("leader adds member");
    assert_eq!(
        lena.call::<()>("set_team_member", &[("org_id", &org_id), ("team_id", &other), ("user_id", &eve_id)])
            .await
            .unwrap_err()
            .status,
        403
    );
    assert_eq!(
        lena.call::<()>(
            "set_team_member",
            &[("org_id", &org_id), ("team_id", &team), ("user_id", &eve_id), ("leader", "true")]
        )
        .await
        .unwrap_err()
        .status,
        403
    );
    assert_eq!(
        eve.call::<app::domain::TeamId>("create_team", &[("org_id", &org_id), ("name", "Mine")])
            .await
            .unwrap_err()
            .status,
        403
    );

    let teams: Vec<TeamView> = eve.call("teams", &[("org_id", &org_id)]).await.expect("teams");
    let circle = teams.iter().find(|t| t.name == "Leadership Circle").expect("team");
    assert_eq!(circle.members.len(), 2);
    assert!(circle.members.iter().any(|m| m.leader && m.display_name == "Lena"));
    lena.call::<()>("remove_team_member", &[("org_id", &org_id), ("team_id", &team), ("user_id", &eve_id)])
        .await
        .expect("remove");

    // Someone outside the organization cannot be added to a team.
    let stranger = app.signed_up("Sam", "sam@example.com").await.me().await.expect("me").user_id.to_string();
    assert_eq!(
        owner
            .call::<()>("set_team_member", &[("org_id", &org_id), ("team_id", &team), ("user_id", &stranger)])
            .await
            .unwrap_err()
            .status,
        404
    );
    owner.call::<()>("delete_team", &[("org_id", &org_id), ("team_id", &other)]).await.expect("delete team");
}

#[tokio::test]
async fn the_audit_log_records_changes_for_admins_and_exports_csv() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let org_id = org.id.to_string();
    owner.call::<()>("rename_org", &[("org_id", &org_id), ("name", "Acme, \"the\" best")]).await.expect("rename");
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;

    let entries: Vec<AuditEntryView> = owner.call("audit_log", &[("org_id", &org_id)]).await.expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for expected in ["org.created", "org.renamed", "invitation.created", "invitation.accepted"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let rename = entries.iter().find(|e| e.action == "org.renamed").expect("rename entry");
    assert_eq!(rename.before.as_ref().and_then(|b| b["name"].as_str()), Some("Acme"));
    assert_eq!(rename.after.as_ref().and_then(|b| b["name"].as_str()), Some("Acme, \"the\" best"));
    assert_eq!(rename.actor.as_deref(), Some("olivia@example.com"));
    assert_eq!(rename.ip, "127.0.0.1");

    assert_eq!(viewer.call::<Vec<AuditEntryView>>("audit_log", &[("org_id", &org_id)]).await.unwrap_err().status, 403);
    assert_eq!(viewer.get(&format!("/orgs/{org_id}/audit.csv")).await.status(), 403);
    assert_eq!(app.client().get(&format!("/orgs/{org_id}/audit.csv")).await.status(), 401);

    let csv = owner.get(&format!("/orgs/{org_id}/audit.csv")).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    let body = csv.text().await.expect("csv");
    assert!(body.starts_with("time,actor,action,target,before,after,ip,user_agent\n"));
    assert!(body.contains("org.renamed"));
    assert!(body.contains("\"{\"\"name\"\":\"\"Acme\"\"}\""), "JSON with quotes is escaped: {body}");
}

/// Signs in as org A and tries every organization route with org B's ids.
#[tokio::test]
async fn no_route_reveals_or_changes_another_organization() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up("Alice", "alice@example.com").await;
    let bob = app.signed_up("Bob", "bob@example.com").await;
    create_org(&alice, "Alpha").await;
    let beta = create_org(&bob, "Beta").await;
    let b = beta.id.to_string();
    let bob_id = bob.me().await.expect("me").user_id.to_string();
    let team: app::domain::TeamId =
        bob.call("create_team", &[("org_id", &b), ("name", "Beta team")]).await.expect("team");
    let team = team.to_string();
    let invitation: InvitationView = bob
        .call("invite", &[("org_id", &b), ("email", "carol@example.com"), ("role", "viewer")])
        .await
        .expect("invite");
    let inv = invitation.id.to_string();
    let prompt = bob.create_prompt("Secret", "Beta's secret prompt").await.expect("prompt");

    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("switch_org", vec![("org_id", &b)]),
        ("rename_org", vec![("org_id", &b), ("name", "Pwned")]),
        ("delete_org", vec![("org_id", &b), ("confirm_name", "Beta")]),
        ("members", vec![("org_id", &b)]),
        ("change_role", vec![("org_id", &b), ("user_id", &bob_id), ("role", "viewer")]),
        ("remove_member", vec![("org_id", &b), ("user_id", &bob_id)]),
        ("invite", vec![("org_id", &b), ("email", "x@example.com"), ("role", "viewer")]),
        ("invitations", vec![("org_id", &b)]),
        ("resend_invitation", vec![("org_id", &b), ("invitation_id", &inv)]),
        ("revoke_invitation", vec![("org_id", &b), ("invitation_id", &inv)]),
        ("teams", vec![("org_id", &b)]),
        ("create_team", vec![("org_id", &b), ("name", "Mine")]),
        ("delete_team", vec![("org_id", &b), ("team_id", &team)]),
        ("set_team_member", vec![("org_id", &b), ("team_id", &team), ("user_id", &bob_id)]),
        ("remove_team_member", vec![("org_id", &b), ("team_id", &team), ("user_id", &bob_id)]),
        ("audit_log", vec![("org_id", &b)]),
    ];
    for (endpoint, args) in &attempts {
        let failure = alice.call::<serde_json::Value>(endpoint, args).await.expect_err(endpoint);
        assert_eq!((failure.status, &failure.error), (404, &AppError::NotFound), "{endpoint}");
    }
    for (endpoint, args) in [
        ("prompt", serde_json::json!({ "id": prompt })),
        (
            "update_prompt",
            serde_json::json!({ "id": prompt, "base_version": 1, "input": { "title": "Pwned", "body": "x" } }),
        ),
        ("delete_prompt", serde_json::json!({ "id": prompt })),
        ("prompt_versions", serde_json::json!({ "id": prompt })),
        ("prompt_diff", serde_json::json!({ "id": prompt, "from": 1, "to": 1 })),
        ("revert_prompt", serde_json::json!({ "id": prompt, "version": 1 })),
        ("set_prompt_label", serde_json::json!({ "id": prompt, "label": "staging", "version": 1 })),
        ("render_prompt", serde_json::json!({ "id": prompt, "version": null, "values": {} })),
    ] {
        let failure = alice.call_json::<serde_json::Value>(endpoint, args).await.expect_err(endpoint);
        assert_eq!((failure.status, &failure.error), (404, &AppError::NotFound), "{endpoint}");
    }
    assert_eq!(alice.get(&format!("/orgs/{b}/audit.csv")).await.status(), 404);
    let listed = alice.prompts().await.expect("own prompts");
    assert!(listed.is_empty(), "Alice sees none of Beta's prompts");

    // Nothing changed in Beta.
    let members: Vec<MemberView> = bob.call("members", &[("org_id", &b)]).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(bob.me().await.expect("me").orgs.iter().find(|o| o.id == beta.id).expect("beta").name, "Beta");
    let prompts = bob.prompts().await.expect("prompts");
    assert_eq!(prompts[0].title, "Secret");
}

#[tokio::test]
async fn a_new_session_opens_where_the_person_worked_last() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let member = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let personal = member.me().await.expect("me").orgs.into_iter().find(|o| o.id != org.id).expect("personal").id;

    // With no history, a shared organization comes before the personal workspace.
    member.call::<()>("sign_out", &[]).await.expect("sign out");
    let laptop = app.client();
    laptop.sign_in("edith@example.com", PASSWORD).await.expect("sign in");
    assert_eq!(laptop.me().await.expect("me").active_org.expect("active").id, org.id);

    // After working in the personal workspace, the next session opens there.
    app.clock.advance(Duration::minutes(1));
    laptop.call::<()>("switch_org", &[("org_id", &personal.to_string())]).await.expect("switch");
    app.clock.advance(Duration::minutes(1));
    let phone = app.client();
    phone.sign_in("edith@example.com", PASSWORD).await.expect("sign in");
    assert_eq!(phone.me().await.expect("me").active_org.expect("active").id, personal);
}

#[tokio::test]
async fn owners_of_enterprise_organizations_name_enterprise_admins() {
    use app::domain::OrgKind;
    use app::ports::OrgRecord;
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let owner_id = owner.me().await.expect("me").user_id;
    // Enterprise organizations come from the enterprise plan; here straight from the store.
    let enterprise = OrgId::new();
    let record =
        OrgRecord { id: enterprise, name: "Globex".into(), kind: OrgKind::Enterprise, created_at: app.clock_now() };
    app.state.services.store.create_org(&record, owner_id).await.expect("enterprise org");
    let admin = join(&app, &owner, enterprise, "Adam", "adam@example.com", "admin").await;
    let adam = admin.me().await.expect("me").user_id;
    // Only the owner grants it, and only in an enterprise organization.
    assert_eq!(grant(&admin, enterprise, adam, "true").await.unwrap_err().status, 403);
    grant(&owner, enterprise, adam, "true").await.expect("grant");
    let members: Vec<MemberView> =
        owner.call("members", &[("org_id", &enterprise.to_string())]).await.expect("members");
    assert!(members.iter().any(|m| m.user_id == adam && m.enterprise_admin));
    let me = admin.me().await.expect("me");
    assert!(
        me.orgs.iter().any(|o| o.id == enterprise && o.enterprise_admin),
        "the grant shows in the member's context"
    );

    let team = create_org(&owner, "Small team").await;
    let not_enterprise = grant(&owner, team.id, adam, "true").await.unwrap_err();
    assert_eq!(field_of(&not_enterprise), "on");

    grant(&owner, enterprise, adam, "false").await.expect("revoke");
    let members: Vec<MemberView> =
        owner.call("members", &[("org_id", &enterprise.to_string())]).await.expect("members");
    assert!(members.iter().any(|m| m.user_id == adam && !m.enterprise_admin));
    let log: Vec<AuditEntryView> =
        owner.call("audit_log", &[("org_id", &enterprise.to_string())]).await.expect("audit");
    assert!(log.iter().any(|e| e.action == "member.enterprise_admin_granted"));
    assert!(log.iter().any(|e| e.action == "member.enterprise_admin_revoked"));
}

async fn grant(
    client: &Client,
    org: OrgId,
    user: app::domain::UserId,
    on: &str,
) -> Result<(), crate::support::Failure> {
    client
        .call("set_enterprise_admin", &[("org_id", &org.to_string()), ("user_id", &user.to_string()), ("on", on)])
        .await
}
