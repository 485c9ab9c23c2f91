-- Billing: plans (versioned configuration), plan subscriptions, what creators sell, checkouts,
-- payments, promo codes, quota boosts, the double-entry ledger and payouts. Money is integer
-- minor units with its currency. See docs/billing.md.

-- One row per plan version; new subscribers get a code's newest version, existing ones keep theirs.
CREATE TABLE plans (
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- JSON PlanConfig: name, prices, seats, trial, rank, limits, features.
    config TEXT NOT NULL,
    created_by BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (code, version)
);

-- The plan an organization pays for (individual plans: the person's personal organization).
CREATE TABLE plan_subscriptions (
    org_id BLOB PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    plan_code TEXT NOT NULL,
    plan_version INTEGER NOT NULL,
    billing_interval TEXT NOT NULL,
    seats INTEGER NOT NULL,
    -- trialing, active, past_due, canceled
    status TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0,
    promo_code TEXT,
    -- builtin or stripe, and the provider's id for it.
    provider TEXT NOT NULL,
    provider_ref TEXT,
    paid_by BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every change of an organization's plan, for the business dashboard's MRR movements.
CREATE TABLE plan_changes (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    from_plan TEXT,
    to_plan TEXT,
    -- Monthly recurring revenue before and after, minor units.
    mrr_before INTEGER NOT NULL,
    mrr_after INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX plan_changes_at ON plan_changes (at);

-- What a creator sells: `sequence:<id>` today.
CREATE TABLE prices (
    product TEXT PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    seller_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL,
    -- NULL for a one-time purchase, `month` for a monthly one.
    recurring TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX prices_seller ON prices (seller_id);

CREATE TABLE promo_codes (
    id BLOB PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    -- NULL: the platform's own code (plans); else the creator whose products it discounts.
    owner_id BLOB REFERENCES users(id) ON DELETE CASCADE,
    -- JSON PromoRules.
    rules TEXT NOT NULL,
    redeemed INTEGER NOT NULL DEFAULT 0,
    created_by BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    archived_at TEXT
);

-- A purchase in progress (the built-in provider's hosted page, or a Stripe Checkout Session).
CREATE TABLE checkouts (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The organization the plan is for, or the one the product is sold in.
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    description TEXT NOT NULL,
    plan_version INTEGER,
    billing_interval TEXT,
    seats INTEGER NOT NULL DEFAULT 1,
    price INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    promo_code TEXT,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    -- open, paid, expired
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX checkouts_user ON checkouts (user_id, created_at);

CREATE TABLE payments (
    id BLOB PRIMARY KEY,
    checkout_id BLOB UNIQUE REFERENCES checkouts(id),
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    description TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    processor_fee INTEGER NOT NULL,
    platform_fee INTEGER NOT NULL,
    seller_id BLOB REFERENCES users(id) ON DELETE SET NULL,
    seller_share INTEGER NOT NULL,
    -- paid, refunded
    status TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    -- Access a monthly product gives ends here; NULL for one-time purchases and plans.
    access_until TEXT,
    created_at TEXT NOT NULL,
    refunded_at TEXT
);
CREATE INDEX payments_user ON payments (user_id, created_at);
CREATE INDEX payments_seller ON payments (seller_id, created_at);
CREATE INDEX payments_product ON payments (product, user_id);

-- Extra room an admin grants for a while, with the reason (also in the audit log).
CREATE TABLE quota_boosts (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    quota TEXT NOT NULL,
    extra INTEGER NOT NULL,
    reason TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX quota_boosts_org ON quota_boosts (org_id, expires_at);

-- The ledger: balanced transactions (entries sum to zero; debits positive).
CREATE TABLE ledger_transactions (
    id BLOB PRIMARY KEY,
    -- sale, plan, refund, payout
    kind TEXT NOT NULL,
    -- What it is about: `payment:<id>`, `payout:<id>`.
    reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ledger_transactions_reference ON ledger_transactions (reference);

CREATE TABLE ledger_entries (
    tx_id BLOB NOT NULL REFERENCES ledger_transactions(id),
    line INTEGER NOT NULL,
    account TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (tx_id, line)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);

CREATE TABLE payout_batches (
    id BLOB PRIMARY KEY,
    -- manual (CSV for the built-in provider) or stripe (Connect transfers).
    method TEXT NOT NULL,
    minimum INTEGER NOT NULL,
    created_by BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE payouts (
    id BLOB PRIMARY KEY,
    batch_id BLOB NOT NULL REFERENCES payout_batches(id),
    party_id BLOB NOT NULL REFERENCES users(id),
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    -- pending, paid, failed
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    paid_at TEXT
);
CREATE INDEX payouts_party ON payouts (party_id, created_at);
