//! Billing: plans and the entitlement check, the built-in (test-mode) checkout, creators' prices
//! and sales, refunds, quota boosts and payouts. The money rules are in `domain::billing`.
//!
//! Without a Stripe key Cairn takes payments with its built-in provider: a Cairn-hosted checkout
//! page that records a test payment, so every flow works on a fresh machine.

use crate::domain::billing::{CreatorTier, Discount, Interval, Limits, PlanConfig, PlanStatus, PromoDuration, Quota};
use crate::domain::{OrgId, UserId};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::server;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    pub code: String,
    pub version: i32,
    pub config: PlanConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageView {
    pub quota: Quota,
    pub label: String,
    pub used: i64,
    pub limit: Option<i64>,
    pub percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: Uuid,
    pub description: String,
    pub amount: i64,
    pub status: String,
    /// Refunded or disputed so far (minor units).
    pub refunded: i64,
    pub created_at: DateTime<Utc>,
}

/// The caller's plan, its state and what happens next, usage against limits, the plans on offer
/// and their payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingSummary {
    pub plan_code: String,
    pub plan_name: String,
    pub status: Option<PlanStatus>,
    pub interval: Option<Interval>,
    pub period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    /// "Renews on 2 January for $19.00." and the like.
    pub next: String,
    pub test_mode: bool,
    /// Whether Stripe bills the person (the Customer Portal manages it).
    pub stripe_customer: bool,
    /// Whether the current plan is a Stripe subscription (changed and canceled in the portal).
    pub billed_by_stripe: bool,
    pub usage: Vec<UsageView>,
    pub plans: Vec<PlanView>,
    pub payments: Vec<PaymentView>,
    pub timezone: String,
    /// Whether the person may still start a free trial (once, before any plan).
    pub trial_available: bool,
}

/// An organization's plan and its seats, on its members page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgPlanView {
    pub plan_code: String,
    pub plan_name: String,
    pub interval: Option<Interval>,
    /// The seats paid for, on a per-seat plan.
    pub seats: Option<i64>,
    /// How many people the organization may hold (members and pending invitations); `None` is
    /// unlimited.
    pub limit: Option<i64>,
    pub members: i64,
    pub pending: i64,
    /// "Renews on 2 January for $144.00." and the like.
    pub next: String,
    pub cancel_at_period_end: bool,
    /// Stripe bills the plan: seats change and the plan is canceled in the Customer Portal.
    pub billed_by_stripe: bool,
    /// A platform admin gave the plan (nothing to pay or cancel).
    pub given_by_admin: bool,
    /// Whether the caller buys and cancels the organization's plan (its owner).
    pub may_manage: bool,
    pub test_mode: bool,
    /// The plans an organization buys by the seat.
    pub plans: Vec<PlanView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutView {
    pub id: Uuid,
    pub product: String,
    pub description: String,
    pub interval: Option<Interval>,
    pub price: i64,
    pub discount: i64,
    pub amount: i64,
    pub promo_code: Option<String>,
    /// `open`, `paid` or `expired`.
    pub status: String,
    pub test_mode: bool,
    /// Where to go once paid.
    pub return_to: String,
    /// The payment provider's page to pay at (Stripe Checkout); `None` pays on Cairn's own page.
    pub pay_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub id: Uuid,
    pub description: String,
    pub amount: i64,
    pub status: String,
    /// Refunded or disputed so far (minor units).
    pub refunded: i64,
    pub buyer_name: String,
    pub buyer_email: String,
    pub provider: String,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleView {
    pub id: Uuid,
    pub description: String,
    pub buyer: String,
    pub gross: i64,
    pub share: i64,
    pub platform_fee: i64,
    pub status: String,
    /// Refunded or disputed so far (minor units).
    pub refunded: i64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutView {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub party: String,
    pub email: String,
    pub amount: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// Why Stripe would not take the transfer (the payout stays pending).
    pub error: Option<String>,
}

/// Where a creator's payouts go: their Stripe Connect account, when Stripe is configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutAccountView {
    /// Whether payouts can go through Stripe on this instance.
    pub stripe: bool,
    /// Whether the person has started Stripe's onboarding.
    pub connected: bool,
    pub details_submitted: bool,
    pub payouts_enabled: bool,
    /// The last payout to their bank Stripe reported: `paid` or `failed`.
    pub last_payout_status: Option<String>,
    pub last_payout_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoView {
    pub code: String,
    pub discount: Discount,
    pub duration: PromoDuration,
    pub valid_until: Option<DateTime<Utc>>,
    pub max_redemptions: Option<i64>,
    pub redeemed: i64,
    pub first_time_only: bool,
    pub products: Vec<String>,
}

/// A creator's sales, share and balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesView {
    pub tier: CreatorTier,
    pub share_bps: u32,
    /// What Cairn owes the creator now, from the ledger.
    pub balance: i64,
    pub sales: Vec<SaleView>,
    pub payouts: Vec<PayoutView>,
    pub promos: Vec<PromoView>,
    pub timezone: String,
    pub payout_account: PayoutAccountView,
    /// The smallest balance paid out.
    pub minimum_payout: i64,
}

/// A promo code as typed into its form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromoInput {
    pub code: String,
    /// `percent` or `amount`.
    pub kind: String,
    pub value: String,
    /// `once`, `repeating` or `forever`.
    pub duration: String,
    pub months: String,
    /// `YYYY-MM-DD`, the last day it works; empty for no end.
    pub valid_until: String,
    pub max_redemptions: String,
    pub first_time_only: bool,
    /// Product keys, comma-separated (`plan:premium`, `sequence:<id>`); empty for all.
    pub products: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminPaymentView {
    pub id: Uuid,
    pub description: String,
    pub buyer: String,
    pub amount: i64,
    pub seller_share: i64,
    pub platform_fee: i64,
    pub status: String,
    /// Refunded or disputed so far (minor units).
    pub refunded: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceView {
    pub party: UserId,
    pub name: String,
    pub email: String,
    pub balance: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutBatchView {
    pub id: Uuid,
    pub method: String,
    pub payouts: i64,
    pub total: i64,
    pub created_at: DateTime<Utc>,
}

/// The platform admin's billing page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminBillingView {
    pub plans: Vec<PlanView>,
    pub promos: Vec<PromoView>,
    pub payments: Vec<AdminPaymentView>,
    pub balances: Vec<BalanceView>,
    pub batches: Vec<PayoutBatchView>,
    pub minimum_payout: i64,
    /// The platform's share of journey sales, in basis points.
    pub journey_fee_bps: u32,
    pub timezone: String,
}

/// The platform admin's business dashboard: figures from the plan history and the ledger, with
/// names for the keys they group by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessView {
    pub figures: crate::domain::business::Figures,
    /// Product keys, creator ids and plan codes → what to call them.
    pub names: std::collections::BTreeMap<String, String>,
    /// Balances owed to creators (not yet in a payout batch), and how many are above the minimum.
    pub owed: i64,
    pub owed_parties: i64,
    /// Payouts made in a batch and not yet marked paid.
    pub pending_payouts: i64,
    pub ai_cost_per_million_tokens: i64,
    pub generated_at: DateTime<Utc>,
    pub timezone: String,
}

impl BusinessView {
    pub fn name(&self, key: &str) -> String {
        self.names.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }
}

/// A premium sequence's price as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceView {
    pub amount: i64,
    pub recurring: Option<Interval>,
    /// The affiliates' commission, in basis points (0: no affiliate program).
    pub affiliate_bps: u32,
}

/// One of the caller's affiliate links and what it brought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffiliateLinkView {
    pub product: String,
    /// What it links to, e.g. the sequence's title.
    pub title: String,
    pub url: String,
    /// The commission now, in basis points.
    pub rate_bps: u32,
    pub clicks: i64,
    pub signups: i64,
    pub sales: i64,
    pub commission: i64,
}

/// The smallest balance paid out unless a platform admin set another (PowerPrompts: $25).
pub const MINIMUM_PAYOUT: i64 = 2_500;

/// The product key of a sequence.
pub fn sequence_product(id: Uuid) -> String {
    format!("sequence:{id}")
}

#[cfg(feature = "ssr")]
pub(crate) mod rules {
    use super::*;
    use crate::api::Caller;
    use crate::domain::billing::{
        self as money, Boost, Breakdown, Entitlements, FREE_PLAN, Need, PromoRules, account, plan_in_effect,
    };
    use crate::domain::{Action, OrgKind, Resource};
    use crate::error::Upgrade;
    use crate::ports::{
        CheckoutRecord, DisputeRecord, LedgerTx, MembershipRecord, OutgoingMail, PaymentFilter, PaymentRecord,
        PlanChangeRecord, PlanRecord, PlanSubscriptionRecord, PromoRecord, SequenceRecord, Services, Settlement,
    };

    pub const PROVIDER: &str = "builtin";
    /// A plan a platform admin gave someone for a while (no payment).
    pub const OVERRIDE: &str = "override";

    pub async fn catalog(services: &Services) -> Result<Vec<(String, PlanConfig)>, AppError> {
        Ok(services.store.plans().await?.into_iter().map(|p| (p.code, p.config)).collect())
    }

    /// The person's own workspace, where their individual plan lives.
    pub async fn personal_org(services: &Services, user: UserId) -> Result<Option<OrgId>, AppError> {
        Ok(services
            .store
            .memberships_of(user)
            .await?
            .into_iter()
            .find(|m| m.org.kind == OrgKind::Personal)
            .map(|m| m.org.id))
    }

    /// The plan subscriptions in effect for `user` acting in `org`: their individual plan and
    /// the organization's.
    async fn subscriptions(
        services: &Services,
        user: UserId,
        org: OrgId,
    ) -> Result<Vec<PlanSubscriptionRecord>, AppError> {
        in_effect(services, &subject_orgs(services, user, org).await?).await
    }

    /// `org` and, when it is another, the person's own workspace.
    async fn subject_orgs(services: &Services, user: UserId, org: OrgId) -> Result<Vec<OrgId>, AppError> {
        let mut orgs = vec![org];
        orgs.extend(personal_org(services, user).await?.filter(|p| *p != org));
        Ok(orgs)
    }

    async fn in_effect(services: &Services, orgs: &[OrgId]) -> Result<Vec<PlanSubscriptionRecord>, AppError> {
        let now = services.clock.now();
        Ok(services
            .store
            .plan_subscriptions(orgs)
            .await?
            .into_iter()
            .filter(|s| plan_in_effect(s.status, s.period_end, s.cancel_at_period_end, now))
            .collect())
    }

    /// `entitlements(subject)`: what `user` may do in `org`, from the plans in effect (free
    /// when none) and the boosts an admin granted.
    pub async fn entitlements(services: &Services, user: UserId, org: OrgId) -> Result<Entitlements, AppError> {
        let orgs = subject_orgs(services, user, org).await?;
        let subs = in_effect(services, &orgs).await?;
        let mut plans = Vec::new();
        for s in &subs {
            if let Some(p) = services.store.plan(&s.plan_code, Some(s.plan_version)).await? {
                plans.push((p.code, p.config));
            }
        }
        if plans.is_empty() {
            let free = services.store.plan(FREE_PLAN, None).await?.ok_or_else(|| AppError::internal("no free plan"))?;
            plans.push((free.code, free.config));
        }
        let boosts: Vec<Boost> =
            services.store.boosts(&orgs, services.clock.now()).await?.into_iter().map(|b| b.boost).collect();
        let refs: Vec<(&str, &PlanConfig)> = plans.iter().map(|(c, p)| (c.as_str(), p)).collect();
        Ok(Entitlements::combine(&refs, &boosts))
    }

    /// `require(feature or quota)`: allows it or answers why not with the plan that would
    /// (403 `plan_limit`, or 429 `quota_exhausted` for quotas that refill).
    pub async fn require(
        services: &Services,
        user: UserId,
        org: OrgId,
        need: Need,
    ) -> Result<Option<String>, AppError> {
        let e = entitlements(services, user, org).await?;
        let catalog = catalog(services).await?;
        e.require(need, &catalog).map_err(|d| {
            let upgrade = d.upgrade.map(|(plan, name)| Upgrade { plan, name });
            if d.refills {
                AppError::QuotaExhausted { message: d.message, upgrade }
            } else {
                AppError::PlanLimit { message: d.message, upgrade }
            }
        })
    }

