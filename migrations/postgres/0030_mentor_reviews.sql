-- Mentor reviews (docs/journeys.md): the mentors a journey's creator assigns, each with a rate
-- per review, and the reviews clients ask of them on submitted sections. A completed review pays
-- the mentor from the creator's balance, less the journey fee (one ledger transaction).
CREATE TABLE journey_mentors (
    journey_id UUID NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    mentor_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Minor units paid for each completed review.
    rate BIGINT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (journey_id, mentor_id)
);
CREATE TABLE mentor_reviews (
    id UUID PRIMARY KEY,
    journey_id UUID NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    client_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    mentor_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- requested, completed
    status TEXT NOT NULL,
    feedback TEXT,
    -- The mentor's rate when the review was asked for, and what they received (after the fee).
    rate BIGINT NOT NULL,
    mentor_amount BIGINT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    UNIQUE (journey_id, client_id, section_id)
);
CREATE INDEX mentor_reviews_mentor ON mentor_reviews (mentor_id, status, requested_at);
