-- The prompt library: versions, labels, tags, variables, stats, full-text search, API keys.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE prompts
    ADD COLUMN description TEXT NOT NULL DEFAULT '',
    ADD COLUMN status TEXT NOT NULL DEFAULT 'draft',
    ADD COLUMN visibility TEXT NOT NULL DEFAULT 'organization',
    ADD COLUMN category TEXT NOT NULL DEFAULT '',
    ADD COLUMN tags TEXT NOT NULL DEFAULT '',
    ADD COLUMN variables TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN model TEXT NOT NULL DEFAULT '',
    ADD COLUMN temperature DOUBLE PRECISION,
    ADD COLUMN max_tokens INTEGER,
    ADD COLUMN version INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN view_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN use_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE prompts ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A')
    || setweight(to_tsvector('simple', description), 'B')
    || setweight(to_tsvector('simple', tags), 'B')
    || setweight(to_tsvector('simple', body), 'C')
) STORED;
CREATE INDEX prompts_search ON prompts USING GIN (search);
CREATE INDEX prompts_org_created ON prompts (org_id, created_at);

CREATE TABLE prompt_versions (
    prompt_id UUID NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    body TEXT NOT NULL,
    variables TEXT NOT NULL,
    model TEXT NOT NULL,
    temperature DOUBLE PRECISION,
    max_tokens INTEGER,
    author_id UUID NOT NULL REFERENCES users(id),
    change_note TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (prompt_id, number)
);
INSERT INTO prompt_versions (prompt_id, number, title, description, body, variables, model, author_id, change_note, created_at)
    SELECT id, 1, title, '', body, '[]', '', author_id, 'First version', created_at FROM prompts;

CREATE TABLE prompt_labels (
    prompt_id UUID NOT NULL,
    label TEXT NOT NULL,
    version INTEGER NOT NULL,
    moved_by UUID NOT NULL REFERENCES users(id),
    moved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (prompt_id, label),
    FOREIGN KEY (prompt_id, version) REFERENCES prompt_versions(prompt_id, number) ON DELETE CASCADE
);

CREATE TABLE prompt_tags (
    prompt_id UUID NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    org_id UUID NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (prompt_id, tag)
);
CREATE INDEX prompt_tags_org ON prompt_tags (org_id, tag);

-- The words of an organization's prompts, for typo-tolerant search (trigram similarity).
CREATE TABLE search_terms (
    org_id UUID NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (org_id, term)
);
CREATE INDEX search_terms_trgm ON search_terms USING GIN (term gin_trgm_ops);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    can_write BOOLEAN NOT NULL,
    rate_limit INTEGER NOT NULL,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

CREATE TABLE api_key_usage (
    key_id UUID NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    window_start TIMESTAMPTZ NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
