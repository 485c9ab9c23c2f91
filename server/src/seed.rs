//! Demo data for an empty database: one account per role in a demo organization, so a newcomer
//! can click around at once. Runs only when `CAIRN_DEMO` is on and there are no users.

use app::domain::prompt::{PromptFields, PromptInput, PromptStatus};
use app::domain::{CapabilityRole, Email, OrgId, OrgKind, OrgRole, PlatformRole, TeamId, UserId};
use app::ports::{NewUser, OrgRecord, PromptSave, Services};

pub const DEMO_PASSWORD: &str = "cairn-demo-2026";

pub struct DemoAccount {
    pub email: &'static str,
    pub name: &'static str,
    pub role: &'static str,
}

pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount { email: "owner@demo.cairn.test", name: "Olivia Owner", role: "org owner + enterprise admin" },
    DemoAccount { email: "admin@demo.cairn.test", name: "Adam Admin", role: "org admin" },
    DemoAccount { email: "editor@demo.cairn.test", name: "Edith Editor", role: "editor" },
    DemoAccount { email: "viewer@demo.cairn.test", name: "Victor Viewer", role: "viewer" },
    DemoAccount { email: "leader@demo.cairn.test", name: "Lena Leader", role: "team leader" },
    DemoAccount { email: "creator@demo.cairn.test", name: "Chris Creator", role: "creator" },
    DemoAccount { email: "mentor@demo.cairn.test", name: "Maya Mentor", role: "mentor" },
    DemoAccount { email: "concierge@demo.cairn.test", name: "Conrad Concierge", role: "concierge" },
    DemoAccount { email: "client@demo.cairn.test", name: "Clara Client", role: "client (individual)" },
    DemoAccount { email: "sysadmin@demo.cairn.test", name: "Sam Sysadmin", role: "platform system admin" },
    DemoAccount { email: "moderator@demo.cairn.test", name: "Mo Moderator", role: "platform moderator" },
];