    /// How much of each quota the person uses in `org`.
    pub async fn usage(services: &Services, user: UserId, org: OrgId, quota: Quota) -> Result<i64, AppError> {
        use crate::domain::sequence::SubscriptionStatus;
        Ok(match quota {
            Quota::ActiveSequences => services
                .store
                .subscriptions_of(user)
                .await?
                .iter()
                .filter(|s| matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Paused))
                .count() as i64,
            Quota::PersonalSequences => {
                services.store.sequences(org).await?.iter().filter(|s| s.creator_id == user && !s.is_template).count()
                    as i64
            }
            Quota::Members => services.store.members(org).await?.len() as i64,
            Quota::AiTokensPerMonth => {
                let since = money::month_start(services.clock.now());
                services.store.usage_totals(org, money::Metric::AiTokens, since).await?.sum
            }
            Quota::Prompts => services.store.prompt_count(org).await?,
            Quota::ApiRequestsPerDay => {
                services.store.org_api_requests(org, money::day_start(services.clock.now())).await?
            }
        })
    }

    /// Whether `adding` more of a quota fit in what `user` may use in `org` (the upgrade that
    /// would allow it when not).
    pub async fn require_room(
        services: &Services,
        user: UserId,
        org: OrgId,
        quota: Quota,
        adding: i64,
    ) -> Result<(), AppError> {
        let used = usage(services, user, org, quota).await?;
        require(services, user, org, Need::Quota { quota, used, adding }).await.map(|_| ())
    }

    /// Records the AI tokens a model call used in `org` and what they cost at the configured
    /// rate now (`CAIRN_AI_COST_PER_MILLION_TOKENS`), once per `key`. A failure is logged: the
    /// answer was given, metering must not take it back.
    pub async fn record_ai_tokens(
        services: &Services,
        key: String,
        org: OrgId,
        user: Option<UserId>,
        usage: Option<crate::domain::model::TokenUsage>,
    ) {
        let Some(u) = usage else { return };
        let tokens = u.prompt_tokens + u.completion_tokens;
        let cost = crate::domain::business::token_cost_micros(tokens, services.settings.ai_cost_per_million_tokens);
        let at = services.clock.now();
        for (metric, quantity, key) in
            [(money::Metric::AiTokens, tokens, key.clone()), (money::Metric::AiCost, cost, format!("{key}:cost"))]
        {
            let event = crate::ports::UsageEventRecord {
                id: Uuid::now_v7(),
                idempotency_key: key,
                org_id: org,
                user_id: user,
                metric,
                quantity,
                at,
            };
            if let Err(e) = services.store.record_usage(&event).await {
                tracing::warn!(error = %e, metric = metric.as_str(), "recording AI usage failed");
            }
        }
    }

    /// Whether `org` may make another AI model call this month (its plan's AI token quota).
    pub async fn require_ai_tokens(services: &Services, user: UserId, org: OrgId) -> Result<(), AppError> {
        let used = usage(services, user, org, Quota::AiTokensPerMonth).await?;
        require(services, user, org, Need::Quota { quota: Quota::AiTokensPerMonth, used, adding: 1 }).await.map(|_| ())
    }

    /// The sequence issue's `can_access` port: premium sequences need the plan feature or a
    /// purchase (their creator always has access).
    pub async fn can_access(
        services: &Services,
        user: UserId,
        org: OrgId,
        s: &SequenceRecord,
    ) -> Result<bool, AppError> {
        use crate::domain::sequence::Visibility;
        if s.meta.visibility != Visibility::Premium || s.creator_id == user {
            return Ok(true);
        }
        if entitlements(services, user, org).await?.features.premium_sequences {
            return Ok(true);
        }
        Ok(services.store.has_paid(user, Some(&sequence_product(s.id)), services.clock.now()).await?)
    }

    // -----------------------------------------------------------------------------------------
    // An organization's plan and seats

    /// The plan `org` pays for itself, when one is in effect.
    async fn org_subscription(services: &Services, org: OrgId) -> Result<Option<PlanSubscriptionRecord>, AppError> {
        Ok(in_effect(services, &[org]).await?.pop())
    }

    /// The version of the plan `sub` bought, or the newest free plan without one.
    async fn plan_of(services: &Services, sub: Option<&PlanSubscriptionRecord>) -> Result<PlanRecord, AppError> {
        match sub {
            Some(s) => services.store.plan(&s.plan_code, Some(s.plan_version)).await?,
            None => services.store.plan(FREE_PLAN, None).await?,
        }
        .ok_or_else(|| AppError::internal("a subscription names a plan that does not exist"))
    }

    /// How many people `org` may hold — members and pending invitations — on its own plan
    /// (the free plan without one) and its member boosts; `None` is unlimited.
    async fn seat_limit(
        services: &Services,
        org: OrgId,
        sub: Option<&PlanSubscriptionRecord>,
        plan: &PlanConfig,
    ) -> Result<Option<i64>, AppError> {
        let extra: i64 = services
            .store
            .boosts(&[org], services.clock.now())
            .await?
            .iter()
            .filter(|b| b.boost.quota == Quota::Members)
            .map(|b| b.boost.extra)
            .sum();
        Ok(plan.seat_limit(sub.map_or(1, |s| s.seats), extra))
    }

    /// The cheapest plan sold by the seat that holds more than `limit` people.
    async fn seat_upgrade(services: &Services, limit: i64) -> Result<Option<Upgrade>, AppError> {
        Ok(catalog(services)
            .await?
            .into_iter()
            .filter(|(_, p)| p.per_seat && p.limits.max_members.is_none_or(|m| m > limit))
            .min_by_key(|(_, p)| p.rank)
            .map(|(plan, p)| Upgrade { plan, name: p.name }))
    }

    /// How many people `org` holds at most — members and pending invitations — by its plan, its
    /// seats and boosts (`None`: no limit). A personal workspace holds what its owner's individual
    /// plan allows. The store checks it as it adds someone, so that people added at once cannot
    /// overfill the organization.
    pub async fn seats_of(services: &Services, org: OrgId) -> Result<Option<i64>, AppError> {
        let sub = org_subscription(services, org).await?;
        let plan = plan_of(services, sub.as_ref()).await?;
        seat_limit(services, org, sub.as_ref(), &plan.config).await
    }

    /// Why `org` (named `name`) has no seat for one more person, with the plan that would have
    /// one. Inviting counts members and pending invitations; accepting (`accepting`) only
    /// members, since the invitation held its seat already.
    pub async fn no_seat(services: &Services, org: OrgId, name: &str, accepting: bool) -> Result<AppError, AppError> {
        let sub = org_subscription(services, org).await?;
        let plan = plan_of(services, sub.as_ref()).await?;
        let limit = seat_limit(services, org, sub.as_ref(), &plan.config).await?.unwrap_or(0);
        let message = if accepting {
            format!("{name} has no free seat for you: ask its owner to add seats.")
        } else {
            let members = services.store.members(org).await?.len() as i64;
            let pending = services.store.pending_invitations(org, services.clock.now()).await?.len() as i64;
            format!(
                "All {limit} seats of {name} are taken ({members} members, {pending} pending invitations): \
                 add seats to its {} plan, or revoke an invitation.",
                plan.config.name
            )
        };
        Ok(AppError::PlanLimit { message, upgrade: seat_upgrade(services, limit).await? })
    }

    /// What takes its part off a plan's next renewal.
    enum RenewalOff {
        None,
        /// A promo code, while its duration lasts.
        Promo(String),
        /// An admin's discount: percent, until.
        Admin(i64, DateTime<Utc>),
    }

    /// Which period of a plan a price is asked for.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Period {
        /// The one running now.
        Current,
        /// The one its next renewal pays for.
        Next,
    }

    /// What a period of `sub` costs at `price`: less its promo code's discount while the code's
    /// duration lasts (counted in periods paid before that one), or an admin's discount for the
    /// period when larger (plans Stripe bills get only the code: Stripe applies it as a coupon).
    async fn period_price(
        services: &Services,
        sub: &PlanSubscriptionRecord,
        price: i64,
        period: Period,
    ) -> Result<(i64, RenewalOff), AppError> {
        let product = format!("plan:{}", sub.plan_code);
        let (mut off, mut why) = (0, RenewalOff::None);
        if let Some(code) = &sub.promo_code
            && let Some(promo) = services.store.promo(code).await?
        {
            let before = (period == Period::Current).then_some(sub.period_start);
            let paid = services.store.count_payments(sub.org_id, &product, before).await?;
            if promo.rules.duration.applies_to(paid) {
                off = promo.rules.discount.off(price);
                why = RenewalOff::Promo(promo.code);
            }
        }
        let starts = match period {
            Period::Current => sub.period_start,
            Period::Next => sub.period_end,
        };
        if sub.provider != STRIPE
            && let Some(d) = services.store.discount_at(sub.org_id, starts).await?
        {
            let admin = money::percent_of(price, d.percent as u32 * 100);
            if admin > off {
                (off, why) = (admin, RenewalOff::Admin(d.percent, d.expires_at));
            }
        }
        Ok((price - off, why))
    }

    /// A period's price as monthly revenue: a yearly price counts a twelfth.
    fn monthly(amount: i64, interval: Interval) -> i64 {
        match interval {
            Interval::Year => amount / 12,
            Interval::Month => amount,
        }
    }

    /// The monthly recurring revenue `sub` brings in the period running now: what that period
    /// costs after a promo code's or an admin's discount in it. Trials and given plans bring
    /// none.
    async fn mrr_of(services: &Services, sub: &PlanSubscriptionRecord, plan: &PlanConfig) -> Result<i64, AppError> {
        if sub.provider == OVERRIDE || sub.status == PlanStatus::Trialing {
            return Ok(0);
        }
        let Some(price) = plan.price(sub.interval, sub.seats) else { return Ok(0) };
        let (amount, _) = period_price(services, sub, price, Period::Current).await?;
        Ok(monthly(amount, sub.interval))
    }

    /// "Renews on 2 January for $19.00." with what takes its part off.
    async fn renews_text(
        services: &Services,
        sub: &PlanSubscriptionRecord,
        price: i64,
        when: impl Fn(DateTime<Utc>) -> String,
    ) -> Result<String, AppError> {
        let (amount, off) = period_price(services, sub, price, Period::Next).await?;
        let (at, amount) = (when(sub.period_end), money::format_money(amount));
        Ok(match off {
            RenewalOff::None => format!("Renews on {at} for {amount}."),
            RenewalOff::Promo(code) => format!("Renews on {at} for {amount} (promo code {code})."),
            RenewalOff::Admin(percent, until) => {
                format!("Renews on {at} for {amount} ({percent}% off until {}).", when(until))
            }
        })
    }

    /// The caller's membership in `org`, which they buy the plan of (its owner).
    async fn managed_org(services: &Services, caller: &Caller, org: OrgId) -> Result<MembershipRecord, AppError> {
        let (_, m) = crate::api::authorize(services, caller, org, Action::ManageBilling, &Resource::Org(org)).await?;
        if m.org.kind == OrgKind::Personal {
            return Err(AppError::validation("plan", "Your own plan is chosen on the billing page."));
        }
        Ok(m)
    }

    /// `org`'s plan, seats and what happens next. Needs: ViewMembers.
    pub async fn org_plan(services: &Services, caller: &Caller, org: OrgId) -> Result<OrgPlanView, AppError> {
        let (actor, m) = crate::api::authorize(services, caller, org, Action::ViewMembers, &Resource::Org(org)).await?;
        let now = services.clock.now();
        let sub = org_subscription(services, org).await?;
        let plan = plan_of(services, sub.as_ref()).await?;
        let limit = seat_limit(services, org, sub.as_ref(), &plan.config).await?;
        let members = services.store.members(org).await?.len() as i64;
        let pending = services.store.pending_invitations(org, now).await?.len() as i64;
        let tz = tz(caller);
        let when = |at: DateTime<Utc>| crate::domain::schedule::format_local(at, &tz);
        let next = match &sub {
            None => format!("{} is on the free plan.", m.org.name),
            Some(s) if s.provider == OVERRIDE => {
                format!("An administrator gave this plan until {}.", when(s.period_end))
            }
            Some(s) if s.cancel_at_period_end => {
                format!("Ends on {}; then {} is on the free plan.", when(s.period_end), m.org.name)
            }
            Some(s) if s.status == PlanStatus::PastDue => format!(
                "The last payment failed. Update the payment by {} or the plan drops to free.",
                when(s.period_end + chrono::Duration::days(money::GRACE_DAYS))
            ),
            Some(s) => renews_text(services, s, plan.config.price(s.interval, s.seats).unwrap_or(0), when).await?,
        };
        let plans = services
            .store
            .plans()
            .await?
            .into_iter()
            .filter(|p| p.config.per_seat)
            .map(|p| PlanView { code: p.code, version: p.version, config: p.config })
            .collect();
        Ok(OrgPlanView {
            plan_code: plan.code,
            plan_name: plan.config.name.clone(),
            interval: sub.as_ref().map(|s| s.interval),
            seats: sub.as_ref().filter(|_| plan.config.per_seat).map(|s| s.seats),
            limit,
            members,
            pending,
            next,
            cancel_at_period_end: sub.as_ref().is_some_and(|s| s.cancel_at_period_end),
            billed_by_stripe: sub.as_ref().is_some_and(|s| s.provider == STRIPE),
            given_by_admin: sub.as_ref().is_some_and(|s| s.provider == OVERRIDE),
            may_manage: m.org.kind != OrgKind::Personal
                && crate::domain::can(&actor, Action::ManageBilling, &Resource::Org(org)),
            test_mode: services.payments.is_none(),
            plans,
        })
    }

    /// The owner chooses `org`'s plan by the seat: a checkout for a new plan or more seats (the
    /// difference for the rest of the period, on the built-in provider), or — for fewer seats
    /// of the same plan — the change at once (`None`), as long as everyone keeps a seat.
    pub async fn org_checkout(
        services: &Services,
        caller: &Caller,
        org: OrgId,
        code: &str,
        interval: &str,
        seats: &str,
        promo_code: &str,
    ) -> Result<Option<(CheckoutRecord, Option<String>)>, AppError> {
        let m = managed_org(services, caller, org).await?;
        let plan = services
            .store
            .plan(code, None)
            .await?
            .filter(|p| p.config.per_seat)
            .ok_or_else(|| AppError::validation("plan", "Choose a plan sold by the seat."))?;
        let interval = Interval::parse(interval).map_err(|e| AppError::validation("interval", e.0))?;
        let seats: i64 = seats
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| AppError::validation("seats", "Enter how many seats, a whole number."))?;
        plan.config.check_seats(seats).map_err(|e| AppError::validation("seats", e.0))?;
        let now = services.clock.now();
        let members = services.store.members(org).await?.len() as i64;
        let pending = services.store.pending_invitations(org, now).await?.len() as i64;
        if seats < members + pending {
            return Err(AppError::validation(
                "seats",
                format!(
                    "{} has {members} members and {pending} pending invitations: keep at least {} seats.",
                    m.org.name,
                    members + pending
                ),
            ));
        }
        let full = plan
            .config
            .price(interval, seats)
            .ok_or_else(|| AppError::validation("interval", "This plan is sold monthly only."))?;
        let mut price = full;
        if let Some(current) = org_subscription(services, org).await? {
            let old = plan_of(services, Some(&current)).await?;
            let old_price = old.config.price(current.interval, current.seats).unwrap_or(0);
            let ending = current.cancel_at_period_end;
            if current.provider == OVERRIDE {
                return Err(AppError::conflict(format!(
                    "An administrator gave {} its plan until {}.",
                    m.org.name,
                    crate::domain::schedule::format_local(current.period_end, &caller.user.timezone)
                )));
            }
            if current.provider == STRIPE && !ending {
                return Err(AppError::conflict(
                    "The plan is billed by Stripe: change seats or cancel it under \"Manage billing\".",
                ));
            }
            let same = current.plan_code == plan.code && current.interval == interval && !ending;
            if same && seats == current.seats {
                return Err(AppError::validation("seats", format!("{} has {seats} seats already.", m.org.name)));
            }
            if same && seats < current.seats {
                fewer_seats(services, caller, current, &old.config, seats).await?;
                return Ok(None);
            }
            if !ending && old_price >= full {
                return Err(AppError::validation(
                    "plan",
                    format!(
                        "{} is on {} until {}: cancel it first; a smaller plan starts when it ends.",
                        m.org.name,
                        old.config.name,
                        current.period_end.date_naive()
                    ),
                ));
            }
            if !ending && current.interval == interval && services.payments.is_none() {
                // More seats or a larger plan pay the difference for the rest of the period.
                price = money::proration(
                    old_price,
                    full,
                    (current.period_end - now).num_seconds(),
                    (current.period_end - current.period_start).num_seconds(),
                );
            }
        }
        let every = match interval {
            Interval::Month => "monthly",
            Interval::Year => "yearly",
        };
        let product = format!("plan:{}", plan.code);
        let (off, promo) = match promo_code.trim() {
            "" => (0, None),
            code => {
                let (off, promo) = discount(services, caller.user.id, code, &product, price, None).await?;
                (off, Some(promo))
            }
        };
        let checkout = CheckoutRecord {
            id: Uuid::now_v7(),
            user_id: caller.user.id,
            org_id: org,
            product,
            description: format!("{} plan for {}, {seats} seats ({every})", plan.config.name, m.org.name),
            plan_version: Some(plan.version),
            interval: Some(interval),
            seats,
            price,
            discount: off,
            amount: price - off,
            currency: money::CURRENCY.into(),
            promo_code: promo.as_ref().map(|p| p.code.clone()),
            provider: PROVIDER.into(),
            provider_ref: None,
            affiliate_code: None,
            status: "open".into(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(24),
            completed_at: None,
        };
        open_checkout(services, caller, checkout, promo.as_ref()).await.map(Some)
    }

    /// Fewer seats of the plan `org` is on, from now on: the next renewal charges for them.
    async fn fewer_seats(
        services: &Services,
        caller: &Caller,
        current: PlanSubscriptionRecord,
        plan: &PlanConfig,
        seats: i64,
    ) -> Result<(), AppError> {
        let now = services.clock.now();
        let change = PlanChangeRecord {
            id: Uuid::now_v7(),
            org_id: current.org_id,
            from_plan: Some(current.plan_code.clone()),
            to_plan: Some(current.plan_code.clone()),
            mrr_before: mrr_of(services, &current, plan).await?,
            mrr_after: mrr_of(services, &PlanSubscriptionRecord { seats, ..current.clone() }, plan).await?,
            reason: "seats".into(),
            at: now,
        };
        let before = current.seats;
        let next = PlanSubscriptionRecord { seats, updated_at: now, ..current };
        services.store.save_plan_subscription(&next, &change).await?;
        crate::api::audit(
            services,
            Some(caller.user.id),
            Some(next.org_id),
            "billing.seats",
            format!("plan:{}", next.plan_code),
            Some(serde_json::json!({ "seats": before })),
            Some(serde_json::json!({ "seats": seats })),
        )
        .await
    }

    fn tz(caller: &Caller) -> String {
        caller.user.timezone.clone()
    }

    pub async fn overview(services: &Services, caller: &Caller) -> Result<BillingSummary, AppError> {
        let user = caller.user.id;
        let org = personal_org(services, user).await?.ok_or(AppError::NotFound)?;
        let now = services.clock.now();
        let sub = services.store.plan_subscriptions(&[org]).await?.pop();
        let live = sub.as_ref().filter(|s| plan_in_effect(s.status, s.period_end, s.cancel_at_period_end, now));
        let plans = services.store.plans().await?;
        let current = match live {
            Some(s) => services.store.plan(&s.plan_code, Some(s.plan_version)).await?,
            None => services.store.plan(FREE_PLAN, None).await?,
        }
        .ok_or(AppError::NotFound)?;
        let e = entitlements(services, user, org).await?;
        let mut usage = Vec::new();
        // Seats are an organization's: its members page shows them against its plan.
        for q in Quota::ALL.into_iter().filter(|q| *q != Quota::Members) {
            let used = self::usage(services, user, org, q).await?;
            let limit = q.limit(&e.limits);
            usage.push(UsageView {
                quota: q,
                label: q.label().into(),
                used,
                limit,
                percent: money::usage_percent(used, limit),
            });
        }
        let tz = tz(caller);
        let when = |at: DateTime<Utc>| crate::domain::schedule::format_local(at, &tz);
        let next = match live {
            None => "You are on the free plan.".to_owned(),
            Some(s) if s.cancel_at_period_end => {
                format!("Ends on {}; then you are on the free plan.", when(s.period_end))
            }
            Some(s) if s.status == PlanStatus::Trialing => format!(
                "Your trial ends on {}; then the plan costs {}.",
                when(s.period_end),
                money::format_money(current.config.price(s.interval, s.seats).unwrap_or(0))
            ),
            Some(s) if s.status == PlanStatus::PastDue => format!(
                "The last payment failed. Update your payment by {} or the plan drops to free.",
                when(s.period_end + chrono::Duration::days(money::GRACE_DAYS))
            ),
            Some(s) => renews_text(services, s, current.config.price(s.interval, s.seats).unwrap_or(0), when).await?,
        };
        let payments = services
            .store
            .payments(&PaymentFilter { user: Some(user), limit: 50, ..Default::default() })
            .await?
            .into_iter()
            .map(|p| PaymentView {
                id: p.id,
                description: p.description,
                amount: p.amount,
                status: p.status,
                refunded: p.refunded,
                created_at: p.created_at,
            })
            .collect();
        Ok(BillingSummary {
            plan_code: current.code.clone(),
            plan_name: current.config.name.clone(),
            status: live.map(|s| s.status),
            interval: live.map(|s| s.interval),
            period_end: live.map(|s| s.period_end),
            cancel_at_period_end: live.is_some_and(|s| s.cancel_at_period_end),
            next,
            test_mode: services.payments.is_none(),
            stripe_customer: services.store.stripe_customer(user).await?.is_some(),
            billed_by_stripe: live.is_some_and(|s| s.provider == STRIPE),
            usage,
            plans: plans.into_iter().map(|p| PlanView { code: p.code, version: p.version, config: p.config }).collect(),
            payments,
            timezone: tz,
            trial_available: sub.is_none(),
        })
    }

    /// Starts the plan's free trial on the caller's personal workspace: no payment now; when the
    /// trial ends the plan renews (the first payment) unless canceled before. Once per person,
    /// before any plan.
    pub async fn start_trial(services: &Services, caller: &Caller, code: &str) -> Result<(), AppError> {
        let plan =
            services.store.plan(code, None).await?.ok_or_else(|| AppError::validation("plan", "Choose a plan."))?;
        if plan.config.trial_days <= 0 || plan.config.per_seat || plan.config.monthly_price == 0 {
            return Err(AppError::validation("plan", format!("{} has no free trial.", plan.config.name)));
        }
        let org = personal_org(services, caller.user.id).await?.ok_or(AppError::NotFound)?;
        if !services.store.plan_subscriptions(&[org]).await?.is_empty() {
            return Err(AppError::conflict("A free trial is for people who have not had a plan yet."));
        }
        let now = services.clock.now();
        let sub = PlanSubscriptionRecord {
            org_id: org,
            plan_code: plan.code.clone(),
            plan_version: plan.version,
            interval: Interval::Month,
            seats: 1,
            status: PlanStatus::Trialing,
            period_start: now,
            period_end: now + chrono::Duration::days(plan.config.trial_days),
            cancel_at_period_end: false,
            promo_code: None,
            provider: PROVIDER.into(),
            provider_ref: None,
            paid_by: Some(caller.user.id),
            created_at: now,
            updated_at: now,
        };
        // A trial brings no revenue yet: MRR moves when it converts.
        let change = PlanChangeRecord {
            id: Uuid::now_v7(),
            org_id: org,
            from_plan: None,
            to_plan: Some(plan.code.clone()),
            mrr_before: 0,
            mrr_after: 0,
            reason: "trial".into(),
            at: now,
        };
        services.store.save_plan_subscription(&sub, &change).await?;
        crate::api::audit(
            services,
            Some(caller.user.id),
            Some(org),
            "billing.trial",
            format!("plan:{}", plan.code),
            None,
            None,
        )
        .await
    }

    /// Looks a promo code up and applies it to `product` at `price`.
    async fn discount(
        services: &Services,
        user: UserId,
        code: &str,
        product: &str,
        price: i64,
        seller: Option<UserId>,
    ) -> Result<(i64, PromoRecord), AppError> {
        let field = "promo_code";
        let code = money::parse_promo_code(code).map_err(|e| AppError::validation(field, e.0))?;
        let promo = services.store.promo(&code).await?.ok_or_else(|| AppError::validation(field, "No such code."))?;
        if promo.owner_id != seller {
            return Err(AppError::validation(field, "This code does not apply to this product."));
        }
        let paid_before = services.store.has_paid(user, None, DateTime::<Utc>::UNIX_EPOCH).await?;
        let off = promo
            .rules
            .apply(product, price, services.clock.now(), promo.redeemed, paid_before)
            .map_err(|e| AppError::validation(field, e.0))?;
        Ok((off, promo))
    }

    /// Opens a checkout for `product` (`plan:<code>` or `sequence:<id>`).
    pub async fn start_checkout(
        services: &Services,
        caller: &Caller,
        org: OrgId,
        product: &str,
        interval: &str,
        promo_code: &str,
    ) -> Result<(CheckoutRecord, Option<String>), AppError> {
        let user = caller.user.id;
        let now = services.clock.now();
        let mut affiliate = None;
        let (description, price, plan_version, interval, seller, checkout_org) = if let Some(code) =
            product.strip_prefix("plan:")
        {
            let plan =
                services.store.plan(code, None).await?.ok_or_else(|| AppError::validation("plan", "Choose a plan."))?;
            if plan.config.per_seat {
                return Err(AppError::validation(
                    "plan",
                    "Team and enterprise plans are bought by an organization's owner from its settings.",
                ));
            }
            let interval = Interval::parse(interval).map_err(|e| AppError::validation("interval", e.0))?;
            let price = plan
                .config
                .price(interval, 1)
                .ok_or_else(|| AppError::validation("interval", "This plan is sold monthly only."))?;
            if price == 0 {
                return Err(AppError::validation("plan", "The free plan needs no checkout: cancel your plan instead."));
            }
            let personal = personal_org(services, user).await?.ok_or(AppError::NotFound)?;
            let mut price = price;
            if let Some(current) =
                subscriptions(services, user, personal).await?.into_iter().find(|s| s.org_id == personal)
            {
                let old = services
                    .store
                    .plan(&current.plan_code, Some(current.plan_version))
                    .await?
                    .ok_or(AppError::NotFound)?;
                let old_price = old.config.price(current.interval, current.seats).unwrap_or(0);
                if current.plan_code == plan.code && !current.cancel_at_period_end {
                    return Err(AppError::conflict(format!("You are on {} already.", plan.config.name)));
                }
                if current.provider == STRIPE && !current.cancel_at_period_end {
                    return Err(AppError::conflict(
                        "Your plan is billed by Stripe: change or cancel it under \"Manage billing\".",
                    ));
                }
                if services.payments.is_some() && old_price < price && !current.cancel_at_period_end {
                    // A new Stripe subscription at the full price replaces the built-in plan now.
                } else if current.interval == interval && old_price < price && !current.cancel_at_period_end {
                    // An upgrade pays the difference for the rest of the period.
                    price = money::proration(
                        old_price,
                        price,
                        (current.period_end - now).num_seconds(),
                        (current.period_end - current.period_start).num_seconds(),
                    );
                } else if old_price >= price && !current.cancel_at_period_end {
                    return Err(AppError::validation(
                        "plan",
                        format!(
                            "You are on {} until {}: cancel it first; a smaller plan starts when it ends.",
                            old.config.name,
                            current.period_end.date_naive()
                        ),
                    ));
                }
            }
            let every = match interval {
                Interval::Month => "monthly",
                Interval::Year => "yearly",
            };
            (format!("{} plan ({every})", plan.config.name), price, Some(plan.version), Some(interval), None, personal)
        } else if let Some(id) = product.strip_prefix("sequence:") {
            let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
            let p = crate::api::prompts::session_principal(services, caller, crate::api::request_meta()).await?;
            let s = crate::api::sequences::rules::visible(services, &p, id).await?;
            let price = services
                .store
                .price(product)
                .await?
                .ok_or_else(|| AppError::validation("product", "This sequence is not for sale."))?;
            if can_access(services, user, org, &s).await? && s.creator_id != user {
                return Err(AppError::conflict("You have this sequence already."));
            }
            if s.creator_id == user {
                return Err(AppError::conflict("This is your own sequence."));
            }
            let what = if price.recurring.is_some() { "monthly access" } else { "lifetime access" };
            affiliate = affiliate_for(services, user, product, &price).await?;
            (format!("{} ({what})", s.meta.title), price.amount, None, price.recurring, Some(price.seller_id), p.org)
        } else if let Some((id, tier, every)) = crate::domain::journey::parse_product(product) {
            let p = crate::api::prompts::session_principal(services, caller, crate::api::request_meta()).await?;
            let j = crate::api::journeys::rules::for_sale(services, &p, id).await?;
            if j.creator_id == user {
                return Err(AppError::conflict("This is your own journey."));
            }
            let price = services
                .store
                .price(product)
                .await?
                .ok_or_else(|| AppError::validation("product", "This tier is not for sale."))?;
            let prefix = crate::domain::journey::products_prefix(id);
            if !services.store.paid_products_starting(user, &prefix, now).await?.is_empty() {
                return Err(AppError::conflict("You have this journey already."));
            }
            let what = match every {
                Interval::Month => "monthly",
                Interval::Year => "yearly",
            };
            affiliate = affiliate_for(services, user, product, &price).await?;
            (
                format!("{}: {} ({what})", j.title, tier.label()),
                price.amount,
                None,
                Some(every),
                Some(price.seller_id),
                p.org,
            )
        } else {
            return Err(AppError::validation("product", "Choose something to buy."));
        };
        let (off, promo) = match promo_code.trim() {
            "" => (0, None),
            code => {
                let (off, promo) = discount(services, user, code, product, price, seller).await?;
                (off, Some(promo))
            }
        };
        let checkout = CheckoutRecord {
            id: Uuid::now_v7(),
            user_id: user,
            org_id: checkout_org,
            product: product.to_owned(),
            description,
            plan_version,
            interval,
            seats: 1,
            price,
            discount: off,
            amount: price - off,
            currency: money::CURRENCY.into(),
            promo_code: promo.as_ref().map(|p| p.code.clone()),
            provider: PROVIDER.into(),
            provider_ref: None,
            affiliate_code: affiliate,
            status: "open".into(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(24),
            completed_at: None,
        };
        open_checkout(services, caller, checkout, promo.as_ref()).await
    }

    /// Stores a checkout; with Stripe configured, opens its Checkout Session first (answering
    /// where to pay).
    async fn open_checkout(
        services: &Services,
        caller: &Caller,
        mut checkout: CheckoutRecord,
        promo: Option<&PromoRecord>,
    ) -> Result<(CheckoutRecord, Option<String>), AppError> {
        let mut pay_url = None;
        if let Some(gateway) = &services.payments {
            let page = stripe_checkout(services, gateway.as_ref(), caller, &checkout, promo).await?;
            checkout.provider = STRIPE.into();
            checkout.provider_ref = Some(page.id);
            pay_url = Some(page.url);
        }
        services.store.create_checkout(&checkout).await?;
        Ok((checkout, pay_url))
    }

    /// The name of the cookie a click on an affiliate link leaves.
    pub const REFERRAL_COOKIE: &str = "cairn_ref";

    /// The affiliate link a purchase of `price`'s product by `buyer` is credited to: the link in
    /// the buyer's referral cookie (left by a click within the window), else the one they signed
    /// up through within the window — when the product pays affiliates, the link is for it, and
    /// the affiliate is neither the buyer nor the seller.
    async fn affiliate_for(
        services: &Services,
        buyer: UserId,
        product: &str,
        price: &crate::ports::PriceRecord,
    ) -> Result<Option<String>, AppError> {
        if price.affiliate_bps == 0 {
            return Ok(None);
        }
        let window = chrono::Duration::days(services.settings.affiliate_window_days);
        let mut codes: Vec<String> = crate::api::request_cookie(REFERRAL_COOKIE).into_iter().collect();
        if let Some((code, at)) = services.store.referral(buyer).await?
            && services.clock.now() - at <= window
        {
            codes.push(code);
        }
        for code in codes {
            if let Some(link) = services.store.affiliate_link(&code).await?
                && link_covers(&link.product, product)
                && link.user_id != buyer
                && link.user_id != price.seller_id
            {
                return Ok(Some(link.code));
            }
        }
        Ok(None)
    }

    /// Whether an affiliate link for `linked` is credited with a sale of `product`: a sequence's
    /// link with the sequence, a journey's (`journey:<id>`) with any of its tiers.
    fn link_covers(linked: &str, product: &str) -> bool {
        product.strip_prefix(linked).is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
    }

    /// What an affiliate link promotes: its title, commission (0 when it no longer pays
    /// affiliates) and seller.
    struct Program {
        title: String,
        rate_bps: u32,
        seller: UserId,
    }

    /// The affiliate program of a journey: the commission its tiers pay (none for sale: no
    /// program). A journey's link is for the journey, its tiers found by their keys.
    async fn journey_program(services: &Services, id: Uuid) -> Result<Option<Program>, AppError> {
        let mut found = None;
        for key in crate::domain::journey::products(id) {
            if let Some(price) = services.store.price(&key).await?
                && found
                    .as_ref()
                    .is_none_or(|best: &crate::ports::PriceRecord| price.affiliate_bps > best.affiliate_bps)
            {
                found = Some(price);
            }
        }
        let Some(price) = found else { return Ok(None) };
        let Some(j) = services.store.journey(price.org_id, id).await? else { return Ok(None) };
        Ok(Some(Program { title: j.title, rate_bps: price.affiliate_bps, seller: price.seller_id }))
    }

    /// A whole percentage from 0 to 50 ("10", "10%"), in basis points.
    pub fn parse_affiliate_percent(raw: &str) -> Result<u32, AppError> {
        raw.trim()
            .trim_end_matches('%')
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 50)
            .map(|n| n * 100)
            .ok_or_else(|| AppError::validation("percent", "A whole number from 0 to 50."))
    }

    /// Records the affiliate link a new person signed up through (from its cookie).
    pub async fn remember_referral(services: &Services, user: UserId) -> Result<(), AppError> {
        let Some(code) = crate::api::request_cookie(REFERRAL_COOKIE) else { return Ok(()) };
        if let Some(link) = services.store.affiliate_link(&code).await?
            && link.user_id != user
        {
            services.store.record_referral(user, &link.code, services.clock.now()).await?;
        }
        Ok(())
    }

    /// The caller's affiliate link for a product they can see that pays affiliates.
    pub async fn affiliate_link(
        services: &Services,
        caller: &Caller,
        product: &str,
    ) -> Result<AffiliateLinkView, AppError> {
        let p = crate::api::prompts::session_principal(services, caller, crate::api::request_meta()).await?;
        let (kind, program) = if let Some(id) = product.strip_prefix("sequence:") {
            let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
            let s = crate::api::sequences::rules::visible(services, &p, id).await?;
            let price = services.store.price(product).await?;
            let program = price.map(|price| Program {
                title: s.meta.title,
                rate_bps: price.affiliate_bps,
                seller: price.seller_id,
            });
            ("sequence", program)
        } else if let Some(id) = product.strip_prefix("journey:") {
            let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
            crate::api::journeys::rules::for_sale(services, &p, id).await?;
            ("journey", journey_program(services, id).await?)
        } else {
            return Err(AppError::NotFound);
        };
        let Some(program) = program.filter(|x| x.rate_bps > 0) else {
            return Err(AppError::conflict(format!("This {kind} has no affiliate program.")));
        };
        if program.seller == caller.user.id {
            return Err(AppError::conflict(format!("This is your own {kind}: share it directly.")));
        }
        let code: String = crate::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .take(12)
            .collect();
        let link = crate::ports::AffiliateLinkRecord {
            code,
            user_id: caller.user.id,
            product: product.to_owned(),
            created_at: services.clock.now(),
        };
        let link = services.store.ensure_affiliate_link(&link).await?;
        let stats = services.store.affiliate_stats(caller.user.id).await?;
        let mine = stats.into_iter().find(|x| x.link.code == link.code);
        Ok(AffiliateLinkView {
            product: product.to_owned(),
            title: program.title,
            url: affiliate_url(services, &link.code),
            rate_bps: program.rate_bps,
            clicks: mine.as_ref().map_or(0, |x| x.clicks),
            signups: mine.as_ref().map_or(0, |x| x.signups),
            sales: mine.as_ref().map_or(0, |x| x.sales),
            commission: mine.as_ref().map_or(0, |x| x.commission),
        })
    }

    fn affiliate_url(services: &Services, code: &str) -> String {
        format!("{}/r/{code}", services.settings.public_url.trim_end_matches('/'))
    }

    /// The caller's affiliate links and what each brought.
    pub async fn affiliate_links(services: &Services, caller: &Caller) -> Result<Vec<AffiliateLinkView>, AppError> {
        let mut out = Vec::new();
        for x in services.store.affiliate_stats(caller.user.id).await? {
            let program = if let Some(id) = x.link.product.strip_prefix("journey:") {
                match id.parse() {
                    Ok(id) => journey_program(services, id).await?,
                    Err(_) => None,
                }
            } else {
                let price = services.store.price(&x.link.product).await?;
                let id = x.link.product.strip_prefix("sequence:").and_then(|id| id.parse::<Uuid>().ok());
                match (price, id) {
                    (Some(p), Some(id)) => services.store.sequence(p.org_id, id).await?.map(|s| Program {
                        title: s.meta.title,
                        rate_bps: p.affiliate_bps,
                        seller: p.seller_id,
                    }),
                    _ => None,
                }
            };
            out.push(AffiliateLinkView {
                product: x.link.product.clone(),
                title: program.as_ref().map_or_else(|| "No longer for sale".into(), |x| x.title.clone()),
                url: affiliate_url(services, &x.link.code),
                rate_bps: program.map_or(0, |x| x.rate_bps),
                clicks: x.clicks,
                signups: x.signups,
                sales: x.sales,
                commission: x.commission,
            });
        }
        Ok(out)
    }

    /// The caller's Stripe customer, made on first use.
    async fn stripe_customer(
        services: &Services,
        gateway: &dyn crate::ports::PaymentGateway,
        caller: &Caller,
    ) -> Result<String, AppError> {
        let user = &caller.user;
        if let Some(customer) = services.store.stripe_customer(user.id).await? {
            return Ok(customer);
        }
        let made = gateway
            .create_customer(user.id, user.email.as_str(), &user.display_name)
            .await
            .map_err(AppError::internal)?;
        Ok(services.store.save_stripe_customer(user.id, &made, services.clock.now()).await?)
    }

    /// Opens a Stripe Checkout Session for `c`: the list price (a Stripe price made on first
    /// use), a promo code as a coupon, Cairn's metadata on the session and its subscription.
    async fn stripe_checkout(
        services: &Services,
        gateway: &dyn crate::ports::PaymentGateway,
        caller: &Caller,
        c: &CheckoutRecord,
        promo: Option<&PromoRecord>,
    ) -> Result<crate::ports::HostedPage, AppError> {
        let customer = stripe_customer(services, gateway, caller).await?;
        let mut metadata = vec![
            ("cairn_checkout".to_owned(), c.id.to_string()),
            ("cairn_org".to_owned(), c.org_id.0.to_string()),
            ("cairn_user".to_owned(), c.user_id.0.to_string()),
            ("cairn_product".to_owned(), c.product.clone()),
        ];
        let price_key = match (c.product.strip_prefix("plan:"), c.plan_version, c.interval) {
            (Some(code), Some(version), Some(interval)) => {
                metadata.push(("cairn_plan".into(), code.to_owned()));
                metadata.push(("cairn_plan_version".into(), version.to_string()));
                format!("cairn_plan_{code}_v{version}_{}", interval.as_str())
            }
            // A product's price is one-time or monthly: the key says which.
            _ => format!(
                "cairn_{}_{}_{}",
                c.product.replace(':', "_"),
                c.price,
                c.interval.map_or("once", |i| i.as_str())
            ),
        };
        if let Some(p) = promo {
            metadata.push(("cairn_promo".into(), p.code.clone()));
        }
        let months = promo.and_then(|p| match p.rules.duration {
            PromoDuration::Once => None,
            PromoDuration::Repeating(n) => Some(u32::try_from(n).unwrap_or(1).max(1)),
            PromoDuration::Forever => Some(0),
        });
        let base = services.settings.public_url.trim_end_matches('/');
        let request = crate::ports::CheckoutRequest {
            checkout_id: c.id,
            customer,
            description: c.description.clone(),
            price_key: Some(price_key),
            // Seats are the line item's quantity; their price is each one's.
            unit_amount: c.price / c.seats.max(1),
            quantity: c.seats.max(1),
            currency: c.currency.clone(),
            recurring: c.interval,
            discount: (c.discount > 0).then_some((c.discount, months)),
            metadata,
            success_url: format!("{base}/billing/checkout/{}", c.id),
            cancel_url: format!("{base}{}", return_path(services, c).await?),
        };
        gateway.create_checkout(&request).await.map_err(AppError::internal)
    }

    /// The key of the journey fee among the platform settings.
    pub const JOURNEY_FEE: &str = "journey_fee_bps";

    /// The key of the minimum payout among the platform settings.
    pub const MINIMUM_PAYOUT_SETTING: &str = "minimum_payout";

    /// The smallest balance paid out now, in minor units ($25 unless an admin set it).
    pub async fn minimum_payout(services: &Services) -> Result<i64, AppError> {
        let set = services.store.setting(MINIMUM_PAYOUT_SETTING).await?;
        Ok(set.and_then(|v| v.parse().ok()).unwrap_or(MINIMUM_PAYOUT))
    }

    /// The platform's share of journey sales now, in basis points (15% unless an admin set it).
    pub async fn journey_fee_bps(services: &Services) -> Result<u32, AppError> {
        let set = services.store.setting(JOURNEY_FEE).await?;
        Ok(set.and_then(|v| v.parse().ok()).unwrap_or(crate::domain::journey::DEFAULT_FEE_BPS))
    }

    /// The seller's share of a sale of `product`, in basis points: a journey's creator gets all
    /// but the journey fee; a sequence's creator gets their tier's share (by their sales over the
    /// last 30 days).
    pub async fn seller_share_bps(services: &Services, product: &str, seller: UserId) -> Result<u32, AppError> {
        if product.starts_with("journey:") {
            return Ok(10_000 - journey_fee_bps(services).await?.min(10_000));
        }
        let since = services.clock.now() - chrono::Duration::days(30);
        let tier = CreatorTier::for_monthly_sales(services.store.seller_sales_since(seller, since).await?);
        Ok(money::creator_share_bps(tier, money::Bonuses::default()))
    }

    /// Where a buyer goes back to from checkout `c`: the sequence they buy, the billing page
    /// for their own plan, the members page for an organization's.
    async fn return_path(services: &Services, c: &CheckoutRecord) -> Result<String, AppError> {
        if let Some((id, _, _)) = crate::domain::journey::parse_product(&c.product) {
            return Ok(format!("/journeys/{id}"));
        }
        Ok(match c.product.strip_prefix("sequence:") {
            Some(id) => format!("/sequences/{id}"),
            None if personal_org(services, c.user_id).await? == Some(c.org_id) => "/billing".into(),
            None => "/org/members".into(),
        })
    }

    pub async fn checkout_view(
        services: &Services,
        c: CheckoutRecord,
        pay_url: Option<String>,
    ) -> Result<CheckoutView, AppError> {
        let return_to = return_path(services, &c).await?;
        Ok(CheckoutView {
            pay_url,
            id: c.id,
            product: c.product,
            description: c.description,
            interval: c.interval,
            price: c.price,
            discount: c.discount,
            amount: c.amount,
            promo_code: c.promo_code,
            status: c.status,
            test_mode: c.provider == PROVIDER,
            return_to,
        })
    }

    /// The caller's own open checkout.
    pub async fn own_checkout(services: &Services, caller: &Caller, id: Uuid) -> Result<CheckoutRecord, AppError> {
        let c = services.store.checkout(id).await?.ok_or(AppError::NotFound)?;
        if c.user_id != caller.user.id {
            return Err(AppError::NotFound);
        }
        Ok(c)
    }

    /// Records the built-in provider's test payment for a checkout. Paying twice is harmless.
    pub async fn pay(services: &Services, caller: &Caller, id: Uuid) -> Result<CheckoutView, AppError> {
        let c = own_checkout(services, caller, id).await?;
        if c.status == "paid" {
            return checkout_view(services, c, None).await;
        }
        if c.provider != PROVIDER {
            return Err(AppError::conflict("This checkout is paid at the payment provider."));
        }
        settle(services, &c, PROVIDER, None, 0).await?;
        checkout_view(services, own_checkout(services, caller, id).await?, None).await
    }

    /// Settles a checkout paid at `provider` (its reference for the payment, and the fee it
    /// kept): the payment, its ledger transaction, the plan or the purchase, the promo code's
    /// redemption, and a receipt by email. `false` when it was settled already.
    pub async fn settle(
        services: &Services,
        c: &CheckoutRecord,
        provider: &str,
        provider_ref: Option<String>,
        processor_fee: i64,
    ) -> Result<bool, AppError> {
        let now = services.clock.now();
        if c.status == "paid" {
            return Ok(false);
        }
        if c.status != "open" || now >= c.expires_at {
            return Err(AppError::conflict("This checkout has expired: start again from the product."));
        }
        let mut promo_limit = None;
        if let Some(code) = &c.promo_code {
            let promo =
                services.store.promo(code).await?.ok_or_else(|| AppError::conflict("This code is no longer valid."))?;
            promo_limit = Some((code.clone(), promo.rules.max_redemptions));
        }
        let payment_id = Uuid::now_v7();
        let mut affiliate = None;
        let (breakdown, seller, subscription, access_until): (Breakdown, Option<UserId>, _, _) = if let Some(code) =
            c.product.strip_prefix("plan:")
        {
            let version = c.plan_version.ok_or(AppError::NotFound)?;
            let plan = services.store.plan(code, Some(version)).await?.ok_or(AppError::NotFound)?;
            let interval = c.interval.unwrap_or(Interval::Month);
            let before = services.store.plan_subscriptions(&[c.org_id]).await?.pop();
            // Stripe's subscription events arrived first: they, not this checkout, say its state.
            let known = before.as_ref().is_some_and(|b| {
                provider == STRIPE && b.provider == STRIPE && b.provider_ref.is_some() && b.provider_ref == provider_ref
            });
            let live = before.as_ref().filter(|s| plan_in_effect(s.status, s.period_end, s.cancel_at_period_end, now));
            let mut mrr_before = 0;
            if let Some(s) = live
                && let Some(old) = services.store.plan(&s.plan_code, Some(s.plan_version)).await?
            {
                mrr_before = mrr_of(services, s, &old.config).await?;
            }
            // A prorated upgrade keeps the period; anything else starts a new one.
            let (start, end) = match live {
                Some(s) if s.interval == interval && !s.cancel_at_period_end && now < s.period_end => {
                    (s.period_start, s.period_end)
                }
                _ => (now, interval.after(now)),
            };
            let sub = PlanSubscriptionRecord {
                org_id: c.org_id,
                plan_code: code.to_owned(),
                plan_version: version,
                interval,
                seats: c.seats,
                status: PlanStatus::Active,
                period_start: start,
                period_end: end,
                cancel_at_period_end: false,
                promo_code: c.promo_code.clone(),
                provider: provider.into(),
                // Stripe's subscription id (its events name it); the built-in provider's payment.
                provider_ref: if provider == STRIPE { provider_ref.clone() } else { Some(payment_id.to_string()) },
                paid_by: Some(c.user_id),
                created_at: before.as_ref().map_or(now, |b| b.created_at),
                updated_at: now,
            };
            let change = PlanChangeRecord {
                id: Uuid::now_v7(),
                org_id: c.org_id,
                from_plan: live.map(|s| s.plan_code.clone()),
                to_plan: Some(code.to_owned()),
                mrr_before,
                mrr_after: mrr_of(services, &sub, &plan.config).await?,
                reason: "checkout".into(),
                at: now,
            };
            let subscription = (!known).then_some((sub, change));
            (money::sale_breakdown(c.amount, processor_fee, 0, 0), None, subscription, None)
        } else {
            let price = services
                .store
                .price(&c.product)
                .await?
                .ok_or_else(|| AppError::conflict("This is no longer for sale."))?;
            let share = seller_share_bps(services, &c.product, price.seller_id).await?;
            let until = price.recurring.map(|i| i.after(now));
            // The affiliate's commission is paid at the rate in force when the sale settles.
            if let Some(code) = &c.affiliate_code {
                affiliate = services.store.affiliate_link(code).await?.map(|l| (l.user_id, l.code));
            }
            let rate = if affiliate.is_some() { price.affiliate_bps } else { 0 };
            (money::sale_breakdown(c.amount, processor_fee, share, rate), Some(price.seller_id), None, until)
        };
        let payment = PaymentRecord {
            id: payment_id,
            checkout_id: Some(c.id),
            user_id: c.user_id,
            org_id: c.org_id,
            product: c.product.clone(),
            description: c.description.clone(),
            amount: c.amount,
            currency: c.currency.clone(),
            processor_fee: breakdown.processor_fee,
            platform_fee: breakdown.platform_fee,
            seller_id: seller,
            seller_share: breakdown.seller,
            affiliate_code: affiliate.as_ref().map(|(_, code)| code.clone()),
            affiliate_share: breakdown.affiliate,
            status: "paid".into(),
            provider: provider.into(),
            provider_ref: provider_ref.clone(),
            access_until,
            created_at: now,
            refunded_at: None,
            refunded: 0,
        };
        let ledger = LedgerTx {
            id: Uuid::now_v7(),
            kind: if seller.is_some() { "sale" } else { "plan" }.into(),
            reference: format!("payment:{payment_id}"),
            currency: c.currency.clone(),
            created_at: now,
            entries: money::sale_entries(&breakdown, seller, affiliate.map(|(user, _)| user)),
        };
        let settlement = Settlement { checkout_id: c.id, payment, ledger, promo: promo_limit, subscription };
        if !services.store.settle_checkout(&settlement, now).await? {
            return Ok(false);
        }
        if let Some(buyer) = services.store.user_by_id(c.user_id).await? {
            send_receipt(services, &buyer, &c.description, c.amount, payment_id, now, provider == PROVIDER).await;
        }
        crate::api::audit(
            services,
            Some(c.user_id),
            Some(c.org_id),
            "billing.paid",
            format!("payment:{payment_id}"),
            None,
            Some(serde_json::json!({ "product": c.product, "amount": c.amount, "provider": provider })),
        )
        .await?;
        Ok(true)
    }

    /// The provider name of payments taken through Stripe.
    pub const STRIPE: &str = "stripe";

    /// Processes stored Stripe events, oldest first. One that cannot be applied yet (a refund
    /// that arrives before its payment) is retried with exponential backoff; after 10 attempts
    /// it stays failed with its error. Returns how many were applied.
    pub async fn process_stripe_events(services: &Services) -> Result<usize, AppError> {
        let now = services.clock.now();
        let events = services.store.claim_stripe_events(now, now + chrono::Duration::seconds(60), 50).await?;
        let mut applied = 0;
        for e in events {
            match apply_stripe_event(services, &e).await {
                Ok(()) => {
                    services.store.finish_stripe_event(&e.id, None, None, now).await?;
                    applied += 1;
                }
                Err(err) => {
                    let message = err.to_string();
                    tracing::warn!(event = %e.id, kind = %e.event_type, error = %message, "stripe event not applied");
                    let backoff = chrono::Duration::seconds(5 * 2_i64.pow(e.attempts.clamp(0, 12) as u32));
                    let retry = (e.attempts < 10).then_some(now + backoff);
                    services.store.finish_stripe_event(&e.id, Some(message.as_str()), retry, now).await?;
                }
            }
        }
        Ok(applied)
    }

    async fn apply_stripe_event(services: &Services, e: &crate::ports::StripeEventRecord) -> Result<(), AppError> {
        let event: serde_json::Value = serde_json::from_str(&e.payload)
            .map_err(|err| AppError::internal(format!("stripe event {}: {err}", e.id)))?;
        let object = &event["data"]["object"];
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        match e.event_type.as_str() {
            "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
                // Sessions Cairn did not open carry no checkout of ours: nothing to do.
                let Some(id) = object["client_reference_id"].as_str().and_then(|s| s.parse::<Uuid>().ok()) else {
                    return Ok(());
                };
                if !matches!(object["payment_status"].as_str(), Some("paid" | "no_payment_required")) {
                    return Ok(()); // A delayed payment method: `async_payment_succeeded` follows.
                }
                let c = services.store.checkout(id).await?.ok_or(AppError::NotFound)?;
                let total = object["amount_total"].as_i64();
                if total != Some(c.amount) {
                    return Err(AppError::conflict(format!(
                        "Stripe charged {total:?}, the checkout says {}.",
                        c.amount
                    )));
                }
                let reference = text(&object["payment_intent"])
                    .or_else(|| text(&object["subscription"]))
                    .or_else(|| text(&object["id"]));
                settle(services, &c, STRIPE, reference, money::card_fee(c.amount)).await.map(|_| ())
            }
            "charge.refunded" => {
                let p = stripe_payment(services, object).await?;
                // A refund event says how much of the charge is refunded in all: events may come
                // out of order, and an older, smaller total changes nothing.
                let refunded = object["amount_refunded"]
                    .as_i64()
                    .ok_or_else(|| AppError::conflict("The event says no amount."))?;
                if p.status == "refunded" || refunded <= p.refunded {
                    return Ok(());
                }
                refund_to(services, None, &p, "Refunded in Stripe", refunded, None).await
            }
            "charge.dispute.created" => {
                let id = text(&object["id"]).ok_or_else(|| AppError::conflict("The event names no dispute."))?;
                if services.store.dispute(&id).await?.is_some() {
                    return Ok(()); // Taken already.
                }
                let p = stripe_payment(services, object).await?;
                let amount =
                    object["amount"].as_i64().ok_or_else(|| AppError::conflict("The event says no amount."))?;
                let refunded = (p.refunded + amount.max(0)).min(p.amount);
                if p.status == "refunded" || refunded <= p.refunded {
                    // Nothing left to take: remembered, so that winning it gives nothing back.
                    let dispute = DisputeRecord {
                        id,
                        payment_id: p.id,
                        amount: 0,
                        status: "open".into(),
                        opened_at: services.clock.now(),
                        closed_at: None,
                    };
                    return services.store.record_dispute(&dispute).await.map(|_| ()).map_err(Into::into);
                }
                refund_to(services, None, &p, "Disputed in Stripe", refunded, Some(&id)).await
            }
            "charge.dispute.closed" | "charge.dispute.funds_reinstated" => {
                let id = text(&object["id"]).ok_or_else(|| AppError::conflict("The event names no dispute."))?;
                // An inquiry closed without a chargeback (`warning_closed`) gives back what its
                // opening took, as a dispute won does.
                let won = e.event_type == "charge.dispute.funds_reinstated"
                    || matches!(object["status"].as_str(), Some("won" | "warning_closed"));
                if !won && object["status"].as_str() != Some("lost") {
                    return Ok(()); // Not closed after all.
                }
                close_dispute(services, &id, won).await
            }
            "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
                apply_stripe_subscription(services, e, object).await
            }
            "invoice.paid" => stripe_invoice_paid(services, object).await,
            "invoice.payment_failed" => stripe_payment_failed(services, object).await,
            "account.updated" => {
                let id = text(&object["id"]).ok_or_else(|| AppError::conflict("The event names no account."))?;
                let submitted = object["details_submitted"].as_bool().unwrap_or(false);
                let enabled = object["payouts_enabled"].as_bool().unwrap_or(false);
                // Accounts Cairn did not make are none of its business.
                services
                    .store
                    .update_connect_account(&id, submitted, enabled, services.clock.now())
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }
            "payout.paid" | "payout.failed" => {
                // A connected account's payout to its bank: the event names the account.
                let Some(account) = text(&event["account"]) else { return Ok(()) };
                let status = if e.event_type == "payout.paid" { "paid" } else { "failed" };
                services
                    .store
                    .connect_payout_reported(&account, status, services.clock.now())
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }
            // Recorded for the log; Cairn needs nothing from the others.
            _ => Ok(()),
        }
    }

    /// The payment a Stripe charge or dispute is about (by its payment intent).
    async fn stripe_payment(services: &Services, object: &serde_json::Value) -> Result<PaymentRecord, AppError> {
        let intent = object["payment_intent"]
            .as_str()
            .ok_or_else(|| AppError::conflict("The event names no payment intent."))?;
        services
            .store
            .payment_by_provider_ref(STRIPE, intent)
            .await?
            .ok_or_else(|| AppError::conflict("The payment is not known yet."))
    }

    /// Closes a dispute Cairn booked. A dispute won gives back to the payment exactly what it
    /// took (and the access that went with it, the payment being paid again); a plan it ended
    /// stays ended — Stripe's subscription events say what the plan is.
    async fn close_dispute(services: &Services, id: &str, won: bool) -> Result<(), AppError> {
        let d = services.store.dispute(id).await?.ok_or_else(|| AppError::conflict("The dispute is not known yet."))?;
        if d.status != "open" {
            return Ok(());
        }
        let now = services.clock.now();
        let status = if won { "won" } else { "lost" };
        let p = services.store.payment(d.payment_id).await?.ok_or(AppError::NotFound)?;
        let back = if won && d.amount > 0 {
            let to = (p.refunded - d.amount).max(0);
            Some(((p.refunded, to), refund_entries(services, &p, (p.refunded, to), now).await?))
        } else {
            None
        };
        let reinstate = back.as_ref().map(|(range, tx)| (*range, tx));
        if !services.store.close_dispute(id, status, now, reinstate).await? {
            return Err(AppError::conflict("The payment changed meanwhile: look again."));
        }
        crate::api::audit(
            services,
            None,
            Some(p.org_id),
            if won { "billing.dispute_won" } else { "billing.dispute_lost" },
            format!("payment:{}", p.id),
            None,
            Some(serde_json::json!({ "dispute": id, "amount": d.amount })),
        )
        .await
    }

    /// What Cairn reads from a Stripe subscription. Cairn's checkout puts the organization, the
    /// plan and the payer in its metadata; a subscription without them is not Cairn's.
    struct StripeSubscription {
        id: String,
        org: OrgId,
        user: Option<UserId>,
        plan: String,
        version: Option<i32>,
        interval: Interval,
        seats: i64,
        /// `None` while Stripe waits for the first payment (`incomplete`).
        status: Option<PlanStatus>,
        period_start: DateTime<Utc>,
        period_end: DateTime<Utc>,
        cancel_at_period_end: bool,
    }

    /// Cairn's metadata on a subscription, or on an invoice's `subscription_details`.
    fn cairn_metadata(metadata: &serde_json::Value) -> Option<(OrgId, Option<UserId>, String, Option<i32>)> {
        let uuid = |key: &str| metadata[key].as_str().and_then(|v| v.parse::<Uuid>().ok());
        Some((
            OrgId(uuid("cairn_org")?),
            uuid("cairn_user").map(UserId),
            metadata["cairn_plan"].as_str()?.to_owned(),
            metadata["cairn_plan_version"].as_str().and_then(|v| v.parse().ok()),
        ))
    }

    /// Cairn's metadata on an invoice of one of its subscriptions (under `parent` in newer API
    /// versions).
    fn invoice_metadata(invoice: &serde_json::Value) -> Option<(OrgId, Option<UserId>, String, Option<i32>)> {
        let details = &invoice["subscription_details"]["metadata"];
        cairn_metadata(if details.is_null() { &invoice["parent"]["subscription_details"]["metadata"] } else { details })
    }

    fn stripe_subscription(object: &serde_json::Value) -> Option<StripeSubscription> {
        let (org, user, plan, version) = cairn_metadata(&object["metadata"])?;
        let item = &object["items"]["data"][0];
        let time = |key: &str| {
            // Newer API versions keep the period on the subscription item.
            object[key].as_i64().or_else(|| item[key].as_i64()).and_then(|t| DateTime::from_timestamp(t, 0))
        };
        let interval = match item["price"]["recurring"]["interval"].as_str().or(object["plan"]["interval"].as_str()) {
            Some("year") => Interval::Year,
            _ => Interval::Month,
        };
        let status = match object["status"].as_str()? {
            "trialing" => Some(PlanStatus::Trialing),
            "active" => Some(PlanStatus::Active),
            "past_due" | "unpaid" => Some(PlanStatus::PastDue),
            "incomplete" => None,
            _ => Some(PlanStatus::Canceled), // canceled, incomplete_expired, paused
        };
        Some(StripeSubscription {
            id: object["id"].as_str()?.to_owned(),
            org,
            user,
            plan,
            version,
            interval,
            seats: item["quantity"].as_i64().unwrap_or(1).max(1),
            status,
            period_start: time("current_period_start")?,
            period_end: time("current_period_end")?,
            cancel_at_period_end: object["cancel_at_period_end"].as_bool().unwrap_or(false),
        })
    }

    /// The MRR a subscription brings now, while it is in effect.
    async fn mrr_now(services: &Services, s: &PlanSubscriptionRecord, now: DateTime<Utc>) -> Result<i64, AppError> {
        if !plan_in_effect(s.status, s.period_end, s.cancel_at_period_end, now) {
            return Ok(0);
        }
        match services.store.plan(&s.plan_code, Some(s.plan_version)).await? {
            Some(plan) => mrr_of(services, s, &plan.config).await,
            None => Ok(0),
        }
    }

    /// A subscription's state from Stripe. Events may arrive in any order: one older than an
    /// event already applied to the same subscription (or after its deletion) is stale and
    /// changes nothing, so the newest state wins whatever the order.
    async fn apply_stripe_subscription(
        services: &Services,
        e: &crate::ports::StripeEventRecord,
        object: &serde_json::Value,
    ) -> Result<(), AppError> {
        let Some(s) = stripe_subscription(object) else { return Ok(()) };
        let applied = services.store.stripe_object_history(&s.id).await?;
        let stale = applied.iter().any(|(kind, created)| {
            kind == "customer.subscription.deleted"
                || (kind.starts_with("customer.subscription.") && *created > e.created)
        });
        let Some(status) = s.status.filter(|_| !stale) else { return Ok(()) };
        let now = services.clock.now();
        let plan = services
            .store
            .plan(&s.plan, s.version)
            .await?
            .ok_or_else(|| AppError::conflict(format!("Stripe names a plan Cairn does not have: {}.", s.plan)))?;
        let before = services.store.plan_subscriptions(&[s.org]).await?.pop();
        let same = before.as_ref().filter(|b| b.provider == STRIPE && b.provider_ref.as_deref() == Some(s.id.as_str()));
        let next = PlanSubscriptionRecord {
            org_id: s.org,
            plan_code: plan.code.clone(),
            plan_version: plan.version,
            interval: s.interval,
            seats: s.seats,
            status,
            period_start: s.period_start,
            period_end: s.period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            promo_code: same.and_then(|b| b.promo_code.clone()),
            provider: STRIPE.into(),
            provider_ref: Some(s.id.clone()),
            paid_by: s.user.or(same.and_then(|b| b.paid_by)),
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
        };
        let mrr_before = match &before {
            Some(b) => mrr_now(services, b, now).await?,
            None => 0,
        };
        let mrr_after = mrr_now(services, &next, now).await?;
        let change = PlanChangeRecord {
            id: Uuid::now_v7(),
            org_id: s.org,
            from_plan: before.as_ref().filter(|_| mrr_before > 0).map(|b| b.plan_code.clone()),
            to_plan: (mrr_after > 0).then(|| plan.code.clone()),
            mrr_before,
            mrr_after,
            reason: format!("stripe: {}", status.as_str()),
            at: now,
        };
        services.store.save_plan_subscription(&next, &change).await?;
        Ok(())
    }

    /// A renewal paid through Stripe: a payment and its ledger transaction, once per invoice.
    /// The first invoice is the checkout's own payment (`checkout.session.completed`).
    async fn stripe_invoice_paid(services: &Services, invoice: &serde_json::Value) -> Result<(), AppError> {
        let Some(id) = invoice["id"].as_str() else { return Ok(()) };
        let amount = invoice["amount_paid"].as_i64().unwrap_or(0);
        if invoice["billing_reason"].as_str() == Some("subscription_create")
            || amount <= 0
            || services.store.payment_by_provider_ref(STRIPE, id).await?.is_some()
        {
            return Ok(());
        }
        let Some((org, Some(user), code, version)) = invoice_metadata(invoice) else {
            return stripe_product_renewal(services, invoice, id, amount).await;
        };
        let plan = services.store.plan(&code, version).await?.ok_or(AppError::NotFound)?;
        let now = services.clock.now();
        let breakdown = money::sale_breakdown(amount, money::card_fee(amount), 0, 0);
        let payment_id = Uuid::now_v7();
        let description = format!("{} plan (renewal)", plan.config.name);
        let payment = PaymentRecord {
            id: payment_id,
            checkout_id: None,
            user_id: user,
            org_id: org,
            product: format!("plan:{code}"),
            description: description.clone(),
            amount,
            currency: invoice["currency"].as_str().unwrap_or(money::CURRENCY).to_owned(),
            processor_fee: breakdown.processor_fee,
            platform_fee: breakdown.platform_fee,
            seller_id: None,
            seller_share: 0,
            affiliate_code: None,
            affiliate_share: 0,
            status: "paid".into(),
            provider: STRIPE.into(),
            provider_ref: Some(id.to_owned()),
            access_until: None,
            created_at: now,
            refunded_at: None,
            refunded: 0,
        };
        let ledger = LedgerTx {
            id: Uuid::now_v7(),
            kind: "plan".into(),
            reference: format!("payment:{payment_id}"),
            currency: payment.currency.clone(),
            created_at: now,
            entries: money::sale_entries(&breakdown, None, None),
        };
        services.store.record_payment(&payment, &ledger).await?;
        if let Some(u) = services.store.user_by_id(user).await? {
            send_receipt(services, &u, &description, amount, payment_id, now, false).await;
        }
        Ok(())
    }

    /// A renewal of a monthly premium sequence bought through Stripe (a subscription whose
    /// metadata names the product): a sale like the first, split with its creator at their tier
    /// now and with the affiliate the first sale was credited to, giving access to the end of the
    /// invoice's period. The first sale's payment names the subscription; a renewal that arrives
    /// before it waits for it.
    async fn stripe_product_renewal(
        services: &Services,
        invoice: &serde_json::Value,
        id: &str,
        amount: i64,
    ) -> Result<(), AppError> {
        let details = if invoice["subscription_details"].is_null() {
            &invoice["parent"]["subscription_details"]
        } else {
            &invoice["subscription_details"]
        };
        let product = details["metadata"]["cairn_product"].as_str().unwrap_or_default();
        if !product.starts_with("sequence:") && !product.starts_with("journey:") {
            return Ok(()); // Not Cairn's.
        }
        let subscription = invoice["subscription"]
            .as_str()
            .or(details["subscription"].as_str())
            .ok_or_else(|| AppError::conflict("The invoice names no subscription."))?;
        let first = services
            .store
            .payment_by_provider_ref(STRIPE, subscription)
            .await?
            .ok_or_else(|| AppError::conflict("The subscription's first payment is not known yet."))?;
        let seller = first.seller_id.ok_or_else(|| AppError::conflict("The first payment names no seller."))?;
        let now = services.clock.now();
        let price = services.store.price(&first.product).await?;
        let share = seller_share_bps(services, &first.product, seller).await?;
        let affiliate = match &first.affiliate_code {
            Some(code) => services.store.affiliate_link(code).await?.map(|l| (l.user_id, l.code)),
            None => None,
        };
        let rate = match (&affiliate, &price) {
            (Some(_), Some(price)) => price.affiliate_bps,
            _ => 0,
        };
        let breakdown = money::sale_breakdown(amount, money::card_fee(amount), share, rate);
        let period_end = invoice["lines"]["data"][0]["period"]["end"]
            .as_i64()
            .or(invoice["period_end"].as_i64())
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .filter(|end| *end > now)
            .unwrap_or_else(|| price.as_ref().and_then(|p| p.recurring).unwrap_or(Interval::Month).after(now));
        let payment_id = Uuid::now_v7();
        let description = format!("{} (renewal)", first.description);
        let payment = PaymentRecord {
            id: payment_id,
            checkout_id: None,
            user_id: first.user_id,
            org_id: first.org_id,
            product: first.product.clone(),
            description: description.clone(),
            amount,
            currency: invoice["currency"].as_str().unwrap_or(money::CURRENCY).to_owned(),
            processor_fee: breakdown.processor_fee,
            platform_fee: breakdown.platform_fee,
            seller_id: Some(seller),
            seller_share: breakdown.seller,
            affiliate_code: affiliate.as_ref().map(|(_, code)| code.clone()),
            affiliate_share: breakdown.affiliate,
            status: "paid".into(),
            provider: STRIPE.into(),
            provider_ref: Some(id.to_owned()),
            access_until: Some(period_end),
            created_at: now,
            refunded_at: None,
            refunded: 0,
        };
        let ledger = LedgerTx {
            id: Uuid::now_v7(),
            kind: "sale".into(),
            reference: format!("payment:{payment_id}"),
            currency: payment.currency.clone(),
            created_at: now,
            entries: money::sale_entries(&breakdown, Some(seller), affiliate.map(|(user, _)| user)),
        };
        services.store.record_payment(&payment, &ledger).await?;
        if let Some(u) = services.store.user_by_id(first.user_id).await? {
            send_receipt(services, &u, &description, amount, payment_id, now, false).await;
        }
        Ok(())
    }

    /// A failed renewal: the payer hears what happens next (Stripe retries; the plan stays
    /// through the grace period). The state itself comes with `customer.subscription.updated`.
    async fn stripe_payment_failed(services: &Services, invoice: &serde_json::Value) -> Result<(), AppError> {
        let Some((org, Some(user), code, version)) = invoice_metadata(invoice) else { return Ok(()) };
        let (Some(u), Some(plan)) =
            (services.store.user_by_id(user).await?, services.store.plan(&code, version).await?)
        else {
            return Ok(());
        };
        let until = match services.store.plan_subscriptions(&[org]).await?.pop() {
            Some(s) => s.period_end,
            None => services.clock.now(),
        } + chrono::Duration::days(money::GRACE_DAYS);
        let body = format!(
            "The payment for your {} plan ({}) did not go through. Stripe tries again over the next days; \
             you can update your card from {}/billing.\n\nYour plan stays until {}; after that your account moves \
             to the free plan.\n",
            plan.config.name,
            money::format_money(invoice["amount_due"].as_i64().unwrap_or(0)),
            services.settings.public_url,
            crate::domain::schedule::format_local(until, &u.timezone),
        );
        let mail =
            OutgoingMail { to: u.email.clone(), subject: format!("Your {} payment failed", plan.config.name), body };
        if let Err(err) = services.mailer.send(mail).await {
            tracing::warn!(error = %err, "payment failure email not sent");
        }
        Ok(())
    }

    /// Emails a receipt; a mail failure is logged, the payment stands.
    async fn send_receipt(
        services: &Services,
        to: &crate::ports::UserRecord,
        description: &str,
        amount: i64,
        payment: Uuid,
        at: DateTime<Utc>,
        test: bool,
    ) {
        let mut body = format!(
            "Thank you for your payment.\n\n{description}\nAmount: {}\nDate: {}\nReceipt: {}/billing/receipts/{payment}\n",
            money::format_money(amount),
            crate::domain::schedule::format_local(at, &to.timezone),
            services.settings.public_url,
        );
        if test {
            body.push_str("\nThis was a test payment: no money moved.\n");
        }
        let mail = OutgoingMail { to: to.email.clone(), subject: format!("Your Cairn receipt: {description}"), body };
        if let Err(e) = services.mailer.send(mail).await {
            tracing::warn!(error = %e, "receipt email not sent");
        }
    }

    /// A plan that ends now (its MRR `m` leaves), and the change that records it.
    fn ended(
        sub: &PlanSubscriptionRecord,
        m: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> (PlanSubscriptionRecord, PlanChangeRecord) {
        let next = PlanSubscriptionRecord { status: PlanStatus::Canceled, updated_at: now, ..sub.clone() };
        let change = PlanChangeRecord {
            id: Uuid::now_v7(),
            org_id: sub.org_id,
            from_plan: Some(sub.plan_code.clone()),
            to_plan: None,
            mrr_before: m,
            mrr_after: 0,
            reason: reason.into(),
            at: now,
        };
        (next, change)
    }

    /// Renews the built-in provider's subscriptions whose period has ended (a test payment for
    /// the next period, with the promo code's discount while it lasts) and ends those canceled
    /// for then. Safe to run on several instances at once: each period moves once. Returns how
    /// many subscriptions moved.
    pub async fn renew_due(services: &Services) -> Result<usize, AppError> {
        let now = services.clock.now();
        let mut moved = 0;
        // Past due beyond the grace period: the plan ends and the account is on free.
        for sub in services.store.lapsed_plans(now - chrono::Duration::days(money::GRACE_DAYS), 100).await? {
            let m = match services.store.plan(&sub.plan_code, Some(sub.plan_version)).await? {
                Some(p) => mrr_of(services, &sub, &p.config).await?,
                None => 0,
            };
            let (next, change) = ended(&sub, m, "lapsed", now);
            moved += usize::from(services.store.roll_plan(&next, sub.period_end, None, Some(&change)).await?);
        }
        for sub in services.store.due_plan_renewals(now, 100).await? {
            let plan = services.store.plan(&sub.plan_code, Some(sub.plan_version)).await?.ok_or(AppError::NotFound)?;
            let m = mrr_of(services, &sub, &plan.config).await?;
            let expected_end = sub.period_end;
            if sub.cancel_at_period_end {
                let (next, change) = ended(&sub, m, "ended", now);
                moved += usize::from(services.store.roll_plan(&next, expected_end, None, Some(&change)).await?);
                continue;
            }
            let price = plan.config.price(sub.interval, sub.seats).unwrap_or(0);
            let (amount, _) = period_price(services, &sub, price, Period::Next).await?;
            let payment_id = Uuid::now_v7();
            // Periods follow each other without gaps, however late the renewal runs.
            let (start, end) = (sub.period_end, sub.interval.after(sub.period_end));
            let payer = sub.paid_by.ok_or(AppError::NotFound)?;
            let every = match sub.interval {
                Interval::Month => "monthly",
                Interval::Year => "yearly",
            };
            let description = format!("{} plan ({every}, renewal)", plan.config.name);
            let breakdown = money::sale_breakdown(amount, 0, 0, 0);
            let payment = PaymentRecord {
                id: payment_id,
                checkout_id: None,
                user_id: payer,
                org_id: sub.org_id,
                product: format!("plan:{}", sub.plan_code),
                description: description.clone(),
                amount,
                currency: money::CURRENCY.into(),
                processor_fee: 0,
                platform_fee: breakdown.platform_fee,
                seller_id: None,
                seller_share: 0,
                affiliate_code: None,
                affiliate_share: 0,
                status: "paid".into(),
                provider: PROVIDER.into(),
                provider_ref: None,
                access_until: None,
                created_at: now,
                refunded_at: None,
                refunded: 0,
            };
            let ledger = LedgerTx {
                id: Uuid::now_v7(),
                kind: "plan".into(),
                reference: format!("payment:{payment_id}"),
                currency: money::CURRENCY.into(),
                created_at: now,
                entries: money::sale_entries(&breakdown, None, None),
            };
            let next = PlanSubscriptionRecord {
                status: PlanStatus::Active,
                period_start: start,
                period_end: end,
                provider_ref: Some(payment_id.to_string()),
                updated_at: now,
                ..sub.clone()
            };
            let book = (amount > 0).then_some((&payment, &ledger));
            // A trial that ends converts: its revenue starts now. A discount that ends (or an
            // admin's that starts) moves the revenue too.
            let trial = sub.status == PlanStatus::Trialing;
            let after = monthly(amount, sub.interval);
            let repriced = (trial || after != m).then(|| PlanChangeRecord {
                id: Uuid::now_v7(),
                org_id: sub.org_id,
                from_plan: Some(sub.plan_code.clone()),
                to_plan: Some(sub.plan_code.clone()),
                mrr_before: m,
                mrr_after: after,
                reason: if trial { "converted" } else { "repriced" }.into(),
                at: now,
            });
            if services.store.roll_plan(&next, expected_end, book, repriced.as_ref()).await? {
                moved += 1;
                if amount > 0
                    && let Some(user) = services.store.user_by_id(payer).await?
                {
                    send_receipt(services, &user, &description, amount, payment_id, now, true).await;
                }
            }
        }
        Ok(moved)
    }

    /// Cancels the caller's individual plan — or with `org`, the plan of an organization they
    /// own — at the end of its period (or takes that back).
    pub async fn set_cancel(
        services: &Services,
        caller: &Caller,
        org: Option<OrgId>,
        cancel: bool,
    ) -> Result<(), AppError> {
        let org = match org {
            Some(org) => managed_org(services, caller, org).await?.org.id,
            None => personal_org(services, caller.user.id).await?.ok_or(AppError::NotFound)?,
        };
        let now = services.clock.now();
        let mut sub = services
            .store
            .plan_subscriptions(&[org])
            .await?
            .pop()
            .filter(|s| plan_in_effect(s.status, s.period_end, s.cancel_at_period_end, now))
            .ok_or_else(|| AppError::conflict("This is the free plan: there is nothing to cancel."))?;
        if sub.provider == OVERRIDE {
            return Err(AppError::conflict(format!(
                "An administrator gave this plan until {}.",
                crate::domain::schedule::format_local(sub.period_end, &caller.user.timezone)
            )));
        }
        let plan = services.store.plan(&sub.plan_code, Some(sub.plan_version)).await?.ok_or(AppError::NotFound)?;
        let m = mrr_of(services, &sub, &plan.config).await?;
        sub.cancel_at_period_end = cancel;
        sub.updated_at = now;
        let change = PlanChangeRecord {
            id: Uuid::now_v7(),
            org_id: org,
            from_plan: Some(sub.plan_code.clone()),
            // The plan is paid until its period ends: its revenue leaves then ("ended").
            to_plan: Some(sub.plan_code.clone()),
            mrr_before: m,
            mrr_after: m,
            reason: if cancel { "canceled" } else { "resumed" }.into(),
            at: now,
        };
        services.store.save_plan_subscription(&sub, &change).await?;
        crate::api::audit(
            services,
            Some(caller.user.id),
            Some(org),
            if cancel { "billing.canceled" } else { "billing.resumed" },
            format!("plan:{}", sub.plan_code),
            None,
            None,
        )
        .await
    }

    pub async fn receipt(services: &Services, caller: &Caller, id: Uuid) -> Result<ReceiptView, AppError> {
        let p = services.store.payment(id).await?.ok_or(AppError::NotFound)?;
        let admin = crate::api::admin::is_platform_admin(caller);
        if p.user_id != caller.user.id && !admin {
            return Err(AppError::NotFound);
        }
        let buyer = services.store.user_by_id(p.user_id).await?.ok_or(AppError::NotFound)?;
        Ok(ReceiptView {
            id: p.id,
            description: p.description,
            amount: p.amount,
            status: p.status,
            refunded: p.refunded,
            buyer_name: buyer.display_name,
            buyer_email: buyer.email,
            provider: p.provider,
            created_at: p.created_at,
            refunded_at: p.refunded_at,
            timezone: tz(caller),
        })
    }

    fn promo_view(p: PromoRecord) -> PromoView {
        PromoView {
            code: p.code,
            discount: p.rules.discount,
            duration: p.rules.duration,
            valid_until: p.rules.valid_until,
            max_redemptions: p.rules.max_redemptions,
            redeemed: p.redeemed,
            first_time_only: p.rules.first_time_only,
            products: p.rules.products,
        }
    }

    pub async fn sales(services: &Services, caller: &Caller) -> Result<SalesView, AppError> {
        let user = caller.user.id;
        let now = services.clock.now();
        let tier = CreatorTier::for_monthly_sales(
            services.store.seller_sales_since(user, now - chrono::Duration::days(30)).await?,
        );
        let mut sales = Vec::new();
        let payments =
            services.store.payments(&PaymentFilter { seller: Some(user), limit: 200, ..Default::default() }).await?;
        let buyers = users_by_id(services, payments.iter().map(|p| p.user_id).collect()).await?;
        for p in payments {
            let buyer = buyers.get(&p.user_id).map(|u| u.display_name.clone()).unwrap_or_default();
            sales.push(SaleView {
                id: p.id,
                description: p.description,
                buyer,
                gross: p.amount,
                share: p.seller_share,
                platform_fee: p.platform_fee,
                status: p.status,
                refunded: p.refunded,
                at: p.created_at,
            });
        }
        let owed = services.store.ledger_sums(&account::payable(user)).await?;
        let balance = -owed.iter().filter(|(a, _)| *a == account::payable(user)).map(|(_, s)| s).sum::<i64>();
        let connect = services.store.connect_account(user).await?;
        let payout_account = PayoutAccountView {
            stripe: services.payments.is_some(),
            connected: connect.is_some(),
            details_submitted: connect.as_ref().is_some_and(|a| a.details_submitted),
            payouts_enabled: connect.as_ref().is_some_and(|a| a.payouts_enabled),
            last_payout_status: connect.as_ref().and_then(|a| a.last_payout_status.clone()),
            last_payout_at: connect.as_ref().and_then(|a| a.last_payout_at),
        };
        Ok(SalesView {
            payout_account,
            tier,
            share_bps: money::creator_share_bps(tier, money::Bonuses::default()),
            balance,
            sales,
            payouts: services.store.payouts(Some(user), None).await?.into_iter().map(payout_view).collect(),
            promos: services.store.promos(Some(user)).await?.into_iter().map(promo_view).collect(),
            timezone: tz(caller),
            minimum_payout: minimum_payout(services).await?,
        })
    }

    pub fn payout_view(p: crate::ports::PayoutRecord) -> PayoutView {
        PayoutView {
            id: p.id,
            batch_id: p.batch_id,
            party: p.party_name,
            email: p.party_email,
            amount: p.amount,
            status: p.status,
            created_at: p.created_at,
            error: p.error,
        }
    }

    /// Stripe's onboarding for the caller's payouts (a Connect Express account, made on first
    /// use): where to go next.
    pub async fn payout_onboarding(services: &Services, caller: &Caller) -> Result<String, AppError> {
        let gateway = services.payments.as_ref().ok_or_else(|| {
            AppError::conflict("Payouts are paid by the platform directly: Stripe is not set up here.")
        })?;
        let user = &caller.user;
        let account = match services.store.connect_account(user.id).await? {
            Some(a) => a,
            None => {
                let id =
                    gateway.create_connect_account(user.id, user.email.as_str()).await.map_err(AppError::internal)?;
                let record = crate::ports::ConnectAccountRecord {
                    user_id: user.id,
                    account_id: id,
                    details_submitted: false,
                    payouts_enabled: false,
                    last_payout_status: None,
                    last_payout_at: None,
                    updated_at: services.clock.now(),
                };
                services.store.save_connect_account(&record).await?
            }
        };
        let back = format!("{}/sales", services.settings.public_url.trim_end_matches('/'));
        gateway.onboarding_link(&account.account_id, &back, &back).await.map_err(AppError::internal)
    }

    /// A Stripe Customer Portal session for the caller: where to go.
    pub async fn portal(services: &Services, caller: &Caller) -> Result<String, AppError> {
        let gateway = services
            .payments
            .as_ref()
            .ok_or_else(|| AppError::conflict("Billing is managed here: Stripe is not set up."))?;
        let customer = services
            .store
            .stripe_customer(caller.user.id)
            .await?
            .ok_or_else(|| AppError::conflict("You have nothing billed by Stripe yet."))?;
        let back = format!("{}/billing", services.settings.public_url.trim_end_matches('/'));
        gateway.portal(&customer, &back).await.map_err(AppError::internal)
    }

    /// Sends the batch's pending payouts through Stripe to each party's Connect account (one
    /// transfer per payout, its id the idempotency key, so sending again never pays twice).
    /// Payouts to people without a ready account stay pending with the reason.
    pub async fn send_payouts(services: &Services, batch: Uuid) -> Result<Vec<crate::ports::PayoutRecord>, AppError> {
        let Some(gateway) = &services.payments else {
            return Ok(services.store.payouts(None, Some(batch)).await?);
        };
        for p in services.store.payouts(None, Some(batch)).await? {
            if p.status != "pending" {
                continue;
            }
            let now = services.clock.now();
            let not_sent = |message: &str| crate::ports::GatewayError { message: message.into(), refused: false };
            let outcome = match services.store.connect_account(p.party_id).await? {
                Some(a) if a.payouts_enabled => {
                    gateway.transfer(p.id, p.attempts, &a.account_id, p.amount, &p.currency).await
                }
                Some(_) => Err(not_sent("Their Stripe account cannot receive payouts yet (onboarding unfinished).")),
                None => Err(not_sent("They have not set up payouts with Stripe.")),
            };
            match outcome {
                Ok(transfer) => services.store.payout_sent(p.id, Some(&transfer), None, false, now).await?,
                Err(e) => {
                    tracing::warn!(payout = %p.id, error = %e, "payout not sent");
                    services.store.payout_sent(p.id, None, Some(&e.message), e.refused, now).await?
                }
            }
        }
        Ok(services.store.payouts(None, Some(batch)).await?)
    }

    fn number(field: &str, raw: &str, what: &str) -> Result<Option<i64>, AppError> {
        match raw.trim() {
            "" => Ok(None),
            s => s
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| AppError::validation(field, format!("{what}: a whole number, or empty."))),
        }
    }

    /// Checks a promo code's form; `owner` is the creator whose products it discounts (`None`
    /// for the platform's plans).
    pub fn promo_from(
        input: &PromoInput,
        owner: Option<UserId>,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<PromoRecord, AppError> {
        let code = money::parse_promo_code(&input.code).map_err(|e| AppError::validation("code", e.0))?;
        let discount = match input.kind.as_str() {
            "percent" => match input.value.trim().parse::<i64>() {
                Ok(p) if (1..=100).contains(&p) => Discount::Percent(p),
                _ => return Err(AppError::validation("value", "A percentage from 1 to 100.")),
            },
            "amount" => {
                Discount::Amount(money::parse_money(&input.value).map_err(|e| AppError::validation("value", e.0))?)
            }
            _ => return Err(AppError::validation("kind", "Choose percent or amount off.")),
        };
        let duration = match input.duration.as_str() {
            "once" | "" => PromoDuration::Once,
            "forever" => PromoDuration::Forever,
            "repeating" => match number("months", &input.months, "Months")? {
                Some(n) if (1..=36).contains(&n) => PromoDuration::Repeating(n),
                _ => return Err(AppError::validation("months", "For 1 to 36 months.")),
            },
            _ => return Err(AppError::validation("duration", "Choose once, repeating or forever.")),
        };
        let valid_until = match input.valid_until.trim() {
            "" => None,
            d => {
                let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| AppError::validation("valid_until", "A date like 2027-01-31."))?;
                let end = (day + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN).and_utc();
                if end <= now {
                    return Err(AppError::validation("valid_until", "That day is past."));
                }
                Some(end)
            }
        };
        let products: Vec<String> =
            input.products.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
        for p in &products {
            let ok = match (owner, p.split_once(':')) {
                (None, Some(("plan", code))) => !code.is_empty(),
                (Some(_), Some(("sequence", id))) => id.parse::<Uuid>().is_ok(),
                (Some(_), Some(("journey", _))) => crate::domain::journey::parse_product(p).is_some(),
                _ => false,
            };
            if !ok {
                let hint = if owner.is_none() { "plan:premium" } else { "sequence:<id> or journey:<id>:guided:month" };
                return Err(AppError::validation("products", format!("Unknown product {p:?}: use keys like {hint}.")));
            }
        }
        Ok(PromoRecord {
            id: Uuid::now_v7(),
            code,
            owner_id: owner,
            rules: PromoRules {
                discount,
                duration,
                valid_from: None,
                valid_until,
                max_redemptions: number("max_redemptions", &input.max_redemptions, "Redemptions")?,
                first_time_only: input.first_time_only,
                products,
            },
            redeemed: 0,
            created_by: Some(by),
            created_at: now,
        })
    }

    /// The people `ids` name, by id, in one query however many rows name them.
    async fn users_by_id(
        services: &Services,
        ids: Vec<UserId>,
    ) -> Result<std::collections::HashMap<UserId, crate::ports::UserName>, AppError> {
        Ok(services.store.user_names(&ids).await?.into_iter().map(|u| (u.id, u)).collect())
    }

    pub async fn create_promo(services: &Services, promo: &PromoRecord) -> Result<(), AppError> {
        services.store.create_promo(promo).await.map_err(|e| match e {
            crate::ports::StoreError::Conflict(_) => AppError::validation("code", "This code is taken."),
            other => other.into(),
        })
    }

    pub async fn admin_view(services: &Services, caller: &Caller) -> Result<AdminBillingView, AppError> {
        let mut payments = Vec::new();
        let listed = services.store.payments(&PaymentFilter { limit: 200, ..Default::default() }).await?;
        let buyers = users_by_id(services, listed.iter().map(|p| p.user_id).collect()).await?;
        for p in listed {
            let buyer = buyers.get(&p.user_id).map(|u| u.email.clone()).unwrap_or_default();
            payments.push(AdminPaymentView {
                id: p.id,
                description: p.description,
                buyer,
                amount: p.amount,
                seller_share: p.seller_share,
                platform_fee: p.platform_fee,
                status: p.status,
                refunded: p.refunded,
                created_at: p.created_at,
            });
        }
        let owed: Vec<(UserId, i64)> = services
            .store
            .ledger_sums("liabilities:payable:")
            .await?
            .into_iter()
            .filter(|(_, sum)| *sum != 0)
            .filter_map(|(acct, sum)| Some((account::party_of(&acct)?, sum)))
            .collect();
        let parties = users_by_id(services, owed.iter().map(|(party, _)| *party).collect()).await?;
        let mut balances = Vec::new();
        for (party, sum) in owed {
            let u = parties.get(&party);
            balances.push(BalanceView {
                party,
                name: u.map(|u| u.display_name.clone()).unwrap_or_default(),
                email: u.map(|u| u.email.clone()).unwrap_or_default(),
                balance: -sum,
            });
        }
        Ok(AdminBillingView {
            plans: services
                .store
                .plans()
                .await?
                .into_iter()
                .map(|p| PlanView { code: p.code, version: p.version, config: p.config })
                .collect(),
            promos: services.store.promos(None).await?.into_iter().map(promo_view).collect(),
            payments,
            balances,
            batches: services
                .store
                .payout_batches()
                .await?
                .into_iter()
                .map(|b| PayoutBatchView {
                    id: b.id,
                    method: b.method,
                    payouts: b.payouts,
                    total: b.total,
                    created_at: b.created_at,
                })
                .collect(),
            minimum_payout: minimum_payout(services).await?,
            journey_fee_bps: journey_fee_bps(services).await?,
            timezone: tz(caller),
        })
    }

    /// The months the business dashboard shows.
    pub const DASHBOARD_MONTHS: u32 = 12;

    pub async fn business(services: &Services, caller: &Caller) -> Result<BusinessView, AppError> {
        use crate::domain::business::{self, MrrChange};
        let now = services.clock.now();
        let since = now - chrono::Duration::days(31 * i64::from(DASHBOARD_MONTHS));
        let changes: Vec<MrrChange> = services
            .store
            .plan_history()
            .await?
            .into_iter()
            .map(|c| MrrChange { org: c.org_id, plan: c.to_plan, mrr: c.mrr_after, at: c.at })
            .collect();
        let revenue = services.store.revenue_since(since).await?;
        let tokens = services.store.usage_by_month(money::Metric::AiTokens, since).await?;
        let mut ai: std::collections::BTreeMap<String, business::AiUse> =
            tokens.into_iter().map(|(month, tokens)| (month, business::AiUse { tokens, cost_micros: 0 })).collect();
        for (month, micros) in services.store.usage_by_month(money::Metric::AiCost, since).await? {
            ai.entry(month).or_default().cost_micros = micros;
        }
        let cost = services.settings.ai_cost_per_million_tokens;
        let figures = business::figures(&changes, &revenue, &ai, now, DASHBOARD_MONTHS);

        let mut names = std::collections::BTreeMap::new();
        for p in services.store.plans().await? {
            names.insert(p.code.clone(), p.config.name.clone());
            names.insert(format!("plan:{}", p.code), format!("{} plan", p.config.name));
        }
        names.insert("help:review".into(), "Journey fees on mentor reviews".into());
        names.insert("help:session".into(), "Journey fees on concierge sessions".into());
        for line in &figures.by_product {
            if let Some((id, tier, every)) = crate::domain::journey::parse_product(&line.key) {
                if let Some(price) = services.store.price(&line.key).await?
                    && let Some(j) = services.store.journey(price.org_id, id).await?
                {
                    names.insert(line.key.clone(), format!("{}: {} ({})", j.title, tier.label(), every.as_str()));
                }
                continue;
            }
            let Some(id) = line.key.strip_prefix("sequence:").and_then(|id| id.parse::<Uuid>().ok()) else { continue };
            if let Some(price) = services.store.price(&line.key).await?
                && let Some(seq) = services.store.sequence(price.org_id, id).await?
            {
                names.insert(line.key.clone(), seq.meta.title);
            }
        }
        let creators: Vec<UserId> =
            figures.by_creator.iter().filter_map(|line| line.key.parse::<Uuid>().ok().map(UserId)).collect();
        for u in services.store.user_names(&creators).await? {
            names.insert(u.id.0.to_string(), u.display_name);
        }
        let owed: Vec<i64> = services
            .store
            .ledger_sums("liabilities:payable:")
            .await?
            .into_iter()
            .map(|(_, sum)| -sum)
            .filter(|owed| *owed > 0)
            .collect();
        let minimum = minimum_payout(services).await?;
        let pending_payouts =
            services.store.payouts(None, None).await?.iter().filter(|p| p.status == "pending").map(|p| p.amount).sum();
        Ok(BusinessView {
            figures,
            names,
            owed: owed.iter().sum(),
            owed_parties: owed.iter().filter(|o| **o >= minimum).count() as i64,
            pending_payouts,
            ai_cost_per_million_tokens: cost,
            generated_at: now,
            timezone: tz(caller),
        })
    }

    /// The dashboard's months as CSV, amounts in major units.
    pub fn business_csv(v: &BusinessView) -> String {
        let money =
            |minor: i64| format!("{}{}.{:02}", if minor < 0 { "-" } else { "" }, minor.abs() / 100, minor.abs() % 100);
        let mut csv = String::from(
            "month,mrr,new,expansion,contraction,churn,net,subscribers,revenue,refunds,platform_revenue,ai_tokens,ai_cost\n",
        );
        for m in &v.figures.months {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                m.month,
                money(m.mrr),
                money(m.new),
                money(m.expansion),
                money(m.contraction),
                money(m.churn),
                money(m.net()),
                m.subscribers,
                money(m.revenue),
                money(m.refunds),
                money(m.platform),
                m.ai_tokens,
                money(m.ai_cost),
            ));
        }
        csv
    }

    /// The person an admin form names by email.
    pub async fn person(services: &Services, email: &str) -> Result<crate::ports::UserRecord, AppError> {
        let email = crate::domain::Email::parse(email).map_err(|e| AppError::validation("email", e.0))?;
        services
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| AppError::validation("email", "Nobody has this email."))
    }

    /// Whose plan an admin's override is for: the workspace it applies to and how the audit log
    /// names it.
    pub struct Target {
        pub org: OrgId,
        /// An organization (named by the admin), rather than the person's own plan.
        pub shared: bool,
        pub audit: String,
    }

    /// The person with `email` — or, given `organization`, the organization of that name they
    /// belong to (its plan rather than theirs).
    pub async fn target(services: &Services, email: &str, organization: Option<&str>) -> Result<Target, AppError> {
        let user = person(services, email).await?;
        let wanted = organization.map(str::trim).filter(|n| !n.is_empty());
        let (org, shared, audit) = match wanted {
            None => {
                let org = personal_org(services, user.id).await?.ok_or(AppError::NotFound)?;
                (org, false, format!("user:{}", user.id.0))
            }
            Some(name) => {
                let org = services
                    .store
                    .memberships_of(user.id)
                    .await?
                    .into_iter()
                    .find(|m| m.org.kind != OrgKind::Personal && m.org.name.to_lowercase() == name.to_lowercase())
                    .ok_or_else(|| {
                        AppError::validation(
                            "organization",
                            format!("{} belongs to no organization named \"{name}\".", user.email),
                        )
                    })?
                    .org
                    .id;
                (org, true, format!("org:{}", org.0))
            }
        };
        Ok(Target { org, shared, audit })
    }

    /// How many people `org` holds now: members and pending invitations.
    pub async fn people(services: &Services, org: OrgId) -> Result<i64, AppError> {
        let members = services.store.members(org).await?.len();
        let pending = services.store.pending_invitations(org, services.clock.now()).await?.len();
        Ok((members + pending) as i64)
    }

    /// How long an admin's grant lasts: 1 to 366 days.
    pub fn days(raw: &str) -> Result<i64, AppError> {
        raw.trim()
            .parse()
            .ok()
            .filter(|n| (1..=366).contains(n))
            .ok_or_else(|| AppError::validation("days", "For 1 to 366 days."))
    }

    /// Why an admin did something, for the audit log: required, 500 characters at most.
    pub fn reason(raw: &str) -> Result<&str, AppError> {
        let reason = raw.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::validation("reason", "Say why (500 characters at most)."));
        }
        Ok(reason)
    }

    /// Refunds `amount` of a payment (the rest of it with `None`): the ledger entries of that part
    /// are reversed. Once all of it is refunded the purchase's access ends and a plan paid by it is
    /// canceled at once.
    pub async fn refund(
        services: &Services,
        actor: Option<UserId>,
        id: Uuid,
        reason: &str,
        amount: Option<i64>,
    ) -> Result<(), AppError> {
        let p = services.store.payment(id).await?.ok_or(AppError::NotFound)?;
        if p.status != "paid" {
            return Err(AppError::conflict("This payment was refunded already."));
        }
        let left = p.amount - p.refunded;
        let amount = amount.unwrap_or(left);
        if amount <= 0 || amount > left {
            return Err(AppError::validation(
                "amount",
                format!(
                    "Refund between {} and {} (what is left of the payment).",
                    money::format_money(1),
                    money::format_money(left)
                ),
            ));
        }
        refund_to(services, actor, &p, reason, p.refunded + amount, None).await
    }

    /// The ledger transaction that moves a payment's refunded amount from `from` to `to`: a refund
    /// (or dispute) when it grows, a reinstatement (a dispute won) when it shrinks. Both are the
    /// difference of the sale's lines at the two amounts, so any sequence of them adds up to the
    /// sale's lines at the final amount, to the cent.
    async fn refund_entries(
        services: &Services,
        p: &PaymentRecord,
        (from, to): (i64, i64),
        now: DateTime<Utc>,
    ) -> Result<LedgerTx, AppError> {
        let booked = services.store.ledger_entries(&format!("payment:{}", p.id)).await?;
        let entries: Vec<money::Entry> = booked
            .iter()
            .filter(|t| t.kind == "sale" || t.kind == "plan")
            .flat_map(|t| money::partial_reversal(&t.entries, p.amount, from, to))
            .collect();
        Ok(LedgerTx {
            id: Uuid::now_v7(),
            kind: if to >= from { "refund" } else { "reinstated" }.into(),
            reference: format!("payment:{}", p.id),
            currency: p.currency.clone(),
            created_at: now,
            entries,
        })
    }

    /// Refunds a payment up to `refunded` of it in all (from what it says was refunded so far);
    /// `dispute` names the dispute that takes it.
    async fn refund_to(
        services: &Services,
        actor: Option<UserId>,
        p: &PaymentRecord,
        reason: &str,
        refunded: i64,
        dispute: Option<&str>,
    ) -> Result<(), AppError> {
        let reason = self::reason(reason)?;
        let id = p.id;
        let refunded = refunded.min(p.amount);
        let now = services.clock.now();
        let reversal = refund_entries(services, p, (p.refunded, refunded), now).await?;
        let dispute = dispute.map(|dispute| DisputeRecord {
            id: dispute.to_owned(),
            payment_id: id,
            amount: refunded - p.refunded,
            status: "open".into(),
            opened_at: now,
            closed_at: None,
        });
        let mut cancel = None;
        if let Some(code) = p.product.strip_prefix("plan:")
            && refunded == p.amount
            && let Some(sub) = services.store.plan_subscriptions(&[p.org_id]).await?.pop()
            // The built-in provider names the plan's payment; Stripe its payment or subscription.
            && (sub.provider_ref.as_deref() == Some(&p.id.to_string())
                || (p.provider_ref.is_some() && sub.provider_ref == p.provider_ref))
        {
            let mrr_before = match services.store.plan(code, Some(sub.plan_version)).await? {
                Some(plan) => mrr_of(services, &sub, &plan.config).await?,
                None => 0,
            };
            cancel = Some(PlanChangeRecord {
                id: Uuid::now_v7(),
                org_id: p.org_id,
                from_plan: Some(code.to_owned()),
                to_plan: None,
                mrr_before,
                mrr_after: 0,
                reason: "refunded".into(),
                at: now,
            });
        }
        if !services
            .store
            .refund_payment(id, (p.refunded, refunded), &reversal, dispute.as_ref(), cancel.as_ref())
            .await?
        {
            return Err(AppError::conflict("This payment was refunded meanwhile: look again."));
        }
        crate::api::audit(
            services,
            actor,
            Some(p.org_id),
            "billing.refunded",
            format!("payment:{id}"),
            None,
            Some(serde_json::json!({ "amount": refunded - p.refunded, "refunded": refunded, "of": p.amount, "reason": reason })),
        )
        .await
    }
}

