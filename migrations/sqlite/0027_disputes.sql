-- Card disputes (Stripe `charge.dispute.*`): what each took from its payment, so that a dispute
-- won gives back exactly that. See docs/billing.md.
CREATE TABLE payment_disputes (
    -- Stripe's dispute id (`dp_…`).
    id TEXT PRIMARY KEY,
    payment_id BLOB NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
    -- What the dispute took from the payment when it opened (minor units; 0 when the payment had
    -- been refunded already).
    amount INTEGER NOT NULL,
    -- open, won, lost
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX payment_disputes_payment ON payment_disputes (payment_id);
