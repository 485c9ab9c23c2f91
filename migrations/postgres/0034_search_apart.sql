-- A prompt's words (its tsvector) move out of `prompts` into a table of their own, written only
-- when the text changes.
--
-- As a generated column of `prompts`, the tsvector was computed again on every UPDATE of a
-- prompt's row, and because views and uses (flushed once a second) change an indexed expression
-- (the popularity order), no such update was HOT: each one also put all of the prompt's words
-- into the GIN index again. Counting the views of 640 prompts took 300-570 ms that way, 37 ms
-- without the column (the benchmark's database).
-- With the prompt's organization, author, visibility and time of its last change, a search
-- with no other filter, ranked by relevance or time of change, reads this table alone.
CREATE TABLE prompt_search (
    prompt_id UUID PRIMARY KEY REFERENCES prompts(id) ON DELETE CASCADE,
    org_id UUID NOT NULL,
    author_id UUID NOT NULL,
    visibility TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    search tsvector NOT NULL
);
-- Ranking reads every match's tsvector: kept in the row, not out of line (see 0032).
ALTER TABLE prompt_search SET (toast_tuple_target = 4080);
ALTER TABLE prompt_search ALTER COLUMN search SET STORAGE MAIN;

CREATE FUNCTION prompt_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO prompt_search (prompt_id, org_id, author_id, visibility, updated_at, search)
    VALUES (NEW.id, NEW.org_id, NEW.author_id, NEW.visibility, NEW.updated_at,
        setweight(to_tsvector('simple', NEW.title), 'A')
        || setweight(to_tsvector('simple', NEW.description), 'B')
        || setweight(to_tsvector('simple', NEW.tags), 'B')
        || setweight(to_tsvector('simple', NEW.body), 'C'))
    ON CONFLICT (prompt_id) DO UPDATE
        SET org_id = EXCLUDED.org_id, author_id = EXCLUDED.author_id, visibility = EXCLUDED.visibility,
            updated_at = EXCLUDED.updated_at, search = EXCLUDED.search;
    RETURN NULL;
END
$$;

-- `UPDATE OF`: only statements that set one of these columns; counting views sets none.
CREATE TRIGGER prompts_search_refresh
    AFTER INSERT OR UPDATE OF org_id, author_id, visibility, updated_at, title, description, tags, body ON prompts
    FOR EACH ROW EXECUTE FUNCTION prompt_search_refresh();

INSERT INTO prompt_search (prompt_id, org_id, author_id, visibility, updated_at, search)
SELECT id, org_id, author_id, visibility, updated_at, search FROM prompts;
ALTER TABLE prompts DROP COLUMN search;
-- Entries go straight into the index (no pending list for every search to read; see 0032).
CREATE INDEX prompt_search_gin ON prompt_search USING GIN (search) WITH (fastupdate = off);
