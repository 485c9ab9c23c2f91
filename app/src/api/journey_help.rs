//! Help on a journey from people: mentor reviews and concierge sessions.
//!
//! The journey's creator assigns helpers, members with the mentor or concierge role, each with a
//! rate. A client asks a mentor to review a section they submitted (Guided and Premium tiers), or
//! asks a concierge for a session at a time (Premium); on a free journey every member who fills
//! it in may. The helper answers on their desk (`/reviews`, `/sessions`): a mentor completes a
//! review with feedback; a concierge confirms a session, then completes it with notes. A
//! completed review or session pays the helper its rate from the creator's balance, less the
//! journey fee, in the transaction that completes it.

use crate::domain::journey::{Rating, Score};
use crate::domain::{CapabilityRole, UserId};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use uuid::Uuid;

/// A mentor or concierge of a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelperView {
    pub id: UserId,
    pub name: String,
    /// Minor units per completed review or session (shown to the journey's creator only; 0 for
    /// others).
    pub rate: i64,
    /// What clients rated their reviews or sessions, across the organization's journeys.
    pub rating: Option<Rating>,
}

/// Mentors, concierges and the caller's sessions, on the journey's page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JourneyHelp {
    /// The mentors to ask (for its creator, or a client who may ask).
    pub mentors: Vec<HelperView>,
    pub concierges: Vec<HelperView>,
    /// Whether the caller may ask a mentor for reviews (Guided and Premium tiers, free journeys).
    pub reviews: bool,
    /// Whether the caller may ask a concierge for sessions (Premium tier, free journeys).
    pub sessions_open: bool,
    /// The caller's sessions, soonest first.
    pub sessions: Vec<SessionView>,
    /// For its creator: the organization's members with the mentor role, to assign.
    pub mentor_candidates: Vec<HelperView>,
    /// For its creator: the organization's members with the concierge role, to assign.
    pub concierge_candidates: Vec<HelperView>,
}

/// A mentor's review of one section, as its client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    pub id: Uuid,
    pub mentor: String,
    pub completed: bool,
    pub feedback: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The client's rating of it, 1 to 5, once given.
    pub rating: Option<i64>,
}

/// A session with a concierge, as its client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: Uuid,
    pub concierge: String,
    /// `requested`, `confirmed`, `completed` or `canceled`.
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub topic: String,
    pub notes: Option<String>,
    /// Who called it off: "you" or the concierge's name.
    pub canceled_by: Option<String>,
    /// Whether the caller may still call it off (asked for or confirmed, not yet begun).
    pub can_cancel: bool,
    /// The client's rating of it, 1 to 5, once given.
    pub rating: Option<i64>,
}

/// A review asked of the caller, with what the client submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewTask {
    pub id: Uuid,
    pub journey_id: Uuid,
    pub journey: String,
    pub section: String,
    pub client: String,
    pub score: Score,
    /// (question, answer) in the section's order.
    pub answers: Vec<(String, String)>,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub feedback: Option<String>,
    /// What the mentor received, or will receive on completing it (the rate less the journey fee).
    pub pay: i64,
    /// The client's rating, once given.
    pub rating: Option<i64>,
}

/// A mentor's reviews in the active organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorDesk {
    /// Oldest request first.
    pub pending: Vec<ReviewTask>,
    /// Most recently completed first.
    pub completed: Vec<ReviewTask>,
    /// What completed reviews paid, in minor units.
    pub earned: i64,
    /// What clients rated the completed reviews.
    pub rating: Option<Rating>,
}

/// A session asked of the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTask {
    pub id: Uuid,
    pub journey_id: Uuid,
    pub journey: String,
    pub client: String,
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub topic: String,
    pub notes: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// What the concierge received, or will receive on completing it.
    pub pay: i64,
    /// Who called it off: "you" or the client's name.
    pub canceled_by: Option<String>,
    /// The client's rating, once given.
    pub rating: Option<i64>,
}

