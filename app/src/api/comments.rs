//! Threaded comments on prompts with @mentions, and the notifications they send.
//!
//! Anyone who may see a prompt may comment on it (Viewers too). Replies hang under the top-level
//! comment of their thread. Authors edit and delete their own comments; Owners and Admins delete
//! anyone's. A comment notifies, in the app and by email, each member it @mentions, the author of
//! the comment replied to and the prompt's author — never the commenter, and only people who may
//! see the prompt.

use crate::dto::{CommentView, NotificationView};
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod rules {
    use crate::api::prompts::library::{Principal, markdown_html, visible};
    use crate::domain::comment::{handles_of, mentions, parse_comment};
    use crate::domain::prompt::Visibility;
    use crate::domain::{Action, OrgRole, Resource, UserId};
    use crate::dto::{CommentView, NotificationView};
    use crate::error::AppError;
    use crate::ports::{CommentRecord, MemberRecord, NotificationRecord, Services};
    use std::collections::HashMap;
    use uuid::Uuid;

    fn view(p: &Principal, c: &CommentRecord) -> CommentView {
        let own = c.author_id == p.user;
        let deleted = c.deleted_at.is_some();
        CommentView {
            id: c.id,
            author_name: c.author_name.clone(),
            body: c.body.clone(),
            html: if deleted { String::new() } else { markdown_html(&c.body) },
            created_at: c.created_at,
            edited_at: c.edited_at,
            deleted,
            can_edit: own && !deleted,
            can_delete: !deleted && (own || moderates(p, c)),
            replies: Vec::new(),
        }
    }

    /// Owners and Admins may delete anyone's comment.
    fn moderates(p: &Principal, c: &CommentRecord) -> bool {
        p.may(Action::DeletePrompt, &Resource::Content { org: p.org, author: c.author_id })
    }

    /// A prompt's threads, oldest first, each with its replies.
    pub async fn list(services: &Services, p: &Principal, prompt: Uuid) -> Result<Vec<CommentView>, AppError> {
        p.require(Action::CommentOnPrompts, &Resource::Org(p.org))?;
        visible(services, p, prompt).await?;
        let all = services.store.comments(p.org, prompt).await?;
        let mut threads: Vec<CommentView> = Vec::new();
        let mut at: HashMap<Uuid, usize> = HashMap::new();
        for c in all.iter().filter(|c| c.parent_id.is_none()) {
            at.insert(c.id, threads.len());
            threads.push(view(p, c));
        }
        for c in all.iter() {
            if let Some(i) = c.parent_id.and_then(|parent| at.get(&parent)) {
                threads[*i].replies.push(view(p, c));
            }
        }
        // A deleted comment with no replies left to show has nothing to say.
        threads.retain(|t| !t.deleted || t.replies.iter().any(|r| !r.deleted));
        for t in &mut threads {
            t.replies.retain(|r| !r.deleted);
        }
        Ok(threads)
    }

    pub async fn add(
        services: &Services,
        p: &Principal,
        prompt_id: Uuid,
        parent: Option<Uuid>,
        body: &str,
    ) -> Result<CommentView, AppError> {
        p.require(Action::CommentOnPrompts, &Resource::Org(p.org))?;
        let prompt = visible(services, p, prompt_id).await?;
        let body = parse_comment(body).map_err(|e| AppError::validation("body", e.0))?;
        let parent = match parent {
            None => None,
            Some(id) => {
                let parent = services
                    .store
                    .comment(p.org, id)
                    .await?
                    .filter(|c| c.prompt_id == prompt_id)
                    .ok_or_else(|| AppError::validation("parent_id", "That comment is not on this prompt."))?;
                Some(parent)
            }
        };
        let now = services.clock.now();
        let author = services.store.user_by_id(p.user).await?.ok_or(AppError::Unauthenticated)?;
        let record = CommentRecord {
            id: Uuid::now_v7(),
            org_id: p.org,
            prompt_id,
            parent_id: parent.as_ref().map(|c| c.parent_id.unwrap_or(c.id)),
            author_id: p.user,
            author_name: author.display_name.clone(),
            body,
            created_at: now,
            edited_at: None,
            deleted_at: None,
        };
        services.store.add_comment(&record).await?;
        p.audit(
            services,
            "comment.created",
            format!("prompt:{prompt_id}"),
            None,
            Some(serde_json::json!({ "comment": record.id })),
        )
        .await?;

        // Who hears about it: the mentioned, the one replied to, the prompt's author.
        let members = services.store.members(p.org).await?;
        let mut told: Vec<(UserId, &'static str)> = Vec::new();
        let mut tell = |user: UserId, kind: &'static str| {
            if user != p.user && !told.iter().any(|(u, _)| *u == user) {
                told.push((user, kind));
            }
        };
        for member in mentioned(&members, &record.body) {
            tell(member, "mention");
        }
        if let Some(parent) = &parent {
            tell(parent.author_id, "reply");
        }
        tell(prompt.author_id, "comment");
        // Private prompts are seen by their author, Owners and Admins.
        let sees_private = |m: &MemberRecord| matches!(m.role, OrgRole::Owner | OrgRole::Admin);
        let link = format!("/prompts/{prompt_id}#comment-{}", record.id);
        let excerpt: String = record.body.chars().take(280).collect();
        let mut notes = Vec::new();
        for (user, kind) in told {
            let Some(member) = members.iter().find(|m| m.user_id == user) else { continue };
            if prompt.fields.visibility == Visibility::Private && prompt.author_id != user && !sees_private(member) {
                continue;
            }
            let title = match kind {
                "mention" => format!("{} mentioned you on “{}”", author.display_name, prompt.fields.title),
                "reply" => format!("{} replied to you on “{}”", author.display_name, prompt.fields.title),
                _ => format!("{} commented on your prompt “{}”", author.display_name, prompt.fields.title),
            };
            super::super::auth::send(
                services,
                &member.email,
                &title,
                &format!("{title}:\n\n{excerpt}\n\nSee it in Cairn: {}{link}\n", services.settings.public_url),
            )
            .await;
            notes.push(NotificationRecord {
                id: Uuid::now_v7(),
                user_id: user,
                org_id: Some(p.org),
                kind: kind.into(),
                title,
                body: excerpt.clone(),
                link: link.clone(),
                created_at: now,
                read_at: None,
            });
        }
        services.store.add_notifications(&notes).await?;
        Ok(view(p, &record))
    }

    /// The members a text mentions: by email name, full name (`@edith.editor`, `@editheditor`), or
    /// first name when only one member has it.
    pub fn mentioned(members: &[MemberRecord], text: &str) -> Vec<UserId> {
        let wanted = mentions(text);
        if wanted.is_empty() {
            return Vec::new();
        }
        let first = |m: &MemberRecord| m.display_name.split_whitespace().next().unwrap_or_default().to_lowercase();
        let mut found = Vec::new();
        for handle in &wanted {
            let by_handle: Vec<&MemberRecord> =
                members.iter().filter(|m| handles_of(&m.display_name, &m.email).contains(handle)).collect();
            let by_first: Vec<&MemberRecord> = members.iter().filter(|m| &first(m) == handle).collect();
            let hit = match (by_handle.as_slice(), by_first.as_slice()) {
                ([one], _) | ([], [one]) => Some(one.user_id),
                _ => None,
            };
            if let Some(user) = hit.filter(|u| !found.contains(u)) {
                found.push(user);
            }
        }
        found
    }

    async fn own_or_moderated(services: &Services, p: &Principal, id: Uuid) -> Result<CommentRecord, AppError> {
        p.require(Action::CommentOnPrompts, &Resource::Org(p.org))?;
        let comment = services.store.comment(p.org, id).await?.ok_or(AppError::NotFound)?;
        visible(services, p, comment.prompt_id).await?;
        Ok(comment)
    }

    pub async fn edit(services: &Services, p: &Principal, id: Uuid, body: &str) -> Result<CommentView, AppError> {
        let comment = own_or_moderated(services, p, id).await?;
        if comment.author_id != p.user {
            return Err(AppError::Forbidden);
        }
        let body = parse_comment(body).map_err(|e| AppError::validation("body", e.0))?;
        let now = services.clock.now();
        services.store.edit_comment(p.org, id, &body, now).await?;
        p.audit(
            services,
            "comment.edited",
            format!("prompt:{}", comment.prompt_id),
            None,
            Some(serde_json::json!({ "comment": id })),
        )
        .await?;
        Ok(view(p, &CommentRecord { body, edited_at: Some(now), ..comment }))
    }

    pub async fn delete(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        let comment = own_or_moderated(services, p, id).await?;
        if comment.author_id != p.user && !moderates(p, &comment) {
            return Err(AppError::Forbidden);
        }
        services.store.delete_comment(p.org, id, services.clock.now()).await?;
        p.audit(
            services,
            "comment.deleted",
            format!("prompt:{}", comment.prompt_id),
            Some(serde_json::json!({ "comment": id, "body": comment.body })),
            None,
        )
        .await
    }

    pub async fn notifications(services: &Services, user: UserId) -> Result<Vec<NotificationView>, AppError> {
        Ok(services
            .store
            .notifications(user, 100)
            .await?
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                title: n.title,
                body: n.body,
                link: n.link,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect())
    }
}

