-- Where a person hears of new messages in their sequence conversations besides the app: an
-- email each or one daily digest, and a Slack/Teams-compatible incoming webhook.
CREATE TABLE message_channels (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email BOOLEAN NOT NULL DEFAULT FALSE,
    digest BOOLEAN NOT NULL DEFAULT FALSE,
    webhook_url TEXT,
    -- When the last digest went out (claimed before sending, so one instance sends it).
    last_digest_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX message_channels_digest ON message_channels (last_digest_at) WHERE digest;
