//! Exporting an organization's prompt library: JSON (everything: versions, labels, variables,
//! tags, collections, categories) and CSV (one row per prompt, its current version). Needs
//! ExportData (Owner, Admin). Served as downloads by the server (`/orgs/{id}/prompts.json|csv`)
//! and by the REST API (`/api/v1/export`).

#![cfg(feature = "ssr")]

use super::prompts::library::Principal;
use super::{Caller, RequestMeta, actor};
use crate::domain::{Action, OrgId, Resource};
use crate::error::AppError;
use crate::ports::{PromptFilter, PromptRecord, PromptSort, Services};
use serde_json::{Value, json};

/// The version of the JSON layout, for importers.
pub const JSON_FORMAT: &str = "cairn.prompts/1";

/// A signed-in member acting in `org` (from a download URL rather than the active organization).
pub async fn principal_for(
    services: &Services,
    caller: &Caller,
    org: OrgId,
    meta: RequestMeta,
) -> Result<Principal, AppError> {
    let membership = services.store.membership(org, caller.user.id).await?.ok_or(AppError::NotFound)?;
    Ok(Principal { org, user: caller.user.id, actor: actor(&caller.user, Some(&membership)), meta, api_key: None })
}

/// Every prompt of the organization, oldest first.
async fn all_prompts(services: &Services, p: &Principal) -> Result<Vec<PromptRecord>, AppError> {
    let mut out = Vec::new();
    loop {
        let filter =
            PromptFilter { sort: PromptSort::Created, offset: out.len() as i64, limit: 500, ..Default::default() };
        let page = services.store.prompts(p.org, &filter).await?;
        let done = page.len() < 500;
        out.extend(page);
        if done {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

pub async fn json(services: &Services, p: &Principal) -> Result<Value, AppError> {
    p.require(Action::ExportData, &Resource::Org(p.org))?;
    let collections: Vec<Value> = services
        .store
        .collections(p.org)
        .await?
        .into_iter()
        .map(|c| json!({ "id": c.id, "parent_id": c.parent_id, "name": c.name, "created_at": c.created_at }))
        .collect();
    let categories: Vec<Value> = services
        .store
        .categories(p.org)
        .await?
        .into_iter()
        .map(|c| json!({ "name": c.name, "color": c.color, "icon": c.icon }))
        .collect();
    let mut prompts = Vec::new();
    for r in all_prompts(services, p).await? {
        let mut versions = services.store.prompt_versions(p.org, r.id).await?;
        versions.reverse();
        let labels = services.store.prompt_labels(p.org, r.id).await?;
        prompts.push(json!({
            "id": r.id,
            "title": r.fields.title,
            "description": r.fields.description,
            "content": r.fields.body,
            "status": r.fields.status,
            "visibility": r.fields.visibility,
            "category": r.fields.category,
            "tags": r.fields.tags,
            "variables": r.fields.variables,
            "model": r.fields.model,
            "collection_id": r.collection_id,
            "author": r.author_name,
            "version": r.version,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "labels": labels.iter().map(|l| json!({ "label": l.label, "version": l.version })).collect::<Vec<_>>(),
            "versions": versions.iter().map(|v| json!({
                "number": v.number,
                "title": v.title,
                "description": v.description,
                "content": v.body,
                "variables": v.variables,
                "model": v.model,
                "author": v.author_name,
                "change_note": v.change_note,
                "created_at": v.created_at,
            })).collect::<Vec<_>>(),
        }));
    }
    p.audit(
        services,
        "prompts.exported",
        format!("org:{}", p.org.0),
        None,
        Some(json!({ "format": "json", "prompts": prompts.len() })),
    )
    .await?;
    Ok(json!({
        "format": JSON_FORMAT,
        "exported_at": services.clock.now(),
        "collections": collections,
        "categories": categories,
        "prompts": prompts,
    }))
}

pub async fn csv(services: &Services, p: &Principal) -> Result<String, AppError> {
    p.require(Action::ExportData, &Resource::Org(p.org))?;
    let paths: std::collections::HashMap<uuid::Uuid, String> =
        super::organize::rules::tree(services.store.collections(p.org).await?)
            .into_iter()
            .map(|c| (c.id, c.path))
            .collect();
    let mut out = String::from(
        "id,title,description,status,visibility,category,tags,collection,version,author,updated_at,content\n",
    );
    let prompts = all_prompts(services, p).await?;
    for r in &prompts {
        let fields = [
            r.id.to_string(),
            r.fields.title.clone(),
            r.fields.description.clone(),
            r.fields.status.as_str().to_owned(),
            r.fields.visibility.as_str().to_owned(),
            r.fields.category.clone(),
            r.fields.tags.join(", "),
            r.collection_id.and_then(|c| paths.get(&c).cloned()).unwrap_or_default(),
            r.version.to_string(),
            r.author_name.clone(),
            r.updated_at.to_rfc3339(),
            r.fields.body.clone(),
        ];
        let row: Vec<String> = fields.iter().map(|f| super::orgs::csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    p.audit(
        services,
        "prompts.exported",
        format!("org:{}", p.org.0),
        None,
        Some(json!({ "format": "csv", "prompts": prompts.len() })),
    )
    .await?;
    Ok(out)
}
