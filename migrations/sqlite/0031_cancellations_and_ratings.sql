-- A concierge session either side called off before it took place (status 'canceled'): when,
-- and by whom (the client or the concierge).
ALTER TABLE concierge_sessions ADD COLUMN canceled_at TEXT;
ALTER TABLE concierge_sessions ADD COLUMN canceled_by BLOB REFERENCES users(id) ON DELETE SET NULL;

-- A client's rating of a completed review or session, 1 to 5 stars, given once.
ALTER TABLE mentor_reviews ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE concierge_sessions ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
