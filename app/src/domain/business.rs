//! The business dashboard's numbers: monthly recurring revenue and its movements from the plan
//! history, revenue from the ledger, and what follows from them (ARR, churn, ARPU, LTV). Pure
//! functions over plain records, so a hand-computed scenario checks them.

use super::{OrgId, UserId};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// An organization's plan and monthly recurring revenue from a moment on (a plan change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrrChange {
    pub org: OrgId,
    /// The plan after the change; `None` once it ended.
    pub plan: Option<String>,
    /// Monthly recurring revenue after the change, minor units (a yearly price counts a twelfth).
    pub mrr: i64,
    pub at: DateTime<Utc>,
}

/// One ledger transaction about a payment, with what the payment was for. Refunds and lost
/// disputes are negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    pub at: DateTime<Utc>,
    /// `plan:<code>`, `sequence:<id>`, a journey tier's product, or `help:review` /
    /// `help:session` for the journey fee kept on a paid mentor review or concierge session
    /// (no payment: `gross` 0).
    pub product: String,
    pub seller: Option<UserId>,
    /// What the customer paid (cash plus the processor's fee).
    pub gross: i64,
    /// Cairn's own share after the processor's fee.
    pub platform: i64,
    /// The seller's share.
    pub seller_share: i64,
}

/// A calendar month (UTC) of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    /// Recurring revenue at the end of the month (or now, for the current one).
    pub mrr: i64,
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churn: i64,
    /// Paying subscribers at the end of the month.
    pub subscribers: i64,
    /// Payments taken, refunds and disputes deducted.
    pub revenue: i64,
    pub refunds: i64,
    /// Cairn's share of the revenue after processor fees.
    pub platform: i64,
    pub ai_tokens: i64,
    pub ai_cost: i64,
}

impl MonthFigures {
    /// New plus expansion minus contraction and churn.
    pub fn net(&self) -> i64 {
        self.new + self.expansion - self.contraction - self.churn
    }
}

/// Revenue grouped by product, creator or plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueLine {
    /// The product key, the creator's id or the plan code.
    pub key: String,
    pub revenue: i64,
    pub platform: i64,
    pub seller_share: i64,
    pub payments: i64,
}

/// The headline numbers and the months behind them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub mrr: i64,
    pub arr: i64,
    pub subscribers: i64,
    /// Average recurring revenue per paying subscriber.
    pub arpu: i64,
    /// Subscribers lost in the last 30 days over those paying 30 days ago, in basis points;
    /// `None` when nobody was paying then.
    pub churn_bps: Option<i64>,
    /// ARPU over the monthly churn rate; `None` without churn to estimate it from.
    pub ltv: Option<i64>,
    /// Oldest month first.
    pub months: Vec<MonthFigures>,
    /// Largest revenue first.
    pub by_product: Vec<RevenueLine>,
    pub by_creator: Vec<RevenueLine>,
    pub by_plan: Vec<RevenueLine>,
    /// Paying subscribers and their recurring revenue per plan now, most revenue first.
    pub active_plans: Vec<PlanCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCount {
    pub plan: String,
    pub subscribers: i64,
    pub mrr: i64,
}

/// `YYYY-MM` of a moment.
pub fn month_of(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

/// The first instant of the month `back` months before `at`'s.
fn month_start(at: DateTime<Utc>, back: u32) -> DateTime<Utc> {
    let index = at.year() * 12 + at.month0() as i32 - back as i32;
    Utc.with_ymd_and_hms(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1, 0, 0, 0).single().unwrap_or(at)
}

/// What AI tokens cost at `per_million` minor units per million tokens, in millionths of a
/// minor unit: exact.
pub fn token_cost_micros(tokens: i64, per_million: i64) -> i64 {
    tokens.saturating_mul(per_million)
}

/// Millionths of a minor unit in minor units, rounded half up.
pub fn micros_to_minor(micros: i64) -> i64 {
    ((i128::from(micros) + 500_000) / 1_000_000) as i64
}

/// AI use in a month: tokens, and their cost in millionths of a minor unit (each call at the
/// rate in effect when it was made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiUse {
    pub tokens: i64,
    pub cost_micros: i64,
}

