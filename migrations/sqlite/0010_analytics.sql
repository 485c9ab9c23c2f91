-- Prompt views and uses per day, for analytics over time (the totals stay on prompts).
CREATE TABLE prompt_usage_daily (
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    prompt_id BLOB NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    uses INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, prompt_id, day)
);
CREATE INDEX prompt_usage_daily_org_day ON prompt_usage_daily (org_id, day);
-- Activity by member reads the audit log by organization and time.
CREATE INDEX audit_log_org_at ON audit_log (org_id, at);
