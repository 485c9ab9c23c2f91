//! Journeys: a creator builds sections of forms; members of the organization fill them in,
//! saving drafts as they go and submitting each section once. A submission is scored and tells
//! the member's sequences (`cairn.journey_section_submitted`).
//!
//! Who may do what: building needs `CreateJourney` (Owner, Admin, Editor); changing a journey,
//! deleting it and reading its submissions needs `EditJourney` on it (its creator, or an Owner or
//! Admin). Published journeys are filled in by any member; drafts are seen only by those who may
//! edit them.
//!
//! Selling: the creator may price the journey in tiers (Essentials, Guided, Premium; monthly and
//! yearly). A priced journey is filled in by those who bought a tier and kept it; its editors
//! always may. The platform keeps the journey fee (15% unless a platform admin sets another).
//!
//! Mentor reviews: the creator assigns members with the mentor role, each with a rate per review.
//! A client who bought the Guided or Premium tier (or anyone, on a free journey) asks one of them
//! to review a submitted section; the mentor writes feedback and completes it, and is paid the
//! rate from the creator's balance, less the journey fee.

use crate::domain::UserId;
use crate::domain::billing::Interval;
use crate::domain::journey::{FieldProblem, Score, Section, Tier};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The event a section's submission sends to the member's sequences.
pub const SECTION_SUBMITTED: &str = "cairn.journey_section_submitted";

/// A journey in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneySummary {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub creator: String,
    pub published: bool,
    /// The lowest monthly tier price, when it is for sale.
    pub from_price: Option<i64>,
    pub sections: usize,
    /// Sections the caller submitted.
    pub submitted: usize,
    pub can_edit: bool,
}

/// One section with the caller's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionView {
    pub section: Section,
    pub answers: BTreeMap<String, String>,
    pub saved_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub score: Score,
    /// The caller's request for a mentor's review of it, and the feedback once given.
    pub review: Option<ReviewView>,
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
}

/// One of a journey's mentors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorView {
    pub id: UserId,
    pub name: String,
    /// Minor units per completed review (shown to the journey's creator only; 0 for others).
    pub rate: i64,
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
}

/// A submitted section, as its journey's editors see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionView {
    pub client: String,
    pub section: String,
    pub score: Score,
    pub submitted_at: DateTime<Utc>,
    /// (question, answer) in the section's order.
    pub answers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub creator: String,
    pub published: bool,
    pub can_edit: bool,
    /// Pass it back with a change: a change to an older revision is refused.
    pub revision: i64,
    pub sections: Vec<SectionView>,
    /// The caller's score over the sections they submitted.
    pub score: Score,
    /// Only for those who may edit the journey.
    pub submissions: Vec<SubmissionView>,
    /// The tiers for sale (none: free to every member), by tier then interval.
    pub prices: Vec<TierPrice>,
    /// Whether the caller may fill it in: it is free, they bought a tier, or they edit it.
    pub access: bool,
    /// Whether the caller sets its prices (its creator).
    pub is_seller: bool,
    /// The platform's share of each sale, in basis points (for the seller's breakdown).
    pub fee_bps: u32,
    /// The commission paid to affiliates who bring a buyer, in basis points (0: none).
    pub affiliate_bps: u32,
    /// The mentors who review submitted sections.
    pub mentors: Vec<MentorView>,
    /// Whether the caller may ask a mentor for reviews (Guided and Premium tiers, free journeys).
    pub reviews: bool,
    /// For its creator: the organization's members with the mentor role, to assign.
    pub mentor_candidates: Vec<MentorView>,
}

/// One tier's price for one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierPrice {
    pub tier: Tier,
    pub interval: Interval,
    /// Minor units.
    pub amount: i64,
    /// The product key to buy it with (`start_checkout`).
    pub product: String,
    /// The affiliates' commission on it, in basis points (the journey's, on every tier).
    pub affiliate_bps: u32,
}

/// A tier price as the creator's form sends it: dollars, or empty for "not sold".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierPriceInput {
    pub tier: Tier,
    pub interval: Interval,
    pub amount: String,
}

/// The form field a tier price's problem is reported on, e.g. `price_guided_year`.
pub fn price_field(tier: Tier, interval: Interval) -> String {
    format!("price_{}_{}", tier.as_str(), interval.as_str())
}

/// A new field, as the builder's form sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldInput {
    pub label: String,
    pub kind: String,
    pub required: bool,
    pub help: String,
    /// One option per line, `Label | points`.
    pub options: String,
    pub scored: bool,
}

