-- Organizing the prompt library: nested collections, favorites, custom categories.
CREATE TABLE collections (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID REFERENCES collections(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX collections_org ON collections (org_id, parent_id);

ALTER TABLE prompts ADD COLUMN collection_id UUID REFERENCES collections(id) ON DELETE SET NULL;
ALTER TABLE prompts ADD COLUMN favorite_count BIGINT NOT NULL DEFAULT 0;
CREATE INDEX prompts_collection ON prompts (org_id, collection_id);

CREATE TABLE prompt_favorites (
    prompt_id UUID NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (prompt_id, user_id)
);
CREATE INDEX prompt_favorites_user ON prompt_favorites (user_id);

-- Custom categories (the predefined four need no row).
CREATE TABLE categories (
    org_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    icon TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, name)
);
