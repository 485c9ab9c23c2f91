//! Activity feeds: what happened to the organization's prompts (created, saved, reverted,
//! labelled, deleted, commented on, imported …), per prompt and for the whole organization.
//! Every member may read them; entries about prompts the reader may not see are left out.
//! The feed is read from the audit log, where every change is already recorded.

use crate::dto::ActivityPage;
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod rules {
    use crate::api::prompts::library::{Principal, visible};
    use crate::domain::prompt::Visibility;
    use crate::domain::{Action, Resource};
    use crate::dto::{ActivityPage, ActivityView};
    use crate::error::AppError;
    use crate::ports::{ActivityRecord, PromptRecord, Services};
    use serde_json::Value;
    use std::collections::HashMap;
    use uuid::Uuid;

    /// Entries per page.
    pub const PAGE: i64 = 30;

    fn prompt_of(target: &str) -> Option<Uuid> {
        target.strip_prefix("prompt:").and_then(|id| id.parse().ok())
    }

    fn text(value: &Option<Value>, key: &str) -> Option<String> {
        value.as_ref().and_then(|v| v.get(key)).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// One line saying what happened, e.g. "saved version 3 of “Welcome call”".
    fn summary(entry: &ActivityRecord, title: &str) -> String {
        let after = |key| text(&entry.after, key).unwrap_or_default();
        let before = |key| text(&entry.before, key).unwrap_or_default();
        match entry.action.as_str() {
            "prompt.created" => format!("created “{title}”"),
            "prompt.updated" => format!("saved version {} of “{title}”", after("version")),
            "prompt.reverted" => format!("reverted “{title}” to version {}", after("from_version")),
            "prompt.deleted" => format!("deleted “{title}”"),
            "prompt.duplicated" => format!("duplicated a prompt as “{title}”"),
            "prompt.label_moved" => format!("pointed {} at version {} of “{title}”", after("label"), after("version")),
            "prompt.label_removed" => format!("removed the label {} from “{title}”", before("label")),
            "comment.created" => format!("commented on “{title}”"),
            "comment.edited" => format!("edited a comment on “{title}”"),
            "comment.deleted" => format!("deleted a comment on “{title}”"),
            "prompts.imported" => format!("imported {} prompts", after("prompts")),
            "prompt.bulk_changed" => {
                let count = entry.target.strip_prefix("prompts:").unwrap_or("some");
                match after("action").as_str() {
                    "tag" => format!("tagged {count} prompts “{}”", after("value")),
                    "untag" => format!("removed the tag “{}” from {count} prompts", after("value")),
                    "move" => format!("moved {count} prompts to another collection"),
                    "archive" => format!("archived {count} prompts"),
                    other => format!("changed {count} prompts ({other})"),
                }
            }
            other => other.replace(['.', '_'], " "),
        }
    }

    /// What an entry is about: a prompt that exists, or one deleted since (private or not, as
    /// its deletion recorded).
    enum Subject {
        Live(Box<PromptRecord>),
        Gone { private: bool, title: Option<String> },
    }

    async fn subject(services: &Services, p: &Principal, id: Uuid, target: &str) -> Result<Subject, AppError> {
        if let Some(record) = services.store.prompt(p.org, id).await? {
            return Ok(Subject::Live(Box::new(record)));
        }
        let newest = services.store.activity(p.org, Some(target), None, 1).await?;
        let deletion = newest.first().filter(|e| e.action == "prompt.deleted");
        let private = deletion.is_none_or(|e| text(&e.before, "visibility").as_deref() == Some("private"));
        Ok(Subject::Gone { private, title: deletion.and_then(|e| text(&e.before, "title")) })
    }

    /// A page of the feed, newest first: of one prompt, or of the whole organization.
    pub async fn feed(
        services: &Services,
        p: &Principal,
        prompt: Option<Uuid>,
        before: Option<Uuid>,
    ) -> Result<ActivityPage, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        if let Some(id) = prompt {
            visible(services, p, id).await?;
        }
        let target = prompt.map(|id| format!("prompt:{id}"));
        let mut items = Vec::new();
        let mut cursor = before;
        let mut known: HashMap<Uuid, Subject> = HashMap::new();
        // Entries the reader may not see are dropped; read on until the page is full.
        for _ in 0..10 {
            let batch = services.store.activity(p.org, target.as_deref(), cursor, PAGE).await?;
            let exhausted = (batch.len() as i64) < PAGE;
            for entry in batch {
                cursor = Some(entry.id);
                let about = prompt_of(&entry.target);
                if let Some(id) = about
                    && !known.contains_key(&id)
                {
                    known.insert(id, subject(services, p, id, &entry.target).await?);
                }
                let subject = about.and_then(|id| known.get(&id));
                let record = match subject {
                    Some(Subject::Live(record)) => Some(record),
                    _ => None,
                };
                let readable = match subject {
                    Some(Subject::Live(r)) => {
                        r.fields.visibility != Visibility::Private || r.author_id == p.user || p.sees_private()
                    }
                    // A deleted private prompt: only for those who saw everything, or its own actors.
                    Some(Subject::Gone { private: true, .. }) => p.sees_private() || entry.actor_id == Some(p.user),
                    Some(Subject::Gone { private: false, .. }) | None => true,
                };
                if !readable {
                    continue;
                }
                let title = record
                    .as_ref()
                    .map(|r| r.fields.title.clone())
                    .or_else(|| match subject {
                        Some(Subject::Gone { title, .. }) => title.clone(),
                        _ => None,
                    })
                    .or_else(|| text(&entry.after, "title"))
                    .or_else(|| text(&entry.before, "title"))
                    .unwrap_or_else(|| "a prompt".into());
                items.push(ActivityView {
                    id: entry.id,
                    actor_name: entry.actor_name.clone().unwrap_or_else(|| "Someone".into()),
                    summary: summary(&entry, &title),
                    link: record.as_ref().map(|r| format!("/prompts/{}", r.id)),
                    at: entry.at,
                });
                if items.len() as i64 == PAGE {
                    break;
                }
            }
            if items.len() as i64 == PAGE {
                return Ok(ActivityPage { items, next: cursor });
            }
            if exhausted {
                return Ok(ActivityPage { items, next: None });
            }
        }
        Ok(ActivityPage { items, next: cursor })
    }
}

/// A page of activity, newest first: of one prompt (`prompt_id`) or of the active organization.
/// `before` is the last entry of the previous page. Needs: ViewPrompts (every member).
#[server(endpoint = "activity", input = Json)]
pub async fn activity(prompt_id: Option<Uuid>, before: Option<Uuid>) -> Result<ActivityPage, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::feed(&services, &p, prompt_id, before).await
    })
    .await
}