/// What saving a section's answers did. With problems nothing was submitted, but the answers were
/// kept as a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub problems: Vec<FieldProblem>,
    pub saved_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub score: Score,
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::*;
    use crate::api::prompts::library::Principal;
    use crate::domain::OrgId;
    use crate::domain::journey::{
        Field, FieldKind, MAX_FIELDS, MAX_SECTIONS, next_id, parse_description, parse_label, parse_options, parse_title,
    };
    use crate::domain::{Action, Resource};
    use crate::error::FieldResult;
    use crate::ports::{
        JourneyEntryRecord, JourneyMentorRecord, JourneyRecord, LedgerTx, NotificationRecord, PriceRecord,
        ReviewRecord, Services, StoreError,
    };

    fn may_edit(p: &Principal, j: &JourneyRecord) -> bool {
        p.may(Action::EditJourney, &Resource::Content { org: p.org, author: j.creator_id })
    }

    /// The journey if the caller sees it: published ones to every member, drafts to its editors.
    async fn visible(services: &Services, p: &Principal, id: Uuid) -> Result<JourneyRecord, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let j = services.store.journey(p.org, id).await?.ok_or(AppError::NotFound)?;
        if j.published || may_edit(p, &j) { Ok(j) } else { Err(AppError::NotFound) }
    }

    async fn editable(services: &Services, p: &Principal, id: Uuid, revision: i64) -> Result<JourneyRecord, AppError> {
        let j = visible(services, p, id).await?;
        if !may_edit(p, &j) {
            return Err(AppError::Forbidden);
        }
        if j.revision != revision {
            return Err(stale());
        }
        Ok(j)
    }

    fn stale() -> AppError {
        AppError::conflict("This journey was changed meanwhile (in another tab or by someone else): reload to see it.")
    }

    /// Stores a changed journey as the next revision; returns that revision.
    async fn save(services: &Services, mut j: JourneyRecord) -> Result<i64, AppError> {
        j.revision += 1;
        j.updated_at = services.clock.now();
        if services.store.update_journey(&j).await? { Ok(j.revision) } else { Err(stale()) }
    }

    /// A published journey the caller sees, as something to buy.
    pub async fn for_sale(services: &Services, p: &Principal, id: Uuid) -> Result<JourneyRecord, AppError> {
        let j = visible(services, p, id).await?;
        if !j.published {
            return Err(AppError::conflict("This journey is not published yet."));
        }
        Ok(j)
    }

    /// The journey's tier prices, by tier then interval.
    async fn prices(services: &Services, org: OrgId, id: Uuid) -> Result<Vec<TierPrice>, AppError> {
        use crate::domain::journey::{parse_product, products_prefix};
        let mut out: Vec<TierPrice> = services
            .store
            .prices_starting(org, &products_prefix(id))
            .await?
            .into_iter()
            .filter_map(|price| {
                let (_, tier, interval) = parse_product(&price.product)?;
                Some(TierPrice {
                    tier,
                    interval,
                    amount: price.amount,
                    product: price.product,
                    affiliate_bps: price.affiliate_bps,
                })
            })
            .collect();
        out.sort_by_key(|t| (t.tier, t.interval == Interval::Year));
        Ok(out)
    }

    /// Whether the caller may fill in `j`: free journeys to every member who sees them, priced
    /// ones to those who bought a tier and kept it, and always to its editors.
    async fn has_access(services: &Services, p: &Principal, j: &JourneyRecord, priced: bool) -> Result<bool, AppError> {
        use crate::domain::journey::products_prefix;
        if !priced || may_edit(p, j) {
            return Ok(true);
        }
        Ok(services.store.has_paid_starting(p.user, &products_prefix(j.id), services.clock.now()).await?)
    }

    /// Whether the caller may ask for mentor reviews: on a free journey everyone who fills it in,
    /// on a priced one those who bought a tier that brings them (and its editors).
    async fn may_ask_reviews(
        services: &Services,
        p: &Principal,
        j: &JourneyRecord,
        priced: bool,
    ) -> Result<bool, AppError> {
        use crate::domain::journey::tier_prefix;
        if !j.published {
            return Ok(false);
        }
        if !priced || may_edit(p, j) {
            return Ok(true);
        }
        let now = services.clock.now();
        for tier in Tier::ALL.into_iter().filter(|t| t.reviews()) {
            if services.store.has_paid_starting(p.user, &tier_prefix(j.id, tier), now).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn mentor_views(mentors: Vec<JourneyMentorRecord>, with_rates: bool) -> Vec<MentorView> {
        mentors
            .into_iter()
            .map(|m| MentorView { id: m.mentor_id, name: m.mentor_name, rate: if with_rates { m.rate } else { 0 } })
            .collect()
    }

    fn review_view(r: ReviewRecord) -> ReviewView {
        ReviewView {
            id: r.id,
            mentor: r.mentor_name,
            completed: r.status == "completed",
            feedback: r.feedback,
            requested_at: r.requested_at,
            completed_at: r.completed_at,
        }
    }

    /// Assigns a member with the mentor role to review the journey's sections at `rate` dollars
    /// a review ($0 to $1,000), or changes their rate. Only its creator.
    pub async fn set_mentor(
        services: &Services,
        p: &Principal,
        id: Uuid,
        mentor: UserId,
        rate: &str,
    ) -> Result<Vec<MentorView>, AppError> {
        use crate::domain::billing::parse_money;
        use crate::domain::journey::MAX_REVIEW_RATE;
        seller(services, p, id).await?;
        if !services.store.org_mentors(p.org).await?.iter().any(|(m, _)| *m == mentor) {
            return Err(AppError::validation("mentor", "Choose a member of this organization with the mentor role."));
        }
        let rate = match rate.trim() {
            "" => Err(AppError::validation("mentor_rate", "Say what a review pays, e.g. 20 (or 0).")),
            raw => parse_money(raw).map_err(|e| AppError::validation("mentor_rate", e.0)),
        }?;
        if rate > MAX_REVIEW_RATE {
            return Err(AppError::validation("mentor_rate", "A review pays at most $1,000.00."));
        }
        let record = JourneyMentorRecord {
            journey_id: id,
            mentor_id: mentor,
            mentor_name: String::new(),
            rate,
            added_at: services.clock.now(),
        };
        services.store.set_journey_mentor(&record).await?;
        let after = serde_json::json!({ "mentor": mentor, "rate": rate });
        p.audit(services, "journey.mentor", id.to_string(), None, Some(after)).await?;
        Ok(mentor_views(services.store.journey_mentors(id).await?, true))
    }

    /// Takes a mentor off the journey; reviews asked of them already stay theirs to complete.
    pub async fn remove_mentor(
        services: &Services,
        p: &Principal,
        id: Uuid,
        mentor: UserId,
    ) -> Result<Vec<MentorView>, AppError> {
        seller(services, p, id).await?;
        if !services.store.remove_journey_mentor(id, mentor).await? {
            return Err(AppError::NotFound);
        }
        let before = serde_json::json!({ "mentor": mentor });
        p.audit(services, "journey.mentor_removed", id.to_string(), Some(before), None).await?;
        Ok(mentor_views(services.store.journey_mentors(id).await?, true))
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
        if !may_ask_reviews(services, p, &j, priced).await? {
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
        let mentors = services.store.journey_mentors(j.id).await?;
        let chosen = mentors
            .into_iter()
            .find(|m| m.mentor_id == mentor && m.mentor_id != p.user)
            .ok_or_else(|| AppError::validation("mentor", "Choose one of this journey's mentors."))?;
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let review = ReviewRecord {
            id: Uuid::now_v7(),
            journey_id: j.id,
            client_id: p.user,
            section_id: s.id.clone(),
            mentor_id: chosen.mentor_id,
            status: "requested".into(),
            feedback: None,
            rate: chosen.rate,
            mentor_amount: 0,
            requested_at: now,
            completed_at: None,
            client_name: String::new(),
            mentor_name: chosen.mentor_name,
        };
        match services.store.request_review(&review).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::conflict("You asked for a review of this section already."));
            }
            done => done?,
        }
        let client = services.store.user_by_id(p.user).await?.map(|u| u.display_name).unwrap_or_default();
        let note = NotificationRecord {
            id: Uuid::now_v7(),
            user_id: chosen.mentor_id,
            org_id: Some(p.org),
            kind: "review".into(),
            title: "A review was requested".into(),
            body: format!("{client} asks you to review “{}” in {}.", s.title, j.title),
            link: "/reviews".into(),
            created_at: now,
            read_at: None,
        };
        services.store.add_notifications(&[note]).await?;
        Ok(review_view(review))
    }

    /// The reviews asked of the caller in the organization's journeys.
    pub async fn mentor_desk(services: &Services, p: &Principal) -> Result<MentorDesk, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let fee_bps = crate::api::billing::rules::journey_fee_bps(services).await?;
        let mut journeys: BTreeMap<Uuid, Option<JourneyRecord>> = BTreeMap::new();
        let mut desk = MentorDesk { pending: Vec::new(), completed: Vec::new(), earned: 0 };
        for r in services.store.mentor_reviews(p.org, p.user).await? {
            if let std::collections::btree_map::Entry::Vacant(slot) = journeys.entry(r.journey_id) {
                slot.insert(services.store.journey(p.org, r.journey_id).await?);
            }
            let Some(Some(j)) = journeys.get(&r.journey_id) else { continue };
            let Some(section) = j.sections.iter().find(|s| s.id == r.section_id) else { continue };
            let entry = services
                .store
                .journey_entries(j.id, r.client_id)
                .await?
                .into_iter()
                .find(|e| e.section_id == r.section_id);
            let completed = r.status == "completed";
            let pay =
                if completed { r.mentor_amount } else { r.rate - crate::domain::billing::percent_of(r.rate, fee_bps) };
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
            };
            if completed {
                desk.earned += pay;
                desk.completed.push(task);
            } else {
                desk.pending.push(task);
            }
        }
        desk.completed.sort_by_key(|t| std::cmp::Reverse(t.completed_at));
        Ok(desk)
    }

    /// Completes a review asked of the caller with their feedback: the client is told, and the
    /// mentor is paid the review's rate from the creator's balance, less the journey fee.
    pub async fn complete_review(services: &Services, p: &Principal, id: Uuid, feedback: &str) -> Result<(), AppError> {
        use crate::domain::billing::{CURRENCY, review_entries};
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
        let fee_bps = crate::api::billing::rules::journey_fee_bps(services).await?;
        let (pay, entries) = review_entries(j.creator_id, r.mentor_id, r.rate, fee_bps);
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let ledger = (!entries.is_empty()).then(|| LedgerTx {
            id: Uuid::now_v7(),
            kind: "review".into(),
            reference: format!("review:{id}"),
            currency: CURRENCY.into(),
            created_at: now,
            entries,
        });
        if !services.store.complete_review(id, &feedback, pay, now, ledger.as_ref()).await? {
            return Err(done());
        }
        let section = j.sections.iter().find(|s| s.id == r.section_id).map(|s| s.title.as_str()).unwrap_or("a section");
        let note = NotificationRecord {
            id: Uuid::now_v7(),
            user_id: r.client_id,
            org_id: Some(p.org),
            kind: "review".into(),
            title: "Your review is in".into(),
            body: format!("{} reviewed “{section}” in {}.", r.mentor_name, j.title),
            link: format!("/journeys/{}", j.id),
            created_at: now,
            read_at: None,
        };
        services.store.add_notifications(&[note]).await?;
        let after = serde_json::json!({ "rate": r.rate, "mentor_amount": pay });
        p.audit(services, "journey.review_completed", id.to_string(), None, Some(after)).await?;
        Ok(())
    }

    /// Sets the journey's tier prices: every tier and interval in `input`, an empty amount
    /// taking that one off sale. Only its creator sells it; all prices are checked before any
    /// is stored, each problem named on its own field.
    pub async fn set_prices(
        services: &Services,
        p: &Principal,
        id: Uuid,
        input: &[TierPriceInput],
    ) -> Result<Vec<TierPrice>, AppError> {
        use crate::domain::billing::{CURRENCY, parse_money};
        use crate::domain::journey::product;
        seller(services, p, id).await?;
        let mut wanted = Vec::new();
        for t in input {
            let field = price_field(t.tier, t.interval);
            let amount = match t.amount.trim() {
                "" => None,
                raw => {
                    let cents = parse_money(raw).map_err(|e| AppError::validation(&field, e.0))?;
                    if cents < 100 {
                        return Err(AppError::validation(&field, "At least $1.00, or leave it empty."));
                    }
                    Some(cents)
                }
            };
            wanted.push((product(id, t.tier, t.interval), t.interval, amount));
        }
        let now = services.clock.now();
        // A tier put on sale pays affiliates what the journey's other tiers pay.
        let rate = affiliate_bps(&prices(services, p.org, id).await?);
        for (key, interval, amount) in wanted {
            match amount {
                Some(amount) => {
                    let price = PriceRecord {
                        product: key,
                        org_id: p.org,
                        seller_id: p.user,
                        amount,
                        currency: CURRENCY.into(),
                        recurring: Some(interval),
                        affiliate_bps: rate,
                        updated_at: now,
                    };
                    services.store.set_price(&price).await?;
                }
                None => services.store.remove_price(&key).await?,
            }
        }
        let prices = prices(services, p.org, id).await?;
        p.audit(services, "journey.prices", id.to_string(), None, Some(serde_json::json!(prices))).await?;
        Ok(prices)
    }

    /// The journey `id` if the caller sells it: its creator, with creator tools.
    async fn seller(services: &Services, p: &Principal, id: Uuid) -> Result<JourneyRecord, AppError> {
        let j = visible(services, p, id).await?;
        if j.creator_id != p.user {
            return Err(AppError::Forbidden);
        }
        if !p.actor.capabilities.contains(&crate::domain::CapabilityRole::Creator) {
            use crate::domain::billing::{Feature, Need};
            crate::api::billing::rules::require(services, p.user, p.org, Need::Feature(Feature::CreatorTools)).await?;
        }
        Ok(j)
    }

    /// The journey's affiliate commission: the one its tiers pay (0 when none is for sale).
    pub fn affiliate_bps(prices: &[TierPrice]) -> u32 {
        prices.iter().map(|t| t.affiliate_bps).max().unwrap_or(0)
    }

    /// Sets the commission paid to affiliates who bring a buyer of any of the journey's tiers,
    /// a whole percentage from 0 (no program) to 50.
    pub async fn set_affiliate_rate(
        services: &Services,
        p: &Principal,
        id: Uuid,
        percent: &str,
    ) -> Result<u32, AppError> {
        seller(services, p, id).await?;
        let bps = crate::api::billing::rules::parse_affiliate_percent(percent)?;
        let prices = prices(services, p.org, id).await?;
        if prices.is_empty() {
            return Err(AppError::conflict("Put a tier on sale first: affiliates earn from sales."));
        }
        let now = services.clock.now();
        for t in &prices {
            services.store.set_affiliate_rate(&t.product, bps, now).await?;
        }
        let before = serde_json::json!({ "bps": affiliate_bps(&prices) });
        p.audit(
            services,
            "journey.affiliate_rate",
            id.to_string(),
            Some(before),
            Some(serde_json::json!({ "bps": bps })),
        )
        .await?;
        Ok(bps)
    }

    fn section_mut<'a>(j: &'a mut JourneyRecord, section: &str) -> Result<&'a mut Section, AppError> {
        j.sections.iter_mut().find(|s| s.id == section).ok_or(AppError::NotFound)
    }

    pub async fn list(services: &Services, p: &Principal) -> Result<Vec<JourneySummary>, AppError> {
        p.require(Action::ViewOrg, &Resource::Org(p.org))?;
        let progress: BTreeMap<Uuid, i64> = services.store.journey_progress(p.org, p.user).await?.into_iter().collect();
        let mut from: BTreeMap<Uuid, i64> = BTreeMap::new();
        for price in services.store.prices_starting(p.org, "journey:").await? {
            if let Some((id, _, Interval::Month)) = crate::domain::journey::parse_product(&price.product) {
                let lowest = from.entry(id).or_insert(price.amount);
                *lowest = (*lowest).min(price.amount);
            }
        }
        Ok(services
            .store
            .journeys(p.org)
            .await?
            .into_iter()
            .filter(|j| j.published || may_edit(p, j))
            .map(|j| JourneySummary {
                from_price: from.get(&j.id).copied(),
                can_edit: may_edit(p, &j),
                submitted: progress.get(&j.id).copied().unwrap_or(0).try_into().unwrap_or(0),
                id: j.id,
                title: j.title,
                description: j.description,
                creator: j.creator_name,
                published: j.published,
                sections: j.sections.len(),
            })
            .collect())
    }

    pub async fn create(services: &Services, p: &Principal, title: &str, description: &str) -> Result<Uuid, AppError> {
        p.require(Action::CreateJourney, &Resource::Org(p.org))?;
        let now = services.clock.now();
        let j = JourneyRecord {
            id: Uuid::now_v7(),
            org_id: p.org,
            creator_id: p.user,
            creator_name: String::new(),
            title: parse_title(title).field("title")?,
            description: parse_description(description).field("description")?,
            published: false,
            sections: Vec::new(),
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        services.store.create_journey(&j).await?;
        p.audit(services, "journey.create", j.id.to_string(), None, Some(serde_json::json!({ "title": j.title })))
            .await?;
        Ok(j.id)
    }

    pub async fn view(services: &Services, p: &Principal, id: Uuid) -> Result<JourneyView, AppError> {
        let j = visible(services, p, id).await?;
        let can_edit = may_edit(p, &j);
        let mut entries: BTreeMap<String, JourneyEntryRecord> = services
            .store
            .journey_entries(j.id, p.user)
            .await?
            .into_iter()
            .map(|e| (e.section_id.clone(), e))
            .collect();
        let mut reviews: BTreeMap<String, ReviewRecord> =
            services.store.client_reviews(j.id, p.user).await?.into_iter().map(|r| (r.section_id.clone(), r)).collect();
        let mut score = Score::default();
        let sections: Vec<SectionView> = j
            .sections
            .iter()
            .map(|section| {
                let entry = entries.remove(&section.id);
                if let Some(e) = entry.as_ref().filter(|e| e.submitted_at.is_some()) {
                    score.points += e.score.points;
                    score.max += e.score.max;
                }
                SectionView {
                    section: section.clone(),
                    saved_at: entry.as_ref().map(|e| e.updated_at),
                    submitted_at: entry.as_ref().and_then(|e| e.submitted_at),
                    score: entry.as_ref().map(|e| e.score).unwrap_or_default(),
                    answers: entry.map(|e| e.answers).unwrap_or_default(),
                    review: reviews.remove(&section.id).map(review_view),
                }
            })
            .collect();
        let submissions = if can_edit {
            services
                .store
                .journey_submissions(j.id)
                .await?
                .into_iter()
                .filter_map(|(e, client)| {
                    let section = j.sections.iter().find(|s| s.id == e.section_id)?;
                    Some(SubmissionView {
                        client,
                        section: section.title.clone(),
                        score: e.score,
                        submitted_at: e.submitted_at?,
                        answers: section
                            .fields
                            .iter()
                            .map(|f| (f.label.clone(), e.answers.get(&f.id).cloned().unwrap_or_default()))
                            .collect(),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let prices = prices(services, j.org_id, j.id).await?;
        let access = has_access(services, p, &j, !prices.is_empty()).await?;
        let is_seller = j.creator_id == p.user;
        let fee_bps = if is_seller { crate::api::billing::rules::journey_fee_bps(services).await? } else { 0 };
        let ask = may_ask_reviews(services, p, &j, !prices.is_empty()).await?;
        let mentors = if ask || is_seller {
            mentor_views(services.store.journey_mentors(j.id).await?, is_seller)
        } else {
            Vec::new()
        };
        let mentor_candidates = if is_seller {
            let org_mentors = services.store.org_mentors(p.org).await?;
            org_mentors.into_iter().map(|(id, name)| MentorView { id, name, rate: 0 }).collect()
        } else {
            Vec::new()
        };
        Ok(JourneyView {
            mentors,
            reviews: ask,
            mentor_candidates,
            affiliate_bps: affiliate_bps(&prices),
            prices,
            access,
            is_seller,
            fee_bps,
            id: j.id,
            title: j.title,
            description: j.description,
            creator: j.creator_name,
            published: j.published,
            can_edit,
            revision: j.revision,
            sections,
            score,
            submissions,
        })
    }

    pub async fn update(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        title: &str,
        description: &str,
        published: bool,
    ) -> Result<i64, AppError> {
        let mut j = editable(services, p, id, revision).await?;
        let before = serde_json::json!({ "title": j.title, "published": j.published });
        j.title = parse_title(title).field("title")?;
        j.description = parse_description(description).field("description")?;
        if published && !j.sections.iter().any(|s| !s.fields.is_empty()) {
            return Err(AppError::validation(
                "published",
                "Add a section with at least one question before publishing.",
            ));
        }
        j.published = published;
        let after = serde_json::json!({ "title": j.title, "published": j.published });
        let revision = save(services, j).await?;
        p.audit(services, "journey.update", id.to_string(), Some(before), Some(after)).await?;
        Ok(revision)
    }

    pub async fn delete(services: &Services, p: &Principal, id: Uuid) -> Result<(), AppError> {
        let j = visible(services, p, id).await?;
        if !may_edit(p, &j) {
            return Err(AppError::Forbidden);
        }
        services.store.delete_journey(p.org, id).await?;
        p.audit(services, "journey.delete", id.to_string(), Some(serde_json::json!({ "title": j.title })), None)
            .await?;
        Ok(())
    }

    pub async fn add_section(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        title: &str,
        description: &str,
    ) -> Result<i64, AppError> {
        let mut j = editable(services, p, id, revision).await?;
        if j.sections.len() >= MAX_SECTIONS {
            return Err(AppError::validation("section_title", format!("A journey holds {MAX_SECTIONS} sections.")));
        }
        let title = parse_title(title).map_err(|_| {
            AppError::validation("section_title", "Name the section (120 characters at most), e.g. “The venue”.")
        })?;
        let section = Section {
            id: next_id("s", j.sections.iter().map(|s| s.id.as_str())),
            title,
            description: parse_description(description).field("section_description")?,
            fields: Vec::new(),
        };
        j.sections.push(section);
        save(services, j).await
    }

    pub async fn remove_section(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        section: &str,
    ) -> Result<i64, AppError> {
        let mut j = editable(services, p, id, revision).await?;
        let before = j.sections.len();
        j.sections.retain(|s| s.id != section);
        if j.sections.len() == before {
            return Err(AppError::NotFound);
        }
        if j.published && !j.sections.iter().any(|s| !s.fields.is_empty()) {
            return Err(AppError::conflict("A published journey keeps at least one question: unpublish it first."));
        }
        save(services, j).await
    }

    pub async fn add_field(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        section: &str,
        input: &FieldInput,
    ) -> Result<i64, AppError> {
        let mut j = editable(services, p, id, revision).await?;
        let s = section_mut(&mut j, section)?;
        if s.fields.len() >= MAX_FIELDS {
            return Err(AppError::validation("label", format!("A section holds {MAX_FIELDS} questions.")));
        }
        let field = field_from(input, next_id("f", s.fields.iter().map(|f| f.id.as_str())))?;
        s.fields.push(field);
        save(services, j).await
    }

    /// A question as the builder's form describes it, with its id.
    fn field_from(input: &FieldInput, id: String) -> Result<Field, AppError> {
        let kind = FieldKind::parse(&input.kind).field("kind")?;
        let options = if kind.has_options() { parse_options(&input.options).field("options")? } else { Vec::new() };
        if kind.has_options() && options.len() < 2 {
            return Err(AppError::validation("options", "Offer at least two options, one per line."));
        }
        Ok(Field {
            id,
            label: parse_label(&input.label).field("label")?,
            kind,
            required: input.required,
            help: parse_description(&input.help).field("help")?,
            options,
            scored: input.scored && kind.scorable(),
        })
    }

    /// Changes a question in place: it keeps its id, so the answers given to it stay with it.
    pub async fn update_field(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        section: &str,
        field: &str,
        input: &FieldInput,
    ) -> Result<i64, AppError> {
        let mut j = editable(services, p, id, revision).await?;
        let s = section_mut(&mut j, section)?;
        let at = s.fields.iter().position(|f| f.id == field).ok_or(AppError::NotFound)?;
        s.fields[at] = field_from(input, field.to_owned())?;
        save(services, j).await
    }

    /// Moves a question within its section (`field`), or a section within the journey, one
    /// place up or down. Moving past either end changes nothing.
    pub async fn move_item(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        section: &str,
        field: Option<&str>,
        up: bool,
    ) -> Result<i64, AppError> {
        fn shift<T>(items: &mut [T], at: usize, up: bool) {
            match up {
                true if at > 0 => items.swap(at, at - 1),
                false if at + 1 < items.len() => items.swap(at, at + 1),
                _ => {}
            }
        }
        let mut j = editable(services, p, id, revision).await?;
        match field {
            Some(field) => {
                let s = section_mut(&mut j, section)?;
                let at = s.fields.iter().position(|f| f.id == field).ok_or(AppError::NotFound)?;
                shift(&mut s.fields, at, up);
            }
            None => {
                let at = j.sections.iter().position(|s| s.id == section).ok_or(AppError::NotFound)?;
                shift(&mut j.sections, at, up);
            }
        }
        save(services, j).await
    }

    pub async fn remove_field(
        services: &Services,
        p: &Principal,
        id: Uuid,
        revision: i64,
        section: &str,
        field: &str,
    ) -> Result<i64, AppError> {
        let mut j = editable(services, p, id, revision).await?;
        let published = j.published;
        let s = section_mut(&mut j, section)?;
        let before = s.fields.len();
        s.fields.retain(|f| f.id != field);
        if s.fields.len() == before {
            return Err(AppError::NotFound);
        }
        if published && !j.sections.iter().any(|s| !s.fields.is_empty()) {
            return Err(AppError::conflict("A published journey keeps at least one question: unpublish it first."));
        }
        save(services, j).await
    }

    /// Saves the caller's answers to a section: as a draft, or (`submit`) checked, scored and
    /// submitted. A submission with problems is kept as a draft and names every problem.
    pub async fn save_answers(
        services: &Services,
        p: &Principal,
        id: Uuid,
        section: &str,
        answers: &BTreeMap<String, String>,
        submit: bool,
    ) -> Result<SaveOutcome, AppError> {
        let j = visible(services, p, id).await?;
        if !j.published {
            return Err(AppError::conflict("This journey is not published yet: publish it to fill it in."));
        }
        let priced = !prices(services, j.org_id, j.id).await?.is_empty();
        if !has_access(services, p, &j, priced).await? {
            return Err(AppError::PlanLimit {
                message: "This journey is sold in tiers: choose one to fill it in.".into(),
                upgrade: None,
            });
        }
        let s = j.sections.iter().find(|s| s.id == section).ok_or(AppError::NotFound)?;
        // To the microsecond, as both databases keep it: the answer says what was stored.
        let now = chrono::SubsecRound::trunc_subsecs(services.clock.now(), 6);
        let mut entry = JourneyEntryRecord {
            journey_id: j.id,
            user_id: p.user,
            section_id: s.id.clone(),
            answers: s.keep_draft(answers),
            submitted_at: None,
            score: Score::default(),
            updated_at: now,
        };
        let mut problems = Vec::new();
        if submit {
            match s.check(answers) {
                Ok((clean, score)) => {
                    entry.answers = clean;
                    entry.score = score;
                    entry.submitted_at = Some(now);
                }
                Err(found) => problems = found,
            }
        }
        if !services.store.save_journey_entry(&entry).await? {
            return Err(AppError::conflict("You submitted this section already; it cannot be changed."));
        }
        if entry.submitted_at.is_some() {
            let moved = crate::api::sequences::rules::emit(services, p.org, p.user, SECTION_SUBMITTED, None).await;
            if let Err(err) = moved {
                tracing::warn!(error = %err, journey = %j.id, "telling sequences about a submitted section failed");
            }
        }
        Ok(SaveOutcome { problems, saved_at: now, submitted_at: entry.submitted_at, score: entry.score })
    }
}

/// The active organization's journeys the caller may see, with their progress.
#[server(endpoint = "journeys")]
pub async fn list_journeys() -> Result<Vec<JourneySummary>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::list(&services, &p).await
    })
    .await
}

/// Starts a journey (a draft with no sections yet); returns its id.
#[server(endpoint = "create_journey", input = Json)]
pub async fn create_journey(title: String, description: String) -> Result<Uuid, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::create(&services, &p, &title, &description).await
    })
    .await
}

