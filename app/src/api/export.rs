//! Exporting an organization's prompt library, all of it or a selection: JSON (everything:
//! versions, labels, variables, tags, collections, categories, comments), CSV (one row per prompt,
//! its current version) and Markdown (one file per prompt with front matter, zipped by the
//! server). Needs ExportData (Owner, Admin). Served as downloads by the server
//! (`/orgs/{id}/prompts.json|csv|zip?ids=…`) and by the REST API (`/api/v1/export`).

#![cfg(feature = "ssr")]

use super::prompts::library::Principal;
use super::{Caller, RequestMeta, actor};
use crate::domain::{Action, OrgId, Resource};
use crate::error::AppError;
use crate::ports::{PromptFilter, PromptRecord, PromptSort, Services};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The version of the JSON layout, for importers.
pub const JSON_FORMAT: &str = "cairn.prompts/1";

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    /// A ZIP of one Markdown file per prompt (zipped by the server).
    Markdown,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            "markdown" => Some(Self::Markdown),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Markdown => "markdown",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Markdown => "application/zip",
        }
    }

    /// The `Content-Disposition` of a download.
    pub fn disposition(self) -> &'static str {
        match self {
            Self::Json => "attachment; filename=\"prompts.json\"",
            Self::Csv => "attachment; filename=\"prompts.csv\"",
            Self::Markdown => "attachment; filename=\"prompts.zip\"",
        }
    }
}

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

/// Which prompts an export holds: every one (no ids) or these.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub ids: Vec<uuid::Uuid>,
}

impl Selection {
    /// Comma-separated prompt ids, as the `ids` query parameter carries them.
    pub fn parse(raw: Option<&str>) -> Result<Self, AppError> {
        let mut ids = Vec::new();
        for part in raw.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = part.parse().map_err(|_| AppError::validation("ids", format!("“{part}” is not a prompt id.")))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > 10_000 {
            return Err(AppError::validation("ids", "Export at most 10,000 selected prompts at once."));
        }
        Ok(Self { ids })
    }
}

/// The selected prompts, oldest first; every selected id must exist.
async fn selected(services: &Services, p: &Principal, selection: &Selection) -> Result<Vec<PromptRecord>, AppError> {
    let all = all_prompts(services, p).await?;
    if selection.ids.is_empty() {
        return Ok(all);
    }
    let wanted: std::collections::HashSet<_> = selection.ids.iter().collect();
    let found: Vec<PromptRecord> = all.into_iter().filter(|r| wanted.contains(&r.id)).collect();
    if found.len() < wanted.len() {
        let missing = wanted.len() - found.len();
        return Err(AppError::validation(
            "ids",
            format!("{missing} of the selected prompts no longer exist; nothing was exported."),
        ));
    }
    Ok(found)
}

/// Each collection's path of names from the top, e.g. `Sales / Onboarding`.
async fn collection_paths(services: &Services, p: &Principal) -> Result<HashMap<uuid::Uuid, String>, AppError> {
    let tree = super::organize::rules::tree(services.store.collections(p.org).await?);
    Ok(tree.into_iter().map(|c| (c.id, c.path)).collect())
}

async fn audit_export(
    services: &Services,
    p: &Principal,
    format: Format,
    prompts: usize,
    selection: &Selection,
) -> Result<(), AppError> {
    let after = json!({ "format": format.as_str(), "prompts": prompts, "selection": selection.ids.len() });
    p.audit(services, "prompts.exported", format!("org:{}", p.org.0), None, Some(after)).await
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

pub async fn json(services: &Services, p: &Principal, selection: &Selection) -> Result<Value, AppError> {
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
    for r in selected(services, p, selection).await? {
        let mut versions = services.store.prompt_versions(p.org, r.id).await?;
        versions.reverse();
        let labels = services.store.prompt_labels(p.org, r.id).await?;
        let comments: Vec<Value> = services
            .store
            .comments(p.org, r.id)
            .await?
            .into_iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "parent_id": c.parent_id,
                    "author": c.author_name,
                    "body": c.body,
                    "created_at": c.created_at,
                    "edited_at": c.edited_at,
                    "deleted_at": c.deleted_at,
                })
            })
            .collect();
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
            "comments": comments,
        }));
    }
    audit_export(services, p, Format::Json, prompts.len(), selection).await?;
    Ok(json!({
        "format": JSON_FORMAT,
        "exported_at": services.clock.now(),
        "collections": collections,
        "categories": categories,
        "prompts": prompts,
    }))
}

