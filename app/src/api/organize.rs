//! Organizing the prompt library: nested collections, moving prompts (one, many, by drag and
//! drop), bulk tag/untag/move/archive, favorites, duplicates, tags and custom categories.
//!
//! Like `prompts`, the rules live in [`rules`] so the REST API shares them.

use crate::dto::{BulkOutcome, CategoryView, CollectionView, TagCount};
use crate::error::AppError;
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use uuid::Uuid;

/// A bulk change of selected prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Add the tag in `value`.
    Tag,
    /// Remove the tag in `value`.
    Untag,
    /// Move into the collection whose id is `value` (empty: out of any collection).
    Move,
    Archive,
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::BulkAction;
    use crate::api::prompts::library::{Principal, visible};
    use crate::api::webhooks::rules::{self as webhooks, PromptRef};
    use crate::domain::prompt::{
        CATEGORIES, CATEGORY_STYLES, CategoryStyle, PromptFields, PromptStatus, parse_collection_name, parse_tags,
    };
    use crate::domain::webhook::EventType;
    use crate::domain::{Action, Resource};
    use crate::dto::{BulkOutcome, CategoryView, CollectionView, TagCount};
    use crate::error::AppError;
    use crate::ports::{CategoryRecord, CollectionRecord, PromptRecord, PromptSave, Services};
    use std::collections::HashMap;
    use uuid::Uuid;

    /// Each collection with its path, depth first in name order (the order a tree shows them).
    pub fn tree(records: Vec<CollectionRecord>) -> Vec<CollectionView> {
        let mut children: HashMap<Option<Uuid>, Vec<&CollectionRecord>> = HashMap::new();
        for r in &records {
            children.entry(r.parent_id).or_default().push(r);
        }
        let mut out = Vec::with_capacity(records.len());
        let mut stack: Vec<(&CollectionRecord, String, usize)> = children
            .get(&None)
            .map(|top| top.iter().rev().map(|r| (*r, r.name.clone(), 0)).collect())
            .unwrap_or_default();
        while let Some((r, path, depth)) = stack.pop() {
            if let Some(kids) = children.get(&Some(r.id)) {
                for kid in kids.iter().rev() {
                    stack.push((kid, format!("{path} / {}", kid.name), depth + 1));
                }
            }
            out.push(CollectionView {
                id: r.id,
                parent_id: r.parent_id,
                name: r.name.clone(),
                path,
                depth,
                prompt_count: r.prompt_count,
            });
        }
        out
    }

    pub async fn collections(services: &Services, p: &Principal) -> Result<Vec<CollectionView>, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        Ok(tree(services.store.collections(p.org).await?))
    }

    /// Checks that `parent` is a collection of the organization and not `moving` or inside it.
    async fn check_parent(
        services: &Services,
        p: &Principal,
        parent: Option<Uuid>,
        moving: Option<Uuid>,
    ) -> Result<(), AppError> {
        let Some(parent) = parent else { return Ok(()) };
        let all = services.store.collections(p.org).await?;
        let parent_of: HashMap<Uuid, Option<Uuid>> = all.iter().map(|c| (c.id, c.parent_id)).collect();
        if !parent_of.contains_key(&parent) {
            return Err(AppError::validation("parent_id", "That collection does not exist."));
        }
        let mut at = Some(parent);
        while let Some(id) = at {
            if Some(id) == moving {
                return Err(AppError::validation("parent_id", "A collection cannot go inside itself."));
            }
            at = parent_of.get(&id).copied().flatten();
        }
        Ok(())
    }

    pub async fn create_collection(
        services: &Services,
        p: &Principal,
        name: &str,
        parent: Option<Uuid>,
    ) -> Result<CollectionView, AppError> {
        p.require(Action::CreatePrompt, &Resource::Org(p.org))?;
        let name = parse_collection_name(name).map_err(|e| AppError::validation("name", e.0))?;
        check_parent(services, p, parent, None).await?;
        let record = CollectionRecord {
            id: Uuid::now_v7(),
            parent_id: parent,
            name,
            prompt_count: 0,
            created_at: services.clock.now(),
        };
        services.store.create_collection(p.org, &record).await?;
        p.audit(
            services,
            "collection.created",
            format!("collection:{}", record.id),
            None,
            Some(serde_json::json!({ "name": record.name })),
        )
        .await?;
        tree(services.store.collections(p.org).await?).into_iter().find(|c| c.id == record.id).ok_or(AppError::NotFound)
    }

    pub async fn update_collection(
        services: &Services,
        p: &Principal,
        id: Uuid,
        name: &str,
        parent: Option<Uuid>,
    ) -> Result<(), AppError> {
        p.require(Action::CreatePrompt, &Resource::Org(p.org))?;
        let name = parse_collection_name(name).map_err(|e| AppError::validation("name", e.0))?;
        check_parent(services, p, parent, Some(id)).await?;
        services.store.update_collection(p.org, id, &name, parent).await?;
        p.audit(
            services,
            "collection.updated",
            format!("collection:{id}"),
            None,
            Some(serde_json::json!({ "name": name, "parent_id": parent })),
        )
        .await
    }

    pub async fn delete_collection(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        p.require(Action::CreatePrompt, &Resource::Org(p.org))?;
        services.store.delete_collection(p.org, id).await?;
        p.audit(services, "collection.deleted", format!("collection:{id}"), None, None).await
    }

    /// Loads every selected prompt and checks the principal may edit each: all or nothing.
    async fn editable(services: &Services, p: &Principal, ids: &[Uuid]) -> Result<Vec<PromptRecord>, AppError> {
        if ids.is_empty() {
            return Err(AppError::validation("ids", "Select at least one prompt."));
        }
        if ids.len() > 500 {
            return Err(AppError::validation("ids", "Change at most 500 prompts at a time."));
        }
        let mut prompts = Vec::with_capacity(ids.len());
        for id in ids {
            let prompt = visible(services, p, *id).await?;
            if !p.may_on(Action::EditPrompt, &prompt) {
                return Err(AppError::validation(
                    "ids",
                    format!("You may not change “{}”; nothing was changed.", prompt.fields.title),
                ));
            }
            prompts.push(prompt);
        }
        Ok(prompts)
    }

    async fn collection_arg(services: &Services, p: &Principal, raw: &str) -> Result<Option<Uuid>, AppError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let id: Uuid = raw.parse().map_err(|_| AppError::validation("value", "Choose a collection."))?;
        if !services.store.collections(p.org).await?.iter().any(|c| c.id == id) {
            return Err(AppError::validation("value", "That collection does not exist."));
        }
        Ok(Some(id))
    }

    pub async fn bulk(
        services: &Services,
        p: &Principal,
        ids: &[Uuid],
        action: BulkAction,
        value: &str,
    ) -> Result<BulkOutcome, AppError> {
        let prompts = editable(services, p, ids).await?;
        let ids: Vec<Uuid> = prompts.iter().map(|r| r.id).collect();
        let changed = match action {
            BulkAction::Tag | BulkAction::Untag => {
                let tag = match parse_tags(value).map_err(|e| AppError::validation("value", e.0))?.as_slice() {
                    [one] => one.clone(),
                    _ => return Err(AppError::validation("value", "Give one tag.")),
                };
                let mut changed = 0;
                for prompt in &prompts {
                    let mut tags = prompt.fields.tags.clone();
                    let had = tags.contains(&tag);
                    match action {
                        BulkAction::Tag if !had => {
                            if tags.len() >= 20 {
                                return Err(AppError::validation(
                                    "value",
                                    format!("“{}” already has 20 tags; nothing was changed.", prompt.fields.title),
                                ));
                            }
                            tags.push(tag.clone());
                        }
                        BulkAction::Untag if had => tags.retain(|t| *t != tag),
                        _ => continue,
                    }
                    services.store.set_prompt_tags(p.org, prompt.id, &tags).await?;
                    changed += 1;
                }
                changed
            }
            BulkAction::Move => {
                let collection = collection_arg(services, p, value).await?;
                services.store.move_prompts(p.org, &ids, collection).await?
            }
            BulkAction::Archive => services.store.set_prompt_status(p.org, &ids, PromptStatus::Archived).await?,
        };
        p.audit(
            services,
            "prompt.bulk_changed",
            format!("prompts:{}", ids.len()),
            None,
            Some(serde_json::json!({ "action": action, "value": value, "ids": ids })),
        )
        .await?;
        let events = ids.iter().map(|&id| webhooks::PromptEvents {
            prompt: PromptRef::Saved(id),
            events: vec![EventType::PromptUpdated],
            extra: serde_json::json!({ "bulk": action }),
        });
        webhooks::prompt_events(services, p.org, events.collect()).await;
        Ok(BulkOutcome { changed })
    }

    pub async fn set_favorite(services: &Services, p: &Principal, id: Uuid, on: bool) -> Result<(), AppError> {
        visible(services, p, id).await?;
        services.store.set_favorite(p.org, id, p.user, on, services.clock.now()).await?;
        Ok(())
    }

    /// Copies the prompt's current content into a new prompt (version 1, no labels) by the principal.
    pub async fn duplicate(services: &Services, p: &Principal, id: Uuid) -> Result<Uuid, AppError> {
        p.require(Action::CreatePrompt, &Resource::Org(p.org))?;
        let source = visible(services, p, id).await?;
        crate::api::billing::rules::require_room(services, p.user, p.org, crate::domain::billing::Quota::Prompts, 1)
            .await?;
        let mut title = format!("Copy of {}", source.fields.title);
        if title.chars().count() > 200 {
            title = title.chars().take(200).collect();
        }
        let fields = PromptFields { title, status: PromptStatus::Draft, ..source.fields.clone() };
        let copy = Uuid::now_v7();
        let note = format!("Duplicated from “{}” v{}", source.fields.title, source.version);
        let save = PromptSave {
            org: p.org,
            id: copy,
            author: p.user,
            fields: &fields,
            change_note: &note,
            at: services.clock.now(),
            base_version: None,
        };
        services.store.save_prompt(&save).await?;
        if source.collection_id.is_some() {
            services.store.move_prompts(p.org, &[copy], source.collection_id).await?;
        }
        p.audit(services, "prompt.duplicated", format!("prompt:{copy}"), Some(serde_json::json!({ "from": id })), None)
            .await?;
        let extra = serde_json::json!({ "duplicated_from": id });
        webhooks::prompt_event(services, p.org, &[EventType::PromptCreated], PromptRef::Saved(copy), extra).await;
        Ok(copy)
    }

    pub async fn tags(services: &Services, p: &Principal) -> Result<Vec<TagCount>, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        Ok(services
            .store
            .tag_counts(p.org)
            .await?
            .into_iter()
            .map(|(tag, prompts)| TagCount { tag, prompts })
            .collect())
    }

    /// The predefined categories, then the organization's own, by name.
    pub async fn categories(services: &Services, p: &Principal) -> Result<Vec<CategoryView>, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let mut all: Vec<CategoryView> = CATEGORIES
            .iter()
            .zip(CATEGORY_STYLES)
            .map(|(name, (color, icon))| CategoryView {
                name: (*name).to_owned(),
                color: color.to_owned(),
                icon: icon.to_owned(),
                custom: false,
            })
            .collect();
        all.extend(services.store.categories(p.org).await?.into_iter().map(|c| CategoryView {
            name: c.name,
            color: c.color,
            icon: c.icon,
            custom: true,
        }));
        Ok(all)
    }

    pub async fn save_category(
        services: &Services,
        p: &Principal,
        name: &str,
        color: &str,
        icon: &str,
    ) -> Result<(), AppError> {
        p.require(Action::ManageCategories, &Resource::Org(p.org))?;
        let style = CategoryStyle::parse(name, color, icon).map_err(|(f, m)| AppError::validation(f, m))?;
        if CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(&style.name)) {
            return Err(AppError::validation("name", "That is one of the predefined categories."));
        }
        let record =
            CategoryRecord { name: style.name, color: style.color, icon: style.icon, created_at: services.clock.now() };
        services.store.save_category(p.org, &record).await?;
        p.audit(
            services,
            "category.saved",
            format!("category:{}", record.name),
            None,
            Some(serde_json::json!({ "color": record.color, "icon": record.icon })),
        )
        .await
    }

    pub async fn delete_category(services: &Services, p: &Principal, name: &str) -> Result<(), AppError> {
        p.require(Action::ManageCategories, &Resource::Org(p.org))?;
        if !services.store.delete_category(p.org, name).await? {
            return Err(AppError::NotFound);
        }
        p.audit(services, "category.deleted", format!("category:{name}"), None, None).await
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use chrono::Utc;

        fn record(name: &str, parent: Option<Uuid>) -> CollectionRecord {
            CollectionRecord {
                id: Uuid::now_v7(),
                parent_id: parent,
                name: name.into(),
                prompt_count: 0,
                created_at: Utc::now(),
            }
        }

        #[test]
        fn the_tree_lists_children_under_their_parent_with_paths() {
            let clients = record("Clients", None);
            let archive = record("Archive", None);
            let onboarding = record("Onboarding", Some(clients.id));
            let calls = record("Calls", Some(onboarding.id));
            let views = tree(vec![onboarding.clone(), archive, calls, clients]);
            let paths: Vec<(&str, usize)> = views.iter().map(|v| (v.path.as_str(), v.depth)).collect();
            assert_eq!(
                paths,
                [("Archive", 0), ("Clients", 0), ("Clients / Onboarding", 1), ("Clients / Onboarding / Calls", 2)]
            );
        }
    }
}

