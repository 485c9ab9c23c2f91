//! Assigning a sequence to people: team leaders to their team's members, enterprise admins to
//! anyone in the organization or whole teams, optionally mandatory (the assignee cannot leave)
//! with a due date; and the progress of everyone assigned. Who may do what is the PowerPrompts
//! matrix (assign to individuals / teams, bulk, mandatory, track progress).

use crate::domain::sequence::SubscriptionStatus;
use crate::domain::{TeamId, UserId};
use crate::error::AppError;
use chrono::{DateTime, NaiveDate, Utc};
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use uuid::Uuid;

/// People and teams the caller may assign a sequence to, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignChoices {
    pub people: Vec<Assignable>,
    pub teams: Vec<AssignableTeam>,
    /// More than one person at a time.
    pub may_bulk: bool,
    pub may_mandate: bool,
}

impl AssignChoices {
    pub fn is_empty(&self) -> bool {
        self.people.is_empty() && self.teams.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignable {
    pub user_id: UserId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignableTeam {
    pub id: TeamId,
    pub name: String,
    pub members: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignInput {
    pub sequence_id: Uuid,
    #[serde(default)]
    pub users: Vec<UserId>,
    #[serde(default)]
    pub teams: Vec<TeamId>,
    #[serde(default)]
    pub mandatory: bool,
    /// `YYYY-MM-DD`, empty for none.
    #[serde(default)]
    pub due_on: String,
}

/// What an assignment did: who got the sequence, who was left out and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignReport {
    pub assigned: Vec<String>,
    pub skipped: Vec<(String, String)>,
}

/// One assignee's progress, for the people allowed to follow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssigneeProgress {
    pub name: String,
    pub assigned_by: String,
    pub mandatory: bool,
    pub due_on: Option<NaiveDate>,
    /// Past its due date and not completed.
    pub overdue: bool,
    pub status: SubscriptionStatus,
    pub percent: u8,
    pub current_step: Option<String>,
    pub last_activity: DateTime<Utc>,
}

/// One assignment of up to this many people.
pub const MAX_ASSIGNEES: usize = 500;

#[cfg(feature = "ssr")]
pub mod rules {
    use super::*;
    use crate::api::prompts::library::Principal;
    use crate::api::sequences::rules::{start_subscription, subscription_view, visible};
    use crate::domain::permission::SequenceFacts;
    use crate::domain::schedule::Preferences;
    use crate::domain::{Action, Resource};
    use crate::ports::{NotificationRecord, SequenceRecord, Services, TeamRecord};
    use std::collections::{HashMap, HashSet};

    /// The teams each person belongs to, and the team leaders' teams.
    struct Teams {
        records: Vec<TeamRecord>,
        of_person: HashMap<UserId, Vec<TeamId>>,
    }

    impl Teams {
        async fn load(services: &Services, p: &Principal) -> Result<Self, AppError> {
            let records = services.store.teams(p.org).await?;
            let mut of_person: HashMap<UserId, Vec<TeamId>> = HashMap::new();
            for team in &records {
                for (user, _, _) in &team.members {
                    of_person.entry(*user).or_default().push(team.id);
                }
            }
            Ok(Self { records, of_person })
        }

        /// The facts about `user` for the matrix: their team that the caller leads, if any.
        fn person(&self, p: &Principal, s: &SequenceRecord, user: UserId) -> Resource {
            let led = p.actor.membership_in(p.org).map(|m| m.led_teams.clone()).unwrap_or_default();
            let team = self.of_person.get(&user).and_then(|teams| teams.iter().find(|t| led.contains(t)).copied());
            Resource::Sequence(SequenceFacts {
                org: Some(p.org),
                creator: Some(s.creator_id),
                subject: Some(user),
                team,
                ..Default::default()
            })
        }

        fn team(p: &Principal, team: TeamId) -> Resource {
            Resource::Sequence(SequenceFacts { org: Some(p.org), team: Some(team), ..Default::default() })
        }
    }

    fn published(s: &SequenceRecord) -> Result<i32, AppError> {
        s.published_version.ok_or_else(|| AppError::validation("sequence", "Publish the sequence before assigning it."))
    }

    pub async fn options(services: &Services, p: &Principal, id: Uuid) -> Result<AssignChoices, AppError> {
        let s = visible(services, p, id).await?;
        let teams = Teams::load(services, p).await?;
        let people = services
            .store
            .members(p.org)
            .await?
            .into_iter()
            .filter(|m| m.user_id != p.user && p.may(Action::AssignToIndividuals, &teams.person(p, &s, m.user_id)))
            .map(|m| Assignable { user_id: m.user_id, name: m.display_name })
            .collect();
        let assignable_teams = teams
            .records
            .iter()
            .filter(|t| p.may(Action::AssignToTeams, &Teams::team(p, t.id)))
            .map(|t| AssignableTeam { id: t.id, name: t.name.clone(), members: t.members.len() })
            .collect();
        Ok(AssignChoices {
            people,
            teams: assignable_teams,
            may_bulk: p.may(Action::BulkAssign, &Resource::Org(p.org)),
            may_mandate: p.may(Action::MandatoryAssign, &Resource::Org(p.org)),
        })
    }

    pub async fn assign(services: &Services, p: &Principal, input: &AssignInput) -> Result<AssignReport, AppError> {
        let s = visible(services, p, input.sequence_id).await?;
        let version = published(&s)?;
        let teams = Teams::load(services, p).await?;
        // Everyone named, each once, teams expanded; every target must be the caller's to assign.
        let mut targets: Vec<UserId> = Vec::new();
        for user in &input.users {
            if !p.may(Action::AssignToIndividuals, &teams.person(p, &s, *user)) {
                return Err(AppError::Forbidden);
            }
            targets.push(*user);
        }
        for team in &input.teams {
            let record = teams.records.iter().find(|t| t.id == *team).ok_or(AppError::NotFound)?;
            if !p.may(Action::AssignToTeams, &Teams::team(p, *team)) {
                return Err(AppError::Forbidden);
            }
            targets.extend(record.members.iter().map(|(user, _, _)| *user));
        }
        let mut seen = std::collections::HashSet::new();
        targets.retain(|u| seen.insert(*u));
        if targets.is_empty() {
            return Err(AppError::validation("users", "Choose at least one person or team."));
        }
        if targets.len() > MAX_ASSIGNEES {
            return Err(AppError::validation("users", format!("Assign at most {MAX_ASSIGNEES} people at a time.")));
        }
        if targets.len() > 1 && !p.may(Action::BulkAssign, &Resource::Org(p.org)) {
            return Err(AppError::validation("users", "You can assign one person at a time."));
        }
        if input.mandatory && !p.may(Action::MandatoryAssign, &Resource::Org(p.org)) {
            return Err(AppError::validation("mandatory", "Only enterprise admins can make an assignment mandatory."));
        }
        let now = services.clock.now();
        let due_on = match input.due_on.trim() {
            "" => None,
            raw => {
                let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| AppError::validation("due_on", "Give the due date as YYYY-MM-DD."))?;
                if day < now.date_naive() {
                    return Err(AppError::validation("due_on", "The due date has passed."));
                }
                Some(day)
            }
        };
        let steps = services.store.sequence_version(s.id, version).await?.ok_or(AppError::NotFound)?;
        let assigner = services.store.user_by_id(p.user).await?.ok_or(AppError::Unauthenticated)?;
        let mut report = AssignReport { assigned: Vec::new(), skipped: Vec::new() };
        let mut notes = Vec::new();
        // Who is in the organization and who already takes the sequence, read once for everyone.
        let members: HashSet<UserId> = services.store.members(p.org).await?.into_iter().map(|m| m.user_id).collect();
        let taking: HashSet<UserId> =
            services.store.running_subscriptions(s.id).await?.into_iter().map(|sub| sub.user_id).collect();
        for user_id in targets {
            let Some(user) = services.store.user_by_id(user_id).await? else { continue };
            if !members.contains(&user_id) {
                report.skipped.push((user.display_name, "not a member of this organization".into()));
                continue;
            }
            if taking.contains(&user_id) {
                report.skipped.push((user.display_name, "already taking this sequence".into()));
                continue;
            }
            let preferences = Preferences { timezone: user.timezone.clone(), ..Default::default() };
            let sub = start_subscription(services, p.org, &s, version, &steps, &user, preferences, |sub| {
                sub.assigned_by = Some(p.user);
                sub.mandatory = input.mandatory;
                sub.due_on = due_on;
            })
            .await?;
            let due = due_on.map(|d| format!(", due {}", d.format("%-d %B %Y"))).unwrap_or_default();
            notes.push(NotificationRecord {
                id: Uuid::now_v7(),
                user_id,
                org_id: Some(p.org),
                kind: "assignment".into(),
                title: format!("{} assigned you “{}”", assigner.display_name, s.meta.title),
                body: format!("{}{due}.", if input.mandatory { "Mandatory" } else { "Optional" }),
                link: format!("/inbox/{}", sub.id),
                created_at: now,
                read_at: None,
            });
            report.assigned.push(user.display_name);
        }
        services.store.add_notifications(&notes).await?;
        p.audit(
            services,
            "sequence.assigned",
            s.id.to_string(),
            None,
            Some(serde_json::json!({
                "assigned": report.assigned.len(),
                "skipped": report.skipped.len(),
                "mandatory": input.mandatory,
                "due_on": due_on,
            })),
        )
        .await?;
        Ok(report)
    }

    /// Everyone assigned the sequence whom the caller may follow: their own assignments, their
    /// teams' members (team leaders), everyone (the creator, enterprise admins).
    pub async fn progress(services: &Services, p: &Principal, id: Uuid) -> Result<Vec<AssigneeProgress>, AppError> {
        let s = visible(services, p, id).await?;
        let teams = Teams::load(services, p).await?;
        let now = services.clock.now();
        let today = now.date_naive();
        let names: HashMap<UserId, String> =
            services.store.members(p.org).await?.into_iter().map(|m| (m.user_id, m.display_name)).collect();
        let mut versions = HashMap::new();
        let mut out = Vec::new();
        for sub in services.store.assigned_subscriptions(s.id).await? {
            let follows =
                sub.assigned_by == Some(p.user) || p.may(Action::TrackProgress, &teams.person(p, &s, sub.user_id));
            if !follows || sub.org_id != p.org {
                continue;
            }
            let steps = match versions.entry(sub.version) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(services.store.sequence_version(s.id, sub.version).await?.unwrap_or_default())
                }
            };
            let view = subscription_view(&sub, &s.meta.title, steps, &[], 0, now);
            let name =
                |u: Option<UserId>| u.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "a former member".into());
            out.push(AssigneeProgress {
                name: name(Some(sub.user_id)),
                assigned_by: name(sub.assigned_by),
                mandatory: sub.mandatory,
                due_on: sub.due_on,
                overdue: sub.due_on.is_some_and(|d| d < today) && sub.status != SubscriptionStatus::Completed,
                status: sub.status,
                percent: view.percent,
                current_step: view.current_step,
                last_activity: sub.updated_at,
            });
        }
        Ok(out)
    }
}

/// Whom the caller may assign this sequence to.
#[server(endpoint = "assign_options", input = Json)]
pub async fn assign_options(id: Uuid) -> Result<AssignChoices, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::options(&services, &p, id).await
    })
    .await
}

/// Assigns a published sequence to people and teams.
#[server(endpoint = "assign_sequence", input = Json)]
pub async fn assign_sequence(input: AssignInput) -> Result<AssignReport, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::assign(&services, &p, &input).await
    })
    .await
}

/// The progress of everyone assigned the sequence whom the caller may follow.
#[server(endpoint = "assignment_progress", input = Json)]
pub async fn assignment_progress(id: Uuid) -> Result<Vec<AssigneeProgress>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::progress(&services, &p, id).await
    })
    .await
}
