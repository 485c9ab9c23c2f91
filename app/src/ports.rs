//! Ports (server side only): the traits server functions call and the `server` crate implements
//! on SQLite and PostgreSQL, plus the mailer and the clock. Records here may carry secrets
//! (password hashes, token hashes) and so never derive `Serialize`.

use crate::domain::billing::{Boost, Entry, Interval, PlanConfig, PlanStatus, PromoRules};
use crate::domain::model::TokenUsage;
use crate::domain::prompt::{ModelSettings, PromptFields, PromptStatus};
use crate::domain::schedule::Preferences;
use crate::domain::search::Query;
use crate::domain::sequence::{AnswerKind, Decider, JobKind, Run, Sender, SequenceMeta, Step, SubscriptionStatus};
use crate::domain::template::VariableDef;
use crate::domain::webhook::EventType;
use crate::domain::{CapabilityRole, Email, OrgId, OrgKind, OrgRole, PlatformRole, TeamId, UserId};
use crate::dto::AuditEntryView;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use uuid::Uuid;

/// Errors a store reports by kind; server functions map them to `AppError`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// Input the database cannot store (text with a NUL character on PostgreSQL).
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("storage failure: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub timezone: String,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub platform_roles: Vec<PlatformRole>,
    pub capabilities: Vec<CapabilityRole>,
    pub created_at: DateTime<Utc>,
}

/// Who a user is, as lists of payments and balances name them.
#[derive(Debug, Clone)]
pub struct UserName {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub timezone: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: Uuid,
    pub token_hash: String,
    pub user_id: UserId,
    pub active_org: Option<OrgId>,
    /// Signed in with a password but the second factor is still owed.
    pub mfa_pending: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

/// What a one-time emailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    MagicLink,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::MagicLink => "magic_link",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrgRecord {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    pub created_at: DateTime<Utc>,
}

/// A user's place in one organization, with the teams they are in and lead.
#[derive(Debug, Clone)]
pub struct MembershipRecord {
    pub org: OrgRecord,
    pub role: OrgRole,
    pub enterprise_admin: bool,
    pub teams: Vec<TeamId>,
    pub led_teams: Vec<TeamId>,
}

#[derive(Debug, Clone)]
pub struct MemberRecord {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: OrgRole,
    pub enterprise_admin: bool,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub org_name: String,
    pub email: String,
    pub role: OrgRole,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct TeamRecord {
    pub id: TeamId,
    pub org_id: OrgId,
    pub name: String,
    pub members: Vec<(UserId, String, bool)>,
}

/// A prompt as stored: its current content plus bookkeeping.
#[derive(Debug, Clone)]
pub struct PromptRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub author_id: UserId,
    pub author_name: String,
    pub fields: PromptFields,
    pub version: i32,
    pub view_count: i64,
    pub use_count: i64,
    pub favorite_count: i64,
    pub collection_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Relevance when the list came from a search (higher is better).
    pub score: f64,
    /// Whether the filter's `me` (or `prompt_seen_by`'s user) has it among their favorites.
    pub favorite: bool,
}

/// A folder of prompts; `parent_id` nests it.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRecord {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// Prompts directly inside.
    pub prompt_count: i64,
    pub created_at: DateTime<Utc>,
}

/// An organization's own category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRecord {
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    pub icon: String,
    pub created_at: DateTime<Utc>,
}

/// One immutable version of a prompt.
#[derive(Debug, Clone)]
pub struct PromptVersionRecord {
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

#[derive(Debug, Clone)]
pub struct LabelRecord {
    pub label: String,
    pub version: i32,
    pub moved_by_name: String,
    pub moved_at: DateTime<Utc>,
}

/// How a prompt list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptSort {
    /// Best match first (searches); most recently updated otherwise.
    #[default]
    Relevance,
    Updated,
    Created,
    Popularity,
}

/// Which prompts a list shows. `query` is already parsed and widened for typos.
#[derive(Debug, Clone, Default)]
pub struct PromptFilter {
    pub query: Option<Query>,
    pub tags: Vec<String>,
    /// Every tag (true) or any of them (false).
    pub all_tags: bool,
    pub category: Option<String>,
    pub author: Option<UserId>,
    pub status: Option<PromptStatus>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Prompts a viewer may not see (others' private ones) are left out unless this is set.
    pub viewer: Option<UserId>,
    /// Only prompts directly in this collection.
    pub collection: Option<Uuid>,
    /// Only this person's favorites.
    pub favorites_of: Option<UserId>,
    /// Whose favorites mark `PromptRecord::favorite`.
    pub me: Option<UserId>,
    pub sort: PromptSort,
    pub offset: i64,
    pub limit: i64,
    /// Only what a list shows of each prompt: its variables and model settings are left empty,
    /// and its body too when not searching and the description is there to show instead.
    pub summaries: bool,
}

/// A save: the new content, who made it and why.
#[derive(Debug, Clone)]
pub struct PromptSave<'a> {
    pub org: OrgId,
    pub id: Uuid,
    pub author: UserId,
    pub fields: &'a PromptFields,
    pub change_note: &'a str,
    pub at: DateTime<Utc>,
    /// The version the editor started from; `None` creates the prompt. A stale one is a `Conflict`.
    pub base_version: Option<i32>,
}

/// A comment on a prompt; `parent_id` is the top-level comment of its thread.
#[derive(Debug, Clone)]
pub struct CommentRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub prompt_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_id: UserId,
    pub author_name: String,
    /// Markdown; empty once deleted.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Something to tell one person in the app (the bell in the header).
#[derive(Debug, Clone)]
pub struct NotificationRecord {
    pub id: Uuid,
    pub user_id: UserId,
    pub org_id: Option<OrgId>,
    /// `mention`, `reply`, `comment`
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A path inside the app.
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A checked import, written all at once by [`PromptStore::import_library`].
#[derive(Debug, Clone)]
pub struct LibraryImport {
    pub org: OrgId,
    /// Recorded as author of every version and mover of every label.
    pub author: UserId,
    pub at: DateTime<Utc>,
    /// New collections only, parents before their children.
    pub collections: Vec<CollectionRecord>,
    /// New categories only.
    pub categories: Vec<CategoryRecord>,
    pub prompts: Vec<ImportedPrompt>,
}

#[derive(Debug, Clone)]
pub struct ImportedPrompt {
    pub id: Uuid,
    pub fields: PromptFields,
    pub collection_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first, numbers ascending; the last is the current version. `author_name` is unused.
    pub versions: Vec<PromptVersionRecord>,
    /// (label, version number)
    pub labels: Vec<(String, i32)>,
    /// Top-level comments before their replies.
    pub comments: Vec<ImportedComment>,
}

/// A comment from an import file: written by the importing member on behalf of `author_name`.
#[derive(Debug, Clone)]
pub struct ImportedComment {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_name: String,
    /// Empty for a deleted comment.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An OpenAI-compatible chat-completions endpoint: `base_url` is the part before
/// `/chat/completions` (e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEndpoint {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
}

/// The AI model an organization set for itself.
#[derive(Debug, Clone)]
pub struct OrgModelRecord {
    pub org_id: OrgId,
    pub endpoint: ModelEndpoint,
    pub updated_by: UserId,
    pub updated_at: DateTime<Utc>,
}

/// Named variable values saved on a prompt for its test panel.
#[derive(Debug, Clone)]
pub struct TestCaseRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub prompt_id: Uuid,
    pub name: String,
    pub values: std::collections::BTreeMap<String, String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The test panel's storage: the organization's model and the prompts' test cases.
#[async_trait]
pub trait TestPanelStore: Send + Sync {
    async fn org_model(&self, org: OrgId) -> StoreResult<Option<OrgModelRecord>>;
    async fn set_org_model(&self, record: &OrgModelRecord) -> StoreResult<()>;
    async fn clear_org_model(&self, org: OrgId) -> StoreResult<()>;
    /// A prompt's test cases by name.
    async fn test_cases(&self, org: OrgId, prompt: Uuid) -> StoreResult<Vec<TestCaseRecord>>;
    /// Saves the case, replacing the prompt's case of the same name (keeping its id); returns it.
    async fn save_test_case(&self, case: &TestCaseRecord) -> StoreResult<TestCaseRecord>;
    async fn delete_test_case(&self, org: OrgId, prompt: Uuid, id: Uuid) -> StoreResult<()>;
}

/// Views and uses of the organization's prompts on one day (`YYYY-MM-DD`, UTC).
#[derive(Debug, Clone)]
pub struct DayUsageRow {
    pub day: String,
    pub views: i64,
    pub uses: i64,
}

#[derive(Debug, Clone)]
pub struct TopPromptRow {
    pub id: Uuid,
    pub title: String,
    pub category: String,
    pub views: i64,
    pub uses: i64,
}

/// How often a member did one audited action.
#[derive(Debug, Clone)]
pub struct MemberActionRow {
    pub user: Uuid,
    pub name: String,
    pub action: String,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct CategoryUsageRow {
    pub category: String,
    pub prompts: i64,
    pub uses: i64,
    pub views: i64,
}

/// The numbers behind the analytics page.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Days with views or uses between `from` and `to` (inclusive, `YYYY-MM-DD`).
    async fn usage_by_day(&self, org: OrgId, from: &str, to: &str) -> StoreResult<Vec<DayUsageRow>>;
    /// The prompts most used (or, `by_views`, most viewed) in the days given; none with zero.
    async fn top_prompts(
        &self,
        org: OrgId,
        from: &str,
        to: &str,
        by_views: bool,
        limit: i64,
    ) -> StoreResult<Vec<TopPromptRow>>;
    /// Audited actions per member and action in `[from, to)`.
    async fn member_actions(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberActionRow>>;
    /// Prompts, uses and views per category (all time).
    async fn category_usage(&self, org: OrgId) -> StoreResult<Vec<CategoryUsageRow>>;
}

/// A search saved under a name, the member's own or shared with the organization.
#[derive(Debug, Clone)]
pub struct SavedSearchRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    /// The prompt list's query string.
    pub query: String,
    pub shared: bool,
    pub created_at: DateTime<Utc>,
}

/// Recent and saved searches of the prompt list.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// Remembers a search (again, if it was run before) and keeps the member's last `keep`.
    async fn record_search(
        &self,
        org: OrgId,
        user: UserId,
        query: &str,
        at: DateTime<Utc>,
        keep: i64,
    ) -> StoreResult<()>;
    /// Newest first, with when each was last run.
    async fn recent_searches(&self, org: OrgId, user: UserId, limit: i64) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
    /// The member's own and the organization's shared saved searches, by name.
    async fn saved_searches(&self, org: OrgId, user: UserId) -> StoreResult<Vec<SavedSearchRecord>>;
    async fn saved_search(&self, org: OrgId, id: Uuid) -> StoreResult<Option<SavedSearchRecord>>;
    /// `Conflict` when the member has one of that name.
    async fn save_search(&self, search: &SavedSearchRecord) -> StoreResult<()>;
    async fn delete_saved_search(&self, org: OrgId, id: Uuid) -> StoreResult<()>;
}

