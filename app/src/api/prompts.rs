//! The prompt library: prompts with immutable versions, labels, search, diff and rendering.
//!
//! The rules live in [`library`], which takes a [`library::Principal`] (a signed-in member, or an
//! API key acting in its organization), so the server functions below and the REST API under
//! `/api/v1` share one implementation and one permission check.

use crate::domain::prompt::PromptInput;
use crate::dto::{DiffView, PromptDetail, PromptPage, RenderOutcome, VersionView};
use crate::error::AppError;
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Filters, search and paging of a prompt list, as the UI and the API send them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ListParams {
    /// Search text: words, "phrases", OR, NOT / -word.
    #[serde(default)]
    pub q: String,
    /// Comma-separated tags.
    #[serde(default)]
    pub tags: String,
    /// With tags: match all of them rather than any.
    #[serde(default)]
    pub all_tags: bool,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub author: Option<Uuid>,
    #[serde(default)]
    pub status: String,
    /// Only prompts directly in this collection.
    #[serde(default)]
    pub collection: Option<Uuid>,
    /// Only the caller's favorites.
    #[serde(default)]
    pub favorites: bool,
    /// Updated on or after this day (YYYY-MM-DD, UTC).
    #[serde(default)]
    pub from: String,
    /// Updated on or before this day (YYYY-MM-DD, UTC).
    #[serde(default)]
    pub to: String,
    /// relevance (default), updated, created or popularity.
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub limit: Option<i64>,
}

#[cfg(feature = "ssr")]
pub mod library {
    use super::ListParams;
    use crate::api::RequestMeta;
    use crate::api::webhooks::rules::{self as webhooks, PromptRef};
    use crate::domain::prompt::{
        ModelSettings, PROTECTED_LABEL, PromptFields, PromptInput, PromptStatus, Visibility, parse_label,
    };
    use crate::domain::search::{Mark, Query, highlight, near_words, typo_distance};
    use crate::domain::template::{VariableProblem, render};
    use crate::domain::webhook::EventType;
    use crate::domain::{Action, Actor, OrgId, Resource, UserId, can};
    use crate::dto::{
        DiffKind, DiffLine, DiffView, LabelView, PromptDetail, PromptPage, PromptSummary, RenderOutcome, VersionView,
    };
    use crate::error::AppError;
    use crate::ports::{
        AuditEntry, PromptCounter, PromptFilter, PromptRecord, PromptSave, PromptSort, PromptVersionRecord, Services,
    };
    use chrono::{NaiveDate, TimeZone, Utc};
    use std::collections::BTreeMap;
    use uuid::Uuid;

    /// Who acts, as whom, in which organization.
    #[derive(Debug, Clone)]
    pub struct Principal {
        pub org: OrgId,
        /// The user recorded as author and in the audit log (an API key's creator for keys).
        pub user: UserId,
        pub actor: Actor,
        pub meta: RequestMeta,
        /// Set when acting through an API key: its id, for the audit log.
        pub api_key: Option<Uuid>,
    }

    impl Principal {
        pub(crate) fn may(&self, action: Action, resource: &Resource) -> bool {
            can(&self.actor, action, resource)
        }

        pub(crate) fn may_on(&self, action: Action, prompt: &PromptRecord) -> bool {
            self.may(action, &Resource::Content { org: self.org, author: prompt.author_id })
        }

        pub(crate) fn require(&self, action: Action, resource: &Resource) -> Result<(), AppError> {
            if self.may(action, resource) { Ok(()) } else { Err(AppError::Forbidden) }
        }

        /// Sees everyone's private prompts (Owner, Admin).
        pub(crate) fn sees_private(&self) -> bool {
            self.may(Action::EditPrompt, &Resource::Content { org: self.org, author: UserId(Uuid::nil()) })
        }