/// Computes the dashboard over the `months` calendar months up to `now` (the current one last).
/// `changes` and `revenue` may come in any order; `ai` is AI use per `YYYY-MM`.
pub fn figures(
    changes: &[MrrChange],
    revenue: &[Revenue],
    ai: &BTreeMap<String, AiUse>,
    now: DateTime<Utc>,
    months: u32,
) -> Figures {
    let months = months.max(1);
    let mut changes: Vec<&MrrChange> = changes.iter().filter(|c| c.at <= now).collect();
    changes.sort_by_key(|c| c.at);
    let first = month_start(now, months - 1);
    let mut rows: Vec<MonthFigures> = (0..months)
        .rev()
        .map(|back| MonthFigures { month: month_of(month_start(now, back)), ..Default::default() })
        .collect();
    let index: HashMap<String, usize> = rows.iter().enumerate().map(|(i, r)| (r.month.clone(), i)).collect();

    // Replays the plan history: each change moves one organization from its previous MRR.
    let mut plans: HashMap<OrgId, &str> = HashMap::new();
    let mut current: HashMap<OrgId, i64> = HashMap::new();
    let window_start = now - Duration::days(30);
    let mut paying_at_window_start = None;
    let mut churned_in_window = 0;
    let mut changes = changes.into_iter().peekable();
    for (i, row) in rows.iter_mut().enumerate() {
        let end = if i + 1 == months as usize { now } else { month_start(now, months - 2 - i as u32) };
        while let Some(c) = changes.next_if(|c| c.at < end || (i + 1 == months as usize && c.at <= end)) {
            if paying_at_window_start.is_none() && c.at > window_start {
                paying_at_window_start = Some(current.values().filter(|m| **m > 0).count() as i64);
            }
            let before = current.insert(c.org, c.mrr).unwrap_or(0);
            plans.insert(c.org, c.plan.as_deref().unwrap_or_default());
            let after = c.mrr;
            if before > 0 && after == 0 && c.at > window_start {
                churned_in_window += 1;
            }
            if c.at < first {
                continue;
            }
            match (before, after) {
                (0, a) if a > 0 => row.new += a,
                (b, 0) if b > 0 => row.churn += b,
                (b, a) if a > b => row.expansion += a - b,
                (b, a) if a < b => row.contraction += b - a,
                _ => {}
            }
        }
        row.mrr = current.values().sum();
        row.subscribers = current.values().filter(|m| **m > 0).count() as i64;
    }
    let paying_then = paying_at_window_start.unwrap_or_else(|| current.values().filter(|m| **m > 0).count() as i64);

    let mut by_product: BTreeMap<String, RevenueLine> = BTreeMap::new();
    let mut by_creator: BTreeMap<String, RevenueLine> = BTreeMap::new();
    let mut by_plan: BTreeMap<String, RevenueLine> = BTreeMap::new();
    for r in revenue.iter().filter(|r| r.at >= first && r.at <= now) {
        if let Some(&i) = index.get(&month_of(r.at)) {
            let row = &mut rows[i];
            row.revenue += r.gross;
            row.platform += r.platform;
            if r.gross < 0 {
                row.refunds -= r.gross;
            }
        }
        let add = |map: &mut BTreeMap<String, RevenueLine>, key: String| {
            let line = map.entry(key.clone()).or_insert_with(|| RevenueLine { key, ..Default::default() });
            line.revenue += r.gross;
            line.platform += r.platform;
            line.seller_share += r.seller_share;
            line.payments += r.gross.signum();
        };
        add(&mut by_product, r.product.clone());
        if let Some(seller) = r.seller {
            add(&mut by_creator, seller.0.to_string());
        }
        if let Some(plan) = r.product.strip_prefix("plan:") {
            add(&mut by_plan, plan.to_owned());
        }
    }
    for row in &mut rows {
        let used = ai.get(&row.month).copied().unwrap_or_default();
        row.ai_tokens = used.tokens;
        row.ai_cost = micros_to_minor(used.cost_micros);
    }

    let mrr: i64 = current.values().sum();
    let subscribers = current.values().filter(|m| **m > 0).count() as i64;
    let arpu = if subscribers > 0 { mrr / subscribers } else { 0 };
    let churn_bps = (paying_then > 0).then(|| churned_in_window * 10_000 / paying_then);
    let ltv = churn_bps.filter(|bps| *bps > 0).map(|bps| arpu * 10_000 / bps);
    let sorted = |map: BTreeMap<String, RevenueLine>| {
        let mut lines: Vec<RevenueLine> = map.into_values().collect();
        lines.sort_by(|a, b| b.revenue.cmp(&a.revenue).then_with(|| a.key.cmp(&b.key)));
        lines
    };
    let mut active: BTreeMap<&str, PlanCount> = BTreeMap::new();
    for (org, m) in current.iter().filter(|(_, m)| **m > 0) {
        let plan = plans.get(org).copied().unwrap_or_default();
        let count = active.entry(plan).or_insert_with(|| PlanCount { plan: plan.to_owned(), ..Default::default() });
        count.subscribers += 1;
        count.mrr += m;
    }
    let mut active_plans: Vec<PlanCount> = active.into_values().collect();
    active_plans.sort_by(|a, b| b.mrr.cmp(&a.mrr).then_with(|| a.plan.cmp(&b.plan)));
    Figures {
        active_plans,
        mrr,
        arr: mrr * 12,
        subscribers,
        arpu,
        churn_bps,
        ltv,
        months: rows,
        by_product: sorted(by_product),
        by_creator: sorted(by_creator),
        by_plan: sorted(by_plan),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn org(n: u128) -> OrgId {
        OrgId(Uuid::from_u128(n))
    }

    fn change(o: u128, plan: Option<&str>, mrr: i64, when: DateTime<Utc>) -> MrrChange {
        MrrChange { org: org(o), plan: plan.map(str::to_owned), mrr, at: when }
    }

    fn sale(when: DateTime<Utc>, product: &str, gross: i64, seller: Option<UserId>) -> Revenue {
        let seller_share = if seller.is_some() { gross * 70 / 100 } else { 0 };
        Revenue { at: when, product: product.into(), seller, gross, platform: gross - seller_share, seller_share }
    }

    /// Worked by hand:
    /// - September: A takes premium ($19), B creator ($49). MRR 68.
    /// - October: C takes premium yearly ($190 → 15.83), A upgrades to creator (+30), B cancels
    ///   at period end (no movement yet). MRR 49 + 49 + 15.83 = 113.83.
    /// - November 10 (inside the 30 days before Nov 25): B's plan ends (churn 49), C's yearly is
    ///   refunded on Nov 20 (churn 15.83); D takes premium (new 19); A downgrades to premium
    ///   (contraction 30). MRR 19 + 19 = 38.
    #[test]
    fn a_hand_computed_scenario() {
        let seller = UserId(Uuid::from_u128(9));
        let changes = vec![
            change(1, Some("premium"), 1_900, at(2026, 9, 3)),
            change(2, Some("creator"), 4_900, at(2026, 9, 10)),
            change(3, Some("premium"), 1_583, at(2026, 10, 1)),
            change(1, Some("creator"), 4_900, at(2026, 10, 5)),
            change(2, Some("creator"), 4_900, at(2026, 10, 20)), // canceled at period end
            change(2, None, 0, at(2026, 11, 10)),
            change(4, Some("premium"), 1_900, at(2026, 11, 12)),
            change(3, None, 0, at(2026, 11, 20)),
            change(1, Some("premium"), 1_900, at(2026, 11, 21)),
        ];
        let revenue = vec![
            sale(at(2026, 9, 3), "plan:premium", 1_900, None),
            sale(at(2026, 9, 10), "plan:creator", 4_900, None),
            sale(at(2026, 10, 1), "plan:premium", 19_000, None),
            sale(at(2026, 10, 5), "plan:creator", 3_000, None),
            sale(at(2026, 10, 8), "sequence:x", 4_900, Some(seller)),
            sale(at(2026, 11, 12), "plan:premium", 1_900, None),
            sale(at(2026, 11, 20), "plan:premium", -19_000, None),
        ];
        // 1,000,000 tokens at $1.00 per million, then 500,000 at $2.00.
        let ai = BTreeMap::from([(
            "2026-11".to_owned(),
            AiUse {
                tokens: 1_500_000,
                cost_micros: token_cost_micros(1_000_000, 100) + token_cost_micros(500_000, 200),
            },
        )]);
        let f = figures(&changes, &revenue, &ai, at(2026, 11, 25), 3);

        assert_eq!(f.months.iter().map(|m| m.month.as_str()).collect::<Vec<_>>(), ["2026-09", "2026-10", "2026-11"]);
        let [sep, oct, nov] = [&f.months[0], &f.months[1], &f.months[2]];
        assert_eq!(
            (sep.new, sep.expansion, sep.contraction, sep.churn, sep.mrr, sep.subscribers),
            (6_800, 0, 0, 0, 6_800, 2)
        );
        assert_eq!((oct.new, oct.expansion, oct.contraction, oct.churn, oct.mrr), (1_583, 3_000, 0, 0, 11_383));
        assert_eq!((nov.new, nov.expansion, nov.contraction, nov.churn, nov.mrr), (1_900, 0, 3_000, 6_483, 3_800));
        assert_eq!(nov.net(), 3_800 - 11_383);
        assert_eq!((sep.revenue, oct.revenue, nov.revenue), (6_800, 26_900, -17_100));
        assert_eq!(nov.refunds, 19_000);
        assert_eq!(oct.platform, 19_000 + 3_000 + 4_900 - 3_430);
        assert_eq!((nov.ai_tokens, nov.ai_cost), (1_500_000, 200));

        assert_eq!((f.mrr, f.arr, f.subscribers, f.arpu), (3_800, 45_600, 2, 1_900));
        // 30 days before Nov 25 (Oct 26) A, B and C were paying; B and C left since.
        assert_eq!(f.churn_bps, Some(6_666));
        assert_eq!(f.ltv, Some(1_900 * 10_000 / 6_666));

        assert_eq!(f.by_plan[0].key, "creator");
        assert_eq!((f.by_plan[0].revenue, f.by_plan[0].payments), (7_900, 2));
        assert_eq!((f.by_plan[1].key.as_str(), f.by_plan[1].revenue, f.by_plan[1].payments), ("premium", 3_800, 2));
        assert_eq!(f.active_plans, [PlanCount { plan: "premium".into(), subscribers: 2, mrr: 3_800 }]);
        assert_eq!(f.by_creator.len(), 1);
        assert_eq!((f.by_creator[0].revenue, f.by_creator[0].seller_share), (4_900, 3_430));
        assert_eq!(f.by_product.iter().map(|l| l.revenue).sum::<i64>(), 6_800 + 26_900 - 17_100);

        // The journey fee kept on a paid review: the platform's revenue, no payment.
        let fee = Revenue {
            at: at(2026, 11, 15),
            product: "help:review".into(),
            seller: None,
            gross: 0,
            platform: 300,
            seller_share: 0,
        };
        let with_fee = figures(&changes, &[revenue, vec![fee]].concat(), &ai, at(2026, 11, 25), 3);
        let nov_with_fee = &with_fee.months[2];
        assert_eq!((nov_with_fee.revenue, nov_with_fee.platform), (nov.revenue, nov.platform + 300));
        let help = with_fee.by_product.iter().find(|l| l.key == "help:review").expect("help line");
        assert_eq!((help.revenue, help.platform, help.seller_share, help.payments), (0, 300, 0, 0));
        assert_eq!(with_fee.by_creator, f.by_creator);
    }

    #[test]
    fn nothing_yet() {
        let f = figures(&[], &[], &BTreeMap::new(), at(2026, 1, 15), 12);
        assert_eq!(f.months.len(), 12);
        assert_eq!(f.months[0].month, "2025-02");
        assert_eq!((f.mrr, f.subscribers, f.arpu, f.churn_bps, f.ltv), (0, 0, 0, None, None));
    }

    #[test]
    fn history_before_the_window_sets_the_starting_mrr_without_counting_as_new() {
        let changes = vec![change(1, Some("premium"), 1_900, at(2025, 1, 1))];
        let f = figures(&changes, &[], &BTreeMap::new(), at(2026, 3, 1), 2);
        assert_eq!((f.months[0].new, f.months[0].mrr, f.months[1].mrr), (0, 1_900, 1_900));
    }

    #[test]
    fn token_costs_are_exact_and_round_half_up_once() {
        assert_eq!(micros_to_minor(token_cost_micros(0, 100)), 0);
        assert_eq!(micros_to_minor(token_cost_micros(4_999, 100)), 0);
        assert_eq!(micros_to_minor(token_cost_micros(5_000, 100)), 1);
        assert_eq!(micros_to_minor(token_cost_micros(1_000_000, 250)), 250);
        // A thousand calls of 3,000 tokens at $1.00 per million: 0.3¢ each, $3.00 in all.
        assert_eq!(micros_to_minor((0..1_000).map(|_| token_cost_micros(3_000, 100)).sum()), 300);
    }
}
