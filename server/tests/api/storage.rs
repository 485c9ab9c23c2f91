//! The storage contract: the same assertions against the `Store` ports on whichever backend the
//! run uses (SQLite or PostgreSQL), below the HTTP layer.

use crate::support::TestApp;
use app::domain::{Email, OrgId, OrgKind, OrgRole, TeamId, UserId};
use app::ports::{NewUser, OrgRecord, StoreError, TokenPurpose};
use chrono::{Duration, Utc};

fn user(email: &str) -> (NewUser, OrgRecord) {
    let now = Utc::now();
    let user = NewUser {
        id: UserId::new(),
        email: Email::parse(email).expect("email"),
        display_name: "Test".into(),
        password_hash: None,
        timezone: "UTC".into(),
        email_verified_at: None,
        created_at: now,
    };
    let org = OrgRecord { id: OrgId::new(), name: "Personal".into(), kind: OrgKind::Personal, created_at: now };
    (user, org)
}

#[tokio::test]
async fn store_contract() {
    let app = TestApp::spawn().await;
    let store = &app.state.services.store;
    let now = Utc::now();

    // Users: unique email is a Conflict, found again by normalised email, timestamps round-trip.
    let (ada, ada_org) = user("ada@example.com");
    store.create_user(&ada, &ada_org).await.expect("create");
    let (dup, dup_org) = user("ada@example.com");
    assert!(matches!(store.create_user(&dup, &dup_org).await, Err(StoreError::Conflict(_))));
    assert!(store.user_by_id(dup.id).await.expect("lookup").is_none(), "the failed create left nothing behind");
    let found =
        store.user_by_email(&Email::parse("ADA@example.com").expect("email")).await.expect("by email").expect("found");
    assert_eq!(found.id, ada.id);
    assert_eq!(found.created_at.timestamp_micros(), ada.created_at.timestamp_micros());

    // Tokens: usable once, never after expiry, only for their purpose.
    store.insert_token("hash-1", ada.id, TokenPurpose::VerifyEmail, now + Duration::hours(1)).await.expect("token");
    assert_eq!(store.consume_token("hash-1", TokenPurpose::ResetPassword, now).await.expect("consume"), None);
    assert_eq!(store.consume_token("hash-1", TokenPurpose::VerifyEmail, now).await.expect("consume"), Some(ada.id));
    assert_eq!(store.consume_token("hash-1", TokenPurpose::VerifyEmail, now).await.expect("consume"), None);
    store.insert_token("hash-2", ada.id, TokenPurpose::MagicLink, now + Duration::minutes(15)).await.expect("token");
    assert_eq!(
        store.consume_token("hash-2", TokenPurpose::MagicLink, now + Duration::minutes(16)).await.expect("consume"),
        None
    );

    // OAuth states: taken once.
    store.insert_oauth_state("state-1", "google", "verifier", "/", now + Duration::minutes(10)).await.expect("state");
    assert!(store.take_oauth_state("state-1", now).await.expect("take").is_some());
    assert!(store.take_oauth_state("state-1", now).await.expect("take").is_none());

    // Sign-in failures are counted in their window, oldest first.
    for minutes in [50, 10, 5] {
        store
            .record_sign_in_failure("ada@example.com", "10.0.0.1", now - Duration::minutes(minutes))
            .await
            .expect("failure");
    }
    let counts =
        store.sign_in_failures("ada@example.com", "10.0.0.1", now - Duration::minutes(15)).await.expect("counts");
    assert_eq!((counts.by_email, counts.by_ip), (2, 2));
    assert_eq!(counts.oldest_by_email.map(|t| t.timestamp()), Some((now - Duration::minutes(10)).timestamp()));

    // Organizations: the last owner stays; teams accept only members.
    let (bob, bob_org) = user("bob@example.com");
    store.create_user(&bob, &bob_org).await.expect("bob");
    let org = OrgRecord { id: OrgId::new(), name: "Acme".into(), kind: OrgKind::Team, created_at: now };
    store.create_org(&org, ada.id).await.expect("org");
    assert!(matches!(store.set_member_role(org.id, ada.id, OrgRole::Admin).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.remove_member(org.id, ada.id).await, Err(StoreError::Conflict(_))));
    let team = TeamId::new();
    store.create_team(org.id, team, "Core", now).await.expect("team");
    assert!(
        matches!(store.set_team_member(org.id, team, bob.id, false).await, Err(StoreError::NotFound)),
        "Bob is not a member yet"
    );
    store.add_member(org.id, bob.id, OrgRole::Viewer, now).await.expect("add");
    assert!(matches!(store.add_member(org.id, bob.id, OrgRole::Viewer, now).await, Err(StoreError::Conflict(_))));
    store.set_team_member(org.id, team, bob.id, true).await.expect("team member");
    let membership = store.membership(org.id, bob.id).await.expect("membership").expect("member");
    assert_eq!((membership.teams.clone(), membership.led_teams.clone()), (vec![team], vec![team]));
    store.remove_member(org.id, bob.id).await.expect("remove bob");
    assert!(store.teams(org.id).await.expect("teams")[0].members.is_empty(), "leaving the org leaves its teams");
    // A team of another organization is not found through this one.
    let other = OrgRecord { id: OrgId::new(), name: "Other".into(), kind: OrgKind::Team, created_at: now };
    store.create_org(&other, bob.id).await.expect("other org");
    assert!(matches!(store.delete_team(other.id, team).await, Err(StoreError::NotFound)));

    // Deleting an organization removes what belongs to it.
    store.delete_org(org.id).await.expect("delete");
    assert!(store.membership(org.id, ada.id).await.expect("membership").is_none());
    assert!(store.teams(org.id).await.expect("teams").is_empty());

    // The audit log pages newest first by time-ordered id.
    for n in 0..5 {
        let entry = app::ports::AuditEntry {
            org_id: Some(other.id),
            actor_id: Some(bob.id),
            action: format!("test.{n}"),
            target: "x".into(),
            before: None,
            after: Some(serde_json::json!({ "n": n })),
            ip: String::new(),
            user_agent: String::new(),
            at: now,
        };
        store.append_audit(&entry).await.expect("audit");
    }
    let first = store.audit_log(other.id, None, 2).await.expect("page");
    assert_eq!(first.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["test.4", "test.3"]);
    let next = store.audit_log(other.id, Some(first[1].id), 10).await.expect("page");
    assert_eq!(next.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["test.2", "test.1", "test.0"]);
    assert_eq!(next[0].after.as_ref().and_then(|a| a["n"].as_i64()), Some(2));
}