/// A receiving URL for an organization's events.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub url: String,
    pub description: String,
    pub secret: String,
    pub events: Vec<EventType>,
    pub active: bool,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub org_id: OrgId,
    pub event_id: Uuid,
    pub event_type: String,
    /// The exact JSON body sent.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A delivery a sender has leased, with where and how to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: DeliveryRecord,
    pub url: String,
    pub secret: String,
}

/// What one attempt got back.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub number: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub response_excerpt: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptCounter {
    View,
    Use,
}

/// Views and uses of one prompt on one day (UTC, `YYYY-MM-DD`), to add to its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptCounts {
    pub org: OrgId,
    pub prompt: Uuid,
    pub day: String,
    pub views: i64,
    pub uses: i64,
}

/// Views and uses of prompts, counted in memory and written together by `flush` (the server
/// flushes every 10 seconds, before the analytics page reads them, and at shutdown), so that
/// reading a prompt is not a database write. Instances add their own counts, so several share
/// the totals; a crash loses at most the counts since the last flush.
#[derive(Default)]
pub struct PromptCountBuffer {
    pending: std::sync::Mutex<std::collections::HashMap<PromptDay, (i64, i64)>>,
}

/// A prompt of an organization on a day: (organization, prompt, `YYYY-MM-DD`).
type PromptDay = (OrgId, Uuid, String);

impl PromptCountBuffer {
    pub fn count(&self, org: OrgId, prompt: Uuid, counter: PromptCounter, at: DateTime<Utc>) {
        let (views, uses) = match counter {
            PromptCounter::View => (1, 0),
            PromptCounter::Use => (0, 1),
        };
        self.add(org, prompt, at.format("%Y-%m-%d").to_string(), views, uses);
    }

    fn add(&self, org: OrgId, prompt: Uuid, day: String, views: i64, uses: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pending.entry((org, prompt, day)).or_default();
        slot.0 += views;
        slot.1 += uses;
    }

    /// Writes what was counted since the last flush; how many prompt-days it wrote. What could not
    /// be written stays counted for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> StoreResult<usize> {
        let mut counts: Vec<PromptCounts> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending
                .drain()
                .map(|((org, prompt, day), (views, uses))| PromptCounts { org, prompt, day, views, uses })
                .collect()
        };
        if counts.is_empty() {
            return Ok(0);
        }
        // One order for every writer: concurrent flushes of several instances lock rows alike.
        counts.sort_by(|a, b| (a.org, a.prompt, &a.day).cmp(&(b.org, b.prompt, &b.day)));
        match store.add_prompt_counts(&counts).await {
            Ok(()) => Ok(counts.len()),
            Err(err) => {
                for c in counts {
                    self.add(c.org, c.prompt, c.day, c.views, c.uses);
                }
                Err(err)
            }
        }
    }
}

/// An organization API key (never the key itself, only its hash).
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub can_write: bool,
    pub rate_limit: i64,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub org_id: Option<OrgId>,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: String,
    pub user_agent: String,
    pub at: DateTime<Utc>,
}

