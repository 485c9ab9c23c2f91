-- Webhooks: an organization's receiving URLs and the durable queue of deliveries to them.
CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Signs every payload (HMAC-SHA256); shown to Owners and Admins.
    secret TEXT NOT NULL,
    -- Space-separated event names.
    events TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id);

-- One event on its way to one webhook. A row is the whole state: nothing waits in memory.
CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY,
    webhook_id UUID NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- The same for every delivery (and redelivery) of one event.
    event_id UUID NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- pending, delivered, failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    -- A sender holds a delivery until lease_until; after that another may take it over.
    lease_owner UUID,
    lease_until TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

-- Every attempt, with what the receiver answered.
CREATE TABLE webhook_attempts (
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    response_excerpt TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, number)
);
