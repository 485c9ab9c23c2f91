//! Money and plans, as pure rules: amounts in integer minor units, plans with limits and features,
//! the entitlement check, promo codes, revenue splits and the ledger's balanced transactions.
//!
//! Nothing here reads storage or the clock; the server gathers the facts (the plans in effect,
//! usage, boosts) and these functions decide.

use super::Invalid;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The one currency Cairn prices in today; amounts carry it so a second one is a data change.
pub const CURRENCY: &str = "usd";

/// `1900` → `$19.00`; negative amounts get a leading minus.
pub fn format_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let dollars = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

/// How a payment stands, for people: `paid`, `refunded`, or `paid, $2.50 refunded`.
pub fn payment_status(status: &str, refunded: i64) -> String {
    if status == "paid" && refunded > 0 {
        format!("paid, {} refunded", format_money(refunded))
    } else {
        status.to_owned()
    }
}

/// A price typed by a person: `19`, `19.5`, `$1,900.00`. At most two decimals, not negative,
/// at most $1,000,000.
pub fn parse_money(raw: &str) -> Result<i64, Invalid> {
    let bad = || Invalid("Enter an amount in dollars, e.g. 19 or 19.99.".into());
    let cleaned: String = raw.trim().trim_start_matches('$').chars().filter(|c| *c != ',').collect();
    if cleaned.is_empty() {
        return Err(bad());
    }
    let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 7
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    let total = whole * 100 + cents;
    if total > 100_000_000 {
        return Err(Invalid("At most $1,000,000.".into()));
    }
    Ok(total)
}

/// Splits `total` into parts proportional to `weights` (e.g. basis points) so that the parts sum
/// to `total` exactly: each part is rounded down and the cents left over go to the parts with the
/// largest remainders (ties to the earlier part). Works for negative totals (refunds) too.
pub fn split(total: i64, weights: &[u64]) -> Vec<i64> {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum == 0 {
        let mut parts = vec![0; weights.len()];
        parts[0] = total;
        return parts;
    }
    let magnitude = u128::from(total.unsigned_abs());
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = magnitude * u128::from(*w);
        parts.push(exact / sum);
        remainders.push((exact % sum, i));
    }
    let mut left = magnitude - parts.iter().sum::<u128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    let sign = if total < 0 { -1 } else { 1 };
    parts.into_iter().map(|p| sign * p as i64).collect()
}

/// `amount × bps / 10,000`, rounded half up (amounts are not negative here).
pub fn percent_of(amount: i64, bps: u32) -> i64 {
    ((i128::from(amount) * i128::from(bps) + 5_000) / 10_000) as i64
}

// ---------------------------------------------------------------------------------------------
// Plans

/// A plan's limits; `None` is unlimited. Per member for plans paid per seat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_active_sequences: Option<i64>,
    pub max_personal_sequences: Option<i64>,
    pub max_prompts: Option<i64>,
    pub max_members: Option<i64>,
    pub api_requests_per_day: Option<i64>,
    pub ai_tokens_per_month: Option<i64>,
}

/// What a plan switches on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    pub premium_sequences: bool,
    pub creator_tools: bool,
    pub api_access: bool,
    pub sso: bool,
    /// `basic`, `advanced`, `creator`, `team` or `organization`.
    pub analytics: String,
}

/// A plan as the platform admin configures it. Prices in minor units; `annual_price` is `None`
/// for plans sold monthly only; per-seat plans multiply by the number of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanConfig {
    pub name: String,
    pub description: String,
    pub monthly_price: i64,
    pub annual_price: Option<i64>,
    pub per_seat: bool,
    pub min_seats: i64,
    pub max_seats: Option<i64>,
    pub trial_days: i64,
    /// Order in upgrade suggestions: the lowest rank that allows something is offered.
    pub rank: i64,
    pub limits: Limits,
    pub features: Features,
}

impl PlanConfig {
    /// The price of one period for `seats` members.
    pub fn price(&self, interval: Interval, seats: i64) -> Option<i64> {
        let unit = match interval {
            Interval::Month => Some(self.monthly_price),
            Interval::Year => self.annual_price,
        }?;
        Some(if self.per_seat { unit * seats.max(self.min_seats) } else { unit })
    }

    pub fn is_free(&self) -> bool {
        self.monthly_price == 0 && self.annual_price.unwrap_or(0) == 0
    }

    /// How many people an organization on this plan may hold with `seats` paid for and `extra`
    /// from boosts; `None` is unlimited. A per-seat plan holds the seats paid for (at most its
    /// member limit), other plans their member limit.
    pub fn seat_limit(&self, seats: i64, extra: i64) -> Option<i64> {
        let limit = match (self.per_seat.then(|| seats.max(self.min_seats)), self.limits.max_members) {
            (Some(paid), Some(max)) => Some(paid.min(max)),
            (Some(paid), None) => Some(paid),
            (None, max) => max,
        };
        limit.map(|l| l + extra)
    }

    /// Whether the plan sells `seats` seats at once.
    pub fn check_seats(&self, seats: i64) -> Result<(), Invalid> {
        if seats >= self.min_seats && self.max_seats.is_none_or(|max| seats <= max) {
            return Ok(());
        }
        Err(Invalid(match self.max_seats {
            Some(max) => format!("{} is for {} to {max} people.", self.name, self.min_seats),
            None => format!("{} is for {} people or more.", self.name, self.min_seats),
        }))
    }

