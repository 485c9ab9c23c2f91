//! Sequences as people use them: creators build, validate and publish; members subscribe with
//! their delivery preferences, read and answer their conversations, pause, resume and cancel;
//! whoever must decide at a checkpoint does so from the decision queue.
//!
//! Who may do what follows the PowerPrompts matrix through `can` (creating a personal sequence,
//! subscribing, pausing one's own). Who sees a sequence follows its visibility: private (its
//! creator), team (people sharing a team with the creator), organization (every member);
//! premium sequences need the billing entitlement, which until it exists means their creator only.

use crate::domain::schedule::Preferences;
use crate::domain::sequence::{
    AnswerKind, Decider, Sender, SequenceMeta, Step, StepProblem, SubscriptionStatus, Visibility,
};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceSummary {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    pub visibility: Visibility,
    pub published_version: Option<i32>,
    pub draft_changed: bool,
    pub steps: usize,
    pub is_mine: bool,
    /// The caller's running subscription to it.
    pub subscription: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceDetail {
    pub id: Uuid,
    pub meta: SequenceMeta,
    pub steps: Vec<Step>,
    /// What keeps the draft from being published, by step.
    pub problems: Vec<StepProblem>,
    pub published_version: Option<i32>,
    pub draft_changed: bool,
    pub can_edit: bool,
    pub subscription: Option<Uuid>,
    /// A template of the organization: edited like a sequence, never published.
    pub is_template: bool,
    pub updated_at: DateTime<Utc>,
    /// What a premium sequence costs, if its creator sells it.
    pub price: Option<crate::api::billing::PriceView>,
    /// A premium sequence the caller has neither bought nor gets with their plan.
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub sequence_id: Uuid,
    pub sequence_title: String,
    pub version: i32,
    pub status: SubscriptionStatus,
    pub current_step: Option<String>,
    pub completed_steps: u32,
    pub total_steps: u32,
    pub percent: u8,
    /// "answer", "decision" or "event" when the conversation waits for something.
    pub waiting_for: Option<String>,
    pub last_message: Option<String>,
    pub last_at: Option<DateTime<Utc>>,
    pub preferences: Preferences,
    pub outcome: Option<String>,
    pub started_at: DateTime<Utc>,
    /// Messages to the subscriber they have not seen yet.
    pub unread: i64,
    /// Days in a row with an answer (see `Preferences::streak`).
    pub streak: u32,
    /// Assigned as mandatory: the subscriber cannot leave.
    pub mandatory: bool,
    pub due_on: Option<chrono::NaiveDate>,
}

/// How a sequence is going, for its creator: subscribers by state, and per step how many
/// reached it, finished it, are at it now, and left there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceFunnel {
    pub subscribers: usize,
    pub active: usize,
    pub completed: usize,
    pub left: usize,
    pub steps: Vec<StepStats>,
    /// Everyone subscribed, newest first, for the creator to open their conversation.
    pub people: Vec<Subscriber>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    pub subscription_id: Uuid,
    pub name: String,
    pub status: SubscriptionStatus,
    pub current_step: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub id: String,
    pub title: String,
    pub reached: i64,
    pub completed: i64,
    pub here_now: usize,
    pub left_here: usize,
}

/// A template to start a sequence from: built in, or saved in the organization (`org:<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateChoice {
    pub id: String,
    pub title: String,
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: Uuid,
    pub sender: Sender,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub subscription: SubscriptionView,
    pub messages: Vec<MessageView>,
    /// What the current question expects, when it waits for an answer.
    pub asks: Option<AnswerKind>,
    /// No AI model is configured: conversations run on the creator's text alone.
    pub scripted: bool,
    /// The person who took the conversation over from the AI, if anyone.
    pub coach: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub sequence_title: String,
    pub subscriber: String,
    pub question: String,
    pub options: Vec<String>,
    pub decider: Decider,
    pub deadline: DateTime<Utc>,
    /// The last messages of the conversation, for context.
    pub context: Vec<MessageView>,
}

/// What moving a sequence's subscribers to its latest version did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationReport {
    pub version: i32,
    pub moved: usize,
    /// Who stays on their version, and why.
    pub not_moved: Vec<NotMoved>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotMoved {
    pub subscriber: String,
    pub reason: String,
}

/// Delivery preferences as a form sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PreferencesInput {
    pub timezone: String,
    /// `HH:MM`, or empty.
    pub preferred_time: String,
    pub days: Vec<u8>,
    /// `HH:MM` to `HH:MM`, both or neither.
    pub quiet_start: String,
    pub quiet_end: String,
}