/// Seeds when the database is empty; returns whether it did.
pub async fn seed_if_empty(services: &Services) -> Result<bool, String> {
    let store = &services.store;
    if store.count_users().await.map_err(|e| e.to_string())? > 0 {
        return Ok(false);
    }
    let now = services.clock.now();
    let hash = app::security::hash_password(&services.hashing, DEMO_PASSWORD).await.map_err(|e| e.to_string())?;
    let org = OrgRecord { id: OrgId::new(), name: "Acme Coaching".into(), kind: OrgKind::Enterprise, created_at: now };
    let team = TeamId::new();
    let mut ids = Vec::new();
    for account in DEMO_ACCOUNTS {
        let email = Email::parse(account.email).map_err(|e| e.0)?;
        let user = NewUser {
            id: UserId::new(),
            email,
            display_name: account.name.into(),
            password_hash: Some(hash.clone()),
            timezone: "Europe/Berlin".into(),
            email_verified_at: Some(now),
            created_at: now,
        };
        let personal = OrgRecord {
            id: OrgId::new(),
            name: format!("{}'s workspace", account.name.split(' ').next().unwrap_or("My")),
            kind: OrgKind::Personal,
            created_at: now,
        };
        store.create_user(&user, &personal).await.map_err(|e| e.to_string())?;
        ids.push(user.id);
    }
    let e = |r: Result<(), app::ports::StoreError>| r.map_err(|e| e.to_string());
    e(store.create_org(&org, ids[0]).await)?;
    for (i, role) in [
        (1, OrgRole::Admin),
        (2, OrgRole::Editor),
        (3, OrgRole::Viewer),
        (4, OrgRole::Editor),
        (5, OrgRole::Editor),
        (6, OrgRole::Viewer),
        (7, OrgRole::Viewer),
        (8, OrgRole::Viewer),
    ] {
        e(store.add_member(org.id, ids[i], role, now).await)?;
    }
    e(room_for_members(services, org.id).await)?;
    e(store.create_team(org.id, team, "Leadership Circle", now).await)?;
    e(store.set_team_member(org.id, team, ids[4], true).await)?;
    e(store.set_team_member(org.id, team, ids[2], false).await)?;
    e(store.set_team_member(org.id, team, ids[3], false).await)?;
    e(store.grant_capability(ids[5], CapabilityRole::Creator).await)?;
    e(store.grant_capability(ids[6], CapabilityRole::Mentor).await)?;
    e(store.grant_capability(ids[7], CapabilityRole::Concierge).await)?;
    e(store.grant_platform_role(ids[9], PlatformRole::SystemAdmin).await)?;
    e(store.grant_platform_role(ids[10], PlatformRole::Moderator).await)?;
    let prompts = [
        (
            ids[2],
            "Weekly reflection",
            "A Friday check-in that helps a leader look back on the week.",
            "You are a warm leadership coach. Ask {{name}} three questions about their week, one at a time.\n\n\
             Focus on **{{focus}}**.",
            "Support",
            "coaching, weekly",
            PromptStatus::Published,
        ),
        (
            ids[1],
            "Goal check-in",
            "Progress towards a goal and one next step.",
            "Summarise {{name}}'s progress towards {{goal}} and suggest one small next step.",
            "Sales",
            "goals",
            PromptStatus::Published,
        ),
        (
            ids[2],
            "Onboarding email",
            "Welcome a new client to their program.",
            "Write a friendly onboarding email to {{name}} who just joined {{program}}. Keep it under 150 words.",
            "Marketing",
            "onboarding, email",
            PromptStatus::Draft,
        ),
    ];
    for (author, title, description, body, category, tags, status) in prompts {
        let input = PromptInput {
            title: title.into(),
            description: description.into(),
            body: body.into(),
            status: Some(status.as_str().into()),
            category: category.into(),
            tags: tags.into(),
            ..Default::default()
        };
        let Ok(fields) = PromptFields::parse(&input) else { continue };
        let save = PromptSave {
            org: org.id,
            id: uuid::Uuid::now_v7(),
            author,
            fields: &fields,
            change_note: "First version",
            at: now,
            base_version: None,
        };
        e(store.save_prompt(&save).await.map(|_| ()))?;
    }
    // Two published sequences from the templates, by the creator, shared with the organization.
    for template in ["leadership-weekly", "new-manager"] {
        let Some(t) = app::domain::templates::by_id(template) else { continue };
        let meta = app::domain::sequence::SequenceMeta {
            visibility: app::domain::sequence::Visibility::Organization,
            ..t.meta()
        };
        let record = app::ports::SequenceRecord {
            id: uuid::Uuid::now_v7(),
            org_id: org.id,
            creator_id: ids[5],
            meta,
            draft: t.steps(),
            draft_changed: true,
            published_version: None,
            is_template: false,
            created_at: now,
            updated_at: now,
        };
        e(store.create_sequence(&record).await)?;
        e(store.publish_sequence(org.id, record.id, None, ids[5], now).await.map(|_| ()))?;
    }
    // A premium sequence the creator sells for $49, and a platform promo code for plans.
    if let Some(t) = app::domain::templates::by_id("habit-30") {
        let meta = app::domain::sequence::SequenceMeta {
            title: "Executive habits in 30 days".into(),
            visibility: app::domain::sequence::Visibility::Premium,
            ..t.meta()
        };
        let record = app::ports::SequenceRecord {
            id: uuid::Uuid::now_v7(),
            org_id: org.id,
            creator_id: ids[5],
            meta,
            draft: t.steps(),
            draft_changed: true,
            published_version: None,
            is_template: false,
            created_at: now,
            updated_at: now,
        };
        e(store.create_sequence(&record).await)?;
        e(store.publish_sequence(org.id, record.id, None, ids[5], now).await.map(|_| ()))?;
        e(store
            .set_price(&app::ports::PriceRecord {
                product: app::api::billing::sequence_product(record.id),
                org_id: org.id,
                seller_id: ids[5],
                amount: 4_900,
                currency: app::domain::billing::CURRENCY.into(),
                recurring: None,
                affiliate_bps: 0,
                updated_at: now,
            })
            .await)?;
        // Affiliates who bring a buyer earn 10%.
        let product = app::api::billing::sequence_product(record.id);
        e(store.set_affiliate_rate(&product, 1_000, now).await.map(|_| ()))?;
    }
    let journey = demo_journey(org.id, ids[5], now);
    e(store.create_journey(&journey).await)?;
    // Maya reviews submitted sections of it at $15 a review, Conrad holds sessions at $40, both
    // paid from Chris's balance.
    for (helper, role, rate) in [(ids[6], CapabilityRole::Mentor, 1_500), (ids[7], CapabilityRole::Concierge, 4_000)] {
        e(store
            .set_journey_helper(&app::ports::JourneyHelperRecord {
                journey_id: journey.id,
                helper_id: helper,
                role,
                helper_name: String::new(),
                rate,
                added_at: now,
            })
            .await)?;
    }
    e(store
        .create_promo(&app::ports::PromoRecord {
            id: uuid::Uuid::now_v7(),
            code: "WELCOME20".into(),
            owner_id: None,
            rules: app::domain::billing::PromoRules {
                discount: app::domain::billing::Discount::Percent(20),
                duration: app::domain::billing::PromoDuration::Repeating(3),
                valid_from: None,
                valid_until: None,
                max_redemptions: Some(1_000),
                first_time_only: true,
                products: vec![],
            },
            redeemed: 0,
            created_by: None,
            created_at: now,
        })
        .await)?;
    Ok(true)
}