    /// Checks what an admin typed before it becomes a new version.
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        let bad = |field, m: &str| Err((field, Invalid(m.into())));
        if self.name.trim().is_empty() || self.name.chars().count() > 60 {
            return bad("name", "Name the plan (60 characters at most).");
        }
        if self.monthly_price < 0 || self.annual_price.is_some_and(|p| p < 0) {
            return bad("monthly_price", "Prices cannot be negative.");
        }
        if !(0..=365).contains(&self.trial_days) {
            return bad("trial_days", "A trial lasts 0 to 365 days.");
        }
        if self.min_seats < 1 || self.max_seats.is_some_and(|m| m < self.min_seats) {
            return bad("min_seats", "Seats: at least 1, and the maximum not below the minimum.");
        }
        let l = &self.limits;
        for v in [
            l.max_active_sequences,
            l.max_personal_sequences,
            l.max_prompts,
            l.max_members,
            l.api_requests_per_day,
            l.ai_tokens_per_month,
        ]
        .into_iter()
        .flatten()
        {
            if v < 0 {
                return bad("limits", "Limits cannot be negative (leave empty for unlimited).");
            }
        }
        Ok(())
    }
}

/// How often a subscription renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Month,
    Year,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "month" | "monthly" => Ok(Interval::Month),
            "year" | "yearly" | "annual" => Ok(Interval::Year),
            _ => Err(Invalid("Choose monthly or yearly.".into())),
        }
    }

    /// The end of the period that starts at `start`: the same day next month (or year), clamped
    /// to the month's last day.
    pub fn after(self, start: DateTime<Utc>) -> DateTime<Utc> {
        let months = match self {
            Interval::Month => 1,
            Interval::Year => 12,
        };
        start.checked_add_months(chrono::Months::new(months)).unwrap_or(start)
    }
}

/// Where a plan subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Trialing,
    Active,
    /// A renewal failed: the plan stays until the grace period ends, then drops to free.
    PastDue,
    Canceled,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Trialing => "trialing",
            PlanStatus::Active => "active",
            PlanStatus::PastDue => "past_due",
            PlanStatus::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "trialing" => PlanStatus::Trialing,
            "active" => PlanStatus::Active,
            "past_due" => PlanStatus::PastDue,
            _ => PlanStatus::Canceled,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PlanStatus::Trialing => "Trial",
            PlanStatus::Active => "Active",
            PlanStatus::PastDue => "Payment overdue",
            PlanStatus::Canceled => "Canceled",
        }
    }
}

/// Days a past-due subscription keeps its plan before dropping to free.
pub const GRACE_DAYS: i64 = 7;

/// Whether a subscription in `status` for the period ending `period_end` still gives its plan at
/// `now`. An active plan renews at its period's end unless it was canceled for then.
pub fn plan_in_effect(status: PlanStatus, period_end: DateTime<Utc>, ends: bool, now: DateTime<Utc>) -> bool {
    match status {
        PlanStatus::Trialing | PlanStatus::Active => !ends || now < period_end,
        PlanStatus::PastDue => now < period_end + chrono::Duration::days(GRACE_DAYS),
        PlanStatus::Canceled => false,
    }
}

/// The plan every account has without paying.
pub const FREE_PLAN: &str = "free";