/// A journey with the caller's answers (and, for its editors, every submission).
#[server(endpoint = "journey", input = Json)]
pub async fn get_journey(id: Uuid) -> Result<JourneyView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::view(&services, &p, id).await
    })
    .await
}

/// Changes title, description and whether it is published; returns the new revision.
#[server(endpoint = "update_journey", input = Json)]
pub async fn update_journey(
    id: Uuid,
    revision: i64,
    title: String,
    description: String,
    published: bool,
) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::update(&services, &p, id, revision, &title, &description, published).await
    })
    .await
}

#[server(endpoint = "delete_journey", input = Json)]
pub async fn delete_journey(id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::delete(&services, &p, id).await
    })
    .await
}

#[server(endpoint = "add_journey_section", input = Json)]
pub async fn add_section(id: Uuid, revision: i64, title: String, description: String) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::add_section(&services, &p, id, revision, &title, &description).await
    })
    .await
}

#[server(endpoint = "remove_journey_section", input = Json)]
pub async fn remove_section(id: Uuid, revision: i64, section: String) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::remove_section(&services, &p, id, revision, &section).await
    })
    .await
}

#[server(endpoint = "add_journey_field", input = Json)]
pub async fn add_field(id: Uuid, revision: i64, section: String, field: FieldInput) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::add_field(&services, &p, id, revision, &section, &field).await
    })
    .await
}

