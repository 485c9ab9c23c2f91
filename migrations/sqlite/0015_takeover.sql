-- A person (the sequence's creator) speaking in a subscriber's conversation instead of the AI;
-- unread messages found without reading the whole conversation.
ALTER TABLE subscriptions ADD COLUMN taken_over_by BLOB REFERENCES users(id);
CREATE INDEX messages_unread ON messages (subscription_id) WHERE read_at IS NULL;