impl PreferencesInput {
    pub fn parse(&self) -> Result<Preferences, AppError> {
        let tz =
            crate::domain::schedule::parse_timezone(&self.timezone).map_err(|e| AppError::validation("timezone", e))?;
        let time = |field: &str, raw: &str| -> Result<Option<chrono::NaiveTime>, AppError> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            chrono::NaiveTime::parse_from_str(raw, "%H:%M")
                .map(Some)
                .map_err(|_| AppError::validation(field, "Use a time like 07:30."))
        };
        let preferred_time = time("preferred_time", &self.preferred_time)?;
        let quiet = match (time("quiet_start", &self.quiet_start)?, time("quiet_end", &self.quiet_end)?) {
            (Some(start), Some(end)) if start != end => Some((start, end)),
            (Some(_), Some(_)) => {
                return Err(AppError::validation("quiet_end", "Quiet hours need to end at another time."));
            }
            (None, None) => None,
            (Some(_), None) => return Err(AppError::validation("quiet_end", "Say when quiet hours end.")),
            (None, Some(_)) => return Err(AppError::validation("quiet_start", "Say when quiet hours start.")),
        };
        if self.days.iter().any(|d| *d > 6) {
            return Err(AppError::validation("days", "Weekdays are 0 (Monday) to 6 (Sunday)."));
        }
        let mut days = self.days.clone();
        days.sort_unstable();
        days.dedup();
        if days.len() == 7 {
            days.clear();
        }
        Ok(Preferences { timezone: tz.name().to_owned(), preferred_time, days, quiet, paused_until: None })
    }
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::*;
    use crate::api::billing::rules as billing;
    use crate::api::engine;
    use crate::api::prompts::library::Principal;
    use crate::domain::billing::{Feature, Need, Quota};
    use crate::domain::permission::SequenceFacts;
    use crate::domain::sequence::{Input, Phase, RunError, StepKind, Trigger, WaitUntil, validate};
    use crate::domain::{Action, Resource, UserId};
    use crate::ports::{DecisionRecord, MessageRecord, RunChange, SequenceRecord, Services, SubscriptionRecord};

    /// Steps a draft may hold, and its size.
    const MAX_DRAFT_BYTES: usize = 512 * 1024;

    fn facts(p: &Principal, s: &SequenceRecord) -> SequenceFacts {
        SequenceFacts { org: Some(p.org), creator: Some(s.creator_id), subject: Some(p.user), ..Default::default() }
    }

    fn is_creator(p: &Principal, s: &SequenceRecord) -> bool {
        s.creator_id == p.user
    }

    /// Whether the caller sees the sequence at all.
    async fn sees(services: &Services, p: &Principal, s: &SequenceRecord) -> Result<bool, AppError> {
        if is_creator(p, s) {
            return Ok(true);
        }
        if s.published_version.is_none() {
            return Ok(false);
        }
        Ok(match s.meta.visibility {
            Visibility::Private => false,
            // Premium sequences are shown to the organization; subscribing needs `can_access`.
            Visibility::Organization | Visibility::Public | Visibility::Premium => {
                p.may(Action::AccessFreeSequence, &Resource::Sequence(facts(p, s)))
            }
            Visibility::Team => {
                let mine = p.actor.membership_in(p.org).map(|m| m.teams.clone()).unwrap_or_default();
                let theirs = services.store.membership(p.org, s.creator_id).await?.map(|m| m.teams).unwrap_or_default();
                mine.iter().any(|t| theirs.contains(t))
            }
        })
    }

    pub(crate) async fn visible(services: &Services, p: &Principal, id: Uuid) -> Result<SequenceRecord, AppError> {
        let s = services.store.sequence(p.org, id).await?.ok_or(AppError::NotFound)?;
        if sees(services, p, &s).await? { Ok(s) } else { Err(AppError::NotFound) }
    }

    async fn editable(services: &Services, p: &Principal, id: Uuid) -> Result<SequenceRecord, AppError> {
        let s = visible(services, p, id).await?;
        if is_creator(p, &s) { Ok(s) } else { Err(AppError::Forbidden) }
    }

    async fn running(services: &Services, user: UserId) -> Result<Vec<SubscriptionRecord>, AppError> {
        Ok(services
            .store
            .subscriptions_of(user)
            .await?
            .into_iter()
            .filter(|s| matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Paused))
            .collect())
    }

    pub async fn list(services: &Services, p: &Principal) -> Result<Vec<SequenceSummary>, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let mine = running(services, p.user).await?;
        let mut out = Vec::new();
        for s in services.store.sequences(p.org).await? {
            if s.is_template || !sees(services, p, &s).await? {
                continue;
            }
            out.push(SequenceSummary {
                id: s.id,
                title: s.meta.title.clone(),
                description: s.meta.description.clone(),
                category: s.meta.category.clone(),
                visibility: s.meta.visibility,
                published_version: s.published_version,
                draft_changed: s.draft_changed,
                steps: s.draft.len(),
                is_mine: is_creator(p, &s),
                subscription: mine.iter().find(|m| m.sequence_id == s.id).map(|m| m.id),
                updated_at: s.updated_at,
            });
        }
        Ok(out)
    }

    pub async fn detail(services: &Services, p: &Principal, id: Uuid) -> Result<SequenceDetail, AppError> {
        let s = visible(services, p, id).await?;
        let can_edit = is_creator(p, &s);
        let steps = if can_edit {
            s.draft.clone()
        } else {
            let version = s.published_version.ok_or(AppError::NotFound)?;
            services.store.sequence_version(s.id, version).await?.unwrap_or_default()
        };
        let subscription = running(services, p.user).await?.into_iter().find(|m| m.sequence_id == s.id).map(|m| m.id);
        let price = services.store.price(&crate::api::billing::sequence_product(s.id)).await?.map(|p| {
            crate::api::billing::PriceView { amount: p.amount, recurring: p.recurring, affiliate_bps: p.affiliate_bps }
        });
        let locked = !crate::api::billing::rules::can_access(services, p.user, p.org, &s).await?;
        Ok(SequenceDetail {
            price,
            locked,
            id: s.id,
            problems: if can_edit { validate(&steps) } else { vec![] },
            meta: s.meta,
            steps,
            published_version: s.published_version,
            draft_changed: s.draft_changed,
            can_edit,
            subscription,
            is_template: s.is_template,
            updated_at: s.updated_at,
        })
    }

    /// Per-step completion and drop-off, for the creator and organization analysts.
    pub async fn stats(services: &Services, p: &Principal, id: Uuid) -> Result<SequenceFunnel, AppError> {
        let s = visible(services, p, id).await?;
        if !is_creator(p, &s) && !p.may(Action::OrgAnalytics, &Resource::Org(p.org)) {
            return Err(AppError::Forbidden);
        }
        let steps = match s.published_version {
            Some(v) => services.store.sequence_version(s.id, v).await?.unwrap_or_default(),
            None => s.draft.clone(),
        };
        let subs = services.store.sequence_subscriptions(s.id).await?;
        let counts = services.store.step_event_counts(s.id).await?;
        let count = |kind: &str, step: &str| {
            counts.iter().find(|(k, st, _)| k == kind && st == step).map(|(_, _, n)| *n).unwrap_or(0)
        };
        let at = |step: &str, statuses: &[SubscriptionStatus]| {
            subs.iter().filter(|sub| statuses.contains(&sub.status) && sub.run.step.as_deref() == Some(step)).count()
        };
        let with = |status: SubscriptionStatus| subs.iter().filter(|sub| sub.status == status).count();
        let names: std::collections::HashMap<UserId, String> =
            services.store.members(p.org).await?.into_iter().map(|m| (m.user_id, m.display_name)).collect();
        let people = subs
            .iter()
            .rev()
            .map(|sub| Subscriber {
                subscription_id: sub.id,
                name: names.get(&sub.user_id).cloned().unwrap_or_else(|| "a former member".into()),
                status: sub.status,
                current_step: sub
                    .run
                    .step
                    .as_deref()
                    .and_then(|id| steps.iter().find(|s| s.id == id))
                    .map(|s| s.title.clone()),
            })
            .collect();
        Ok(SequenceFunnel {
            subscribers: subs.len(),
            active: with(SubscriptionStatus::Active) + with(SubscriptionStatus::Paused),
            completed: with(SubscriptionStatus::Completed),
            left: with(SubscriptionStatus::Canceled),
            steps: steps
                .iter()
                .filter(|step| !matches!(step.kind, StepKind::Branch { .. }))
                .map(|step| StepStats {
                    id: step.id.clone(),
                    title: step.title.clone(),
                    reached: count("step_fired", &step.id),
                    completed: count("step_completed", &step.id),
                    here_now: at(&step.id, &[SubscriptionStatus::Active, SubscriptionStatus::Paused]),
                    left_here: at(&step.id, &[SubscriptionStatus::Canceled]),
                })
                .collect(),
            people,
        })
    }

    /// Templates saved in the organization are offered as `org:<id>`.
    const ORG_TEMPLATE: &str = "org:";

    /// A template saved in the caller's organization that they may start from: their own, or one
    /// not private.
    async fn org_template(services: &Services, p: &Principal, name: &str) -> Result<Option<SequenceRecord>, AppError> {
        let Some(id) = name.strip_prefix(ORG_TEMPLATE).and_then(|id| id.parse::<Uuid>().ok()) else {
            return Ok(None);
        };
        let t = services.store.sequence(p.org, id).await?;
        Ok(t.filter(|t| t.is_template && (is_creator(p, t) || t.meta.visibility != Visibility::Private)))
    }

    /// The built-in templates, then the organization's.
    pub async fn templates(services: &Services, p: &Principal) -> Result<Vec<TemplateChoice>, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let mut out: Vec<TemplateChoice> = crate::domain::templates::TEMPLATES
            .iter()
            .map(|t| TemplateChoice { id: t.id.to_owned(), title: t.title.to_owned(), builtin: true })
            .collect();
        for s in services.store.sequences(p.org).await? {
            if s.is_template && (is_creator(p, &s) || s.meta.visibility != Visibility::Private) {
                out.push(TemplateChoice { id: format!("{ORG_TEMPLATE}{}", s.id), title: s.meta.title, builtin: false });
            }
        }
        Ok(out)
    }

    /// Copies the sequence's current draft and details into a new template of the organization
    /// (shared as the sequence is: a private sequence makes a template only its creator sees).
    pub async fn save_as_template(services: &Services, p: &Principal, id: Uuid) -> Result<Uuid, AppError> {
        let s = editable(services, p, id).await?;
        let now = services.clock.now();
        let record = SequenceRecord {
            id: Uuid::now_v7(),
            org_id: p.org,
            creator_id: p.user,
            meta: s.meta.clone(),
            draft: s.draft.clone(),
            draft_changed: true,
            published_version: None,
            is_template: true,
            created_at: now,
            updated_at: now,
        };
        services.store.create_sequence(&record).await?;
        p.audit(
            services,
            "sequence.saved_as_template",
            format!("sequence:{}", s.id),
            None,
            Some(serde_json::json!({ "template": record.id, "title": record.meta.title })),
        )
        .await?;
        Ok(record.id)
    }

    pub async fn create(
        services: &Services,
        p: &Principal,
        title: &str,
        template: Option<&str>,
    ) -> Result<Uuid, AppError> {
        p.require(Action::CreatePersonalSequence, &Resource::Org(p.org))?;
        // In their own workspace a person's sequences count against their plan; an
        // organization's sequences belong to it.
        if billing::personal_org(services, p.user).await? == Some(p.org) {
            let used = billing::usage(services, p.user, p.org, Quota::PersonalSequences).await?;
            billing::require(services, p.user, p.org, Need::Quota { quota: Quota::PersonalSequences, used, adding: 1 })
                .await?;
        }
        let (mut meta, steps) = match template {
            Some(name) if name.starts_with(ORG_TEMPLATE) => {
                let t = org_template(services, p, name)
                    .await?
                    .ok_or_else(|| AppError::validation("template", "There is no such template."))?;
                (SequenceMeta { visibility: Visibility::Private, ..t.meta }, t.draft)
            }
            Some(name) if !name.is_empty() => {
                let t = crate::domain::templates::by_id(name)
                    .ok_or_else(|| AppError::validation("template", "There is no such template."))?;
                (t.meta(), t.steps())
            }
            _ => (SequenceMeta::titled(title), crate::domain::templates::starter()),
        };
        if !title.trim().is_empty() {
            meta.title = title.trim().to_owned();
        }
        if let Some((field, message)) = meta.problems().into_iter().next() {
            return Err(AppError::validation(field, message));
        }
        let now = services.clock.now();
        let record = SequenceRecord {
            id: Uuid::now_v7(),
            org_id: p.org,
            creator_id: p.user,
            meta,
            draft: steps,
            draft_changed: true,
            published_version: None,
            is_template: false,
            created_at: now,
            updated_at: now,
        };
        services.store.create_sequence(&record).await?;
        p.audit(
            services,
            "sequence.created",
            format!("sequence:{}", record.id),
            None,
            Some(serde_json::json!({ "title": record.meta.title })),
        )
        .await?;
        Ok(record.id)
    }

    /// Saves the draft (invalid drafts too: publishing is what needs them valid) and returns its problems.
    pub async fn save(
        services: &Services,
        p: &Principal,
        id: Uuid,
        meta: &SequenceMeta,
        steps: &[Step],
    ) -> Result<Vec<StepProblem>, AppError> {
        editable(services, p, id).await?;
        if let Some((field, message)) = meta.problems().into_iter().next() {
            return Err(AppError::validation(field, message));
        }
        if steps.len() > crate::domain::sequence::MAX_STEPS
            || serde_json::to_vec(steps).map(|v| v.len()).unwrap_or(0) > MAX_DRAFT_BYTES
        {
            return Err(AppError::validation("steps", "That is more than a sequence can hold."));
        }
        let mut meta = meta.clone();
        meta.title = meta.title.trim().to_owned();
        services.store.save_draft(p.org, id, &meta, steps, services.clock.now()).await?;
        Ok(validate(steps))
    }

    pub async fn publish(services: &Services, p: &Principal, id: Uuid) -> Result<i32, AppError> {
        let s = editable(services, p, id).await?;
        if s.is_template {
            return Err(AppError::validation("steps", "A template is not published: start a new sequence from it."));
        }
        if let Some(problem) = validate(&s.draft).into_iter().next() {
            let field = problem.step.map(|s| format!("step:{s}")).unwrap_or_else(|| "steps".into());
            return Err(AppError::validation(&field, problem.message));
        }
        if !s.draft_changed && s.published_version.is_some() {
            return Err(AppError::validation("steps", "Nothing has changed since the last version."));
        }
        let resolved = resolve_prompts(services, p, &s.draft).await?;
        // A prompt's own variables must be provided too.
        if let Some(problem) = resolved.as_deref().and_then(|steps| validate(steps).into_iter().next()) {
            let field = problem.step.map(|s| format!("step:{s}")).unwrap_or_else(|| "steps".into());
            return Err(AppError::validation(&field, format!("With its prompts: {}", problem.message)));
        }
        let version =
            services.store.publish_sequence(p.org, id, resolved.as_deref(), p.user, services.clock.now()).await?;
        p.audit(
            services,
            "sequence.published",
            format!("sequence:{id}"),
            None,
            Some(serde_json::json!({ "version": version })),
        )
        .await?;
        Ok(version)
    }

    /// The draft with every Vault prompt reference replaced by the referenced version's text
    /// (`None` when it has none), so a published version never changes when prompts do. A
    /// reference the creator cannot resolve refuses publishing, on its step.
    async fn resolve_prompts(
        services: &Services,
        p: &Principal,
        draft: &[Step],
    ) -> Result<Option<Vec<Step>>, AppError> {
        use crate::domain::sequence::{PromptAt, prompt_refs, texts_mut};
        let mut steps = draft.to_vec();
        let mut changed = false;
        for step in &mut steps {
            let step_id = step.id.clone();
            for text in texts_mut(step) {
                for (raw, id, at) in prompt_refs(text) {
                    let refuse = |why: &str| AppError::validation(&format!("step:{step_id}"), format!("{raw}: {why}"));
                    let prompt_id = id.parse::<Uuid>().map_err(|_| refuse("that is not a prompt id."))?;
                    let prompt = services.store.prompt(p.org, prompt_id).await?;
                    let visible = prompt.is_some_and(|pr| {
                        pr.fields.visibility != crate::domain::prompt::Visibility::Private || pr.author_id == p.user
                    });
                    if !visible {
                        return Err(refuse("no prompt of yours or your organization's has that id."));
                    }
                    let number = match &at {
                        PromptAt::Version(n) => *n,
                        PromptAt::Label(label) => services
                            .store
                            .prompt_labels(p.org, prompt_id)
                            .await?
                            .into_iter()
                            .find(|l| l.label == *label)
                            .map(|l| l.version)
                            .ok_or_else(|| refuse(&format!("the prompt has no “{label}” label.")))?,
                    };
                    let version = services
                        .store
                        .prompt_version(p.org, prompt_id, number)
                        .await?
                        .ok_or_else(|| refuse(&format!("the prompt has no version {number}.")))?;
                    *text = text.replace(&raw, &version.body);
                    changed = true;
                }
            }
        }
        Ok(changed.then_some(steps))
    }

    fn first_name(name: &str) -> String {
        name.split_whitespace().next().unwrap_or(name).to_owned()
    }

    /// Starts `user` on `version` of `s` (steps `steps`): the run knows their name and the
    /// sequence's title, `amend` sets what the caller adds (an assignment), the first change is
    /// stored with the subscription, and Cairn's `subscribed` event is passed on.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start_subscription(
        services: &Services,
        org: crate::domain::OrgId,
        s: &SequenceRecord,
        version: i32,
        steps: &[Step],
        user: &crate::ports::UserRecord,
        preferences: crate::domain::schedule::Preferences,
        amend: impl FnOnce(&mut SubscriptionRecord),
    ) -> Result<SubscriptionRecord, AppError> {
        let now = services.clock.now();
        let answers = std::collections::BTreeMap::from([
            ("name".to_owned(), user.display_name.clone()),
            ("first_name".to_owned(), first_name(&user.display_name)),
            ("goal".to_owned(), s.meta.title.clone()),
        ]);
        let mut sub = SubscriptionRecord::new(org, s.id, version, user.id, preferences, answers, now);
        amend(&mut sub);
        let first = engine::start(&sub, steps, now).map_err(|e| AppError::validation("sequence", e.to_string()))?;
        services.store.create_subscription(&sub, &first).await?;
        services.jobs.notify_waiters();
        emit_for(services, &sub, "subscribed").await?;
        Ok(sub)
    }

    /// A message someone typed into a conversation, trimmed; refused by field `text` when empty
    /// or too long.
    pub(crate) fn reply_text(text: &str) -> Result<&str, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AppError::validation("text", "Write something before sending."));
        }
        if text.chars().count() > 4000 {
            return Err(AppError::validation("text", "At most 4,000 characters."));
        }
        Ok(text)
    }

    pub async fn subscribe(
        services: &Services,
        p: &Principal,
        id: Uuid,
        prefs: &PreferencesInput,
    ) -> Result<Uuid, AppError> {
        let s = visible(services, p, id).await?;
        p.require(Action::Subscribe, &Resource::Sequence(facts(p, &s)))?;
        let version = s
            .published_version
            .ok_or_else(|| AppError::validation("sequence", "This sequence is not published yet."))?;
        let preferences = prefs.parse()?;
        let mine = running(services, p.user).await?;
        if mine.iter().any(|m| m.sequence_id == id) {
            return Err(AppError::Conflict { message: "You are already subscribed to this sequence.".into() });
        }
        if !billing::can_access(services, p.user, p.org, &s).await? {
            return Err(AppError::PlanLimit {
                message: "This is a premium sequence: buy it, or upgrade to a plan with premium sequences.".into(),
                upgrade: billing::require(services, p.user, p.org, Need::Feature(Feature::PremiumSequences))
                    .await
                    .err()
                    .and_then(|e| e.upgrade().cloned()),
            });
        }
        let quota = Need::Quota { quota: Quota::ActiveSequences, used: mine.len() as i64, adding: 1 };
        billing::require(services, p.user, p.org, quota).await?;
        let steps = services.store.sequence_version(id, version).await?.ok_or(AppError::NotFound)?;
        let user = services.store.user_by_id(p.user).await?.ok_or(AppError::Unauthenticated)?;
        let sub = start_subscription(services, p.org, &s, version, &steps, &user, preferences, |_| {}).await?;
        Ok(sub.id)
    }

    /// A subscription the caller may read and answer: their own.
    async fn own(services: &Services, p: &Principal, id: Uuid) -> Result<SubscriptionRecord, AppError> {
        let sub = services.store.subscription(id).await?.ok_or(AppError::NotFound)?;
        if sub.user_id != p.user {
            return Err(AppError::NotFound);
        }
        Ok(sub)
    }

    async fn steps_of(services: &Services, sub: &SubscriptionRecord) -> Result<Vec<Step>, AppError> {
        services.store.sequence_version(sub.sequence_id, sub.version).await?.ok_or(AppError::NotFound)
    }

    pub(crate) fn message_view(m: MessageRecord) -> MessageView {
        MessageView { id: m.id, sender: m.sender, body: m.body, at: m.created_at }
    }

    pub(crate) fn subscription_view(
        sub: &SubscriptionRecord,
        title: &str,
        steps: &[Step],
        messages: &[MessageRecord],
        unread: i64,
        now: DateTime<Utc>,
    ) -> SubscriptionView {
        let last = messages.last();
        let answered = messages.iter().filter(|m| m.sender == Sender::Subscriber).map(|m| m.created_at);
        let current = sub.run.step.as_deref().and_then(|id| steps.iter().find(|s| s.id == id));
        let total = steps.len().max(1) as u32;
        let completed = sub.run.completed.min(total);
        let percent =
            if sub.status == SubscriptionStatus::Completed { 100 } else { (completed * 100 / total).min(99) as u8 };
        let waiting_for = match sub.run.phase {
            Phase::AwaitingAnswer | Phase::InConversation => Some("answer".to_owned()),
            Phase::AwaitingDecision => Some("decision".to_owned()),
            Phase::Waiting
                if matches!(current.map(|s| &s.kind), Some(StepKind::Wait { until: WaitUntil::Event { .. }, .. })) =>
            {
                Some("event".to_owned())
            }
            Phase::Scheduled if matches!(current.map(|s| &s.trigger), Some(Trigger::Event { .. })) => {
                Some("event".to_owned())
            }
            _ => None,
        };
        SubscriptionView {
            id: sub.id,
            sequence_id: sub.sequence_id,
            sequence_title: title.to_owned(),
            version: sub.version,
            status: sub.status,
            current_step: current.map(|s| s.title.clone()),
            completed_steps: completed,
            total_steps: total,
            percent,
            waiting_for,
            last_message: last.map(|m| m.body.chars().take(140).collect()),
            last_at: last.map(|m| m.created_at),
            preferences: sub.preferences.clone(),
            outcome: sub.run.outcome.clone(),
            started_at: sub.created_at,
            unread,
            streak: sub.preferences.streak(answered, now),
            mandatory: sub.mandatory,
            due_on: sub.due_on,
        }
    }

    async fn title(services: &Services, sub: &SubscriptionRecord) -> Result<String, AppError> {
        Ok(services.store.sequence(sub.org_id, sub.sequence_id).await?.map(|s| s.meta.title).unwrap_or_default())
    }

    pub async fn unread(services: &Services, p: &Principal) -> Result<i64, AppError> {
        Ok(services.store.unread_counts(p.user).await?.into_iter().map(|(_, n)| n).sum())
    }

    pub async fn inbox(services: &Services, p: &Principal) -> Result<Vec<SubscriptionView>, AppError> {
        let mut out = Vec::new();
        let unread: std::collections::HashMap<Uuid, i64> =
            services.store.unread_counts(p.user).await?.into_iter().collect();
        let now = services.clock.now();
        for sub in services.store.subscriptions_of(p.user).await? {
            if sub.status == SubscriptionStatus::Canceled {
                continue;
            }
            let steps = steps_of(services, &sub).await?;
            let messages = services.store.messages(sub.id).await?;
            let unread = unread.get(&sub.id).copied().unwrap_or(0);
            out.push(subscription_view(&sub, &title(services, &sub).await?, &steps, &messages, unread, now));
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.last_at));
        Ok(out)
    }

    pub async fn conversation(services: &Services, p: &Principal, id: Uuid) -> Result<ConversationView, AppError> {
        let sub = own(services, p, id).await?;
        let steps = steps_of(services, &sub).await?;
        let messages = services.store.messages(sub.id).await?;
        let now = services.clock.now();
        // Shown now: read.
        services.store.mark_read(sub.id, now).await?;
        let asks = match (sub.run.phase, sub.run.step.as_deref().and_then(|id| steps.iter().find(|s| s.id == id))) {
            (Phase::AwaitingAnswer, Some(Step { kind: StepKind::Question { answer, .. }, .. })) => Some(answer.clone()),
            (Phase::InConversation, _) => Some(AnswerKind::Text),
            _ => None,
        };
        let scripted =
            services.store.org_model(sub.org_id).await?.is_none() && services.settings.default_model.is_none();
        Ok(ConversationView {
            subscription: subscription_view(&sub, &title(services, &sub).await?, &steps, &messages, 0, now),
            messages: messages.into_iter().map(message_view).collect(),
            asks,
            scripted,
            coach: match sub.taken_over_by {
                Some(user) => services.store.user_by_id(user).await?.map(|u| u.display_name),
                None => None,
            },
        })
    }

    /// Applies `input` to a running subscription (and `amend`s the change: the reply, the
    /// decision), reading it again when another change got there first. Refusals name `field`.
    async fn apply(
        services: &Services,
        id: Uuid,
        field: &'static str,
        input: Input,
        amend: impl Fn(&SubscriptionRecord, &mut RunChange),
    ) -> Result<(), AppError> {
        let (sub, kinds) = apply_quietly(services, id, field, input, amend).await?;
        for kind in kinds {
            emit_for(services, &sub, kind).await?;
        }
        Ok(())
    }

    /// Like `apply`, without announcing what happened to the subscriber's other sequences; returns
    /// the subscription as read and the kinds of the change's analytics events.
    async fn apply_quietly(
        services: &Services,
        id: Uuid,
        field: &'static str,
        input: Input,
        amend: impl Fn(&SubscriptionRecord, &mut RunChange),
    ) -> Result<(SubscriptionRecord, Vec<&'static str>), AppError> {
        for _ in 0..5 {
            let sub = services.store.subscription(id).await?.ok_or(AppError::NotFound)?;
            if sub.status != SubscriptionStatus::Active {
                return Err(AppError::validation(field, "This conversation is not running (paused or ended)."));
            }
            let steps = steps_of(services, &sub).await?;
            let mut change = engine::step(&sub, &steps, input.clone(), services.clock.now()).map_err(|e| match e {
                RunError::BadAnswer(message) => AppError::validation(field, message),
                RunError::Unexpected => AppError::validation(field, "Nothing is waiting for that right now."),
                other => AppError::internal(other.to_string()),
            })?;
            amend(&sub, &mut change);
            if services.store.apply_run(&change).await? {
                services.jobs.notify_waiters();
                return Ok((sub, change.events.iter().map(|(kind, ..)| *kind).collect()));
            }
        }
        Err(AppError::Conflict { message: "The conversation kept changing; please try again.".into() })
    }

    pub async fn reply(services: &Services, p: &Principal, id: Uuid, text: &str) -> Result<(), AppError> {
        own(services, p, id).await?;
        let text = reply_text(text)?;
        let (now, message) = (services.clock.now(), Uuid::now_v7());
        apply(services, id, "text", Input::Answer(text.to_owned()), |sub, change| {
            change.messages.insert(0, engine::reply_message(sub, message, p.user, text, now));
        })
        .await
    }

    /// Whether the caller decides this checkpoint: the subscriber for their own, the sequence's
    /// creator for creator decisions, the subscription's coach (or, with none, the creator) for
    /// coach decisions.
    fn decides(p: &Principal, d: &DecisionRecord, sub: &SubscriptionRecord, seq: &SequenceRecord) -> bool {
        match d.decider {
            Decider::Subscriber => sub.user_id == p.user,
            Decider::Creator => seq.creator_id == p.user,
            Decider::Coach => sub.coach_id.unwrap_or(seq.creator_id) == p.user,
        }
    }

    /// Decisions waiting for the caller, with the end of each conversation for context.
    pub async fn queue(services: &Services, p: &Principal) -> Result<Vec<DecisionView>, AppError> {
        let mut out = Vec::new();
        for d in services.store.open_decisions(p.org).await? {
            let Some(sub) = services.store.subscription(d.subscription_id).await? else { continue };
            let Some(seq) = services.store.sequence(sub.org_id, sub.sequence_id).await? else { continue };
            if !decides(p, &d, &sub, &seq) {
                continue;
            }
            let subscriber = services.store.user_by_id(sub.user_id).await?.map(|u| u.display_name).unwrap_or_default();
            let messages = services.store.messages(sub.id).await?;
            let skip = messages.len().saturating_sub(5);
            out.push(DecisionView {
                id: d.id,
                subscription_id: sub.id,
                sequence_title: seq.meta.title,
                subscriber,
                question: d.question,
                options: d.options,
                decider: d.decider,
                deadline: d.deadline,
                context: messages.into_iter().skip(skip).map(message_view).collect(),
            });
        }
        Ok(out)
    }

    pub async fn decide(
        services: &Services,
        p: &Principal,
        decision: Uuid,
        choice: &str,
        note: &str,
    ) -> Result<(), AppError> {
        let d = services.store.open_decisions(p.org).await?.into_iter().find(|d| d.id == decision);
        let d = d.ok_or(AppError::NotFound)?;
        let sub = services.store.subscription(d.subscription_id).await?.ok_or(AppError::NotFound)?;
        let seq = services.store.sequence(sub.org_id, sub.sequence_id).await?.ok_or(AppError::NotFound)?;
        if !decides(p, &d, &sub, &seq) {
            return Err(AppError::NotFound);
        }
        let choice = choice.trim();
        if !d.options.iter().any(|o| o.eq_ignore_ascii_case(choice)) {
            return Err(AppError::validation("choice", "Choose one of the options."));
        }
        let note = note.trim();
        let note = (!note.is_empty()).then(|| note.chars().take(2000).collect::<String>());
        apply(services, sub.id, "choice", Input::Decision(choice.to_owned()), |_, change| {
            change.decided = Some((choice.to_owned(), note.clone(), Some(p.user)));
        })
        .await?;
        let after = Some(serde_json::json!({ "choice": choice }));
        p.audit(services, "sequence.decided", format!("decision:{decision}"), None, after).await
    }

    /// Pause (optionally until a moment), resume or cancel one's own subscription.
    pub async fn set_status(
        services: &Services,
        p: &Principal,
        id: Uuid,
        status: SubscriptionStatus,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), AppError> {
        let sub = own(services, p, id).await?;
        let s = services.store.sequence(sub.org_id, sub.sequence_id).await?.ok_or(AppError::NotFound)?;
        p.require(
            Action::PauseResume,
            &Resource::Sequence(SequenceFacts {
                org: Some(sub.org_id),
                creator: Some(s.creator_id),
                subject: Some(sub.user_id),
                ..Default::default()
            }),
        )?;
        let now = services.clock.now();
        if matches!(sub.status, SubscriptionStatus::Completed | SubscriptionStatus::Canceled) {
            return Err(AppError::validation("status", "This subscription has ended."));
        }
        let mut preferences = sub.preferences.clone();
        let (status, event) = match status {
            SubscriptionStatus::Paused => match until {
                Some(until) if until <= now => {
                    return Err(AppError::validation("until", "Choose a moment in the future."));
                }
                // Paused until a moment: nothing is delivered before it, then it goes on by itself.
                Some(until) => {
                    preferences.paused_until = Some(until);
                    (SubscriptionStatus::Active, "paused")
                }
                None => (SubscriptionStatus::Paused, "paused"),
            },
            SubscriptionStatus::Active => {
                preferences.paused_until = None;
                (SubscriptionStatus::Active, "resumed")
            }
            SubscriptionStatus::Canceled if sub.mandatory => {
                return Err(AppError::validation(
                    "status",
                    "This sequence was assigned to you as mandatory: pause it if you need to, but it cannot be left.",
                ));
            }
            SubscriptionStatus::Canceled => (SubscriptionStatus::Canceled, "abandoned"),
            SubscriptionStatus::Completed => {
                return Err(AppError::validation("status", "A subscription completes by itself."));
            }
        };
        services.store.set_subscription_state(sub.id, status, &preferences, event, now).await?;
        services.jobs.notify_waiters();
        Ok(())
    }

    pub async fn update_preferences(
        services: &Services,
        p: &Principal,
        id: Uuid,
        input: &PreferencesInput,
    ) -> Result<(), AppError> {
        let sub = own(services, p, id).await?;
        p.require(Action::CustomizeSchedule, &Resource::Org(sub.org_id))?;
        let mut preferences = input.parse()?;
        preferences.paused_until = sub.preferences.paused_until;
        services
            .store
            .set_subscription_state(sub.id, sub.status, &preferences, "preferences", services.clock.now())
            .await?;
        Ok(())
    }

    /// Cairn's own events, named after what happened in one of the subscriber's sequences.
    pub const OWN_EVENTS: [(&str, &str); 3] = [
        ("subscribed", "cairn.subscribed"),
        ("step_completed", "cairn.step_completed"),
        ("completed", "cairn.sequence_completed"),
    ];

    /// Tells the subscriber's other sequences what happened in `sub` (a change's event `kind`):
    /// those waiting for Cairn's event of that name move on. One level only: what the moved
    /// sequences do in turn is not announced again, so two sequences waiting for each other
    /// cannot loop.
    pub async fn emit_for(services: &Services, sub: &SubscriptionRecord, kind: &str) -> Result<usize, AppError> {
        let Some((_, name)) = OWN_EVENTS.iter().find(|(k, _)| *k == kind) else { return Ok(0) };
        emit(services, sub.org_id, sub.user_id, name, Some(sub.id)).await
    }

    /// Moves the user's running subscriptions in `org` that wait for the event `name` (as a trigger
    /// or an event wait), except `except`; returns how many moved.
    pub(crate) async fn emit(
        services: &Services,
        org: crate::domain::OrgId,
        user: UserId,
        name: &str,
        except: Option<Uuid>,
    ) -> Result<usize, AppError> {
        if !services.store.event_in_use(org, name).await? {
            return Ok(0);
        }
        let mut moved = 0;
        for sub in running(services, user).await? {
            if sub.org_id != org || sub.status != SubscriptionStatus::Active || Some(sub.id) == except {
                continue;
            }
            let steps = steps_of(services, &sub).await?;
            let waits = sub.run.step.as_deref().and_then(|id| steps.iter().find(|s| s.id == id)).is_some_and(|step| {
                match (sub.run.phase, &step.trigger, &step.kind) {
                    (Phase::Scheduled, Trigger::Event { name: n }, _) => n == name,
                    (Phase::Waiting, _, StepKind::Wait { until: WaitUntil::Event { name: n }, .. }) => n == name,
                    _ => false,
                }
            });
            let event = Input::Event(name.to_owned());
            if waits && apply_quietly(services, sub.id, "event", event, |_, _| {}).await.is_ok() {
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// A named event for one member (`POST /api/v1/events`): every running subscription of theirs
    /// in the organization that waits for it moves on. Returns how many did. Needs a write key.
    pub async fn record_event(services: &Services, p: &Principal, email: &str, name: &str) -> Result<usize, AppError> {
        let writer = p.actor.membership_in(p.org).is_some_and(|m| m.role != crate::domain::OrgRole::Viewer);
        if !writer {
            return Err(AppError::Forbidden);
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::validation("event", "Name the event (at most 100 characters)."));
        }
        if name.starts_with("cairn.") {
            return Err(AppError::validation("event", "Names starting with “cairn.” are Cairn's own events."));
        }
        let email = crate::domain::Email::parse(email).map_err(|e| AppError::validation("user", e.0))?;
        let user = services.store.user_by_email(&email).await?;
        let member = match &user {
            Some(u) => services.store.membership(p.org, u.id).await?.is_some(),
            None => false,
        };
        let Some(user) = user.filter(|_| member) else {
            return Err(AppError::validation("user", "No member of this organization has that email address."));
        };
        let moved = emit(services, p.org, user.id, name, None).await?;
        p.audit(
            services,
            "sequence.event",
            format!("user:{}", user.id.0),
            None,
            Some(serde_json::json!({ "event": name, "moved": moved })),
        )
        .await?;
        Ok(moved)
    }

    /// Why a subscription cannot move from `old` steps to `new` ones: its current step must be
    /// in the new version (by id) and be the same kind of step there.
    fn unmovable(sub: &SubscriptionRecord, old: &[Step], new: &[Step]) -> Option<String> {
        let Some(current) = sub.run.step.as_deref() else { return Some("Its run has ended.".into()) };
        let title = old.iter().find(|s| s.id == current).map_or(current, |s| s.title.as_str());
        let Some(there) = new.iter().find(|s| s.id == current) else {
            return Some(format!("It is at “{title}”, which the new version does not have."));
        };
        let here = old.iter().find(|s| s.id == current).map(|s| std::mem::discriminant(&s.kind));
        if here != Some(std::mem::discriminant(&there.kind)) {
            return Some(format!("It is at “{title}”, which is another kind of step in the new version."));
        }
        None
    }

    /// "Move everyone to the new version": each running subscription on an older version moves
    /// to the latest one at the same step (by step id), keeping its answers and schedule.
    pub async fn migrate(services: &Services, p: &Principal, id: Uuid) -> Result<MigrationReport, AppError> {
        let s = editable(services, p, id).await?;
        let version =
            s.published_version.ok_or_else(|| AppError::validation("sequence", "Publish a version first."))?;
        let latest = services.store.sequence_version(id, version).await?.ok_or(AppError::NotFound)?;
        let mut report = MigrationReport { version, moved: 0, not_moved: vec![] };
        let now = services.clock.now();
        for sub in services.store.running_subscriptions(id).await? {
            if sub.version == version {
                continue;
            }
            let old = steps_of(services, &sub).await?;
            let reason = match unmovable(&sub, &old, &latest) {
                None if services.store.move_subscription(sub.id, sub.revision, version, now).await? => {
                    report.moved += 1;
                    continue;
                }
                None => "It changed while moving; try again.".to_owned(),
                Some(reason) => reason,
            };
            let subscriber = services.store.user_by_id(sub.user_id).await?.map(|u| u.display_name).unwrap_or_default();
            report.not_moved.push(NotMoved { subscriber, reason });
        }
        p.audit(
            services,
            "sequence.migrated",
            format!("sequence:{id}"),
            None,
            Some(serde_json::json!({ "version": version, "moved": report.moved, "not_moved": report.not_moved.len() })),
        )
        .await?;
        services.jobs.notify_waiters();
        Ok(report)
    }
}

#[server(endpoint = "sequences", input = Json)]
pub async fn sequences() -> Result<Vec<SequenceSummary>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::list(&services, &p).await
    })
    .await
}