#[server(endpoint = "remove_journey_field", input = Json)]
pub async fn remove_field(id: Uuid, revision: i64, section: String, field: String) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::remove_field(&services, &p, id, revision, &section, &field).await
    })
    .await
}

/// Changes a question in place (its answers stay with it); returns the new revision.
#[server(endpoint = "update_journey_field", input = Json)]
pub async fn update_field(
    id: Uuid,
    revision: i64,
    section: String,
    field: String,
    question: FieldInput,
) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::update_field(&services, &p, id, revision, &section, &field, &question).await
    })
    .await
}

/// Moves a question (with `field`) or a section one place up or down; returns the new revision.
#[server(endpoint = "move_journey_item", input = Json)]
pub async fn move_item(
    id: Uuid,
    revision: i64,
    section: String,
    field: Option<String>,
    up: bool,
) -> Result<i64, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::move_item(&services, &p, id, revision, &section, field.as_deref(), up).await
    })
    .await
}

/// Saves the caller's answers to a section as a draft or (`submit`) submits them.
#[server(endpoint = "save_journey_answers", input = Json)]
pub async fn save_answers(
    id: Uuid,
    section: String,
    answers: BTreeMap<String, String>,
    submit: bool,
) -> Result<SaveOutcome, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::save_answers(&services, &p, id, &section, &answers, submit).await
    })
    .await
}