/// A concierge's sessions in the active organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConciergeDesk {
    /// Asked for and not confirmed yet, soonest first.
    pub requested: Vec<SessionTask>,
    /// Confirmed, soonest first.
    pub confirmed: Vec<SessionTask>,
    /// Most recently completed first.
    pub completed: Vec<SessionTask>,
    /// Called off by either side, latest start first.
    pub canceled: Vec<SessionTask>,
    /// What completed sessions paid, in minor units.
    pub earned: i64,
    /// What clients rated the completed sessions.
    pub rating: Option<Rating>,
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::*;
    use crate::api::journeys::rules::{Access, access, prices, seller, visible};
    use crate::api::prompts::library::Principal;
    use crate::domain::{Action, OrgId, Resource};
    use crate::error::FieldResult;
    use crate::ports::{
        ConciergeSessionRecord, JourneyEntryRecord, JourneyHelperRecord, JourneyRecord, LedgerTx, NotificationRecord,
        ReviewRecord, Services, StoreError,
    };
    use std::collections::BTreeMap;

    /// The organization's mentors' (or concierges') ratings.
    async fn ratings(
        services: &Services,
        org: OrgId,
        role: CapabilityRole,
    ) -> Result<BTreeMap<UserId, Rating>, AppError> {
        let all = services.store.helper_ratings(org, role).await?;
        Ok(all.into_iter().filter_map(|(helper, sum, count)| Some((helper, Rating::of(sum, count)?))).collect())
    }

    /// The journey's helpers in `role` with their ratings, and their rates when `with_rates`.
    async fn helper_views(
        services: &Services,
        org: OrgId,
        helpers: &[JourneyHelperRecord],
        role: CapabilityRole,
        with_rates: bool,
    ) -> Result<Vec<HelperView>, AppError> {
        if !helpers.iter().any(|h| h.role == role) {
            return Ok(Vec::new());
        }
        let ratings = ratings(services, org, role).await?;
        Ok(helpers
            .iter()
            .filter(|h| h.role == role)
            .map(|h| HelperView {
                id: h.helper_id,
                name: h.helper_name.clone(),
                rate: if with_rates { h.rate } else { 0 },
                rating: ratings.get(&h.helper_id).copied(),
            })
            .collect())
    }

    /// The average of the rated ones among `ratings`.
    fn rating_of(ratings: impl Iterator<Item = Option<i64>>) -> Option<Rating> {
        let (sum, count) = ratings.flatten().fold((0, 0), |(sum, count), stars| (sum + stars, count + 1));
        Rating::of(sum, count)
    }

    pub fn review_view(r: ReviewRecord) -> ReviewView {
        ReviewView {
            id: r.id,
            mentor: r.mentor_name,
            completed: r.status == "completed",
            feedback: r.feedback,
            requested_at: r.requested_at,
            completed_at: r.completed_at,
            rating: r.rating,
        }
    }

    fn is_open(s: &ConciergeSessionRecord) -> bool {
        matches!(s.status.as_str(), "requested" | "confirmed")
    }

    /// Who called `s` off, seen by `viewer`: "you" or the other side's name.
    fn canceled_by(s: &ConciergeSessionRecord, viewer: UserId) -> Option<String> {
        let by = s.canceled_by?;
        Some(match by {
            by if by == viewer => "you".to_owned(),
            by if by == s.client_id => s.client_name.clone(),
            _ => s.concierge_name.clone(),
        })
    }

    /// The client's view of one of their sessions at `now`.
    fn session_view(s: ConciergeSessionRecord, now: DateTime<Utc>) -> SessionView {
        SessionView {
            id: s.id,
            can_cancel: is_open(&s) && s.starts_at > now,
            canceled_by: canceled_by(&s, s.client_id),
            concierge: s.concierge_name,
            status: s.status,
            starts_at: s.starts_at,
            topic: s.topic,
            notes: s.notes,
            rating: s.rating,
        }
    }

    /// The help part of a journey's page for the caller.
    pub async fn for_journey(
        services: &Services,
        p: &Principal,
        j: &JourneyRecord,
        access: Access,
    ) -> Result<JourneyHelp, AppError> {
        let is_seller = j.creator_id == p.user;
        let Access { reviews, sessions: sessions_open, .. } = access;
        let helpers = if reviews || sessions_open || is_seller {
            services.store.journey_helpers(j.id).await?
        } else {
            Vec::new()
        };
        let candidates = |role| async move {
            let members = services.store.org_members_with(p.org, role).await?;
            let view = |(id, name)| HelperView { id, name, rate: 0, rating: None };
            Ok::<_, AppError>(members.into_iter().map(view).collect())
        };
        Ok(JourneyHelp {
            mentors: if reviews || is_seller {
                helper_views(services, p.org, &helpers, CapabilityRole::Mentor, is_seller).await?
            } else {
                Vec::new()
            },
            concierges: if sessions_open || is_seller {
                helper_views(services, p.org, &helpers, CapabilityRole::Concierge, is_seller).await?
            } else {
                Vec::new()
            },
            reviews,
            sessions_open,
            sessions: {
                let now = services.clock.now();
                let sessions = services.store.client_sessions(j.id, p.user).await?;
                sessions.into_iter().map(|s| session_view(s, now)).collect()
            },
            mentor_candidates: if is_seller { candidates(CapabilityRole::Mentor).await? } else { Vec::new() },
            concierge_candidates: if is_seller { candidates(CapabilityRole::Concierge).await? } else { Vec::new() },
        })
    }

    fn helper_role(role: CapabilityRole) -> Result<CapabilityRole, AppError> {
        match role {
            CapabilityRole::Mentor | CapabilityRole::Concierge => Ok(role),
            _ => Err(AppError::validation("role", "A journey's helpers are mentors and concierges.")),
        }
    }

    /// Assigns a member with the mentor or concierge role to the journey at `rate` dollars a
    /// review or session ($0 to $1,000), or changes their rate. Only its creator.
    pub async fn set_helper(
        services: &Services,
        p: &Principal,
        id: Uuid,
        role: CapabilityRole,
        helper: UserId,
        rate: &str,
    ) -> Result<Vec<HelperView>, AppError> {
        use crate::domain::billing::parse_money;
        use crate::domain::journey::MAX_HELPER_RATE;
        let role = helper_role(role)?;
        seller(services, p, id).await?;
        if !services.store.org_members_with(p.org, role).await?.iter().any(|(m, _)| *m == helper) {
            let message = format!("Choose a member of this organization with the {} role.", role.as_str());
            return Err(AppError::validation("helper", message));
        }
        let rate = match rate.trim() {
            "" => Err(AppError::validation("helper_rate", "Say what each one pays, e.g. 20 (or 0).")),
            raw => parse_money(raw).map_err(|e| AppError::validation("helper_rate", e.0)),
        }?;
        if rate > MAX_HELPER_RATE {
            return Err(AppError::validation("helper_rate", "At most $1,000.00 each."));
        }
        let record = JourneyHelperRecord {
            journey_id: id,
            helper_id: helper,
            role,
            helper_name: String::new(),
            rate,
            added_at: services.clock.now(),
        };
        services.store.set_journey_helper(&record).await?;
        let after = serde_json::json!({ "role": role, "helper": helper, "rate": rate });
        p.audit(services, "journey.helper", id.to_string(), None, Some(after)).await?;
        helper_views(services, p.org, &services.store.journey_helpers(id).await?, role, true).await
    }

    /// Takes a helper off the journey; what was asked of them already stays theirs to complete.
    pub async fn remove_helper(
        services: &Services,
        p: &Principal,
        id: Uuid,
        role: CapabilityRole,
        helper: UserId,
    ) -> Result<Vec<HelperView>, AppError> {
        let role = helper_role(role)?;
        seller(services, p, id).await?;
        if !services.store.remove_journey_helper(id, role, helper).await? {
            return Err(AppError::NotFound);
        }
        let before = serde_json::json!({ "role": role, "helper": helper });
        p.audit(services, "journey.helper_removed", id.to_string(), Some(before), None).await?;
        helper_views(services, p.org, &services.store.journey_helpers(id).await?, role, true).await
    }

    /// The journey's helper in `role` the caller may ask (never themselves), named on `field`.
    async fn chosen_helper(
        services: &Services,
        p: &Principal,
        j: &JourneyRecord,
        role: CapabilityRole,
        helper: UserId,
        field: &str,
    ) -> Result<JourneyHelperRecord, AppError> {
        let helpers = services.store.journey_helpers(j.id).await?;
        helpers
            .into_iter()
            .find(|h| h.role == role && h.helper_id == helper && h.helper_id != p.user)
            .ok_or_else(|| AppError::validation(field, format!("Choose one of this journey's {}s.", role.as_str())))
    }

    async fn notify(
        services: &Services,
        org: OrgId,
        to: UserId,
        title: &str,
        body: String,
        link: String,
    ) -> Result<(), AppError> {
        let note = NotificationRecord {
            id: Uuid::now_v7(),
            user_id: to,
            org_id: Some(org),
            kind: "journey_help".into(),
            title: title.into(),
            body,
            link,
            created_at: services.clock.now(),
            read_at: None,
        };
        Ok(services.store.add_notifications(&[note]).await?)
    }

    async fn display_name(services: &Services, user: UserId) -> Result<String, AppError> {
        Ok(services.store.user_by_id(user).await?.map(|u| u.display_name).unwrap_or_default())
    }

    /// What completing help at `rate` pays the helper, and the ledger transaction moving it from
    /// the creator's balance (none when it pays nothing).
    async fn pay(
        services: &Services,
        creator: UserId,
        helper: UserId,
        rate: i64,
        reference: (&str, Uuid),
        now: DateTime<Utc>,
    ) -> Result<(i64, Option<LedgerTx>), AppError> {
        use crate::domain::billing::{CURRENCY, helper_pay_entries};
        let fee_bps = crate::api::billing::rules::journey_fee_bps(services).await?;
        let (paid, entries) = helper_pay_entries(creator, helper, rate, fee_bps);
        let ledger = (!entries.is_empty()).then(|| LedgerTx {
            id: Uuid::now_v7(),
            kind: reference.0.into(),
            reference: format!("{}:{}", reference.0, reference.1),
            currency: CURRENCY.into(),
            created_at: now,
            entries,
        });
        Ok((paid, ledger))
    }

    /// What a helper will receive for `rate` at the journey fee now.
    fn after_fee(rate: i64, fee_bps: u32) -> i64 {
        rate - crate::domain::billing::percent_of(rate, fee_bps)
    }

    /// Asks one of the journey's mentors to review a section the caller submitted.
    pub async fn request_review(
        services: &Services,
        p: &Principal,
        id: Uuid,
        section: &str,
        mentor: UserId,
    ) -> Result<ReviewView, AppError> {
        let j = visible(services, p, id).await?;
        let priced = !prices(services, j.org_id, j.id).await?.is_empty();
        if !access(services, p, &j, priced).await?.reviews {
            return Err(AppError::PlanLimit {
                message: "Mentor reviews come with the Guided and Premium tiers.".into(),
                upgrade: None,
            });
        }
        let s = j.sections.iter().find(|s| s.id == section).ok_or(AppError::NotFound)?;
        let entries = services.store.journey_entries(j.id, p.user).await?;
        if !entries.iter().any(|e| e.section_id == s.id && e.submitted_at.is_some()) {
            return Err(AppError::conflict("Submit this section first: mentors review submitted sections."));
        }
        let chosen = chosen_helper(services, p, &j, CapabilityRole::Mentor, mentor, "mentor").await?;
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let review = ReviewRecord {
            id: Uuid::now_v7(),
            journey_id: j.id,
            client_id: p.user,
            section_id: s.id.clone(),
            mentor_id: chosen.helper_id,
            status: "requested".into(),
            feedback: None,
            rate: chosen.rate,
            mentor_amount: 0,
            requested_at: now,
            completed_at: None,
            rating: None,
            client_name: String::new(),
            mentor_name: chosen.helper_name,
        };
        match services.store.request_review(&review).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::conflict("You asked for a review of this section already."));
            }
            done => done?,
        }
        let client = display_name(services, p.user).await?;
        let body = format!("{client} asks you to review “{}” in {}.", s.title, j.title);
        notify(services, p.org, review.mentor_id, "A review was requested", body, "/reviews".into()).await?;
        Ok(review_view(review))
    }

    /// The reviews asked of the caller in the organization's journeys.
    pub async fn mentor_desk(services: &Services, p: &Principal) -> Result<MentorDesk, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let fee_bps = crate::api::billing::rules::journey_fee_bps(services).await?;
        let mut journeys: BTreeMap<Uuid, Option<JourneyRecord>> = BTreeMap::new();
        let mut desk = MentorDesk { pending: Vec::new(), completed: Vec::new(), earned: 0, rating: None };
        let mut entries: BTreeMap<(Uuid, UserId, String), JourneyEntryRecord> = services
            .store
            .reviewed_entries(p.org, p.user)
            .await?
            .into_iter()
            .map(|e| ((e.journey_id, e.user_id, e.section_id.clone()), e))
            .collect();
        for r in services.store.mentor_reviews(p.org, p.user).await? {
            if let std::collections::btree_map::Entry::Vacant(slot) = journeys.entry(r.journey_id) {
                slot.insert(services.store.journey(p.org, r.journey_id).await?);
            }
            let Some(Some(j)) = journeys.get(&r.journey_id) else { continue };
            let Some(section) = j.sections.iter().find(|s| s.id == r.section_id) else { continue };
            let entry = entries.remove(&(j.id, r.client_id, r.section_id.clone()));
            let completed = r.status == "completed";
            let pay = if completed { r.mentor_amount } else { after_fee(r.rate, fee_bps) };
            let task = ReviewTask {
                id: r.id,
                journey_id: j.id,
                journey: j.title.clone(),
                section: section.title.clone(),
                client: r.client_name,
                score: entry.as_ref().map(|e| e.score).unwrap_or_default(),
                answers: section
                    .fields
                    .iter()
                    .map(|f| {
                        let answer = entry.as_ref().and_then(|e| e.answers.get(&f.id)).cloned().unwrap_or_default();
                        (f.label.clone(), answer)
                    })
                    .collect(),
                requested_at: r.requested_at,
                completed_at: r.completed_at,
                feedback: r.feedback,
                pay,
                rating: r.rating,
            };
            if completed {
                desk.earned += pay;
                desk.completed.push(task);
            } else {
                desk.pending.push(task);
            }
        }
        desk.completed.sort_by_key(|t| std::cmp::Reverse(t.completed_at));
        desk.rating = rating_of(desk.completed.iter().map(|t| t.rating));
        Ok(desk)
    }

    /// Completes a review asked of the caller with their feedback: the client is told, and the
    /// mentor is paid the review's rate from the creator's balance, less the journey fee.
    pub async fn complete_review(services: &Services, p: &Principal, id: Uuid, feedback: &str) -> Result<(), AppError> {
        use crate::domain::journey::parse_feedback;
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let r = services.store.review(id).await?.ok_or(AppError::NotFound)?;
        let j = services.store.journey(p.org, r.journey_id).await?.ok_or(AppError::NotFound)?;
        if r.mentor_id != p.user {
            return Err(AppError::Forbidden);
        }
        let done = || AppError::conflict("This review is completed already.");
        if r.status == "completed" {
            return Err(done());
        }
        let feedback = parse_feedback(feedback).field("feedback")?;
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let (paid, ledger) = pay(services, j.creator_id, r.mentor_id, r.rate, ("review", id), now).await?;
        if !services.store.complete_review(id, &feedback, paid, now, ledger.as_ref()).await? {
            return Err(done());
        }
        let section = j.sections.iter().find(|s| s.id == r.section_id).map(|s| s.title.as_str()).unwrap_or("a section");
        let body = format!("{} reviewed “{section}” in {}.", r.mentor_name, j.title);
        notify(services, p.org, r.client_id, "Your review is in", body, format!("/journeys/{}", j.id)).await?;
        let after = serde_json::json!({ "rate": r.rate, "mentor_amount": paid });
        p.audit(services, "journey.review_completed", id.to_string(), None, Some(after)).await?;
        Ok(())
    }

    /// Asks one of the journey's concierges for a session at `starts_at` (a local date and time
    /// in the caller's timezone, at least an hour ahead and within a year) about `topic`.
    pub async fn request_session(
        services: &Services,
        p: &Principal,
        id: Uuid,
        concierge: UserId,
        starts_at: &str,
        topic: &str,
    ) -> Result<SessionView, AppError> {
        use crate::domain::journey::{MAX_OPEN_SESSIONS, parse_topic};
        let j = visible(services, p, id).await?;
        let priced = !prices(services, j.org_id, j.id).await?.is_empty();
        if !access(services, p, &j, priced).await?.sessions {
            return Err(AppError::PlanLimit {
                message: "Concierge sessions come with the Premium tier.".into(),
                upgrade: None,
            });
        }
        let chosen = chosen_helper(services, p, &j, CapabilityRole::Concierge, concierge, "concierge").await?;
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let starts_at = session_time(services, p, starts_at, now).await?;
        let session = ConciergeSessionRecord {
            id: Uuid::now_v7(),
            journey_id: j.id,
            client_id: p.user,
            concierge_id: chosen.helper_id,
            status: "requested".into(),
            starts_at,
            topic: parse_topic(topic).field("topic")?,
            notes: None,
            rate: chosen.rate,
            concierge_amount: 0,
            requested_at: now,
            confirmed_at: None,
            completed_at: None,
            canceled_at: None,
            canceled_by: None,
            rating: None,
            client_name: String::new(),
            concierge_name: chosen.helper_name,
        };
        if !services.store.request_session(&session, MAX_OPEN_SESSIONS).await? {
            return Err(AppError::conflict(format!(
                "You have {MAX_OPEN_SESSIONS} sessions of this journey asked for or confirmed: \
                 have one of them, or cancel one, before asking for another."
            )));
        }
        let client = display_name(services, p.user).await?;
        let body = format!("{client} asks for a session about {}.", j.title);
        notify(services, p.org, session.concierge_id, "A session was requested", body, "/sessions".into()).await?;
        Ok(session_view(session, now))
    }

    /// A session's time as the caller typed it in their own timezone: at least an hour after
    /// `now` and within a year (errors on `starts_at`).
    async fn session_time(
        services: &Services,
        p: &Principal,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, AppError> {
        use crate::domain::schedule::parse_local_datetime;
        let timezone = services.store.user_by_id(p.user).await?.map(|u| u.timezone).unwrap_or_default();
        let starts_at = parse_local_datetime(raw, &timezone).field("starts_at")?;
        if starts_at < now + chrono::Duration::hours(1) {
            return Err(AppError::validation("starts_at", "Choose a time at least an hour from now."));
        }
        if starts_at > now + chrono::Duration::days(365) {
            return Err(AppError::validation("starts_at", "Choose a time within a year."));
        }
        Ok(starts_at)
    }

    /// The client moves a session asked for or confirmed, before it begins, to another time: it
    /// is asked for again, and the concierge is told to confirm the new time.
    pub async fn move_session(
        services: &Services,
        p: &Principal,
        id: Uuid,
        starts_at: &str,
    ) -> Result<SessionView, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let s = services.store.concierge_session(id).await?.ok_or(AppError::NotFound)?;
        let j = services.store.journey(p.org, s.journey_id).await?.ok_or(AppError::NotFound)?;
        if s.client_id != p.user {
            return Err(AppError::Forbidden);
        }
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        if !is_open(&s) {
            return Err(AppError::conflict(format!("This session is {} already.", s.status)));
        }
        if s.starts_at <= now {
            return Err(AppError::conflict("This session has begun: it can no longer be moved."));
        }
        let starts_at = session_time(services, p, starts_at, now).await?;
        if !services.store.move_session(id, starts_at, now).await? {
            return Err(AppError::conflict("This session began, was completed or was canceled meanwhile."));
        }
        let body = format!("{} asks to move their session about {} to another time.", s.client_name, j.title);
        notify(services, p.org, s.concierge_id, "A session was moved", body, "/sessions".into()).await?;
        let moved = services.store.concierge_session(id).await?.ok_or(AppError::NotFound)?;
        Ok(session_view(moved, now))
    }

    /// The sessions asked of the caller in the organization's journeys.
    pub async fn concierge_desk(services: &Services, p: &Principal) -> Result<ConciergeDesk, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let fee_bps = crate::api::billing::rules::journey_fee_bps(services).await?;
        let titles: BTreeMap<Uuid, String> =
            services.store.journeys(p.org).await?.into_iter().map(|j| (j.id, j.title)).collect();
        let mut desk = ConciergeDesk {
            requested: Vec::new(),
            confirmed: Vec::new(),
            completed: Vec::new(),
            canceled: Vec::new(),
            earned: 0,
            rating: None,
        };
        for s in services.store.concierge_sessions(p.org, p.user).await? {
            let completed = s.status == "completed";
            let task = SessionTask {
                canceled_by: canceled_by(&s, p.user),
                rating: s.rating,
                id: s.id,
                journey_id: s.journey_id,
                journey: titles.get(&s.journey_id).cloned().unwrap_or_default(),
                client: s.client_name,
                pay: if completed { s.concierge_amount } else { after_fee(s.rate, fee_bps) },
                status: s.status,
                starts_at: s.starts_at,
                topic: s.topic,
                notes: s.notes,
                completed_at: s.completed_at,
            };
            match task.status.as_str() {
                "requested" => desk.requested.push(task),
                "confirmed" => desk.confirmed.push(task),
                "canceled" => desk.canceled.push(task),
                _ => {
                    desk.earned += task.pay;
                    desk.completed.push(task);
                }
            }
        }
        desk.completed.sort_by_key(|t| std::cmp::Reverse(t.completed_at));
        desk.canceled.reverse();
        desk.rating = rating_of(desk.completed.iter().map(|t| t.rating));
        Ok(desk)
    }

    /// A session asked of the caller in the organization, with its journey.
    async fn own_session(
        services: &Services,
        p: &Principal,
        id: Uuid,
    ) -> Result<(ConciergeSessionRecord, JourneyRecord), AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let s = services.store.concierge_session(id).await?.ok_or(AppError::NotFound)?;
        let j = services.store.journey(p.org, s.journey_id).await?.ok_or(AppError::NotFound)?;
        if s.concierge_id != p.user {
            return Err(AppError::Forbidden);
        }
        Ok((s, j))
    }

    /// Confirms a requested session; the client is told.
    pub async fn confirm_session(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        let (s, j) = own_session(services, p, id).await?;
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        if !services.store.confirm_session(id, now).await? {
            // Confirmed, completed or canceled meanwhile: say which.
            let status = services.store.concierge_session(id).await?.map_or(s.status, |now| now.status);
            return Err(AppError::conflict(format!("This session is {status} already.")));
        }
        let body = format!("{} confirmed your session about {}.", s.concierge_name, j.title);
        notify(services, p.org, s.client_id, "Your session is confirmed", body, format!("/journeys/{}", j.id)).await
    }

    /// The client rates a completed review (`session`: false) or session of theirs, once, from 1
    /// to 5 stars.
    pub async fn rate(services: &Services, p: &Principal, id: Uuid, session: bool, stars: i64) -> Result<(), AppError> {
        use crate::domain::journey::parse_rating;
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let stars = parse_rating(stars).field("rating")?;
        let (journey, client, status) = if session {
            let s = services.store.concierge_session(id).await?.ok_or(AppError::NotFound)?;
            (s.journey_id, s.client_id, s.status)
        } else {
            let r = services.store.review(id).await?.ok_or(AppError::NotFound)?;
            (r.journey_id, r.client_id, r.status)
        };
        services.store.journey(p.org, journey).await?.ok_or(AppError::NotFound)?;
        let what = if session { "session" } else { "review" };
        if client != p.user {
            return Err(AppError::Forbidden);
        }
        if status != "completed" {
            return Err(AppError::conflict(format!("Rate the {what} once it is completed.")));
        }
        let done = if session {
            services.store.rate_session(id, p.user, stars).await?
        } else {
            services.store.rate_review(id, p.user, stars).await?
        };
        if !done {
            return Err(AppError::conflict(format!("You rated this {what} already.")));
        }
        Ok(())
    }

    /// Calls off a session asked for or confirmed: its client until it begins, its concierge
    /// until they complete it. The other side is told.
    pub async fn cancel_session(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let s = services.store.concierge_session(id).await?.ok_or(AppError::NotFound)?;
        let j = services.store.journey(p.org, s.journey_id).await?.ok_or(AppError::NotFound)?;
        let by_client = s.client_id == p.user;
        if !by_client && s.concierge_id != p.user {
            return Err(AppError::Forbidden);
        }
        if !is_open(&s) {
            return Err(AppError::conflict(format!("This session is {} already.", s.status)));
        }
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        if by_client && s.starts_at <= now {
            return Err(AppError::conflict("This session has begun: ask your concierge to cancel it."));
        }
        if !services.store.cancel_session(id, p.user, now).await? {
            return Err(AppError::conflict("This session was completed or canceled meanwhile."));
        }
        if by_client {
            let body = format!("{} canceled their session about {}.", s.client_name, j.title);
            notify(services, p.org, s.concierge_id, "A session was canceled", body, "/sessions".into()).await
        } else {
            let body = format!("{} canceled your session about {}.", s.concierge_name, j.title);
            notify(services, p.org, s.client_id, "Your session was canceled", body, format!("/journeys/{}", j.id)).await
        }
    }

    /// Completes a confirmed session with the concierge's notes: the client is told, and the
    /// concierge is paid the session's rate from the creator's balance, less the journey fee.
    pub async fn complete_session(services: &Services, p: &Principal, id: Uuid, notes: &str) -> Result<(), AppError> {
        use crate::domain::journey::parse_notes;
        let (s, j) = own_session(services, p, id).await?;
        match s.status.as_str() {
            "requested" => return Err(AppError::conflict("Confirm the session before completing it.")),
            "completed" | "canceled" => {
                return Err(AppError::conflict(format!("This session is {} already.", s.status)));
            }
            _ => {}
        }
        let notes = parse_notes(notes).field("notes")?;
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let (paid, ledger) = pay(services, j.creator_id, s.concierge_id, s.rate, ("session", id), now).await?;
        if !services.store.complete_session(id, &notes, paid, now, ledger.as_ref()).await? {
            return Err(AppError::conflict("This session is completed already."));
        }
        let body = format!("{} left notes on your session about {}.", s.concierge_name, j.title);
        notify(services, p.org, s.client_id, "Your session notes", body, format!("/journeys/{}", j.id)).await?;
        let after = serde_json::json!({ "rate": s.rate, "concierge_amount": paid });
        p.audit(services, "journey.session_completed", id.to_string(), None, Some(after)).await?;
        Ok(())
    }
}

