//! The first slice of the prompt library: an organization's prompts with the seed's
//! Owner/Admin/Editor/Viewer rules. Versions, search and the rest come with the prompt library.

use crate::dto::PromptView;
use crate::error::AppError;
use leptos::server;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use {
    super::{active_org, actor, audit, authorize, caller, respond, services},
    crate::domain::{Action, Resource, can},
    crate::ports::PromptRecord,
};

#[cfg(feature = "ssr")]
fn parse_prompt(title: &str, body: &str) -> Result<(String, String), AppError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(AppError::validation("title", "Give the prompt a title."));
    }
    if title.chars().count() > 200 {
        return Err(AppError::validation("title", "Keep the title under 200 characters."));
    }
    if body.trim().is_empty() {
        return Err(AppError::validation("body", "Write the prompt's text."));
    }
    if body.len() > 100_000 {
        return Err(AppError::validation("body", "The prompt is too long (100,000 characters at most)."));
    }
    Ok((title.to_owned(), body.to_owned()))
}

/// The active organization's prompts. Needs: ViewPrompts (any member).
#[server(endpoint = "prompts")]
pub async fn list_prompts() -> Result<Vec<PromptView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let membership = active_org(&services, &caller).await?;
        let org = membership.org.id;
        let (actor, _) = authorize(&services, &caller, org, Action::ViewPrompts, &Resource::Org(org)).await?;
        let view = |p: PromptRecord| {
            let resource = Resource::Content { org, author: p.author_id };
            PromptView {
                can_edit: can(&actor, Action::EditPrompt, &resource),
                can_delete: can(&actor, Action::DeletePrompt, &resource),
                id: p.id,
                title: p.title,
                body: p.body,
                author_name: p.author_name,
                updated_at: p.updated_at,
            }
        };
        Ok(services.store.prompts(org).await?.into_iter().map(view).collect())
    })
    .await
}

/// Creates a prompt in the active organization. Needs: CreatePrompt (Owner, Admin, Editor).
#[server(endpoint = "create_prompt")]
pub async fn create_prompt(title: String, body: String) -> Result<Uuid, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let org = active_org(&services, &caller).await?.org.id;
        authorize(&services, &caller, org, Action::CreatePrompt, &Resource::Org(org)).await?;
        let (title, body) = parse_prompt(&title, &body)?;
        let id = Uuid::now_v7();
        services.store.create_prompt(org, id, caller.user.id, &title, &body, services.clock.now()).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "prompt.created",
            format!("prompt:{id}"),
            None,
            Some(serde_json::json!({ "title": title })),
        )
        .await?;
        Ok(id)
    })
    .await
}

/// Edits a prompt. Needs: EditPrompt (Owner, Admin; Editors their own).
#[server(endpoint = "update_prompt")]
pub async fn update_prompt(id: Uuid, title: String, body: String) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let membership = active_org(&services, &caller).await?;
        let org = membership.org.id;
        let prompt = services.store.prompt(org, id).await?.ok_or(AppError::NotFound)?;
        if !can(
            &actor(&caller.user, Some(&membership)),
            Action::EditPrompt,
            &Resource::Content { org, author: prompt.author_id },
        ) {
            return Err(AppError::Forbidden);
        }
        let (title, body) = parse_prompt(&title, &body)?;
        services.store.update_prompt(org, id, &title, &body, services.clock.now()).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "prompt.updated",
            format!("prompt:{id}"),
            Some(serde_json::json!({ "title": prompt.title })),
            Some(serde_json::json!({ "title": title })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Deletes a prompt. Needs: DeletePrompt (Owner, Admin; Editors their own).
#[server(endpoint = "delete_prompt")]
pub async fn delete_prompt(id: Uuid) -> Result<(), AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let membership = active_org(&services, &caller).await?;
        let org = membership.org.id;
        let prompt = services.store.prompt(org, id).await?.ok_or(AppError::NotFound)?;
        if !can(
            &actor(&caller.user, Some(&membership)),
            Action::DeletePrompt,
            &Resource::Content { org, author: prompt.author_id },
        ) {
            return Err(AppError::Forbidden);
        }
        services.store.delete_prompt(org, id).await?;
        audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "prompt.deleted",
            format!("prompt:{id}"),
            Some(serde_json::json!({ "title": prompt.title })),
            None,
        )
        .await?;
        Ok(())
    })
    .await
}