#[cfg(feature = "ssr")]
pub use rules::{
    OVERRIDE, REFERRAL_COOKIE, entitlements, no_seat, process_stripe_events, record_ai_tokens, renew_due, require,
    require_ai_tokens, seats_of,
};

#[cfg(feature = "ssr")]
use {
    super::{caller, respond, services},
    crate::domain::billing::{Need, parse_money},
};

/// The caller's plan, usage and payments.
#[server(endpoint = "billing_overview", input = Json)]
pub async fn billing_overview() -> Result<BillingSummary, AppError> {
    respond(async move { rules::overview(&services()?, &caller()?).await }).await
}

/// Opens a checkout for a plan (`plan:<code>`, `interval` month or year) or a premium
/// sequence (`sequence:<id>`), with an optional promo code; answers where to pay.
#[server(endpoint = "start_checkout", input = Json)]
pub async fn start_checkout(product: String, interval: String, promo_code: String) -> Result<CheckoutView, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let org = super::active_org(&services, &caller).await?.org.id;
        let (c, pay_url) = rules::start_checkout(&services, &caller, org, &product, &interval, &promo_code).await?;
        rules::checkout_view(&services, c, pay_url).await
    })
    .await
}

/// One of the caller's checkouts.
#[server(endpoint = "checkout_details", input = Json)]
pub async fn checkout_details(id: Uuid) -> Result<CheckoutView, AppError> {
    respond(async move {
        let services = services()?;
        let c = rules::own_checkout(&services, &caller()?, id).await?;
        rules::checkout_view(&services, c, None).await
    })
    .await
}

