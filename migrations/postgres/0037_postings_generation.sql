-- The organization's search generation (0035) also moves when a prompt's postings in the search
-- index change without its `prompt_search` row (as when a starting instance indexes prompts from
-- before the index). An instance keeps the postings of the words it was asked for in memory and
-- checks, with every page read from them, that the generation has not moved
-- (server/src/db/postings.rs).
CREATE FUNCTION search_generation_of_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_generations AS g (org_id, generation)
    SELECT org_id, 1 FROM prompts WHERE id = NEW.prompt_id
    ON CONFLICT (org_id) DO UPDATE SET generation = g.generation + 1;
    RETURN NULL;
END
$$;

-- Deferred to the commit, as the trigger of 0035.
CREATE CONSTRAINT TRIGGER prompt_docs_search_generation
    AFTER UPDATE OF postings ON prompt_docs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.postings IS DISTINCT FROM NEW.postings)
    EXECUTE FUNCTION search_generation_of_doc();
