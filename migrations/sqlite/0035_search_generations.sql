-- A counter per organization that every change to its search index moves on: a prompt's
-- postings written (`prompt_docs.postings`, in the transaction that writes its text) or the
-- prompt removed.
--
-- An instance keeps the postings of the words it was asked for in memory and ranks searches of
-- words from them (server/src/db/postings.rs). They are read with the counter, in one statement,
-- and every page read from them checks in its own statement that it has not moved: another
-- process writing to the same file is seen at once. (PostgreSQL has had the counter since its
-- migration 0035.)
CREATE TABLE search_generations (
    org_id BLOB PRIMARY KEY,
    generation INTEGER NOT NULL
);

CREATE TRIGGER prompt_docs_search_generation AFTER UPDATE OF postings ON prompt_docs
WHEN old.postings IS NOT new.postings
BEGIN
    INSERT INTO search_generations (org_id, generation)
    SELECT org_id, 1 FROM prompts WHERE id = new.prompt_id
    ON CONFLICT (org_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER prompts_search_generation AFTER DELETE ON prompts
BEGIN
    INSERT INTO search_generations (org_id, generation) VALUES (old.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET generation = generation + 1;
END;