/// Starts a plan's free trial (`plan` is its code) for the caller, once, before any plan.
#[server(endpoint = "start_trial", input = Json)]
pub async fn start_trial(plan: String) -> Result<(), AppError> {
    respond(async move { rules::start_trial(&services()?, &caller()?, &plan).await }).await
}

/// Pays a checkout with the built-in provider's test payment.
#[server(endpoint = "pay_checkout", input = Json)]
pub async fn pay_checkout(id: Uuid) -> Result<CheckoutView, AppError> {
    respond(async move { rules::pay(&services()?, &caller()?, id).await }).await
}

/// Cancels the caller's plan at the end of its period (`cancel` false takes that back); with
/// `org_id`, the organization's plan. Needs: for an organization, ManageBilling (its owner).
#[server(endpoint = "cancel_plan", input = Json)]
pub async fn cancel_plan(cancel: bool, org_id: Option<OrgId>) -> Result<(), AppError> {
    respond(async move { rules::set_cancel(&services()?, &caller()?, org_id, cancel).await }).await
}

/// An organization's plan, seats and what happens next. Needs: ViewMembers.
#[server(endpoint = "org_plan", input = Json)]
pub async fn org_plan(org_id: OrgId) -> Result<OrgPlanView, AppError> {
    respond(async move { rules::org_plan(&services()?, &caller()?, org_id).await }).await
}