/// Assigns a member with the mentor or concierge role (`role`) to the journey at `rate` dollars
/// a review or session, or changes their rate; answers the journey's helpers in that role.
/// Needs: the journey's creator.
#[server(endpoint = "set_journey_helper", input = Json)]
pub async fn set_journey_helper(
    id: Uuid,
    role: CapabilityRole,
    helper: UserId,
    rate: String,
) -> Result<Vec<HelperView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::set_helper(&services, &p, id, role, helper, &rate).await
    })
    .await
}

/// Takes a mentor or concierge off the journey; answers its helpers in that role. Needs: the
/// journey's creator.
#[server(endpoint = "remove_journey_helper", input = Json)]
pub async fn remove_journey_helper(
    id: Uuid,
    role: CapabilityRole,
    helper: UserId,
) -> Result<Vec<HelperView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::remove_helper(&services, &p, id, role, helper).await
    })
    .await
}

/// Asks one of the journey's mentors to review a section the caller submitted. Needs: the
/// Guided or Premium tier of a priced journey.
#[server(endpoint = "request_review", input = Json)]
pub async fn request_review(id: Uuid, section: String, mentor: UserId) -> Result<ReviewView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::request_review(&services, &p, id, &section, mentor).await
    })
    .await
}

/// The reviews asked of the caller in the active organization.
#[server(endpoint = "mentor_reviews")]
pub async fn mentor_reviews() -> Result<MentorDesk, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::mentor_desk(&services, &p).await
    })
    .await
}

