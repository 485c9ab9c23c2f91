-- The test panel: an organization's AI model (an OpenAI-compatible chat-completions endpoint)
-- and named test cases (variable values) saved on prompts.
CREATE TABLE org_models (
    org_id BLOB PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    api_key TEXT,
    updated_by BLOB NOT NULL REFERENCES users(id),
    updated_at TEXT NOT NULL
);

CREATE TABLE prompt_test_cases (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    prompt_id BLOB NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    values_json TEXT NOT NULL,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (prompt_id, name)
);