/// Chooses an organization's plan by the seat (`plan` its code, `seats` how many, `interval`
/// month or year, an optional promo code): answers the checkout to pay, or nothing when fewer
/// seats of the same plan took effect at once. Needs: ManageBilling (the owner).
#[server(endpoint = "choose_org_plan", input = Json)]
pub async fn choose_org_plan(
    org_id: OrgId,
    plan: String,
    seats: String,
    interval: String,
    promo_code: Option<String>,
) -> Result<Option<CheckoutView>, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let promo = promo_code.unwrap_or_default();
        match rules::org_checkout(&services, &caller, org_id, &plan, &interval, &seats, &promo).await? {
            Some((c, pay_url)) => rules::checkout_view(&services, c, pay_url).await.map(Some),
            None => Ok(None),
        }
    })
    .await
}

/// A receipt: the buyer's own, or any for a platform admin.
#[server(endpoint = "receipt", input = Json)]
pub async fn receipt(id: Uuid) -> Result<ReceiptView, AppError> {
    respond(async move { rules::receipt(&services()?, &caller()?, id).await }).await
}

/// Sets (or, with an empty amount, removes) the price of the caller's premium sequence.
/// Needs: the creator of the sequence, and Creator tools on their plan or the creator role.
#[server(endpoint = "set_sequence_price", input = Json)]
pub async fn set_sequence_price(id: Uuid, amount: String, monthly: bool) -> Result<Option<PriceView>, AppError> {
    respond(async move {
        use crate::domain::CapabilityRole;
        use crate::domain::billing::Feature;
        let services = services()?;
        let caller = caller()?;
        let (_, p) = crate::api::prompts::principal().await?;
        let s = crate::api::sequences::rules::visible(&services, &p, id).await?;
        if s.creator_id != caller.user.id {
            return Err(AppError::Forbidden);
        }
        if !caller.user.capabilities.contains(&CapabilityRole::Creator) {
            rules::require(&services, caller.user.id, p.org, Need::Feature(Feature::CreatorTools)).await?;
        }
        let product = sequence_product(id);
        if amount.trim().is_empty() {
            services.store.remove_price(&product).await?;
            return Ok(None);
        }
        let amount = parse_money(&amount).map_err(|e| AppError::validation("amount", e.0))?;
        if amount < 100 {
            return Err(AppError::validation("amount", "At least $1.00."));
        }
        let recurring = monthly.then_some(Interval::Month);
        let price = crate::ports::PriceRecord {
            product,
            org_id: p.org,
            seller_id: caller.user.id,
            amount,
            currency: crate::domain::billing::CURRENCY.into(),
            recurring,
            affiliate_bps: 0,
            updated_at: services.clock.now(),
        };
        services.store.set_price(&price).await?;
        let affiliate_bps = services.store.price(&price.product).await?.map_or(0, |p| p.affiliate_bps);
        Ok(Some(PriceView { amount, recurring, affiliate_bps }))
    })
    .await
}