/// The plans Cairn ships with (PowerPrompts' tiers); the platform admin changes them from there.
pub fn default_plans() -> Vec<(&'static str, PlanConfig)> {
    let limits = |active, personal, prompts, members, api, tokens| Limits {
        max_active_sequences: active,
        max_personal_sequences: personal,
        max_prompts: prompts,
        max_members: members,
        api_requests_per_day: api,
        ai_tokens_per_month: tokens,
    };
    let features = |premium, creator, api, sso, analytics: &str| Features {
        premium_sequences: premium,
        creator_tools: creator,
        api_access: api,
        sso,
        analytics: analytics.into(),
    };
    vec![
        (
            FREE_PLAN,
            PlanConfig {
                name: "Free".into(),
                description: "Free sequences, two running at a time, three of your own.".into(),
                monthly_price: 0,
                annual_price: Some(0),
                per_seat: false,
                min_seats: 1,
                max_seats: None,
                trial_days: 0,
                rank: 0,
                limits: limits(Some(2), Some(3), Some(100), Some(5), Some(1_000), Some(50_000)),
                features: features(false, false, true, false, "basic"),
            },
        ),
        (
            "premium",
            PlanConfig {
                name: "Premium".into(),
                description: "Premium sequences, ten running at a time, advanced analytics.".into(),
                monthly_price: 1_900,
                annual_price: Some(19_000),
                per_seat: false,
                min_seats: 1,
                max_seats: None,
                trial_days: 14,
                rank: 1,
                limits: limits(Some(10), Some(25), Some(1_000), Some(5), Some(10_000), Some(500_000)),
                features: features(true, false, true, false, "advanced"),
            },
        ),
        (
            "creator",
            PlanConfig {
                name: "Creator".into(),
                description: "Create, publish and sell sequences with a 70% revenue share.".into(),
                monthly_price: 4_900,
                annual_price: Some(49_000),
                per_seat: false,
                min_seats: 1,
                max_seats: None,
                trial_days: 14,
                rank: 2,
                limits: limits(Some(25), Some(100), Some(10_000), Some(10), Some(50_000), Some(2_000_000)),
                features: features(true, true, true, false, "creator"),
            },
        ),
        (
            "team",
            PlanConfig {
                name: "Team".into(),
                description: "For 5 to 50 people: team sequences, assignments, team analytics.".into(),
                monthly_price: 1_200,
                annual_price: None,
                per_seat: true,
                min_seats: 5,
                max_seats: Some(50),
                trial_days: 14,
                rank: 3,
                limits: limits(Some(15), Some(100), Some(25_000), Some(50), Some(100_000), Some(5_000_000)),
                features: features(true, true, true, false, "team"),
            },
        ),
        (
            "enterprise",
            PlanConfig {
                name: "Enterprise".into(),
                description: "51 people and more: unlimited sequences, SSO, API, compliance reporting.".into(),
                monthly_price: 2_500,
                annual_price: None,
                per_seat: true,
                min_seats: 51,
                max_seats: None,
                trial_days: 30,
                rank: 4,
                limits: limits(None, None, None, None, None, None),
                features: features(true, true, true, true, "organization"),
            },
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Entitlements

/// Something counted against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    ActiveSequences,
    PersonalSequences,
    Prompts,
    Members,
    ApiRequestsPerDay,
    AiTokensPerMonth,
}

impl Quota {
    pub const ALL: [Quota; 6] = [
        Quota::ActiveSequences,
        Quota::PersonalSequences,
        Quota::Prompts,
        Quota::Members,
        Quota::ApiRequestsPerDay,
        Quota::AiTokensPerMonth,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Quota::ActiveSequences => "active_sequences",
            Quota::PersonalSequences => "personal_sequences",
            Quota::Prompts => "prompts",
            Quota::Members => "members",
            Quota::ApiRequestsPerDay => "api_requests_per_day",
            Quota::AiTokensPerMonth => "ai_tokens_per_month",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Quota::ALL.into_iter().find(|q| q.key() == raw).ok_or_else(|| Invalid("Choose a quota.".into()))
    }

    /// What a person reads: "running sequences".
    pub fn label(self) -> &'static str {
        match self {
            Quota::ActiveSequences => "running sequences",
            Quota::PersonalSequences => "sequences of your own",
            Quota::Prompts => "prompts",
            Quota::Members => "members",
            Quota::ApiRequestsPerDay => "API requests today",
            Quota::AiTokensPerMonth => "AI tokens this month",
        }
    }

    /// Quotas that refill with time answer 429 when spent; fixed limits 403.
    pub fn refills(self) -> bool {
        matches!(self, Quota::ApiRequestsPerDay | Quota::AiTokensPerMonth)
    }

    pub fn limit(self, l: &Limits) -> Option<i64> {
        match self {
            Quota::ActiveSequences => l.max_active_sequences,
            Quota::PersonalSequences => l.max_personal_sequences,
            Quota::Prompts => l.max_prompts,
            Quota::Members => l.max_members,
            Quota::ApiRequestsPerDay => l.api_requests_per_day,
            Quota::AiTokensPerMonth => l.ai_tokens_per_month,
        }
    }

    fn limit_mut(self, l: &mut Limits) -> &mut Option<i64> {
        match self {
            Quota::ActiveSequences => &mut l.max_active_sequences,
            Quota::PersonalSequences => &mut l.max_personal_sequences,
            Quota::Prompts => &mut l.max_prompts,
            Quota::Members => &mut l.max_members,
            Quota::ApiRequestsPerDay => &mut l.api_requests_per_day,
            Quota::AiTokensPerMonth => &mut l.ai_tokens_per_month,
        }
    }
}

/// A switch a plan may turn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    PremiumSequences,
    CreatorTools,
    ApiAccess,
    Sso,
}

impl Feature {
    pub fn on(self, f: &Features) -> bool {
        match self {
            Feature::PremiumSequences => f.premium_sequences,
            Feature::CreatorTools => f.creator_tools,
            Feature::ApiAccess => f.api_access,
            Feature::Sso => f.sso,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Feature::PremiumSequences => "Premium sequences",
            Feature::CreatorTools => "Creator tools",
            Feature::ApiAccess => "API access",
            Feature::Sso => "Single sign-on",
        }
    }
}

/// What a subject may do: the most generous of the plans in effect for it, plus boosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlements {
    /// Codes of the plans in effect, e.g. `["premium"]`; `["free"]` when none is paid for.
    pub plans: Vec<String>,
    pub limits: Limits,
    pub features: Features,
}

/// Extra room granted by an admin for a while: `extra` more of `quota`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boost {
    pub quota: Quota,
    pub extra: i64,
}