/// Completes a review asked of the caller with their feedback; the mentor is paid its rate less
/// the journey fee.
#[server(endpoint = "complete_review", input = Json)]
pub async fn complete_review(id: Uuid, feedback: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::complete_review(&services, &p, id, &feedback).await
    })
    .await
}

/// Asks one of the journey's concierges for a session at `starts_at` (`YYYY-MM-DDTHH:MM` in the
/// caller's timezone) about `topic`. Needs: the Premium tier of a priced journey.
#[server(endpoint = "request_session", input = Json)]
pub async fn request_session(
    id: Uuid,
    concierge: UserId,
    starts_at: String,
    topic: String,
) -> Result<SessionView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::request_session(&services, &p, id, concierge, &starts_at, &topic).await
    })
    .await
}

/// The sessions asked of the caller in the active organization.
#[server(endpoint = "concierge_sessions")]
pub async fn concierge_sessions() -> Result<ConciergeDesk, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::concierge_desk(&services, &p).await
    })
    .await
}

/// Rates a completed review of the caller's from 1 to 5 stars, once. Needs: the review's client.
#[server(endpoint = "rate_review", input = Json)]
pub async fn rate_review(id: Uuid, rating: i64) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::rate(&services, &p, id, false, rating).await
    })
    .await
}

/// Rates a completed session of the caller's from 1 to 5 stars, once. Needs: the session's client.
#[server(endpoint = "rate_session", input = Json)]
pub async fn rate_session(id: Uuid, rating: i64) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::rate(&services, &p, id, true, rating).await
    })
    .await
}

/// Moves a session asked for or confirmed to another time (`starts_at` in the caller's timezone,
/// `YYYY-MM-DDTHH:MM`) before it begins; the concierge confirms it again. Needs: the session's
/// client.
#[server(endpoint = "move_session", input = Json)]
pub async fn move_session(id: Uuid, starts_at: String) -> Result<SessionView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::move_session(&services, &p, id, &starts_at).await
    })
    .await
}

/// Calls off a session: its client until it begins, its concierge until they complete it.
#[server(endpoint = "cancel_session", input = Json)]
pub async fn cancel_session(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::cancel_session(&services, &p, id).await
    })
    .await
}

/// Confirms a session asked of the caller.
#[server(endpoint = "confirm_session", input = Json)]
pub async fn confirm_session(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::confirm_session(&services, &p, id).await
    })
    .await
}

/// Completes a confirmed session with the caller's notes; the concierge is paid its rate less the
/// journey fee.
#[server(endpoint = "complete_session", input = Json)]
pub async fn complete_session(id: Uuid, notes: String) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::complete_session(&services, &p, id, &notes).await
    })
    .await
}
