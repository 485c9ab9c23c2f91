-- Comments brought in by an import keep the name of the person who wrote them elsewhere.
ALTER TABLE prompt_comments ADD COLUMN imported_author TEXT;