/// Sets the commission paid to affiliates who bring a buyer of any of the journey's tiers, as a
/// percentage of each sale after payment processing (0 to 50; 0 ends the program); answers it
/// in basis points. Needs: the journey's creator.
#[server(endpoint = "set_journey_affiliate_rate", input = Json)]
pub async fn set_journey_affiliate_rate(id: Uuid, percent: String) -> Result<u32, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::set_affiliate_rate(&services, &p, id, &percent).await
    })
    .await
}

/// Sets the journey's tier prices (each tier monthly and yearly; an empty amount is not sold);
/// answers the prices now. Needs: the journey's creator.
#[server(endpoint = "set_journey_prices", input = Json)]
pub async fn set_journey_prices(id: Uuid, prices: Vec<TierPriceInput>) -> Result<Vec<TierPrice>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::set_prices(&services, &p, id, &prices).await
    })
    .await
}

/// Assigns a member with the mentor role to the journey at `rate` dollars a review, or changes
/// their rate; answers the journey's mentors. Needs: the journey's creator.
#[server(endpoint = "set_journey_mentor", input = Json)]
pub async fn set_journey_mentor(id: Uuid, mentor: UserId, rate: String) -> Result<Vec<MentorView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::set_mentor(&services, &p, id, mentor, &rate).await
    })
    .await
}

/// Takes a mentor off the journey; answers its mentors. Needs: the journey's creator.
#[server(endpoint = "remove_journey_mentor", input = Json)]
pub async fn remove_journey_mentor(id: Uuid, mentor: UserId) -> Result<Vec<MentorView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::remove_mentor(&services, &p, id, mentor).await
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
