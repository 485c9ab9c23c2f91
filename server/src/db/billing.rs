//! Plans, plan subscriptions, prices, promo codes, checkouts, payments, boosts, the ledger and
//! payouts. Every movement of money is written with its balanced ledger transaction in the same
//! database transaction.

use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::billing::{
    Boost, Entry, Interval, Metric, PlanConfig, PlanStatus, PromoRules, Quota, UsageTotals, account, payout_entries,
};
use app::domain::business::Revenue;
use app::domain::{OrgId, UserId};
use app::ports::{
    AffiliateLinkRecord, AffiliateStats, BillingStore, BoostRecord, CheckoutRecord, ConnectAccountRecord,
    DiscountRecord, DisputeRecord, LedgerTx, PaymentFilter, PaymentRecord, PayoutBatchRecord, PayoutRecord,
    PlanChangeRecord, PlanRecord, PlanSubscriptionRecord, PriceRecord, PromoRecord, Settlement, StoreError,
    StripeEventRecord, UsageEventRecord,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::collections::BTreeMap;
use uuid::Uuid;

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn config(raw: &str) -> Result<PlanConfig> {
    serde_json::from_str(raw).map_err(|e| StoreError::Other(format!("unreadable plan: {e}")))
}

/// Inserts a ledger transaction and its lines, refusing one that does not balance.
macro_rules! book {
    ($tx:expr, $ledger:expr) => {{
        let l: &LedgerTx = $ledger;
        if !app::domain::billing::balanced(&l.entries) {
            return Err(StoreError::Invalid(format!("unbalanced ledger transaction {}", l.reference)));
        }
        sqlx::query(
            "INSERT INTO ledger_transactions (id, kind, reference, currency, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(l.id)
        .bind(&l.kind)
        .bind(&l.reference)
        .bind(&l.currency)
        .bind(l.created_at)
        .execute(&mut *$tx)
        .await
        .store()?;
        for (line, e) in l.entries.iter().enumerate() {
            sqlx::query("INSERT INTO ledger_entries (tx_id, line, account, amount) VALUES ($1, $2, $3, $4)")
                .bind(l.id)
                .bind(line as i32)
                .bind(&e.account)
                .bind(e.amount)
                .execute(&mut *$tx)
                .await
                .store()?;
        }
    }};
}
pub(super) use book;

macro_rules! save_subscription {
    ($tx:expr, $sub:expr, $change:expr) => {{
        let s: &PlanSubscriptionRecord = $sub;
        let c: &PlanChangeRecord = $change;
        sqlx::query(
            "INSERT INTO plan_subscriptions (org_id, plan_code, plan_version, billing_interval, seats, status, period_start, \
             period_end, cancel_at_period_end, promo_code, provider, provider_ref, paid_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (org_id) DO UPDATE SET plan_code = $2, plan_version = $3, billing_interval = $4, seats = $5, \
             status = $6, period_start = $7, period_end = $8, cancel_at_period_end = $9, promo_code = $10, provider = $11, \
             provider_ref = $12, paid_by = $13, updated_at = $15")
            .bind(s.org_id.0).bind(&s.plan_code).bind(s.plan_version).bind(s.interval.as_str()).bind(s.seats)
            .bind(s.status.as_str()).bind(s.period_start).bind(s.period_end).bind(s.cancel_at_period_end)
            .bind(s.promo_code.as_deref()).bind(&s.provider).bind(s.provider_ref.as_deref()).bind(s.paid_by.map(|u| u.0))
            .bind(s.created_at).bind(s.updated_at)
            .execute(&mut *$tx).await.store()?;
        record_change!($tx, c);
    }};
}

macro_rules! insert_payment {
    ($tx:expr, $payment:expr) => {{
        let p: &PaymentRecord = $payment;
        sqlx::query(
            "INSERT INTO payments (id, checkout_id, user_id, org_id, product, description, amount, currency, processor_fee, \
             platform_fee, seller_id, seller_share, status, provider, provider_ref, access_until, created_at, \
             affiliate_code, affiliate_share) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)")
            .bind(p.id).bind(p.checkout_id).bind(p.user_id.0).bind(p.org_id.0).bind(&p.product).bind(&p.description)
            .bind(p.amount).bind(&p.currency).bind(p.processor_fee).bind(p.platform_fee).bind(p.seller_id.map(|u| u.0))
            .bind(p.seller_share).bind(&p.status).bind(&p.provider).bind(p.provider_ref.as_deref()).bind(p.access_until)
            .bind(p.created_at).bind(p.affiliate_code.as_deref()).bind(p.affiliate_share)
            .execute(&mut *$tx).await.store()?;
    }};
}

macro_rules! record_change {
    ($tx:expr, $change:expr) => {{
        let c: &PlanChangeRecord = $change;
        sqlx::query(
            "INSERT INTO plan_changes (id, org_id, from_plan, to_plan, mrr_before, mrr_after, reason, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id)
        .bind(c.org_id.0)
        .bind(c.from_plan.as_deref())
        .bind(c.to_plan.as_deref())
        .bind(c.mrr_before)
        .bind(c.mrr_after)
        .bind(&c.reason)
        .bind(c.at)
        .execute(&mut *$tx)
        .await
        .store()?;
    }};
}

/// Records a dispute; evaluates to `false` when it is recorded already.
macro_rules! insert_dispute {
    ($tx:expr, $dispute:expr) => {{
        let d: &DisputeRecord = $dispute;
        sqlx::query(
            "INSERT INTO payment_disputes (id, payment_id, amount, status, opened_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&d.id)
        .bind(d.payment_id)
        .bind(d.amount)
        .bind(&d.status)
        .bind(d.opened_at)
        .bind(d.closed_at)
        .execute(&mut *$tx)
        .await
        .store()?
        .rows_affected()
            == 1
    }};
}

#[derive(FromRow)]
struct SubscriptionRow {
    org_id: Uuid,
    plan_code: String,
    plan_version: i32,
    billing_interval: String,
    seats: i64,
    status: String,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    cancel_at_period_end: bool,
    promo_code: Option<String>,
    provider: String,
    provider_ref: Option<String>,
    paid_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for PlanSubscriptionRecord {
    fn from(r: SubscriptionRow) -> Self {
        PlanSubscriptionRecord {
            org_id: OrgId(r.org_id),
            plan_code: r.plan_code,
            plan_version: r.plan_version,
            interval: Interval::parse(&r.billing_interval).unwrap_or(Interval::Month),
            seats: r.seats,
            status: PlanStatus::parse(&r.status),
            period_start: r.period_start,
            period_end: r.period_end,
            cancel_at_period_end: r.cancel_at_period_end,
            promo_code: r.promo_code,
            provider: r.provider,
            provider_ref: r.provider_ref,
            paid_by: r.paid_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow)]
struct PromoRow {
    id: Uuid,
    code: String,
    owner_id: Option<Uuid>,
    rules: String,
    redeemed: i64,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl PromoRow {
    fn record(self) -> Result<PromoRecord> {
        let rules: PromoRules =
            serde_json::from_str(&self.rules).map_err(|e| StoreError::Other(format!("unreadable promo code: {e}")))?;
        Ok(PromoRecord {
            id: self.id,
            code: self.code,
            owner_id: self.owner_id.map(UserId),
            rules,
            redeemed: self.redeemed,
            created_by: self.created_by.map(UserId),
            created_at: self.created_at,
        })
    }
}

const PROMO_SELECT: &str = "SELECT id, code, owner_id, rules, CAST(redeemed AS BIGINT) AS redeemed, created_by, created_at \
     FROM promo_codes";

#[derive(FromRow)]
struct CheckoutRow {
    id: Uuid,
    user_id: Uuid,
    org_id: Uuid,
    product: String,
    description: String,
    plan_version: Option<i32>,
    billing_interval: Option<String>,
    seats: i64,
    price: i64,
    discount: i64,
    amount: i64,
    currency: String,
    promo_code: Option<String>,
    provider: String,
    provider_ref: Option<String>,
    affiliate_code: Option<String>,
    status: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct PaymentRow {
    id: Uuid,
    checkout_id: Option<Uuid>,
    user_id: Uuid,
    org_id: Uuid,
    product: String,
    description: String,
    amount: i64,
    currency: String,
    processor_fee: i64,
    platform_fee: i64,
    seller_id: Option<Uuid>,
    seller_share: i64,
    affiliate_code: Option<String>,
    affiliate_share: i64,
    status: String,
    provider: String,
    provider_ref: Option<String>,
    access_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    refunded_at: Option<DateTime<Utc>>,
    refunded_amount: i64,
}

#[derive(FromRow)]
struct DisputeRow {
    id: String,
    payment_id: Uuid,
    amount: i64,
    status: String,
    opened_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl From<DisputeRow> for DisputeRecord {
    fn from(r: DisputeRow) -> Self {
        DisputeRecord {
            id: r.id,
            payment_id: r.payment_id,
            amount: r.amount,
            status: r.status,
            opened_at: r.opened_at,
            closed_at: r.closed_at,
        }
    }
}

impl From<PaymentRow> for PaymentRecord {
    fn from(r: PaymentRow) -> Self {
        PaymentRecord {
            id: r.id,
            checkout_id: r.checkout_id,
            user_id: UserId(r.user_id),
            org_id: OrgId(r.org_id),
            product: r.product,
            description: r.description,
            amount: r.amount,
            currency: r.currency,
            processor_fee: r.processor_fee,
            platform_fee: r.platform_fee,
            seller_id: r.seller_id.map(UserId),
            seller_share: r.seller_share,
            affiliate_code: r.affiliate_code,
            affiliate_share: r.affiliate_share,
            status: r.status,
            provider: r.provider,
            provider_ref: r.provider_ref,
            access_until: r.access_until,
            created_at: r.created_at,
            refunded_at: r.refunded_at,
            refunded: r.refunded_amount,
        }
    }
}

const PAYMENT_SELECT: &str = "SELECT id, checkout_id, user_id, org_id, product, description, amount, currency, processor_fee, \
     platform_fee, seller_id, seller_share, affiliate_code, CAST(affiliate_share AS BIGINT) AS affiliate_share, status, provider, \
     provider_ref, access_until, created_at, refunded_at, CAST(refunded_amount AS BIGINT) AS refunded_amount FROM payments";

#[derive(FromRow)]
struct PayoutRow {
    id: Uuid,
    batch_id: Uuid,
    party_id: Uuid,
    display_name: String,
    email: String,
    amount: i64,
    currency: String,
    status: String,
    created_at: DateTime<Utc>,
    provider_ref: Option<String>,
    error: Option<String>,
    attempts: i32,
}

impl From<PayoutRow> for PayoutRecord {
    fn from(r: PayoutRow) -> Self {
        PayoutRecord {
            id: r.id,
            batch_id: r.batch_id,
            party_id: UserId(r.party_id),
            party_name: r.display_name,
            party_email: r.email,
            amount: r.amount,
            currency: r.currency,
            status: r.status,
            created_at: r.created_at,
            provider_ref: r.provider_ref,
            error: r.error,
            attempts: r.attempts,
        }
    }
}

const PAYOUT_SELECT: &str = "SELECT p.id, p.batch_id, p.party_id, u.display_name, u.email, p.amount, p.currency, p.status, \
     p.created_at, p.provider_ref, p.error, p.attempts FROM payouts p JOIN users u ON u.id = p.party_id";

#[derive(FromRow)]
struct ConnectRow {
    user_id: Uuid,
    account_id: String,
    details_submitted: bool,
    payouts_enabled: bool,
    last_payout_status: Option<String>,
    last_payout_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl From<ConnectRow> for ConnectAccountRecord {
    fn from(r: ConnectRow) -> Self {
        ConnectAccountRecord {
            user_id: UserId(r.user_id),
            account_id: r.account_id,
            details_submitted: r.details_submitted,
            payouts_enabled: r.payouts_enabled,
            last_payout_status: r.last_payout_status,
            last_payout_at: r.last_payout_at,
            updated_at: r.updated_at,
        }
    }
}

const CONNECT_SELECT: &str = "SELECT user_id, account_id, details_submitted, payouts_enabled, last_payout_status, \
     last_payout_at, updated_at FROM stripe_connect_accounts";

const PRICE_SELECT: &str = "SELECT product, org_id, seller_id, amount, currency, recurring, \
    CAST(affiliate_bps AS BIGINT), updated_at FROM prices";

type PriceRow = (String, Uuid, Uuid, i64, String, Option<String>, i64, DateTime<Utc>);

fn price_record(
    (product, org, seller, amount, currency, recurring, affiliate_bps, updated_at): PriceRow,
) -> PriceRecord {
    PriceRecord {
        product,
        org_id: OrgId(org),
        seller_id: UserId(seller),
        amount,
        currency,
        recurring: recurring.and_then(|r| Interval::parse(&r).ok()),
        affiliate_bps: u32::try_from(affiliate_bps).unwrap_or(0),
        updated_at,
    }
}

#[async_trait]
impl BillingStore for Db {
    async fn ensure_plans(&self, defaults: &[(&str, PlanConfig)], at: DateTime<Utc>) -> Result<()> {
        for (code, config) in defaults {
            on_pool!(self, pool => sqlx::query(
                "INSERT INTO plans (code, version, config, created_at) SELECT $1, 1, $2, $3 \
                 WHERE NOT EXISTS (SELECT 1 FROM plans WHERE code = $1) ON CONFLICT DO NOTHING")
                .bind(*code).bind(json(config)).bind(at).execute(pool).await.store().map(|_| ())?);
        }
        Ok(())
    }

    async fn plans(&self) -> Result<Vec<PlanRecord>> {
        let rows: Vec<(String, i32, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT p.code, p.version, p.config, p.created_at FROM plans p \
             WHERE p.version = (SELECT MAX(q.version) FROM plans q WHERE q.code = p.code)")
            .fetch_all(pool).await.store()?);
        let mut plans = rows
            .into_iter()
            .map(|(code, version, raw, created_at)| Ok(PlanRecord { code, version, config: config(&raw)?, created_at }))
            .collect::<Result<Vec<_>>>()?;
        plans.sort_by(|a, b| a.config.rank.cmp(&b.config.rank).then(a.code.cmp(&b.code)));
        Ok(plans)
    }

    async fn plan(&self, code: &str, version: Option<i32>) -> Result<Option<PlanRecord>> {
        let row: Option<(String, i32, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT code, version, config, created_at FROM plans WHERE code = $1 AND ($2 IS NULL OR version = $2) \
             ORDER BY version DESC LIMIT 1")
            .bind(code).bind(version).fetch_optional(pool).await.store()?);
        row.map(|(code, version, raw, created_at)| Ok(PlanRecord { code, version, config: config(&raw)?, created_at }))
            .transpose()
    }

    async fn add_plan_version(&self, code: &str, plan: &PlanConfig, by: UserId, at: DateTime<Utc>) -> Result<i32> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let (next,): (i32,) = sqlx::query_as("SELECT CAST(COALESCE(MAX(version), 0) + 1 AS INTEGER) FROM plans WHERE code = $1")
                .bind(code).fetch_one(&mut *tx).await.store()?;
            sqlx::query("INSERT INTO plans (code, version, config, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(code).bind(next).bind(json(plan)).bind(by.0).bind(at).execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            Ok(next)
        })
    }

    async fn plan_subscriptions(&self, orgs: &[OrgId]) -> Result<Vec<PlanSubscriptionRecord>> {
        let mut out = Vec::new();
        for org in orgs {
            let row: Option<SubscriptionRow> = on_pool!(self, pool => sqlx::query_as(
                "SELECT org_id, plan_code, plan_version, billing_interval, CAST(seats AS BIGINT) AS seats, status, \
                 period_start, period_end, cancel_at_period_end, promo_code, provider, provider_ref, paid_by, created_at, \
                 updated_at FROM plan_subscriptions WHERE org_id = $1")
                .bind(org.0).fetch_optional(pool).await.store()?);
            out.extend(row.map(Into::into));
        }
        Ok(out)
    }

    async fn save_plan_subscription(&self, sub: &PlanSubscriptionRecord, change: &PlanChangeRecord) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            save_subscription!(tx, sub, change);
            tx.commit().await.store()
        })
    }

    async fn due_plan_renewals(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PlanSubscriptionRecord>> {
        let rows: Vec<SubscriptionRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT org_id, plan_code, plan_version, billing_interval, CAST(seats AS BIGINT) AS seats, status, \
             period_start, period_end, cancel_at_period_end, promo_code, provider, provider_ref, paid_by, created_at, \
             updated_at FROM plan_subscriptions WHERE provider = 'builtin' AND status IN ('active', 'trialing') \
             AND period_end <= $1 ORDER BY period_end LIMIT $2")
            .bind(now).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn roll_plan(
        &self,
        next: &PlanSubscriptionRecord,
        expected_end: DateTime<Utc>,
        payment: Option<(&PaymentRecord, &LedgerTx)>,
        change: Option<&PlanChangeRecord>,
    ) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let moved = sqlx::query(
                "UPDATE plan_subscriptions SET status = $2, period_start = $3, period_end = $4, provider_ref = $5, \
                 updated_at = $6 WHERE org_id = $1 AND period_end = $7 AND status IN ('active', 'trialing', 'past_due')")
                .bind(next.org_id.0).bind(next.status.as_str()).bind(next.period_start).bind(next.period_end)
                .bind(next.provider_ref.as_deref()).bind(next.updated_at).bind(expected_end)
                .execute(&mut *tx).await.store()?.rows_affected();
            if moved == 0 {
                return Ok(false);
            }
            if let Some((p, ledger)) = payment {
                insert_payment!(tx, p);
                book!(tx, ledger);
            }
            if let Some(c) = change {
                record_change!(tx, c);
            }
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn record_stripe_event(&self, e: &StripeEventRecord, at: DateTime<Utc>) -> Result<bool> {
        let n = on_pool!(self, pool => sqlx::query(
            "INSERT INTO stripe_events (id, event_type, created, payload, received_at, due_at, object_id) \
             VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (id) DO NOTHING")
            .bind(&e.id).bind(&e.event_type).bind(e.created).bind(&e.payload).bind(at).bind(e.object_id.as_deref())
            .execute(pool).await.store()?.rows_affected());
        Ok(n > 0)
    }

    async fn claim_stripe_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<StripeEventRecord>> {
        // Several instances share the work: PostgreSQL skips rows another has locked; SQLite has
        // one writer at a time.
        let lock = match self {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "SELECT id, event_type, CAST(created AS BIGINT), payload, CAST(attempts AS INTEGER), object_id FROM stripe_events \
             WHERE due_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) ORDER BY created, id LIMIT $2{lock}"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let rows: Vec<(String, String, i64, String, i32, Option<String>)> =
                sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(&mut *tx).await.store()?;
            for (id, ..) in &rows {
                sqlx::query("UPDATE stripe_events SET locked_until = $2, attempts = attempts + 1 WHERE id = $1")
                    .bind(id).bind(lease_until).execute(&mut *tx).await.store()?;
            }
            tx.commit().await.store()?;
            Ok(rows
                .into_iter()
                .map(|(id, event_type, created, payload, attempts, object_id)| StripeEventRecord {
                    id,
                    event_type,
                    created,
                    payload,
                    attempts: attempts + 1,
                    object_id,
                })
                .collect())
        })
    }

    async fn finish_stripe_event(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let processed = retry_at.is_none().then_some(at);
        on_pool!(self, pool => sqlx::query(
            "UPDATE stripe_events SET locked_until = NULL, last_error = $2, due_at = $3, processed_at = $4 WHERE id = $1")
            .bind(id).bind(error).bind(retry_at).bind(processed)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn payment_by_provider_ref(&self, provider: &str, provider_ref: &str) -> Result<Option<PaymentRecord>> {
        let sql = format!("{PAYMENT_SELECT} WHERE provider = $1 AND provider_ref = $2 ORDER BY created_at LIMIT 1");
        let row: Option<PaymentRow> = on_pool!(self, pool => sqlx::query_as(&sql).bind(provider).bind(provider_ref).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn boosts(&self, orgs: &[OrgId], now: DateTime<Utc>) -> Result<Vec<BoostRecord>> {
        let mut out = Vec::new();
        for org in orgs {
            let rows: Vec<(Uuid, String, i64, String, DateTime<Utc>, Option<Uuid>, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
                "SELECT id, quota, CAST(extra AS BIGINT), reason, expires_at, created_by, created_at FROM quota_boosts \
                 WHERE org_id = $1 AND expires_at > $2 ORDER BY created_at")
                .bind(org.0).bind(now).fetch_all(pool).await.store()?);
            for (id, quota, extra, reason, expires_at, created_by, created_at) in rows {
                let Ok(quota) = Quota::parse(&quota) else { continue };
                out.push(BoostRecord {
                    id,
                    org_id: *org,
                    boost: Boost { quota, extra },
                    reason,
                    expires_at,
                    created_by: created_by.map(UserId),
                    created_at,
                });
            }
        }
        Ok(out)
    }

    async fn add_boost(&self, b: &BoostRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO quota_boosts (id, org_id, quota, extra, reason, expires_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(b.id).bind(b.org_id.0).bind(b.boost.quota.key()).bind(b.boost.extra).bind(&b.reason)
            .bind(b.expires_at).bind(b.created_by.map(|u| u.0)).bind(b.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn price(&self, product: &str) -> Result<Option<PriceRecord>> {
        let sql = format!("{PRICE_SELECT} WHERE product = $1");
        let row: Option<PriceRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(product).fetch_optional(pool).await.store()?);
        Ok(row.map(price_record))
    }

    async fn prices_starting(&self, org: OrgId, prefix: &str) -> Result<Vec<PriceRecord>> {
        // Product keys are Cairn's own (`journey:<uuid>:…`): no wildcards to escape.
        let sql = format!("{PRICE_SELECT} WHERE org_id = $1 AND product LIKE $2 ORDER BY product");
        let rows: Vec<PriceRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(org.0).bind(format!("{prefix}%")).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(price_record).collect())
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT value FROM platform_settings WHERE key = $1")
            .bind(key).fetch_optional(pool).await.store()?);
        Ok(row.map(|(v,)| v))
    }

    async fn set_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO platform_settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3")
            .bind(key).bind(value).bind(at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn set_price(&self, p: &PriceRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO prices (product, org_id, seller_id, amount, currency, recurring, updated_at, affiliate_bps) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (product) DO UPDATE SET amount = $4, currency = $5, \
             recurring = $6, updated_at = $7")
            .bind(&p.product).bind(p.org_id.0).bind(p.seller_id.0).bind(p.amount).bind(&p.currency)
            .bind(p.recurring.map(|r| r.as_str())).bind(p.updated_at).bind(i64::from(p.affiliate_bps))
            .execute(pool).await.store().map(|_| ()))
    }

    async fn remove_price(&self, product: &str) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM prices WHERE product = $1")
            .bind(product).execute(pool).await.store().map(|_| ()))
    }

    async fn create_promo(&self, p: &PromoRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO promo_codes (id, code, owner_id, rules, redeemed, created_by, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6)")
            .bind(p.id).bind(&p.code).bind(p.owner_id.map(|u| u.0)).bind(json(&p.rules))
            .bind(p.created_by.map(|u| u.0)).bind(p.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn promo(&self, code: &str) -> Result<Option<PromoRecord>> {
        let sql = format!("{PROMO_SELECT} WHERE code = $1 AND archived_at IS NULL");
        let row: Option<PromoRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(code).fetch_optional(pool).await.store()?);
        row.map(PromoRow::record).transpose()
    }

    async fn promos(&self, owner: Option<UserId>) -> Result<Vec<PromoRecord>> {
        let sql = format!(
            "{PROMO_SELECT} WHERE archived_at IS NULL AND (($1 IS NULL AND owner_id IS NULL) OR owner_id = $1) \
             ORDER BY created_at DESC"
        );
        let rows: Vec<PromoRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(owner.map(|u| u.0)).fetch_all(pool).await.store()?);
        rows.into_iter().map(PromoRow::record).collect()
    }

    async fn create_checkout(&self, c: &CheckoutRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO checkouts (id, user_id, org_id, product, description, plan_version, billing_interval, seats, price, \
             discount, amount, currency, promo_code, provider, provider_ref, status, created_at, expires_at, affiliate_code) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)")
            .bind(c.id).bind(c.user_id.0).bind(c.org_id.0).bind(&c.product).bind(&c.description).bind(c.plan_version)
            .bind(c.interval.map(|i| i.as_str())).bind(c.seats).bind(c.price).bind(c.discount).bind(c.amount)
            .bind(&c.currency).bind(c.promo_code.as_deref()).bind(&c.provider).bind(c.provider_ref.as_deref())
            .bind(&c.status).bind(c.created_at).bind(c.expires_at).bind(c.affiliate_code.as_deref())
            .execute(pool).await.store().map(|_| ()))
    }

    async fn checkout(&self, id: Uuid) -> Result<Option<CheckoutRecord>> {
        let row: Option<CheckoutRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, user_id, org_id, product, description, plan_version, billing_interval, CAST(seats AS BIGINT) AS seats, \
             price, discount, amount, currency, promo_code, provider, provider_ref, affiliate_code, status, created_at, \
             expires_at, completed_at FROM checkouts WHERE id = $1")
            .bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(|r| CheckoutRecord {
            id: r.id,
            user_id: UserId(r.user_id),
            org_id: OrgId(r.org_id),
            product: r.product,
            description: r.description,
            plan_version: r.plan_version,
            interval: r.billing_interval.and_then(|i| Interval::parse(&i).ok()),
            seats: r.seats,
            price: r.price,
            discount: r.discount,
            amount: r.amount,
            currency: r.currency,
            promo_code: r.promo_code,
            provider: r.provider,
            provider_ref: r.provider_ref,
            affiliate_code: r.affiliate_code,
            status: r.status,
            created_at: r.created_at,
            expires_at: r.expires_at,
            completed_at: r.completed_at,
        }))
    }

    async fn settle_checkout(&self, s: &Settlement, at: DateTime<Utc>) -> Result<bool> {
        let p = &s.payment;
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let closed = sqlx::query("UPDATE checkouts SET status = 'paid', completed_at = $2 WHERE id = $1 AND status = 'open'")
                .bind(s.checkout_id).bind(at).execute(&mut *tx).await.store()?.rows_affected();
            if closed == 0 {
                return Ok(false);
            }
            if let Some((code, max)) = &s.promo {
                let redeemed = sqlx::query(
                    "UPDATE promo_codes SET redeemed = redeemed + 1 WHERE code = $1 AND ($2 IS NULL OR redeemed < $2)")
                    .bind(code).bind(*max).execute(&mut *tx).await.store()?.rows_affected();
                if redeemed == 0 {
                    return Err(StoreError::Conflict("This code has been used up.".into()));
                }
            }
            insert_payment!(tx, p);
            book!(tx, &s.ledger);
            if let Some((sub, change)) = &s.subscription {
                save_subscription!(tx, sub, change);
            }
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn payments(&self, f: &PaymentFilter) -> Result<Vec<PaymentRecord>> {
        let sql = format!(
            "{PAYMENT_SELECT} WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR seller_id = $2) \
             AND ($3 IS NULL OR org_id = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows: Vec<PaymentRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(f.user.map(|u| u.0)).bind(f.seller.map(|u| u.0)).bind(f.org.map(|o| o.0)).bind(f.limit)
            .fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn count_payments(&self, org: OrgId, product: &str, before: Option<DateTime<Utc>>) -> Result<i64> {
        let n: i64 = on_pool!(self, pool => sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM payments \
                 WHERE org_id = $1 AND product = $2 AND ($3 IS NULL OR created_at < $3)")
                .bind(org.0).bind(product).bind(before)
                .fetch_one(pool).await.store()?);
        Ok(n)
    }

    async fn payment(&self, id: Uuid) -> Result<Option<PaymentRecord>> {
        let sql = format!("{PAYMENT_SELECT} WHERE id = $1");
        let row: Option<PaymentRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn refund_payment(
        &self,
        id: Uuid,
        refunded: (i64, i64),
        reversal: &LedgerTx,
        dispute: Option<&DisputeRecord>,
        cancel: Option<&PlanChangeRecord>,
    ) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            // Only from the amount the caller saw: a concurrent refund makes this one start over.
            let done = sqlx::query(
                "UPDATE payments SET refunded_amount = $4, refunded_at = $2, \
                 status = CASE WHEN $4 >= amount THEN 'refunded' ELSE status END \
                 WHERE id = $1 AND status = 'paid' AND refunded_amount = $3")
                .bind(id).bind(reversal.created_at).bind(refunded.0).bind(refunded.1)
                .execute(&mut *tx).await.store()?.rows_affected();
            if done == 0 {
                return Ok(false);
            }
            book!(tx, reversal);
            if let Some(d) = dispute
                && !insert_dispute!(tx, d)
            {
                return Ok(false);
            }
            if let Some(c) = cancel {
                sqlx::query("UPDATE plan_subscriptions SET status = 'canceled', updated_at = $2 WHERE org_id = $1")
                    .bind(c.org_id.0).bind(c.at).execute(&mut *tx).await.store()?;
                record_change!(tx, c);
            }
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn record_dispute(&self, dispute: &DisputeRecord) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let inserted = insert_dispute!(tx, dispute);
            tx.commit().await.store()?;
            Ok(inserted)
        })
    }

    async fn dispute(&self, id: &str) -> Result<Option<DisputeRecord>> {
        let row: Option<DisputeRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, payment_id, amount, status, opened_at, closed_at FROM payment_disputes WHERE id = $1")
            .bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn close_dispute(
        &self,
        id: &str,
        status: &str,
        at: DateTime<Utc>,
        reinstate: Option<((i64, i64), &LedgerTx)>,
    ) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let payment: Option<(Uuid,)> = sqlx::query_as(
                "UPDATE payment_disputes SET status = $2, closed_at = $3 WHERE id = $1 AND status = 'open' \
                 RETURNING payment_id")
                .bind(id).bind(status).bind(at).fetch_optional(&mut *tx).await.store()?;
            let Some((payment,)) = payment else { return Ok(false) };
            if let Some(((from, to), reinstatement)) = reinstate {
                // Only from the amount the caller saw, as a refund does.
                let done = sqlx::query(
                    "UPDATE payments SET refunded_amount = $3, status = 'paid', \
                     refunded_at = CASE WHEN $3 = 0 THEN NULL ELSE refunded_at END \
                     WHERE id = $1 AND refunded_amount = $2")
                    .bind(payment).bind(from).bind(to).execute(&mut *tx).await.store()?.rows_affected();
                if done == 0 {
                    return Ok(false);
                }
                book!(tx, reinstatement);
            }
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn paid_products_starting(&self, user: UserId, prefix: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT DISTINCT product FROM payments WHERE user_id = $1 AND product LIKE $2 AND status = 'paid' \
             AND (access_until IS NULL OR access_until > $3) ORDER BY product")
            .bind(user.0).bind(format!("{prefix}%")).bind(now).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(|(product,)| product).collect())
    }

    async fn has_paid(&self, user: UserId, product: Option<&str>, now: DateTime<Utc>) -> Result<bool> {
        let row: Option<(i32,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT 1 FROM payments WHERE user_id = $1 AND ($2 IS NULL OR product = $2) AND status = 'paid' \
             AND (access_until IS NULL OR access_until > $3) LIMIT 1")
            .bind(user.0).bind(product).bind(now).fetch_optional(pool).await.store()?);
        Ok(row.is_some())
    }

    async fn ledger_sums(&self, prefix: &str) -> Result<Vec<(String, i64)>> {
        // Account names are Cairn's own (`account::*`): no wildcards to escape.
        let pattern = format!("{prefix}%");
        on_pool!(self, pool => sqlx::query_as(
            "SELECT account, CAST(SUM(amount) AS BIGINT) FROM ledger_entries WHERE account LIKE $1 \
             GROUP BY account ORDER BY account")
            .bind(pattern).fetch_all(pool).await.store())
    }

    async fn ledger_entries(&self, reference: &str) -> Result<Vec<LedgerTx>> {
        let rows: Vec<(Uuid, String, String, DateTime<Utc>, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT t.id, t.kind, t.currency, t.created_at, e.account, e.amount FROM ledger_transactions t \
             JOIN ledger_entries e ON e.tx_id = t.id WHERE t.reference = $1 ORDER BY t.created_at, t.id, e.line")
            .bind(reference).fetch_all(pool).await.store()?);
        let mut out: Vec<LedgerTx> = Vec::new();
        for (id, kind, currency, created_at, account, amount) in rows {
            match out.last_mut() {
                Some(tx) if tx.id == id => tx.entries.push(Entry { account, amount }),
                _ => out.push(LedgerTx {
                    id,
                    kind,
                    reference: reference.to_owned(),
                    currency,
                    created_at,
                    entries: vec![Entry { account, amount }],
                }),
            }
        }
        Ok(out)
    }

    async fn seller_sales_since(&self, seller: UserId, since: DateTime<Utc>) -> Result<i64> {
        let (sum,): (Option<i64>,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(SUM(amount) AS BIGINT) FROM payments WHERE seller_id = $1 AND created_at >= $2 AND status = 'paid'")
            .bind(seller.0).bind(since).fetch_one(pool).await.store()?);
        Ok(sum.unwrap_or(0))
    }

    async fn create_payout_batch(&self, batch: &PayoutBatchRecord, at: DateTime<Utc>) -> Result<Vec<PayoutRecord>> {
        // Two admins paying out at once must not pay anyone twice: PostgreSQL serializes batches
        // with a table lock, SQLite's write transaction already does.
        let lock = match self {
            Db::Postgres(_) => "LOCK TABLE payout_batches IN EXCLUSIVE MODE",
            Db::Sqlite(_) => "SELECT 1",
        };
        let pattern = "liabilities:payable:%";
        let made: Vec<Uuid> = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query(lock).execute(&mut *tx).await.store()?;
            let owed: Vec<(String, i64)> = sqlx::query_as(
                "SELECT account, CAST(SUM(amount) AS BIGINT) FROM ledger_entries WHERE account LIKE $1 GROUP BY account ORDER BY account")
                .bind(pattern).fetch_all(&mut *tx).await.store()?;
            let due: Vec<(UserId, i64)> = owed
                .into_iter()
                .filter_map(|(acct, sum)| Some((account::party_of(&acct)?, -sum)))
                .filter(|(_, amount)| *amount > 0 && *amount >= batch.minimum)
                .collect();
            if due.is_empty() {
                return Ok(Vec::new());
            }
            sqlx::query("INSERT INTO payout_batches (id, method, minimum, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(batch.id).bind(&batch.method).bind(batch.minimum).bind(batch.created_by.map(|u| u.0)).bind(at)
                .execute(&mut *tx).await.store()?;
            let mut ids = Vec::new();
            for (party, amount) in due {
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO payouts (id, batch_id, party_id, amount, currency, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6)")
                    .bind(id).bind(batch.id).bind(party.0).bind(amount).bind(app::domain::billing::CURRENCY).bind(at)
                    .execute(&mut *tx).await.store()?;
                let ledger = LedgerTx {
                    id: Uuid::now_v7(),
                    kind: "payout".into(),
                    reference: format!("payout:{id}"),
                    currency: app::domain::billing::CURRENCY.into(),
                    created_at: at,
                    entries: payout_entries(party, amount),
                };
                book!(tx, &ledger);
                ids.push(id);
            }
            tx.commit().await.store()?;
            ids
        });
        let all = self.payouts(None, Some(batch.id)).await?;
        Ok(all.into_iter().filter(|p| made.contains(&p.id)).collect())
    }

    async fn payout_batches(&self) -> Result<Vec<PayoutBatchRecord>> {
        let rows: Vec<(Uuid, String, i64, Option<Uuid>, DateTime<Utc>, i64, Option<i64>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT b.id, b.method, b.minimum, b.created_by, b.created_at, COUNT(p.id), CAST(SUM(p.amount) AS BIGINT) \
             FROM payout_batches b LEFT JOIN payouts p ON p.batch_id = b.id \
             GROUP BY b.id, b.method, b.minimum, b.created_by, b.created_at ORDER BY b.created_at DESC LIMIT 100")
            .fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, method, minimum, created_by, created_at, payouts, total)| PayoutBatchRecord {
                id,
                method,
                minimum,
                created_by: created_by.map(UserId),
                created_at,
                payouts,
                total: total.unwrap_or(0),
            })
            .collect())
    }

    async fn payouts(&self, party: Option<UserId>, batch: Option<Uuid>) -> Result<Vec<PayoutRecord>> {
        let sql = format!(
            "{PAYOUT_SELECT} WHERE ($1 IS NULL OR p.party_id = $1) AND ($2 IS NULL OR p.batch_id = $2) \
             ORDER BY p.created_at DESC, u.email LIMIT 1000"
        );
        let rows: Vec<PayoutRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(party.map(|u| u.0)).bind(batch).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }
    async fn plan_history(&self) -> Result<Vec<PlanChangeRecord>> {
        let rows: Vec<(Uuid, Uuid, Option<String>, Option<String>, i64, i64, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
                "SELECT id, org_id, from_plan, to_plan, mrr_before, mrr_after, reason, at FROM plan_changes ORDER BY at, id")
                .fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, org, from_plan, to_plan, mrr_before, mrr_after, reason, at)| PlanChangeRecord {
                id,
                org_id: OrgId(org),
                from_plan,
                to_plan,
                mrr_before,
                mrr_after,
                reason,
                at,
            })
            .collect())
    }

    async fn revenue_since(&self, since: DateTime<Utc>) -> Result<Vec<Revenue>> {
        let lines: Vec<(Uuid, String, DateTime<Utc>, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT t.id, t.reference, t.created_at, e.account, e.amount FROM ledger_transactions t \
             JOIN ledger_entries e ON e.tx_id = t.id WHERE t.created_at >= $1 AND t.kind IN ('sale', 'plan', 'refund', 'reinstated', 'review', 'session') \
             ORDER BY t.created_at, t.id, e.line")
            .bind(since).fetch_all(pool).await.store()?);
        // One transaction's lines, summed into what the customer paid and who got what. A paid
        // review or session moves money from the creator to the helper and keeps the journey fee:
        // revenue for the platform without a payment (product `help:review` / `help:session`).
        let mut txs: Vec<(Uuid, Option<Uuid>, Revenue)> = Vec::new();
        for (tx, reference, at, acct, amount) in lines {
            let (payment, product) = match reference.split_once(':') {
                Some(("payment", id)) => match id.parse::<Uuid>() {
                    Ok(id) => (Some(id), String::new()),
                    Err(_) => continue,
                },
                Some((kind @ ("review" | "session"), _)) => (None, format!("help:{kind}")),
                _ => continue,
            };
            if txs.last().is_none_or(|(id, _, _)| *id != tx) {
                let empty = Revenue { at, product, seller: None, gross: 0, platform: 0, seller_share: 0 };
                txs.push((tx, payment, empty));
            }
            let Some((_, _, r)) = txs.last_mut() else { continue };
            match acct.as_str() {
                account::CASH => r.gross += amount,
                account::PROCESSOR_FEES => {
                    r.gross += amount;
                    r.platform -= amount;
                }
                account::PLATFORM_REVENUE => r.platform -= amount,
                other if payment.is_some() && account::party_of(other).is_some() => r.seller_share -= amount,
                _ => {}
            }
        }
        let mut ids: Vec<Uuid> = txs.iter().filter_map(|(_, p, _)| *p).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut products = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT id, product, seller_id FROM payments WHERE id IN ({})", marks.join(", "));
            let rows: Vec<(Uuid, String, Option<Uuid>)> = on_pool!(self, pool => {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(pool).await.store()?
            });
            products.extend(rows.into_iter().map(|(id, product, seller)| (id, (product, seller.map(UserId)))));
        }
        Ok(txs
            .into_iter()
            .filter_map(|(_, payment, r)| match payment {
                Some(payment) => {
                    let (product, seller) = products.get(&payment)?.clone();
                    Some(Revenue { product, seller, ..r })
                }
                None => Some(r),
            })
            .collect())
    }

    async fn usage_by_month(&self, metric: Metric, since: DateTime<Utc>) -> Result<BTreeMap<String, i64>> {
        let rows: Vec<(String, Option<i64>)> = match self {
            Db::Sqlite(crate::db::Backend { pool, .. }) => sqlx::query_as(
                "SELECT substr(at, 1, 7) AS month, CAST(SUM(quantity) AS BIGINT) FROM usage_events \
                 WHERE metric = $1 AND at >= $2 GROUP BY month",
            )
            .bind(metric.as_str())
            .bind(since)
            .fetch_all(pool)
            .await
            .store()?,
            Db::Postgres(crate::db::Backend { pool, .. }) => sqlx::query_as(
                "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, CAST(SUM(quantity) AS BIGINT) \
                 FROM usage_events WHERE metric = $1 AND at >= $2 GROUP BY month",
            )
            .bind(metric.as_str())
            .bind(since)
            .fetch_all(pool)
            .await
            .store()?,
        };
        Ok(rows.into_iter().map(|(month, sum)| (month, sum.unwrap_or(0))).collect())
    }
    async fn stripe_object_history(&self, object_id: &str) -> Result<Vec<(String, i64)>> {
        on_pool!(self, pool => sqlx::query_as(
            "SELECT event_type, CAST(created AS BIGINT) FROM stripe_events \
             WHERE object_id = $1 AND processed_at IS NOT NULL AND last_error IS NULL ORDER BY created")
            .bind(object_id).fetch_all(pool).await.store())
    }

    async fn record_payment(&self, payment: &PaymentRecord, ledger: &LedgerTx) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            insert_payment!(tx, payment);
            book!(tx, ledger);
            tx.commit().await.store()
        })
    }

    async fn lapsed_plans(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<PlanSubscriptionRecord>> {
        let rows: Vec<SubscriptionRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT org_id, plan_code, plan_version, billing_interval, CAST(seats AS BIGINT) AS seats, status, \
             period_start, period_end, cancel_at_period_end, promo_code, provider, provider_ref, paid_by, created_at, \
             updated_at FROM plan_subscriptions WHERE status = 'past_due' AND period_end <= $1 ORDER BY period_end LIMIT $2")
            .bind(cutoff).bind(limit).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }
    async fn record_usage(&self, e: &UsageEventRecord) -> Result<bool> {
        let n = on_pool!(self, pool => sqlx::query(
            "INSERT INTO usage_events (id, idempotency_key, org_id, user_id, metric, quantity, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING")
            .bind(e.id).bind(&e.idempotency_key).bind(e.org_id.0).bind(e.user_id.map(|u| u.0))
            .bind(e.metric.as_str()).bind(e.quantity).bind(e.at)
            .execute(pool).await.store()?.rows_affected());
        Ok(n > 0)
    }

    async fn usage_totals(&self, org: OrgId, metric: Metric, since: DateTime<Utc>) -> Result<UsageTotals> {
        let (count, sum, max, unique_users): (i64, Option<i64>, Option<i64>, i64) = on_pool!(self, pool => sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(quantity) AS BIGINT), CAST(MAX(quantity) AS BIGINT), COUNT(DISTINCT user_id) \
             FROM usage_events WHERE org_id = $1 AND metric = $2 AND at >= $3")
            .bind(org.0).bind(metric.as_str()).bind(since).fetch_one(pool).await.store()?);
        Ok(UsageTotals { count, sum: sum.unwrap_or(0), max: max.unwrap_or(0), unique_users })
    }

    async fn set_affiliate_rate(&self, product: &str, bps: u32, at: DateTime<Utc>) -> Result<bool> {
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE prices SET affiliate_bps = $2, updated_at = $3 WHERE product = $1")
            .bind(product).bind(i64::from(bps)).bind(at).execute(pool).await.store()?.rows_affected());
        Ok(n > 0)
    }

    async fn affiliate_link(&self, code: &str) -> Result<Option<AffiliateLinkRecord>> {
        let row: Option<(String, Uuid, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT code, user_id, product, created_at FROM affiliate_links WHERE code = $1")
            .bind(code).fetch_optional(pool).await.store()?);
        Ok(row.map(|(code, user, product, created_at)| AffiliateLinkRecord {
            code,
            user_id: UserId(user),
            product,
            created_at,
        }))
    }

    async fn ensure_affiliate_link(&self, link: &AffiliateLinkRecord) -> Result<AffiliateLinkRecord> {
        let row: (String, DateTime<Utc>) = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO affiliate_links (code, user_id, product, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, product) DO NOTHING")
                .bind(&link.code).bind(link.user_id.0).bind(&link.product).bind(link.created_at)
                .execute(pool).await.store()?;
            sqlx::query_as("SELECT code, created_at FROM affiliate_links WHERE user_id = $1 AND product = $2")
                .bind(link.user_id.0).bind(&link.product).fetch_one(pool).await.store()?
        });
        Ok(AffiliateLinkRecord { code: row.0, user_id: link.user_id, product: link.product.clone(), created_at: row.1 })
    }

    async fn record_affiliate_click(&self, code: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO affiliate_clicks (id, code, at) VALUES ($1, $2, $3)")
            .bind(Uuid::now_v7()).bind(code).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn record_referral(&self, user: UserId, code: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO affiliate_referrals (user_id, code, at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0).bind(code).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn referral(&self, user: UserId) -> Result<Option<(String, DateTime<Utc>)>> {
        Ok(on_pool!(self, pool => sqlx::query_as("SELECT code, at FROM affiliate_referrals WHERE user_id = $1")
            .bind(user.0).fetch_optional(pool).await.store()?))
    }

    async fn affiliate_stats(&self, user: UserId) -> Result<Vec<AffiliateStats>> {
        let rows: Vec<(String, String, DateTime<Utc>, i64, i64, i64, Option<i64>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT l.code, l.product, l.created_at, \
             (SELECT COUNT(*) FROM affiliate_clicks c WHERE c.code = l.code), \
             (SELECT COUNT(*) FROM affiliate_referrals r WHERE r.code = l.code), \
             (SELECT COUNT(*) FROM payments p WHERE p.affiliate_code = l.code AND p.status = 'paid'), \
             (SELECT CAST(SUM(p.affiliate_share) AS BIGINT) FROM payments p WHERE p.affiliate_code = l.code AND p.status = 'paid') \
             FROM affiliate_links l WHERE l.user_id = $1 ORDER BY l.created_at DESC")
            .bind(user.0).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(code, product, created_at, clicks, signups, sales, commission)| AffiliateStats {
                link: AffiliateLinkRecord { code, user_id: user, product, created_at },
                clicks,
                signups,
                sales,
                commission: commission.unwrap_or(0),
            })
            .collect())
    }

    async fn add_discount(&self, d: &DiscountRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO plan_discounts (id, org_id, percent, reason, expires_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(d.id).bind(d.org_id.0).bind(d.percent).bind(&d.reason).bind(d.expires_at)
            .bind(d.created_by.map(|u| u.0)).bind(d.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn discount_at(&self, org: OrgId, at: DateTime<Utc>) -> Result<Option<DiscountRecord>> {
        let row: Option<(Uuid, i64, String, DateTime<Utc>, Option<Uuid>, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, CAST(percent AS BIGINT), reason, expires_at, created_by, created_at FROM plan_discounts \
             WHERE org_id = $1 AND created_at < $2 AND expires_at >= $2 ORDER BY percent DESC, expires_at DESC LIMIT 1")
            .bind(org.0).bind(at).fetch_optional(pool).await.store()?);
        Ok(row.map(|(id, percent, reason, expires_at, created_by, created_at)| DiscountRecord {
            id,
            org_id: org,
            percent,
            reason,
            expires_at,
            created_by: created_by.map(UserId),
            created_at,
        }))
    }

    async fn stripe_customer(&self, user: UserId) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT customer_id FROM stripe_customers WHERE user_id = $1")
            .bind(user.0).fetch_optional(pool).await.store()?);
        Ok(row.map(|(c,)| c))
    }

    async fn save_stripe_customer(&self, user: UserId, customer: &str, at: DateTime<Utc>) -> Result<String> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO stripe_customers (user_id, customer_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0).bind(customer).bind(at).execute(pool).await.store()?.rows_affected());
        Ok(self.stripe_customer(user).await?.unwrap_or_else(|| customer.to_owned()))
    }

    async fn connect_account(&self, user: UserId) -> Result<Option<ConnectAccountRecord>> {
        let sql = format!("{CONNECT_SELECT} WHERE user_id = $1");
        let row: Option<ConnectRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(user.0).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn save_connect_account(&self, a: &ConnectAccountRecord) -> Result<ConnectAccountRecord> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO stripe_connect_accounts (user_id, account_id, details_submitted, payouts_enabled, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO NOTHING")
            .bind(a.user_id.0).bind(&a.account_id).bind(a.details_submitted).bind(a.payouts_enabled).bind(a.updated_at)
            .execute(pool).await.store()?.rows_affected());
        Ok(self.connect_account(a.user_id).await?.unwrap_or_else(|| a.clone()))
    }

    async fn update_connect_account(
        &self,
        account_id: &str,
        details_submitted: bool,
        payouts_enabled: bool,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE stripe_connect_accounts SET details_submitted = $2, payouts_enabled = $3, updated_at = $4 \
             WHERE account_id = $1")
            .bind(account_id).bind(details_submitted).bind(payouts_enabled).bind(at)
            .execute(pool).await.store()?.rows_affected());
        Ok(n > 0)
    }

    async fn connect_payout_reported(&self, account_id: &str, status: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE stripe_connect_accounts SET last_payout_status = $2, last_payout_at = $3, updated_at = $3 \
             WHERE account_id = $1")
            .bind(account_id).bind(status).bind(at).execute(pool).await.store()?.rows_affected());
        Ok(n > 0)
    }

    async fn payout_sent(
        &self,
        id: Uuid,
        transfer: Option<&str>,
        error: Option<&str>,
        refused: bool,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE payouts SET status = CASE WHEN $2 IS NULL THEN status ELSE 'paid' END, \
             provider_ref = COALESCE($2, provider_ref), error = $3, attempts = attempts + $5, \
             paid_at = CASE WHEN $2 IS NULL THEN paid_at ELSE $4 END WHERE id = $1 AND status = 'pending'")
            .bind(id).bind(transfer).bind(error).bind(at).bind(i32::from(refused))
            .execute(pool).await.store()?.rows_affected());
        Ok(())
    }
}
