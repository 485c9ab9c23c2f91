-- A concierge session either side called off before it took place (status 'canceled'): when,
-- and by whom (the client or the concierge).
ALTER TABLE concierge_sessions
    ADD COLUMN canceled_at TIMESTAMPTZ,
    ADD COLUMN canceled_by UUID REFERENCES users(id) ON DELETE SET NULL;
