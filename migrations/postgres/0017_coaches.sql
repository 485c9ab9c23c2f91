-- The coach assigned to a subscription: decides its "coach" checkpoints and may read and take over
-- the conversation, like the sequence's creator.
ALTER TABLE subscriptions ADD COLUMN coach_id UUID REFERENCES users(id) ON DELETE SET NULL;
