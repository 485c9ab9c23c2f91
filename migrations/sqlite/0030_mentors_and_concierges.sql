-- Mentor reviews and concierge sessions (docs/journeys.md). The helpers a journey's creator
-- assigns (mentors and concierges), each with a rate; the reviews clients ask of mentors on
-- submitted sections; the sessions they book with concierges. A completed review or session pays
-- the helper from the creator's balance, less the journey fee (one ledger transaction).
CREATE TABLE journey_helpers (
    journey_id BLOB NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    helper_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- mentor or concierge
    role TEXT NOT NULL,
    -- Minor units paid for each completed review or session.
    rate INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (journey_id, role, helper_id)
);
CREATE TABLE mentor_reviews (
    id BLOB PRIMARY KEY,
    journey_id BLOB NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    client_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    mentor_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- requested, completed
    status TEXT NOT NULL,
    feedback TEXT,
    -- The mentor's rate when the review was asked for, and what they received (after the fee).
    rate INTEGER NOT NULL,
    mentor_amount INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    completed_at TEXT,
    UNIQUE (journey_id, client_id, section_id)
);
CREATE INDEX mentor_reviews_mentor ON mentor_reviews (mentor_id, status, requested_at);
CREATE TABLE concierge_sessions (
    id BLOB PRIMARY KEY,
    journey_id BLOB NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    client_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    concierge_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- requested, confirmed, completed
    status TEXT NOT NULL,
    -- When the client asked to meet.
    starts_at TEXT NOT NULL,
    -- What the client wants help with; the concierge's notes after the session.
    topic TEXT NOT NULL,
    notes TEXT,
    rate INTEGER NOT NULL,
    concierge_amount INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    confirmed_at TEXT,
    completed_at TEXT
);
CREATE INDEX concierge_sessions_concierge ON concierge_sessions (concierge_id, status, starts_at);
CREATE INDEX concierge_sessions_client ON concierge_sessions (journey_id, client_id);
