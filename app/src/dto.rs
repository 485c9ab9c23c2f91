//! What server functions return to the browser: plain, serializable, no secrets.

use crate::domain::prompt::{ModelSettings, PromptFields, PromptStatus};
use crate::domain::search::Mark;
use crate::domain::template::{VariableDef, VariableProblem};
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
    pub unread_notifications: i64,
    /// Unseen messages in the user's sequence conversations (the inbox badge).
    pub unread_messages: i64,
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
    /// Enterprise admin (enterprise organizations): sees every team's progress and reports.
    pub enterprise_admin: bool,
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

/// A prompt in a list or search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromptSummary {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: PromptStatus,
    pub category: String,
    pub tags: Vec<String>,
    pub author_name: String,
    pub version: i32,
    pub view_count: i64,
    pub use_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The title with matching words marked (searches); plain otherwise.
    pub title_marks: Vec<Mark>,
    /// A piece of the text around the first match (searches); the start of the text otherwise.
    pub snippet: Vec<Mark>,
    pub favorite_count: i64,
    /// In the caller's favorites.
    pub favorite: bool,
    pub collection_id: Option<Uuid>,
    pub can_edit: bool,
    pub can_delete: bool,
}

/// A folder of prompts, with the path of names from the top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CollectionView {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// "Clients / Onboarding"
    pub path: String,
    pub depth: usize,
    pub prompt_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CategoryView {
    pub name: String,
    pub color: String,
    pub icon: String,
    /// Added by the organization (predefined ones cannot be removed).
    pub custom: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TagCount {
    pub tag: String,
    pub prompts: i64,
}

/// What a bulk change did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub changed: u64,
}

/// A comment with its replies (replies have none of their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: Uuid,
    pub author_name: String,
    /// The Markdown, for editing; empty once deleted.
    pub body: String,
    /// Sanitized HTML of the Markdown.
    pub html: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub can_edit: bool,
    pub can_delete: bool,
    pub replies: Vec<CommentView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// What an import would do, or why it cannot: every row's problems, before anything is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    /// Problems with the file as a whole (not JSON, wrong format, missing columns).
    pub file_problems: Vec<String>,
    /// The prompts with problems, in file order.
    pub rows: Vec<ImportRow>,
    /// The titles of the first prompts, to show what is coming.
    pub first_titles: Vec<String>,
    pub prompts: usize,
    pub versions: usize,
    /// Collections the import creates (paths); existing ones with the same path are reused.
    pub new_collections: Vec<String>,
    /// Custom categories the import adds; existing names keep their style.
    pub new_categories: Vec<String>,
}

impl ImportPreview {
    pub fn problem_count(&self) -> usize {
        self.file_problems.len() + self.rows.iter().map(|r| r.problems.len()).sum::<usize>()
    }

    pub fn is_clean(&self) -> bool {
        self.problem_count() == 0
    }
}

/// One prompt of an import file: where it is, what it is called, what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportRow {
    /// "line 3" (CSV) or "prompt 2" (JSON).
    pub place: String,
    pub title: String,
    pub problems: Vec<String>,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportOutcome {
    pub prompts: usize,
    pub versions: usize,
    pub collections: usize,
    pub categories: usize,
}

/// One page of a prompt list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromptPage {
    pub items: Vec<PromptSummary>,
    /// Pass back to get the next page; `None` on the last.
    pub next_cursor: Option<String>,
    /// Words the search also looked for because of a likely typo, e.g. ("promt", ["prompt"]).
    pub widened: Vec<(String, Vec<String>)>,
}

/// A prompt with everything its page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromptDetail {
    pub id: Uuid,
    pub fields: PromptFields,
    /// The content as Markdown rendered to sanitized HTML.
    pub html: String,
    pub author_name: String,
    pub version: i32,
    pub view_count: i64,
    pub use_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub labels: Vec<LabelView>,
    pub favorite_count: i64,
    pub favorite: bool,
    pub collection_id: Option<Uuid>,
    pub can_edit: bool,
    pub can_delete: bool,
    /// May move the protected `production` label (Owner, Admin).
    pub can_move_protected: bool,
    /// May duplicate it (create prompts at all).
    pub can_duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LabelView {
    pub label: String,
    pub version: i32,
    pub moved_by: String,
    pub moved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionView {
    pub number: i32,
    pub title: String,
    pub description: String,
    pub body: String,
    pub variables: Vec<VariableDef>,
    pub model: ModelSettings,
    pub author_name: String,
    pub change_note: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Same,
    Added,
    Removed,
}

/// One line of a diff, with the words that changed inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: DiffKind,
    pub old_number: Option<usize>,
    pub new_number: Option<usize>,
    pub parts: Vec<(DiffKind, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffView {
    pub from: i32,
    pub to: i32,
    pub lines: Vec<DiffLine>,
    pub added: usize,
    pub removed: usize,
}

/// The result of rendering a prompt with values: the text, or every variable's problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RenderOutcome {
    Rendered(String),
    Problems(Vec<VariableProblem>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub can_write: bool,
    pub rate_limit: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created: the secret is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub id: Uuid,
    pub secret: String,
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

/// One thing that happened, as a feed shows it: "Edith Editor saved version 3 of “Welcome call”".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityView {
    pub id: Uuid,
    pub actor_name: String,
    pub summary: String,
    /// The prompt's page, while it exists.
    pub link: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub items: Vec<ActivityView>,
    /// Pass as `before` for older entries; `None` at the beginning of time.
    pub next: Option<Uuid>,
}

/// What a webhook form sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookInput {
    pub url: String,
    pub description: String,
    /// Event names, e.g. `prompt.created`.
    pub events: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// The newest delivery's status and time, if any.
    pub last_delivery: Option<(String, DateTime<Utc>)>,
}

/// A webhook just created (or its secret just rotated): the signing secret to copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSecret {
    pub id: Uuid,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub number: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub response_excerpt: String,
}