#[server(endpoint = "comments", input = Json)]
pub async fn comments(prompt_id: Uuid) -> Result<Vec<CommentView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::list(&services, &p, prompt_id).await
    })
    .await
}

#[server(endpoint = "add_comment", input = Json)]
pub async fn add_comment(prompt_id: Uuid, parent_id: Option<Uuid>, body: String) -> Result<CommentView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::add(&services, &p, prompt_id, parent_id, &body).await
    })
    .await
}

#[server(endpoint = "edit_comment", input = Json)]
pub async fn edit_comment(id: Uuid, body: String) -> Result<CommentView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::edit(&services, &p, id, &body).await
    })
    .await
}

#[server(endpoint = "delete_comment", input = Json)]
pub async fn delete_comment(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::delete(&services, &p, id).await
    })
    .await
}

/// The caller's newest notifications (across organizations). Needs: signed in.
#[server(endpoint = "notifications", input = Json)]
pub async fn notifications() -> Result<Vec<NotificationView>, AppError> {
    super::respond(async move {
        let services = super::services()?;
        let caller = super::caller()?;
        rules::notifications(&services, caller.user.id).await
    })
    .await
}

/// Marks the caller's notifications read: these, or all of them. Needs: signed in.
#[server(endpoint = "mark_notifications_read", input = Json)]
pub async fn mark_notifications_read(ids: Option<Vec<Uuid>>) -> Result<u64, AppError> {
    super::respond(async move {
        let services = super::services()?;
        let caller = super::caller()?;
        Ok(services.store.mark_notifications_read(caller.user.id, ids.as_deref(), services.clock.now()).await?)
    })
    .await
}
