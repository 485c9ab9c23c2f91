-- Journeys (docs/journeys.md): a creator's sections of dynamic forms, and each client's answers
-- to each section (a draft saved as they type, then submitted once).
CREATE TABLE journeys (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    creator_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    published INTEGER NOT NULL,
    -- JSON array of sections, each with its fields.
    sections TEXT NOT NULL,
    -- Bumped by every change, so two editors cannot overwrite each other unseen.
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX journeys_org ON journeys (org_id, updated_at DESC);
CREATE TABLE journey_entries (
    journey_id BLOB NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    -- JSON object: field id -> answer.
    answers TEXT NOT NULL,
    submitted_at TEXT,
    score INTEGER NOT NULL,
    max_score INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (journey_id, user_id, section_id)
);
CREATE INDEX journey_entries_user ON journey_entries (user_id);
