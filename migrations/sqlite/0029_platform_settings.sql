-- Settings a platform admin changes without a deploy (docs/billing.md), one row per key, e.g.
-- `journey_fee_bps`: the platform's share of journey sales in basis points. A missing key means
-- the shipped default.
CREATE TABLE platform_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
