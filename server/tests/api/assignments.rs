//! Assigning sequences: team leaders to their own team's members, enterprise admins to anyone and
//! to whole teams, mandatory and with a due date; and who sees whose progress (the PowerPrompts
//! matrix rows for assignment and progress tracking).

use crate::orgs::join;
use crate::support::{Client, PASSWORD, TestApp, field_of};
use app::api::assignments::{AssignChoices, AssignReport, AssigneeProgress};
use app::api::sequences::SubscriptionView;
use app::domain::sequence::{SequenceMeta, Visibility};
use app::domain::{OrgId, OrgKind, TeamId};
use app::ports::OrgRecord;
use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

struct Cohort {
    app: TestApp,
    olivia: Client,
    lena: Client,
    eve: Client,
    finn: Client,
    gus: Client,
    org: OrgId,
    team: TeamId,
    sequence: Uuid,
}

/// An enterprise organization (Olivia, its enterprise admin), Lena leading a team with Eve in it,
/// Finn and Gus outside it, and a published sequence.
async fn cohort() -> Cohort {
    let app = TestApp::spawn().await;
    let olivia = app.signed_up("Olivia Owner", "olivia@example.com").await;
    let owner = olivia.me().await.expect("me").user_id;
    let org = OrgId::new();
    let record = OrgRecord { id: org, name: "Globex".into(), kind: OrgKind::Enterprise, created_at: app.clock_now() };
    app.state.services.store.create_org(&record, owner).await.expect("enterprise org");
    olivia.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let lena = join(&app, &olivia, org, "Lena Leader", "lena@example.com", "viewer").await;
    let eve = join(&app, &olivia, org, "Eve Member", "eve@example.com", "viewer").await;
    let finn = join(&app, &olivia, org, "Finn Other", "finn@example.com", "viewer").await;
    let gus = join(&app, &olivia, org, "Gus Guest", "gus@example.com", "viewer").await;
    let team: TeamId =
        olivia.call("create_team", &[("org_id", &org.to_string()), ("name", "Circle")]).await.expect("team");
    for (client, leader) in [(&lena, "true"), (&eve, "false")] {
        let user = client.me().await.expect("me").user_id.to_string();
        olivia
            .call::<()>(
                "set_team_member",
                &[("org_id", &org.to_string()), ("team_id", &team.to_string()), ("user_id", &user), ("leader", leader)],
            )
            .await
            .expect("team member");
    }
    let sequence: Uuid =
        olivia.call_json("create_sequence", json!({ "title": "Onboarding", "template": null })).await.expect("create");
    let detail: serde_json::Value = olivia.call_json("sequence", json!({ "id": sequence })).await.expect("detail");
    let meta = SequenceMeta { visibility: Visibility::Organization, ..SequenceMeta::titled("Onboarding") };
    let _: serde_json::Value = olivia
        .call_json("save_sequence", json!({ "id": sequence, "meta": meta, "steps": detail["steps"] }))
        .await
        .expect("save");
    let _: i32 = olivia.call_json("publish_sequence", json!({ "id": sequence })).await.expect("publish");
    Cohort { app, olivia, lena, eve, finn, gus, org, team, sequence }
}

async fn assign(client: &Client, input: serde_json::Value) -> Result<AssignReport, crate::support::Failure> {
    client.call_json("assign_sequence", json!({ "input": input })).await
}

async fn progress(client: &Client, sequence: Uuid) -> Vec<(String, bool)> {
    let rows: Vec<AssigneeProgress> =
        client.call_json("assignment_progress", json!({ "id": sequence })).await.expect("progress");
    rows.into_iter().map(|r| (r.name, r.overdue)).collect()
}

fn names(mut rows: Vec<(String, bool)>) -> Vec<String> {
    rows.sort();
    rows.into_iter().map(|(name, _)| name).collect()
}

