-- Stripe's side of a person: their customer (checkouts and the Customer Portal) and their
-- Connect account (payouts by transfer). See docs/billing.md.
CREATE TABLE stripe_customers (
    user_id BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE stripe_connect_accounts (
    user_id BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL UNIQUE,
    details_submitted BOOLEAN NOT NULL DEFAULT FALSE,
    payouts_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- The last payout to the bank Stripe reported (payout.paid / payout.failed).
    last_payout_status TEXT,
    last_payout_at TEXT,
    updated_at TEXT NOT NULL
);
-- A payout sent by Stripe transfer: the transfer's id, or why it could not be sent, and how
-- many times Stripe refused it (each refusal's retry needs a new idempotency key).
ALTER TABLE payouts ADD COLUMN provider_ref TEXT;
ALTER TABLE payouts ADD COLUMN error TEXT;
ALTER TABLE payouts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
