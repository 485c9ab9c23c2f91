-- Journeys (docs/journeys.md): a creator's sections of dynamic forms, and each client's answers
-- to each section (a draft saved as they type, then submitted once).
CREATE TABLE journeys (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    creator_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    published BOOLEAN NOT NULL,
    -- JSON array of sections, each with its fields.
    sections TEXT NOT NULL,
    -- Bumped by every change, so two editors cannot overwrite each other unseen.
    revision BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX journeys_org ON journeys (org_id, updated_at DESC);
CREATE TABLE journey_entries (
    journey_id UUID NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    -- JSON object: field id -> answer.
    answers TEXT NOT NULL,
    submitted_at TIMESTAMPTZ,
    score BIGINT NOT NULL,
    max_score BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (journey_id, user_id, section_id)
);
CREATE INDEX journey_entries_user ON journey_entries (user_id);