impl Entitlements {
    /// Combines plans (each limit the largest, unlimited wins; each feature if any has it) and
    /// adds boosts to the limits they raise.
    pub fn combine(plans: &[(&str, &PlanConfig)], boosts: &[Boost]) -> Self {
        let mut limits = Limits::default();
        let mut features = Features::default();
        for (i, (_, p)) in plans.iter().enumerate() {
            for q in Quota::ALL {
                let mine = q.limit(&p.limits);
                let slot = q.limit_mut(&mut limits);
                *slot = if i == 0 {
                    mine
                } else {
                    match (*slot, mine) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    }
                };
            }
            features.premium_sequences |= p.features.premium_sequences;
            features.creator_tools |= p.features.creator_tools;
            features.api_access |= p.features.api_access;
            features.sso |= p.features.sso;
            if analytics_rank(&p.features.analytics) > analytics_rank(&features.analytics) {
                features.analytics = p.features.analytics.clone();
            }
        }
        for b in boosts {
            if let Some(limit) = q_limit_mut(&mut limits, b.quota) {
                *limit = limit.saturating_add(b.extra);
            }
        }
        Entitlements { plans: plans.iter().map(|(c, _)| (*c).to_owned()).collect(), limits, features }
    }

    /// Allows `need` or says why not, naming the cheapest plan of `catalog` that would allow it.
    /// An allowed quota at 80% or more of its limit comes back with a warning.
    pub fn require(&self, need: Need, catalog: &[(String, PlanConfig)]) -> Result<Option<String>, Denied> {
        match need {
            Need::Feature(f) => {
                if f.on(&self.features) {
                    return Ok(None);
                }
                let upgrade = cheapest(catalog, |p| f.on(&p.features));
                Err(Denied {
                    message: match &upgrade {
                        Some((_, name)) => format!("{} need the {name} plan.", f.label()),
                        None => format!("{} are not part of your plan.", f.label()),
                    },
                    upgrade,
                    refills: false,
                })
            }
            Need::Quota { quota, used, adding } => {
                let Some(limit) = quota.limit(&self.limits) else { return Ok(None) };
                let after = used.saturating_add(adding);
                if after <= limit {
                    return Ok((limit > 0 && after * 5 >= limit * 4)
                        .then(|| format!("You are using {after} of {limit} {} on your plan.", quota.label())));
                }
                let upgrade = cheapest(catalog, |p| quota.limit(&p.limits).is_none_or(|l| l >= after));
                let mut message = format!("Your plan allows {limit} {}; you have {used}.", quota.label());
                if let Some((_, name)) = &upgrade {
                    message.push_str(&format!(" Upgrade to {name} for more."));
                }
                Err(Denied { message, upgrade, refills: quota.refills() })
            }
        }
    }
}

fn q_limit_mut(l: &mut Limits, q: Quota) -> Option<&mut i64> {
    q.limit_mut(l).as_mut()
}

fn analytics_rank(level: &str) -> u8 {
    match level {
        "advanced" => 1,
        "creator" => 2,
        "team" => 3,
        "organization" => 4,
        _ => 0,
    }
}

fn cheapest(catalog: &[(String, PlanConfig)], allows: impl Fn(&PlanConfig) -> bool) -> Option<(String, String)> {
    catalog
        .iter()
        .filter(|(_, p)| !p.is_free() && allows(p))
        .min_by_key(|(_, p)| p.rank)
        .map(|(code, p)| (code.clone(), p.name.clone()))
}

/// What an action needs from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Feature(Feature),
    /// `adding` more of `quota` on top of `used`.
    Quota {
        quota: Quota,
        used: i64,
        adding: i64,
    },
}

/// What usage events measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Tokens (prompt and completion) of an AI model call.
    AiTokens,
    /// Requests made with an organization's API keys (recorded in batches, about one event a
    /// second per key).
    ApiRequests,
    /// What an AI model call cost, in millionths of a minor unit (its tokens at the rate in
    /// effect then: exact, whatever the rate).
    AiCost,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::AiTokens => "ai_tokens",
            Metric::ApiRequests => "api_requests",
            Metric::AiCost => "ai_cost",
        }
    }
}

/// A metric aggregated over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// How many events.
    pub count: i64,
    pub sum: i64,
    /// The largest single event.
    pub max: i64,
    /// How many different people.
    pub unique_users: i64,
}

/// The start of `at`'s day (UTC): daily quotas reset then.
pub fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_hms_opt(0, 0, 0).map_or(at, |d| d.and_utc())
}

pub fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{Datelike, TimeZone};
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0).single().unwrap_or(at)
}

/// Why an entitlement check said no, and the plan (code, name) that would say yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
    pub upgrade: Option<(String, String)>,
    /// A quota that refills with time (answered 429) rather than a fixed limit (403).
    pub refills: bool,
}

/// How full a quota is, for meters: `None` when unlimited.
pub fn usage_percent(used: i64, limit: Option<i64>) -> Option<u8> {
    let limit = limit?;
    if limit <= 0 {
        return Some(100);
    }
    Some((used.saturating_mul(100) / limit).clamp(0, 100) as u8)
}

/// What is left to pay when switching plans mid-period: the new plan's price minus the old
/// one's, for the part of the period that remains, rounded to the cent (never negative: a
/// downgrade takes effect at the period's end).
pub fn proration(old_price: i64, new_price: i64, remaining_secs: i64, period_secs: i64) -> i64 {
    if period_secs <= 0 || remaining_secs <= 0 || new_price <= old_price {
        return 0;
    }
    let diff = i128::from(new_price - old_price);
    let remaining = i128::from(remaining_secs.min(period_secs));
    ((diff * remaining + i128::from(period_secs) / 2) / i128::from(period_secs)) as i64
}

// ---------------------------------------------------------------------------------------------
// Promo codes

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Discount {
    /// Whole percent, 1 to 100.
    Percent(i64),
    /// Minor units off.
    Amount(i64),
}

impl Discount {
    /// The amount taken off `price` (never more than the price).
    pub fn off(self, price: i64) -> i64 {
        match self {
            Discount::Percent(p) => percent_of(price, (p.clamp(0, 100) * 100) as u32),
            Discount::Amount(a) => a.clamp(0, price.max(0)),
        }
        .min(price.max(0))
    }

    pub fn describe(self) -> String {
        match self {
            Discount::Percent(p) => format!("{p}% off"),
            Discount::Amount(a) => format!("{} off", format_money(a)),
        }
    }
}

/// How long a subscription keeps a promo code's discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "months")]
pub enum PromoDuration {
    Once,
    Repeating(i64),
    Forever,
}

impl PromoDuration {
    /// Whether the discount still applies to the `period`th payment (0 is the first).
    pub fn applies_to(self, period: i64) -> bool {
        match self {
            PromoDuration::Once => period == 0,
            PromoDuration::Repeating(n) => period < n,
            PromoDuration::Forever => true,
        }
    }
}