/// An audit entry as activity feeds read it.
#[derive(Debug, Clone)]
pub struct ActivityRecord {
    pub id: Uuid,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct StoredMail {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user with their personal organization (they own it), in one transaction.
    /// `Conflict` when the email is taken.
    async fn create_user(&self, user: &NewUser, personal_org: &OrgRecord) -> StoreResult<()>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    /// The names of the users `ids` lists, in one query (per 500 ids); unknown ids are left out.
    async fn user_names(&self, ids: &[UserId]) -> StoreResult<Vec<UserName>>;
    async fn mark_email_verified(&self, id: UserId, at: DateTime<Utc>) -> StoreResult<()>;
    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()>;
    async fn update_profile(&self, id: UserId, display_name: &str, timezone: &str) -> StoreResult<()>;
    /// Sets or clears the TOTP secret; `enabled_at` is set once the user proved a code.
    async fn set_totp(&self, id: UserId, secret: Option<&str>, enabled_at: Option<DateTime<Utc>>) -> StoreResult<()>;
    async fn replace_recovery_codes(&self, id: UserId, code_hashes: &[String]) -> StoreResult<()>;
    /// Marks the recovery code used; false if there is no such unused code.
    async fn use_recovery_code(&self, id: UserId, code_hash: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    async fn grant_platform_role(&self, id: UserId, role: PlatformRole) -> StoreResult<()>;
    async fn grant_capability(&self, id: UserId, capability: CapabilityRole) -> StoreResult<()>;
    async fn revoke_platform_role(&self, id: UserId, role: PlatformRole) -> StoreResult<()>;
    async fn revoke_capability(&self, id: UserId, capability: CapabilityRole) -> StoreResult<()>;
    /// Users whose email or name contains `search` (all when empty), oldest first, at most `limit`.
    async fn search_users(&self, search: &str, limit: i64) -> StoreResult<Vec<UserRecord>>;
    async fn count_users(&self) -> StoreResult<i64>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    async fn session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    async fn set_session_org(&self, id: Uuid, org: Option<OrgId>) -> StoreResult<()>;
    async fn complete_session_mfa(&self, id: Uuid) -> StoreResult<()>;
    async fn delete_session(&self, user: UserId, id: Uuid) -> StoreResult<bool>;
    /// Ends every session of the user except `keep`.
    async fn delete_other_sessions(&self, user: UserId, keep: Option<Uuid>) -> StoreResult<u64>;
    async fn sessions_of(&self, user: UserId) -> StoreResult<Vec<SessionRecord>>;
    async fn insert_token(
        &self,
        token_hash: &str,
        user: UserId,
        purpose: TokenPurpose,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Marks an unused, unexpired token used and returns its user; `None` otherwise.
    async fn consume_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>>;
    async fn record_sign_in_failure(&self, email: &str, ip: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Failures since `since` for this email and for this ip, with the oldest of each.
    async fn sign_in_failures(&self, email: &str, ip: &str, since: DateTime<Utc>) -> StoreResult<FailureCounts>;
    /// Remembers an OAuth sign-in in progress: its state (hashed), PKCE verifier and where to go after.
    async fn insert_oauth_state(
        &self,
        state_hash: &str,
        provider: &str,
        verifier: &str,
        next: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Takes (once) an unexpired OAuth state: (provider, verifier, next).
    async fn take_oauth_state(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(String, String, String)>>;
}

#[derive(Debug, Clone, Default)]
pub struct FailureCounts {
    pub by_email: i64,
    pub oldest_by_email: Option<DateTime<Utc>>,
    pub by_ip: i64,
    pub oldest_by_ip: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait OrgStore: Send + Sync {
    async fn create_org(&self, org: &OrgRecord, owner: UserId) -> StoreResult<()>;
    async fn memberships_of(&self, user: UserId) -> StoreResult<Vec<MembershipRecord>>;
    async fn membership(&self, org: OrgId, user: UserId) -> StoreResult<Option<MembershipRecord>>;
    async fn rename_org(&self, org: OrgId, name: &str) -> StoreResult<()>;
    async fn delete_org(&self, org: OrgId) -> StoreResult<()>;
    async fn members(&self, org: OrgId) -> StoreResult<Vec<MemberRecord>>;
    async fn add_member(&self, org: OrgId, user: UserId, role: OrgRole, at: DateTime<Utc>) -> StoreResult<()>;
    /// Changes a role; `Conflict` if it would leave the organization without an owner.
    async fn set_member_role(&self, org: OrgId, user: UserId, role: OrgRole) -> StoreResult<()>;
    async fn set_enterprise_admin(&self, org: OrgId, user: UserId, on: bool) -> StoreResult<()>;
    /// Removes a member (and their team places); `Conflict` for the last owner.
    async fn remove_member(&self, org: OrgId, user: UserId) -> StoreResult<()>;
    /// Stores an invitation if `org` has a seat free for it (members and pending invitations
    /// fewer than `seats`; `None`: no limit), checked and taken in one transaction so that
    /// invitations sent at once cannot overfill it; `false` when no seat is free.
    async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        token_hash: &str,
        seats: Option<i64>,
    ) -> StoreResult<bool>;
    async fn pending_invitations(&self, org: OrgId, now: DateTime<Utc>) -> StoreResult<Vec<InvitationRecord>>;
    async fn invitation(&self, org: OrgId, id: Uuid) -> StoreResult<Option<InvitationRecord>>;
    async fn invitation_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>>;
    /// Gives an invitation a new token and expiry. One that had expired takes a seat again, so
    /// it needs one free (as [`Self::create_invitation`]); `false` when none is.
    async fn renew_invitation(
        &self,
        org: OrgId,
        id: Uuid,
        token_hash: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        seats: Option<i64>,
    ) -> StoreResult<bool>;
    async fn revoke_invitation(&self, org: OrgId, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Marks the invitation accepted and adds the member, in one transaction, if the organization
    /// has fewer members than `seats`; `false` when it has not.
    async fn accept_invitation(
        &self,
        id: Uuid,
        user: UserId,
        at: DateTime<Utc>,
        seats: Option<i64>,
    ) -> StoreResult<bool>;
    async fn create_team(&self, org: OrgId, id: TeamId, name: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn teams(&self, org: OrgId) -> StoreResult<Vec<TeamRecord>>;
    async fn delete_team(&self, org: OrgId, team: TeamId) -> StoreResult<()>;
    /// Adds (or updates) a team member; the user must belong to the organization.
    async fn set_team_member(&self, org: OrgId, team: TeamId, user: UserId, leader: bool) -> StoreResult<()>;
    async fn remove_team_member(&self, org: OrgId, team: TeamId, user: UserId) -> StoreResult<()>;
}

#[async_trait]
pub trait PromptStore: Send + Sync {
    async fn prompts(&self, org: OrgId, filter: &PromptFilter) -> StoreResult<Vec<PromptRecord>>;
    /// How many prompts the organization has (its plan's prompt quota counts them).
    async fn prompt_count(&self, org: OrgId) -> StoreResult<i64>;
    async fn prompt(&self, org: OrgId, id: Uuid) -> StoreResult<Option<PromptRecord>>;
    /// `prompt`, with `favorite` saying whether `user` has it among their favorites, and its
    /// labels by name (one query).
    async fn prompt_seen_by(
        &self,
        org: OrgId,
        id: Uuid,
        user: UserId,
    ) -> StoreResult<Option<(PromptRecord, Vec<LabelRecord>)>>;
    /// Creates the prompt or saves its next version, in one transaction; returns the new version.
    async fn save_prompt(&self, save: &PromptSave<'_>) -> StoreResult<i32>;
    async fn delete_prompt(&self, org: OrgId, id: Uuid) -> StoreResult<()>;
    /// Newest first.
    async fn prompt_versions(&self, org: OrgId, id: Uuid) -> StoreResult<Vec<PromptVersionRecord>>;
    async fn prompt_version(&self, org: OrgId, id: Uuid, number: i32) -> StoreResult<Option<PromptVersionRecord>>;
    async fn prompt_labels(&self, org: OrgId, id: Uuid) -> StoreResult<Vec<LabelRecord>>;
    /// Points `label` at `version` (creating the label); `NotFound` for a missing version.
    async fn set_prompt_label(
        &self,
        org: OrgId,
        id: Uuid,
        label: &str,
        version: i32,
        by: UserId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn remove_prompt_label(&self, org: OrgId, id: Uuid, label: &str) -> StoreResult<bool>;
    /// A prompt anyone may read: public and published, with its organization's name.
    async fn public_prompt(&self, id: Uuid) -> StoreResult<Option<(PromptRecord, String)>>;
    /// Adds views and uses to the prompts' totals and to their days' (for analytics), in one
    /// transaction; counts of prompts that are gone are dropped.
    async fn add_prompt_counts(&self, counts: &[PromptCounts]) -> StoreResult<()>;
    /// Words of the organization's prompts that may be what `word` was meant to be.
    async fn term_candidates(&self, org: OrgId, word: &str) -> StoreResult<Arc<[String]>>;
    /// Whether the organization's prompts use `word` at all.
    async fn has_term(&self, org: OrgId, word: &str) -> StoreResult<bool>;

    async fn collections(&self, org: OrgId) -> StoreResult<Vec<CollectionRecord>>;
    async fn create_collection(&self, org: OrgId, collection: &CollectionRecord) -> StoreResult<()>;
    /// Renames and/or moves a collection; `NotFound` outside the organization.
    async fn update_collection(&self, org: OrgId, id: Uuid, name: &str, parent: Option<Uuid>) -> StoreResult<()>;
    /// Deletes an empty collection; `Conflict` while prompts or collections are inside.
    async fn delete_collection(&self, org: OrgId, id: Uuid) -> StoreResult<()>;
    /// Moves prompts into a collection (or out of any); returns how many moved.
    async fn move_prompts(&self, org: OrgId, ids: &[Uuid], collection: Option<Uuid>) -> StoreResult<u64>;
    /// Replaces a prompt's tags without a new version (tags are not versioned content).
    async fn set_prompt_tags(&self, org: OrgId, id: Uuid, tags: &[String]) -> StoreResult<()>;
    async fn set_prompt_status(&self, org: OrgId, ids: &[Uuid], status: PromptStatus) -> StoreResult<u64>;
    async fn set_favorite(&self, org: OrgId, id: Uuid, user: UserId, on: bool, at: DateTime<Utc>) -> StoreResult<()>;
    /// Tags in use with how many prompts carry each, most used first.
    async fn tag_counts(&self, org: OrgId) -> StoreResult<Vec<(String, i64)>>;
    async fn categories(&self, org: OrgId) -> StoreResult<Vec<CategoryRecord>>;
    /// Creates or updates (by name) a custom category.
    async fn save_category(&self, org: OrgId, category: &CategoryRecord) -> StoreResult<()>;
    async fn delete_category(&self, org: OrgId, name: &str) -> StoreResult<bool>;
    /// Writes an import in one transaction: all of it or, on any error, none of it.
    async fn import_library(&self, import: &LibraryImport) -> StoreResult<()>;
}

#[async_trait]
pub trait CommentStore: Send + Sync {
    /// A prompt's comments, oldest first.
    async fn comments(&self, org: OrgId, prompt: Uuid) -> StoreResult<Vec<CommentRecord>>;
    async fn comment(&self, org: OrgId, id: Uuid) -> StoreResult<Option<CommentRecord>>;
    async fn add_comment(&self, comment: &CommentRecord) -> StoreResult<()>;
    async fn edit_comment(&self, org: OrgId, id: Uuid, body: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Blanks the comment's text and marks it deleted; its replies stay.
    async fn delete_comment(&self, org: OrgId, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn add_notifications(&self, notifications: &[NotificationRecord]) -> StoreResult<()>;
    /// Newest first.
    async fn notifications(&self, user: UserId, limit: i64) -> StoreResult<Vec<NotificationRecord>>;
    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64>;
    /// Marks these (or, with `None`, all) of the person's notifications read.
    async fn mark_notifications_read(&self, user: UserId, ids: Option<&[Uuid]>, at: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    /// Oldest first.
    async fn webhooks(&self, org: OrgId) -> StoreResult<Vec<WebhookRecord>>;
    async fn webhook(&self, org: OrgId, id: Uuid) -> StoreResult<Option<WebhookRecord>>;
    /// Saves url, description, events, active and secret.
    async fn update_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    async fn delete_webhook(&self, org: OrgId, id: Uuid) -> StoreResult<()>;
    /// Queues deliveries (each due at its `next_attempt_at`) in one transaction.
    async fn enqueue_deliveries(&self, deliveries: &[DeliveryRecord]) -> StoreResult<()>;
    /// Leases up to `limit` pending deliveries due at `now` (and not leased by a live sender) to
    /// `owner` until `lease_until`, oldest due first. On PostgreSQL several instances claim at
    /// once without taking the same row (`FOR UPDATE SKIP LOCKED`).
    async fn claim_deliveries(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records an attempt and the delivery's new state, if `owner` still holds its lease
    /// (false otherwise: another sender took it over and nothing was written).
    /// `next_attempt_at` is `Some` when it will be retried.
    async fn record_attempt(
        &self,
        owner: Uuid,
        delivery: Uuid,
        attempt: &AttemptRecord,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
    /// A webhook's deliveries, newest first.
    async fn deliveries(&self, org: OrgId, webhook: Uuid, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    async fn delivery(&self, org: OrgId, id: Uuid) -> StoreResult<Option<DeliveryRecord>>;
    /// Oldest first.
    async fn delivery_attempts(&self, org: OrgId, delivery: Uuid) -> StoreResult<Vec<AttemptRecord>>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;
    async fn api_keys(&self, org: OrgId) -> StoreResult<Vec<ApiKeyRecord>>;
    /// The key with the given hash and its creator's standing in the key's organization, in one
    /// read: every API request asks.
    async fn api_key_access(&self, key_hash: &str) -> StoreResult<Option<ApiKeyAccess>>;
    async fn revoke_api_key(&self, org: OrgId, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Adds `requests` to the key's window starting at `window`, returns the window's count,
    /// records them as a usage event of the key's organization (`api_requests`) and the key as
    /// used at `at`.
    async fn add_api_requests(
        &self,
        key: Uuid,
        window: DateTime<Utc>,
        requests: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Requests made with any of the organization's keys from `since` on (their usage events).
    async fn org_api_requests(&self, org: OrgId, since: DateTime<Utc>) -> StoreResult<i64>;
}

/// An API key as a request sees it: the key, and the role its creator holds in the key's
/// organization today (`None` once they have left it).
#[derive(Debug, Clone)]
pub struct ApiKeyAccess {
    pub key: ApiKeyRecord,
    pub org_kind: OrgKind,
    pub creator_role: Option<OrgRole>,
}

/// API keys as requests see them (`api_key_access`), kept for `ApiKeyCache::FRESH` so that an API
/// request is not also a database read for its key. This instance forgets an organization's keys
/// the moment one of them is revoked, a member's role changes or a member leaves; other instances
/// see those changes within `FRESH`. An unknown key is remembered too (a new key cannot be
/// mistaken for one: its hash was never asked for before it existed).
#[derive(Default)]
pub struct ApiKeyCache {
    inner: std::sync::Mutex<KeyCacheInner>,
}

#[derive(Default)]
struct KeyCacheInner {
    /// Bumped by every `forget_org`: a read that began before it is not kept.
    generation: u64,
    keys: std::collections::HashMap<String, (std::time::Instant, Option<ApiKeyAccess>)>,
}

impl ApiKeyCache {
    pub const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
    /// Beyond this many keys the cache starts again (a flood of made-up keys cannot grow it).
    const MAX_KEYS: usize = 10_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyCacheInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key with this hash as read within `FRESH`, or the store's answer now.
    pub async fn access(&self, store: &dyn Store, key_hash: &str) -> StoreResult<Option<ApiKeyAccess>> {
        let generation = {
            let inner = self.lock();
            if let Some((read_at, access)) = inner.keys.get(key_hash)
                && read_at.elapsed() < Self::FRESH
            {
                return Ok(access.clone());
            }
            inner.generation
        };
        let read_at = std::time::Instant::now();
        let access = store.api_key_access(key_hash).await?;
        let mut inner = self.lock();
        if inner.generation == generation {
            if inner.keys.len() >= Self::MAX_KEYS {
                inner.keys.clear();
            }
            inner.keys.insert(key_hash.to_owned(), (read_at, access.clone()));
        }
        Ok(access)
    }

    /// Forgets what was read about `org`'s keys (and any read still under way).
    pub fn forget_org(&self, org: OrgId) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.keys.retain(|_, (_, access)| access.as_ref().is_some_and(|a| a.key.org_id != org));
    }
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Newest first; `before` pages backwards by id.
    async fn audit_log(&self, org: OrgId, before: Option<Uuid>, limit: i64) -> StoreResult<Vec<AuditEntryView>>;
    /// Entries about prompts and comments (of one target, e.g. `prompt:<id>`, or all), newest
    /// first; `before` pages backwards by id.
    async fn activity(
        &self,
        org: OrgId,
        target: Option<&str>,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<ActivityRecord>>;
}

#[async_trait]
pub trait MailStore: Send + Sync {
    async fn store_mail(&self, mail: &OutgoingMail, at: DateTime<Utc>) -> StoreResult<()>;
    async fn recent_mail(&self, limit: i64) -> StoreResult<Vec<StoredMail>>;
}

// ---- Sequences -------------------------------------------------------------------------------

pub use crate::dto::{MessageChannels, PushDevice};

#[derive(Debug, Clone)]
pub struct DueDigest {
    pub user: UserId,
    /// Messages after this go into the digest.
    pub since: DateTime<Utc>,
    pub last_sent: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct SequenceRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub creator_id: UserId,
    pub meta: SequenceMeta,
    /// The builder's working copy.
    pub draft: Vec<Step>,
    /// The draft differs from the latest version.
    pub draft_changed: bool,
    pub published_version: Option<i32>,
    pub is_template: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SubscriptionRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub sequence_id: Uuid,
    pub version: i32,
    pub user_id: UserId,
    pub status: SubscriptionStatus,
    pub run: Run,
    pub preferences: Preferences,
    pub assigned_by: Option<UserId>,
    pub mandatory: bool,
    /// The day an assignment should be finished by.
    pub due_on: Option<chrono::NaiveDate>,
    /// The person speaking in this conversation instead of the AI (the creator taking over).
    pub taken_over_by: Option<UserId>,
    /// The coach assigned to this subscriber: decides "coach" checkpoints, may read and take over.
    pub coach_id: Option<UserId>,
    /// Bumped by every change: a change computed from an older read is refused.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl SubscriptionRecord {
    /// A new, active subscription at the start of `version`, with what the run knows from the start.
    pub fn new(
        org_id: OrgId,
        sequence_id: Uuid,
        version: i32,
        user_id: UserId,
        preferences: Preferences,
        answers: std::collections::BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            org_id,
            sequence_id,
            version,
            user_id,
            status: SubscriptionStatus::Active,
            run: Run { answers, ..Run::default() },
            preferences,
            assigned_by: None,
            mandatory: false,
            due_on: None,
            taken_over_by: None,
            coach_id: None,
            revision: 0,
            created_at: now,
            updated_at: now,
            completed_at: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub sender: Sender,
    pub author_id: Option<UserId>,
    pub body: String,
    pub step_id: Option<String>,
    pub asks: Option<AnswerKind>,
    pub idempotency_key: String,
    pub tokens: Option<TokenUsage>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub kind: JobKind,
    pub step_id: String,
    pub visit: i32,
    pub due_at: DateTime<Utc>,
    pub attempts: i32,
}

#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub org_id: OrgId,
    pub step_id: String,
    pub visit: i32,
    pub decider: Decider,
    pub decider_id: Option<UserId>,
    pub question: String,
    pub options: Vec<String>,
    pub deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Everything one step of the engine changes, written in one transaction: the run, what the
/// subscriber is told, what is scheduled, who must decide. Pending jobs of the subscription
/// other than for its current step's visit are canceled with it.
#[derive(Debug, Clone)]
pub struct RunChange {
    pub subscription: Uuid,
    /// The revision the change was computed from.
    pub revision: i64,
    pub run: Run,
    pub status: SubscriptionStatus,
    /// Inserted unless a message with the same idempotency key exists.
    pub messages: Vec<MessageRecord>,
    /// Inserted unless the same (kind, step, visit) exists.
    pub jobs: Vec<JobRecord>,
    pub decisions: Vec<DecisionRecord>,
    /// Closes the open decision of this step visit: (decision, note, decided by).
    pub decided: Option<(String, Option<String>, Option<UserId>)>,
    /// Analytics events: (kind, step, detail).
    pub events: Vec<(&'static str, Option<String>, Option<String>)>,
    /// The job this change completes (held by `owner`).
    pub done_job: Option<(Uuid, Uuid)>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait SequenceStore: Send + Sync {
    async fn create_sequence(&self, sequence: &SequenceRecord) -> StoreResult<()>;
    async fn sequence(&self, org: OrgId, id: Uuid) -> StoreResult<Option<SequenceRecord>>;
    async fn sequences(&self, org: OrgId) -> StoreResult<Vec<SequenceRecord>>;
    async fn save_draft(
        &self,
        org: OrgId,
        id: Uuid,
        meta: &SequenceMeta,
        draft: &[Step],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Freezes the draft (or `steps`, the draft with its prompt references resolved) as the next
    /// version; returns its number.
    async fn publish_sequence(
        &self,
        org: OrgId,
        id: Uuid,
        steps: Option<&[Step]>,
        by: UserId,
        at: DateTime<Utc>,
    ) -> StoreResult<i32>;
    async fn sequence_version(&self, sequence: Uuid, version: i32) -> StoreResult<Option<Vec<Step>>>;
    /// Inserts the subscription and applies its first change in one transaction.
    async fn create_subscription(&self, subscription: &SubscriptionRecord, first: &RunChange) -> StoreResult<()>;
    async fn subscription(&self, id: Uuid) -> StoreResult<Option<SubscriptionRecord>>;
    async fn subscriptions_of(&self, user: UserId) -> StoreResult<Vec<SubscriptionRecord>>;
    /// Every subscription of a sequence, oldest first.
    async fn sequence_subscriptions(&self, sequence: Uuid) -> StoreResult<Vec<SubscriptionRecord>>;
    /// How many subscriptions had each (event kind, step) of a sequence: `step_fired`, `step_completed`.
    async fn step_event_counts(&self, sequence: Uuid) -> StoreResult<Vec<(String, String, i64)>>;
    /// Every subscription someone assigned for a sequence, oldest first.
    async fn assigned_subscriptions(&self, sequence: Uuid) -> StoreResult<Vec<SubscriptionRecord>>;
    /// The active and paused subscriptions of a sequence, oldest first.
    async fn running_subscriptions(&self, sequence: Uuid) -> StoreResult<Vec<SubscriptionRecord>>;
    /// Moves a subscription to another version of its sequence (its run and jobs stay); `false`
    /// when it changed since `revision` was read.
    async fn move_subscription(&self, id: Uuid, revision: i64, version: i32, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Applies a change; `false` when the subscription moved on since it was read (nothing written).
    async fn apply_run(&self, change: &RunChange) -> StoreResult<bool>;
    /// Applies several changes in one transaction; for each, whether it was applied (stale ones
    /// are skipped, the others written).
    async fn apply_runs(&self, changes: &[RunChange]) -> StoreResult<Vec<bool>>;
    /// The subscriptions with these ids that exist, in no particular order.
    async fn subscriptions_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<SubscriptionRecord>>;
    /// In the order they were written (ids are time-ordered UUIDv7).
    async fn messages(&self, subscription: Uuid) -> StoreResult<Vec<MessageRecord>>;
    /// Leases up to `limit` pending jobs due by `now` to `owner` (SKIP LOCKED on PostgreSQL).
    async fn claim_jobs(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<JobRecord>>;
    /// The server's VAPID keys, if made.
    async fn vapid_keys(&self) -> StoreResult<Option<VapidKeys>>;
    /// Stores `keys` unless keys exist; returns the stored ones.
    async fn keep_vapid_keys(&self, keys: &VapidKeys, at: DateTime<Utc>) -> StoreResult<VapidKeys>;
    /// Those of `users` who hear of new messages outside the app (email, a webhook or push).
    async fn reachable_users(&self, users: &[UserId]) -> StoreResult<Vec<UserId>>;
    /// The browsers where `user` turned push notifications on.
    async fn push_devices(&self, user: UserId) -> StoreResult<Vec<PushDevice>>;
    /// Adds a browser (or moves its endpoint to `user`).
    async fn add_push_device(&self, user: UserId, device: &PushDevice, at: DateTime<Utc>) -> StoreResult<()>;
    /// Removes a browser: `user`'s own, or whoever's when `user` is None.
    async fn remove_push_device(&self, endpoint: &str, user: Option<UserId>) -> StoreResult<bool>;
    /// When the first job nobody holds is due, so an idle worker sleeps just that long.
    async fn next_job_due(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Gives a held job back for another attempt at `next_at`, or marks it failed (`next_at` None).
    async fn retry_job(&self, owner: Uuid, job: Uuid, next_at: Option<DateTime<Utc>>, error: &str) -> StoreResult<()>;
    /// Gives a held job back, due again at `at` as a fresh job (no attempt counted): its moment
    /// moved (an inactivity step whose subscriber replied meanwhile).
    async fn postpone_job(&self, owner: Uuid, job: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// When `user` last wrote in one of their conversations in `org`.
    async fn last_reply(&self, org: OrgId, user: UserId) -> StoreResult<Option<DateTime<Utc>>>;
    /// Closes a held job without a run change (its subscription is gone or stopped).
    async fn close_job(
        &self,
        owner: Uuid,
        job: Uuid,
        status: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Closes several held jobs the same way (`close_job` for each, in one statement).
    async fn close_jobs(
        &self,
        owner: Uuid,
        jobs: &[Uuid],
        status: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn open_decisions(&self, org: OrgId) -> StoreResult<Vec<DecisionRecord>>;
    /// A person takes the conversation over (`Some`) or hands it back (`None`): AI turns held
    /// meanwhile are due again when it is handed back. `false` when the subscription changed
    /// since `revision` was read.
    async fn set_takeover(&self, id: Uuid, revision: i64, by: Option<UserId>, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Assigns (or, with `None`, removes) the subscription's coach.
    async fn set_coach(&self, id: Uuid, coach: Option<UserId>, at: DateTime<Utc>) -> StoreResult<()>;
    /// Unread messages (sent to the user, not yet shown to them) per subscription.
    async fn unread_counts(&self, user: UserId) -> StoreResult<Vec<(Uuid, i64)>>;
    /// Marks a conversation's messages to the subscriber as read.
    async fn mark_read(&self, subscription: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Whether a published version in the organization mentions the event `name`: a cheap check
    /// before looking for subscriptions waiting for it (false positives are fine).
    async fn event_in_use(&self, org: OrgId, name: &str) -> StoreResult<bool>;
    /// Where the person hears of new messages besides the app (`None`: nowhere else yet).
    async fn message_channels(&self, user: UserId) -> StoreResult<Option<MessageChannels>>;
    async fn set_message_channels(
        &self,
        user: UserId,
        channels: &MessageChannels,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// People whose daily digest is due (none sent since `before`): (person, since when to
    /// gather messages, when the last one went out).
    async fn due_digests(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<DueDigest>>;
    /// Takes a person's digest for this instance: `false` when another got there first.
    async fn claim_digest(&self, due: &DueDigest, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Messages to the person since `since`, oldest first: (subscription, sequence title, text).
    async fn messages_since(
        &self,
        user: UserId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, String, String)>>;
    /// When the earliest pending job of the user's subscriptions is due.
    async fn next_due_for(&self, user: UserId) -> StoreResult<Option<DateTime<Utc>>>;
    /// Jobs that failed for good, newest first, for creators and admins.
    async fn failed_jobs(&self, org: OrgId, limit: i64) -> StoreResult<Vec<(JobRecord, String)>>;
    /// Pauses, resumes, cancels or changes the preferences of a subscription, with its jobs:
    /// paused ones are held, resumed ones are due again (from now at the earliest), canceled
    /// ones dropped; a pause until a moment moves pending jobs after it.
    async fn set_subscription_state(
        &self,
        id: Uuid,
        status: SubscriptionStatus,
        preferences: &Preferences,
        event: &'static str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Billing (server/src/db/billing.rs; rules in app/src/api/billing.rs)

/// One version of a plan.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub code: String,
    pub version: i32,
    pub config: PlanConfig,
    pub created_at: DateTime<Utc>,
}

/// The plan an organization pays for (a person's individual plan: their personal organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSubscriptionRecord {
    pub org_id: OrgId,
    pub plan_code: String,
    pub plan_version: i32,
    pub interval: Interval,
    pub seats: i64,
    pub status: PlanStatus,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub cancel_at_period_end: bool,
    pub promo_code: Option<String>,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub paid_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change of an organization's plan, with its monthly recurring revenue before and after.
#[derive(Debug, Clone)]
pub struct PlanChangeRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub from_plan: Option<String>,
    pub to_plan: Option<String>,
    pub mrr_before: i64,
    pub mrr_after: i64,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What a creator sells (`sequence:<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRecord {
    pub product: String,
    pub org_id: OrgId,
    pub seller_id: UserId,
    pub amount: i64,
    pub currency: String,
    /// `None`: bought once; `Some(Month)`: paid monthly.
    pub recurring: Option<Interval>,
    /// The affiliates' commission in basis points of each sale after processing (0: none).
    /// `set_price` keeps it; `set_affiliate_rate` sets it.
    pub affiliate_bps: u32,
    pub updated_at: DateTime<Utc>,
}

/// A person's affiliate link for a product.
#[derive(Debug, Clone, PartialEq)]
pub struct AffiliateLinkRecord {
    pub code: String,
    pub user_id: UserId,
    pub product: String,
    pub created_at: DateTime<Utc>,
}

/// What an affiliate link brought.
#[derive(Debug, Clone, PartialEq)]
pub struct AffiliateStats {
    pub link: AffiliateLinkRecord,
    pub clicks: i64,
    pub signups: i64,
    /// Paid sales credited to it (refunded ones left out).
    pub sales: i64,
    pub commission: i64,
}

#[derive(Debug, Clone)]
pub struct PromoRecord {
    pub id: Uuid,
    pub code: String,
    /// `None`: the platform's (plans); else the creator whose products it discounts.
    pub owner_id: Option<UserId>,
    pub rules: PromoRules,
    pub redeemed: i64,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CheckoutRecord {
    pub id: Uuid,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub product: String,
    pub description: String,
    pub plan_version: Option<i32>,
    pub interval: Option<Interval>,
    pub seats: i64,
    pub price: i64,
    pub discount: i64,
    pub amount: i64,
    pub currency: String,
    pub promo_code: Option<String>,
    pub provider: String,
    pub provider_ref: Option<String>,
    /// The affiliate link the sale is credited to.
    pub affiliate_code: Option<String>,
    /// `open`, `paid` or `expired`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub id: Uuid,
    pub checkout_id: Option<Uuid>,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub product: String,
    pub description: String,
    pub amount: i64,
    pub currency: String,
    pub processor_fee: i64,
    pub platform_fee: i64,
    pub seller_id: Option<UserId>,
    pub seller_share: i64,
    pub affiliate_code: Option<String>,
    pub affiliate_share: i64,
    /// `paid` or `refunded`.
    pub status: String,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub access_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
    /// How much has been refunded or disputed so far (all of `amount` once `refunded`).
    pub refunded: i64,
}

/// A card dispute (Stripe's `charge.dispute.*`) and what it took from its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeRecord {
    /// Stripe's dispute id.
    pub id: String,
    pub payment_id: Uuid,
    /// Taken from the payment when it opened (0 when it had been refunded already).
    pub amount: i64,
    /// `open`, `won` or `lost`.
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A balanced ledger transaction.
#[derive(Debug, Clone)]
pub struct LedgerTx {
    pub id: Uuid,
    /// `sale`, `plan`, `refund`, `reinstated` (a dispute won), `payout`, or `review` and `session`
    /// (a mentor or concierge paid from the creator's balance).
    pub kind: String,
    pub reference: String,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<Entry>,
}

/// A paid checkout, stored at once: the checkout closed, the payment, its ledger transaction,
/// the promo code redeemed and (for plans) the organization's new subscription.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub checkout_id: Uuid,
    pub payment: PaymentRecord,
    pub ledger: LedgerTx,
    /// The code and its redemption limit.
    pub promo: Option<(String, Option<i64>)>,
    pub subscription: Option<(PlanSubscriptionRecord, PlanChangeRecord)>,
}

#[derive(Debug, Clone)]
pub struct BoostRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub boost: Boost,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A platform admin's discount on an organization's plan until `expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    /// 1 to 100.
    pub percent: i64,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PayoutRecord {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub party_id: UserId,
    pub party_name: String,
    pub party_email: String,
    pub amount: i64,
    pub currency: String,
    /// `pending`, `paid` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The Stripe transfer that paid it.
    pub provider_ref: Option<String>,
    /// Why Stripe would not take the transfer (it stays pending; sending again retries).
    pub error: Option<String>,
    /// How many times Stripe refused the transfer.
    pub attempts: i32,
}

/// A person's Stripe Connect account, which payouts are transferred to.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectAccountRecord {
    pub user_id: UserId,
    pub account_id: String,
    pub details_submitted: bool,
    pub payouts_enabled: bool,
    /// The last payout to the bank Stripe reported: `paid` or `failed`.
    pub last_payout_status: Option<String>,
    pub last_payout_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PayoutBatchRecord {
    pub id: Uuid,
    pub method: String,
    pub minimum: i64,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub payouts: i64,
    pub total: i64,
}

/// A Stripe webhook event waiting to be processed.
#[derive(Debug, Clone)]
pub struct StripeEventRecord {
    pub id: String,
    pub event_type: String,
    pub created: i64,
    pub payload: String,
    pub attempts: i32,
    /// The id of the object it is about (`data.object.id`).
    pub object_id: Option<String>,
}

/// One billable use (an AI model call's tokens ...), counted once per idempotency key.
#[derive(Debug, Clone)]
pub struct UsageEventRecord {
    pub id: Uuid,
    pub idempotency_key: String,
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub metric: crate::domain::billing::Metric,
    pub quantity: i64,
    pub at: DateTime<Utc>,
}

/// Which payments to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub user: Option<UserId>,
    pub seller: Option<UserId>,
    pub org: Option<OrgId>,
    pub limit: i64,
}

#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Adds version 1 of each default plan whose code has no version yet.
    async fn ensure_plans(&self, defaults: &[(&str, PlanConfig)], at: DateTime<Utc>) -> StoreResult<()>;
    /// The newest version of every plan.
    async fn plans(&self) -> StoreResult<Vec<PlanRecord>>;
    /// A version of a plan, or its newest with `None`.
    async fn plan(&self, code: &str, version: Option<i32>) -> StoreResult<Option<PlanRecord>>;
    /// Stores `config` as the plan's next version (its first, for a new code); returns it.
    async fn add_plan_version(
        &self,
        code: &str,
        config: &PlanConfig,
        by: UserId,
        at: DateTime<Utc>,
    ) -> StoreResult<i32>;
    async fn plan_subscriptions(&self, orgs: &[OrgId]) -> StoreResult<Vec<PlanSubscriptionRecord>>;
    /// Creates or replaces an organization's subscription, recording the change.
    async fn save_plan_subscription(&self, sub: &PlanSubscriptionRecord, change: &PlanChangeRecord) -> StoreResult<()>;
    /// Stores a verified Stripe event for processing; `false` when its id was stored already.
    async fn record_stripe_event(&self, event: &StripeEventRecord, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Claims due, unprocessed events (oldest `created` first) until `lease_until`.
    async fn claim_stripe_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<StripeEventRecord>>;
    /// Marks an event processed, or (with `retry_at`) failed for now with its error.
    async fn finish_stripe_event(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The payment a provider knows by `provider_ref` (a Stripe payment intent).
    async fn payment_by_provider_ref(&self, provider: &str, provider_ref: &str) -> StoreResult<Option<PaymentRecord>>;
    /// Built-in subscriptions whose period ended by `now` (to renew or to end), oldest first.
    async fn due_plan_renewals(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<PlanSubscriptionRecord>>;
    /// Moves a subscription whose period ends at `expected_end` to `next` (its next period, or
    /// canceled), with the renewal's payment and the change, in one transaction; `false` when
    /// another worker moved it first.
    async fn roll_plan(
        &self,
        next: &PlanSubscriptionRecord,
        expected_end: DateTime<Utc>,
        payment: Option<(&PaymentRecord, &LedgerTx)>,
        change: Option<&PlanChangeRecord>,
    ) -> StoreResult<bool>;
    /// Boosts of the organizations that have not expired at `now`.
    async fn boosts(&self, orgs: &[OrgId], now: DateTime<Utc>) -> StoreResult<Vec<BoostRecord>>;
    async fn add_boost(&self, boost: &BoostRecord) -> StoreResult<()>;
    async fn price(&self, product: &str) -> StoreResult<Option<PriceRecord>>;
    /// Every price of the organization whose product key starts with `prefix` (a journey's
    /// tiers), by key.
    async fn prices_starting(&self, org: OrgId, prefix: &str) -> StoreResult<Vec<PriceRecord>>;
    async fn set_price(&self, price: &PriceRecord) -> StoreResult<()>;
    async fn remove_price(&self, product: &str) -> StoreResult<()>;
    /// `Conflict` when the code is taken.
    async fn create_promo(&self, promo: &PromoRecord) -> StoreResult<()>;
    async fn promo(&self, code: &str) -> StoreResult<Option<PromoRecord>>;
    /// The platform's codes (`None`) or a creator's.
    async fn promos(&self, owner: Option<UserId>) -> StoreResult<Vec<PromoRecord>>;
    async fn create_checkout(&self, checkout: &CheckoutRecord) -> StoreResult<()>;
    async fn checkout(&self, id: Uuid) -> StoreResult<Option<CheckoutRecord>>;
    /// Stores a paid checkout in one transaction; `false` when it was no longer open (paid
    /// already). `Conflict` when the promo code ran out meanwhile.
    async fn settle_checkout(&self, settlement: &Settlement, at: DateTime<Utc>) -> StoreResult<bool>;
    async fn payments(&self, filter: &PaymentFilter) -> StoreResult<Vec<PaymentRecord>>;
    /// How many payments `org` made for `product` (refunded ones too), only those before
    /// `before` when given.
    async fn count_payments(&self, org: OrgId, product: &str, before: Option<DateTime<Utc>>) -> StoreResult<i64>;
    async fn payment(&self, id: Uuid) -> StoreResult<Option<PaymentRecord>>;
    /// Moves a paid payment's refunded amount from `refunded.0` to `refunded.1` (marking it
    /// refunded when that is all of it), books `reversal`, records `dispute` (the one that took
    /// it) and cancels `cancel_plan_of`'s subscription; `false` when the payment was refunded
    /// already or its refunded amount is no longer `refunded.0`.
    async fn refund_payment(
        &self,
        id: Uuid,
        refunded: (i64, i64),
        reversal: &LedgerTx,
        dispute: Option<&DisputeRecord>,
        cancel_plan_of: Option<&PlanChangeRecord>,
    ) -> StoreResult<bool>;
    /// Records a dispute that took nothing (its payment was refunded already); `false` when it
    /// is recorded already.
    async fn record_dispute(&self, dispute: &DisputeRecord) -> StoreResult<bool>;
    async fn dispute(&self, id: &str) -> StoreResult<Option<DisputeRecord>>;
    /// Closes an open dispute as `won` or `lost`. A won one gives back what it took: the
    /// payment's refunded amount moves from `reinstate.0` down to `reinstate.1` (paid again) and
    /// `reinstatement` is booked. `false` when the dispute was closed already or the payment's
    /// refunded amount is no longer `reinstate.0`.
    async fn close_dispute(
        &self,
        id: &str,
        status: &str,
        at: DateTime<Utc>,
        reinstate: Option<((i64, i64), &LedgerTx)>,
    ) -> StoreResult<bool>;
    /// The products whose key starts with `prefix` that `user` paid for and kept, at `now`.
    async fn paid_products_starting(&self, user: UserId, prefix: &str, now: DateTime<Utc>) -> StoreResult<Vec<String>>;
    /// A platform setting (`platform_settings`); `None`: the shipped default.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Whether `user` paid for `product` (any product with `None`) and kept it, at `now`.
    async fn has_paid(&self, user: UserId, product: Option<&str>, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Each account starting with `prefix` and the sum of its entries.
    async fn ledger_sums(&self, prefix: &str) -> StoreResult<Vec<(String, i64)>>;
    /// A transaction's entries, checked to balance by the caller.
    async fn ledger_entries(&self, reference: &str) -> StoreResult<Vec<LedgerTx>>;
    /// Gross sales of a seller's products paid since `since`, refunds excluded.
    async fn seller_sales_since(&self, seller: UserId, since: DateTime<Utc>) -> StoreResult<i64>;
    /// Pays each party what the ledger says Cairn owes them, if at least `minimum`, in one
    /// transaction; returns the payouts made (none when nobody is owed enough).
    async fn create_payout_batch(&self, batch: &PayoutBatchRecord, at: DateTime<Utc>)
    -> StoreResult<Vec<PayoutRecord>>;
    async fn payout_batches(&self) -> StoreResult<Vec<PayoutBatchRecord>>;
    async fn payouts(&self, party: Option<UserId>, batch: Option<Uuid>) -> StoreResult<Vec<PayoutRecord>>;
    /// The events about a Stripe object applied so far: type and Stripe's `created`.
    async fn stripe_object_history(&self, object_id: &str) -> StoreResult<Vec<(String, i64)>>;
    /// Records a payment that came without a checkout (a Stripe invoice) with its ledger
    /// transaction.
    async fn record_payment(&self, payment: &PaymentRecord, ledger: &LedgerTx) -> StoreResult<()>;
    /// Plans past due whose grace period ended before `cutoff`.
    async fn lapsed_plans(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<PlanSubscriptionRecord>>;
    /// Records a usage event; `false` when its idempotency key was recorded already.
    async fn record_usage(&self, event: &UsageEventRecord) -> StoreResult<bool>;
    /// `metric` used in `org` from `since` on: count, sum, largest, distinct people.
    async fn usage_totals(
        &self,
        org: OrgId,
        metric: crate::domain::billing::Metric,
        since: DateTime<Utc>,
    ) -> StoreResult<crate::domain::billing::UsageTotals>;
    /// Every plan change, oldest first (the business dashboard replays them).
    async fn plan_history(&self) -> StoreResult<Vec<PlanChangeRecord>>;
    /// Payments, refunds and disputes booked in the ledger since `since`, each with the product
    /// and seller of its payment, and the journey fees kept on paid reviews and sessions (payouts
    /// are not revenue).
    async fn revenue_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<crate::domain::business::Revenue>>;
    /// The sum of `metric` over every organization per month (`YYYY-MM`, UTC) since `since`.
    async fn usage_by_month(
        &self,
        metric: crate::domain::billing::Metric,
        since: DateTime<Utc>,
    ) -> StoreResult<std::collections::BTreeMap<String, i64>>;
    async fn add_discount(&self, discount: &DiscountRecord) -> StoreResult<()>;
    /// Sets the affiliate commission of a product's price; `false` when it has no price.
    async fn set_affiliate_rate(&self, product: &str, bps: u32, at: DateTime<Utc>) -> StoreResult<bool>;
    async fn affiliate_link(&self, code: &str) -> StoreResult<Option<AffiliateLinkRecord>>;
    /// The person's link for the product; `link` (its code) is stored when they have none yet.
    async fn ensure_affiliate_link(&self, link: &AffiliateLinkRecord) -> StoreResult<AffiliateLinkRecord>;
    async fn record_affiliate_click(&self, code: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Remembers the link a person signed up through (the first one stays).
    async fn record_referral(&self, user: UserId, code: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// The link a person signed up through, and when.
    async fn referral(&self, user: UserId) -> StoreResult<Option<(String, DateTime<Utc>)>>;
    /// The person's affiliate links with their clicks, sign-ups, sales and commission.
    async fn affiliate_stats(&self, user: UserId) -> StoreResult<Vec<AffiliateStats>>;
    /// The largest discount on the organization's plan for a period starting at `at` (given
    /// strictly before it, expiring no earlier: a period's price is set when it starts, so one
    /// given at that very moment applies from the next).
    async fn discount_at(&self, org: OrgId, at: DateTime<Utc>) -> StoreResult<Option<DiscountRecord>>;
    /// The person's Stripe customer id.
    async fn stripe_customer(&self, user: UserId) -> StoreResult<Option<String>>;
    /// Remembers the person's Stripe customer; the one stored first wins and is returned.
    async fn save_stripe_customer(&self, user: UserId, customer: &str, at: DateTime<Utc>) -> StoreResult<String>;
    async fn connect_account(&self, user: UserId) -> StoreResult<Option<ConnectAccountRecord>>;
    /// Remembers the person's Connect account; the one stored first wins and is returned.
    async fn save_connect_account(&self, account: &ConnectAccountRecord) -> StoreResult<ConnectAccountRecord>;
    /// Applies `account.updated`; `false` when the account is not Cairn's.
    async fn update_connect_account(
        &self,
        account_id: &str,
        details_submitted: bool,
        payouts_enabled: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Applies `payout.paid` / `payout.failed` of a connected account; `false` when not Cairn's.
    async fn connect_payout_reported(&self, account_id: &str, status: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Records the outcome of sending a pending payout: its transfer (paid) or the error, and
    /// whether the provider refused it (the next attempt then uses a new idempotency key).
    async fn payout_sent(
        &self,
        id: Uuid,
        transfer: Option<&str>,
        error: Option<&str>,
        refused: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// A journey: its creator's sections of forms (see `domain::journey`).
#[derive(Debug, Clone)]
pub struct JourneyRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub creator_id: UserId,
    /// The creator's display name (read with the journey; ignored when saving).
    pub creator_name: String,
    pub title: String,
    pub description: String,
    pub published: bool,
    pub sections: Vec<crate::domain::journey::Section>,
    /// Bumped by every change.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A client's answers to one section of a journey: a draft until `submitted_at`.
#[derive(Debug, Clone)]
pub struct JourneyEntryRecord {
    pub journey_id: Uuid,
    pub user_id: UserId,
    pub section_id: String,
    pub answers: std::collections::BTreeMap<String, String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub score: crate::domain::journey::Score,
    pub updated_at: DateTime<Utc>,
}

/// A mentor or concierge a journey's creator assigned, with what each completed review or
/// session pays them.
#[derive(Debug, Clone)]
pub struct JourneyHelperRecord {
    pub journey_id: Uuid,
    pub helper_id: UserId,
    /// `Mentor` or `Concierge`.
    pub role: crate::domain::CapabilityRole,
    /// Read with the helper; ignored when saving.
    pub helper_name: String,
    /// Minor units per completed review or session.
    pub rate: i64,
    pub added_at: DateTime<Utc>,
}

/// A client's request that a mentor review one submitted section, and the mentor's feedback.
#[derive(Debug, Clone)]
pub struct ReviewRecord {
    pub id: Uuid,
    pub journey_id: Uuid,
    pub client_id: UserId,
    pub section_id: String,
    pub mentor_id: UserId,
    /// `requested` or `completed`.
    pub status: String,
    pub feedback: Option<String>,
    /// The mentor's rate when it was asked for.
    pub rate: i64,
    /// What the mentor received (after the journey fee); 0 until completed.
    pub mentor_amount: i64,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The client's rating once completed, 1 to 5.
    pub rating: Option<i64>,
    /// Read with the review; ignored when saving.
    pub client_name: String,
    pub mentor_name: String,
}

/// A client's session with a concierge: asked for a time, confirmed, then completed with notes.
#[derive(Debug, Clone)]
pub struct ConciergeSessionRecord {
    pub id: Uuid,
    pub journey_id: Uuid,
    pub client_id: UserId,
    pub concierge_id: UserId,
    /// `requested`, `confirmed`, `completed` or `canceled`.
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub topic: String,
    pub notes: Option<String>,
    /// The concierge's rate when it was asked for.
    pub rate: i64,
    /// What the concierge received (after the journey fee); 0 until completed.
    pub concierge_amount: i64,
    pub requested_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// The client or the concierge, whoever called it off.
    pub canceled_by: Option<UserId>,
    /// The client's rating once completed, 1 to 5.
    pub rating: Option<i64>,
    /// Read with the session; ignored when saving.
    pub client_name: String,
    pub concierge_name: String,
}

/// Journeys and the answers clients give to their sections.
#[async_trait]
pub trait JourneyStore: Send + Sync {
    async fn create_journey(&self, journey: &JourneyRecord) -> StoreResult<()>;
    /// The organization's journeys, most recently changed first.
    async fn journeys(&self, org: OrgId) -> StoreResult<Vec<JourneyRecord>>;
    async fn journey(&self, org: OrgId, id: Uuid) -> StoreResult<Option<JourneyRecord>>;
    /// Saves title, description, published and sections as `journey.revision`, if the stored
    /// revision is still the one before it; `false` when someone else saved first.
    async fn update_journey(&self, journey: &JourneyRecord) -> StoreResult<bool>;
    async fn delete_journey(&self, org: OrgId, id: Uuid) -> StoreResult<()>;
    /// The user's entries in one journey.
    async fn journey_entries(&self, journey: Uuid, user: UserId) -> StoreResult<Vec<JourneyEntryRecord>>;
    /// How many sections the user submitted in each of the organization's journeys they started.
    async fn journey_progress(&self, org: OrgId, user: UserId) -> StoreResult<Vec<(Uuid, i64)>>;
    /// Every submitted entry of a journey with the client's display name, newest first.
    async fn journey_submissions(&self, journey: Uuid) -> StoreResult<Vec<(JourneyEntryRecord, String)>>;
    /// Stores a draft or a submission, unless that section was submitted already (`false`).
    async fn save_journey_entry(&self, entry: &JourneyEntryRecord) -> StoreResult<bool>;
    /// The journey's mentors and concierges, by name.
    async fn journey_helpers(&self, journey: Uuid) -> StoreResult<Vec<JourneyHelperRecord>>;
    /// Assigns a mentor or concierge, or changes their rate.
    async fn set_journey_helper(&self, helper: &JourneyHelperRecord) -> StoreResult<()>;
    /// `false` when they were not the journey's helper in that role.
    async fn remove_journey_helper(
        &self,
        journey: Uuid,
        role: crate::domain::CapabilityRole,
        helper: UserId,
    ) -> StoreResult<bool>;
    /// Members of the organization with a capability role, by name.
    async fn org_members_with(
        &self,
        org: OrgId,
        role: crate::domain::CapabilityRole,
    ) -> StoreResult<Vec<(UserId, String)>>;
    /// `Conflict` when the client asked for a review of that section already.
    async fn request_review(&self, review: &ReviewRecord) -> StoreResult<()>;
    async fn review(&self, id: Uuid) -> StoreResult<Option<ReviewRecord>>;
    /// The client's reviews in one journey.
    async fn client_reviews(&self, journey: Uuid, client: UserId) -> StoreResult<Vec<ReviewRecord>>;
    /// The reviews asked of a mentor in the organization's journeys, oldest request first.
    async fn mentor_reviews(&self, org: OrgId, mentor: UserId) -> StoreResult<Vec<ReviewRecord>>;
    /// The clients' entries of the sections asked of a mentor in the organization's journeys.
    async fn reviewed_entries(&self, org: OrgId, mentor: UserId) -> StoreResult<Vec<JourneyEntryRecord>>;
    /// Completes a requested review with its feedback and the mentor's pay (`ledger`, when the
    /// review pays anything) in one transaction; `false` when it was completed already.
    async fn complete_review(
        &self,
        id: Uuid,
        feedback: &str,
        mentor_amount: i64,
        at: DateTime<Utc>,
        ledger: Option<&LedgerTx>,
    ) -> StoreResult<bool>;
    /// Stores a requested session unless its client has `max_open` sessions of the journey
    /// requested or confirmed already (`false`).
    async fn request_session(&self, session: &ConciergeSessionRecord, max_open: i64) -> StoreResult<bool>;
    async fn concierge_session(&self, id: Uuid) -> StoreResult<Option<ConciergeSessionRecord>>;
    /// The client's sessions in one journey, soonest first.
    async fn client_sessions(&self, journey: Uuid, client: UserId) -> StoreResult<Vec<ConciergeSessionRecord>>;
    /// The sessions asked of a concierge in the organization's journeys, soonest first.
    async fn concierge_sessions(&self, org: OrgId, concierge: UserId) -> StoreResult<Vec<ConciergeSessionRecord>>;
    /// Confirms a requested session; `false` when it is no longer requested.
    async fn confirm_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Records a client's rating of their completed review; `false` when it is not theirs, not
    /// completed, or rated already.
    async fn rate_review(&self, id: Uuid, client: UserId, stars: i64) -> StoreResult<bool>;
    /// Records a client's rating of their completed session; `false` as for reviews.
    async fn rate_session(&self, id: Uuid, client: UserId, stars: i64) -> StoreResult<bool>;
    /// The organization's mentors' (or concierges') ratings: (helper, sum of stars, how many).
    async fn helper_ratings(
        &self,
        org: OrgId,
        role: crate::domain::CapabilityRole,
    ) -> StoreResult<Vec<(UserId, i64, i64)>>;
    /// Moves a requested or confirmed session that has not begun at `now` to `starts_at`, asked
    /// for again (to be confirmed anew); `false` when it is no longer open or has begun.
    async fn move_session(&self, id: Uuid, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Cancels a requested or confirmed session; `false` when it is neither any more.
    async fn cancel_session(&self, id: Uuid, by: UserId, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Completes a confirmed session with the concierge's notes and pay (`ledger`, when it pays
    /// anything) in one transaction; `false` when it is not confirmed (completed already).
    async fn complete_session(
        &self,
        id: Uuid,
        notes: &str,
        concierge_amount: i64,
        at: DateTime<Utc>,
        ledger: Option<&LedgerTx>,
    ) -> StoreResult<bool>;
}

/// Everything the application stores.
pub trait Store:
    UserStore
    + SessionStore
    + OrgStore
    + PromptStore
    + CommentStore
    + NotificationStore
    + WebhookStore
    + TestPanelStore
    + SearchStore
    + AnalyticsStore
    + ApiKeyStore
    + SequenceStore
    + AuditStore
    + MailStore
    + BillingStore
    + JourneyStore
{
}
impl<
    T: UserStore
        + SessionStore
        + OrgStore
        + PromptStore
        + CommentStore
        + NotificationStore
        + WebhookStore
        + TestPanelStore
        + SearchStore
        + AnalyticsStore
        + ApiKeyStore
        + SequenceStore
        + AuditStore
        + MailStore
        + BillingStore
        + JourneyStore,
> Store for T
{
}

/// Sends Web Push notifications to browsers (server/src/push.rs).
#[async_trait]
pub trait PushSender: Send + Sync {
    /// Sends `notice` to each device; returns how many push services took it. Devices their push
    /// service no longer knows are dropped.
    async fn send_to(&self, devices: &[PushDevice], notice: &PushNotice) -> usize;
}

/// What a push notification says; the service worker shows it and opens `link` on a click.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushNotice {
    pub title: String,
    pub body: String,
    pub link: String,
}

/// The server's VAPID key pair, base64url without padding: the raw P-256 private scalar and the
/// uncompressed public point.
#[derive(Clone)]
pub struct VapidKeys {
    pub private_key: String,
    pub public_key: String,
}

/// What Cairn asks the payment provider's hosted checkout to charge.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    /// Cairn's checkout: the session's reference and the request's idempotency key.
    pub checkout_id: Uuid,
    pub customer: String,
    /// What the buyer sees, e.g. "Premium plan (monthly)".
    pub description: String,
    /// A stable key for the price (`cairn_plan_premium_v1_month`); the provider's price is made
    /// on first use and found by this key afterwards. `None` prices this checkout alone.
    pub price_key: Option<String>,
    /// The list price of one (each period for a subscription).
    pub unit_amount: i64,
    /// How many: an organization's seats, else 1.
    pub quantity: i64,
    pub currency: String,
    /// `Some` for a subscription.
    pub recurring: Option<crate::domain::billing::Interval>,
    /// A promo code's amount off, and for how many months (`None`: once; `Some(0)`: forever).
    pub discount: Option<(i64, Option<u32>)>,
    /// Cairn's metadata (`cairn_org`, `cairn_user`, `cairn_plan` ...), on the session and on
    /// the subscription it makes.
    pub metadata: Vec<(String, String)>,
    pub success_url: String,
    pub cancel_url: String,
}

/// A payment page at the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct HostedPage {
    pub id: String,
    pub url: String,
}

/// Why the payment provider did not do something.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    pub message: String,
    /// The provider answered with a refusal, so nothing was done. Otherwise (no answer) the
    /// outcome is unknown.
    pub refused: bool,
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The payment provider's API (Stripe, server/src/payments.rs). Without one, Cairn's built-in
/// test-mode checkout takes payments. Every request that creates something carries an
/// idempotency key, so retrying never charges or pays twice.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Whether the provider is in test mode (a test key).
    fn test_mode(&self) -> bool;
    /// Creates the person's customer.
    async fn create_customer(&self, user: UserId, email: &str, name: &str) -> Result<String, String>;
    async fn create_checkout(&self, request: &CheckoutRequest) -> Result<HostedPage, String>;
    /// A Customer Portal session, where the customer manages their subscriptions and cards.
    async fn portal(&self, customer: &str, return_url: &str) -> Result<String, String>;
    /// Creates the person's Connect (Express) account.
    async fn create_connect_account(&self, user: UserId, email: &str) -> Result<String, String>;
    /// A link to the account's onboarding at the provider.
    async fn onboarding_link(&self, account: &str, refresh_url: &str, return_url: &str) -> Result<String, String>;
    /// Transfers a payout to a connected account; returns the transfer id. `attempt` counts the
    /// provider's refusals so far: each refusal needs a fresh idempotency key (the provider
    /// replays a key's first answer), while a retry after no answer must reuse the key.
    async fn transfer(
        &self,
        payout: Uuid,
        attempt: i32,
        account: &str,
        amount: i64,
        currency: &str,
    ) -> Result<String, GatewayError>;
}

/// Sends email: SMTP in production, the database outbox offline.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: OutgoingMail) -> Result<(), String>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Moves the clock forward. Only test clocks can; the system clock answers `false`.
    fn advance(&self, _by: chrono::Duration) -> bool {
        false
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Settings server functions need; read from the environment by the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public base URL used in emailed links, e.g. `http://127.0.0.1:3000`.
    pub public_url: String,
    /// Idle session expiry.
    pub session_idle: chrono::Duration,
    /// Absolute session expiry.
    pub session_absolute: chrono::Duration,
    /// Failed sign-ins allowed per account per hour.
    pub sign_in_limit_per_account: i64,
    /// Failed sign-ins allowed per IP per 15 minutes.
    pub sign_in_limit_per_ip: i64,
    /// Demo/dev mode: shows the mailbox at /dev/mailbox.
    pub dev_mode: bool,
    /// Configured OAuth providers as (id, label), e.g. ("google", "Google").
    pub oauth_providers: Vec<(String, String)>,
    /// Requests per hour a new API key may make.
    pub api_rate_limit: i64,
    /// Webhooks and organizations' AI model endpoints may be loopback and private addresses
    /// (tests, intranets, a local Ollama).
    pub webhook_allow_private: bool,
    /// The instance's AI model, used by organizations that set none of their own.
    pub default_model: Option<ModelEndpoint>,
    /// Started with a test clock (`CAIRN_TEST_CLOCK`): signed-in users may move it forward.
    pub test_clock: bool,
    /// What a million AI tokens cost the platform, in minor units (the business dashboard's AI
    /// cost).
    pub ai_cost_per_million_tokens: i64,
    /// How long an affiliate link's click counts: its cookie's lifetime, and the time after
    /// signing up through it that purchases are still credited to it.
    pub affiliate_window_days: i64,
}

impl Settings {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies() { "__Host-cairn_session" } else { "cairn_session" }
    }
}

/// All ports, held in the Leptos context and in axum state.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub push: Arc<dyn PushSender>,
    pub clock: Arc<dyn Clock>,
    /// Stripe when configured; `None` takes payments with the built-in test-mode checkout.
    pub payments: Option<Arc<dyn PaymentGateway>>,
    pub settings: Arc<Settings>,
    /// Bounds concurrent argon2 hashing (each takes 19 MiB and a core for ~50 ms).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Wakes the background senders (webhooks) when work is queued.
    pub jobs: Arc<tokio::sync::Notify>,
    /// Prompt views and uses not written yet.
    pub prompt_counts: Arc<PromptCountBuffer>,
    /// API keys read within the last second.
    pub api_keys: Arc<ApiKeyCache>,
}
