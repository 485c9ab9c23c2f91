//! The one permission module: `can(actor, action, resource)`.
//!
//! Two matrices from the product documents live here as data:
//! - organization roles Owner/Admin/Editor/Viewer over the organization's content (Prompt Vault, 4.2);
//! - the seven sequence roles Guest … Sys Admin over sequences, assignment, analytics and
//!   moderation (PowerPrompts, RBAC), whose cells can be conditional ("Own only", "If assigned").
//!
//! The caller describes the resource with the facts the conditions need (owner, team, whether the
//! actor is subscribed …); `can` never touches storage. Every server function and API route asks it.

use super::{CapabilityRole, OrgId, OrgKind, OrgRole, PlatformRole, TeamId, UserId};
use serde::{Deserialize, Serialize};

/// Who is asking, with their roles as they apply to the resource's organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `None` for a guest (not signed in).
    pub user: Option<UserId>,
    pub platform_roles: Vec<PlatformRole>,
    pub capabilities: Vec<CapabilityRole>,
    /// The actor's membership in the organization of the resource being decided on, if any.
    pub membership: Option<Membership>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub org: OrgId,
    pub org_kind: OrgKind,
    pub role: OrgRole,
    /// Enterprise admin of this (enterprise) organization.
    pub enterprise_admin: bool,
    pub teams: Vec<TeamId>,
    pub led_teams: Vec<TeamId>,
}

impl Actor {
    pub fn guest() -> Self {
        Self::default()
    }

    fn has_platform(&self, role: PlatformRole) -> bool {
        self.platform_roles.contains(&role)
    }

    pub fn membership_in(&self, org: OrgId) -> Option<&Membership> {
        self.membership.as_ref().filter(|m| m.org == org)
    }

    fn is(&self, user: Option<UserId>) -> bool {
        self.user.is_some() && self.user == user
    }
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    // Organization content and management (Prompt Vault matrix, plus organization pages).
    ViewOrg,
    ViewMembers,
    ViewPrompts,
    /// Comment on prompts one may see (and edit or delete one's own comments).
    CommentOnPrompts,
    CreatePrompt,
    EditPrompt,
    DeletePrompt,
    ManageMembers,
    ManageTeams,
    ManageBilling,
    AccessApi,
    /// Create and revoke the organization's API keys.
    ManageApiKeys,
    /// Add, change and remove the organization's webhooks; see their deliveries.
    ManageWebhooks,
    /// Add, restyle and remove the organization's own prompt categories.
    ManageCategories,
    /// Set the organization's AI model (endpoint, model, key) for the test panel.
    ManageAiModel,
    /// See the organization's prompt analytics and download them.
    ViewAnalytics,
    /// Move a protected deployment label (`production`).
    MoveProtectedLabel,
    ExportData,
    /// Import prompts in bulk from a JSON or CSV file.
    ImportData,
    ViewAuditLog,
    RenameOrg,
    DeleteOrg,
    // Journeys (Wrap It Up): members fill in the organization's published journeys.
    /// Build journeys in the organization.
    CreateJourney,
    /// Change or delete a journey and see its clients' submissions (Editors: their own).
    EditJourney,
    // Sequences (PowerPrompts matrix).
    AccessFreeSequence,
    AccessPremiumSequence,
    AccessEnterpriseSequence,
    AccessBetaSequence,
    Subscribe,
    PauseResume,
    CustomizeSchedule,
    TrackProgress,
    CreatePersonalSequence,
    CreateTeamSequence,
    CreatePremiumSequence,
    CreateEnterpriseSequence,
    AssignToIndividuals,
    AssignToTeams,
    BulkAssign,
    MandatoryAssign,
    PersonalAnalytics,
    TeamAnalytics,
    CreatorAnalytics,
    RevenueAnalytics,
    OrgAnalytics,
    FlagContent,
    ModerateSubmissions,
    ApproveContent,
    ManageRevenueSharing,
    PlatformConfiguration,
}