/// A promo code's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoRules {
    pub discount: Discount,
    pub duration: PromoDuration,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub max_redemptions: Option<i64>,
    pub first_time_only: bool,
    /// Product keys it is limited to (`plan:premium`, `sequence:<id>`); empty is every product
    /// its owner sells.
    pub products: Vec<String>,
}

impl PromoRules {
    /// Checks the code may be used now for `product` at `price` by someone who has (not) paid
    /// before, with `redeemed` redemptions so far; returns the amount off.
    pub fn apply(
        &self,
        product: &str,
        price: i64,
        now: DateTime<Utc>,
        redeemed: i64,
        paid_before: bool,
    ) -> Result<i64, Invalid> {
        if self.valid_from.is_some_and(|f| now < f) {
            return Err(Invalid("This code is not valid yet.".into()));
        }
        if self.valid_until.is_some_and(|u| now >= u) {
            return Err(Invalid("This code has expired.".into()));
        }
        if self.max_redemptions.is_some_and(|m| redeemed >= m) {
            return Err(Invalid("This code has been used up.".into()));
        }
        if self.first_time_only && paid_before {
            return Err(Invalid("This code is for first-time customers only.".into()));
        }
        if !self.products.is_empty() && !self.products.iter().any(|p| p == product) {
            return Err(Invalid("This code does not apply to this product.".into()));
        }
        Ok(self.discount.off(price))
    }
}

/// A promo code as typed: letters, digits, `-` and `_`, 3 to 32, compared upper-case.
pub fn parse_promo_code(raw: &str) -> Result<String, Invalid> {
    let code = raw.trim().to_uppercase();
    if !(3..=32).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Invalid("Codes are 3 to 32 letters, digits, - or _.".into()));
    }
    Ok(code)
}

// ---------------------------------------------------------------------------------------------
// Revenue shares

/// Creator tiers by the previous month's gross sales (PowerPrompts: bronze 70%, silver from
/// $1,000 75%, gold from $5,000 80%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatorTier {
    Bronze,
    Silver,
    Gold,
}

impl CreatorTier {
    pub fn for_monthly_sales(minor: i64) -> Self {
        if minor >= 500_000 {
            CreatorTier::Gold
        } else if minor >= 100_000 {
            CreatorTier::Silver
        } else {
            CreatorTier::Bronze
        }
    }

    /// The creator's share in basis points.
    pub fn share_bps(self) -> u32 {
        match self {
            CreatorTier::Bronze => 7_000,
            CreatorTier::Silver => 7_500,
            CreatorTier::Gold => 8_000,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CreatorTier::Bronze => "Bronze",
            CreatorTier::Silver => "Silver",
            CreatorTier::Gold => "Gold",
        }
    }
}

/// The seed's performance bonuses, added to the tier's share (capped at 90%).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bonuses {
    /// More than 90% of subscribers complete: +5 points.
    pub high_completion: bool,
    /// Rated above 4.5: +3 points.
    pub high_rating: bool,
    /// In the top 10% by popularity: +2 points.
    pub popular: bool,
}

pub fn creator_share_bps(tier: CreatorTier, bonuses: Bonuses) -> u32 {
    let extra = 500 * u32::from(bonuses.high_completion)
        + 300 * u32::from(bonuses.high_rating)
        + 200 * u32::from(bonuses.popular);
    (tier.share_bps() + extra).min(9_000)
}

/// Where a sale's money goes. The parts always sum to `gross`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub gross: i64,
    pub processor_fee: i64,
    pub platform_fee: i64,
    pub seller: i64,
    pub affiliate: i64,
}

/// Splits a sale: the processor's fee comes off first, then the affiliate's commission
/// (`affiliate_bps` of what is left), then the seller gets `seller_bps` of the rest and the
/// platform the remainder.
pub fn sale_breakdown(gross: i64, processor_fee: i64, seller_bps: u32, affiliate_bps: u32) -> Breakdown {
    let processor_fee = processor_fee.clamp(0, gross.max(0));
    let net = gross - processor_fee;
    let affiliate = percent_of(net, affiliate_bps.min(10_000));
    let rest = net - affiliate;
    let parts = split(rest, &[u64::from(seller_bps.min(10_000)), u64::from(10_000 - seller_bps.min(10_000))]);
    Breakdown { gross, processor_fee, platform_fee: parts[1], seller: parts[0], affiliate }
}

/// The built-in (test) provider's fee: nothing. Stripe's card fee: 2.9% + 30¢.
pub fn card_fee(gross: i64) -> i64 {
    if gross <= 0 { 0 } else { (percent_of(gross, 290) + 30).min(gross) }
}

// ---------------------------------------------------------------------------------------------
// The ledger

/// Accounts of the ledger. Debits are positive amounts, credits negative; every transaction sums
/// to zero. A party's balance (what Cairn owes them) is minus the sum of their payable account.
pub mod account {
    use super::super::UserId;

    /// Money held at the payment provider.
    pub const CASH: &str = "assets:cash";
    /// What the payment provider kept.
    pub const PROCESSOR_FEES: &str = "expenses:processor_fees";
    /// Cairn's own revenue: plan subscriptions and its share of sales.
    pub const PLATFORM_REVENUE: &str = "revenue:platform";

    /// What Cairn owes a creator, mentor, concierge or affiliate.
    pub fn payable(user: UserId) -> String {
        format!("liabilities:payable:{}", user.0)
    }

