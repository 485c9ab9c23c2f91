//! The organization's prompt analytics: most used and viewed prompts, uses over time, activity by
//! member and the category breakdown, for a period of days ending today (UTC), as the page shows
//! them and as CSV. Needs: ViewAnalytics (Owner, Admin).

use crate::dto::AnalyticsView;
use crate::error::AppError;
use leptos::server;

/// Periods the page offers, in days.
pub const PERIODS: [i64; 3] = [7, 30, 90];

#[cfg(feature = "ssr")]
pub mod rules {
    use super::PERIODS;
    use crate::api::prompts::library::Principal;
    use crate::domain::{Action, Resource};
    use crate::dto::{AnalyticsView, CategoryUsage, DayUsage, MemberActivity, TopPrompt};
    use crate::error::AppError;
    use crate::ports::Services;
    use chrono::{Duration, NaiveDate};
    use std::collections::BTreeMap;

    /// What a member's audit entries count as.
    fn kind(action: &str) -> Option<&'static str> {
        Some(match action {
            "prompt.created" | "prompt.duplicated" => "created",
            "prompt.updated"
            | "prompt.reverted"
            | "prompt.label_moved"
            | "prompt.label_removed"
            | "prompt.bulk_changed" => "edited",
            "comment.created" => "comments",
            "prompt.run" => "runs",
            _ => return None,
        })
    }

    pub async fn analytics(services: &Services, p: &Principal, days: i64) -> Result<AnalyticsView, AppError> {
        p.require(Action::ViewAnalytics, &Resource::Org(p.org))?;
        if !PERIODS.contains(&days) {
            return Err(AppError::validation("days", "Choose 7, 30 or 90 days."));
        }
        let now = services.clock.now();
        let today = now.date_naive();
        let first = today - Duration::days(days - 1);
        let (from, to) = (first.format("%Y-%m-%d").to_string(), today.format("%Y-%m-%d").to_string());
        let store = &services.store;
        // What this server counted and has not written yet goes in first, so a use just made
        // shows; other servers' counts are at most a second behind.
        services.prompt_counts.flush(store.as_ref()).await?;

        // Every day of the period, zero where nothing happened.
        let counted: BTreeMap<String, (i64, i64)> =
            store.usage_by_day(p.org, &from, &to).await?.into_iter().map(|r| (r.day, (r.views, r.uses))).collect();
        let series = first
            .iter_days()
            .take(days as usize)
            .map(|d: NaiveDate| {
                let day = d.format("%Y-%m-%d").to_string();
                let (views, uses) = counted.get(&day).copied().unwrap_or((0, 0));
                DayUsage { day, views, uses }
            })
            .collect();

        let top = |rows: Vec<crate::ports::TopPromptRow>| -> Vec<TopPrompt> {
            rows.into_iter()
                .map(|r| TopPrompt { id: r.id, title: r.title, category: r.category, views: r.views, uses: r.uses })
                .collect()
        };
        let most_used = top(store.top_prompts(p.org, &from, &to, false, 10).await?);
        let most_viewed = top(store.top_prompts(p.org, &from, &to, true, 10).await?);

        let start = first.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
        let mut members: BTreeMap<uuid::Uuid, MemberActivity> = BTreeMap::new();
        for row in store.member_actions(p.org, start, now + Duration::seconds(1)).await? {
            let entry = members
                .entry(row.user)
                .or_insert_with(|| MemberActivity { name: row.name.clone(), ..Default::default() });
            entry.total += row.count;
            match kind(&row.action) {
                Some("created") => entry.created += row.count,
                Some("edited") => entry.edited += row.count,
                Some("comments") => entry.comments += row.count,
                Some("runs") => entry.runs += row.count,
                _ => {}
            }
        }
        let mut members: Vec<MemberActivity> = members.into_values().collect();
        members.sort_by(|a, b| b.total.cmp(&a.total).then(a.name.cmp(&b.name)));

        let categories = store
            .category_usage(p.org)
            .await?
            .into_iter()
            .map(|r| CategoryUsage {
                category: if r.category.is_empty() { "Uncategorized".into() } else { r.category },
                prompts: r.prompts,
                uses: r.uses,
                views: r.views,
            })
            .collect();
        Ok(AnalyticsView { days, from, to, series, most_used, most_viewed, members, categories })
    }

    fn csv_field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) || s.starts_with(['=', '+', '-', '@']) {
            let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }

    /// The page's tables as CSV: one block per table, each with its header row.
    pub fn csv(view: &AnalyticsView) -> String {
        let mut out = format!("Prompt analytics,{} to {}\n\nDay,Views,Uses\n", view.from, view.to);
        for d in &view.series {
            out.push_str(&format!("{},{},{}\n", d.day, d.views, d.uses));
        }
        out.push_str("\nMost used prompt,Category,Uses,Views\n");
        for t in &view.most_used {
            out.push_str(&format!("{},{},{},{}\n", csv_field(&t.title), csv_field(&t.category), t.uses, t.views));
        }
        out.push_str("\nMost viewed prompt,Category,Views,Uses\n");
        for t in &view.most_viewed {
            out.push_str(&format!("{},{},{},{}\n", csv_field(&t.title), csv_field(&t.category), t.views, t.uses));
        }
        out.push_str("\nMember,Created,Edited,Comments,Runs,All actions\n");
        for m in &view.members {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                csv_field(&m.name),
                m.created,
                m.edited,
                m.comments,
                m.runs,
                m.total
            ));
        }
        out.push_str("\nCategory,Prompts,Uses,Views\n");
        for c in &view.categories {
            out.push_str(&format!("{},{},{},{}\n", csv_field(&c.category), c.prompts, c.uses, c.views));
        }
        out
    }
}

/// The active organization's analytics over the last `days` (7, 30 or 90). Needs: ViewAnalytics.
#[server(endpoint = "analytics")]
pub async fn analytics(days: i64) -> Result<AnalyticsView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::analytics(&services, &p, days).await
    })
    .await
}