/// What the action is about, with the facts its conditions depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resource {
    /// The platform as a whole (configuration, revenue sharing).
    Platform,
    /// An organization itself (its members, teams, billing, audit log, API).
    Org(OrgId),
    /// One team of an organization: its leaders may manage its members.
    Team { org: OrgId, team: TeamId },
    /// A piece of organization content with an author (prompts).
    Content { org: OrgId, author: UserId },
    /// Anything of the sequence world.
    Sequence(SequenceFacts),
}

/// Facts about a sequence, a subscription to one, or a report about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceFacts {
    /// The organization it belongs to, if any (public sequences have none).
    pub org: Option<OrgId>,
    /// The person who created the sequence.
    pub creator: Option<UserId>,
    /// The person it concerns: the subscriber, the person being assigned or reported on.
    pub subject: Option<UserId>,
    /// The team it concerns: the subject's team, or the team being assigned to.
    pub team: Option<TeamId>,
    pub actor_subscribed: bool,
    pub assigned_to_actor: bool,
    pub actor_opted_in_beta: bool,
    /// The actor is a partner creator allowed to build enterprise sequences.
    pub actor_is_partner: bool,
}

/// The seven columns of the PowerPrompts matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SequenceRole {
    Guest,
    Individual,
    TeamMember,
    TeamLeader,
    Creator,
    EnterpriseAdmin,
    SysAdmin,
}

impl SequenceRole {
    pub const ALL: [SequenceRole; 7] = [
        Self::Guest,
        Self::Individual,
        Self::TeamMember,
        Self::TeamLeader,
        Self::Creator,
        Self::EnterpriseAdmin,
        Self::SysAdmin,
    ];
}

/// One cell of the PowerPrompts matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Deny,
    Allow,
    /// May look at a preview only: the full action is denied.
    Preview,
    Subscribed,
    OwnAndSubscribed,
    All,
    IfAssigned,
    OptIn,
    OwnOnly,
    OwnAndAssigned,
    OwnAndCreated,
    AllAssigned,
    OwnAndTeam,
    Organization,
    /// Must apply to become a creator first: denied until then.
    Apply,
    PartnerOnly,
    TeamMembers,
    OwnTeams,
    AllTeams,
    /// Allowed; the size of what may be done is bounded by the plan's entitlements.
    Limited,
    CreatedContent,
    OwnContent,
    Summary,
}

impl Grant {
    /// Reads a cell as written in the product document.
    pub fn from_cell(cell: &str) -> Option<Self> {
        Some(match cell.trim() {
            "✅" => Self::Allow,
            "❌" => Self::Deny,
            "Preview" => Self::Preview,
            "Subscribed" => Self::Subscribed,
            "Own + Subscribed" => Self::OwnAndSubscribed,
            "All" => Self::All,
            "If assigned" => Self::IfAssigned,
            "Opt-in" => Self::OptIn,
            "Own only" => Self::OwnOnly,
            "Own + Assigned" => Self::OwnAndAssigned,
            "Own + Created" => Self::OwnAndCreated,
            "All assigned" => Self::AllAssigned,
            "Own + Team" => Self::OwnAndTeam,
            "Organization" => Self::Organization,
            "Apply" => Self::Apply,
            "Partner only" => Self::PartnerOnly,
            "Team members" => Self::TeamMembers,
            "Own teams" => Self::OwnTeams,
            "All teams" => Self::AllTeams,
            "Limited" => Self::Limited,
            "Created content" => Self::CreatedContent,
            "Own content" => Self::OwnContent,
            "Summary" => Self::Summary,
            _ => return None,
        })
    }
}

