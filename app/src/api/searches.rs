//! Recent and saved searches of the prompt list. A search is the list's query string
//! (`q`, `status`, `category`, `tags`, `sort`, `favorites`, `collection`), so a saved search is
//! a link anyone in the organization can open: `/prompts?…`. Each member's last ten searches are
//! kept; saved ones are the member's own, or shared with the organization.

use super::prompts::ListParams;
use crate::domain::url::{decode, encode};
use crate::dto::SearchView;
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;
use uuid::Uuid;

/// Recent searches kept per member and organization.
pub const RECENT: i64 = 10;
/// Saved searches a member may have in one organization.
pub const MAX_SAVED: usize = 50;

/// The list page's filters as a query string, in a fixed order, without empty ones.
pub fn query_string(params: &ListParams) -> String {
    let mut parts = Vec::new();
    for (key, value) in [
        ("q", params.q.trim()),
        ("status", params.status.trim()),
        ("category", params.category.trim()),
        ("tags", params.tags.trim()),
        ("sort", params.sort.trim()),
    ] {
        if !value.is_empty() {
            parts.push(format!("{key}={}", encode(value)));
        }
    }
    if params.favorites {
        parts.push("favorites=true".into());
    }
    if let Some(collection) = params.collection {
        parts.push(format!("collection={collection}"));
    }
    parts.join("&")
}

/// The filters of a query string (unknown keys are ignored).
pub fn parse_query(query: &str) -> ListParams {
    let mut params = ListParams::default();
    for pair in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value);
        match key {
            "q" => params.q = value,
            "status" => params.status = value,
            "category" => params.category = value,
            "tags" => params.tags = value,
            "sort" => params.sort = value,
            "favorites" => params.favorites = value == "true",
            "collection" => params.collection = value.parse().ok(),
            _ => {}
        }
    }
    params
}

/// A search in words: “promt” · status: draft · tags: email.
pub fn describe(params: &ListParams) -> String {
    let mut parts = Vec::new();
    if !params.q.trim().is_empty() {
        parts.push(format!("“{}”", params.q.trim()));
    }
    for (label, value) in [("status", &params.status), ("category", &params.category), ("tags", &params.tags)] {
        if !value.trim().is_empty() {
            parts.push(format!("{label}: {}", value.trim()));
        }
    }
    if params.favorites {
        parts.push("favorites".into());
    }
    if params.collection.is_some() {
        parts.push("in a collection".into());
    }
    match params.sort.trim() {
        "updated" => parts.push("recently updated first".into()),
        "created" => parts.push("newest first".into()),
        "popularity" => parts.push("most used first".into()),
        _ => {}
    }
    if parts.is_empty() { "All prompts".into() } else { parts.join(" · ") }
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::{ListParams, MAX_SAVED, RECENT, describe, parse_query, query_string};
    use crate::api::prompts::library::Principal;
    use crate::domain::{Action, Resource};
    use crate::dto::SearchView;
    use crate::error::AppError;
    use crate::ports::{SavedSearchRecord, Services, StoreError};
    use uuid::Uuid;

    /// Remembers a search the member ran in the UI (not paging, not an empty one).
    pub async fn remember(services: &Services, p: &Principal, params: &ListParams) {
        if !params.cursor.is_empty() || p.api_key.is_some() {
            return;
        }
        let query = query_string(params);
        if query.is_empty() || query.len() > 2_000 {
            return;
        }
        if let Err(err) = services.store.record_search(p.org, p.user, &query, services.clock.now(), RECENT).await {
            tracing::warn!(error = %err, "remembering a search failed");
        }
    }

    fn view(p: &Principal, s: SavedSearchRecord) -> SearchView {
        let mine = s.user_id == p.user;
        SearchView {
            id: Some(s.id),
            description: describe(&parse_query(&s.query)),
            name: s.name,
            query: s.query,
            shared: s.shared,
            mine,
            can_delete: mine || (s.shared && p.may(Action::ManageCategories, &Resource::Org(p.org))),
            at: s.created_at,
        }
    }

    pub async fn recent(services: &Services, p: &Principal) -> Result<Vec<SearchView>, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let recent = services.store.recent_searches(p.org, p.user, RECENT).await?;
        Ok(recent
            .into_iter()
            .map(|(query, at)| {
                let description = describe(&parse_query(&query));
                SearchView {
                    id: None,
                    name: description.clone(),
                    description,
                    query,
                    shared: false,
                    mine: true,
                    can_delete: false,
                    at,
                }
            })
            .collect())
    }

    pub async fn saved(services: &Services, p: &Principal) -> Result<Vec<SearchView>, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        Ok(services.store.saved_searches(p.org, p.user).await?.into_iter().map(|s| view(p, s)).collect())
    }

    /// Saves a search under a name, for the member or (shared) for the whole organization.
    pub async fn save(
        services: &Services,
        p: &Principal,
        name: &str,
        query: &str,
        shared: bool,
    ) -> Result<SearchView, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.contains('\0') {
            return Err(AppError::validation(
                "name",
                "Name the search (80 characters at most), e.g. “Drafts to review”.",
            ));
        }
        let params = parse_query(query);
        let query = query_string(&params);
        if query.is_empty() {
            return Err(AppError::validation("query", "Search or filter first: there is nothing to save yet."));
        }
        if query.len() > 2_000 || query.contains("%00") {
            return Err(AppError::validation("query", "That search is too long to save."));
        }
        let own =
            services.store.saved_searches(p.org, p.user).await?.into_iter().filter(|s| s.user_id == p.user).count();
        if own >= MAX_SAVED {
            return Err(AppError::validation(
                "name",
                format!("You can keep {MAX_SAVED} saved searches; delete one first."),
            ));
        }
        let record = SavedSearchRecord {
            id: Uuid::now_v7(),
            org_id: p.org,
            user_id: p.user,
            name: name.to_owned(),
            query,
            shared,
            created_at: services.clock.now(),
        };
        match services.store.save_search(&record).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::validation("name", "You already have a saved search with that name."));
            }
            other => other?,
        }
        Ok(view(p, record))
    }

    /// Deletes one's own saved search; Owners and Admins also remove shared ones.
    pub async fn delete(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let search = services.store.saved_search(p.org, id).await?.ok_or(AppError::NotFound)?;
        if search.user_id != p.user && !search.shared {
            return Err(AppError::NotFound);
        }
        if !view(p, search).can_delete {
            return Err(AppError::Forbidden);
        }
        services.store.delete_saved_search(p.org, id).await?;
        Ok(())
    }
}

