-- Every order the prompt list offers is read from an index, so the first page of a large library
-- does not sort the whole organization's prompts: updated and created with the id as the tie
-- breaker, and popularity as the expression the list sorts by.
DROP INDEX prompts_org;
CREATE INDEX prompts_org ON prompts (org_id, updated_at DESC, id DESC);
DROP INDEX prompts_org_created;
CREATE INDEX prompts_org_created ON prompts (org_id, created_at DESC, id DESC);
CREATE INDEX prompts_org_popularity ON prompts (org_id, (use_count + view_count + 5 * favorite_count) DESC, updated_at DESC, id DESC);