#[server(endpoint = "sequence", input = Json)]
pub async fn sequence(id: Uuid) -> Result<SequenceDetail, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::detail(&services, &p, id).await
    })
    .await
}

#[server(endpoint = "create_sequence", input = Json)]
pub async fn create_sequence(title: String, template: Option<String>) -> Result<Uuid, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::create(&services, &p, &title, template.as_deref()).await
    })
    .await
}

#[server(endpoint = "save_sequence", input = Json)]
pub async fn save_sequence(id: Uuid, meta: SequenceMeta, steps: Vec<Step>) -> Result<Vec<StepProblem>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::save(&services, &p, id, &meta, &steps).await
    })
    .await
}

#[server(endpoint = "publish_sequence", input = Json)]
pub async fn publish_sequence(id: Uuid) -> Result<i32, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::publish(&services, &p, id).await
    })
    .await
}

#[server(endpoint = "migrate_subscribers", input = Json)]
pub async fn migrate_subscribers(id: Uuid) -> Result<MigrationReport, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::migrate(&services, &p, id).await
    })
    .await
}

#[server(endpoint = "subscribe", input = Json)]
pub async fn subscribe(id: Uuid, preferences: PreferencesInput) -> Result<Uuid, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::subscribe(&services, &p, id, &preferences).await
    })
    .await
}