/// Sets the commission paid to affiliates who bring buyers to the caller's premium sequence, as
/// a percentage of each sale after payment processing (0 to 50; 0 ends the program). Needs: the
/// seller of its price.
#[server(endpoint = "set_affiliate_rate", input = Json)]
pub async fn set_affiliate_rate(id: Uuid, percent: String) -> Result<u32, AppError> {
    respond(async move {
        let services = services()?;
        let caller = caller()?;
        let product = sequence_product(id);
        let price = services.store.price(&product).await?.ok_or(AppError::NotFound)?;
        if price.seller_id != caller.user.id {
            return Err(AppError::Forbidden);
        }
        let bps = rules::parse_affiliate_percent(&percent)?;
        services.store.set_affiliate_rate(&product, bps, services.clock.now()).await?;
        Ok(bps)
    })
    .await
}

/// The caller's affiliate link for a product (`sequence:<id>` or `journey:<id>`) that pays affiliates, made on
/// first use, with what it brought so far.
#[server(endpoint = "affiliate_link", input = Json)]
pub async fn affiliate_link(product: String) -> Result<AffiliateLinkView, AppError> {
    respond(async move { rules::affiliate_link(&services()?, &caller()?, &product).await }).await
}

/// The caller's affiliate links: clicks, sign-ups, sales and commission of each.
#[server(endpoint = "my_affiliate_links", input = Json)]
pub async fn my_affiliate_links() -> Result<Vec<AffiliateLinkView>, AppError> {
    respond(async move { rules::affiliate_links(&services()?, &caller()?).await }).await
}

