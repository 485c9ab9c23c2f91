-- Usage metering: one row per billable use (AI tokens of a model call, ...), recorded with an
-- idempotency key so a retried recording counts once. Quotas sum a metric per organization
-- over the current period. See docs/billing.md.
CREATE TABLE usage_events (
    id UUID PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id UUID REFERENCES users(id) ON DELETE SET NULL,
    -- ai_tokens, ...
    metric TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_events_org ON usage_events (org_id, metric, at);
