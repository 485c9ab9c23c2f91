-- Recent searches per member (the last ten) and saved searches, optionally shared with the
-- organization. A search is the prompt list's query string (q, tags, status …).
CREATE TABLE recent_searches (
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    query TEXT NOT NULL,
    searched_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, query)
);

CREATE TABLE saved_searches (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    shared INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, user_id, name)
);