        pub async fn audit(
            &self,
            services: &Services,
            action: &str,
            target: String,
            before: Option<serde_json::Value>,
            after: Option<serde_json::Value>,
        ) -> Result<(), AppError> {
            let mut after = after;
            if let (Some(key), Some(serde_json::Value::Object(map))) = (self.api_key, after.as_mut()) {
                map.insert("api_key".into(), serde_json::json!(key));
            }
            let entry = AuditEntry {
                org_id: Some(self.org),
                actor_id: Some(self.user),
                action: action.to_owned(),
                target,
                before,
                after,
                ip: self.meta.ip.clone(),
                user_agent: self.meta.user_agent.clone(),
                at: services.clock.now(),
            };
            services.store.append_audit(&entry).await?;
            Ok(())
        }
    }

    fn parse_day(raw: &str, field: &str) -> Result<Option<chrono::DateTime<Utc>>, AppError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| AppError::validation(field, "Use a date like 2026-01-31."))?;
        Ok(day.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t)))
    }

    /// Loads a prompt the principal may see; others' private prompts are `NotFound`.
    pub(crate) async fn visible(services: &Services, p: &Principal, id: Uuid) -> Result<PromptRecord, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        seen_by(p, services.store.prompt(p.org, id).await?)
    }

    /// The prompt if `p` may see it; someone else's private prompt is as good as missing.
    fn seen_by(p: &Principal, prompt: Option<PromptRecord>) -> Result<PromptRecord, AppError> {
        let prompt = prompt.ok_or(AppError::NotFound)?;
        if prompt.fields.visibility == Visibility::Private && prompt.author_id != p.user && !p.sees_private() {
            return Err(AppError::NotFound);
        }
        Ok(prompt)
    }

    pub async fn list(services: &Services, p: &Principal, params: &ListParams) -> Result<PromptPage, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let limit = params.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(AppError::validation("limit", "Ask for 1 to 100 prompts at a time."));
        }
        let offset = match params.cursor.trim() {
            "" => 0,
            c => c
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| AppError::validation("cursor", "That cursor is not one we gave out."))?,
        };
        let sort = match params.sort.trim() {
            "" | "relevance" => PromptSort::Relevance,
            "updated" => PromptSort::Updated,
            "created" => PromptSort::Created,
            "popularity" => PromptSort::Popularity,
            _ => return Err(AppError::validation("sort", "Sort by relevance, updated, created or popularity.")),
        };
        let status = match params.status.trim() {
            "" => None,
            s => Some(PromptStatus::parse(s).map_err(|e| AppError::validation("status", e.0))?),
        };
        let tags = crate::domain::prompt::parse_tags(&params.tags).map_err(|e| AppError::validation("tags", e.0))?;
        let mut query = Query::parse(&params.q);
        if params.q.len() > 500 {
            return Err(AppError::validation("q", "Keep the search under 500 characters."));
        }
        if !params.q.trim().is_empty() && query.is_empty() {
            return Err(AppError::validation("q", "Add a word to search for (NOT alone excludes from nothing)."));
        }
        let mut widened = Vec::new();
        for word in query.plain_words() {
            if typo_distance(&word) == 0 || services.store.has_term(p.org, &word).await? {
                continue;
            }
            let candidates = services.store.term_candidates(p.org, &word).await?;
            let near = near_words(&word, candidates.iter().map(String::as_str));
            if !near.is_empty() {
                query.widen(&word, &near);
                widened.push((word, near));
            }
        }
        let filter = PromptFilter {
            query: (!query.is_empty()).then(|| query.clone()),
            all_tags: params.all_tags,
            tags,
            category: Some(params.category.trim().to_owned()).filter(|c| !c.is_empty()),
            author: params.author.map(UserId),
            status,
            updated_from: parse_day(&params.from, "from")?,
            updated_to: parse_day(&params.to, "to")?.map(|d| d + chrono::Duration::days(1)),
            viewer: (!p.sees_private()).then_some(p.user),
            collection: params.collection,
            favorites_of: params.favorites.then_some(p.user),
            me: Some(p.user),
            sort,
            offset,
            limit: limit + 1,
            summaries: true,
        };
        let mut records = services.store.prompts(p.org, &filter).await?;
        let next_cursor = (records.len() as i64 > limit).then(|| (offset + limit).to_string());
        records.truncate(limit as usize);
        let hits = query.hit_words();
        let items = records.into_iter().map(|r| summary(p, r, &hits)).collect();
        Ok(PromptPage { items, next_cursor, widened })
    }

    fn summary(p: &Principal, r: PromptRecord, hits: &[String]) -> PromptSummary {
        let text = if r.fields.description.is_empty() { &r.fields.body } else { &r.fields.description };
        let mut snippet = highlight(text, hits, Some(30));
        if !hits.is_empty() && !snippet.iter().any(|m| m.hit) {
            let body = highlight(&r.fields.body, hits, Some(30));
            if body.iter().any(|m| m.hit) {
                snippet = body;
            }
        }
        PromptSummary {
            can_edit: p.may_on(Action::EditPrompt, &r),
            can_delete: p.may_on(Action::DeletePrompt, &r),
            id: r.id,
            title_marks: highlight(&r.fields.title, hits, None),
            snippet,
            title: r.fields.title,
            description: r.fields.description,
            status: r.fields.status,
            category: r.fields.category,
            tags: r.fields.tags,
            author_name: r.author_name,
            version: r.version,
            view_count: r.view_count,
            use_count: r.use_count,
            favorite_count: r.favorite_count,
            favorite: r.favorite,
            collection_id: r.collection_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    /// The sanitizer's allow-lists, built once (building them is a good part of a small prompt's
    /// rendering).
    static SANITIZER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
        let mut builder = ammonia::Builder::default();
        builder.link_rel(Some("noopener noreferrer nofollow"));
        builder
    });

    /// Markdown to HTML with everything unsafe removed (scripts, event handlers, javascript: links).
    pub fn markdown_html(markdown: &str) -> String {
        use pulldown_cmark::{Options, Parser, html};
        let mut raw = String::with_capacity(markdown.len() + markdown.len() / 4);
        html::push_html(&mut raw, Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH));
        SANITIZER.clean(&raw).to_string()
    }

    pub async fn detail(
        services: &Services,
        p: &Principal,
        id: Uuid,
        count_view: bool,
    ) -> Result<PromptDetail, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let (prompt, labels) = services.store.prompt_seen_by(p.org, id, p.user).await?.unzip();
        let prompt = seen_by(p, prompt)?;
        let labels = labels.unwrap_or_default();
        if count_view {
            services.prompt_counts.count(p.org, id, PromptCounter::View, services.clock.now());
        }
        Ok(PromptDetail {
            favorite: prompt.favorite,
            favorite_count: prompt.favorite_count,
            collection_id: prompt.collection_id,
            can_edit: p.may_on(Action::EditPrompt, &prompt),
            can_delete: p.may_on(Action::DeletePrompt, &prompt),
            can_move_protected: p.may(Action::MoveProtectedLabel, &Resource::Org(p.org)),
            can_duplicate: p.may(Action::CreatePrompt, &Resource::Org(p.org)),
            id: prompt.id,
            html: markdown_html(&prompt.fields.body),
            fields: prompt.fields,
            author_name: prompt.author_name,
            version: prompt.version,
            view_count: prompt.view_count + i64::from(count_view),
            use_count: prompt.use_count,
            created_at: prompt.created_at,
            updated_at: prompt.updated_at,
            labels: labels
                .into_iter()
                .map(|l| LabelView {
                    label: l.label,
                    version: l.version,
                    moved_by: l.moved_by_name,
                    moved_at: l.moved_at,
                })
                .collect(),
        })
    }

    fn parse_input(input: &PromptInput) -> Result<PromptFields, AppError> {
        PromptFields::parse(input).map_err(|(field, message)| AppError::validation(field, message))
    }

    fn change_note(input: &PromptInput, default: &str) -> Result<String, AppError> {
        let note = input.change_note.trim();
        if note.chars().count() > 500 {
            return Err(AppError::validation("change_note", "Keep the change note under 500 characters."));
        }
        Ok(if note.is_empty() { default.to_owned() } else { note.to_owned() })
    }

    pub async fn create(services: &Services, p: &Principal, input: &PromptInput) -> Result<Uuid, AppError> {
        p.require(Action::CreatePrompt, &Resource::Org(p.org))?;
        let fields = parse_input(input)?;
        let note = change_note(input, "First version")?;
        crate::api::billing::rules::require_room(services, p.user, p.org, crate::domain::billing::Quota::Prompts, 1)
            .await?;
        let id = Uuid::now_v7();
        let save = PromptSave {
            org: p.org,
            id,
            author: p.user,
            fields: &fields,
            change_note: &note,
            at: services.clock.now(),
            base_version: None,
        };
        services.store.save_prompt(&save).await?;
        p.audit(
            services,
            "prompt.created",
            format!("prompt:{id}"),
            None,
            Some(serde_json::json!({ "title": fields.title, "version": 1 })),
        )
        .await?;
        let events = webhooks::save_events(true, fields.status);
        webhooks::prompt_event(services, p.org, &events, PromptRef::Saved(id), serde_json::json!({})).await;
        Ok(id)
    }

    /// Saves the next version. `base_version` is the version the editor started from.
    pub async fn update(
        services: &Services,
        p: &Principal,
        id: Uuid,
        input: &PromptInput,
        base_version: Option<i32>,
    ) -> Result<i32, AppError> {
        let prompt = visible(services, p, id).await?;
        if !p.may_on(Action::EditPrompt, &prompt) {
            return Err(AppError::Forbidden);
        }
        let fields = parse_input(input)?;
        let note = change_note(input, "")?;
        let save = PromptSave {
            org: p.org,
            id,
            author: p.user,
            fields: &fields,
            change_note: &note,
            at: services.clock.now(),
            base_version: Some(base_version.unwrap_or(prompt.version)),
        };
        let version = services.store.save_prompt(&save).await?;
        p.audit(
            services,
            "prompt.updated",
            format!("prompt:{id}"),
            Some(serde_json::json!({ "title": prompt.fields.title, "version": prompt.version })),
            Some(serde_json::json!({ "title": fields.title, "version": version })),
        )
        .await?;
        let events = webhooks::save_events(false, fields.status);
        webhooks::prompt_event(services, p.org, &events, PromptRef::Saved(id), serde_json::json!({})).await;
        Ok(version)
    }

    pub async fn delete(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        let prompt = visible(services, p, id).await?;
        if !p.may_on(Action::DeletePrompt, &prompt) {
            return Err(AppError::Forbidden);
        }
        services.store.delete_prompt(p.org, id).await?;
        p.audit(
            services,
            "prompt.deleted",
            format!("prompt:{id}"),
            Some(serde_json::json!({ "title": prompt.fields.title, "visibility": prompt.fields.visibility })),
            None,
        )
        .await?;
        let events = [EventType::PromptDeleted];
        webhooks::prompt_event(services, p.org, &events, PromptRef::Gone(&prompt), serde_json::json!({})).await;
        Ok(())
    }

    fn version_view(v: PromptVersionRecord) -> VersionView {
        VersionView {
            number: v.number,
            title: v.title,
            description: v.description,
            body: v.body,
            variables: v.variables,
            model: v.model,
            author_name: v.author_name,
            change_note: v.change_note,
            created_at: v.created_at,
        }
    }

    pub async fn versions(services: &Services, p: &Principal, id: Uuid) -> Result<Vec<VersionView>, AppError> {
        visible(services, p, id).await?;
        Ok(services.store.prompt_versions(p.org, id).await?.into_iter().map(version_view).collect())
    }

    pub async fn version(services: &Services, p: &Principal, id: Uuid, number: i32) -> Result<VersionView, AppError> {
        visible(services, p, id).await?;
        services.store.prompt_version(p.org, id, number).await?.map(version_view).ok_or(AppError::NotFound)
    }

    /// The version a label points at.
    pub async fn by_label(services: &Services, p: &Principal, id: Uuid, label: &str) -> Result<VersionView, AppError> {
        visible(services, p, id).await?;
        let label = parse_label(label).map_err(|e| AppError::validation("label", e.0))?;
        let labels = services.store.prompt_labels(p.org, id).await?;
        let target = labels.iter().find(|l| l.label == label).ok_or(AppError::NotFound)?;
        version(services, p, id, target.version).await
    }

    /// Saves an old version's content as the newest version.
    pub async fn revert(services: &Services, p: &Principal, id: Uuid, number: i32) -> Result<i32, AppError> {
        let prompt = visible(services, p, id).await?;
        if !p.may_on(Action::EditPrompt, &prompt) {
            return Err(AppError::Forbidden);
        }
        let old = services.store.prompt_version(p.org, id, number).await?.ok_or(AppError::NotFound)?;
        let fields = PromptFields {
            title: old.title,
            description: old.description,
            body: old.body,
            variables: old.variables,
            model: old.model,
            ..prompt.fields.clone()
        };
        let note = format!("Reverted to version {number}");
        let save = PromptSave {
            org: p.org,
            id,
            author: p.user,
            fields: &fields,
            change_note: &note,
            at: services.clock.now(),
            base_version: Some(prompt.version),
        };
        let version = services.store.save_prompt(&save).await?;
        p.audit(
            services,
            "prompt.reverted",
            format!("prompt:{id}"),
            Some(serde_json::json!({ "version": prompt.version })),
            Some(serde_json::json!({ "version": version, "from_version": number })),
        )
        .await?;
        let events = webhooks::save_events(false, fields.status);
        let extra = serde_json::json!({ "reverted_to": number });
        webhooks::prompt_event(services, p.org, &events, PromptRef::Saved(id), extra).await;
        Ok(version)
    }

    /// Points a label at a version. Moving `production` needs Owner or Admin.
    pub async fn set_label(
        services: &Services,
        p: &Principal,
        id: Uuid,
        label: &str,
        version: i32,
    ) -> Result<(), AppError> {
        let prompt = visible(services, p, id).await?;
        if !p.may_on(Action::EditPrompt, &prompt) {
            return Err(AppError::Forbidden);
        }
        let label = parse_label(label).map_err(|e| AppError::validation("label", e.0))?;
        if label == PROTECTED_LABEL && !p.may(Action::MoveProtectedLabel, &Resource::Org(p.org)) {
            return Err(AppError::validation("label", "Only an Owner or Admin may move the production label."));
        }
        let before = services.store.prompt_labels(p.org, id).await?.into_iter().find(|l| l.label == label);
        services.store.set_prompt_label(p.org, id, &label, version, p.user, services.clock.now()).await.map_err(
            |e| match e {
                crate::ports::StoreError::NotFound => {
                    AppError::validation("version", format!("There is no version {version}."))
                }
                other => other.into(),
            },
        )?;
        p.audit(
            services,
            "prompt.label_moved",
            format!("prompt:{id}"),
            before.as_ref().map(|l| serde_json::json!({ "label": l.label, "version": l.version })),
            Some(serde_json::json!({ "label": label, "version": version })),
        )
        .await?;
        let extra = serde_json::json!({
            "label": label,
            "version": version,
            "previous_version": before.map(|l| l.version),
        });
        webhooks::prompt_event(services, p.org, &[EventType::LabelMoved], PromptRef::Saved(id), extra).await;
        Ok(())
    }

    pub async fn remove_label(services: &Services, p: &Principal, id: Uuid, label: &str) -> Result<(), AppError> {
        let prompt = visible(services, p, id).await?;
        if !p.may_on(Action::EditPrompt, &prompt) {
            return Err(AppError::Forbidden);
        }
        let label = parse_label(label).map_err(|e| AppError::validation("label", e.0))?;
        if label == PROTECTED_LABEL && !p.may(Action::MoveProtectedLabel, &Resource::Org(p.org)) {
            return Err(AppError::validation("label", "Only an Owner or Admin may remove the production label."));
        }
        if !services.store.remove_prompt_label(p.org, id, &label).await? {
            return Err(AppError::NotFound);
        }
        p.audit(
            services,
            "prompt.label_removed",
            format!("prompt:{id}"),
            Some(serde_json::json!({ "label": label })),
            None,
        )
        .await?;
        let extra = serde_json::json!({ "label": label, "version": null, "removed": true });
        webhooks::prompt_event(services, p.org, &[EventType::LabelMoved], PromptRef::Saved(id), extra).await;
        Ok(())
    }

    /// Line and word level differences between two versions.
    pub async fn diff(services: &Services, p: &Principal, id: Uuid, from: i32, to: i32) -> Result<DiffView, AppError> {
        visible(services, p, id).await?;
        let old = services.store.prompt_version(p.org, id, from).await?;
        let new = services.store.prompt_version(p.org, id, to).await?;
        let (Some(old), Some(new)) = (old, new) else {
            return Err(AppError::NotFound);
        };
        Ok(diff_texts(&old.body, &new.body, from, to))
    }

    pub fn diff_texts(old: &str, new: &str, from: i32, to: i32) -> DiffView {
        use similar::{ChangeTag, TextDiff};
        let kind = |tag: ChangeTag| match tag {
            ChangeTag::Equal => DiffKind::Same,
            ChangeTag::Insert => DiffKind::Added,
            ChangeTag::Delete => DiffKind::Removed,
        };
        let diff = TextDiff::from_lines(old, new);
        let mut lines = Vec::new();
        for op in diff.ops() {
            for change in diff.iter_inline_changes(op) {
                let parts = change
                    .iter_strings_lossy()
                    .map(|(emphasized, text)| {
                        let k = if emphasized { kind(change.tag()) } else { DiffKind::Same };
                        (k, text.trim_end_matches('\n').to_owned())
                    })
                    .filter(|(_, t)| !t.is_empty())
                    .collect();
                lines.push(DiffLine {
                    kind: kind(change.tag()),
                    old_number: change.old_index().map(|i| i + 1),
                    new_number: change.new_index().map(|i| i + 1),
                    parts,
                });
            }
        }
        let added = lines.iter().filter(|l| l.kind == DiffKind::Added).count();
        let removed = lines.iter().filter(|l| l.kind == DiffKind::Removed).count();
        DiffView { from, to, lines, added, removed }
    }

    /// Renders the current version (or `version`) with `values`; counts a use when it succeeds.
    pub async fn render_prompt(
        services: &Services,
        p: &Principal,
        id: Uuid,
        version: Option<i32>,
        values: &BTreeMap<String, String>,
    ) -> Result<RenderOutcome, AppError> {
        Ok(match render_version(services, p, id, version, values).await?.0 {
            Ok(text) => RenderOutcome::Rendered(text),
            Err(problems) => RenderOutcome::Problems(problems),
        })
    }

    /// Renders the current version (or `version`) with `values`, counting a use when it
    /// succeeds; with the version's model settings (for a run).
    pub async fn render_version(
        services: &Services,
        p: &Principal,
        id: Uuid,
        version: Option<i32>,
        values: &BTreeMap<String, String>,
    ) -> Result<(Result<String, Vec<VariableProblem>>, ModelSettings), AppError> {
        let prompt = visible(services, p, id).await?;
        let (body, defs, model) = match version {
            None => (prompt.fields.body, prompt.fields.variables, prompt.fields.model),
            Some(n) => {
                let v = services.store.prompt_version(p.org, id, n).await?.ok_or(AppError::NotFound)?;
                (v.body, v.variables, v.model)
            }
        };
        let rendered = render(&body, &defs, values);
        if rendered.is_ok() {
            services.prompt_counts.count(p.org, id, PromptCounter::Use, services.clock.now());
        }
        Ok((rendered, model))
    }

    /// Plain marks for text without a search.
    pub fn plain(text: &str) -> Vec<Mark> {
        vec![Mark { text: text.to_owned(), hit: false }]
    }
}

