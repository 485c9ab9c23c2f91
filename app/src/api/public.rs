//! Public prompts: a prompt whose visibility is "public" and which is published can be read by
//! anyone with its link, signed in or not, at `/p/{id}`. Nothing else of the organization shows.

use crate::dto::PublicPromptView;
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;
use uuid::Uuid;

/// A public, published prompt; `NotFound` for anything else (private, organization-only, draft,
/// archived or deleted), so the link tells nothing about prompts it does not show. Counts a view.
#[server(endpoint = "public_prompt", input = Json)]
pub async fn public_prompt(id: Uuid) -> Result<PublicPromptView, AppError> {
    super::respond(async move {
        use crate::ports::PromptCounter;
        let services = super::services()?;
        let (prompt, org_name) = services.store.public_prompt(id).await?.ok_or(AppError::NotFound)?;
        services.prompt_counts.count(prompt.org_id, id, PromptCounter::View, services.clock.now());
        Ok(PublicPromptView {
            id: prompt.id,
            html: crate::api::prompts::library::markdown_html(&prompt.fields.body),
            title: prompt.fields.title,
            description: prompt.fields.description,
            body: prompt.fields.body,
            category: prompt.fields.category,
            tags: prompt.fields.tags,
            variables: prompt.fields.variables,
            author_name: prompt.author_name,
            org_name,
            version: prompt.version,
            updated_at: prompt.updated_at,
        })
    })
    .await
}