pub async fn csv(services: &Services, p: &Principal, selection: &Selection) -> Result<String, AppError> {
    p.require(Action::ExportData, &Resource::Org(p.org))?;
    let paths = collection_paths(services, p).await?;
    let mut out = String::from(
        "id,title,description,status,visibility,category,tags,collection,version,author,updated_at,content\n",
    );
    let prompts = selected(services, p, selection).await?;
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
    audit_export(services, p, Format::Csv, prompts.len(), selection).await?;
    Ok(out)
}

/// One Markdown file per prompt: YAML front matter (every field but the text; JSON scalars and
/// lists, which YAML reads as they are) then the prompt's text. Paths follow the prompt's
/// collection; names are the title's slug, made unique with the id's first characters.
pub async fn markdown(
    services: &Services,
    p: &Principal,
    selection: &Selection,
) -> Result<Vec<(String, String, chrono::DateTime<chrono::Utc>)>, AppError> {
    p.require(Action::ExportData, &Resource::Org(p.org))?;
    let paths = collection_paths(services, p).await?;
    let prompts = selected(services, p, selection).await?;
    let mut files = Vec::with_capacity(prompts.len());
    let mut taken = std::collections::HashSet::new();
    for r in &prompts {
        let labels: serde_json::Map<String, Value> =
            services.store.prompt_labels(p.org, r.id).await?.into_iter().map(|l| (l.label, json!(l.version))).collect();
        let collection = r.collection_id.and_then(|c| paths.get(&c).cloned()).unwrap_or_default();
        let front = [
            ("id", json!(r.id)),
            ("title", json!(r.fields.title)),
            ("description", json!(r.fields.description)),
            ("status", json!(r.fields.status)),
            ("visibility", json!(r.fields.visibility)),
            ("category", json!(r.fields.category)),
            ("tags", json!(r.fields.tags)),
            ("collection", json!(collection)),
            ("version", json!(r.version)),
            ("labels", Value::Object(labels)),
            ("author", json!(r.author_name)),
            ("created_at", json!(r.created_at)),
            ("updated_at", json!(r.updated_at)),
            ("variables", json!(r.fields.variables)),
            ("model", json!(r.fields.model)),
        ];
        let mut text = String::from("---\n");
        for (key, value) in front {
            text.push_str(&format!("{key}: {value}\n"));
        }
        text.push_str("---\n\n");
        text.push_str(&r.fields.body);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let folder: Vec<String> = collection.split(" / ").filter(|s| !s.is_empty()).map(file_safe).collect();
        let mut name = folder.iter().map(|f| format!("{f}/")).collect::<String>();
        name.push_str(&slug(&r.fields.title));
        if !taken.insert(name.clone()) {
            name.push_str(&format!("-{}", &r.id.simple().to_string()[..8]));
            taken.insert(name.clone());
        }
        files.push((format!("{name}.md"), text, r.updated_at));
    }
    audit_export(services, p, Format::Markdown, prompts.len(), selection).await?;
    Ok(files)
}

/// Lowercase words joined by `-`, letters of any script kept; `prompt` when nothing is left.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(80).collect();
    if out.is_empty() { "prompt".into() } else { out }
}

/// A collection name usable as a folder: no separators, no leading dots.
fn file_safe(name: &str) -> String {
    let cleaned: String =
        name.chars()
            .map(|c| {
                if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control() {
                    '-'
                } else {
                    c
                }
            })
            .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { "collection".into() } else { cleaned }
}