/// Per-step completion and drop-off of a sequence, for its creator.
#[server(endpoint = "sequence_stats", input = Json)]
pub async fn sequence_stats(id: Uuid) -> Result<SequenceFunnel, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::stats(&services, &p, id).await
    })
    .await
}

/// The templates a new sequence may start from.
#[server(endpoint = "sequence_templates", input = Json)]
pub async fn sequence_templates() -> Result<Vec<TemplateChoice>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::templates(&services, &p).await
    })
    .await
}

/// Saves the sequence's draft as a template of the organization; returns the template's id.
#[server(endpoint = "save_as_template", input = Json)]
pub async fn save_as_template(id: Uuid) -> Result<Uuid, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::save_as_template(&services, &p, id).await
    })
    .await
}

#[server(endpoint = "inbox", input = Json)]
pub async fn inbox() -> Result<Vec<SubscriptionView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::inbox(&services, &p).await
    })
    .await
}

/// How many messages in the caller's conversations they have not seen (the inbox badge).
#[server(endpoint = "unread_count", input = Json)]
pub async fn unread_count() -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::unread(&services, &p).await
    })
    .await
}

#[server(endpoint = "conversation", input = Json)]
pub async fn conversation(id: Uuid) -> Result<ConversationView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::conversation(&services, &p, id).await
    })
    .await
}

#[server(endpoint = "reply", input = Json)]
pub async fn reply(id: Uuid, text: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::reply(&services, &p, id, &text).await
    })
    .await
}

#[server(endpoint = "decision_queue", input = Json)]
pub async fn decision_queue() -> Result<Vec<DecisionView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::queue(&services, &p).await
    })
    .await
}

#[server(endpoint = "decide", input = Json)]
pub async fn decide(id: Uuid, choice: String, note: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::decide(&services, &p, id, &choice, &note).await
    })
    .await
}

#[server(endpoint = "set_subscription_status", input = Json)]
pub async fn set_subscription_status(
    id: Uuid,
    status: SubscriptionStatus,
    until: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::set_status(&services, &p, id, status, until).await
    })
    .await
}

#[server(endpoint = "subscription_preferences", input = Json)]
pub async fn subscription_preferences(id: Uuid, preferences: PreferencesInput) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::update_preferences(&services, &p, id, &preferences).await
    })
    .await
}