/// The PowerPrompts matrix, row by row, columns in [`SequenceRole::ALL`] order.
pub fn sequence_matrix(action: Action) -> Option<[Grant; 7]> {
    use Grant::*;
    Some(match action {
        Action::AccessFreeSequence => [Allow, Allow, Allow, Allow, Allow, Allow, Allow],
        Action::AccessPremiumSequence => [Preview, Subscribed, Subscribed, Subscribed, OwnAndSubscribed, All, All],
        Action::AccessEnterpriseSequence => [Deny, Deny, IfAssigned, IfAssigned, Deny, All, All],
        Action::AccessBetaSequence => [Deny, OptIn, OptIn, OptIn, Allow, Allow, Allow],
        Action::Subscribe => [Deny, Allow, Allow, Allow, Allow, Allow, Allow],
        Action::PauseResume => [Deny, OwnOnly, OwnOnly, OwnAndAssigned, OwnAndCreated, AllAssigned, All],
        Action::CustomizeSchedule => [Deny, Allow, Allow, Allow, Allow, Allow, Allow],
        Action::TrackProgress => [Deny, OwnOnly, OwnOnly, OwnAndTeam, OwnAndCreated, Organization, All],
        Action::CreatePersonalSequence => [Deny, Allow, Allow, Allow, Allow, Allow, Allow],
        Action::CreateTeamSequence => [Deny, Deny, Deny, Allow, Allow, Allow, Allow],
        Action::CreatePremiumSequence => [Deny, Apply, Apply, Apply, Allow, Deny, Allow],
        Action::CreateEnterpriseSequence => [Deny, Deny, Deny, Deny, PartnerOnly, Allow, Allow],
        Action::AssignToIndividuals => [Deny, Deny, Deny, TeamMembers, Deny, Organization, All],
        Action::AssignToTeams => [Deny, Deny, Deny, OwnTeams, Deny, AllTeams, All],
        Action::BulkAssign => [Deny, Deny, Deny, Limited, Deny, Allow, Allow],
        Action::MandatoryAssign => [Deny, Deny, Deny, Deny, Deny, Allow, Allow],
        Action::PersonalAnalytics => [Deny, Allow, Allow, Allow, Allow, Allow, Allow],
        Action::TeamAnalytics => [Deny, Deny, Deny, OwnTeams, CreatedContent, AllTeams, All],
        Action::CreatorAnalytics => [Deny, Deny, Deny, Deny, Allow, Deny, Allow],
        Action::RevenueAnalytics => [Deny, Deny, Deny, Deny, OwnContent, Summary, All],
        Action::OrgAnalytics => [Deny, Deny, Deny, Deny, Deny, Allow, Allow],
        Action::FlagContent => [Deny, Allow, Allow, Allow, Allow, Allow, Allow],
        Action::ModerateSubmissions => [Deny, Deny, Deny, Deny, Deny, Limited, Allow],
        Action::ApproveContent => [Deny, Deny, Deny, Deny, Deny, Limited, Allow],
        Action::ManageRevenueSharing => [Deny, Deny, Deny, Deny, Deny, Deny, Allow],
        Action::PlatformConfiguration => [Deny, Deny, Deny, Deny, Deny, Deny, Allow],
        _ => return None,
    })
}

/// The Prompt Vault matrix for organization roles. `Own` means: only content the actor wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgGrant {
    Yes,
    No,
    Own,
}

/// Columns Owner, Admin, Editor, Viewer.
pub fn org_matrix(action: Action) -> Option<[OrgGrant; 4]> {
    use OrgGrant::*;
    Some(match action {
        Action::ViewOrg | Action::ViewMembers | Action::ViewPrompts | Action::CommentOnPrompts | Action::AccessApi => {
            [Yes, Yes, Yes, Yes]
        }
        Action::CreatePrompt | Action::CreateJourney => [Yes, Yes, Yes, No],
        Action::EditPrompt | Action::EditJourney => [Yes, Yes, Own, No],
        Action::DeletePrompt => [Yes, Yes, Own, No],
        Action::ManageMembers
        | Action::ManageTeams
        | Action::ManageApiKeys
        | Action::ManageWebhooks
        | Action::ManageCategories
        | Action::ManageAiModel
        | Action::ViewAnalytics
        | Action::MoveProtectedLabel
        | Action::ExportData
        | Action::ImportData
        | Action::ViewAuditLog
        | Action::RenameOrg => [Yes, Yes, No, No],
        Action::ManageBilling | Action::DeleteOrg => [Yes, No, No, No],
        _ => return None,
    })
}