#[cfg(feature = "ssr")]
pub(crate) async fn principal() -> Result<(crate::ports::Services, library::Principal), AppError> {
    use super::{caller, request_meta, services};
    let services = services()?;
    let principal = session_principal(&services, &caller()?, request_meta()).await?;
    Ok((services, principal))
}

/// A signed-in member acting in their active organization (for the server's own routes).
#[cfg(feature = "ssr")]
pub async fn session_principal(
    services: &crate::ports::Services,
    caller: &super::Caller,
    meta: super::RequestMeta,
) -> Result<library::Principal, AppError> {
    let membership = super::active_org(services, caller).await?;
    Ok(library::Principal {
        org: membership.org.id,
        user: caller.user.id,
        actor: super::actor(&caller.user, Some(&membership)),
        meta,
        api_key: None,
    })
}

/// The active organization's prompts, filtered and searched. Needs: ViewPrompts (any member);
/// others' private prompts only for Owners and Admins.
#[server(endpoint = "prompts", input = Json)]
pub async fn list_prompts(params: ListParams) -> Result<PromptPage, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        let page = library::list(&services, &p, &params).await?;
        super::searches::rules::remember(&services, &p, &params).await;
        Ok(page)
    })
    .await
}

/// One prompt with its labels. Needs: ViewPrompts. Counts a view.
#[server(endpoint = "prompt", input = Json)]
pub async fn get_prompt(id: Uuid) -> Result<PromptDetail, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::detail(&services, &p, id, true).await
    })
    .await
}