#[cfg(feature = "ssr")]
use super::prompts::principal;

/// The active organization's collections as a tree. Needs: ViewPrompts.
#[server(endpoint = "collections", input = Json)]
pub async fn collections() -> Result<Vec<CollectionView>, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::collections(&services, &p).await
    })
    .await
}

/// Needs: CreatePrompt (Owner, Admin, Editor).
#[server(endpoint = "create_collection", input = Json)]
pub async fn create_collection(name: String, parent_id: Option<Uuid>) -> Result<CollectionView, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::create_collection(&services, &p, &name, parent_id).await
    })
    .await
}

/// Renames or moves a collection (never inside itself). Needs: CreatePrompt.
#[server(endpoint = "update_collection", input = Json)]
pub async fn update_collection(id: Uuid, name: String, parent_id: Option<Uuid>) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::update_collection(&services, &p, id, &name, parent_id).await
    })
    .await
}

/// Deletes an empty collection. Needs: CreatePrompt.
#[server(endpoint = "delete_collection", input = Json)]
pub async fn delete_collection(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::delete_collection(&services, &p, id).await
    })
    .await
}

/// Tags, untags, moves or archives the selected prompts, all or nothing. Needs: EditPrompt on
/// every one (Editors: their own).
#[server(endpoint = "bulk_prompts", input = Json)]
pub async fn bulk_prompts(ids: Vec<Uuid>, action: BulkAction, value: String) -> Result<BulkOutcome, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::bulk(&services, &p, &ids, action, &value).await
    })
    .await
}

