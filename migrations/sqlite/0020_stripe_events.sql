-- Stripe webhook events: stored once by their id (a duplicate delivery is acknowledged and
-- ignored), then processed in the background with a lease and retries, so nothing is lost to a
-- crash or a restart. See docs/billing.md.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    -- Stripe's `created` (Unix seconds): events are processed oldest first.
    created INTEGER NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- Not before this moment (retries back off); NULL once processed.
    due_at TEXT,
    locked_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    processed_at TEXT
);
CREATE INDEX stripe_events_due ON stripe_events (due_at);