/// One delivery with the exact body sent and every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub delivery: DeliveryView,
    pub payload: String,
    pub attempts: Vec<AttemptView>,
}

/// Where the organization's AI model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Set by the organization's Owners or Admins.
    Organization,
    /// The instance's default (`CAIRN_AI_*`).
    Instance,
    /// None: "Run" is unavailable.
    None,
}

/// The AI model the test panel runs prompts with. The key itself never leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiModelView {
    pub source: ModelSource,
    /// The model prompts run with when they name none.
    pub model: String,
    /// Only for those who may change it.
    pub base_url: String,
    pub has_key: bool,
    pub can_manage: bool,
}

impl AiModelView {
    pub fn configured(&self) -> bool {
        self.source != ModelSource::None
    }
}

/// Variable values saved under a name on a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCaseView {
    pub id: Uuid,
    pub name: String,
    pub values: std::collections::BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

/// A search of the prompt list: saved (with an id) or recent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchView {
    pub id: Option<Uuid>,
    pub name: String,
    /// The search in words.
    pub description: String,
    /// The list's query string: open `/prompts?{query}`.
    pub query: String,
    pub shared: bool,
    pub mine: bool,
    pub can_delete: bool,
    /// Saved, or last run.
    pub at: DateTime<Utc>,
}

/// Views and uses on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayUsage {
    pub day: String,
    pub views: i64,
    pub uses: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopPrompt {
    pub id: Uuid,
    pub title: String,
    pub category: String,
    pub views: i64,
    pub uses: i64,
}

/// What one member did in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberActivity {
    pub name: String,
    pub created: i64,
    pub edited: i64,
    pub comments: i64,
    pub runs: i64,
    /// Every audited action, these and the rest.
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryUsage {
    pub category: String,
    pub prompts: i64,
    pub uses: i64,
    pub views: i64,
}

/// The analytics page over `days` ending today (`from`..=`to`, UTC days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsView {
    pub days: i64,
    pub from: String,
    pub to: String,
    /// One entry per day of the period, oldest first.
    pub series: Vec<DayUsage>,
    pub most_used: Vec<TopPrompt>,
    pub most_viewed: Vec<TopPrompt>,
    pub members: Vec<MemberActivity>,
    pub categories: Vec<CategoryUsage>,
}

/// A public prompt as anyone with its link sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicPromptView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// The Markdown source.
    pub body: String,
    /// Sanitized HTML of the Markdown.
    pub html: String,
    pub category: String,
    pub tags: Vec<String>,
    pub variables: Vec<crate::domain::template::VariableDef>,
    pub author_name: String,
    pub org_name: String,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// Where a person hears of new messages in their sequence conversations besides the app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageChannels {
    /// Email about new messages, with a link to reply: one for each, or …
    pub email: bool,
    /// … one daily digest of them instead.
    #[serde(default)]
    pub digest: bool,
    /// A Slack/Teams-compatible incoming webhook (`{"text": …}`).
    pub webhook_url: Option<String>,
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushDevice {
    pub endpoint: String,
    /// The browser's P-256 public key (base64url, uncompressed point).
    pub p256dh: String,
    /// The browser's authentication secret (base64url, 16 bytes).
    pub auth: String,
}

/// What a browser needs to turn push notifications on, and how many of the caller's have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStatus {
    /// The server's VAPID public key (base64url): the `applicationServerKey` to subscribe with.
    pub public_key: String,
    pub devices: u32,
}

/// How a test notification went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTestResult {
    /// The caller's devices with push notifications on.
    pub devices: u32,
    /// How many push services took it.
    pub delivered: u32,
}