/// Decides whether `actor` may do `action` on `resource`.
pub fn can(actor: &Actor, action: Action, resource: &Resource) -> bool {
    if let Some(row) = org_matrix(action) {
        return can_in_org(actor, action, resource, row);
    }
    let Some(row) = sequence_matrix(action) else {
        return false;
    };
    let moderator_action = matches!(action, Action::FlagContent | Action::ModerateSubmissions | Action::ApproveContent);
    if moderator_action && actor.has_platform(PlatformRole::Moderator) {
        return true;
    }
    let facts = match resource {
        Resource::Sequence(facts) => facts.clone(),
        Resource::Platform => SequenceFacts::default(),
        Resource::Org(org) => SequenceFacts { org: Some(*org), ..Default::default() },
        Resource::Team { org, team } => SequenceFacts { org: Some(*org), team: Some(*team), ..Default::default() },
        Resource::Content { org, author } => {
            SequenceFacts { org: Some(*org), creator: Some(*author), ..Default::default() }
        }
    };
    sequence_roles(actor, &facts).into_iter().any(|role| satisfies(actor, row[role as usize], &facts))
}

fn can_in_org(actor: &Actor, action: Action, resource: &Resource, row: [OrgGrant; 4]) -> bool {
    let (org, author) = match resource {
        Resource::Org(org) => (*org, None),
        Resource::Team { org, team } => {
            // Team leaders manage their own team's members even without an admin role.
            if action == Action::ManageTeams && actor.membership_in(*org).is_some_and(|m| m.led_teams.contains(team)) {
                return true;
            }
            (*org, None)
        }
        Resource::Content { org, author } => (*org, Some(*author)),
        Resource::Platform | Resource::Sequence(_) => return false,
    };
    let Some(membership) = actor.membership_in(org) else {
        return false;
    };
    let column = match membership.role {
        OrgRole::Owner => 0,
        OrgRole::Admin => 1,
        OrgRole::Editor => 2,
        OrgRole::Viewer => 3,
    };
    match row[column] {
        OrgGrant::Yes => true,
        OrgGrant::No => false,
        OrgGrant::Own => author.is_some() && actor.is(author),
    }
}

/// The matrix columns that apply to this actor for this resource.
fn sequence_roles(actor: &Actor, facts: &SequenceFacts) -> Vec<SequenceRole> {
    if actor.user.is_none() {
        return vec![SequenceRole::Guest];
    }
    let mut roles = vec![SequenceRole::Individual];
    if actor.has_platform(PlatformRole::SystemAdmin) {
        roles.push(SequenceRole::SysAdmin);
    }
    if actor.capabilities.contains(&CapabilityRole::Creator) {
        roles.push(SequenceRole::Creator);
    }
    let membership = facts.org.and_then(|org| actor.membership_in(org)).or(actor.membership.as_ref());
    if let Some(m) = membership {
        if m.org_kind != OrgKind::Personal || !m.teams.is_empty() {
            roles.push(SequenceRole::TeamMember);
        }
        if !m.led_teams.is_empty() {
            roles.push(SequenceRole::TeamLeader);
        }
        if m.enterprise_admin && m.org_kind == OrgKind::Enterprise {
            roles.push(SequenceRole::EnterpriseAdmin);
        }
    }
    roles
}