/// The member's last searches in the active organization, newest first.
#[server(endpoint = "recent_searches")]
pub async fn recent_searches() -> Result<Vec<SearchView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::recent(&services, &p).await
    })
    .await
}

/// The member's saved searches and those shared with the organization.
#[server(endpoint = "saved_searches")]
pub async fn saved_searches() -> Result<Vec<SearchView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::saved(&services, &p).await
    })
    .await
}

/// Saves the list's current search (its query string) under a name.
#[server(endpoint = "save_search", input = Json)]
pub async fn save_search(name: String, query: String, shared: bool) -> Result<SearchView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::save(&services, &p, &name, &query, shared).await
    })
    .await
}

/// Deletes a saved search: one's own, or (Owners, Admins) a shared one.
#[server(endpoint = "delete_saved_search", input = Json)]
pub async fn delete_saved_search(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::delete(&services, &p, id).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_survives_its_query_string() {
        let params = ListParams {
            q: "promt \"exact phrase\" -draft".into(),
            tags: "email, onboarding".into(),
            status: "draft".into(),
            favorites: true,
            ..Default::default()
        };
        let query = query_string(&params);
        assert_eq!(
            query,
            "q=promt%20%22exact%20phrase%22%20-draft&status=draft&tags=email%2C%20onboarding&favorites=true"
        );
        let back = parse_query(&query);
        assert_eq!((back.q, back.tags, back.status, back.favorites), (params.q, params.tags, params.status, true));
        assert_eq!(parse_query("q=a+b&x=1&q2=%zz").q, "a b");
        assert_eq!(parse_query("q=%E2%80%9Cx%E2%80%9D").q, "“x”");
        assert_eq!(parse_query("q=100%").q, "100%");
        assert_eq!(query_string(&ListParams::default()), "");
    }

    #[test]
    fn searches_are_described_in_words() {
        assert_eq!(
            describe(&parse_query("q=promt&status=draft&sort=updated")),
            "“promt” · status: draft · recently updated first"
        );
        assert_eq!(describe(&ListParams::default()), "All prompts");
    }
}