#[tokio::test]
async fn team_leaders_assign_their_members_and_enterprise_admins_anyone_mandatory_with_a_due_date() {
    let Cohort { app, olivia, lena, eve, finn, gus, org, team, sequence } = cohort().await;
    let eve_id = eve.me().await.expect("me").user_id;
    let finn_id = finn.me().await.expect("me").user_id;

    // Lena may assign her team's members and her team, not make it mandatory.
    let choices: AssignChoices = lena.call_json("assign_options", json!({ "id": sequence })).await.expect("options");
    assert_eq!(choices.people.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Eve Member"]);
    assert_eq!(choices.teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Circle"]);
    assert!(!choices.may_mandate);
    // A plain member may assign nobody.
    let none: AssignChoices = gus.call_json("assign_options", json!({ "id": sequence })).await.expect("options");
    assert!(none.people.is_empty() && none.teams.is_empty());
    let denied = assign(&gus, json!({ "sequence_id": sequence, "users": [eve_id] })).await.expect_err("not a leader");
    assert_eq!(denied.status, 403);

    // Outside her team, mandatory, in the past, nobody: refused, by field where it is the input.
    let outside = assign(&lena, json!({ "sequence_id": sequence, "users": [finn_id] })).await.expect_err("outside");
    assert_eq!(outside.status, 403);
    let mandatory = assign(&lena, json!({ "sequence_id": sequence, "users": [eve_id], "mandatory": true }));
    assert_eq!(field_of(&mandatory.await.expect_err("not hers to mandate")), "mandatory");
    let past = assign(&lena, json!({ "sequence_id": sequence, "users": [eve_id], "due_on": "2020-01-01" }));
    assert_eq!(field_of(&past.await.expect_err("past")), "due_on");
    let garbled = assign(&lena, json!({ "sequence_id": sequence, "users": [eve_id], "due_on": "soon" }));
    assert_eq!(field_of(&garbled.await.expect_err("garbled")), "due_on");
    let nobody = assign(&lena, json!({ "sequence_id": sequence })).await.expect_err("nobody");
    assert_eq!(field_of(&nobody), "users");

    let report = assign(&lena, json!({ "sequence_id": sequence, "users": [eve_id] })).await.expect("assign");
    assert_eq!(report.assigned, ["Eve Member"]);
    let inbox: Vec<SubscriptionView> = eve.call_json("inbox", json!({})).await.expect("inbox");
    assert_eq!(inbox.len(), 1);
    assert!(!inbox[0].mandatory);

    // Olivia assigns the whole team and Finn, mandatory, due in a week: Eve already has it.
    let due = (app.clock_now() + Duration::days(7)).date_naive();
    let report = assign(
        &olivia,
        json!({ "sequence_id": sequence, "teams": [team], "users": [finn_id], "mandatory": true, "due_on": due.to_string() }),
    )
    .await
    .expect("bulk assign");
    let mut assigned = report.assigned.clone();
    assigned.sort();
    assert_eq!(assigned, ["Finn Other", "Lena Leader"]);
    assert_eq!(report.skipped, [("Eve Member".to_owned(), "already taking this sequence".to_owned())]);

    // Finn may pause a mandatory sequence but not leave it.
    let finn_inbox: Vec<SubscriptionView> = finn.call_json("inbox", json!({})).await.expect("inbox");
    let sub = &finn_inbox[0];
    assert!(sub.mandatory);
    assert_eq!(sub.due_on, Some(due));
    let leave = finn
        .call_json::<()>("set_subscription_status", json!({ "id": sub.id, "status": "canceled", "until": null }))
        .await
        .expect_err("mandatory");
    assert_eq!(field_of(&leave), "status");
    finn.call_json::<()>("set_subscription_status", json!({ "id": sub.id, "status": "paused", "until": null }))
        .await
        .expect("pause");

    // Progress: the admin sees everyone; the leader her team (herself included); others their own.
    assert_eq!(names(progress(&olivia, sequence).await), ["Eve Member", "Finn Other", "Lena Leader"]);
    assert_eq!(names(progress(&lena, sequence).await), ["Eve Member", "Lena Leader"]);
    assert_eq!(names(progress(&finn, sequence).await), ["Finn Other"]);
    assert!(progress(&gus, sequence).await.is_empty());

    // Eight days on, the mandatory assignments not completed are overdue; Eve's had no due date.
    app.clock.advance(Duration::days(8));
    olivia.sign_in("olivia@example.com", PASSWORD).await.expect("sign in");
    olivia.call::<()>("switch_org", &[("org_id", &org.to_string())]).await.expect("switch");
    let mut rows = progress(&olivia, sequence).await;
    rows.sort();
    assert_eq!(
        rows,
        [("Eve Member".to_owned(), false), ("Finn Other".to_owned(), true), ("Lena Leader".to_owned(), true)]
    );
}
