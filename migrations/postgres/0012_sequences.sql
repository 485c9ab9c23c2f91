-- Sequences: multi-step programs, their immutable published versions, the people subscribed to
-- them, the scheduler's durable jobs, and the conversations the steps become.
CREATE TABLE sequences (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    creator_id UUID NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    -- JSON array of strings.
    tags TEXT NOT NULL DEFAULT '[]',
    difficulty TEXT NOT NULL DEFAULT 'beginner',
    estimated_minutes INTEGER NOT NULL DEFAULT 0,
    -- private, team, organization, public, premium
    visibility TEXT NOT NULL DEFAULT 'private',
    cover_url TEXT,
    -- The builder's working copy (JSON steps); publishing freezes it into a version.
    draft_steps TEXT NOT NULL,
    draft_changed BOOLEAN NOT NULL DEFAULT TRUE,
    published_version INTEGER,
    is_template BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sequences_org ON sequences (org_id, updated_at);

CREATE TABLE sequence_versions (
    sequence_id UUID NOT NULL REFERENCES sequences(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    steps TEXT NOT NULL,
    published_by UUID NOT NULL REFERENCES users(id),
    published_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sequence_id, version)
);

CREATE TABLE subscriptions (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    sequence_id UUID NOT NULL REFERENCES sequences(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- active, paused, completed, canceled
    status TEXT NOT NULL,
    -- The engine's position (JSON `Run`) and the delivery preferences (JSON `Preferences`).
    run TEXT NOT NULL,
    preferences TEXT NOT NULL,
    assigned_by UUID REFERENCES users(id),
    mandatory BOOLEAN NOT NULL DEFAULT FALSE,
    due_on TIMESTAMPTZ,
    -- Bumped by every change, so a job applied on a stale read is refused.
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX subscriptions_user ON subscriptions (user_id, status);
CREATE INDEX subscriptions_sequence ON subscriptions (sequence_id, status);

-- The scheduler's work: one row per firing, timeout or AI turn, with when it is due. Nothing
-- lives only in memory. (subscription, kind, step, visit) is unique: a step's visit fires once.
CREATE TABLE sequence_jobs (
    id UUID PRIMARY KEY,
    subscription_id UUID NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    -- fire, timeout, ai_turn
    kind TEXT NOT NULL,
    step_id TEXT NOT NULL,
    visit INTEGER NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    -- pending, done, failed, skipped, canceled
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner UUID,
    lease_until TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    UNIQUE (subscription_id, kind, step_id, visit)
);
CREATE INDEX sequence_jobs_due ON sequence_jobs (status, due_at);
CREATE INDEX sequence_jobs_subscription ON sequence_jobs (subscription_id, status);

-- What the subscriber sees. idempotency_key = subscription:step:visit:n, unique: a message is
-- shown once even when the job that wrote it runs twice.
CREATE TABLE messages (
    id UUID PRIMARY KEY,
    subscription_id UUID NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- step, ai, subscriber, creator
    sender TEXT NOT NULL,
    author_id UUID REFERENCES users(id),
    body TEXT NOT NULL,
    step_id TEXT,
    -- JSON `AnswerKind` when the message asks something.
    asks TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    tokens_in INTEGER,
    tokens_out INTEGER,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX messages_subscription ON messages (subscription_id, created_at);

-- Human checkpoints waiting for (or given) a decision.
CREATE TABLE decisions (
    id UUID PRIMARY KEY,
    subscription_id UUID NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    visit INTEGER NOT NULL,
    -- subscriber, creator, coach
    decider TEXT NOT NULL,
    decider_id UUID REFERENCES users(id),
    question TEXT NOT NULL,
    options TEXT NOT NULL,
    deadline TIMESTAMPTZ NOT NULL,
    decision TEXT,
    note TEXT,
    decided_by UUID REFERENCES users(id),
    decided_at TIMESTAMPTZ,
    escalated_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (subscription_id, step_id, visit)
);
CREATE INDEX decisions_open ON decisions (org_id, decided_at);

-- Analytics: subscribed, step_fired, step_completed, paused, resumed, completed, abandoned, skipped.
CREATE TABLE sequence_events (
    id UUID PRIMARY KEY,
    sequence_id UUID NOT NULL REFERENCES sequences(id) ON DELETE CASCADE,
    subscription_id UUID NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    step_id TEXT,
    detail TEXT,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sequence_events_sequence ON sequence_events (sequence_id, kind, at);