#[tokio::test]
async fn an_import_that_fails_half_way_leaves_nothing_behind() {
    use app::domain::prompt::{PromptFields, PromptInput};
    use app::ports::{CollectionRecord, ImportedPrompt, LibraryImport, PromptFilter, PromptVersionRecord};
    let app = TestApp::spawn().await;
    let store = &app.state.services.store;
    let now = Utc::now();
    let (ada, ada_org) = user("ada@example.com");
    store.create_user(&ada, &ada_org).await.expect("create");
    let prompt = |title: &str, label_version: i32| {
        let fields =
            PromptFields::parse(&PromptInput { title: title.into(), body: "Text.".into(), ..Default::default() })
                .expect("fields");
        ImportedPrompt {
            id: uuid::Uuid::now_v7(),
            collection_id: None,
            created_at: now,
            updated_at: now,
            versions: vec![PromptVersionRecord {
                number: 1,
                title: fields.title.clone(),
                description: String::new(),
                body: fields.body.clone(),
                variables: Vec::new(),
                model: Default::default(),
                author_name: String::new(),
                change_note: "Imported".into(),
                created_at: now,
            }],
            labels: vec![("production".into(), label_version)],
            comments: Vec::new(),
            fields,
        }
    };
    let folder = CollectionRecord {
        id: uuid::Uuid::now_v7(),
        parent_id: None,
        name: "F".into(),
        prompt_count: 0,
        created_at: now,
    };
    // The second prompt's label points at a version that does not exist: the database refuses it
    // after the collection and the first prompt were written, and the transaction takes them back.
    let import = LibraryImport {
        org: ada_org.id,
        author: ada.id,
        at: now,
        collections: vec![folder],
        categories: Vec::new(),
        prompts: vec![prompt("First", 1), prompt("Second", 7)],
    };
    assert!(store.import_library(&import).await.is_err());
    let filter = PromptFilter { limit: 10, ..Default::default() };
    assert!(store.prompts(ada_org.id, &filter).await.expect("prompts").is_empty());
    assert!(store.collections(ada_org.id).await.expect("collections").is_empty());

    let import = LibraryImport { prompts: vec![prompt("First", 1)], ..import };
    store.import_library(&import).await.expect("a sound import");
    assert_eq!(store.prompts(ada_org.id, &filter).await.expect("prompts").len(), 1);
    assert_eq!(store.collections(ada_org.id).await.expect("collections").len(), 1);
}
