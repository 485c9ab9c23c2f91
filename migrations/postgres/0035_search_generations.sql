-- A counter per organization that every change to its searchable text moves on: a row of
-- `prompt_search` added, changed or removed.
--
-- An instance remembers the best matches of searches that come again (ranking every match is what
-- a search costs: 28 ms for a word in 6,000 prompts). `ts_rank_cd` scores a prompt by its own words
-- alone, so those matches hold until the organization's prompts change, whichever instance changes
-- them; the page read from them checks, in the same statement, that the generation is still the
-- one they were read at.
CREATE TABLE search_generations (
    org_id UUID PRIMARY KEY,
    generation BIGINT NOT NULL
);

CREATE FUNCTION search_generation_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO search_generations AS g (org_id, generation) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET generation = g.generation + 1;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.org_id <> OLD.org_id) THEN
        INSERT INTO search_generations AS g (org_id, generation) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET generation = g.generation + 1;
    END IF;
    RETURN NULL;
END
$$;

-- Deferred to the commit, so that a transaction holds its organization's counter (a row lock)
-- only while it commits, not while it goes on to change other rows.
CREATE CONSTRAINT TRIGGER prompt_search_generation
    AFTER INSERT OR UPDATE OR DELETE ON prompt_search
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION search_generation_next();