    /// The party a payable account belongs to.
    pub fn party_of(account: &str) -> Option<UserId> {
        account.strip_prefix("liabilities:payable:").and_then(|id| id.parse().ok()).map(UserId)
    }
}

/// One line of a ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub account: String,
    pub amount: i64,
}

impl Entry {
    pub fn new(account: impl Into<String>, amount: i64) -> Self {
        Entry { account: account.into(), amount }
    }
}

/// Whether the entries sum to zero (and there are some).
pub fn balanced(entries: &[Entry]) -> bool {
    !entries.is_empty() && entries.iter().map(|e| i128::from(e.amount)).sum::<i128>() == 0
}

/// The entries of a sale: cash and the processor's fee (an expense of the platform, which books
/// its revenue before it) on one side, the platform's revenue and the seller's (and affiliate's)
/// payable on the other. Zero lines are left out.
pub fn sale_entries(b: &Breakdown, seller: Option<super::UserId>, affiliate: Option<super::UserId>) -> Vec<Entry> {
    let mut platform = b.platform_fee + b.processor_fee;
    let mut lines = vec![
        Entry::new(account::CASH, b.gross - b.processor_fee),
        Entry::new(account::PROCESSOR_FEES, b.processor_fee),
    ];
    match seller {
        Some(s) => lines.push(Entry::new(account::payable(s), -b.seller)),
        None => platform += b.seller,
    }
    match affiliate {
        Some(a) => lines.push(Entry::new(account::payable(a), -b.affiliate)),
        None => platform += b.affiliate,
    }
    lines.push(Entry::new(account::PLATFORM_REVENUE, -platform));
    lines.retain(|e| e.amount != 0);
    lines
}

/// The entries that undo `entries` (a refund or a lost dispute).
pub fn reversal(entries: &[Entry]) -> Vec<Entry> {
    entries.iter().map(|e| Entry::new(e.account.clone(), -e.amount)).collect()
}

/// The entries that undo the part of a sale between `refunded_before` and `refunded_after` of its
/// `gross` (a partial refund or dispute; `0..gross` is the whole [`reversal`]). Each side of the
/// sale is split in proportion to its lines, so every part balances, and the parts of any sequence
/// of refunds up to the whole add up to the whole reversal, to the cent.
pub fn partial_reversal(entries: &[Entry], gross: i64, refunded_before: i64, refunded_after: i64) -> Vec<Entry> {
    let before = refunded_portion(entries, gross, refunded_before);
    let after = refunded_portion(entries, gross, refunded_after);
    entries
        .iter()
        .zip(after.iter().zip(&before))
        .map(|(e, (a, b))| Entry::new(e.account.clone(), b - a))
        .filter(|e| e.amount != 0)
        .collect()
}

/// The lines of `entries` that `refunded` of `gross` stands for (same order as `entries`).
fn refunded_portion(entries: &[Entry], gross: i64, refunded: i64) -> Vec<i64> {
    let side_total: i64 = entries.iter().map(|e| e.amount.max(0)).sum();
    let portion = if gross <= 0 || refunded >= gross {
        side_total
    } else {
        (i128::from(side_total) * i128::from(refunded.max(0)) / i128::from(gross)) as i64
    };
    let side = |positive: bool| -> Vec<u64> {
        entries.iter().map(|e| if (e.amount > 0) == positive { e.amount.unsigned_abs() } else { 0 }).collect()
    };
    let debits = split(portion, &side(true));
    let credits = split(-portion, &side(false));
    entries.iter().enumerate().map(|(i, e)| if e.amount > 0 { debits[i] } else { credits[i] }).collect()
}

/// A mentor's completed review or a concierge's completed session, paid from the creator's
/// balance: the creator's payable goes down by `rate`, the platform keeps `fee_bps` of it and the
/// helper receives the rest. Returns what the helper receives and the lines (none when it pays
/// nothing).
pub fn helper_pay_entries(creator: super::UserId, helper: super::UserId, rate: i64, fee_bps: u32) -> (i64, Vec<Entry>) {
    let fee = percent_of(rate, fee_bps);
    let paid = rate - fee;
    let mut lines = vec![
        Entry::new(account::payable(creator), rate),
        Entry::new(account::payable(helper), -paid),
        Entry::new(account::PLATFORM_REVENUE, -fee),
    ];
    lines.retain(|e| e.amount != 0);
    (paid, lines)
}

