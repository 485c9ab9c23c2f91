-- Webhooks: an organization's receiving URLs and the durable queue of deliveries to them.
CREATE TABLE webhooks (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Signs every payload (HMAC-SHA256); shown to Owners and Admins.
    secret TEXT NOT NULL,
    -- Space-separated event names.
    events TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id);

-- One event on its way to one webhook. A row is the whole state: nothing waits in memory.
CREATE TABLE webhook_deliveries (
    id BLOB PRIMARY KEY,
    webhook_id BLOB NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- The same for every delivery (and redelivery) of one event.
    event_id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- pending, delivered, failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- A sender holds a delivery until lease_until; after that another may take it over.
    lease_owner BLOB,
    lease_until TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

-- Every attempt, with what the receiver answered.
CREATE TABLE webhook_attempts (
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_excerpt TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, number)
);