/// The caller's sales as a creator: each sale with their share, their tier, balance and payouts.
#[server(endpoint = "my_sales", input = Json)]
pub async fn my_sales() -> Result<SalesView, AppError> {
    respond(async move { rules::sales(&services()?, &caller()?).await }).await
}

/// Creates a promo code for the caller's own products (a creator).
#[server(endpoint = "create_creator_promo", input = Json)]
pub async fn create_creator_promo(input: PromoInput) -> Result<(), AppError> {
    respond(async move {
        use crate::domain::CapabilityRole;
        let services = services()?;
        let caller = caller()?;
        if !caller.user.capabilities.contains(&CapabilityRole::Creator) {
            return Err(AppError::Forbidden);
        }
        let promo = rules::promo_from(&input, Some(caller.user.id), caller.user.id, services.clock.now())?;
        rules::create_promo(&services, &promo).await
    })
    .await
}

#[cfg(feature = "ssr")]
fn platform_admin() -> Result<(crate::ports::Services, super::Caller), AppError> {
    let caller = caller()?;
    if !super::admin::is_platform_admin(&caller) {
        return Err(AppError::Forbidden);
    }
    Ok((services()?, caller))
}

/// Plans, promo codes, payments, balances and payout batches. Needs: platform admin.
#[server(endpoint = "admin_billing", input = Json)]
pub async fn admin_billing() -> Result<AdminBillingView, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        rules::admin_view(&services, &caller).await
    })
    .await
}