fn satisfies(actor: &Actor, grant: Grant, facts: &SequenceFacts) -> bool {
    let own = actor.is(facts.subject);
    let created = actor.is(facts.creator);
    // Organization-wide grants hold only inside the actor's own organization.
    let in_org = facts.org.is_some_and(|org| actor.membership_in(org).is_some());
    let leads_team = facts.team.is_some_and(|team| {
        facts.org.and_then(|org| actor.membership_in(org)).is_some_and(|m| m.led_teams.contains(&team))
    });
    match grant {
        Grant::Deny | Grant::Preview | Grant::Apply => false,
        Grant::Allow | Grant::Limited => in_org || facts.org.is_none(),
        Grant::All => {
            // A system admin's "All" is platform-wide; an enterprise admin's is their organization.
            actor.has_platform(PlatformRole::SystemAdmin) || in_org
        }
        Grant::Subscribed => facts.actor_subscribed,
        Grant::OwnAndSubscribed => created || facts.actor_subscribed,
        Grant::IfAssigned => facts.assigned_to_actor,
        Grant::OptIn => facts.actor_opted_in_beta,
        Grant::OwnOnly => own,
        Grant::OwnAndAssigned | Grant::OwnAndTeam => own || leads_team,
        Grant::OwnAndCreated => own || created,
        Grant::AllAssigned | Grant::Organization | Grant::AllTeams | Grant::Summary => in_org,
        Grant::PartnerOnly => facts.actor_is_partner,
        Grant::TeamMembers | Grant::OwnTeams => leads_team,
        Grant::CreatedContent | Grant::OwnContent => created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PowerPrompts matrix exactly as the product document writes it.
    const SEED_000: &str = "\
| Free sequences | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Premium sequences | Preview | Subscribed | Subscribed | Subscribed | Own + Subscribed | All | All |
| Enterprise sequences | ❌ | ❌ | If assigned | If assigned | ❌ | All | All |
| Beta sequences | ❌ | Opt-in | Opt-in | Opt-in | ✅ | ✅ | ✅ |
| Subscribe to sequences | ❌ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Pause/resume sequences | ❌ | Own only | Own only | Own + Assigned | Own + Created | All assigned | All |
| Customize scheduling | ❌ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Track progress | ❌ | Own only | Own only | Own + Team | Own + Created | Organization | All |
| Create personal sequences | ❌ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Create team sequences | ❌ | ❌ | ❌ | ✅ | ✅ | ✅ | ✅ |
| Create premium sequences | ❌ | Apply | Apply | Apply | ✅ | ❌ | ✅ |
| Create enterprise sequences | ❌ | ❌ | ❌ | ❌ | Partner only | ✅ | ✅ |
| Assign to individuals | ❌ | ❌ | ❌ | Team members | ❌ | Organization | All |
| Assign to teams | ❌ | ❌ | ❌ | Own teams | ❌ | All teams | All |
| Bulk assignments | ❌ | ❌ | ❌ | Limited | ❌ | ✅ | ✅ |
| Mandatory assignments | ❌ | ❌ | ❌ | ❌ | ❌ | ✅ | ✅ |
| Personal analytics | ❌ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Team analytics | ❌ | ❌ | ❌ | Own teams | Created content | All teams | All |
| Creator analytics | ❌ | ❌ | ❌ | ❌ | ✅ | ❌ | ✅ |
| Revenue analytics | ❌ | ❌ | ❌ | ❌ | Own content | Summary | All |
| Organization analytics | ❌ | ❌ | ❌ | ❌ | ❌ | ✅ | ✅ |
| Flag inappropriate content | ❌ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Moderate submissions | ❌ | ❌ | ❌ | ❌ | ❌ | Limited | ✅ |
| Approve/reject content | ❌ | ❌ | ❌ | ❌ | ❌ | Limited | ✅ |
| Manage revenue sharing | ❌ | ❌ | ❌ | ❌ | ❌ | ❌ | ✅ |
| Platform configuration | ❌ | ❌ | ❌ | ❌ | ❌ | ❌ | ✅ |";

    const SEED_000_ACTIONS: [Action; 26] = [
        Action::AccessFreeSequence,
        Action::AccessPremiumSequence,
        Action::AccessEnterpriseSequence,
        Action::AccessBetaSequence,
        Action::Subscribe,
        Action::PauseResume,
        Action::CustomizeSchedule,
        Action::TrackProgress,
        Action::CreatePersonalSequence,
        Action::CreateTeamSequence,
        Action::CreatePremiumSequence,
        Action::CreateEnterpriseSequence,
        Action::AssignToIndividuals,
        Action::AssignToTeams,
        Action::BulkAssign,
        Action::MandatoryAssign,
        Action::PersonalAnalytics,
        Action::TeamAnalytics,
        Action::CreatorAnalytics,
        Action::RevenueAnalytics,
        Action::OrgAnalytics,
        Action::FlagContent,
        Action::ModerateSubmissions,
        Action::ApproveContent,
        Action::ManageRevenueSharing,
        Action::PlatformConfiguration,
    ];

    /// The Prompt Vault matrix exactly as the product document writes it.
    const SEED_001: &str = "\
| View prompts | ✅ | ✅ | ✅ | ✅ |
| Create prompts | ✅ | ✅ | ✅ | ❌ |
| Edit own prompts | ✅ | ✅ | ✅ | ❌ |
| Edit others' prompts | ✅ | ✅ | ❌ | ❌ |
| Delete prompts | ✅ | ✅ | Own only | ❌ |
| Manage users | ✅ | ✅ | ❌ | ❌ |
| Manage billing | ✅ | ❌ | ❌ | ❌ |
| Access API | ✅ | ✅ | ✅ | ✅ |
| Export data | ✅ | ✅ | ❌ | ❌ |";

    fn cells(row: &str) -> Vec<&str> {
        row.trim().trim_matches('|').split('|').map(str::trim).skip(1).collect()
    }

    #[test]
    fn sequence_matrix_is_the_seed_matrix() {
        let rows: Vec<&str> = SEED_000.lines().collect();
        assert_eq!(rows.len(), SEED_000_ACTIONS.len());
        for (row, action) in rows.iter().zip(SEED_000_ACTIONS) {
            let expected: Vec<Grant> =
                cells(row).iter().map(|c| Grant::from_cell(c).unwrap_or_else(|| panic!("cell {c:?}"))).collect();
            assert_eq!(sequence_matrix(action).unwrap().to_vec(), expected, "row {row}");
        }
    }

    fn org() -> OrgId {
        OrgId(uuid::Uuid::from_u128(1))
    }
    fn other_org() -> OrgId {
        OrgId(uuid::Uuid::from_u128(2))
    }
    fn user(n: u128) -> UserId {
        UserId(uuid::Uuid::from_u128(100 + n))
    }

    fn member(n: u128, role: OrgRole) -> Actor {
        Actor {
            user: Some(user(n)),
            membership: Some(Membership {
                org: org(),
                org_kind: OrgKind::Team,
                role,
                enterprise_admin: false,
                teams: vec![],
                led_teams: vec![],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn org_matrix_is_the_seed_matrix() {
        let roles = [OrgRole::Owner, OrgRole::Admin, OrgRole::Editor, OrgRole::Viewer];
        let author = user(9);
        for row in SEED_001.lines() {
            let name = row.trim_matches('|').split('|').next().unwrap().trim();
            for (role, cell) in roles.iter().zip(cells(row)) {
                let actor = member(1, *role);
                let own = Resource::Content { org: org(), author: user(1) };
                let others = Resource::Content { org: org(), author };
                let (action, resource, expected) = match name {
                    "View prompts" => (Action::ViewPrompts, &others, cell == "✅"),
                    "Create prompts" => (Action::CreatePrompt, &Resource::Org(org()), cell == "✅"),
                    "Edit own prompts" => (Action::EditPrompt, &own, cell == "✅"),
                    "Edit others' prompts" => (Action::EditPrompt, &others, cell == "✅"),
                    "Delete prompts" => {
                        assert_eq!(can(&actor, Action::DeletePrompt, &own), cell != "❌", "{name} {role:?} own");
                        (Action::DeletePrompt, &others, cell == "✅")
                    }
                    "Manage users" => (Action::ManageMembers, &Resource::Org(org()), cell == "✅"),
                    "Manage billing" => (Action::ManageBilling, &Resource::Org(org()), cell == "✅"),
                    "Access API" => (Action::AccessApi, &Resource::Org(org()), cell == "✅"),
                    "Export data" => (Action::ExportData, &Resource::Org(org()), cell == "✅"),
                    other => panic!("unknown row {other}"),
                };
                assert_eq!(can(&actor, action, resource), expected, "{name} as {role:?}");
            }
        }
    }

    #[test]
    fn no_org_role_reaches_another_organization() {
        for role in OrgRole::ALL {
            let actor = member(1, *role);
            for action in [Action::ViewOrg, Action::ViewPrompts, Action::ManageMembers, Action::DeleteOrg] {
                assert!(!can(&actor, action, &Resource::Org(other_org())), "{action:?} as {role:?}");
            }
            let foreign = Resource::Content { org: other_org(), author: user(1) };
            assert!(!can(&actor, Action::EditPrompt, &foreign), "own prompt in a foreign org as {role:?}");
        }
        assert!(!can(&Actor::guest(), Action::ViewOrg, &Resource::Org(org())));
    }

    #[test]
    fn conditional_sequence_cells() {
        let individual = Actor { user: Some(user(1)), ..Default::default() };
        let premium =
            |subscribed| Resource::Sequence(SequenceFacts { actor_subscribed: subscribed, ..Default::default() });
        assert!(!can(&Actor::guest(), Action::AccessPremiumSequence, &premium(false)));
        assert!(can(&Actor::guest(), Action::AccessFreeSequence, &premium(false)));
        assert!(!can(&individual, Action::AccessPremiumSequence, &premium(false)));
        assert!(can(&individual, Action::AccessPremiumSequence, &premium(true)));

        let own_subscription = Resource::Sequence(SequenceFacts { subject: Some(user(1)), ..Default::default() });
        let someone_elses = Resource::Sequence(SequenceFacts { subject: Some(user(2)), ..Default::default() });
        assert!(can(&individual, Action::PauseResume, &own_subscription));
        assert!(!can(&individual, Action::PauseResume, &someone_elses));

        // A team leader tracks progress of their own team, not of another.
        let team = TeamId(uuid::Uuid::from_u128(7));
        let mut leader = member(1, OrgRole::Editor);
        leader.membership.as_mut().unwrap().led_teams = vec![team];
        let in_team = |t| {
            Resource::Sequence(SequenceFacts {
                org: Some(org()),
                subject: Some(user(2)),
                team: Some(t),
                ..Default::default()
            })
        };
        assert!(can(&leader, Action::TrackProgress, &in_team(team)));
        assert!(!can(&leader, Action::TrackProgress, &in_team(TeamId(uuid::Uuid::from_u128(8)))));
        assert!(can(&leader, Action::AssignToTeams, &in_team(team)));
        assert!(!can(&member(3, OrgRole::Editor), Action::AssignToTeams, &in_team(team)));

        // An enterprise admin's "All" stops at their own organization.
        let mut enterprise_admin = member(4, OrgRole::Admin);
        if let Some(m) = enterprise_admin.membership.as_mut() {
            m.org_kind = OrgKind::Enterprise;
            m.enterprise_admin = true;
        }
        let enterprise_seq = |o| Resource::Sequence(SequenceFacts { org: Some(o), ..Default::default() });
        assert!(can(&enterprise_admin, Action::AccessEnterpriseSequence, &enterprise_seq(org())));
        assert!(!can(&enterprise_admin, Action::AccessEnterpriseSequence, &enterprise_seq(other_org())));
        assert!(can(&enterprise_admin, Action::MandatoryAssign, &enterprise_seq(org())));

        // Only a system admin configures the platform; moderators moderate.
        let sysadmin =
            Actor { user: Some(user(5)), platform_roles: vec![PlatformRole::SystemAdmin], ..Default::default() };
        let moderator =
            Actor { user: Some(user(6)), platform_roles: vec![PlatformRole::Moderator], ..Default::default() };
        assert!(can(&sysadmin, Action::PlatformConfiguration, &Resource::Platform));
        assert!(!can(&moderator, Action::PlatformConfiguration, &Resource::Platform));
        assert!(can(&moderator, Action::ModerateSubmissions, &Resource::Platform));
        assert!(!can(&enterprise_admin, Action::PlatformConfiguration, &Resource::Platform));

        // Creators create premium sequences; individuals must apply first.
        let creator = Actor { user: Some(user(7)), capabilities: vec![CapabilityRole::Creator], ..Default::default() };
        assert!(can(&creator, Action::CreatePremiumSequence, &Resource::Platform));
        assert!(!can(&individual, Action::CreatePremiumSequence, &Resource::Platform));
    }

    #[test]
    fn team_leaders_manage_only_their_team() {
        let team = TeamId(uuid::Uuid::from_u128(7));
        let mut leader = member(1, OrgRole::Viewer);
        leader.membership.as_mut().unwrap().led_teams = vec![team];
        assert!(can(&leader, Action::ManageTeams, &Resource::Team { org: org(), team }));
        let other = Resource::Team { org: org(), team: TeamId(uuid::Uuid::from_u128(8)) };
        assert!(!can(&leader, Action::ManageTeams, &other));
        assert!(!can(&leader, Action::ManageTeams, &Resource::Org(org())));
    }
}
