//! What server functions return to the browser: plain, serializable, no secrets.

use crate::domain::{CapabilityRole, OrgId, OrgKind, OrgRole, PlatformRole, TeamId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The signed-in person and where they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub timezone: String,
    pub totp_enabled: bool,
    pub platform_roles: Vec<PlatformRole>,
    pub capabilities: Vec<CapabilityRole>,
    pub orgs: Vec<OrgSummary>,
    pub active_org: Option<OrgSummary>,
    /// Whether the server shows the development mailbox.
    pub dev_mode: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSummary {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    pub role: OrgRole,
    pub enterprise_admin: bool,
    pub leads_a_team: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: OrgRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: OrgRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What someone holding an invitation link sees before accepting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub org_name: String,
    pub email: String,
    pub role: OrgRole,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationState {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: TeamId,
    pub name: String,
    pub members: Vec<TeamMemberView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMemberView {
    pub user_id: UserId,
    pub display_name: String,
    pub leader: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: Uuid,
    pub current: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: Uuid,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: String,
    pub user_agent: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptView {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub author_name: String,
    pub updated_at: DateTime<Utc>,
    pub can_edit: bool,
    pub can_delete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailView {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The answer to a sign-in: done, or a second factor is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInOutcome {
    SignedIn,
    SecondFactorRequired,
}

/// Shown once after two-factor setup is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_url: String,
}

/// A person as a platform admin sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUserView {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub email_verified: bool,
    pub platform_roles: Vec<PlatformRole>,
    pub capabilities: Vec<CapabilityRole>,
    pub created_at: DateTime<Utc>,
}