/// MRR and its movements, ARR, subscribers, churn, ARPU, LTV, revenue by product, creator and
/// plan, AI cost and pending payouts. Needs: platform admin.
#[server(endpoint = "admin_business", input = Json)]
pub async fn admin_business() -> Result<BusinessView, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        rules::business(&services, &caller).await
    })
    .await
}

/// The business dashboard's months as CSV. Needs: platform admin.
#[server(endpoint = "admin_business_csv", input = Json)]
pub async fn admin_business_csv() -> Result<String, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        Ok(rules::business_csv(&rules::business(&services, &caller).await?))
    })
    .await
}

/// Sets the platform's share of journey sales, a percentage from 0 to 50 with up to two
/// decimals (e.g. 15 or 12.5); returns it in basis points. Sales from now on are split at it.
/// Needs: platform admin.
#[server(endpoint = "admin_set_journey_fee", input = Json)]
pub async fn admin_set_journey_fee(percent: String) -> Result<u32, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let bad = || AppError::validation("journey_fee", "A percentage from 0 to 50, e.g. 15 or 12.5.");
        // A percentage with two decimals reads like dollars and cents: 12.5 -> 1250 basis points.
        let bps = parse_money(percent.trim().trim_end_matches('%')).map_err(|_| bad())?;
        let bps = u32::try_from(bps).ok().filter(|b| *b <= 5_000).ok_or_else(bad)?;
        let before = rules::journey_fee_bps(&services).await?;
        services.store.set_setting(rules::JOURNEY_FEE, &bps.to_string(), services.clock.now()).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            None,
            "billing.journey_fee_set",
            rules::JOURNEY_FEE.to_owned(),
            Some(serde_json::json!({ "bps": before })),
            Some(serde_json::json!({ "bps": bps })),
        )
        .await?;
        Ok(bps)
    })
    .await
}

/// Sets the smallest balance paid out, in dollars from $1 to $10,000 (e.g. 25 or 12.50); returns
/// it in cents. Payout batches from now on leave smaller balances to grow. Needs: platform admin.
#[server(endpoint = "admin_set_minimum_payout", input = Json)]
pub async fn admin_set_minimum_payout(amount: String) -> Result<i64, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let bad = || AppError::validation("minimum_payout", "An amount from $1 to $10,000, e.g. 25 or 12.50.");
        let cents = parse_money(&amount).map_err(|_| bad())?;
        if !(100..=1_000_000).contains(&cents) {
            return Err(bad());
        }
        let before = rules::minimum_payout(&services).await?;
        services.store.set_setting(rules::MINIMUM_PAYOUT_SETTING, &cents.to_string(), services.clock.now()).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            None,
            "billing.minimum_payout_set",
            rules::MINIMUM_PAYOUT_SETTING.to_owned(),
            Some(serde_json::json!({ "amount": before })),
            Some(serde_json::json!({ "amount": cents })),
        )
        .await?;
        Ok(cents)
    })
    .await
}

/// Saves a plan's prices and limits as its next version; subscribers keep theirs. Needs:
/// platform admin.
#[server(endpoint = "admin_save_plan", input = Json)]
pub async fn admin_save_plan(
    code: String,
    name: String,
    monthly_price: String,
    annual_price: String,
    limits: Limits,
) -> Result<i32, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let mut plan = services.store.plan(&code, None).await?.ok_or(AppError::NotFound)?.config;
        let before = serde_json::to_value(&plan).ok();
        plan.name = name.trim().to_owned();
        plan.monthly_price = parse_money(&monthly_price).map_err(|e| AppError::validation("monthly_price", e.0))?;
        plan.annual_price = match annual_price.trim() {
            "" => None,
            raw => Some(parse_money(raw).map_err(|e| AppError::validation("annual_price", e.0))?),
        };
        plan.limits = limits;
        plan.check().map_err(|(field, e)| AppError::validation(field, e.0))?;
        let version = services.store.add_plan_version(&code, &plan, caller.user.id, services.clock.now()).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            None,
            "billing.plan_saved",
            format!("plan:{code}:{version}"),
            before,
            serde_json::to_value(&plan).ok(),
        )
        .await?;
        Ok(version)
    })
    .await
}

/// Creates a platform promo code (for plans). Needs: platform admin.
#[server(endpoint = "admin_create_promo", input = Json)]
pub async fn admin_create_promo(input: PromoInput) -> Result<(), AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let promo = rules::promo_from(&input, None, caller.user.id, services.clock.now())?;
        rules::create_promo(&services, &promo).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            None,
            "billing.promo_created",
            format!("promo:{}", promo.code),
            None,
            None,
        )
        .await
    })
    .await
}

/// Refunds `amount` of a payment (money, e.g. `12.50`; empty for all that is left), with the
/// reason. Needs: platform admin.
#[server(endpoint = "admin_refund", input = Json)]
pub async fn admin_refund(id: Uuid, reason: String, amount: Option<String>) -> Result<(), AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let amount = match amount.as_deref().unwrap_or("").trim() {
            "" => None,
            raw => Some(parse_money(raw).map_err(|e| AppError::validation("amount", e.0))?),
        };
        rules::refund(&services, Some(caller.user.id), id, &reason, amount).await
    })
    .await
}

/// Gives a person — or, with `organization`, the organization of that name they belong to —
/// `extra` more of a quota for `days`, with the reason (audited). Needs: platform admin.
#[server(endpoint = "admin_boost_quota", input = Json)]
pub async fn admin_boost_quota(
    email: String,
    quota: String,
    extra: String,
    days: String,
    reason: String,
    organization: Option<String>,
) -> Result<(), AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let target = rules::target(&services, &email, organization.as_deref()).await?;
        let quota = Quota::parse(&quota).map_err(|e| AppError::validation("quota", e.0))?;
        let extra: i64 = extra
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000_000).contains(n))
            .ok_or_else(|| AppError::validation("extra", "A whole number above 0."))?;
        let days = rules::days(&days)?;
        let reason = rules::reason(&reason)?;
        let org = target.org;
        let now = services.clock.now();
        let boost = crate::ports::BoostRecord {
            id: Uuid::now_v7(),
            org_id: org,
            boost: crate::domain::billing::Boost { quota, extra },
            reason: reason.to_owned(),
            expires_at: now + chrono::Duration::days(days),
            created_by: Some(caller.user.id),
            created_at: now,
        };
        services.store.add_boost(&boost).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "billing.quota_boosted",
            target.audit,
            None,
            Some(serde_json::json!({ "quota": quota.key(), "extra": extra, "days": days, "reason": reason })),
        )
        .await
    })
    .await
}

/// Takes `percent` off a person's plan — or, with `organization`, the plan of the organization
/// of that name they belong to — for `months` (each renewal starting before then), with the
/// reason (audited). Not for plans Stripe bills (give a coupon there). Needs: platform admin.
#[server(endpoint = "admin_discount", input = Json)]
pub async fn admin_discount(
    email: String,
    percent: String,
    months: String,
    reason: String,
    organization: Option<String>,
) -> Result<(), AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let target = rules::target(&services, &email, organization.as_deref()).await?;
        let percent: i64 = percent
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| AppError::validation("percent", "A whole number from 1 to 100."))?;
        let months: u32 = months
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=36).contains(n))
            .ok_or_else(|| AppError::validation("months", "A whole number of months from 1 to 36."))?;
        let reason = rules::reason(&reason)?;
        let org = target.org;
        let now = services.clock.now();
        if services.store.plan_subscriptions(&[org]).await?.iter().any(|s| s.provider == rules::STRIPE) {
            return Err(AppError::conflict("Stripe bills this plan: give the discount as a coupon in Stripe."));
        }
        let discount = crate::ports::DiscountRecord {
            id: Uuid::now_v7(),
            org_id: org,
            percent,
            reason: reason.to_owned(),
            expires_at: now.checked_add_months(chrono::Months::new(months)).unwrap_or(now),
            created_by: Some(caller.user.id),
            created_at: now,
        };
        services.store.add_discount(&discount).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "billing.discount",
            target.audit,
            None,
            Some(serde_json::json!({ "percent": percent, "months": months, "reason": reason })),
        )
        .await
    })
    .await
}

/// Puts a person — or, with `organization`, the organization of that name they belong to — on
/// a plan for `days` without payment, with the reason (audited); it ends by itself. A person
/// gets an individual plan; an organization a plan sold by the seat, with a seat for each of
/// its members and pending invitations (at least the plan's minimum). Refused while they pay
/// for a plan. Needs: platform admin.
#[server(endpoint = "admin_set_plan", input = Json)]
pub async fn admin_set_plan(
    email: String,
    plan: String,
    days: String,
    reason: String,
    organization: Option<String>,
) -> Result<(), AppError> {
    respond(async move {
        use crate::domain::billing::plan_in_effect;
        let (services, caller) = platform_admin()?;
        let target = rules::target(&services, &email, organization.as_deref()).await?;
        let chosen =
            services.store.plan(plan.trim(), None).await?.filter(|p| p.config.per_seat == target.shared).ok_or_else(
                || match target.shared {
                    true => AppError::validation("plan", "Choose a plan sold by the seat for an organization."),
                    false => AppError::validation("plan", "Choose an individual plan."),
                },
            )?;
        let days = rules::days(&days)?;
        let reason = rules::reason(&reason)?;
        let org = target.org;
        let seats = match target.shared {
            true => rules::people(&services, org).await?.max(chosen.config.min_seats),
            false => 1,
        };
        let now = services.clock.now();
        let before = services.store.plan_subscriptions(&[org]).await?.pop();
        if let Some(b) = &before
            && b.provider != rules::OVERRIDE
            && !b.cancel_at_period_end
            && plan_in_effect(b.status, b.period_end, b.cancel_at_period_end, now)
        {
            return Err(AppError::conflict(format!(
                "They pay for the {} plan: refund or cancel it first.",
                b.plan_code
            )));
        }
        let sub = crate::ports::PlanSubscriptionRecord {
            org_id: org,
            plan_code: chosen.code.clone(),
            plan_version: chosen.version,
            interval: Interval::Month,
            seats,
            status: PlanStatus::Active,
            period_start: now,
            period_end: now + chrono::Duration::days(days),
            cancel_at_period_end: true,
            promo_code: None,
            provider: rules::OVERRIDE.into(),
            provider_ref: None,
            paid_by: None,
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
        };
        let change = crate::ports::PlanChangeRecord {
            id: Uuid::now_v7(),
            org_id: org,
            from_plan: before.map(|b| b.plan_code),
            to_plan: Some(chosen.code.clone()),
            mrr_before: 0,
            mrr_after: 0,
            reason: "override".into(),
            at: now,
        };
        services.store.save_plan_subscription(&sub, &change).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            Some(org),
            "billing.plan_overridden",
            target.audit,
            None,
            Some(serde_json::json!({ "plan": chosen.code, "days": days, "reason": reason })),
        )
        .await
    })
    .await
}

/// Pays out everyone owed at least the minimum: one payout each, booked in the ledger, exported
/// as CSV for manual payment (built-in provider). Needs: platform admin.
#[server(endpoint = "admin_payout_batch", input = Json)]
pub async fn admin_payout_batch() -> Result<Vec<PayoutView>, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        let now = services.clock.now();
        let batch = crate::ports::PayoutBatchRecord {
            id: Uuid::now_v7(),
            method: if services.payments.is_some() { "stripe" } else { "manual" }.into(),
            minimum: rules::minimum_payout(&services).await?,
            created_by: Some(caller.user.id),
            created_at: now,
            payouts: 0,
            total: 0,
        };
        let mut made = services.store.create_payout_batch(&batch, now).await?;
        if !made.is_empty() && services.payments.is_some() {
            let sent = rules::send_payouts(&services, batch.id).await?;
            made = sent.into_iter().filter(|p| made.iter().any(|m| m.id == p.id)).collect();
        }
        if !made.is_empty() {
            super::audit(
                &services,
                Some(caller.user.id),
                None,
                "billing.payout_batch",
                format!("payout_batch:{}", batch.id),
                None,
                Some(serde_json::json!({ "payouts": made.len() })),
            )
            .await?;
        }
        Ok(made.into_iter().map(rules::payout_view).collect())
    })
    .await
}

/// Sends a batch's pending payouts through Stripe again (those that failed or whose party has
/// since finished onboarding); a payout is never transferred twice. Needs: platform admin.
#[server(endpoint = "admin_send_payouts", input = Json)]
pub async fn admin_send_payouts(batch: Uuid) -> Result<Vec<PayoutView>, AppError> {
    respond(async move {
        let (services, caller) = platform_admin()?;
        if services.payments.is_none() {
            return Err(AppError::conflict("Stripe is not set up: pay this batch by hand from its CSV."));
        }
        let payouts = rules::send_payouts(&services, batch).await?;
        super::audit(
            &services,
            Some(caller.user.id),
            None,
            "billing.payouts_sent",
            format!("payout_batch:{batch}"),
            None,
            None,
        )
        .await?;
        Ok(payouts.into_iter().map(rules::payout_view).collect())
    })
    .await
}

/// Stripe's onboarding for the caller's payouts: answers the address to go to. Needs: Stripe
/// configured.
#[server(endpoint = "payout_onboarding", input = Json)]
pub async fn payout_onboarding() -> Result<String, AppError> {
    respond(async move { rules::payout_onboarding(&services()?, &caller()?).await }).await
}

/// A Stripe Customer Portal session, where the caller manages their subscription and cards:
/// answers the address to go to. Needs: a Stripe customer.
#[server(endpoint = "billing_portal", input = Json)]
pub async fn billing_portal() -> Result<String, AppError> {
    respond(async move { rules::portal(&services()?, &caller()?).await }).await
}

/// A payout batch as CSV (party, email, amount, currency, status) for manual payment. Needs:
/// platform admin.
#[server(endpoint = "admin_payout_csv", input = Json)]
pub async fn admin_payout_csv(batch: Uuid) -> Result<String, AppError> {
    respond(async move {
        let (services, _) = platform_admin()?;
        let payouts = services.store.payouts(None, Some(batch)).await?;
        let mut csv = String::from("payout_id,name,email,amount,currency,status\n");
        for p in payouts {
            // Quoted, and never read by a spreadsheet as a formula.
            let mut name = p.party_name.replace('"', "\"\"");
            if name.starts_with(['=', '+', '-', '@']) {
                name.insert(0, '\'');
            }
            csv.push_str(&format!(
                "{},\"{}\",{},{}.{:02},{},{}\n",
                p.id,
                name,
                p.party_email,
                p.amount / 100,
                p.amount % 100,
                p.currency,
                p.status
            ));
        }
        Ok(csv)
    })
    .await
}