/// Acme Coaching stays on the free plan (so its members buy premium sequences), with room for
/// 15 people: the free plan's five and ten more granted for a year, as a platform admin would.
async fn room_for_members(services: &Services, org: OrgId) -> Result<(), app::ports::StoreError> {
    use app::domain::billing::{Boost, Quota};
    let now = services.clock.now();
    let boost = app::ports::BoostRecord {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        boost: Boost { quota: Quota::Members, extra: 10 },
        reason: "Demo organization".into(),
        expires_at: now + chrono::Duration::days(365),
        created_by: None,
        created_at: now,
    };
    services.store.add_boost(&boost).await
}

/// A published journey by the creator: two sections, a few of each kind of question.
fn demo_journey(org: OrgId, creator: UserId, now: chrono::DateTime<chrono::Utc>) -> app::ports::JourneyRecord {
    use app::domain::journey::{Choice, Field, FieldKind, Section};
    let field = |id: &str, label: &str, kind: FieldKind, required: bool, options: &[(&str, i64)]| Field {
        id: id.into(),
        label: label.into(),
        kind,
        required,
        help: String::new(),
        options: options.iter().map(|(label, points)| Choice { label: (*label).into(), points: *points }).collect(),
        scored: !options.is_empty() || kind == FieldKind::Scale,
    };
    let sections = vec![
        Section {
            id: "s1".into(),
            title: "Where you are now".into(),
            description: "A snapshot before we start: there are no wrong answers.".into(),
            fields: vec![
                field("f1", "What do you want to change this quarter?", FieldKind::LongText, true, &[]),
                field("f2", "How much energy do you have for it?", FieldKind::Scale, true, &[]),
                field(
                    "f3",
                    "What already helps you?",
                    FieldKind::MultipleChoice,
                    false,
                    &[("A morning routine", 2), ("A mentor", 2), ("Weekly planning", 3), ("Nothing yet", 0)],
                ),
            ],
        },
        Section {
            id: "s2".into(),
            title: "Your first step".into(),
            description: String::new(),
            fields: vec![
                field("f1", "Your first step", FieldKind::ShortText, true, &[]),
                field("f2", "When will you take it?", FieldKind::Date, true, &[]),
                field("f3", "Would you like a mentor to review this?", FieldKind::YesNo, false, &[]),
            ],
        },
    ];
    app::ports::JourneyRecord {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        creator_id: creator,
        creator_name: String::new(),
        title: "Quarterly reset".into(),
        description: "Take stock, choose one change, and plan its first step.".into(),
        published: true,
        sections,
        revision: 1,
        created_at: now,
        updated_at: now,
    }
}
