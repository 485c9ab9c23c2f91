-- Billing: plans (versioned configuration), plan subscriptions, what creators sell, checkouts,
-- payments, promo codes, quota boosts, the double-entry ledger and payouts. Money is integer
-- minor units with its currency. See docs/billing.md.

-- One row per plan version; new subscribers get a code's newest version, existing ones keep theirs.
CREATE TABLE plans (
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- JSON PlanConfig: name, prices, seats, trial, rank, limits, features.
    config TEXT NOT NULL,
    created_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (code, version)
);

-- The plan an organization pays for (individual plans: the person's personal organization).
CREATE TABLE plan_subscriptions (
    org_id UUID PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    plan_code TEXT NOT NULL,
    plan_version INTEGER NOT NULL,
    billing_interval TEXT NOT NULL,
    seats BIGINT NOT NULL,
    -- trialing, active, past_due, canceled
    status TEXT NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    promo_code TEXT,
    -- builtin or stripe, and the provider's id for it.
    provider TEXT NOT NULL,
    provider_ref TEXT,
    paid_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Every change of an organization's plan, for the business dashboard's MRR movements.
CREATE TABLE plan_changes (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    from_plan TEXT,
    to_plan TEXT,
    -- Monthly recurring revenue before and after, minor units.
    mrr_before BIGINT NOT NULL,
    mrr_after BIGINT NOT NULL,
    reason TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX plan_changes_at ON plan_changes (at);

-- What a creator sells: `sequence:<id>` today.
CREATE TABLE prices (
    product TEXT PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    seller_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL,
    -- NULL for a one-time purchase, `month` for a monthly one.
    recurring TEXT,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX prices_seller ON prices (seller_id);

CREATE TABLE promo_codes (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    -- NULL: the platform's own code (plans); else the creator whose products it discounts.
    owner_id UUID REFERENCES users(id) ON DELETE CASCADE,
    -- JSON PromoRules.
    rules TEXT NOT NULL,
    redeemed BIGINT NOT NULL DEFAULT 0,
    created_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    archived_at TIMESTAMPTZ
);

-- A purchase in progress (the built-in provider's hosted page, or a Stripe Checkout Session).
CREATE TABLE checkouts (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The organization the plan is for, or the one the product is sold in.
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    description TEXT NOT NULL,
    plan_version INTEGER,
    billing_interval TEXT,
    seats BIGINT NOT NULL DEFAULT 1,
    price BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    promo_code TEXT,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    -- open, paid, expired
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX checkouts_user ON checkouts (user_id, created_at);

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    checkout_id UUID UNIQUE REFERENCES checkouts(id),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    description TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    processor_fee BIGINT NOT NULL,
    platform_fee BIGINT NOT NULL,
    seller_id UUID REFERENCES users(id) ON DELETE SET NULL,
    seller_share BIGINT NOT NULL,
    -- paid, refunded
    status TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    -- Access a monthly product gives ends here; NULL for one-time purchases and plans.
    access_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    refunded_at TIMESTAMPTZ
);
CREATE INDEX payments_user ON payments (user_id, created_at);
CREATE INDEX payments_seller ON payments (seller_id, created_at);
CREATE INDEX payments_product ON payments (product, user_id);

-- Extra room an admin grants for a while, with the reason (also in the audit log).
CREATE TABLE quota_boosts (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    quota TEXT NOT NULL,
    extra BIGINT NOT NULL,
    reason TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX quota_boosts_org ON quota_boosts (org_id, expires_at);

-- The ledger: balanced transactions (entries sum to zero; debits positive).
CREATE TABLE ledger_transactions (
    id UUID PRIMARY KEY,
    -- sale, plan, refund, payout
    kind TEXT NOT NULL,
    -- What it is about: `payment:<id>`, `payout:<id>`.
    reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_transactions_reference ON ledger_transactions (reference);

CREATE TABLE ledger_entries (
    tx_id UUID NOT NULL REFERENCES ledger_transactions(id),
    line INTEGER NOT NULL,
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (tx_id, line)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);

CREATE TABLE payout_batches (
    id UUID PRIMARY KEY,
    -- manual (CSV for the built-in provider) or stripe (Connect transfers).
    method TEXT NOT NULL,
    minimum BIGINT NOT NULL,
    created_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE payouts (
    id UUID PRIMARY KEY,
    batch_id UUID NOT NULL REFERENCES payout_batches(id),
    party_id UUID NOT NULL REFERENCES users(id),
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- pending, paid, failed
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    paid_at TIMESTAMPTZ
);
CREATE INDEX payouts_party ON payouts (party_id, created_at);
