-- The Stripe object an event is about (`data.object.id`), so an event that arrives after a newer
-- one about the same subscription is recognised as stale and not applied over it.
ALTER TABLE stripe_events ADD COLUMN object_id TEXT;
CREATE INDEX stripe_events_object ON stripe_events (object_id, created);
