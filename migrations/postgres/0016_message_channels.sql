-- Where a person hears of new messages in their sequence conversations besides the app: an
-- email each, and a Slack/Teams-compatible incoming webhook.
CREATE TABLE message_channels (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email BOOLEAN NOT NULL DEFAULT FALSE,
    webhook_url TEXT,
    updated_at TIMESTAMPTZ NOT NULL
);
