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
//! Mentor reviews and concierge sessions: see `journey_help`.

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
    pub review: Option<super::journey_help::ReviewView>,
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
    /// Mentors, concierges, and the caller's sessions (see `journey_help`).
    pub help: super::journey_help::JourneyHelp,
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
    use crate::ports::{JourneyEntryRecord, JourneyRecord, PriceRecord, ReviewRecord, Services};

    pub(crate) fn may_edit(p: &Principal, j: &JourneyRecord) -> bool {
        p.may(Action::EditJourney, &Resource::Content { org: p.org, author: j.creator_id })
    }

    /// The journey if the caller sees it: published ones to every member, drafts to its editors.
    pub(crate) async fn visible(services: &Services, p: &Principal, id: Uuid) -> Result<JourneyRecord, AppError> {
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
    pub(crate) async fn prices(services: &Services, org: OrgId, id: Uuid) -> Result<Vec<TierPrice>, AppError> {
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

    /// What the caller may do with a journey.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Access {
        /// Fill it in.
        pub fill: bool,
        /// Ask a mentor to review a submitted section (published journeys only).
        pub reviews: bool,
        /// Book a concierge session (published journeys only).
        pub sessions: bool,
    }

    /// What the caller may do with `j`: everything on a free journey and as its editor; on a
    /// priced one, what the tiers they bought and kept bring. One query at most.
    pub(crate) async fn access(
        services: &Services,
        p: &Principal,
        j: &JourneyRecord,
        priced: bool,
    ) -> Result<Access, AppError> {
        use crate::domain::journey::{parse_product, products_prefix};
        if !priced || may_edit(p, j) {
            return Ok(Access { fill: true, reviews: j.published, sessions: j.published });
        }
        let held = services.store.paid_products_starting(p.user, &products_prefix(j.id), services.clock.now()).await?;
        let tiers: Vec<_> = held.iter().filter_map(|product| parse_product(product)).map(|(_, tier, _)| tier).collect();
        Ok(Access {
            fill: !held.is_empty(),
            reviews: j.published && tiers.iter().any(|t| t.reviews()),
            sessions: j.published && tiers.iter().any(|t| t.sessions()),
        })
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
    pub(crate) async fn seller(services: &Services, p: &Principal, id: Uuid) -> Result<JourneyRecord, AppError> {
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
                    review: reviews.remove(&section.id).map(crate::api::journey_help::rules::review_view),
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
        let access = access(services, p, &j, !prices.is_empty()).await?;
        let is_seller = j.creator_id == p.user;
        let fee_bps = if is_seller { crate::api::billing::rules::journey_fee_bps(services).await? } else { 0 };
        let help = crate::api::journey_help::rules::for_journey(services, p, &j, access).await?;
        Ok(JourneyView {
            help,
            affiliate_bps: affiliate_bps(&prices),
            prices,
            access: access.fill,
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
        if !access(services, p, &j, priced).await?.fill {
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