/// Creates a prompt (version 1). Needs: CreatePrompt (Owner, Admin, Editor).
#[server(endpoint = "create_prompt", input = Json)]
pub async fn create_prompt(input: PromptInput) -> Result<Uuid, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::create(&services, &p, &input).await
    })
    .await
}

/// Saves a new version. Needs: EditPrompt (Owner, Admin; Editors their own). A stale
/// `base_version` is a conflict, so two editors never overwrite each other silently.
#[server(endpoint = "update_prompt", input = Json)]
pub async fn update_prompt(id: Uuid, base_version: i32, input: PromptInput) -> Result<i32, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::update(&services, &p, id, &input, Some(base_version)).await
    })
    .await
}

/// Deletes a prompt with its versions. Needs: DeletePrompt (Owner, Admin; Editors their own).
#[server(endpoint = "delete_prompt", input = Json)]
pub async fn delete_prompt(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::delete(&services, &p, id).await
    })
    .await
}

/// All versions, newest first. Needs: ViewPrompts.
#[server(endpoint = "prompt_versions", input = Json)]
pub async fn prompt_versions(id: Uuid) -> Result<Vec<VersionView>, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::versions(&services, &p, id).await
    })
    .await
}

/// The difference between two versions. Needs: ViewPrompts.
#[server(endpoint = "prompt_diff", input = Json)]
pub async fn prompt_diff(id: Uuid, from: i32, to: i32) -> Result<DiffView, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::diff(&services, &p, id, from, to).await
    })
    .await
}

/// Makes an old version the newest again. Needs: EditPrompt.
#[server(endpoint = "revert_prompt", input = Json)]
pub async fn revert_prompt(id: Uuid, version: i32) -> Result<i32, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::revert(&services, &p, id, version).await
    })
    .await
}

/// Points a deployment label at a version. Needs: EditPrompt; `production` needs MoveProtectedLabel.
#[server(endpoint = "set_prompt_label", input = Json)]
pub async fn set_prompt_label(id: Uuid, label: String, version: i32) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::set_label(&services, &p, id, &label, version).await
    })
    .await
}

/// Removes a deployment label. Needs: EditPrompt; `production` needs MoveProtectedLabel.
#[server(endpoint = "remove_prompt_label", input = Json)]
pub async fn remove_prompt_label(id: Uuid, label: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::remove_label(&services, &p, id, &label).await
    })
    .await
}

/// Renders a version (default: the current one) with values. Needs: ViewPrompts. Counts a use.
#[server(endpoint = "render_prompt", input = Json)]
pub async fn render_prompt(
    id: Uuid,
    version: Option<i32>,
    values: BTreeMap<String, String>,
) -> Result<RenderOutcome, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        library::render_prompt(&services, &p, id, version, &values).await
    })
    .await
}
