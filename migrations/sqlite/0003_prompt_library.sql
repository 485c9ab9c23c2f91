-- The prompt library: versions, labels, tags, variables, stats, full-text search, API keys.
ALTER TABLE prompts ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE prompts ADD COLUMN status TEXT NOT NULL DEFAULT 'draft';
ALTER TABLE prompts ADD COLUMN visibility TEXT NOT NULL DEFAULT 'organization';
ALTER TABLE prompts ADD COLUMN category TEXT NOT NULL DEFAULT '';
-- Tags, space separated (the searchable copy; prompt_tags is the filterable one).
ALTER TABLE prompts ADD COLUMN tags TEXT NOT NULL DEFAULT '';
ALTER TABLE prompts ADD COLUMN variables TEXT NOT NULL DEFAULT '[]';
ALTER TABLE prompts ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE prompts ADD COLUMN temperature REAL;
ALTER TABLE prompts ADD COLUMN max_tokens INTEGER;
ALTER TABLE prompts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE prompts ADD COLUMN view_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prompts ADD COLUMN use_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX prompts_org_created ON prompts (org_id, created_at);

-- Every save is an immutable version.
CREATE TABLE prompt_versions (
    prompt_id BLOB NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    body TEXT NOT NULL,
    variables TEXT NOT NULL,
    model TEXT NOT NULL,
    temperature REAL,
    max_tokens INTEGER,
    author_id BLOB NOT NULL REFERENCES users(id),
    change_note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (prompt_id, number)
);
INSERT INTO prompt_versions (prompt_id, number, title, description, body, variables, model, author_id, change_note, created_at)
    SELECT id, 1, title, '', body, '[]', '', author_id, 'First version', created_at FROM prompts;

-- Deployment labels (production, staging, custom) point at a version.
CREATE TABLE prompt_labels (
    prompt_id BLOB NOT NULL,
    label TEXT NOT NULL,
    version INTEGER NOT NULL,
    moved_by BLOB NOT NULL REFERENCES users(id),
    moved_at TEXT NOT NULL,
    PRIMARY KEY (prompt_id, label),
    FOREIGN KEY (prompt_id, version) REFERENCES prompt_versions(prompt_id, number) ON DELETE CASCADE
);

CREATE TABLE prompt_tags (
    prompt_id BLOB NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    org_id BLOB NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (prompt_id, tag)
);
CREATE INDEX prompt_tags_org ON prompt_tags (org_id, tag);

-- The words of an organization's prompts, for typo-tolerant search. Append-only: a word that
-- no longer occurs only widens a query to something that finds nothing.
CREATE TABLE search_terms (
    org_id BLOB NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (org_id, term)
);

-- Full text: FTS5 keyed by a stable integer per prompt (a BLOB-keyed table's rowid may change on
-- VACUUM), kept in step by triggers.
CREATE TABLE prompt_docs (
    doc INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id BLOB NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE prompts_fts USING fts5(
    title, description, body, tags,
    content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER prompts_fts_insert AFTER INSERT ON prompts BEGIN
    INSERT INTO prompt_docs (prompt_id) VALUES (new.id);
    INSERT INTO prompts_fts (rowid, title, description, body, tags)
        VALUES ((SELECT doc FROM prompt_docs WHERE prompt_id = new.id), new.title, new.description, new.body, new.tags);
END;
CREATE TRIGGER prompts_fts_update AFTER UPDATE OF title, description, body, tags ON prompts BEGIN
    DELETE FROM prompts_fts WHERE rowid = (SELECT doc FROM prompt_docs WHERE prompt_id = old.id);
    INSERT INTO prompts_fts (rowid, title, description, body, tags)
        VALUES ((SELECT doc FROM prompt_docs WHERE prompt_id = new.id), new.title, new.description, new.body, new.tags);
END;
CREATE TRIGGER prompts_fts_delete AFTER DELETE ON prompts BEGIN
    DELETE FROM prompts_fts WHERE rowid = (SELECT doc FROM prompt_docs WHERE prompt_id = old.id);
    DELETE FROM prompt_docs WHERE prompt_id = old.id;
END;
INSERT INTO prompt_docs (prompt_id) SELECT id FROM prompts ORDER BY created_at;
INSERT INTO prompts_fts (rowid, title, description, body, tags)
    SELECT d.doc, p.title, p.description, p.body, p.tags FROM prompts p JOIN prompt_docs d ON d.prompt_id = p.id;

-- Organization API keys: shown once, stored hashed.
CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    can_write INTEGER NOT NULL,
    rate_limit INTEGER NOT NULL,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- Fixed one-hour windows of requests per key, shared by every server instance.
CREATE TABLE api_key_usage (
    key_id BLOB NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    window_start TEXT NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