/// Paying a party out: their payable goes down, so does cash.
pub fn payout_entries(party: super::UserId, amount: i64) -> Vec<Entry> {
    vec![Entry::new(account::payable(party), amount), Entry::new(account::CASH, -amount)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    /// A small deterministic generator, so the property tests need no dependency.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn splits_always_sum_to_the_whole() {
        let mut r = Lcg(7);
        for _ in 0..20_000 {
            let total = (r.next() % 10_000_000) as i64 * if r.next().is_multiple_of(4) { -1 } else { 1 };
            let n = 1 + (r.next() % 6) as usize;
            let weights: Vec<u64> = (0..n).map(|_| r.next() % 10_001).collect();
            let parts = split(total, &weights);
            assert_eq!(parts.iter().sum::<i64>(), total, "{total} by {weights:?} gave {parts:?}");
            let sum: u64 = weights.iter().sum();
            if sum > 0 {
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = total as f64 * *w as f64 / sum as f64;
                    assert!((*p as f64 - exact).abs() < 1.0 + 1e-9, "{p} vs {exact}");
                }
            }
        }
        assert_eq!(split(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split(-100, &[1, 1, 1]), vec![-34, -33, -33]);
        assert_eq!(split(5, &[0, 0]), vec![5, 0]);
    }

    #[test]
    fn organizations_hold_the_seats_they_pay_for_within_the_plans_member_limit() {
        let plans: std::collections::HashMap<_, _> = default_plans().into_iter().collect();
        let (free, team, enterprise) = (&plans["free"], &plans["team"], &plans["enterprise"]);
        assert_eq!(free.seat_limit(1, 0), Some(5), "the free plan's member limit");
        assert_eq!(free.seat_limit(1, 3), Some(8), "plus a boost");
        assert_eq!(team.seat_limit(12, 0), Some(12));
        assert_eq!(team.seat_limit(2, 0), Some(5), "never fewer than the plan's minimum");
        assert_eq!(team.seat_limit(80, 0), Some(50), "never more than its member limit");
        assert_eq!(enterprise.seat_limit(120, 0), Some(120), "unlimited members, but seats are paid for");
        assert!(team.check_seats(5).is_ok() && team.check_seats(50).is_ok());
        assert_eq!(team.check_seats(4).unwrap_err().0, "Team is for 5 to 50 people.");
        assert_eq!(team.check_seats(51).unwrap_err().0, "Team is for 5 to 50 people.");
        assert_eq!(enterprise.check_seats(50).unwrap_err().0, "Enterprise is for 51 people or more.");
    }

    #[test]
    fn sales_never_lose_or_create_a_cent() {
        let mut r = Lcg(42);
        let seller = UserId(uuid::Uuid::from_u128(1));
        let affiliate = UserId(uuid::Uuid::from_u128(2));
        for _ in 0..20_000 {
            let gross = (r.next() % 5_000_000) as i64;
            let fee = card_fee(gross);
            let b = sale_breakdown(gross, fee, (r.next() % 10_001) as u32, (r.next() % 3_001) as u32);
            assert_eq!(b.processor_fee + b.platform_fee + b.seller + b.affiliate, gross, "{b:?}");
            assert!(b.platform_fee >= 0 && b.seller >= 0 && b.affiliate >= 0, "{b:?}");
            let entries = sale_entries(&b, Some(seller), r.next().is_multiple_of(2).then_some(affiliate));
            assert!(entries.is_empty() || balanced(&entries), "{entries:?}");
            let mut both = entries.clone();
            both.extend(reversal(&entries));
            assert_eq!(both.iter().map(|e| e.amount).sum::<i64>(), 0);
        }
    }

    #[test]
    fn partial_refunds_balance_and_add_up_to_the_whole_reversal() {
        let mut r = Lcg(99);
        let seller = UserId(uuid::Uuid::from_u128(1));
        let affiliate = UserId(uuid::Uuid::from_u128(2));
        for _ in 0..5_000 {
            let gross = 1 + (r.next() % 500_000) as i64;
            let b = sale_breakdown(gross, card_fee(gross), (r.next() % 10_001) as u32, (r.next() % 3_001) as u32);
            let sale = sale_entries(&b, Some(seller), r.next().is_multiple_of(2).then_some(affiliate));
            // A few refunds in increasing cumulative amounts, the last one the rest.
            let mut refunded = 0;
            let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
            while refunded < gross {
                let next = if r.next().is_multiple_of(3) {
                    gross
                } else {
                    (refunded + 1 + (r.next() % gross as u64) as i64 / 3).min(gross)
                };
                let part = partial_reversal(&sale, gross, refunded, next);
                assert!(part.is_empty() || balanced(&part), "{refunded}..{next} of {gross}: {part:?}");
                for e in part {
                    *totals.entry(e.account).or_default() += e.amount;
                }
                refunded = next;
            }
            let whole: std::collections::BTreeMap<String, i64> =
                reversal(&sale).into_iter().map(|e| (e.account, e.amount)).collect();
            totals.retain(|_, v| *v != 0);
            assert_eq!(totals, whole, "{gross}: {sale:?}");
        }
        // Half of a $10.00 sale with a $0.59 fee: half of each line, the odd cent where it is largest.
        let b = sale_breakdown(1_000, 59, 7_000, 0);
        let sale = sale_entries(&b, Some(seller), None);
        let half: i64 = partial_reversal(&sale, 1_000, 0, 500).iter().filter(|e| e.amount > 0).map(|e| e.amount).sum();
        assert_eq!(half, 500);
        assert_eq!(partial_reversal(&sale, 1_000, 0, 1_000), reversal(&sale));
        assert!(partial_reversal(&sale, 1_000, 300, 300).is_empty());
    }

    #[test]
    fn the_seeds_seventy_thirty_split() {
        let b = sale_breakdown(4_900, 0, CreatorTier::Bronze.share_bps(), 0);
        assert_eq!((b.seller, b.platform_fee), (3_430, 1_470));
        assert_eq!(CreatorTier::for_monthly_sales(99_999), CreatorTier::Bronze);
        assert_eq!(CreatorTier::for_monthly_sales(100_000), CreatorTier::Silver);
        assert_eq!(CreatorTier::for_monthly_sales(500_000), CreatorTier::Gold);
        let all = Bonuses { high_completion: true, high_rating: true, popular: true };
        assert_eq!(creator_share_bps(CreatorTier::Gold, all), 9_000);
        assert_eq!(creator_share_bps(CreatorTier::Bronze, all), 8_000);
        assert_eq!(card_fee(1_000), 59);
    }

    #[test]
    fn money_is_read_and_written_in_dollars() {
        assert_eq!(format_money(123_456_789), "$1,234,567.89");
        assert_eq!(format_money(-5), "-$0.05");
        assert_eq!(parse_money("19").unwrap(), 1_900);
        assert_eq!(parse_money("$1,900.5").unwrap(), 190_050);
        assert_eq!(parse_money(".99").unwrap(), 99);
        for bad in ["", "-1", "1.999", "abc", "1.2.3", "."] {
            assert!(parse_money(bad).is_err(), "{bad}");
        }
    }

    fn catalog() -> Vec<(String, PlanConfig)> {
        default_plans().into_iter().map(|(c, p)| (c.to_owned(), p)).collect()
    }

    #[test]
    fn the_entitlement_check_says_why_not_and_what_would_allow_it() {
        let plans = catalog();
        let free = &plans[0].1;
        let e = Entitlements::combine(&[(FREE_PLAN, free)], &[]);
        let denied = e.require(Need::Quota { quota: Quota::ActiveSequences, used: 2, adding: 1 }, &plans).unwrap_err();
        assert_eq!(denied.upgrade, Some(("premium".into(), "Premium".into())));
        assert!(denied.message.contains("allows 2 running sequences"), "{}", denied.message);
        assert!(!denied.refills);
        assert_eq!(e.require(Need::Quota { quota: Quota::ActiveSequences, used: 0, adding: 1 }, &plans), Ok(None));
        let warn = e.require(Need::Quota { quota: Quota::PersonalSequences, used: 2, adding: 1 }, &plans).unwrap();
        assert!(warn.unwrap().contains("3 of 3"));
        let denied = e.require(Need::Feature(Feature::PremiumSequences), &plans).unwrap_err();
        assert_eq!(denied.upgrade.unwrap().0, "premium");
        let denied =
            e.require(Need::Quota { quota: Quota::ApiRequestsPerDay, used: 1_000, adding: 1 }, &plans).unwrap_err();
        assert!(denied.refills);

        // A boost raises the limit; a second plan's larger limit wins; unlimited beats all.
        let boosted = Entitlements::combine(&[(FREE_PLAN, free)], &[Boost { quota: Quota::ActiveSequences, extra: 3 }]);
        assert_eq!(boosted.limits.max_active_sequences, Some(5));
        let both = Entitlements::combine(&[(FREE_PLAN, free), ("enterprise", &plans[4].1)], &[]);
        assert_eq!(both.limits.max_active_sequences, None);
        assert!(both.features.sso && both.features.premium_sequences);
        assert_eq!(both.features.analytics, "organization");
    }

    #[test]
    fn promo_codes_follow_their_rules() {
        let now = Utc::now();
        let rules = PromoRules {
            discount: Discount::Percent(25),
            duration: PromoDuration::Repeating(3),
            valid_from: None,
            valid_until: Some(now + chrono::Duration::days(1)),
            max_redemptions: Some(2),
            first_time_only: true,
            products: vec!["plan:premium".into()],
        };
        assert_eq!(rules.apply("plan:premium", 1_900, now, 0, false), Ok(475));
        assert!(rules.apply("plan:creator", 4_900, now, 0, false).is_err());
        assert!(rules.apply("plan:premium", 1_900, now, 2, false).is_err());
        assert!(rules.apply("plan:premium", 1_900, now, 0, true).is_err());
        assert!(rules.apply("plan:premium", 1_900, now + chrono::Duration::days(2), 0, false).is_err());
        assert!(PromoDuration::Repeating(3).applies_to(2) && !PromoDuration::Repeating(3).applies_to(3));
        assert_eq!(Discount::Amount(5_000).off(1_900), 1_900);
        assert_eq!(parse_promo_code(" launch-25 ").unwrap(), "LAUNCH-25");
        assert!(parse_promo_code("no way").is_err());
    }

    #[test]
    fn a_review_or_session_moves_its_rate_from_the_creator_to_the_helper_and_the_platform_to_the_cent() {
        let (creator, mentor) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        let (paid, lines) = helper_pay_entries(creator, mentor, 2_000, 1_500);
        assert_eq!(paid, 1_700);
        assert_eq!(
            lines,
            [
                Entry::new(account::payable(creator), 2_000),
                Entry::new(account::payable(mentor), -1_700),
                Entry::new(account::PLATFORM_REVENUE, -300),
            ]
        );
        let mut rng = Lcg(7);
        for _ in 0..1_000 {
            let rate = (rng.next() % 100_001) as i64;
            let bps = (rng.next() % 10_001) as u32;
            let (paid, lines) = helper_pay_entries(creator, mentor, rate, bps);
            assert!(rate == 0 || balanced(&lines), "{rate} at {bps}");
            assert!((0..=rate).contains(&paid));
        }
        assert_eq!(helper_pay_entries(creator, mentor, 0, 1_500), (0, vec![]));
    }

    #[test]
    fn upgrades_are_prorated_and_periods_end_on_the_same_day() {
        assert_eq!(proration(1_900, 4_900, 15, 30), 1_500);
        assert_eq!(proration(4_900, 1_900, 15, 30), 0);
        let jan31 = "2026-01-31T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(Interval::Month.after(jan31).to_rfc3339(), "2026-02-28T10:00:00+00:00");
        assert_eq!(Interval::Year.after(jan31).to_rfc3339(), "2027-01-31T10:00:00+00:00");
        let team = &catalog()[3].1;
        assert_eq!(team.price(Interval::Month, 3), Some(6_000));
        assert_eq!(team.price(Interval::Year, 3), None);
        for (_, p) in catalog() {
            assert!(p.check().is_ok());
        }
    }
}
