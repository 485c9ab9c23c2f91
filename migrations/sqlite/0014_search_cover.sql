-- Ranking search matches reads each match's organization and update time; this index answers
-- that from one lookup instead of the id index and then the row.
CREATE INDEX prompts_search_cover ON prompts (id, org_id, updated_at, visibility, author_id, status);
