-- A platform admin's discount on an organization's plan for a while: each renewal (of a
-- built-in plan) whose period starts no later than `expires_at` is `percent` off (a discount for N
-- months given during a period covers the next N monthly renewals). See docs/billing.md.
CREATE TABLE plan_discounts (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    percent INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100),
    reason TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX plan_discounts_org ON plan_discounts (org_id, expires_at);