/// Adds the prompt to the caller's favorites or takes it out. Needs: ViewPrompts.
#[server(endpoint = "set_favorite", input = Json)]
pub async fn set_favorite(id: Uuid, on: bool) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::set_favorite(&services, &p, id, on).await
    })
    .await
}

/// Copies a prompt; returns the copy's id. Needs: CreatePrompt.
#[server(endpoint = "duplicate_prompt", input = Json)]
pub async fn duplicate_prompt(id: Uuid) -> Result<Uuid, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::duplicate(&services, &p, id).await
    })
    .await
}

/// Tags in use with their counts. Needs: ViewPrompts.
#[server(endpoint = "prompt_tags", input = Json)]
pub async fn prompt_tags() -> Result<Vec<TagCount>, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::tags(&services, &p).await
    })
    .await
}

/// Predefined and custom categories. Needs: ViewPrompts.
#[server(endpoint = "categories", input = Json)]
pub async fn categories() -> Result<Vec<CategoryView>, AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::categories(&services, &p).await
    })
    .await
}

/// Adds or restyles a custom category. Needs: ManageCategories (Owner, Admin).
#[server(endpoint = "save_category", input = Json)]
pub async fn save_category(name: String, color: String, icon: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::save_category(&services, &p, &name, &color, &icon).await
    })
    .await
}

/// Needs: ManageCategories.
#[server(endpoint = "delete_category", input = Json)]
pub async fn delete_category(name: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = principal().await?;
        rules::delete_category(&services, &p, &name).await
    })
    .await
}
